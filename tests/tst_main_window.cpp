// The console's window on the embedded simulated cluster, driven the way an operator drives it:
// rows selected with the mouse, notes typed, actions by shortcut and button. Each action must
// change the migration's state and leave its audit entry with the operator's note.

#include "console_session.h"
#include "console_settings.h"
#include "console_test_cluster.h"
#include "heatmap_view.h"
#include "main_window.h"
#include "migrations_panel.h"
#include "simulated_cluster_connector.h"
#include "trend_chart_view.h"

#include <QAction>
#include <QCategoryAxis>
#include <QComboBox>
#include <QDockWidget>
#include <QLabel>
#include <QLineEdit>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QToolButton>
#include <QValueAxis>
#include <QtTest>

using namespace rangepilot;

namespace {

class Console {
public:
    Console()
        : connector(testing::hotClusterOptions())
        , session(&connector)
        , window(&settings) {
        session.setOperatorName(QStringLiteral("bob"));
        window.setSession(&session, nullptr);
        window.show();
        connector.start();
    }

    bool runMinutes(int minutes) {
        for (int minute = 0; minute < minutes; ++minute) {
            if (!connector.advance(kMsPerMinute) ||
                !QTest::qWaitFor([this] { return session.pendingTasks() == 0; }, 10'000))
                return false;
        }
        window.refreshNow();
        return true;
    }

    bool runUntilProposal() {
        for (int minute = 0; minute < 600; ++minute) {
            if (proposalRow())
                return true;
            if (!runMinutes(1))
                return false;
        }
        return false;
    }

    std::optional<int> proposalRow() const { return firstRowIn(MigrationPhase::Proposed); }

    std::optional<int> firstRowIn(MigrationPhase phase) const {
        for (int row = 0; row < session.migrationsModel()->rowCount(); ++row) {
            if (session.migrationsModel()->entryAt(row).phase == phase)
                return row;
        }
        return std::nullopt;
    }

    // Clicks the row of the migrations table that shows source row `row`.
    void clickRow(int row) {
        QTableView* table = window.migrationsPanel()->table();
        auto* proxy = static_cast<QSortFilterProxyModel*>(table->model());
        const QModelIndex index = proxy->mapFromSource(
            session.migrationsModel()->index(row, MigrationsModel::ShardColumn));
        table->scrollTo(index);
        QTest::mouseClick(table->viewport(), Qt::LeftButton, {}, table->visualRect(index).center());
    }

    void typeNote(const QString& note) {
        QLineEdit* edit = window.migrationsPanel()->noteEdit();
        edit->clear();
        QTest::keyClicks(edit, note);
    }

    QToolButton* button(const char* name) const {
        return window.migrationsPanel()->findChild<QToolButton*>(QLatin1String(name));
    }

    const AuditEntry& lastAudit() const {
        return session.auditModel()->entryAt(session.auditModel()->rowCount() - 1);
    }

    const AuditEntry* auditWith(const QString& whatStart) const {
        for (int row = session.auditModel()->rowCount() - 1; row >= 0; --row) {
            if (session.auditModel()->entryAt(row).what.startsWith(whatStart))
                return &session.auditModel()->entryAt(row);
        }
        return nullptr;
    }

    SimulatedClusterConnector connector;
    ConsoleSession session;
    ConsoleSettings settings;
    MainWindow window;
};

} // namespace

class TestMainWindow : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void approveByShortcutWithANote();
    void rejectByButton();
    void scheduleByMenuAction();
    void abortByButtonRollsBack();
    void actionsFollowTheSelectedRow();
    void heatmapAndTablesShowTheSession();
    void trendOfAShardClickedBeforeItsLoadShowsOnceThere();
    void ownershipFilterByHost();
    void layoutIsSavedAndRestored();
};

void TestMainWindow::approveByShortcutWithANote() {
    Console console;
    QVERIFY(console.runUntilProposal());
    const int row = *console.proposalRow();
    const MigrationEntry proposal = console.session.migrationsModel()->entryAt(row);
    console.clickRow(row);
    console.typeNote(QStringLiteral("ahead of the evening peak"));
    QTableView* table = console.window.migrationsPanel()->table();
    table->setFocus();
    QTest::keyClick(table, Qt::Key_A);
    const std::optional<int> started = console.firstRowIn(MigrationPhase::Shadowing);
    QVERIFY(started);
    const MigrationEntry entry = console.session.migrationsModel()->entryAt(*started);
    QCOMPARE(entry.shard, proposal.shard);
    QVERIFY(entry.id.has_value());
    const AuditEntry* approved = console.auditWith(QStringLiteral("approved"));
    QVERIFY(approved);
    QCOMPARE(approved->who, QStringLiteral("bob"));
    QCOMPARE(approved->why, QStringLiteral("ahead of the evening peak"));
    QVERIFY(console.window.migrationsPanel()->noteEdit()->text().isEmpty()); // used up
}

void TestMainWindow::rejectByButton() {
    Console console;
    QVERIFY(console.runUntilProposal());
    const int row = *console.proposalRow();
    const MigrationEntry proposal = console.session.migrationsModel()->entryAt(row);
    console.clickRow(row);
    console.typeNote(QStringLiteral("host-3 is being drained"));
    QToolButton* reject = console.button("rejectButton");
    QVERIFY(reject);
    QVERIFY(reject->isEnabled());
    QTest::mouseClick(reject, Qt::LeftButton);
    QVERIFY(!console.session.migrationsModel()->rowOfProposal(proposal.proposalKey()));
    QVERIFY(console.lastAudit().what.startsWith(
        QStringLiteral("rejected move of shard %1").arg(proposal.shard)));
    QCOMPARE(console.lastAudit().why, QStringLiteral("host-3 is being drained"));
}

void TestMainWindow::scheduleByMenuAction() {
    Console console;
    QVERIFY(console.runUntilProposal());
    const int row = *console.proposalRow();
    const ProposalKey key = console.session.migrationsModel()->entryAt(row).proposalKey();
    const TimeMs at = console.session.clusterTime() + 4 * kMsPerMinute;
    console.window.migrationsPanel()->setScheduleAsker(
        [at](const MigrationEntry&) { return std::optional<TimeMs>(at); });
    console.clickRow(row);
    console.window.migrationsPanel()->scheduleAction()->trigger();
    std::optional<int> scheduled = console.session.migrationsModel()->rowOfProposal(key);
    QVERIFY(scheduled);
    QCOMPARE(console.session.migrationsModel()->entryAt(*scheduled).phase,
             MigrationPhase::Scheduled);
    QCOMPARE(*console.session.migrationsModel()->entryAt(*scheduled).scheduled_ms, at);
    QVERIFY(console.lastAudit().what.startsWith(QStringLiteral("scheduled")));
    QCOMPARE(console.lastAudit().who, QStringLiteral("bob"));
    // It starts by itself when cluster time gets there.
    QVERIFY(console.runMinutes(5));
    QVERIFY(console.auditWith(QStringLiteral("started")));
    QCOMPARE(console.auditWith(QStringLiteral("started"))->who, QStringLiteral("scheduler"));
}

void TestMainWindow::abortByButtonRollsBack() {
    Console console;
    QVERIFY(console.runUntilProposal());
    const int row = *console.proposalRow();
    const MigrationEntry proposal = console.session.migrationsModel()->entryAt(row);
    const HostId owner = console.connector.ownership().shardFor(proposal.range.start).owner;
    QVERIFY(console.session.approve(row));
    const MigrationId id = *console.session.migrationsModel()->entryAt(row).id;
    console.clickRow(*console.session.migrationsModel()->rowOf(id));
    QToolButton* abort = console.button("abortButton");
    QVERIFY(abort && abort->isEnabled());
    console.typeNote(QStringLiteral("wrong target"));
    QTest::mouseClick(abort, Qt::LeftButton);
    const AuditEntry* aborted = console.auditWith(QStringLiteral("aborted #"));
    QVERIFY(aborted);
    QCOMPARE(aborted->why, QStringLiteral("wrong target"));
    QVERIFY(console.runMinutes(2));
    const MigrationEntry& entry =
        console.session.migrationsModel()->entryAt(*console.session.migrationsModel()->rowOf(id));
    QCOMPARE(entry.phase, MigrationPhase::Aborted);
    QCOMPARE(console.connector.ownership().shardFor(proposal.range.start).owner, owner);
    QVERIFY(console.auditWith(QStringLiteral("rolled back #")));
}

void TestMainWindow::actionsFollowTheSelectedRow() {
    Console console;
    MigrationsPanel* panel = console.window.migrationsPanel();
    QVERIFY(!panel->approveAction()->isEnabled()); // nothing selected
    QVERIFY(console.runUntilProposal());
    const int row = *console.proposalRow();
    console.clickRow(row);
    QVERIFY(panel->approveAction()->isEnabled());
    QVERIFY(panel->rejectAction()->isEnabled());
    QVERIFY(!panel->pauseAction()->isEnabled());
    QVERIFY(!panel->abortAction()->isEnabled());
    QVERIFY(console.session.approve(row));
    const MigrationId id = *console.session.migrationsModel()->entryAt(row).id;
    console.clickRow(*console.session.migrationsModel()->rowOf(id));
    QVERIFY(!panel->approveAction()->isEnabled());
    QVERIFY(!panel->rejectAction()->isEnabled());
    QVERIFY(panel->pauseAction()->isEnabled());
    QVERIFY(panel->abortAction()->isEnabled());
    panel->pauseAction()->trigger();
    QVERIFY(console.runMinutes(1));
    console.clickRow(*console.session.migrationsModel()->rowOf(id));
    QVERIFY(panel->resumeAction()->isEnabled());
    QVERIFY(!panel->pauseAction()->isEnabled());
    QCOMPARE(panel->messageLabel()->text(), QStringLiteral("Done: pause."));
}

void TestMainWindow::heatmapAndTablesShowTheSession() {
    Console console;
    QVERIFY(console.runMinutes(15));
    const HeatmapGrid& shown = console.window.heatmapView()->grid();
    const HeatmapGrid& data = console.session.heatmap();
    QCOMPARE(shown.rows, data.rows);
    QCOMPARE(shown.columns, data.columns);
    QCOMPARE(shown.values, data.values);
    QCOMPARE(console.window.ownershipTable()->model()->rowCount(),
             int(console.connector.ownership().shardCount()));
    QCOMPARE(console.window.hostsTable()->model()->rowCount(), 4);
    QVERIFY(console.window.statusLabel()->text().contains(QStringLiteral("running")));
}

// Clicked before any load: labelled empty axes with a hint; a round later, the shard's history.
void TestMainWindow::trendOfAShardClickedBeforeItsLoadShowsOnceThere() {
    Console console;
    const ShardId shard = console.connector.ownership().shards().front().id;
    Q_EMIT console.window.heatmapView()->shardClicked(shard);
    TrendChartView* chart = console.window.trendChart();
    QTRY_VERIFY(chart->hintText().startsWith(QStringLiteral("No load recorded for shard")));
    QVERIFY(chart->isShowingHint());
    QCOMPARE(chart->valueAxis()->titleText(), QStringLiteral("ops/s"));
    QCOMPARE(chart->timeAxis()->titleText(), QStringLiteral("time (UTC)"));

    QVERIFY(console.runMinutes(1));
    QTRY_VERIFY(!chart->isShowingHint());
    QVERIFY(chart->series().has_value());
    QVERIFY(!chart->series()->history.empty());
    QVERIFY(chart->series()->title.startsWith(QStringLiteral("shard %1 ").arg(shard)));
}

void TestMainWindow::ownershipFilterByHost() {
    Console console;
    QVERIFY(console.runMinutes(3));
    auto* hosts = console.window.findChild<QComboBox*>(QStringLiteral("hostFilter"));
    QVERIFY(hosts);
    QCOMPARE(hosts->count(), 5); // all hosts, then each
    hosts->setCurrentIndex(2);
    const QString host = hosts->currentData().toString();
    QAbstractItemModel* model = console.window.ownershipTable()->model();
    QVERIFY(model->rowCount() > 0);
    QVERIFY(model->rowCount() < int(console.connector.ownership().shardCount()));
    for (int row = 0; row < model->rowCount(); ++row)
        QCOMPARE(model->index(row, OwnershipTableModel::OwnerColumn).data().toString(), host);
}

void TestMainWindow::layoutIsSavedAndRestored() {
    ConsoleSettings settings;
    {
        MainWindow window(&settings);
        window.show();
        auto* audit = window.findChild<QDockWidget*>(QStringLiteral("auditDock"));
        QVERIFY(audit);
        QVERIFY(audit->toggleViewAction()->isChecked());
        audit->close();
        window.close(); // saves the layout into the settings
    }
    QVERIFY(!settings.window_state.isEmpty());
    MainWindow again(&settings);
    again.restoreLayout();
    again.show();
    auto* audit = again.findChild<QDockWidget*>(QStringLiteral("auditDock"));
    QVERIFY(!audit->isVisible());
    auto* trend = again.findChild<QDockWidget*>(QStringLiteral("trendDock"));
    QVERIFY(trend->isVisible());
}

QTEST_MAIN(TestMainWindow)
#include "tst_main_window.moc"
