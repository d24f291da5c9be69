#pragma once

// AutoApplyDialog: edits the auto-apply guardrails (planner/auto_apply.h). Auto-apply is off by
// default; when on, the console starts a proposed move by itself if every guardrail allows it:
// at most N moves at once, at most so many megabytes moved per hour, nothing during quiet hours,
// and only moves whose expected gain reaches a minimum. The guardrail fields are disabled while
// auto-apply is off (their values are kept, and returned, for when it is turned on again).
//
// Units as operators think of them: megabytes per hour (10^6 bytes) and percentage points of
// gain; values the dialog was given come back exactly unless their field is edited. guardrails()
// always passes validate(); OK is disabled, with the reason shown, while quiet hours start and end
// at the same minute (an empty window).

#include "auto_apply.h"

#include <QDialog>
#include <QString>

class QCheckBox;
class QDialogButtonBox;
class QDoubleSpinBox;
class QGroupBox;
class QLabel;
class QSpinBox;
class QTimeEdit;

namespace rangepilot {

class AutoApplyDialog : public QDialog {
    Q_OBJECT
public:
    explicit AutoApplyDialog(const AutoApplyGuardrails& guardrails, QWidget* parent = nullptr);

    AutoApplyGuardrails guardrails() const;
    // What blocks OK, empty when nothing does.
    QString problem() const { return m_problem; }

private:
    void updateState();

    double m_bytesPerHour; // exact, until the spin box is edited
    double m_minGain;      // exact, until the spin box is edited
    QString m_problem;

    QCheckBox* m_enabledCheck = nullptr;
    QGroupBox* m_guardrailsBox = nullptr;
    QSpinBox* m_maxMovesSpin = nullptr;
    QDoubleSpinBox* m_megabytesSpin = nullptr;
    QDoubleSpinBox* m_minGainSpin = nullptr;
    QCheckBox* m_quietCheck = nullptr;
    QTimeEdit* m_quietStartEdit = nullptr;
    QTimeEdit* m_quietEndEdit = nullptr;
    QLabel* m_errorLabel = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
};

} // namespace rangepilot
