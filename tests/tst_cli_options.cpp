// CommandLine, the parser shared by rangepilot-plan, rangepilot-load and rangepilot-node: how
// arguments are split into options, flags and positionals, the errors that name the option, the
// opt-in refusal of repeated options, comma-separated lists, and the layout of --help.

#include "cli_options.h"

#include <QtTest>

#include <string>
#include <vector>

using rangepilot::CommandLine;

namespace {

std::vector<std::string> toArguments(const QStringList& list) {
    std::vector<std::string> arguments;
    for (const QString& item : list)
        arguments.push_back(item.toStdString());
    return arguments;
}

CommandLine sample() {
    CommandLine commandLine("tool [options] FILE", "Does a thing.");
    commandLine.addOption("--count", "N", "how many");
    commandLine.addOption("--hosts", "H,...", "hosts");
    commandLine.addFlag("--quiet", "say less");
    return commandLine;
}

QString joined(const std::vector<std::string>& items) {
    QStringList list;
    for (const std::string& item : items)
        list << QString::fromStdString(item);
    return list.join(QLatin1Char('|'));
}

} // namespace

class TestCliOptions : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void parses_data();
    void parses();
    void errors_data();
    void errors();
    void repeatedOptions();
    void list_data();
    void list();
    void helpColumn();
};

void TestCliOptions::parses_data() {
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("count"); // "-" when absent
    QTest::addColumn<bool>("quiet");
    QTest::addColumn<QString>("positionals"); // joined with '|'
    QTest::addColumn<bool>("help");

    QTest::newRow("nothing") << QStringList{} << QStringLiteral("-") << false << QString() << false;
    QTest::newRow("separate value") << QStringList{QStringLiteral("--count"), QStringLiteral("3")}
                                    << QStringLiteral("3") << false << QString() << false;
    QTest::newRow("value after =") << QStringList{QStringLiteral("--count=4")}
                                   << QStringLiteral("4") << false << QString() << false;
    QTest::newRow("empty value after =")
        << QStringList{QStringLiteral("--count=")} << QString() << false << QString() << false;
    QTest::newRow("value starting with a dash")
        << QStringList{QStringLiteral("--count"), QStringLiteral("-5")} << QStringLiteral("-5")
        << false << QString() << false;
    QTest::newRow("value that looks like an option")
        << QStringList{QStringLiteral("--count"), QStringLiteral("--quiet")}
        << QStringLiteral("--quiet") << false << QString() << false;
    QTest::newRow("flag and positionals")
        << QStringList{QStringLiteral("a.csv"), QStringLiteral("--quiet"), QStringLiteral("-"),
                       QStringLiteral("-x")}
        << QStringLiteral("-") << true << QStringLiteral("a.csv|-|-x") << false;
    QTest::newRow("last value wins by default")
        << QStringList{QStringLiteral("--count=1"), QStringLiteral("--count=2")}
        << QStringLiteral("2") << false << QString() << false;
    QTest::newRow("help") << QStringList{QStringLiteral("--help")} << QStringLiteral("-") << false
                          << QString() << true;
    QTest::newRow("short help") << QStringList{QStringLiteral("-h"), QStringLiteral("--quiet")}
                                << QStringLiteral("-") << true << QString() << true;
}

void TestCliOptions::parses() {
    QFETCH(QStringList, arguments);
    QFETCH(QString, count);
    QFETCH(bool, quiet);
    QFETCH(QString, positionals);
    QFETCH(bool, help);
    CommandLine commandLine = sample();
    const rangepilot::Status parsed = commandLine.parse(toArguments(arguments));
    QVERIFY2(parsed.ok(), parsed.message().c_str());
    const auto value = commandLine.value("--count");
    QCOMPARE(value ? QString::fromStdString(*value) : QStringLiteral("-"), count);
    QCOMPARE(commandLine.has("--quiet"), quiet);
    QCOMPARE(joined(commandLine.positionals()), positionals);
    QCOMPARE(commandLine.helpRequested(), help);
}

void TestCliOptions::errors_data() {
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("message");
    QTest::newRow("unknown option") << QStringList{QStringLiteral("--frob")}
                                    << QStringLiteral("unknown option '--frob' (see --help)");
    QTest::newRow("unknown option with value")
        << QStringList{QStringLiteral("--frob=1")}
        << QStringLiteral("unknown option '--frob' (see --help)");
    QTest::newRow("missing value")
        << QStringList{QStringLiteral("--count")} << QStringLiteral("--count: needs a value (N)");
    QTest::newRow("flag with value")
        << QStringList{QStringLiteral("--quiet=yes")} << QStringLiteral("--quiet: takes no value");
}

