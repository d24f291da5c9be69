#include "column_mapping_dialog.h"

#include "dialog_labels.h"
#include "display_text.h"
#include "timestamp.h"
#include "trace_event.h"
#include "trace_reader.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QFontDatabase>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTableWidget>
#include <QTemporaryFile>
#include <QVBoxLayout>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace rangepilot {

namespace {

constexpr int kMaxPreviewLineBytes = 64 * 1024; // longer lines are cut in the preview
constexpr int kMaxFieldChoices = 100;           // positions offered per column
constexpr int kMaxChoiceLabelChars = 18;
constexpr int kCellPadding = 12; // pixels added to each preview column's fitted width

enum Column { kTs, kKey, kOp, kEndKey, kBytes, kLatency, kClient, kColumnCount };

// What each column holds, for its label and tooltip.
constexpr std::array<const char*, kColumnCount> kColumnHints{
    "timestamp (numeric in the unit below, or ISO-8601)",
    "the key (text; 0x… for binary keys)",
    "get, put, delete or scan (read, set, write, del, range… also work)",
    "the end of a scan's key range",
    "bytes read or written",
    "latency in microseconds",
    "the client that sent the query"};

QColor errorColor() {
    return QColor(176, 0, 32);
}

QString shortened(QString text) {
    text = text.trimmed();
    if (text.size() > kMaxChoiceLabelChars) {
        text.truncate(kMaxChoiceLabelChars - 1);
        text.append(QChar(0x2026));
    }
    return text;
}

QByteArray withoutLineEnd(QByteArray line) {
    if (line.endsWith('\r'))
        line.chop(1);
    return line;
}

QByteArray withoutByteOrderMark(QByteArray line) {
    if (line.startsWith("\xEF\xBB\xBF"))
        line.remove(0, 3);
    return line;
}

// Fields of a line for labels and guesses (the preview itself is the reader's): split at the
// delimiter outside double quotes, quotes removed, "" inside quotes read as one quote.
QList<QByteArray> splitFields(const QByteArray& line, char delimiter) {
    QList<QByteArray> fields;
    QByteArray field;
    bool quoted = false;
    for (qsizetype i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                field.append('"');
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                field.append(c);
            }
        } else if (c == '"' && field.isEmpty()) {
            quoted = true;
        } else if (c == delimiter) {
            fields.append(field);
            field.clear();
        } else {
            field.append(c);
        }
    }
    fields.append(field);
    return fields;
}

// The delimiter that occurs most often outside quotes on the first lines; space only when
// nothing else does.
char guessDelimiter(const QList<QByteArray>& lines) {
    char best = ',';
    qsizetype bestCount = 0;
    for (const char candidate : {',', '\t', ';', '|'}) {
        qsizetype count = 0;
        for (const QByteArray& line : lines)
            count += splitFields(line, candidate).size() - 1;
        if (count > bestCount) {
            best = candidate;
            bestCount = count;
        }
    }
    if (bestCount == 0) {
        for (const QByteArray& line : lines) {
            if (line.contains(' '))
                return ' ';
        }
    }
    return best;
}

bool isTimestamp(const QByteArray& field) {
    const QByteArray text = field.trimmed();
    TimeMs ignored = 0;
    const char* reason = nullptr;
    return !text.isEmpty() && parseTimestamp(std::string_view(text.constData(), text.size()),
                                             TimeUnit::Milliseconds, ignored, reason);
}

bool isNumber(const QByteArray& field) {
    bool ok = false;
    field.trimmed().toDouble(&ok);
    return ok;
}

bool hasLetter(const QByteArray& field) {
    return std::any_of(field.begin(), field.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); });
}

