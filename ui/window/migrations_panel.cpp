#include "migrations_panel.h"

#include "schedule_dialog.h"
#include "table_style.h"

#include <QAction>
#include <QApplication>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QPainter>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QStyledItemDelegate>
#include <QTableView>
#include <QToolButton>
#include <QVBoxLayout>

namespace rangepilot {

namespace {

// Draws MigrationsModel::ProgressRole as a progress bar; plain text before the move starts.
class ProgressDelegate : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;

    void paint(QPainter* painter, const QStyleOptionViewItem& option,
               const QModelIndex& index) const override {
        const QVariant progress = index.data(MigrationsModel::ProgressRole);
        if (!progress.isValid()) {
            QStyledItemDelegate::paint(painter, option, index);
            return;
        }
        QStyleOptionProgressBar bar;
        bar.rect = option.rect.adjusted(2, 3, -2, -3);
        bar.minimum = 0;
        bar.maximum = 100;
        bar.progress = progress.toInt();
        bar.text = QStringLiteral("%1%").arg(bar.progress);
        bar.textVisible = true;
        bar.state = option.state | QStyle::State_Horizontal;
        const QWidget* widget = option.widget;
        QStyle* style = widget ? widget->style() : QApplication::style();
        style->drawControl(QStyle::CE_ProgressBar, &bar, painter, widget);
    }
};

bool isRunningPhase(MigrationPhase phase) {
    return phase >= MigrationPhase::Shadowing && !isTerminal(phase);
}

} // namespace

MigrationsPanel::MigrationsPanel(QWidget* parent)
    : QWidget(parent)
    , m_proxy(new QSortFilterProxyModel(this))
    , m_table(new QTableView(this))
    , m_note(new QLineEdit(this))
    , m_message(new QLabel(this))
    , m_autoApply(new QLabel(this)) {
    m_proxy->setSortRole(MigrationsModel::SortRole);
    m_table->setObjectName(QStringLiteral("migrationsTable"));
    m_table->setModel(m_proxy);
    styleTable(m_table);
    m_table->setItemDelegateForColumn(MigrationsModel::ProgressColumn, new ProgressDelegate(this));

    auto* actions = new QHBoxLayout;
    actions->setSpacing(4);
    m_approve = addAction(tr("Approve"), QStringLiteral("A"), tr("Start the selected move now (A)"),
                          &ConsoleSession::approve);
    m_reject = addAction(tr("Reject"), QStringLiteral("R"),
                         tr("Drop the proposal; it is not proposed again for an hour (R)"),
                         &ConsoleSession::reject);
    m_schedule = new QAction(tr("Schedule…"), this);
    m_schedule->setShortcut(QKeySequence(QStringLiteral("S")));
    m_schedule->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    m_schedule->setToolTip(tr("Start the move at a time or in the maintenance window (S)"));
    connect(m_schedule, &QAction::triggered, this, &MigrationsPanel::scheduleSelected);
    QWidget::addAction(m_schedule);
    m_pause = addAction(tr("Pause"), QStringLiteral("P"), tr("Pause the running move (P)"),
                        &ConsoleSession::pause);
    m_resume = addAction(tr("Resume"), QStringLiteral("U"), tr("Resume the paused move (U)"),
                         &ConsoleSession::resume);
    m_abort = addAction(tr("Abort"), QStringLiteral("X"),
                        tr("Stop the move and roll back: the source stays the owner (X); on a "
                           "scheduled move, cancel the schedule"),
                        &ConsoleSession::abort);
    for (QAction* action : {m_approve, m_reject, m_schedule, m_pause, m_resume, m_abort}) {
        auto* button = new QToolButton(this);
        button->setDefaultAction(action);
        button->setToolButtonStyle(Qt::ToolButtonTextOnly);
        button->setObjectName(action->text().remove(u'…').toLower() + QStringLiteral("Button"));
        actions->addWidget(button);
    }
    m_note->setObjectName(QStringLiteral("noteEdit"));
    m_note->setPlaceholderText(tr("Why (goes into the audit log with the action)"));
    m_note->setClearButtonEnabled(true);
    actions->addSpacing(8);
    actions->addWidget(m_note, 1);

    auto* status = new QHBoxLayout;
    m_autoApply->setObjectName(QStringLiteral("autoApplyLabel"));
    m_message->setObjectName(QStringLiteral("messageLabel"));
    m_message->setWordWrap(true);
    auto* guardrails = new QPushButton(tr("Auto-apply…"), this);
    guardrails->setToolTip(tr("Turn auto-apply on or off and set its guardrails"));
    connect(guardrails, &QPushButton::clicked, this, &MigrationsPanel::guardrailsRequested);
    status->addWidget(m_autoApply);
    status->addWidget(guardrails);
    status->addSpacing(12);
    status->addWidget(m_message, 1);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(actions);
    layout->addWidget(m_table, 1);
    layout->addLayout(status);
    m_askSchedule = [this](const MigrationEntry& entry) { return askScheduleWithDialog(entry); };
    updateActions();
}

QAction* MigrationsPanel::addAction(const QString& text, const QString& shortcut,
                                    const QString& toolTip,
                                    Status (ConsoleSession::*method)(int, const QString&)) {
    auto* action = new QAction(text, this);
    action->setShortcut(QKeySequence(shortcut));
    // Single-letter shortcuts only while the panel has focus: typing elsewhere stays typing.
    action->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    action->setToolTip(toolTip);
    const QString verb = text.toLower();
    connect(action, &QAction::triggered, this, [this, method, verb] { act(method, verb); });
    QWidget::addAction(action);
    return action;
}

