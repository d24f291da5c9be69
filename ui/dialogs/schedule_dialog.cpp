#include "schedule_dialog.h"

#include "dialog_labels.h"
#include "display_text.h"

#include <QDateTime>
#include <QDateTimeEdit>
#include <QDialogButtonBox>
#include <QGridLayout>
#include <QLabel>
#include <QPushButton>
#include <QRadioButton>
#include <QStyle>
#include <QVBoxLayout>

namespace rangepilot {

namespace {

QString utcText(TimeMs time) {
    return display::utcTime(time) + QStringLiteral(" UTC");
}

// An hour after `now`, rounded up to a whole minute (the editor shows minutes).
TimeMs defaultStart(TimeMs now) {
    const TimeMs later = now + kMsPerHour;
    return (floorDiv(later - 1, kMsPerMinute) + 1) * kMsPerMinute;
}

} // namespace

ScheduleDialog::ScheduleDialog(TimeMs clusterNow, std::optional<DailyWindow> maintenanceWindow,
                               const QString& what, QWidget* parent)
    : QDialog(parent)
    , m_clusterNow(clusterNow)
    , m_window(maintenanceWindow) {
    if (m_window && !m_window->empty())
        m_windowOpening = m_window->nextOpening(m_clusterNow);
    setWindowTitle(tr("Schedule %1").arg(what));

    auto* heading = new QLabel(tr("When should <b>%1</b> start?").arg(what.toHtmlEscaped()), this);
    heading->setObjectName(QStringLiteral("headingLabel"));
    heading->setWordWrap(true);
    auto* clock = new QLabel(tr("Cluster time now: %1").arg(utcText(m_clusterNow)), this);
    clock->setObjectName(QStringLiteral("clusterNowLabel"));
    clock->setToolTip(tr("The cluster's own clock. A simulated or replayed cluster may run far "
                         "from today's date; schedules follow its clock."));
    fadeText(clock);

    m_atRadio = new QRadioButton(tr("&At"), this);
    m_atRadio->setObjectName(QStringLiteral("atRadio"));
    m_atEdit = new QDateTimeEdit(this);
    m_atEdit->setObjectName(QStringLiteral("atEdit"));
    m_atEdit->setTimeSpec(Qt::UTC);
    m_atEdit->setDisplayFormat(QStringLiteral("yyyy-MM-dd HH:mm 'UTC'"));
    m_atEdit->setCalendarPopup(true);
    m_atEdit->setDateTime(QDateTime::fromMSecsSinceEpoch(defaultStart(m_clusterNow), Qt::UTC));
    m_atEdit->setToolTip(tr("Start time in UTC, on the cluster's clock."));
    m_atRadio->setToolTip(m_atEdit->toolTip());

    m_windowRadio = new QRadioButton(this);
    m_windowRadio->setObjectName(QStringLiteral("windowRadio"));
    m_windowNote = new QLabel(this);
    m_windowNote->setObjectName(QStringLiteral("windowNote"));
    m_windowNote->setWordWrap(true);
    fadeText(m_windowNote);
    if (m_windowOpening) {
        const QString window = QString::fromStdString(formatDailyWindow(*m_window));
        const QString opening = *m_windowOpening == m_clusterNow
                                    ? tr("open now")
                                    : tr("opens %1").arg(utcText(*m_windowOpening));
        m_windowRadio->setText(tr("In the next &maintenance window (%1, %2)").arg(window, opening));
        m_windowRadio->setToolTip(tr("Start when the daily maintenance window opens."));
        m_windowNote->hide();
    } else {
        m_windowRadio->setText(tr("In the next &maintenance window"));
        m_windowRadio->setEnabled(false);
        m_windowNote->setText(tr("No maintenance window is set: set one in the console "
                                 "settings to schedule into it."));
    }

    m_errorLabel = newErrorLabel(this);

    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    m_buttons->button(QDialogButtonBox::Ok)->setText(tr("Schedule"));
    connect(m_buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto* choices = new QGridLayout;
    choices->addWidget(m_atRadio, 0, 0);
    choices->addWidget(m_atEdit, 0, 1);
    choices->addWidget(m_windowRadio, 1, 0, 1, 3);
    choices->addWidget(m_windowNote, 2, 0, 1, 3);
    choices->setColumnStretch(2, 1);
    // The note lines up with the radio button's text, not its circle.
    m_windowNote->setIndent(style()->pixelMetric(QStyle::PM_ExclusiveIndicatorWidth) +
                            style()->pixelMetric(QStyle::PM_RadioButtonLabelSpacing));

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(heading);
    layout->addWidget(clock);
    layout->addSpacing(6);
    layout->addLayout(choices);
    layout->addWidget(m_errorLabel);
    layout->addStretch(1);
    layout->addWidget(m_buttons);

    m_atRadio->setChecked(true);
    connect(m_atRadio, &QRadioButton::toggled, this, &ScheduleDialog::updateState);
    connect(m_windowRadio, &QRadioButton::toggled, this, &ScheduleDialog::updateState);
    connect(m_atEdit, &QDateTimeEdit::dateTimeChanged, this, &ScheduleDialog::updateState);
    setTabOrder(m_atRadio, m_atEdit);
    setTabOrder(m_atEdit, m_windowRadio);
    setTabOrder(m_windowRadio, m_buttons);
    updateState();
    setMinimumWidth(460);
}

bool ScheduleDialog::inMaintenanceWindow() const {
    return m_windowRadio->isChecked() && m_windowOpening.has_value();
}

TimeMs ScheduleDialog::scheduledAt() const {
    if (inMaintenanceWindow())
        return *m_windowOpening;
    return m_atEdit->dateTime().toMSecsSinceEpoch();
}

void ScheduleDialog::updateState() {
    m_atEdit->setEnabled(m_atRadio->isChecked());
    m_problem.clear();
    if (m_atRadio->isChecked() && scheduledAt() < m_clusterNow)
        m_problem = tr("%1 has passed: the cluster's clock reads %2. Choose a later time.")
                        .arg(utcText(scheduledAt()), utcText(m_clusterNow));
    m_errorLabel->setText(m_problem);
    m_errorLabel->setVisible(!m_problem.isEmpty());
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(m_problem.isEmpty());
}

} // namespace rangepilot
