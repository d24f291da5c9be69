#pragma once

// ScheduleDialog: when an approved move (or any operator action: `what`) should start. Either at
// a chosen UTC time, or at the next opening of the maintenance window. Everything is relative to
// the cluster's clock, `clusterNow`, never the wall clock: a simulated or replayed cluster may
// run years away from today. The default time is an hour after clusterNow, on a whole minute.
//
// OK is disabled, with the reason shown, while the chosen time is before clusterNow. The window
// choice is disabled, with a line saying why, when no maintenance window is set; when clusterNow
// is inside the window, scheduling into it means now.

#include "auto_apply.h"
#include "time_ms.h"

#include <QDialog>
#include <QString>

#include <optional>

class QDateTimeEdit;
class QDialogButtonBox;
class QLabel;
class QRadioButton;

namespace rangepilot {

class ScheduleDialog : public QDialog {
    Q_OBJECT
public:
    ScheduleDialog(TimeMs clusterNow, std::optional<DailyWindow> maintenanceWindow,
                   const QString& what, QWidget* parent = nullptr);

    // The chosen start, in cluster time (UTC ms).
    TimeMs scheduledAt() const;
    bool inMaintenanceWindow() const;
    // What blocks OK, empty when nothing does.
    QString problem() const { return m_problem; }

private:
    void updateState();

    TimeMs m_clusterNow;
    std::optional<DailyWindow> m_window;
    std::optional<TimeMs> m_windowOpening;
    QString m_problem;

    QRadioButton* m_atRadio = nullptr;
    QDateTimeEdit* m_atEdit = nullptr;
    QRadioButton* m_windowRadio = nullptr;
    QLabel* m_windowNote = nullptr;
    QLabel* m_errorLabel = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
};

} // namespace rangepilot
