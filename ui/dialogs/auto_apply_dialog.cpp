#include "auto_apply_dialog.h"

#include "dialog_labels.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QStyle>
#include <QTime>
#include <QTimeEdit>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace rangepilot {

namespace {

constexpr double kBytesPerMegabyte = 1e6;
constexpr int kMaxConcurrentMovesChoice = 9999;
constexpr double kMaxMegabytesPerHourChoice = 1e7; // 10 TB an hour
constexpr int kMinutesPerHour = 60;
const DailyWindow kDefaultQuietHours{22 * kMinutesPerHour, 6 * kMinutesPerHour};

QTime timeOfMinute(int minute) {
    return QTime(minute / kMinutesPerHour, minute % kMinutesPerHour);
}

int minuteOfTime(const QTime& time) {
    return time.hour() * kMinutesPerHour + time.minute();
}

QTimeEdit* makeTimeEdit(QWidget* parent, const QString& objectName, int minute,
                        const QString& toolTip) {
    auto* edit = new QTimeEdit(timeOfMinute(minute), parent);
    edit->setObjectName(objectName);
    edit->setDisplayFormat(QStringLiteral("HH:mm"));
    edit->setTimeSpec(Qt::UTC);
    edit->setToolTip(toolTip);
    return edit;
}

} // namespace

AutoApplyDialog::AutoApplyDialog(const AutoApplyGuardrails& guardrails, QWidget* parent)
    : QDialog(parent)
    , m_bytesPerHour(guardrails.max_bytes_per_hour)
    , m_minGain(guardrails.min_gain) {
    setWindowTitle(tr("Auto-apply"));

    m_enabledCheck = new QCheckBox(tr("&Apply proposed moves automatically"), this);
    m_enabledCheck->setObjectName(QStringLiteral("enabledCheck"));
    m_enabledCheck->setChecked(guardrails.enabled);
    auto* explanation = new QLabel(
        tr("When on, the console starts a move the planner proposes by itself whenever every "
           "guardrail below allows it. When off, every move waits for an operator."),
        this);
    explanation->setObjectName(QStringLiteral("explanationLabel"));
    explanation->setWordWrap(true);
    fadeText(explanation);
    explanation->setIndent(style()->pixelMetric(QStyle::PM_IndicatorWidth) +
                           style()->pixelMetric(QStyle::PM_CheckBoxLabelSpacing));
    m_enabledCheck->setToolTip(explanation->text());

    m_guardrailsBox = new QGroupBox(tr("Guardrails"), this);
    m_guardrailsBox->setObjectName(QStringLiteral("guardrailsGroup"));

    m_maxMovesSpin = new QSpinBox(m_guardrailsBox);
    m_maxMovesSpin->setObjectName(QStringLiteral("maxMovesSpin"));
    m_maxMovesSpin->setRange(1, kMaxConcurrentMovesChoice);
    m_maxMovesSpin->setValue(static_cast<int>(std::min<std::size_t>(
        guardrails.max_concurrent_moves, static_cast<std::size_t>(kMaxConcurrentMovesChoice))));
    m_maxMovesSpin->setSuffix(tr(" moves"));
    m_maxMovesSpin->setToolTip(tr("No move starts automatically while this many are running, "
                                  "whoever started them."));

    m_megabytesSpin = new QDoubleSpinBox(m_guardrailsBox);
    m_megabytesSpin->setObjectName(QStringLiteral("maxMegabytesPerHourSpin"));
    m_megabytesSpin->setRange(1, kMaxMegabytesPerHourChoice);
    m_megabytesSpin->setDecimals(0);
    m_megabytesSpin->setGroupSeparatorShown(true);
    m_megabytesSpin->setSuffix(tr(" MB/h"));
    m_megabytesSpin->setValue(guardrails.max_bytes_per_hour / kBytesPerMegabyte);
    m_megabytesSpin->setToolTip(tr("Data all moves started in the last hour may copy, operators' "
                                   "moves included (1 MB = 10^6 bytes)."));

    m_minGainSpin = new QDoubleSpinBox(m_guardrailsBox);
    m_minGainSpin->setObjectName(QStringLiteral("minGainSpin"));
    m_minGainSpin->setRange(0, 100);
    m_minGainSpin->setDecimals(1);
    m_minGainSpin->setSingleStep(0.5);
    m_minGainSpin->setSuffix(tr(" %"));
    m_minGainSpin->setValue(guardrails.min_gain * 100);
    m_minGainSpin->setToolTip(tr("Smallest expected gain worth a move: by how many percentage "
                                 "points it lowers the source host's projected peak."));

    const DailyWindow quiet = guardrails.quiet_hours.value_or(kDefaultQuietHours);
    m_quietCheck = new QCheckBox(tr("&Quiet hours from"), m_guardrailsBox);
    m_quietCheck->setObjectName(QStringLiteral("quietHoursCheck"));
    m_quietCheck->setChecked(guardrails.quiet_hours.has_value());
    m_quietCheck->setToolTip(tr("A daily window in which nothing starts automatically (moves "
                                "already running go on)."));
    m_quietStartEdit = makeTimeEdit(m_guardrailsBox, QStringLiteral("quietStartEdit"),
                                    quiet.start_minute, tr("Start of quiet hours, UTC."));
    m_quietEndEdit = makeTimeEdit(m_guardrailsBox, QStringLiteral("quietEndEdit"), quiet.end_minute,
                                  tr("End of quiet hours, UTC; before the start means the "
                                     "window runs past midnight."));
    auto* quietRow = new QHBoxLayout;
    quietRow->addWidget(m_quietCheck);
    quietRow->addWidget(m_quietStartEdit);
    quietRow->addWidget(new QLabel(tr("to"), m_guardrailsBox));
    quietRow->addWidget(m_quietEndEdit);
    quietRow->addWidget(new QLabel(tr("UTC"), m_guardrailsBox));
    quietRow->addStretch(1);

    for (QWidget* field :
         std::initializer_list<QWidget*>{m_maxMovesSpin, m_megabytesSpin, m_minGainSpin}) {
        field->setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Fixed);
        field->setMinimumWidth(std::max(150, field->sizeHint().width()));
    }
    auto* form = new QFormLayout(m_guardrailsBox);
    form->addRow(tr("Max &concurrent moves:"), m_maxMovesSpin);
    form->addRow(tr("Max data moved per &hour:"), m_megabytesSpin);
    form->addRow(tr("Minimum &gain:"), m_minGainSpin);
    form->addRow(quietRow);

    m_errorLabel = newErrorLabel(this);

    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_enabledCheck);
    layout->addWidget(explanation);
    layout->addWidget(m_guardrailsBox);
    layout->addWidget(m_errorLabel);
    layout->addStretch(1);
    layout->addWidget(m_buttons);

    // Connected after the values are set, so only edits replace the exact figures.
    connect(m_megabytesSpin, &QDoubleSpinBox::valueChanged, this,
            [this](double megabytes) { m_bytesPerHour = megabytes * kBytesPerMegabyte; });
    connect(m_minGainSpin, &QDoubleSpinBox::valueChanged, this,
            [this](double percent) { m_minGain = percent / 100; });
    connect(m_enabledCheck, &QCheckBox::toggled, this, &AutoApplyDialog::updateState);
    connect(m_quietCheck, &QCheckBox::toggled, this, &AutoApplyDialog::updateState);
    connect(m_quietStartEdit, &QTimeEdit::timeChanged, this, &AutoApplyDialog::updateState);
    connect(m_quietEndEdit, &QTimeEdit::timeChanged, this, &AutoApplyDialog::updateState);

    setTabOrder(m_enabledCheck, m_maxMovesSpin);
    setTabOrder(m_maxMovesSpin, m_megabytesSpin);
    setTabOrder(m_megabytesSpin, m_minGainSpin);
    setTabOrder(m_minGainSpin, m_quietCheck);
    setTabOrder(m_quietCheck, m_quietStartEdit);
    setTabOrder(m_quietStartEdit, m_quietEndEdit);
    setTabOrder(m_quietEndEdit, m_buttons);
    updateState();
    setMinimumWidth(480);
}

