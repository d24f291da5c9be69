// rangepilot-node's command line: every flag reaches NodeOptions, and every mistake is refused
// with a message that names the flag (the exact texts are part of the interface operators see).

#include "node_options.h"

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <string>
#include <vector>

using rangepilot::node::NodeOptions;
using rangepilot::node::parseNodeOptions;
using rangepilot::node::PeerAddress;

namespace {

std::vector<std::string> toArguments(const QStringList& list) {
    std::vector<std::string> arguments;
    for (const QString& item : list)
        arguments.push_back(item.toStdString());
    return arguments;
}

// The minimal valid command line plus `extra`.
QStringList withRequired(const QStringList& extra) {
    return QStringList{QStringLiteral("--name"), QStringLiteral("a"), QStringLiteral("--data-dir"),
                       QStringLiteral("/d")} +
           extra;
}

QString peersText(const std::vector<PeerAddress>& peers) {
    QStringList items;
    for (const PeerAddress& peer : peers)
        items << QString::fromStdString(peer.id + "=" + peer.address);
    return items.join(QLatin1Char(','));
}

QString writeFile(const QTemporaryDir& dir, const QString& name, const QByteArray& contents) {
    const QString path = dir.filePath(name);
    std::ofstream out(path.toStdString(), std::ios::binary);
    out.write(contents.constData(), contents.size());
    return path;
}

} // namespace

class TestNodeOptions : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void defaults();
    void everyFlag_data();
    void everyFlag();
    void errors_data();
    void errors();
    void tokenFile();
    void tokenFileErrors();
    void helpAndVersion();
    void splitHostPort_data();
    void splitHostPort();
};

void TestNodeOptions::defaults() {
    const rangepilot::Result<NodeOptions> parsed = parseNodeOptions(toArguments(withRequired({})));
    QVERIFY2(parsed.ok(), parsed.ok() ? "" : parsed.error().message.c_str());
    QCOMPARE(parsed->name, std::string("a"));
    QCOMPARE(parsed->data_dir, std::string("/d"));
    QCOMPARE(parsed->listen, std::string("127.0.0.1:7400"));
    QVERIFY(parsed->peers.empty());
    QVERIFY(parsed->token.empty());
    QVERIFY(!parsed->tls());
    QVERIFY(parsed->tls_ca_file.empty());
    QVERIFY(!parsed->sync_writes);
    QCOMPARE(parsed->capacity_ops, std::uint64_t{20000});
    QCOMPARE(parsed->capacity_disk_bps, 0.0);
    QCOMPARE(parsed->capacity_net_bps, 0.0);
    QVERIFY(!parsed->help);
    QVERIFY(!parsed->version);
}

void TestNodeOptions::everyFlag_data() {
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("field"); // which NodeOptions field the row checks
    QTest::addColumn<QString>("expected");

    auto row = [](const char* name, const QStringList& extra, const char* field,
                  const char* expected) {
        QTest::newRow(name) << withRequired(extra) << QString(QLatin1String(field))
                            << QString(QLatin1String(expected));
    };
    row("name", {}, "name", "a");
    row("listen", {QStringLiteral("--listen"), QStringLiteral("0.0.0.0:0")}, "listen", "0.0.0.0:0");
    row("listen with =", {QStringLiteral("--listen=localhost:9000")}, "listen", "localhost:9000");
    row("listen ipv6", {QStringLiteral("--listen"), QStringLiteral("[::1]:7401")}, "listen",
        "[::1]:7401");
    row("data dir", {}, "data_dir", "/d");
    row("one peer", {QStringLiteral("--peers"), QStringLiteral("b=127.0.0.1:7401")}, "peers",
        "b=127.0.0.1:7401");
    row("peers in order", {QStringLiteral("--peers"), QStringLiteral("c=h3:3,b=h2:2,d=[::1]:4")},
        "peers", "c=h3:3,b=h2:2,d=[::1]:4");
    row("token", {QStringLiteral("--token"), QStringLiteral("s3cr3t-token")}, "token",
        "s3cr3t-token");
    row("tls cert and key",
        {QStringLiteral("--tls-cert"), QStringLiteral("c.pem"), QStringLiteral("--tls-key"),
         QStringLiteral("k.pem")},
        "tls", "c.pem|k.pem");
    row("tls ca", {QStringLiteral("--tls-ca"), QStringLiteral("ca.pem")}, "tls_ca", "ca.pem");
    row("sync writes", {QStringLiteral("--sync-writes")}, "sync_writes", "true");
    row("capacity ops", {QStringLiteral("--capacity-ops"), QStringLiteral("123456")},
        "capacity_ops", "123456");
    row("capacity disk", {QStringLiteral("--capacity-disk-bps"), QStringLiteral("2.5e8")},
        "capacity_disk", "250000000");
    row("capacity net", {QStringLiteral("--capacity-net-bps=1000")}, "capacity_net", "1000");
    row("capacity disk zero", {QStringLiteral("--capacity-disk-bps"), QStringLiteral("0")},
        "capacity_disk", "0");
}

