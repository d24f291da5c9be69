#pragma once

// ConnectionDialog: which cluster the console watches. Either the embedded simulated cluster
// (a workload scenario, its length, rate and seed, the hosts, shards and key cells, the replay
// speed), the replay of a trace file (our own CSV, or a foreign log with a column mapping made
// in the ColumnMappingDialog; the hosts its keys are spread over; the speed), or real
// rangepilot-nodes over gRPC (their addresses, the ownership store file, the TLS CA and token
// files, the migrations' copy rate).
//
// OK stays disabled while the input cannot work, with the reason under the form: no trace file,
// a missing, unreadable or folder path, a file whose line 1 is not our header when "RangePilot
// CSV" is chosen, a foreign log without a usable mapping, a seed that is not a whole number; for
// nodes, no address or one that is not host:port with a port from 1 to 65535, no store file or a
// folder in its place, a TLS CA or token file that is missing or unreadable. accept() checks the
// files again, since they may have gone while the dialog was open.
//
// The dialog edits a copy: settings() returns the whole ConnectionSettings, including the part
// for the connector not chosen (so switching back keeps what was typed there). Adding the trace
// to the recent list is the caller's job (addRecentTrace), once the connection is made.

#include "console_settings.h"

#include <QDialog>
#include <QString>
#include <QStringList>

class QButtonGroup;
class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QRadioButton;
class QSpinBox;
class QStackedWidget;

namespace rangepilot {

class ColumnMappingDialog;

class ConnectionDialog : public QDialog {
    Q_OBJECT
public:
    ConnectionDialog(const ConnectionSettings& settings, const QStringList& recentTraces,
                     QWidget* parent = nullptr);

    ConnectionSettings settings() const;
    // What blocks OK, empty when nothing does.
    QString problem() const { return m_problem; }

public Q_SLOTS:
    void accept() override;

private:
    QWidget* buildSimulatedPage();
    QWidget* buildTracePage(const QStringList& recentTraces);
    QWidget* buildNodesPage();
    ConnectorKind chosenKind() const;
    void load(const ConnectionSettings& settings);
    void browseForTrace();
    void openColumnMapping();
    void updateState();
    QString currentProblem() const;
    QString traceProblem() const;
    QString nodesProblem() const;
    void updateMappingSummary();
    void updateScenarioDescription();

    TraceSettings m_trace;       // the foreign-log fields, edited in the ColumnMappingDialog
    NodeClusterSettings m_nodes; // the fields this dialog does not show (cells, TLS name)
    QString m_problem;

    QRadioButton* m_simulatedRadio = nullptr;
    QRadioButton* m_traceRadio = nullptr;
    QRadioButton* m_nodesRadio = nullptr;
    QStackedWidget* m_pages = nullptr;

    QComboBox* m_scenarioCombo = nullptr;
    QLabel* m_scenarioDescription = nullptr;
    QSpinBox* m_hostsSpin = nullptr;
    QSpinBox* m_shardsSpin = nullptr;
    QSpinBox* m_cellsSpin = nullptr;
    QDoubleSpinBox* m_rateSpin = nullptr;
    QDoubleSpinBox* m_hoursSpin = nullptr;
    QLineEdit* m_seedEdit = nullptr;
    QDoubleSpinBox* m_speedSpin = nullptr;
    QCheckBox* m_fastestCheck = nullptr;

    QLineEdit* m_pathEdit = nullptr;
    QPushButton* m_browseButton = nullptr;
    QComboBox* m_recentCombo = nullptr;
    QRadioButton* m_ourFormatRadio = nullptr;
    QRadioButton* m_foreignRadio = nullptr;
    QPushButton* m_mappingButton = nullptr;
    QLabel* m_mappingSummary = nullptr;
    QSpinBox* m_traceHostsSpin = nullptr;
    QDoubleSpinBox* m_traceSpeedSpin = nullptr;
    QCheckBox* m_traceFastestCheck = nullptr;

    QLineEdit* m_endpointsEdit = nullptr;
    QLineEdit* m_storePathEdit = nullptr;
    QLineEdit* m_tlsCaEdit = nullptr;
    QLineEdit* m_tokenFileEdit = nullptr;
    QDoubleSpinBox* m_copyRateSpin = nullptr;

    QLabel* m_errorLabel = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
};

} // namespace rangepilot