// Digits before the decimal point of a plain number, 0 when it is not one.
qsizetype integerDigits(const QByteArray& field) {
    QByteArray text = field.trimmed();
    if (text.startsWith('-') || text.startsWith('+'))
        text.remove(0, 1);
    const qsizetype point = text.indexOf('.');
    const QByteArray integer = point < 0 ? text : text.left(point);
    if (integer.isEmpty() ||
        !std::all_of(integer.begin(), integer.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return 0;
    return integer.size();
}

// An epoch time: ISO-8601 text, or a number with enough digits to be seconds since 2001 or a
// finer unit (a count of bytes rarely has nine digits or more).
bool looksLikeEpochTime(const QByteArray& field) {
    if (isTimestamp(field) && field.contains('-'))
        return true;
    return integerDigits(field) >= 9;
}

// Seconds since the epoch have 10 digits in this century, milliseconds 13, microseconds 16,
// nanoseconds 19.
TimeUnit unitFromDigits(qsizetype digits) {
    if (digits <= 11)
        return TimeUnit::Seconds;
    if (digits <= 14)
        return TimeUnit::Milliseconds;
    if (digits <= 17)
        return TimeUnit::Microseconds;
    return TimeUnit::Nanoseconds;
}

QString normalizedName(const QByteArray& field) {
    QString name;
    for (const QChar c : QString::fromUtf8(field).toLower()) {
        if (c.isLetterOrNumber())
            name.append(c);
    }
    return name;
}

// Header names that usually mean each column, normalized (lower case, letters and digits).
int columnNamed(const QString& name) {
    static const std::array<QStringList, kColumnCount> kNames{
        QStringList{QStringLiteral("ts"), QStringLiteral("time"), QStringLiteral("timestamp"),
                    QStringLiteral("datetime"), QStringLiteral("date"), QStringLiteral("when"),
                    QStringLiteral("t"), QStringLiteral("epoch"), QStringLiteral("tsms"),
                    QStringLiteral("timems"), QStringLiteral("eventtime")},
        QStringList{QStringLiteral("key"), QStringLiteral("rowkey"), QStringLiteral("k"),
                    QStringLiteral("objectkey"), QStringLiteral("startkey"),
                    QStringLiteral("object"), QStringLiteral("item"), QStringLiteral("id")},
        QStringList{QStringLiteral("op"), QStringLiteral("operation"), QStringLiteral("cmd"),
                    QStringLiteral("command"), QStringLiteral("method"), QStringLiteral("verb"),
                    QStringLiteral("action"), QStringLiteral("type")},
        QStringList{QStringLiteral("endkey"), QStringLiteral("end"), QStringLiteral("tokey"),
                    QStringLiteral("rangeend")},
        QStringList{QStringLiteral("bytes"), QStringLiteral("size"), QStringLiteral("length"),
                    QStringLiteral("len"), QStringLiteral("valuesize"), QStringLiteral("nbytes")},
        QStringList{QStringLiteral("latencyus"), QStringLiteral("latency"), QStringLiteral("lat"),
                    QStringLiteral("duration"), QStringLiteral("durationus"),
                    QStringLiteral("elapsed"), QStringLiteral("took")},
        // Not "user": in many logs that field is the key (a user id), in others the client.
        QStringList{QStringLiteral("client"), QStringLiteral("clientid"), QStringLiteral("source"),
                    QStringLiteral("src"), QStringLiteral("ip"), QStringLiteral("peer"),
                    QStringLiteral("caller")}};
    for (int column = 0; column < kColumnCount; ++column) {
        if (kNames[static_cast<std::size_t>(column)].contains(name))
            return column;
    }
    return -1;
}

struct DelimiterChoice {
    QChar delimiter;
    const char* label;
};

constexpr std::array<DelimiterChoice, 5> kDelimiterChoices{{{u',', "Comma ( , )"},
                                                            {u'\t', "Tab"},
                                                            {u';', "Semicolon ( ; )"},
                                                            {u'|', "Pipe ( | )"},
                                                            {u' ', "Space"}}};

struct TimeUnitChoice {
    TimeUnit unit;
    const char* label;
};

constexpr std::array<TimeUnitChoice, 4> kTimeUnitChoices{
    {{TimeUnit::Seconds, "seconds (s)"},
     {TimeUnit::Milliseconds, "milliseconds (ms)"},
     {TimeUnit::Microseconds, "microseconds (us)"},
     {TimeUnit::Nanoseconds, "nanoseconds (ns)"}}};

// One row of the preview: a parsed line, a bad line, or the skipped header.
struct PreviewRow {
    std::uint64_t line = 0;
    enum class Kind { Event, Bad, Header } kind = Kind::Event;
    QStringList cells; // Event: one per column; Bad: the reason
};

QString previewLineText(const QByteArray& bytes) {
    QString text = QString::fromUtf8(withoutLineEnd(bytes));
    text.replace(u'\t', QChar(0x2192)); // →: a tab, visibly
    return text;
}

} // namespace

QString traceFileProblem(const QString& path) {
    if (path.trimmed().isEmpty())
        return QObject::tr("Choose a trace file.");
    const QFileInfo info(path);
    if (!info.exists())
        return QObject::tr("No such file: %1").arg(QDir::toNativeSeparators(path));
    if (info.isDir())
        return QObject::tr("%1 is a folder, not a file.").arg(QDir::toNativeSeparators(path));
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return QObject::tr("Cannot read %1: %2")
            .arg(QDir::toNativeSeparators(path), file.errorString());
    return QString();
}

ColumnMappingDialog::ColumnMappingDialog(const QString& tracePath, QWidget* parent)
    : QDialog(parent)
    , m_path(tracePath) {
    setWindowTitle(tr("Column mapping"));
    buildUi();
    readSample();
    m_updating = true;
    guessFromSample();
    m_updating = false;
    updatePreview();
}

ColumnMappingDialog::~ColumnMappingDialog() = default;

void ColumnMappingDialog::buildUi() {
    m_fileLabel = new QLabel(this);
    m_fileLabel->setObjectName(QStringLiteral("fileLabel"));
    m_fileLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_fileLabel->setWordWrap(true);

    m_rawLines = new QPlainTextEdit(this);
    m_rawLines->setObjectName(QStringLiteral("rawLinesView"));
    m_rawLines->setReadOnly(true);
    m_rawLines->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_rawLines->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_rawLines->setToolTip(tr("The file's first %1 lines as they are, numbered as the reader "
                              "counts them. Tabs show as \u2192.")
                               .arg(kPreviewLines));
    m_rawLines->setMinimumHeight(fontMetrics().lineSpacing() * 7);
    auto* rawBox = new QGroupBox(tr("First lines of the file"), this);
    auto* rawLayout = new QVBoxLayout(rawBox);
    rawLayout->addWidget(m_rawLines);

    m_headerCheck = new QCheckBox(tr("Line 1 is a header (skipped)"), this);
    m_headerCheck->setObjectName(QStringLiteral("headerCheck"));
    m_headerCheck->setToolTip(tr("Line 1 names the fields rather than holding a query. Without "
                                 "this, a line 1 whose timestamp field holds a word is still "
                                 "skipped."));
    m_delimiterCombo = new QComboBox(this);
    m_delimiterCombo->setObjectName(QStringLiteral("delimiterCombo"));
    m_delimiterCombo->setToolTip(tr("The character between fields. Fields may be quoted with \"."));
    for (const DelimiterChoice& choice : kDelimiterChoices)
        m_delimiterCombo->addItem(tr(choice.label), choice.delimiter);
    m_timeUnitCombo = new QComboBox(this);
    m_timeUnitCombo->setObjectName(QStringLiteral("timeUnitCombo"));
    m_timeUnitCombo->setToolTip(tr("The unit of numeric timestamps since 1970-01-01 UTC. "
                                   "ISO-8601 timestamps need no unit."));
    for (const TimeUnitChoice& choice : kTimeUnitChoices)
        m_timeUnitCombo->addItem(tr(choice.label), static_cast<int>(choice.unit));
    auto* formatBox = new QGroupBox(tr("Format"), this);
    auto* formatLayout = new QFormLayout(formatBox);
    formatLayout->addRow(m_headerCheck);
    formatLayout->addRow(tr("&Delimiter:"), m_delimiterCombo);
    formatLayout->addRow(tr("&Time unit:"), m_timeUnitCombo);

    auto* columnsBox = new QGroupBox(tr("Fields (position in each line)"), this);
    auto* columnsLayout = new QGridLayout(columnsBox);
    for (std::size_t column = 0; column < kColumnNames.size(); ++column) {
        auto* combo = new QComboBox(this);
        const QString name = QString::fromLatin1(kColumnNames[column]);
        combo->setObjectName(QStringLiteral("column_") + name);
        combo->setToolTip(tr("Which field holds %1: %2.%3")
                              .arg(name, tr(kColumnHints[column]),
                                   column <= kKey ? tr(" Required.") : tr(" Optional.")));
        combo->setSizeAdjustPolicy(QComboBox::AdjustToContents);
        m_columnCombos[column] = combo;
        auto* label = new QLabel(column <= kKey ? QStringLiteral("%1 *:").arg(name)
                                                : QStringLiteral("%1:").arg(name),
                                 this);
        label->setBuddy(combo);
        label->setToolTip(combo->toolTip());
        // Two columns of label + combo: ts, op, bytes, client on the left; key, end_key, latency
        // on the right, so the required pair sits on the first row.
        const int row = static_cast<int>(column) / 2;
        const int pair = static_cast<int>(column) % 2;
        columnsLayout->addWidget(label, row, pair * 2);
        columnsLayout->addWidget(combo, row, pair * 2 + 1);
    }
    columnsLayout->setColumnStretch(1, 1);
    columnsLayout->setColumnStretch(3, 1);
    auto* required = new QLabel(tr("* required"), this);
    fadeText(required);
    columnsLayout->addWidget(required, 4, 0, 1, 4);

    auto* controls = new QHBoxLayout;
    controls->addWidget(formatBox);
    controls->addWidget(columnsBox, 1);

    m_preview = new QTableWidget(this);
    m_preview->setObjectName(QStringLiteral("previewTable"));
    m_preview->setColumnCount(static_cast<int>(kColumnNames.size()) + 1);
    QStringList headers{tr("Line")};
    for (const char* name : kColumnNames)
        headers.append(QString::fromLatin1(name));
    headers[1] = tr("ts (UTC)");
    m_preview->setHorizontalHeaderLabels(headers);
    m_preview->verticalHeader()->hide();
    m_preview->verticalHeader()->setDefaultSectionSize(fontMetrics().lineSpacing() + 6);
    m_preview->horizontalHeader()->setStretchLastSection(true);
    m_preview->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_preview->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_preview->setWordWrap(false);
    m_preview->setToolTip(tr("How the reader parses the lines above with this mapping. Bad lines "
                             "are skipped when the trace is replayed."));
    m_previewSummary = new QLabel(this);
    m_previewSummary->setObjectName(QStringLiteral("previewSummary"));
    auto* previewBox = new QGroupBox(tr("Preview"), this);
    auto* previewLayout = new QVBoxLayout(previewBox);
    previewLayout->addWidget(m_preview);
    previewLayout->addWidget(m_previewSummary);

    m_errorLabel = newErrorLabel(this);

    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_fileLabel);
    layout->addWidget(rawBox, 2);
    layout->addLayout(controls);
    layout->addWidget(previewBox, 3);
    layout->addWidget(m_errorLabel);
    layout->addWidget(m_buttons);

    connect(m_headerCheck, &QCheckBox::toggled, this, [this] {
        rebuildColumnChoices();
        updatePreview();
    });
    connect(m_delimiterCombo, &QComboBox::currentIndexChanged, this, [this] {
        rebuildColumnChoices();
        updatePreview();
    });
    connect(m_timeUnitCombo, &QComboBox::currentIndexChanged, this,
            &ColumnMappingDialog::updatePreview);
    for (std::size_t column = 0; column < m_columnCombos.size(); ++column) {
        connect(m_columnCombos[column], &QComboBox::currentIndexChanged, this, [this, column] {
            if (m_updating)
                return;
            m_positions[column] = m_columnCombos[column]->currentData().toInt();
            updatePreview();
        });
    }

    setTabOrder(m_rawLines, m_headerCheck);
    setTabOrder(m_headerCheck, m_delimiterCombo);
    setTabOrder(m_delimiterCombo, m_timeUnitCombo);
    QWidget* previous = m_timeUnitCombo;
    for (QComboBox* combo : m_columnCombos) {
        setTabOrder(previous, combo);
        previous = combo;
    }
    setTabOrder(previous, m_preview);
    setTabOrder(m_preview, m_buttons);
    resize(900, 720);
}