void TestNodeOptions::everyFlag() {
    QFETCH(QStringList, arguments);
    QFETCH(QString, field);
    QFETCH(QString, expected);
    const rangepilot::Result<NodeOptions> parsed = parseNodeOptions(toArguments(arguments));
    QVERIFY2(parsed.ok(), parsed.ok() ? "" : parsed.error().message.c_str());
    const NodeOptions& options = parsed.value();
    QString actual;
    if (field == QLatin1String("name"))
        actual = QString::fromStdString(options.name);
    else if (field == QLatin1String("listen"))
        actual = QString::fromStdString(options.listen);
    else if (field == QLatin1String("data_dir"))
        actual = QString::fromStdString(options.data_dir);
    else if (field == QLatin1String("peers"))
        actual = peersText(options.peers);
    else if (field == QLatin1String("token"))
        actual = QString::fromStdString(options.token);
    else if (field == QLatin1String("tls"))
        actual = QString::fromStdString(options.tls_cert_file + "|" + options.tls_key_file);
    else if (field == QLatin1String("tls_ca"))
        actual = QString::fromStdString(options.tls_ca_file);
    else if (field == QLatin1String("sync_writes"))
        actual = options.sync_writes ? QStringLiteral("true") : QStringLiteral("false");
    else if (field == QLatin1String("capacity_ops"))
        actual = QString::number(options.capacity_ops);
    else if (field == QLatin1String("capacity_disk"))
        actual = QString::number(options.capacity_disk_bps, 'f', 0);
    else if (field == QLatin1String("capacity_net"))
        actual = QString::number(options.capacity_net_bps, 'f', 0);
    else
        QFAIL("unknown field in the test table");
    QCOMPARE(actual, expected);
    if (field == QLatin1String("tls"))
        QVERIFY(options.tls());
}

