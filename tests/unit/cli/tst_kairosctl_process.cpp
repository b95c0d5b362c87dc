// The kairosctl binary as a user runs it: `cron next` and `cron next --batch` work with no
// server and no connection settings at all, usage errors exit 2 naming the flag and showing the
// command's usage, missing credentials and an unreachable server say what to fix (exit 2 / 3).
#include <timing/cronnext.h>

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

namespace {

struct Outcome {
    int exitCode = -1;
    QString out;
    QString err;
};

QString binary()
{
    return QStringLiteral(KAIROS_BIN_DIR) + QStringLiteral("/kairosctl");
}

// An environment in which no connection could work: the server address is not even valid and
// there is no password. `cron next` must not care.
QProcessEnvironment unusableServerEnvironment()
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("KAIROS_SERVER"), QStringLiteral("no-such-address"));
    env.remove(QStringLiteral("KAIROS_PASSWORD_FILE"));
    env.remove(QStringLiteral("KAIROS_USER"));
    return env;
}

Outcome run(const QStringList &args, const QByteArray &input = {},
            const QProcessEnvironment &env = unusableServerEnvironment())
{
    QProcess p;
    p.setProcessEnvironment(env);
    p.start(binary(), args);
    if (!p.waitForStarted(10000))
        return {-100, {}, p.errorString()};
    if (!input.isEmpty())
        p.write(input);
    p.closeWriteChannel();
    if (!p.waitForFinished(20000)) {
        p.kill();
        p.waitForFinished(5000);
        return {-101, {}, QStringLiteral("timed out")};
    }
    Outcome o;
    o.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -102;
    o.out = QString::fromUtf8(p.readAllStandardOutput());
    o.err = QString::fromUtf8(p.readAllStandardError());
    return o;
}

} // namespace

class TestKairosctlProcess : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void cronNextPrintsFireTimes();
    void cronNextInZoneWithDaylightSaving();
    void cronNextJson();
    void cronNextInvalidExpression();
    void cronBatch();
    void cronBatchAnswersEachLineAtOnce();
    void usageErrorNamesFlagAndShowsUsage();
    void missingPasswordSaysWhatToSet();
    void unreachableServer();
    void help();
};

void TestKairosctlProcess::initTestCase()
{
    QVERIFY2(QFileInfo(binary()).isExecutable(), qPrintable(binary()));
}

void TestKairosctlProcess::cronNextPrintsFireTimes()
{
    const Outcome o =
        run({"cron", "next", "0 0 12 * * ?", "--tz", "UTC", "--from", "0", "--count", "3"});
    QCOMPARE(o.err, QString());
    QCOMPARE(o.exitCode, 0);
    QCOMPARE(o.out, QStringLiteral("43200000\t1970-01-01T12:00:00+00:00\n"
                                   "129600000\t1970-01-02T12:00:00+00:00\n"
                                   "216000000\t1970-01-03T12:00:00+00:00\n"));

    // Unquoted, the shell splits the expression into words; they are joined back.
    const Outcome words = run({"cron", "next", "0", "0", "12", "*", "*", "?", "--tz", "UTC",
                               "--from", "0", "--count", "1"});
    QCOMPARE(words.exitCode, 0);
    QCOMPARE(words.out, QStringLiteral("43200000\t1970-01-01T12:00:00+00:00\n"));
}

void TestKairosctlProcess::cronNextInZoneWithDaylightSaving()
{
    // New York springs forward on 2026-03-08 at 02:00 EST (07:00 UTC = 1772953200000): the
    // 12:00 fires before and after carry the -05:00 and -04:00 offsets.
    const Outcome o = run({"cron", "next", "0 12 * * *", "--tz", "America/New_York", "--from",
                           "1772845200000", "--count", "3"});
    QCOMPARE(o.err, QString());
    QCOMPARE(o.exitCode, 0);
    QCOMPARE(o.out, QStringLiteral("1772902800000\t2026-03-07T12:00:00-05:00\n"
                                   "1772985600000\t2026-03-08T12:00:00-04:00\n"
                                   "1773072000000\t2026-03-09T12:00:00-04:00\n"));
}

void TestKairosctlProcess::cronNextJson()
{
    const Outcome o = run(
        {"--json", "cron", "next", "*/30 * * * *", "--tz", "UTC", "--from", "0", "--count", "2"});
    QCOMPARE(o.exitCode, 0);
    const QJsonObject doc = QJsonDocument::fromJson(o.out.toUtf8()).object();
    QCOMPARE(doc.value("expression").toString(), QStringLiteral("*/30 * * * *"));
    QCOMPARE(doc.value("timeZone").toString(), QStringLiteral("UTC"));
    QCOMPARE(doc.value("fromMs").toInteger(), 0);
    const QJsonArray times = doc.value("times").toArray();
    QCOMPARE(times.size(), 2);
    QCOMPARE(times.at(1).toObject().value("epochMs").toInteger(), 3600000);
    QCOMPARE(times.at(1).toObject().value("local").toString(),
             QStringLiteral("1970-01-01T01:00:00+00:00"));
}

void TestKairosctlProcess::cronNextInvalidExpression()
{
    const auto expected = kairos::nextFireTimes("0 99 * * *", "UTC", 0, 1);
    QVERIFY(!expected.ok());
    const Outcome o = run({"cron", "next", "0 99 * * *", "--tz", "UTC"});
    QCOMPARE(o.exitCode, 1);
    QCOMPARE(o.out, QString());
    QCOMPARE(o.err, QStringLiteral("kairosctl: ") + expected.error() + u'\n');

    const Outcome zone = run({"cron", "next", "* * * * *", "--tz", "Mars/Base"});
    QCOMPARE(zone.exitCode, 1);
    QCOMPARE(zone.err, QStringLiteral("kairosctl: timeZone: unknown time zone \"Mars/Base\"\n"));
}