void ColumnMappingDialog::readSample() {
    m_fileLabel->setText(
        tr("Map the fields of <b>%1</b>").arg(QDir::toNativeSeparators(m_path).toHtmlEscaped()));
    m_readProblem = traceFileProblem(m_path);
    if (!m_readProblem.isEmpty())
        return;
    QFile file(m_path);
    if (!file.open(QIODevice::ReadOnly)) {
        m_readProblem = tr("Cannot read %1: %2").arg(m_path, file.errorString());
        return;
    }
    while (m_lines.size() < kPreviewLines && !file.atEnd()) {
        QByteArray line = file.readLine(kMaxPreviewLineBytes);
        if (line.endsWith('\n')) {
            line.chop(1);
        } else {
            // Cut at the preview's limit: skip the rest of the line so numbers stay true.
            char c = 0;
            while (file.getChar(&c) && c != '\n') {
            }
        }
        m_lines.append(SampleLine{line});
    }
    if (file.error() != QFile::NoError) {
        m_readProblem = tr("Cannot read %1: %2").arg(m_path, file.errorString());
        return;
    }

    QStringList raw;
    const int width = static_cast<int>(QString::number(m_lines.size()).size());
    for (qsizetype i = 0; i < m_lines.size(); ++i)
        raw.append(QStringLiteral("%1 \u2502 %2")
                       .arg(i + 1, width)
                       .arg(previewLineText(i == 0 ? withoutByteOrderMark(m_lines[i].bytes)
                                                   : m_lines[i].bytes)));
    m_rawLines->setPlainText(m_lines.isEmpty() ? tr("(the file is empty)") : raw.join(u'\n'));

    // The reader parses a file: hand it exactly these lines.
    m_sampleFile = std::make_unique<QTemporaryFile>(QDir::tempPath() +
                                                    QStringLiteral("/rangepilot-preview-XXXXXX"));
    if (!m_sampleFile->open()) {
        m_readProblem =
            tr("Cannot write the preview's scratch file: %1").arg(m_sampleFile->errorString());
        return;
    }
    for (const SampleLine& line : m_lines) {
        m_sampleFile->write(line.bytes);
        m_sampleFile->write("\n");
    }
    m_sampleFile->close();
}