void TestNodeOptions::errors_data() {
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("message");

    auto row = [](const char* name, const QStringList& arguments, const char* message) {
        QTest::newRow(name) << arguments << QString(QLatin1String(message));
    };
    auto rowWithRequired = [](const char* name, const QStringList& extra, const char* message) {
        QTest::newRow(name) << withRequired(extra) << QString(QLatin1String(message));
    };
    const QString name = QStringLiteral("--name");
    const QString dataDir = QStringLiteral("--data-dir");

    row("nothing", {}, "--name: required (this node's id in ownership tables)");
    row("no data dir", {name, QStringLiteral("a")},
        "--data-dir: required (where the node keeps its database)");
    row("no name", {dataDir, QStringLiteral("/d")},
        "--name: required (this node's id in ownership tables)");
    row("flag without value", {name}, "--name: needs a value (ID)");
    row("unknown flag", {QStringLiteral("--bogus")}, "unknown option '--bogus' (see --help)");
    row("unknown flag with value", {QStringLiteral("--bogus=1")},
        "unknown option '--bogus' (see --help)");
    row("positional", {QStringLiteral("stray")}, "unexpected argument 'stray' (see --help)");
    row("single dash", {QStringLiteral("-n")}, "unexpected argument '-n' (see --help)");
    rowWithRequired("repeated flag", {name, QStringLiteral("b")}, "--name: given twice");
    rowWithRequired("repeated switch",
                    {QStringLiteral("--sync-writes"), QStringLiteral("--sync-writes")},
                    "--sync-writes: given twice");
    row("help with a stray argument", {QStringLiteral("--help"), QStringLiteral("stray")},
        "unexpected argument 'stray' (see --help)");
    rowWithRequired("switch with value", {QStringLiteral("--sync-writes=1")},
                    "--sync-writes: takes no value");
    row("name with space", {name, QStringLiteral("a b"), dataDir, QStringLiteral("/d")},
        "--name: node id 'a b' must be printable ASCII without spaces, ',' or '='");
    row("name with comma", {name, QStringLiteral("a,b"), dataDir, QStringLiteral("/d")},
        "--name: node id 'a,b' must be printable ASCII without spaces, ',' or '='");
    row("empty name", {QStringLiteral("--name="), dataDir, QStringLiteral("/d")},
        "--name: empty node id");
    row("empty data dir", {name, QStringLiteral("a"), QStringLiteral("--data-dir=")},
        "--data-dir: empty path");
    rowWithRequired("listen without port",
                    {QStringLiteral("--listen"), QStringLiteral("localhost")},
                    "--listen: 'localhost' is not HOST:PORT");
    rowWithRequired("listen port too large",
                    {QStringLiteral("--listen"), QStringLiteral("h:70000")},
                    "--listen: 'h:70000' is not HOST:PORT");
    rowWithRequired("listen port not a number", {QStringLiteral("--listen"), QStringLiteral("h:x")},
                    "--listen: 'h:x' is not HOST:PORT");
    rowWithRequired("listen without host", {QStringLiteral("--listen"), QStringLiteral(":7400")},
                    "--listen: ':7400' is not HOST:PORT");
    rowWithRequired("listen unbracketed ipv6",
                    {QStringLiteral("--listen"), QStringLiteral("::1:7400")},
                    "--listen: '::1:7400' is not HOST:PORT");
    rowWithRequired("peer without address", {QStringLiteral("--peers"), QStringLiteral("b")},
                    "--peers: 'b' is not ID=HOST:PORT");
    rowWithRequired("peer without id", {QStringLiteral("--peers"), QStringLiteral("=h:1")},
                    "--peers: '=h:1' is not ID=HOST:PORT");
    rowWithRequired("peer without port", {QStringLiteral("--peers"), QStringLiteral("b=h")},
                    "--peers: 'h' is not HOST:PORT");
    rowWithRequired("peer port zero", {QStringLiteral("--peers"), QStringLiteral("b=h:0")},
                    "--peers: 'h:0' needs a port other than 0");
    rowWithRequired("peer is self", {QStringLiteral("--peers"), QStringLiteral("a=h:1")},
                    "--peers: 'a' is this node's own --name");
    rowWithRequired("peer twice", {QStringLiteral("--peers"), QStringLiteral("b=h:1,b=h:2")},
                    "--peers: node 'b' listed twice");
    rowWithRequired("peers trailing comma", {QStringLiteral("--peers"), QStringLiteral("b=h:1,")},
                    "--peers: '' is not ID=HOST:PORT");
    rowWithRequired("peer id with space", {QStringLiteral("--peers"), QStringLiteral("b c=h:1")},
                    "--peers: node id 'b c' must be printable ASCII without spaces, ',' or '='");
    rowWithRequired("token and token file",
                    {QStringLiteral("--token"), QStringLiteral("x"), QStringLiteral("--token-file"),
                     QStringLiteral("/t")},
                    "--token and --token-file: give one, not both");
    rowWithRequired("empty token", {QStringLiteral("--token=")}, "--token: empty token");
    rowWithRequired("token with space", {QStringLiteral("--token"), QStringLiteral("a b")},
                    "--token: the token must be printable ASCII without spaces");
    rowWithRequired("token with non-ascii", {QStringLiteral("--token"), QStringLiteral("s\u00e9")},
                    "--token: the token must be printable ASCII without spaces");
    rowWithRequired("tls cert without key", {QStringLiteral("--tls-cert"), QStringLiteral("c")},
                    "--tls-cert and --tls-key: give both or neither");
    rowWithRequired("tls key without cert", {QStringLiteral("--tls-key"), QStringLiteral("k")},
                    "--tls-cert and --tls-key: give both or neither");
    rowWithRequired("empty tls ca", {QStringLiteral("--tls-ca=")}, "--tls-ca: empty path");
    rowWithRequired(
        "empty tls cert",
        {QStringLiteral("--tls-cert="), QStringLiteral("--tls-key"), QStringLiteral("k")},
        "--tls-cert: empty path");
    rowWithRequired("capacity ops zero", {QStringLiteral("--capacity-ops"), QStringLiteral("0")},
                    "--capacity-ops: '0' is not a positive integer");
    rowWithRequired("capacity ops negative",
                    {QStringLiteral("--capacity-ops"), QStringLiteral("-5")},
                    "--capacity-ops: '-5' is not a positive integer");
    rowWithRequired("capacity ops fraction",
                    {QStringLiteral("--capacity-ops"), QStringLiteral("1.5")},
                    "--capacity-ops: '1.5' is not a positive integer");
    rowWithRequired("capacity disk negative",
                    {QStringLiteral("--capacity-disk-bps"), QStringLiteral("-1")},
                    "--capacity-disk-bps: '-1' is not a number >= 0");
    rowWithRequired("capacity disk text",
                    {QStringLiteral("--capacity-disk-bps"), QStringLiteral("fast")},
                    "--capacity-disk-bps: 'fast' is not a number >= 0");
    rowWithRequired("capacity net trailing text",
                    {QStringLiteral("--capacity-net-bps"), QStringLiteral("10x")},
                    "--capacity-net-bps: '10x' is not a number >= 0");
    rowWithRequired("capacity net empty", {QStringLiteral("--capacity-net-bps=")},
                    "--capacity-net-bps: '' is not a number >= 0");
    rowWithRequired("capacity net infinite",
                    {QStringLiteral("--capacity-net-bps"), QStringLiteral("inf")},
                    "--capacity-net-bps: 'inf' is not a number >= 0");
}