void TestKairosctlProcess::cronBatch()
{
    const Outcome o =
        run({"cron", "next", "--batch", "--count", "2"}, "0 0 12 * * ?\tUTC\t0\n"
                                                         "not a cron\tUTC\t0\n"
                                                         "0 0 12 * * ?\tMars/Base\t0\n"
                                                         "0 0 12 * * ?\tUTC\n");
    QCOMPARE(o.err, QString());
    QCOMPARE(o.exitCode, 0);
    const QStringList lines = o.out.split(u'\n');
    QCOMPARE(lines.size(), 5); // four answers and the empty rest after the last newline
    QCOMPARE(lines.at(0), QStringLiteral("43200000\t129600000"));
    QVERIFY2(lines.at(1).startsWith("INVALID\t"), qPrintable(lines.at(1)));
    QCOMPARE(lines.at(1).count(u'\t'), 1); // the reason is one field
    QCOMPARE(lines.at(1), kairos::cronBatchLine("not a cron\tUTC\t0", 2));
    QCOMPARE(lines.at(2), QStringLiteral("INVALID\ttimeZone: unknown time zone \"Mars/Base\""));
    QCOMPARE(lines.at(3), QStringLiteral("INVALID\tinput: expected EXPR<TAB>ZONE<TAB>"
                                         "FROM_EPOCH_MS, got 2 field(s)"));
    QCOMPARE(lines.at(4), QString());
}

void TestKairosctlProcess::cronBatchAnswersEachLineAtOnce()
{
    // A tool may drive the batch mode line by line and wait for each answer.
    QProcess p;
    p.setProcessEnvironment(unusableServerEnvironment());
    p.start(binary(), {"cron", "next", "--batch", "--count", "1"});
    QVERIFY(p.waitForStarted(10000));
    QByteArray received;
    p.write("0 0 12 * * ?\tUTC\t0\n");
    QTRY_VERIFY_WITH_TIMEOUT((received += p.readAllStandardOutput()).endsWith('\n'), 10000);
    QCOMPARE(received, QByteArray("43200000\n"));
    received.clear();
    p.write("0 0 12 * * ?\tUTC\t43200000\n");
    QTRY_VERIFY_WITH_TIMEOUT((received += p.readAllStandardOutput()).endsWith('\n'), 10000);
    QCOMPARE(received, QByteArray("129600000\n"));
    p.closeWriteChannel();
    QVERIFY(p.waitForFinished(10000));
    QCOMPARE(p.exitCode(), 0);
}

void TestKairosctlProcess::usageErrorNamesFlagAndShowsUsage()
{
    const Outcome o = run({"cron", "next", "* * * * *", "--count", "abc"});
    QCOMPARE(o.exitCode, 2);
    QCOMPARE(o.out, QString());
    QVERIFY2(o.err.startsWith("kairosctl: --count: expected a whole number from 1 to 100000, got "
                              "\"abc\"\n\nUsage: kairosctl [GLOBAL OPTIONS] cron next EXPR"),
             qPrintable(o.err));

    const Outcome unknown = run({"job", "list", "--colour"});
    QCOMPARE(unknown.exitCode, 2);
    QVERIFY2(unknown.err.startsWith("kairosctl: unknown option --colour\n\nUsage: kairosctl "
                                    "[GLOBAL OPTIONS] job list"),
             qPrintable(unknown.err));

    const Outcome none = run({});
    QCOMPARE(none.exitCode, 2);
    QVERIFY2(none.err.startsWith("kairosctl: missing command\n\n"), qPrintable(none.err));
    QVERIFY(none.err.contains("Commands"));
}

void TestKairosctlProcess::missingPasswordSaysWhatToSet()
{
    QProcessEnvironment env = unusableServerEnvironment();
    env.remove(QStringLiteral("KAIROS_SERVER"));
    const Outcome o = run({"job", "list"}, {}, env);
    QCOMPARE(o.exitCode, 2);
    QVERIFY2(o.err.startsWith("kairosctl: no password: give --password-file FILE or set "
                              "KAIROS_PASSWORD_FILE"),
             qPrintable(o.err));
}

void TestKairosctlProcess::unreachableServer()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString pw = dir.filePath(QStringLiteral("admin.password"));
    {
        QFile f(pw);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("secret\n");
    }
    // A port that was free a moment ago: nobody listens there.
    quint16 port = 0;
    {
        QTcpServer probe;
        QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
        port = probe.serverPort();
    }
    const QString address = QStringLiteral("127.0.0.1:%1").arg(port);
    const Outcome o = run({"--server", address, "--password-file", pw, "server", "info"});
    QCOMPARE(o.exitCode, 3);
    QVERIFY2(
        o.err.startsWith(QStringLiteral("kairosctl: cannot connect to %1 as admin: ").arg(address)),
        qPrintable(o.err));
    QCOMPARE(o.out, QString());
}

void TestKairosctlProcess::help()
{
    const Outcome o = run({"--help"});
    QCOMPARE(o.exitCode, 0);
    QVERIFY(o.out.contains("Usage: kairosctl [GLOBAL OPTIONS] <command> [ARGS]"));
    QVERIFY(o.out.contains("instance logs ID [--follow]"));
    const Outcome cmd = run({"job", "create", "--help"});
    QCOMPARE(cmd.exitCode, 0);
    QVERIFY(cmd.out.contains("--max-instances N"));
}

QTEST_GUILESS_MAIN(TestKairosctlProcess)
#include "tst_kairosctl_process.moc"