QList<QByteArray> ColumnMappingDialog::fieldsOf(int lineIndex) const {
    if (lineIndex < 0 || lineIndex >= m_lines.size())
        return {};
    QByteArray line = withoutLineEnd(m_lines[lineIndex].bytes);
    if (lineIndex == 0)
        line = withoutByteOrderMark(line);
    return splitFields(line, static_cast<char>(delimiter().unicode()));
}

void ColumnMappingDialog::guessFromSample() {
    QList<QByteArray> firstLines;
    for (const SampleLine& line : m_lines) {
        if (!withoutLineEnd(line.bytes).isEmpty())
            firstLines.append(withoutByteOrderMark(withoutLineEnd(line.bytes)));
        if (firstLines.size() == 3)
            break;
    }
    if (firstLines.isEmpty()) {
        m_headerCheck->setChecked(true);
        rebuildColumnChoices();
        return;
    }
    const char delimiterGuess = guessDelimiter(firstLines);
    selectDelimiter(QChar::fromLatin1(delimiterGuess));

    const QList<QByteArray> first = splitFields(firstLines[0], delimiterGuess);
    const bool headerGuess = std::any_of(first.begin(), first.end(), hasLetter) &&
                             std::none_of(first.begin(), first.end(),
                                          [](const QByteArray& f) { return isTimestamp(f); });
    m_headerCheck->setChecked(headerGuess);

    m_positions.fill(0);
    const auto taken = [this](int position) {
        return std::find(m_positions.begin(), m_positions.end(), position) != m_positions.end();
    };
    if (headerGuess) {
        for (qsizetype field = 0; field < first.size(); ++field) {
            const int column = columnNamed(normalizedName(first[field]));
            if (column >= 0 && m_positions[static_cast<std::size_t>(column)] == 0)
                m_positions[static_cast<std::size_t>(column)] = static_cast<int>(field) + 1;
        }
    }
    const qsizetype dataIndex = headerGuess ? 1 : 0;
    const QList<QByteArray> data = dataIndex < firstLines.size()
                                       ? splitFields(firstLines[dataIndex], delimiterGuess)
                                       : QList<QByteArray>();
    const auto firstFree = [&](auto predicate) {
        for (qsizetype field = 0; field < data.size(); ++field) {
            if (!taken(static_cast<int>(field) + 1) && predicate(data[field]))
                return static_cast<int>(field) + 1;
        }
        return 0;
    };
    if (m_positions[kTs] == 0)
        m_positions[kTs] = firstFree(looksLikeEpochTime);
    if (m_positions[kOp] == 0)
        m_positions[kOp] = firstFree([](const QByteArray& field) {
            return parseOp(field.trimmed().toStdString()).has_value();
        });
    if (m_positions[kKey] == 0) {
        m_positions[kKey] = firstFree([](const QByteArray& f) { return !isNumber(f); });
        if (m_positions[kKey] == 0)
            m_positions[kKey] = firstFree([](const QByteArray&) { return true; });
    }
    if (m_positions[kTs] > 0 && m_positions[kTs] <= data.size()) {
        const QByteArray ts = data[m_positions[kTs] - 1];
        if (const qsizetype digits = integerDigits(ts); digits > 0)
            selectTimeUnit(unitFromDigits(digits));
    }
    rebuildColumnChoices();
}