void TestCliOptions::errors() {
    QFETCH(QStringList, arguments);
    QFETCH(QString, message);
    CommandLine commandLine = sample();
    const rangepilot::Status parsed = commandLine.parse(toArguments(arguments));
    QVERIFY(!parsed.ok());
    QCOMPARE(QString::fromStdString(parsed.message()), message);
}

void TestCliOptions::repeatedOptions() {
    CommandLine options = sample();
    options.rejectRepeatedOptions();
    rangepilot::Status parsed = options.parse({"--count", "1", "--quiet", "--count=1"});
    QVERIFY(!parsed.ok());
    QCOMPARE(QString::fromStdString(parsed.message()), QStringLiteral("--count: given twice"));

    CommandLine flags = sample();
    flags.rejectRepeatedOptions();
    parsed = flags.parse({"--quiet", "--count", "1", "--quiet"});
    QVERIFY(!parsed.ok());
    QCOMPARE(QString::fromStdString(parsed.message()), QStringLiteral("--quiet: given twice"));

    // Different options, and --help twice, are still fine.
    CommandLine distinct = sample();
    distinct.rejectRepeatedOptions();
    parsed = distinct.parse({"--count", "1", "--quiet", "--hosts", "a", "--help", "-h"});
    QVERIFY2(parsed.ok(), parsed.message().c_str());
    QVERIFY(distinct.helpRequested());
}

void TestCliOptions::list_data() {
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("items"); // joined with '|'
    QTest::addColumn<int>("count");
    QTest::newRow("absent") << QStringList{} << QString() << 0;
    QTest::newRow("one") << QStringList{QStringLiteral("--hosts=a")} << QStringLiteral("a") << 1;
    QTest::newRow("in order") << QStringList{QStringLiteral("--hosts"), QStringLiteral("c,a,b")}
                              << QStringLiteral("c|a|b") << 3;
    QTest::newRow("empty value") << QStringList{QStringLiteral("--hosts=")} << QString() << 1;
    QTest::newRow("empty items kept")
        << QStringList{QStringLiteral("--hosts=,a,,b,")} << QStringLiteral("|a||b|") << 5;
}

void TestCliOptions::list() {
    QFETCH(QStringList, arguments);
    QFETCH(QString, items);
    QFETCH(int, count);
    CommandLine commandLine = sample();
    const rangepilot::Status parsed = commandLine.parse(toArguments(arguments));
    QVERIFY2(parsed.ok(), parsed.message().c_str());
    const std::vector<std::string> list = commandLine.list("--hosts");
    QCOMPARE(int(list.size()), count);
    QCOMPARE(joined(list), items);
}

void TestCliOptions::helpColumn() {
    // Short options: the help starts at column 28, --help included.
    const QString shortHelp = QString::fromStdString(sample().helpText());
    QVERIFY2(shortHelp.startsWith(QStringLiteral("Usage: tool [options] FILE\n\nDoes a thing.\n\n"
                                                 "Options:\n")),
             qPrintable(shortHelp));
    QVERIFY2(shortHelp.contains(QStringLiteral("\n  --count N") + QString(17, QLatin1Char(' ')) +
                                QStringLiteral("how many\n")),
             qPrintable(shortHelp));
    QVERIFY2(shortHelp.contains(QStringLiteral("\n  --help") + QString(20, QLatin1Char(' ')) +
                                QStringLiteral("show this help\n")),
             qPrintable(shortHelp));

    // A longer option moves the column to two spaces past it; one too long for any column gets
    // its help on the next line instead of pushing every other line to the right.
    CommandLine commandLine = sample();
    commandLine.addOption("--capacity-disk-bps", "BYTES", "disk speed"); // 27 characters
    commandLine.addOption("--an-option-name-far-too-long-to-align", "X", "long");
    const QString help = QString::fromStdString(commandLine.helpText());
    QVERIFY2(help.contains(QStringLiteral("\n  --count N") + QString(18, QLatin1Char(' ')) +
                           QStringLiteral("how many\n")),
             qPrintable(help));
    QVERIFY2(help.contains(QStringLiteral("\n  --capacity-disk-bps BYTES  disk speed\n")),
             qPrintable(help));
    QVERIFY2(help.contains(QStringLiteral("\n  --an-option-name-far-too-long-to-align X\n") +
                           QString(29, QLatin1Char(' ')) + QStringLiteral("long\n")),
             qPrintable(help));
}

QTEST_APPLESS_MAIN(TestCliOptions)
#include "tst_cli_options.moc"