AutoApplyGuardrails AutoApplyDialog::guardrails() const {
    AutoApplyGuardrails guardrails;
    guardrails.enabled = m_enabledCheck->isChecked();
    guardrails.max_concurrent_moves = static_cast<std::size_t>(m_maxMovesSpin->value());
    guardrails.max_bytes_per_hour = m_bytesPerHour;
    guardrails.min_gain = m_minGain;
    const DailyWindow quiet{minuteOfTime(m_quietStartEdit->time()),
                            minuteOfTime(m_quietEndEdit->time())};
    if (m_quietCheck->isChecked() && !quiet.empty())
        guardrails.quiet_hours = quiet;
    // What came in unusable (a zero byte limit, say) leaves as the default, so validate() passes.
    if (!(guardrails.max_bytes_per_hour > 0) || !std::isfinite(guardrails.max_bytes_per_hour))
        guardrails.max_bytes_per_hour = AutoApplyGuardrails{}.max_bytes_per_hour;
    if (!(guardrails.min_gain >= 0 && guardrails.min_gain <= 1))
        guardrails.min_gain = AutoApplyGuardrails{}.min_gain;
    return guardrails;
}

void AutoApplyDialog::updateState() {
    const bool enabled = m_enabledCheck->isChecked();
    m_guardrailsBox->setEnabled(enabled);
    const bool quiet = m_quietCheck->isChecked();
    m_quietStartEdit->setEnabled(quiet);
    m_quietEndEdit->setEnabled(quiet);
    m_problem.clear();
    if (enabled && quiet && m_quietStartEdit->time() == m_quietEndEdit->time())
        m_problem = tr("Quiet hours start and end at the same minute: choose a window, or turn "
                       "quiet hours off.");
    m_errorLabel->setText(m_problem);
    m_errorLabel->setVisible(!m_problem.isEmpty());
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(m_problem.isEmpty());
}

} // namespace rangepilot