void ColumnMappingDialog::rebuildColumnChoices() {
    const bool wasUpdating = m_updating;
    m_updating = true;
    const bool headerLine = header();
    const QList<QByteArray> names = headerLine ? fieldsOf(0) : QList<QByteArray>();
    QList<QByteArray> sample;
    for (int i = headerLine ? 1 : 0; i < m_lines.size() && sample.isEmpty(); ++i) {
        if (!withoutLineEnd(m_lines[i].bytes).isEmpty())
            sample = fieldsOf(i);
    }
    qsizetype fieldCount = 1;
    for (int i = 0; i < m_lines.size(); ++i)
        fieldCount = std::max(fieldCount, fieldsOf(i).size());
    for (const int position : m_positions)
        fieldCount = std::max<qsizetype>(fieldCount, position);
    fieldCount = std::min<qsizetype>(fieldCount, kMaxFieldChoices);

    for (std::size_t column = 0; column < m_columnCombos.size(); ++column) {
        QComboBox* combo = m_columnCombos[column];
        combo->clear();
        combo->addItem(tr("none"), 0);
        for (qsizetype field = 0; field < fieldCount; ++field) {
            QString label;
            if (field < names.size())
                label = QString::fromUtf8(names[field]);
            else if (field < sample.size())
                label = QString::fromUtf8(sample[field]);
            const QString text =
                label.trimmed().isEmpty()
                    ? QString::number(field + 1)
                    : QStringLiteral("%1 \u00b7 %2").arg(field + 1).arg(shortened(label));
            combo->addItem(text, static_cast<int>(field) + 1);
            combo->setItemData(combo->count() - 1, label, Qt::ToolTipRole);
        }
        const int index = combo->findData(m_positions[column]);
        combo->setCurrentIndex(index >= 0 ? index : 0);
        m_positions[column] = combo->currentData().toInt();
    }
    m_updating = wasUpdating;
}

