// kairosctl against a real kairosd, as an operator types it: create from flags, run and wait,
// read logs, export and import a job, cron next without a server, and the exit codes scripts
// rely on.
#include "server_process.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QtTest>

using namespace kairos;
using namespace kairos::test;

namespace {

struct CtlResult {
    int exitCode = -1;
    QString out;
    QString err;
};

} // namespace

class TstKairosctl : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::unique_ptr<ServerProcess> m_server;

    CtlResult ctl(const QStringList &args, const QByteArray &stdinData = {}, bool withServer = true)
    {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        if (withServer) {
            env.insert(QStringLiteral("KAIROS_SERVER"),
                       QStringLiteral("127.0.0.1:%1").arg(m_server->port()));
            env.insert(QStringLiteral("KAIROS_PASSWORD_FILE"),
                       m_server->dataDir() + QStringLiteral("/admin.password"));
        } else {
            env.remove(QStringLiteral("KAIROS_SERVER"));
            env.remove(QStringLiteral("KAIROS_PASSWORD_FILE"));
        }
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(KAIROS_BIN_DIR "/kairosctl"), args);
        if (!p.waitForStarted(10000))
            return {};
        if (!stdinData.isEmpty())
            p.write(stdinData);
        p.closeWriteChannel();
        if (!p.waitForFinished(60000)) {
            p.kill();
            p.waitForFinished();
        }
        return CtlResult{p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
                         QString::fromUtf8(p.readAllStandardOutput()),
                         QString::fromUtf8(p.readAllStandardError())};
    }

    static QJsonObject json(const CtlResult &r)
    {
        return QJsonDocument::fromJson(r.out.toUtf8()).object();
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_server = std::make_unique<ServerProcess>(m_dir.filePath(QStringLiteral("data")));
        const QString err = m_server->start();
        QVERIFY2(err.isEmpty(), qPrintable(err));
    }

    void cleanupTestCase()
    {
        if (m_server)
            QVERIFY2(m_server->terminate(), qPrintable(m_server->output()));
    }

    void createRunWaitAndReadLogs()
    {
        const CtlResult created =
            ctl({QStringLiteral("--json"), QStringLiteral("job"), QStringLiteral("create"),
                 QStringLiteral("--name"), QStringLiteral("greeter"), QStringLiteral("--shell"),
                 QStringLiteral("echo \"hi $KAIROS_PARAM_WHO\""), QStringLiteral("--params"),
                 QStringLiteral("{\"who\":\"ops\"}")});
        QVERIFY2(created.exitCode == 0, qPrintable(created.err));
        QCOMPARE(json(created).value(QStringLiteral("name")).toString(), QStringLiteral("greeter"));

        const CtlResult ran =
            ctl({QStringLiteral("--json"), QStringLiteral("job"), QStringLiteral("run"),
                 QStringLiteral("greeter"), QStringLiteral("--wait")});
        QVERIFY2(ran.exitCode == 0, qPrintable(ran.out + ran.err));
        const QJsonDocument runDoc = QJsonDocument::fromJson(ran.out.toUtf8());
        QJsonArray ids = runDoc.object().value(QStringLiteral("instanceIds")).toArray();
        if (ids.isEmpty() && runDoc.isObject()) {
            for (const QJsonValue &v : runDoc.object().value(QStringLiteral("instances")).toArray())
                ids.append(v.toObject().value(QStringLiteral("id")));
        }
        QCOMPARE(ids.size(), 1);
        const QString id = QString::number(ids.first().toInteger());

        const CtlResult logs = ctl({QStringLiteral("instance"), QStringLiteral("logs"), id});
        QVERIFY2(logs.exitCode == 0, qPrintable(logs.err));
        QVERIFY2(logs.out.contains(QStringLiteral("hi ops")), qPrintable(logs.out));

        const CtlResult shown =
            ctl({QStringLiteral("--json"), QStringLiteral("instance"), QStringLiteral("show"), id});
        QVERIFY2(shown.exitCode == 0, qPrintable(shown.err));
        QCOMPARE(json(shown)
                     .value(QStringLiteral("instance"))
                     .toObject()
                     .value(QStringLiteral("status"))
                     .toString(),
                 QStringLiteral("SUCCEEDED"));
    }

    void failingRunMakesWaitExitNonZero()
    {
        QVERIFY(ctl({QStringLiteral("job"), QStringLiteral("create"), QStringLiteral("--name"),
                     QStringLiteral("fails"), QStringLiteral("--shell"), QStringLiteral("exit 4")})
                    .exitCode
                == 0);
        const CtlResult ran = ctl({QStringLiteral("job"), QStringLiteral("run"),
                                   QStringLiteral("fails"), QStringLiteral("--wait")});
        QVERIFY2(ran.exitCode != 0, qPrintable(ran.out));
    }

    void exportDeleteImportRoundTrip()
    {
        const CtlResult created =
            ctl({QStringLiteral("--json"), QStringLiteral("job"), QStringLiteral("create"),
                 QStringLiteral("--name"), QStringLiteral("nightly"), QStringLiteral("--cron"),
                 QStringLiteral("0 30 2 * * ?"), QStringLiteral("--tz"),
                 QStringLiteral("Europe/Berlin"), QStringLiteral("--echo"), QStringLiteral("night"),
                 QStringLiteral("--retries"), QStringLiteral("2"), QStringLiteral("--timeout"),
                 QStringLiteral("5000")});
        QVERIFY2(created.exitCode == 0, qPrintable(created.err));
        const CtlResult exported = ctl({QStringLiteral("--json"), QStringLiteral("job"),
                                        QStringLiteral("show"), QStringLiteral("nightly")});
        QVERIFY2(exported.exitCode == 0, qPrintable(exported.err));
        const QJsonObject before = json(exported);
        QCOMPARE(ctl({QStringLiteral("job"), QStringLiteral("delete"), QStringLiteral("nightly")})
                     .exitCode,
                 0);
        QCOMPARE(ctl({QStringLiteral("job"), QStringLiteral("show"), QStringLiteral("nightly")})
                     .exitCode,
                 1);

        const CtlResult imported =
            ctl({QStringLiteral("--json"), QStringLiteral("job"), QStringLiteral("create"),
                 QStringLiteral("--file"), QStringLiteral("-")},
                exported.out.toUtf8());
        QVERIFY2(imported.exitCode == 0, qPrintable(imported.err));
        QJsonObject after = json(imported);
        // Identity and bookkeeping are new; everything the user wrote is the same.
        for (const QString &key :
             {QStringLiteral("timing"), QStringLiteral("processor"), QStringLiteral("limits"),
              QStringLiteral("dispatch"), QStringLiteral("mode"), QStringLiteral("params"),
              QStringLiteral("enabled")}) {
            QCOMPARE(after.value(key), before.value(key));
        }
    }

    void badInputExitCodes()
    {
        const CtlResult badCron =
            ctl({QStringLiteral("job"), QStringLiteral("create"), QStringLiteral("--name"),
                 QStringLiteral("bad"), QStringLiteral("--cron"), QStringLiteral("0 0 12 * * 8"),
                 QStringLiteral("--echo"), QStringLiteral("x")});
        QCOMPARE(badCron.exitCode, 1);
        QVERIFY2(badCron.err.contains(QStringLiteral("day-of-week")), qPrintable(badCron.err));

        const CtlResult unknownFlag =
            ctl({QStringLiteral("job"), QStringLiteral("list"), QStringLiteral("--frobnicate")});
        QCOMPARE(unknownFlag.exitCode, 2);
        QVERIFY2(unknownFlag.err.contains(QStringLiteral("frobnicate")),
                 qPrintable(unknownFlag.err));

        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("KAIROS_SERVER"),
                   QStringLiteral("127.0.0.1:%1").arg(m_server->port()));
        const QString wrong = m_dir.filePath(QStringLiteral("wrong.password"));
        QFile f(wrong);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("not-it\n");
        f.close();
        env.insert(QStringLiteral("KAIROS_PASSWORD_FILE"), wrong);
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(KAIROS_BIN_DIR "/kairosctl"),
                {QStringLiteral("job"), QStringLiteral("list")});
        QVERIFY(p.waitForFinished(30000));
        QCOMPARE(p.exitCode(), 3);
        QVERIFY2(p.readAllStandardError().contains("authentication failed"), "no reason given");
    }

    void cronNextNeedsNoServer()
    {
        const CtlResult r = ctl({QStringLiteral("cron"), QStringLiteral("next"),
                                 QStringLiteral("0 30 2 * * ?"), QStringLiteral("--tz"),
                                 QStringLiteral("America/New_York"), QStringLiteral("--from"),
                                 QStringLiteral("1772956800000"), // 2026-03-08T08:00Z
                                 QStringLiteral("--count"), QStringLiteral("2")},
                                {}, false);
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const QStringList lines = r.out.trimmed().split(u'\n');
        QCOMPARE(lines.size(), 2);
        // 2026-03-09 02:30 EDT = 06:30Z; 2026-03-10 likewise.
        QCOMPARE(lines.at(0).section(u'\t', 0, 0), QStringLiteral("1773037800000"));
        QVERIFY2(lines.at(0).contains(QStringLiteral("2026-03-09T02:30:00-04:00")),
                 qPrintable(lines.at(0)));
        const CtlResult batch =
            ctl({QStringLiteral("cron"), QStringLiteral("next"), QStringLiteral("--batch"),
                 QStringLiteral("--count"), QStringLiteral("2")},
                "0 0 * * *\tUTC\t0\n* * *\tUTC\t0\n", false);
        QVERIFY2(batch.exitCode == 0, qPrintable(batch.err));
        const QStringList out = batch.out.trimmed().split(u'\n');
        QCOMPARE(out.size(), 2);
        QCOMPARE(out.at(0), QStringLiteral("86400000\t172800000"));
        QVERIFY2(out.at(1).startsWith(QStringLiteral("INVALID\t")), qPrintable(out.at(1)));
    }
};

QTEST_GUILESS_MAIN(TstKairosctl)
#include "tst_kairosctl.moc"