void MigrationsPanel::setSession(ConsoleSession* session) {
    m_session = session;
    m_proxy->setSourceModel(session ? session->migrationsModel() : nullptr);
    if (!session)
        return;
    m_table->sortByColumn(MigrationsModel::IdColumn, Qt::DescendingOrder);
    fitColumns();
    connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &MigrationsPanel::updateActions);
    connect(session->migrationsModel(), &QAbstractItemModel::dataChanged, this,
            &MigrationsPanel::updateActions);
    connect(session->migrationsModel(), &QAbstractItemModel::rowsRemoved, this,
            &MigrationsPanel::updateActions);
    connect(session, &ConsoleSession::statusChanged, this, &MigrationsPanel::updateAutoApplyLine);
    updateActions();
    updateAutoApplyLine();
}

void MigrationsPanel::fitColumns() {
    rangepilot::fitColumns(m_table, 220);
    m_table->setColumnWidth(MigrationsModel::RangeColumn, 230);
    m_table->setColumnWidth(MigrationsModel::ReasonColumn, 460);
    m_table->setColumnWidth(MigrationsModel::ProgressColumn, 120);
}

std::optional<int> MigrationsPanel::selectedSourceRow() const {
    if (!m_table->selectionModel())
        return std::nullopt;
    const QModelIndexList rows = m_table->selectionModel()->selectedRows();
    if (rows.isEmpty())
        return std::nullopt;
    return m_proxy->mapToSource(rows.first()).row();
}

void MigrationsPanel::selectSourceRow(int row) {
    const QModelIndex index = m_proxy->mapFromSource(m_proxy->sourceModel()->index(row, 0));
    m_table->selectionModel()->select(index, QItemSelectionModel::ClearAndSelect |
                                                 QItemSelectionModel::Rows);
    m_table->scrollTo(index);
}

void MigrationsPanel::act(Status (ConsoleSession::*method)(int, const QString&),
                          const QString& verb) {
    const std::optional<int> row = selectedSourceRow();
    if (!m_session || !row)
        return;
    const Status status = (m_session->*method)(*row, m_note->text().trimmed());
    showOutcome(status, verb);
}

void MigrationsPanel::showOutcome(const Status& status, const QString& verb) {
    if (status) {
        m_note->clear();
        m_message->setStyleSheet(QString());
        m_message->setText(tr("Done: %1.").arg(verb));
    } else {
        m_message->setStyleSheet(QStringLiteral("color: #b00020;"));
        m_message->setText(
            tr("Could not %1: %2").arg(verb, QString::fromStdString(status.message())));
    }
    updateActions();
}

std::optional<TimeMs> MigrationsPanel::askScheduleWithDialog(const MigrationEntry& entry) {
    ScheduleDialog dialog(
        m_session->clusterTime(), m_session->maintenanceWindow(),
        tr("the move of shard %1 to %2").arg(entry.shard).arg(QString::fromStdString(entry.to)),
        this);
    if (dialog.exec() != QDialog::Accepted)
        return std::nullopt;
    return dialog.scheduledAt();
}

void MigrationsPanel::scheduleSelected() {
    const std::optional<int> row = selectedSourceRow();
    if (!m_session || !row)
        return;
    const MigrationEntry entry = m_session->migrationsModel()->entryAt(*row);
    const std::optional<TimeMs> at = m_askSchedule(entry);
    if (!at)
        return;
    // The dialog may have run a while: find the row again by its proposal.
    const std::optional<int> current =
        m_session->migrationsModel()->rowOfProposal(entry.proposalKey());
    if (!current) {
        showOutcome(Error{"the proposal was replaced by a newer plan meanwhile"}, tr("schedule"));
        return;
    }
    showOutcome(m_session->schedule(*current, *at, m_note->text().trimmed()), tr("schedule"));
}

void MigrationsPanel::updateActions() {
    const std::optional<int> row = selectedSourceRow();
    const bool valid = m_session && row && *row < m_session->migrationsModel()->rowCount();
    const MigrationPhase phase =
        valid ? m_session->migrationsModel()->entryAt(*row).phase : MigrationPhase::Done;
    const bool waiting =
        valid && (phase == MigrationPhase::Proposed || phase == MigrationPhase::Scheduled);
    m_approve->setEnabled(waiting);
    m_reject->setEnabled(waiting);
    m_schedule->setEnabled(waiting);
    m_pause->setEnabled(valid && isRunningPhase(phase) && phase != MigrationPhase::Paused);
    m_resume->setEnabled(valid && phase == MigrationPhase::Paused);
    m_abort->setEnabled(valid && (isRunningPhase(phase) || phase == MigrationPhase::Scheduled));
}

void MigrationsPanel::updateAutoApplyLine() {
    if (!m_session)
        return;
    const AutoApplyGuardrails& guardrails = m_session->guardrails();
    if (!guardrails.enabled) {
        m_autoApply->setText(tr("Auto-apply: off — every move waits for an operator."));
        return;
    }
    m_autoApply->setText(
        tr("Auto-apply: on — up to %1 moves at once, %2 per hour, gain ≥ %3%4.")
            .arg(guardrails.max_concurrent_moves)
            .arg(display::bytes(guardrails.max_bytes_per_hour),
                 display::percent(guardrails.min_gain),
                 guardrails.quiet_hours
                     ? tr(", quiet %1")
                           .arg(QString::fromStdString(formatDailyWindow(*guardrails.quiet_hours)))
                     : QString()));
}

} // namespace rangepilot