QChar ColumnMappingDialog::delimiter() const {
    return m_delimiterCombo->currentData().value<QChar>();
}

bool ColumnMappingDialog::header() const {
    return m_headerCheck->isChecked();
}

TimeUnit ColumnMappingDialog::timeUnit() const {
    return static_cast<TimeUnit>(m_timeUnitCombo->currentData().toInt());
}

QString ColumnMappingDialog::columnsSpec() const {
    QStringList items;
    for (std::size_t column = 0; column < m_positions.size(); ++column) {
        if (m_positions[column] > 0)
            items.append(QStringLiteral("%1=%2")
                             .arg(QString::fromLatin1(kColumnNames[column]))
                             .arg(m_positions[column]));
    }
    return items.join(u',');
}

TraceSettings ColumnMappingDialog::currentSettings() const {
    TraceSettings trace;
    trace.path = m_path;
    applyTo(trace);
    return trace;
}

void ColumnMappingDialog::applyTo(TraceSettings& trace) const {
    trace.foreign = true;
    trace.columns = columnsSpec();
    trace.header = header();
    trace.time_unit = timeUnit();
    trace.delimiter = delimiter();
}

void ColumnMappingDialog::setTraceSettings(const TraceSettings& trace) {
    const Result<ColumnMapping> mapping = parseColumnMapping(trace.columns.toStdString());
    if (!mapping || !parseDelimiter(QString(trace.delimiter)))
        return; // nothing usable: keep the guess
    m_updating = true;
    m_headerCheck->setChecked(trace.header);
    selectTimeUnit(trace.time_unit);
    selectDelimiter(trace.delimiter);
    const ColumnMapping& columns = mapping.value();
    const std::array<int, kColumnCount> fields{columns.ts,      columns.key,   columns.op,
                                               columns.end_key, columns.bytes, columns.latency_us,
                                               columns.client};
    for (std::size_t column = 0; column < fields.size(); ++column)
        m_positions[column] = fields[column] + 1; // -1 (absent) becomes 0 (none)
    rebuildColumnChoices();
    m_updating = false;
    updatePreview();
}