void TestNodeOptions::errors() {
    QFETCH(QStringList, arguments);
    QFETCH(QString, message);
    const rangepilot::Result<NodeOptions> parsed = parseNodeOptions(toArguments(arguments));
    QVERIFY2(!parsed.ok(), "the command line was accepted");
    QCOMPARE(QString::fromStdString(parsed.error().message), message);
}

void TestNodeOptions::tokenFile() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = writeFile(dir, QStringLiteral("token"), "from-a-file\r\n");
    const rangepilot::Result<NodeOptions> parsed =
        parseNodeOptions(toArguments(withRequired({QStringLiteral("--token-file"), path})));
    QVERIFY2(parsed.ok(), parsed.ok() ? "" : parsed.error().message.c_str());
    QCOMPARE(parsed->token, std::string("from-a-file"));
}

void TestNodeOptions::tokenFileErrors() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString empty = writeFile(dir, QStringLiteral("empty"), "\n");
    const QString spaced = writeFile(dir, QStringLiteral("spaced"), "two words\n");
    const QString missing = dir.filePath(QStringLiteral("missing"));

    rangepilot::Result<NodeOptions> parsed =
        parseNodeOptions(toArguments(withRequired({QStringLiteral("--token-file"), empty})));
    QVERIFY(!parsed.ok());
    QCOMPARE(QString::fromStdString(parsed.error().message),
             QStringLiteral("--token-file: %1 holds no token").arg(empty));

    parsed = parseNodeOptions(toArguments(withRequired({QStringLiteral("--token-file"), spaced})));
    QVERIFY(!parsed.ok());
    QCOMPARE(QString::fromStdString(parsed.error().message),
             QStringLiteral("--token-file: the token must be printable ASCII without spaces"));

    parsed = parseNodeOptions(toArguments(withRequired({QStringLiteral("--token-file"), missing})));
    QVERIFY(!parsed.ok());
    const QString message = QString::fromStdString(parsed.error().message);
    QVERIFY2(message.startsWith(QStringLiteral("--token-file: %1: cannot open").arg(missing)),
             qPrintable(message));
}

