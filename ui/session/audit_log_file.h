#pragma once

// AuditLogFile: the console's audit log on disk, one JSON object per line, appended and flushed
// (and fsync'ed) entry by entry so that an operator's action is on disk before the console moves
// on, and a crash loses at most the line being written:
//   {"when":"2026-11-26T11:09:15.123Z","cluster_time":"2026-01-05T19:20:00.000Z","who":"alice",
//    "automatic":false,"what":"approved move of shard 17 …","why":"…"}
// JSON lines, because operators grep them and tools (jq, log shippers) read them as they are.
//
// readTail() reads the newest entries back (the window shows them after a restart); lines that
// do not parse are skipped and reported as "FILE:LINE: reason", never fatal. Cost: append is one
// write + fsync; readTail reads the file once (O(size)).

#include "audit_log_model.h"

#include <QFile>
#include <QString>
#include <QStringList>

#include <optional>
#include <vector>

namespace rangepilot {

struct AuditRecord {
    AuditEntry entry;
    std::optional<TimeMs> cluster_ms; // the cluster's (maybe simulated) time of the action
};

struct AuditTail {
    std::vector<AuditRecord> records; // oldest first
    QStringList problems;             // "FILE:LINE: reason" for each line skipped
};

class AuditLogFile {
public:
    explicit AuditLogFile(QString path);
    ~AuditLogFile();
    AuditLogFile(const AuditLogFile&) = delete;
    AuditLogFile& operator=(const AuditLogFile&) = delete;

    const QString& path() const { return m_path; }
    // Appends one line; the error names the file and the reason (the directory is created when
    // missing). Nothing is written partially: the line goes out in one write.
    std::optional<QString> append(const AuditRecord& record);
    // The newest `maximum` entries of the file at `path`; a missing file is an empty log.
    static AuditTail readTail(const QString& path, int maximum);

    static QByteArray encode(const AuditRecord& record); // one line, with the newline
    // The record of one line, or why it is not one.
    static std::optional<AuditRecord> decode(const QByteArray& line, QString* problem);

private:
    std::optional<QString> open();

    QString m_path;
    QFile m_file;
};

} // namespace rangepilot
