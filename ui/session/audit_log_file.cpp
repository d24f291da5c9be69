#include "audit_log_file.h"

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>

#include <deque>
#include <unistd.h>

namespace rangepilot {

namespace {

QString isoTime(TimeMs ms) {
    return QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODateWithMs);
}

std::optional<TimeMs> parseIsoTime(const QJsonValue& value) {
    if (!value.isString())
        return std::nullopt;
    const QDateTime time = QDateTime::fromString(value.toString(), Qt::ISODateWithMs);
    if (!time.isValid())
        return std::nullopt;
    return time.toMSecsSinceEpoch();
}

} // namespace

AuditLogFile::AuditLogFile(QString path)
    : m_path(std::move(path))
    , m_file(m_path) {}

AuditLogFile::~AuditLogFile() = default;

std::optional<QString> AuditLogFile::open() {
    if (m_file.isOpen())
        return std::nullopt;
    const QFileInfo info(m_path);
    if (!QDir().mkpath(info.absolutePath()))
        return QStringLiteral("%1: cannot create the directory %2")
            .arg(m_path, info.absolutePath());
    if (!m_file.open(QIODevice::WriteOnly | QIODevice::Append))
        return QStringLiteral("%1: %2").arg(m_path, m_file.errorString());
    return std::nullopt;
}

std::optional<QString> AuditLogFile::append(const AuditRecord& record) {
    if (std::optional<QString> problem = open())
        return problem;
    const QByteArray line = encode(record);
    if (m_file.write(line) != line.size() || !m_file.flush()) {
        const QString problem = QStringLiteral("%1: %2").arg(m_path, m_file.errorString());
        m_file.close(); // reopen next time: the error may pass (a full disk freed)
        return problem;
    }
    // Durable before the console acts on: an audit entry must survive a crash right after.
    if (::fsync(m_file.handle()) != 0)
        return QStringLiteral("%1: fsync failed").arg(m_path);
    return std::nullopt;
}

QByteArray AuditLogFile::encode(const AuditRecord& record) {
    QJsonObject object;
    object.insert(QStringLiteral("when"), isoTime(record.entry.at_ms));
    if (record.cluster_ms)
        object.insert(QStringLiteral("cluster_time"), isoTime(*record.cluster_ms));
    object.insert(QStringLiteral("who"), record.entry.who);
    object.insert(QStringLiteral("automatic"), record.entry.automatic);
    object.insert(QStringLiteral("what"), record.entry.what);
    object.insert(QStringLiteral("why"), record.entry.why);
    return QJsonDocument(object).toJson(QJsonDocument::Compact) + '\n';
}

std::optional<AuditRecord> AuditLogFile::decode(const QByteArray& line, QString* problem) {
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(line, &error);
    if (error.error != QJsonParseError::NoError || !document.isObject()) {
        *problem = error.error != QJsonParseError::NoError ? error.errorString()
                                                           : QStringLiteral("not a JSON object");
        return std::nullopt;
    }
    const QJsonObject object = document.object();
    const std::optional<TimeMs> when = parseIsoTime(object.value(QStringLiteral("when")));
    if (!when) {
        *problem = QStringLiteral("\"when\" is not an ISO-8601 time");
        return std::nullopt;
    }
    for (const char* field : {"who", "what"}) {
        if (!object.value(QLatin1String(field)).isString()) {
            *problem = QStringLiteral("\"%1\" is missing or not text").arg(QLatin1String(field));
            return std::nullopt;
        }
    }
    AuditRecord record;
    record.entry.at_ms = *when;
    record.entry.who = object.value(QStringLiteral("who")).toString();
    record.entry.what = object.value(QStringLiteral("what")).toString();
    record.entry.why = object.value(QStringLiteral("why")).toString();
    record.entry.automatic = object.value(QStringLiteral("automatic")).toBool();
    record.cluster_ms = parseIsoTime(object.value(QStringLiteral("cluster_time")));
    return record;
}

AuditTail AuditLogFile::readTail(const QString& path, int maximum) {
    AuditTail tail;
    QFile file(path);
    if (!file.exists())
        return tail;
    if (!file.open(QIODevice::ReadOnly)) {
        tail.problems << QStringLiteral("%1: %2").arg(path, file.errorString());
        return tail;
    }
    std::deque<AuditRecord> newest;
    qint64 lineNumber = 0;
    while (!file.atEnd()) {
        const QByteArray line = file.readLine().trimmed();
        ++lineNumber;
        if (line.isEmpty())
            continue;
        QString problem;
        std::optional<AuditRecord> record = decode(line, &problem);
        if (!record) {
            tail.problems << QStringLiteral("%1:%2: %3").arg(path).arg(lineNumber).arg(problem);
            continue;
        }
        newest.push_back(std::move(*record));
        if (static_cast<int>(newest.size()) > maximum)
            newest.pop_front();
    }
    tail.records.assign(newest.begin(), newest.end());
    return tail;
}

} // namespace rangepilot