void ColumnMappingDialog::selectDelimiter(QChar delimiter) {
    int index = m_delimiterCombo->findData(delimiter);
    if (index < 0) {
        m_delimiterCombo->addItem(QStringLiteral("'%1'").arg(delimiter), delimiter);
        index = m_delimiterCombo->count() - 1;
    }
    m_delimiterCombo->setCurrentIndex(index);
}

void ColumnMappingDialog::selectTimeUnit(TimeUnit unit) {
    m_timeUnitCombo->setCurrentIndex(m_timeUnitCombo->findData(static_cast<int>(unit)));
}

void ColumnMappingDialog::showProblem(const QString& problem) {
    m_problem = problem;
    m_errorLabel->setText(problem);
    m_errorLabel->setVisible(!problem.isEmpty());
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(problem.isEmpty());
}

void ColumnMappingDialog::updatePreview() {
    if (m_updating)
        return;
    const bool readable = m_readProblem.isEmpty();
    for (QWidget* control : std::initializer_list<QWidget*>{m_headerCheck, m_delimiterCombo,
                                                            m_timeUnitCombo, m_preview})
        control->setEnabled(readable);
    for (QComboBox* combo : m_columnCombos)
        combo->setEnabled(readable);
    m_preview->setRowCount(0);
    m_previewSummary->clear();
    if (!readable) {
        m_rawLines->setPlainText(m_readProblem);
        showProblem(m_readProblem);
        return;
    }

    // A field chosen twice, or ts / key missing: say which, in the dialog's words.
    for (std::size_t column = 0; column < m_positions.size(); ++column) {
        for (std::size_t other = column + 1; other < m_positions.size(); ++other) {
            if (m_positions[column] > 0 && m_positions[column] == m_positions[other]) {
                showProblem(tr("Field %1 is chosen for both %2 and %3.")
                                .arg(m_positions[column])
                                .arg(QString::fromLatin1(kColumnNames[column]),
                                     QString::fromLatin1(kColumnNames[other])));
                return;
            }
        }
    }
    if (m_positions[kTs] == 0 || m_positions[kKey] == 0) {
        showProblem(tr("Choose the fields that hold ts and key."));
        return;
    }
    const Result<TraceReadOptions> options = traceReadOptions(currentSettings());
    if (!options) {
        showProblem(QString::fromStdString(options.error().message));
        return;
    }
    Result<TraceReader> reader =
        TraceReader::open(m_sampleFile->fileName().toStdString(), options.value());
    Result<TraceLayout> layout = reader ? reader->layout() : Result<TraceLayout>(reader.error());
    if (!layout) {
        showProblem(QString::fromStdString(layout.error().message));
        return;
    }

    // The lines the reader hands on, in order: every non-blank line after a skipped header. Each
    // event or bad line takes the next of them, so events get their line numbers.
    std::vector<std::uint64_t> dataLines;
    for (qsizetype i = static_cast<qsizetype>(layout->header_lines); i < m_lines.size(); ++i) {
        const QByteArray line = withoutLineEnd(m_lines[i].bytes);
        if (!(i == 0 ? withoutByteOrderMark(line) : line).isEmpty())
            dataLines.push_back(static_cast<std::uint64_t>(i) + 1);
    }
    std::size_t next = 0;
    std::vector<PreviewRow> rows;
    if (layout->header_lines > 0)
        rows.push_back({1, PreviewRow::Kind::Header, {tr("header, skipped")}});
    const ColumnMapping& mapping = *options->columns;
    const std::array<bool, kColumnCount> mapped{
        mapping.ts >= 0,    mapping.key >= 0,        mapping.op >= 0,    mapping.end_key >= 0,
        mapping.bytes >= 0, mapping.latency_us >= 0, mapping.client >= 0};
    const auto cell = [&](int column, QString text) {
        return mapped[static_cast<std::size_t>(column)] ? text : display::unknown();
    };
    const Result<TraceReadSummary> summary = reader->read(
        [&](const TraceEvent& event) {
            const std::uint64_t line = next < dataLines.size() ? dataLines[next] : 0;
            ++next;
            rows.push_back(
                {line,
                 PreviewRow::Kind::Event,
                 {QString::fromStdString(formatIso8601(event.ts_ms)), display::key(event.key),
                  cell(kOp, QString::fromUtf8(opName(event.op))),
                  cell(kEndKey, event.end_key.empty() ? QString() : display::key(event.end_key)),
                  cell(kBytes, QString::number(event.bytes)),
                  cell(kLatency, QString::number(event.latency_us)),
                  cell(kClient, QString::fromUtf8(event.client.data(),
                                                  static_cast<qsizetype>(event.client.size())))}});
        },
        [&](const BadLine& bad) {
            while (next < dataLines.size() && dataLines[next] <= bad.line)
                ++next;
            rows.push_back({bad.line,
                            PreviewRow::Kind::Bad,
                            {QString::fromUtf8(bad.reason.data(),
                                               static_cast<qsizetype>(bad.reason.size()))}});
        });
    if (!summary) {
        showProblem(QString::fromStdString(summary.error().message));
        return;
    }

    m_preview->setRowCount(static_cast<int>(rows.size()));
    const int columns = m_preview->columnCount();
    for (int row = 0; row < static_cast<int>(rows.size()); ++row) {
        const PreviewRow& entry = rows[static_cast<std::size_t>(row)];
        auto* lineItem = new QTableWidgetItem(QString::number(entry.line));
        lineItem->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        m_preview->setItem(row, 0, lineItem);
        if (entry.kind == PreviewRow::Kind::Event) {
            for (int column = 0; column < entry.cells.size(); ++column) {
                auto* item = new QTableWidgetItem(entry.cells[column]);
                if (column == kBytes || column == kLatency)
                    item->setData(Qt::TextAlignmentRole, display::numberAlignment());
                if (!mapped[static_cast<std::size_t>(column)])
                    item->setForeground(palette().color(QPalette::Disabled, QPalette::Text));
                m_preview->setItem(row, column + 1, item);
            }
            continue;
        }
        const bool bad = entry.kind == PreviewRow::Kind::Bad;
        auto* item = new QTableWidgetItem(bad ? tr("bad line: %1").arg(entry.cells.front())
                                              : entry.cells.front());
        item->setForeground(bad ? errorColor()
                                : palette().color(QPalette::Disabled, QPalette::Text));
        item->setToolTip(item->text());
        lineItem->setForeground(item->foreground());
        m_preview->setItem(row, 1, item);
        m_preview->setSpan(row, 1, 1, columns - 1);
    }
    m_preview->resizeColumnsToContents();
    for (int column = 0; column + 1 < m_preview->columnCount(); ++column)
        m_preview->setColumnWidth(column, m_preview->columnWidth(column) + kCellPadding);

    const std::uint64_t total = summary->events + summary->bad_lines;
    if (total == 0)
        m_previewSummary->setText(tr("No data lines to preview."));
    else if (summary->bad_lines == 0)
        m_previewSummary->setText(tr("All %1 data lines shown parse.").arg(total));
    else
        m_previewSummary->setText(tr("%1 of %2 data lines parse; %3 bad (in red) would be skipped.")
                                      .arg(summary->events)
                                      .arg(total)
                                      .arg(summary->bad_lines));
    showProblem(QString());
}

} // namespace rangepilot
