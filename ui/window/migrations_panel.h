#pragma once

// MigrationsPanel: the planner's proposals and the running moves, with the operator's actions.
// A table (sortable; a progress bar in the Progress column; the planner's reason as a tooltip),
// a row of actions (Approve, Reject, Schedule…, Pause, Resume, Abort) enabled for what the
// selected row allows, an optional note that goes into the audit log as the action's "why", and a
// line that says what auto-apply does. Shortcuts (while the panel has focus): A approve, R reject,
// S schedule, P pause, U resume (un-pause), X abort. A refused action is shown in the panel, not in
// a modal box, so the operator keeps working.
//
// The panel calls ConsoleSession and never changes a model itself.

#include "console_session.h"

#include <QWidget>

#include <functional>
#include <optional>

class QAction;
class QLabel;
class QLineEdit;
class QSortFilterProxyModel;
class QTableView;
class QToolButton;

namespace rangepilot {

class MigrationsPanel : public QWidget {
    Q_OBJECT
public:
    explicit MigrationsPanel(QWidget* parent = nullptr);

    void setSession(ConsoleSession* session);

    // Asks when to run a move (the schedule dialog by default); nullopt when cancelled. Tests
    // replace it.
    using ScheduleAsker = std::function<std::optional<TimeMs>(const MigrationEntry& entry)>;
    void setScheduleAsker(ScheduleAsker asker) { m_askSchedule = std::move(asker); }

    QTableView* table() const { return m_table; }
    QAction* approveAction() const { return m_approve; }
    QAction* rejectAction() const { return m_reject; }
    QAction* scheduleAction() const { return m_schedule; }
    QAction* pauseAction() const { return m_pause; }
    QAction* resumeAction() const { return m_resume; }
    QAction* abortAction() const { return m_abort; }
    QLineEdit* noteEdit() const { return m_note; }
    QLabel* messageLabel() const { return m_message; }
    // Selects the row of the source model (for tests and for the heatmap's shard clicks).
    void selectSourceRow(int row);
    // Columns as wide as their headers and content; the reason gets the room that is left.
    void fitColumns();
    std::optional<int> selectedSourceRow() const;

Q_SIGNALS:
    void guardrailsRequested();

private:
    QAction* addAction(const QString& text, const QString& shortcut, const QString& toolTip,
                       Status (ConsoleSession::*act)(int, const QString&));
    void act(Status (ConsoleSession::*act)(int, const QString&), const QString& verb);
    void scheduleSelected();
    void updateActions();
    void updateAutoApplyLine();
    void showOutcome(const Status& status, const QString& verb);
    std::optional<TimeMs> askScheduleWithDialog(const MigrationEntry& entry);

    ConsoleSession* m_session = nullptr;
    QSortFilterProxyModel* m_proxy;
    QTableView* m_table;
    QLineEdit* m_note;
    QLabel* m_message;
    QLabel* m_autoApply;
    QAction* m_approve = nullptr;
    QAction* m_reject = nullptr;
    QAction* m_schedule = nullptr;
    QAction* m_pause = nullptr;
    QAction* m_resume = nullptr;
    QAction* m_abort = nullptr;
    ScheduleAsker m_askSchedule;
};

} // namespace rangepilot
