#include "models/audit_log_model.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QtTest>

#include <vector>

using namespace rangepilot;

namespace {

using Model = AuditLogModel;
using Tester = QAbstractItemModelTester;

constexpr auto kFailMode = QAbstractItemModelTester::FailureReportingMode::QtTest;
constexpr TimeMs kAt = 1767640800000 + 42'123; // 2026-01-05 19:20:42.123 UTC

AuditEntry approval() {
    return {kAt, QStringLiteral("alice"), QStringLiteral("approved move of shard 17 from h1 to h3"),
            QStringLiteral("h1 projected at 112% by 19:20"), false};
}

AuditEntry numbered(int i) {
    return {kAt + i * kMsPerMinute, QStringLiteral("auto-apply"),
            QStringLiteral("started move %1").arg(i), QStringLiteral("policy: overload"), true};
}

QString text(const QAbstractItemModel& model, int row, int column, int role = Qt::DisplayRole) {
    return model.index(row, column).data(role).toString();
}

} // namespace

class AuditLogModelTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void showsWhoWhenWhatWhy_data();
    void showsWhoWhenWhatWhy();
    void appendsAtTheEnd();
    void appendsBatchWithOneSignal();
    void dropsOldestBeyondMaximum();
    void setEntriesShrinksAndGrows();
    void sortsByTimeNotText();
    void headersNameTheColumns();
};

void AuditLogModelTest::showsWhoWhenWhatWhy_data() {
    QTest::addColumn<int>("column");
    QTest::addColumn<int>("role");
    QTest::addColumn<QString>("expected");
    const int show = Qt::DisplayRole;
    const int tip = Qt::ToolTipRole;
    QTest::newRow("when") << int(Model::WhenColumn) << show << QStringLiteral("2026-01-05 19:20");
    QTest::newRow("when, exactly")
        << int(Model::WhenColumn) << tip << QStringLiteral("2026-01-05T19:20:42.123Z");
    QTest::newRow("who") << int(Model::WhoColumn) << show << QStringLiteral("alice");
    QTest::newRow("who is a person")
        << int(Model::WhoColumn) << tip << QStringLiteral("operator action");
    QTest::newRow("what") << int(Model::WhatColumn) << show
                          << QStringLiteral("approved move of shard 17 from h1 to h3");
    QTest::newRow("why") << int(Model::WhyColumn) << show
                         << QStringLiteral("h1 projected at 112% by 19:20");
}

void AuditLogModelTest::showsWhoWhenWhatWhy() {
    QFETCH(int, column);
    QFETCH(int, role);
    QFETCH(QString, expected);
    Model model;
    Tester tester(&model, kFailMode);
    model.append(approval());
    QCOMPARE(text(model, 0, column, role), expected);
    QCOMPARE(model.index(0, column).data(Model::AutomaticRole).toBool(), false);
}

void AuditLogModelTest::appendsAtTheEnd() {
    Model model;
    Tester tester(&model, kFailMode);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    model.append(approval());
    model.append(numbered(1));
    QCOMPARE(inserted.count(), 2);
    QCOMPARE(inserted.at(1).at(1).toInt(), 1);
    QCOMPARE(inserted.at(1).at(2).toInt(), 1);
    QCOMPARE(reset.count(), 0);
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(text(model, 1, Model::WhatColumn), QStringLiteral("started move 1"));
    QCOMPARE(text(model, 1, Model::WhoColumn, Qt::ToolTipRole), QStringLiteral("automatic action"));
    QVERIFY(model.index(1, Model::WhyColumn).data(Model::AutomaticRole).toBool());
    QCOMPARE(model.entryAt(0), approval());
}

void AuditLogModelTest::appendsBatchWithOneSignal() {
    Model model;
    Tester tester(&model, kFailMode);
    model.append(approval());
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    model.append(std::vector<AuditEntry>{numbered(1), numbered(2), numbered(3)});
    QCOMPARE(inserted.count(), 1);
    QCOMPARE(inserted.at(0).at(1).toInt(), 1);
    QCOMPARE(inserted.at(0).at(2).toInt(), 3);
    model.append(std::vector<AuditEntry>{});
    QCOMPARE(inserted.count(), 1);
    QCOMPARE(text(model, 3, Model::WhenColumn), QStringLiteral("2026-01-05 19:23"));
}

void AuditLogModelTest::dropsOldestBeyondMaximum() {
    Model model;
    Tester tester(&model, kFailMode);
    QCOMPARE(model.maximumRows(), Model::kDefaultMaximumRows);
    model.setMaximumRows(3);
    for (int i = 0; i < 3; ++i)
        model.append(numbered(i));
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    model.append(numbered(3));
    QCOMPARE(removed.count(), 1);
    QCOMPARE(removed.at(0).at(1).toInt(), 0);
    QCOMPARE(removed.at(0).at(2).toInt(), 0);
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(text(model, 0, Model::WhatColumn), QStringLiteral("started move 1"));
    QCOMPARE(text(model, 2, Model::WhatColumn), QStringLiteral("started move 3"));

    model.setMaximumRows(1);
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(text(model, 0, Model::WhatColumn), QStringLiteral("started move 3"));
    model.setMaximumRows(0); // at least one row stays
    QCOMPARE(model.maximumRows(), 1);
}

void AuditLogModelTest::setEntriesShrinksAndGrows() {
    Model model;
    Tester tester(&model, kFailMode);
    std::vector<AuditEntry> five;
    for (int i = 0; i < 5; ++i)
        five.push_back(numbered(i));
    model.setEntries(five);
    QCOMPARE(model.rowCount(), 5);
    model.setEntries({approval()});
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(text(model, 0, Model::WhoColumn), QStringLiteral("alice"));
    model.setMaximumRows(2);
    model.setEntries(five); // keeps the newest
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(text(model, 0, Model::WhatColumn), QStringLiteral("started move 3"));
    model.setEntries({});
    QCOMPARE(model.rowCount(), 0);
}

void AuditLogModelTest::sortsByTimeNotText() {
    Model model;
    Tester tester(&model, kFailMode);
    AuditEntry early = approval();
    early.at_ms = 9 * kMsPerSecond;
    AuditEntry late = approval();
    late.at_ms = 10 * kMsPerSecond;
    model.append(std::vector<AuditEntry>{early, late});
    const QVariant first = model.index(0, Model::WhenColumn).data(Model::SortRole);
    const QVariant second = model.index(1, Model::WhenColumn).data(Model::SortRole);
    QCOMPARE(first.typeId(), QMetaType::fromType<qlonglong>().id());
    QCOMPARE(first.toLongLong(), 9000LL);
    QVERIFY(first.toLongLong() < second.toLongLong());
}

void AuditLogModelTest::headersNameTheColumns() {
    Model model;
    QCOMPARE(model.headerData(Model::WhenColumn, Qt::Horizontal).toString(),
             QStringLiteral("When (UTC)"));
    QCOMPARE(model.headerData(Model::WhoColumn, Qt::Horizontal).toString(), QStringLiteral("Who"));
    QCOMPARE(model.headerData(Model::WhatColumn, Qt::Horizontal).toString(),
             QStringLiteral("What"));
    QCOMPARE(model.headerData(Model::WhyColumn, Qt::Horizontal).toString(), QStringLiteral("Why"));
}

QTEST_APPLESS_MAIN(AuditLogModelTest)
#include "tst_audit_log_model.moc"