void TestNodeOptions::helpAndVersion() {
    // --help and --version need nothing else, but a bad flag beside them is still an error.
    rangepilot::Result<NodeOptions> parsed = parseNodeOptions({"--help"});
    QVERIFY(parsed.ok());
    QVERIFY(parsed->help);
    parsed = parseNodeOptions({"--version"});
    QVERIFY(parsed.ok());
    QVERIFY(parsed->version);
    parsed = parseNodeOptions({"--version", "--bogus"});
    QVERIFY(!parsed.ok());
    parsed = parseNodeOptions({"-h"});
    QVERIFY(parsed.ok());
    QVERIFY(parsed->help);

    const QString help = QString::fromStdString(rangepilot::node::nodeHelpText());
    for (const char* flag :
         {"--name ID", "--listen HOST:PORT", "--data-dir DIR", "--peers ID=HOST:PORT,...",
          "--token TOKEN", "--token-file FILE", "--tls-cert FILE", "--tls-key FILE",
          "--tls-ca FILE", "--sync-writes", "--capacity-ops N", "--capacity-disk-bps",
          "--capacity-net-bps", "--help", "--version"})
        QVERIFY2(help.contains(QLatin1String(flag)), flag);
    QVERIFY(QString::fromStdString(rangepilot::node::nodeVersionText())
                .startsWith(QLatin1String("rangepilot-node ")));
}

void TestNodeOptions::splitHostPort_data() {
    QTest::addColumn<QString>("address");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<QString>("host");
    QTest::addColumn<int>("port");
    QTest::newRow("ipv4") << QStringLiteral("127.0.0.1:7400") << true << QStringLiteral("127.0.0.1")
                          << 7400;
    QTest::newRow("name, port 0") << QStringLiteral("localhost:0") << true
                                  << QStringLiteral("localhost") << 0;
    QTest::newRow("ipv6") << QStringLiteral("[::1]:65535") << true << QStringLiteral("[::1]")
                          << 65535;
    QTest::newRow("empty brackets") << QStringLiteral("[]:1") << false << QString() << 0;
    QTest::newRow("no port") << QStringLiteral("host:") << false << QString() << 0;
    QTest::newRow("sign") << QStringLiteral("host:+1") << false << QString() << 0;
    QTest::newRow("too large") << QStringLiteral("host:65536") << false << QString() << 0;
}

void TestNodeOptions::splitHostPort() {
    QFETCH(QString, address);
    QFETCH(bool, valid);
    QFETCH(QString, host);
    QFETCH(int, port);
    std::string actualHost;
    std::uint16_t actualPort = 1;
    QCOMPARE(rangepilot::node::splitHostPort(address.toStdString(), actualHost, actualPort), valid);
    if (valid) {
        QCOMPARE(QString::fromStdString(actualHost), host);
        QCOMPARE(int(actualPort), port);
    }
}

QTEST_APPLESS_MAIN(TestNodeOptions)
#include "tst_node_options.moc"
