#pragma once

// ColumnMappingDialog: how a foreign log's fields map to the trace columns (ts, key, op, end_key,
// bytes, latency_us, client), with a live preview. It shows the first lines of the file raw, with
// their line numbers, and below them how the project's TraceReader parses those lines with the
// mapping being edited: one row per line, a bad line with its number and the reader's reason.
//
// Controls: per column the source field (1-based position, or none), whether line 1 is a header,
// the unit of numeric timestamps and the delimiter. On opening, the dialog guesses all of these
// from the first lines (the most frequent delimiter; a header when line 1 has names and no
// timestamp; columns from header names, else the field that looks like a timestamp, the one that
// reads as an operation, the first text field as the key; the time unit from the number of
// digits). setTraceSettings() replaces the guess only when the settings hold a usable mapping.
//
// OK is disabled, with the reason shown, while the file cannot be read or the mapping lacks ts or
// key or uses a field twice. Cost: the first kPreviewLines lines are read once (into a temporary
// file the reader parses again on every change: a few microseconds for 20 lines).

#include "console_settings.h"

#include <QByteArray>
#include <QDialog>
#include <QList>
#include <QString>

#include <array>
#include <memory>

class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QLabel;
class QPlainTextEdit;
class QTableWidget;
class QTemporaryFile;

namespace rangepilot {

// Why `path` cannot be replayed ("Choose a trace file.", "No such file: …", "… is a folder, not
// a file.", "Cannot read …: Permission denied"), or an empty string when it can be opened.
QString traceFileProblem(const QString& path);

class ColumnMappingDialog : public QDialog {
    Q_OBJECT
public:
    static constexpr int kPreviewLines = 20;
    // The trace columns in their canonical order, as the reader names them.
    static constexpr std::array<const char*, 7> kColumnNames{
        "ts", "key", "op", "end_key", "bytes", "latency_us", "client"};

    explicit ColumnMappingDialog(const QString& tracePath, QWidget* parent = nullptr);
    ~ColumnMappingDialog() override;

    // Takes the mapping, header, time unit and delimiter of `trace` when its columns parse;
    // otherwise keeps the guess from the file.
    void setTraceSettings(const TraceSettings& trace);
    // Writes the foreign-log fields (foreign = true, columns, header, time_unit, delimiter);
    // leaves the path, hosts and speed alone.
    void applyTo(TraceSettings& trace) const;

    // What blocks OK, empty when nothing does.
    QString problem() const { return m_problem; }
    // "ts=1,key=2,op=3": the mapping as chosen (may be invalid).
    QString columnsSpec() const;

private:
    struct SampleLine {
        QByteArray bytes; // without the line break
    };

    void buildUi();
    void readSample();
    void guessFromSample();
    void rebuildColumnChoices();
    void updatePreview();
    void showProblem(const QString& problem);
    QChar delimiter() const;
    bool header() const;
    TimeUnit timeUnit() const;
    TraceSettings currentSettings() const;
    void selectDelimiter(QChar delimiter);
    void selectTimeUnit(TimeUnit unit);
    void selectColumn(int column, int position);
    QList<QByteArray> fieldsOf(int lineIndex) const;

    QString m_path;
    QString m_readProblem; // the file cannot be read
    QList<SampleLine> m_lines;
    std::unique_ptr<QTemporaryFile> m_sampleFile; // the sample lines, for the reader
    QString m_problem;
    // The chosen 1-based field per column (0 = none), the truth the combo boxes show.
    std::array<int, kColumnNames.size()> m_positions{};

    QLabel* m_fileLabel = nullptr;
    QPlainTextEdit* m_rawLines = nullptr;
    QCheckBox* m_headerCheck = nullptr;
    QComboBox* m_delimiterCombo = nullptr;
    QComboBox* m_timeUnitCombo = nullptr;
    std::array<QComboBox*, kColumnNames.size()> m_columnCombos{};
    QTableWidget* m_preview = nullptr;
    QLabel* m_previewSummary = nullptr;
    QLabel* m_errorLabel = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
    bool m_updating = false; // widgets being set programmatically: one preview at the end
};

} // namespace rangepilot
