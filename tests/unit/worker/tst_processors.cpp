// Processors as a user sees them: what a script, a request, an echo or a sleep reports, which
// log lines it leaves, and that stopping a script leaves no process behind.
#include "worker_test_util.h"

#include <worker/builtin_processors.h>
#include <worker/http_processor.h>
#include <worker/shell_processor.h>
#include <worker/simple_processors.h>

#include <QJsonArray>
#include <QJsonDocument>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QtTest>

using namespace kairos;
using namespace kairos::test;

namespace {

TaskSpec makeSpec(ProcessorKind kind, const QJsonObject &config)
{
    TaskSpec spec;
    spec.instanceId = 42;
    spec.attempt = 2;
    spec.taskId = 7;
    spec.jobName = QStringLiteral("nightly-report");
    spec.processor = kind;
    spec.config = config;
    return spec;
}

TaskSpec shellSpec(const QString &script)
{
    return makeSpec(ProcessorKind::Shell, QJsonObject{{QStringLiteral("script"), script}});
}

std::unique_ptr<ProcessorRun> create(const TaskSpec &spec)
{
    auto run = createProcessorRun(spec, ProcessorContext{});
    if (!run) {
        qWarning() << "createProcessorRun:" << run.error();
        return nullptr;
    }
    return std::move(run).value();
}

QString quoted(const QString &path)
{
    return QLatin1Char('\'') + path + QLatin1Char('\'');
}

// A script that records its own pid and a background child's pid (atomically, via mv), then
// waits in the foreground.
QString pidRecordingScript(const QString &dir, const QString &tail = QStringLiteral("sleep 30"))
{
    return QStringLiteral("echo $$ > %1/script.tmp && mv %1/script.tmp %1/script.pid\n"
                          "sleep 30 &\n"
                          "echo $! > %1/bg.tmp && mv %1/bg.tmp %1/bg.pid\n"
                          "%2\n")
        .arg(quoted(dir), tail);
}

// A tiny HTTP/1.1 responder on 127.0.0.1. /ok answers 200, /fail 500, /big 10,000 bytes,
// /echo the request body; /slow never answers.
class TinyHttpServer : public QObject {
public:
    struct Request {
        QByteArray method;
        QByteArray path;
        QByteArray head;
        QByteArray body;
    };

    TinyHttpServer()
    {
        QVERIFY(m_server.listen(QHostAddress::LocalHost, 0));
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *socket = m_server.nextPendingConnection()) {
                socket->setParent(this);
                connect(socket, &QTcpSocket::readyRead, this, [this, socket] { onData(socket); });
            }
        });
    }

    QString url(const QString &path) const
    {
        return QStringLiteral("http://127.0.0.1:%1%2").arg(m_server.serverPort()).arg(path);
    }

    QList<Request> requests;

private:
    void onData(QTcpSocket *socket)
    {
        QByteArray &buf = m_buffers[socket];
        buf += socket->readAll();
        const qsizetype headEnd = buf.indexOf("\r\n\r\n");
        if (headEnd < 0)
            return;
        const QByteArray head = buf.left(headEnd);
        qsizetype length = 0;
        for (const QByteArray &line : head.split('\n')) {
            if (line.toLower().startsWith("content-length:"))
                length = line.mid(15).trimmed().toLongLong();
        }
        if (buf.size() < headEnd + 4 + length)
            return;
        Request r;
        const QList<QByteArray> requestLine = head.left(head.indexOf("\r\n")).split(' ');
        r.method = requestLine.value(0);
        r.path = requestLine.value(1);
        r.head = head;
        r.body = buf.mid(headEnd + 4, length);
        requests.append(r);
        m_buffers.remove(socket);

        int status = 200;
        QByteArray reason = "OK";
        QByteArray body;
        if (r.path == "/ok") {
            body = "hello from kairos";
        } else if (r.path == "/fail") {
            status = 500;
            reason = "Internal Server Error";
            body = "boom";
        } else if (r.path == "/big") {
            body = QByteArray(10000, 'x');
        } else if (r.path == "/echo") {
            body = r.body;
        } else if (r.path == "/slow") {
            return;
        } else {
            status = 404;
            reason = "Not Found";
        }
        socket->write("HTTP/1.1 " + QByteArray::number(status) + ' ' + reason
                      + "\r\nContent-Length: " + QByteArray::number(body.size())
                      + "\r\nConnection: close\r\n\r\n" + body);
        socket->disconnectFromHost();
    }

    QTcpServer m_server;
    QHash<QTcpSocket *, QByteArray> m_buffers;
};

// A processor that breaks the rules on purpose: finishes twice and logs after finishing.
class RuleBreakingRun final : public ProcessorRun {
public:
    explicit RuleBreakingRun(const TaskSpec &spec)
        : ProcessorRun(spec)
    {}
    void start() override
    {
        log(LogStream::Stdout, QStringLiteral("before"));
        firstFinish = finish(InstanceStatus::Succeeded, QStringLiteral("first"));
        secondFinish = finish(InstanceStatus::Failed, QStringLiteral("second"));
        log(LogStream::Stdout, QStringLiteral("after"));
    }
    void cancel(const QString &reason) override { finish(InstanceStatus::Canceled, reason); }
    bool firstFinish = false;
    bool secondFinish = true;
};

} // namespace

class TstProcessors : public QObject {
    Q_OBJECT
private slots:
    void shellOutcome_data();
    void shellOutcome();
    void shellLogsStdoutAndStderr();
    void shellCutsOverlongLines();
    void shellEnvironmentCarriesParams();
    void shellTimeoutKillsWholeGroup();
    void shellCancelKillsWholeGroup();
    void shellIgnoringSigtermIsKilledAfterGrace();
    void shellBackgroundJobsEndWithScript();
    void shellLargeScriptRuns();
    void shellMissingShellFails();
    void shellMissingExecHelperFailsClearly();
    void paramVariableNames_data();
    void paramVariableNames();
    void shellEnvironmentCarriesTaskIdentity();
    void shellBroadcastScripts_data();
    void shellBroadcastScripts();
    void shellResultsTooLargeFailsClearly();
    void hooksAProcessorLacksRunTheDefault_data();
    void hooksAProcessorLacksRunTheDefault();
    void broadcastHooks_data();
    void broadcastHooks();
    void processorForMode_data();
    void processorForMode();
    void builtinsHaveTheirShapes();

    void http_data();
    void http();
    void httpSendsMethodHeadersAndBody();
    void httpResultKeepsFirst4KiB();
    void httpRequestTimeout();
    void httpCancel();
    void httpConnectionRefused();

    void echo_data();
    void echo();
    void sleep_data();
    void sleep();
    void sleepCancelAndTimeout();

    void invalidConfigNamesField_data();
    void invalidConfigNamesField();

    void finishedExactlyOnceEvenIfSubclassTriesTwice();
    void cancelAfterCompletionChangesNothing();
    void cancelRacingShellCompletionFinishesOnce();
};

void TstProcessors::shellOutcome_data()
{
    QTest::addColumn<QString>("script");
    QTest::addColumn<InstanceStatus>("status");
    QTest::addColumn<QString>("result");
    QTest::newRow("exit 0, no output") << "true" << InstanceStatus::Succeeded << "exit code 0";
    QTest::newRow("last stdout line is the result") << "echo first\necho 'the answer'\necho\n"
                                                    << InstanceStatus::Succeeded << "the answer";
    QTest::newRow("exit 3") << "echo partial work; exit 3" << InstanceStatus::Failed
                            << "exit code 3";
    QTest::newRow("multi-line with a failing command")
        << "set -e\ncd /\nfalse\necho unreachable" << InstanceStatus::Failed << "exit code 1";
    QTest::newRow("killed by SIGKILL")
        << "kill -9 $$" << InstanceStatus::Failed << "killed by signal 9 (SIGKILL)";
    QTest::newRow("killed by SIGSEGV") << "ulimit -c 0; kill -SEGV $$" << InstanceStatus::Failed
                                       << "killed by signal 11 (SIGSEGV)";
    QTest::newRow("pipelines see SIGPIPE")
        << "yes | head -n 2 >/dev/null; echo ok" << InstanceStatus::Succeeded << "ok";
}

void TstProcessors::shellOutcome()
{
    QFETCH(QString, script);
    QFETCH(InstanceStatus, status);
    QFETCH(QString, result);
    auto run = create(shellSpec(script));
    QVERIFY(run);
    RunRecorder rec(run.get());
    run->start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.finishCount, 1, 10000);
    QCOMPARE(toString(rec.status), toString(status));
    QCOMPARE(rec.result, result);
}

void TstProcessors::shellLogsStdoutAndStderr()
{
    auto run = create(shellSpec(QStringLiteral(
        "echo out1\necho err1 >&2\nprintf 'a\\r\\nb\\n'\necho err2 >&2\nprintf 'no newline'")));
    QVERIFY(run);
    RunRecorder rec(run.get());
    run->start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.finishCount, 1, 10000);
    QCOMPARE(toString(rec.status), toString(InstanceStatus::Succeeded));
    QCOMPARE(rec.texts(LogStream::Stdout), (QStringList{"out1", "a", "b", "no newline"}));
    QCOMPARE(rec.texts(LogStream::Stderr), (QStringList{"err1", "err2"}));
    QCOMPARE(rec.result, QStringLiteral("no newline"));
}

void TstProcessors::shellCutsOverlongLines()
{
    // 200,000 bytes without a newline: three full 64 KiB pieces and the rest.
    auto run =
        create(shellSpec(QStringLiteral("head -c 200000 /dev/zero | tr '\\0' a; echo; echo end")));
    QVERIFY(run);
    RunRecorder rec(run.get());
    run->start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.finishCount, 1, 10000);
    const QStringList out = rec.texts(LogStream::Stdout);
    QList<qsizetype> sizes;
    for (const QString &line : out)
        sizes << line.size();
    QCOMPARE(sizes, (QList<qsizetype>{65536, 65536, 65536, 200000 - 3 * 65536, 3}));
    QCOMPARE(out.last(), QStringLiteral("end"));
}

void TstProcessors::shellEnvironmentCarriesParams()
{
    TaskSpec spec = shellSpec(QStringLiteral(
        "echo \"id=$KAIROS_INSTANCE_ID attempt=$KAIROS_ATTEMPT task=$KAIROS_TASK_ID\"\n"
        "echo \"job=$KAIROS_JOB_NAME\"\n"
        "echo \"jobParams=$KAIROS_JOB_PARAMS\"\n"
        "echo \"instanceParams=$KAIROS_INSTANCE_PARAMS\"\n"
        "echo \"alpha=$KAIROS_PARAM_ALPHA shared=$KAIROS_PARAM_SHARED count=$KAIROS_PARAM_COUNT\"\n"
        "echo \"myKey=$KAIROS_PARAM_MY_KEY nested=$KAIROS_PARAM_NESTED\"\n"
        "echo \"stale=${KAIROS_PARAM_STALE-unset}\"\n"));
    spec.jobParams =
        QStringLiteral(R"({"alpha":"one","shared":"from job","my-key":true,"nested":{"x":1}})");
    spec.instanceParams = QStringLiteral(R"({"shared":"from instance","Count":5})");
    // A worker that itself runs inside a Kairos job must not pass that job's params on.
    qputenv("KAIROS_PARAM_STALE", "leaked");
    auto run = create(spec);
    QVERIFY(run);
    RunRecorder rec(run.get());
    run->start();
    qunsetenv("KAIROS_PARAM_STALE");
    QTRY_COMPARE_WITH_TIMEOUT(rec.finishCount, 1, 10000);
    QCOMPARE(toString(rec.status), toString(InstanceStatus::Succeeded));
    QCOMPARE(rec.texts(LogStream::Stdout), (QStringList{
                                               "id=42 attempt=2 task=7",
                                               "job=nightly-report",
                                               "jobParams=" + spec.jobParams,
                                               "instanceParams=" + spec.instanceParams,
                                               "alpha=one shared=from instance count=5",
                                               R"(myKey=true nested={"x":1})",
                                               "stale=unset",
                                           }));
}

void TstProcessors::shellTimeoutKillsWholeGroup()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    auto run = create(shellSpec(pidRecordingScript(dir.path())));
    QVERIFY(run);
    RunRecorder rec(run.get());
    run->start();
    qint64 scriptPid = 0;
    qint64 bgPid = 0;
    QTRY_VERIFY_WITH_TIMEOUT((scriptPid = readPid(dir.filePath("script.pid"))) > 0
                                 && (bgPid = readPid(dir.filePath("bg.pid"))) > 0,
                             10000);
    QVERIFY(processAlive(scriptPid));
    QVERIFY(processAlive(bgPid));
    run->timeOut(500); // what TaskRunner does when the task's timeout elapses
    QTRY_COMPARE_WITH_TIMEOUT(rec.finishCount, 1, 10000);
    QCOMPARE(toString(rec.status), toString(InstanceStatus::TimedOut));
    QCOMPARE(rec.result, QStringLiteral("timed out after 500 ms"));
    QTRY_VERIFY_WITH_TIMEOUT(!processAlive(scriptPid) && !processAlive(bgPid), 5000);
}

void TstProcessors::shellCancelKillsWholeGroup()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    auto run = create(shellSpec(pidRecordingScript(dir.path())));
    QVERIFY(run);
    RunRecorder rec(run.get());
    run->start();
    qint64 scriptPid = 0;
    qint64 bgPid = 0;
    QTRY_VERIFY_WITH_TIMEOUT((scriptPid = readPid(dir.filePath("script.pid"))) > 0
                                 && (bgPid = readPid(dir.filePath("bg.pid"))) > 0,
                             10000);
    run->cancel(QStringLiteral("canceled by alice"));
    QTRY_COMPARE_WITH_TIMEOUT(rec.finishCount, 1, 10000);
    QCOMPARE(toString(rec.status), toString(InstanceStatus::Canceled));
    QCOMPARE(rec.result, QStringLiteral("canceled by alice"));
    QVERIFY(rec.texts(LogStream::System).join('\n').contains("SIGTERM"));
    QTRY_VERIFY_WITH_TIMEOUT(!processAlive(scriptPid) && !processAlive(bgPid), 5000);
}

void TstProcessors::shellIgnoringSigtermIsKilledAfterGrace()
{
    // An ignored SIGTERM is inherited by the background child too: only SIGKILL ends them.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    auto run = create(
        shellSpec(QStringLiteral("trap '' TERM\n")
                  + pidRecordingScript(dir.path(), QStringLiteral("while :; do sleep 1; done"))));
    QVERIFY(run);
    RunRecorder rec(run.get());
    run->start();
    qint64 scriptPid = 0;
    qint64 bgPid = 0;
    QTRY_VERIFY_WITH_TIMEOUT((scriptPid = readPid(dir.filePath("script.pid"))) > 0
                                 && (bgPid = readPid(dir.filePath("bg.pid"))) > 0,
                             10000);
    QElapsedTimer clock;
    clock.start();
    run->cancel(QStringLiteral("stop"));
    QTRY_COMPARE_WITH_TIMEOUT(rec.finishCount, 1, 10000);
    QCOMPARE(toString(rec.status), toString(InstanceStatus::Canceled));
    QVERIFY2(clock.elapsed() >= ShellRun::kGraceMs - 100,
             qPrintable(QString::number(clock.elapsed())));
    QTRY_VERIFY_WITH_TIMEOUT(!processAlive(scriptPid) && !processAlive(bgPid), 5000);
}

void TstProcessors::shellBackgroundJobsEndWithScript()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    auto run = create(shellSpec(
        QStringLiteral("sleep 30 &\necho $! > %1/bg.tmp && mv %1/bg.tmp %1/bg.pid\necho done")
            .arg(quoted(dir.path()))));
    QVERIFY(run);
    RunRecorder rec(run.get());
    run->start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.finishCount, 1, 10000);
    QCOMPARE(toString(rec.status), toString(InstanceStatus::Succeeded));
    QCOMPARE(rec.result, QStringLiteral("done"));
    const qint64 bgPid = readPid(dir.filePath("bg.pid"));
    QVERIFY(bgPid > 0);
    QTRY_VERIFY_WITH_TIMEOUT(!processAlive(bgPid), 5000);
}

void TstProcessors::shellLargeScriptRuns()
{
    // Over the 128 KiB single-argument limit of execve: goes through a temporary file.
    const QString padding = QStringLiteral("# ") + QString(200, QLatin1Char('x')) + "\n";
    QString script;
    while (script.size() < 300 * 1024)
        script += padding;
    script += QStringLiteral("echo \"big script, $KAIROS_JOB_NAME\"\n");
    auto run = create(shellSpec(script));
    QVERIFY(run);
    RunRecorder rec(run.get());
    run->start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.finishCount, 1, 10000);
    QCOMPARE(toString(rec.status), toString(InstanceStatus::Succeeded));
    QCOMPARE(rec.result, QStringLiteral("big script, nightly-report"));
}

void TstProcessors::shellMissingShellFails()
{
    TaskSpec spec = shellSpec(QStringLiteral("echo hi"));
    spec.config.insert(QStringLiteral("shell"), QStringLiteral("/nonexistent/sh"));
    auto run = create(spec);
    QVERIFY(run);
    RunRecorder rec(run.get());
    run->start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.finishCount, 1, 10000);
    QCOMPARE(toString(rec.status), toString(InstanceStatus::Failed));
    QCOMPARE(rec.result, QStringLiteral("exit code 127"));
    QVERIFY2(rec.texts(LogStream::Stderr).join('\n').contains("cannot run /nonexistent/sh"),
             qPrintable(rec.texts(LogStream::Stderr).join('\n')));
}

void TstProcessors::shellMissingExecHelperFailsClearly()
{
    qputenv("KAIROS_EXEC", "/nonexistent/kairos-exec");
    auto run = create(shellSpec(QStringLiteral("echo hi")));
    QVERIFY(run);
    RunRecorder rec(run.get());
    run->start();
    qunsetenv("KAIROS_EXEC");
    QCOMPARE(rec.finishCount, 1);
    QCOMPARE(toString(rec.status), toString(InstanceStatus::Failed));
    QCOMPARE(rec.result,
             QStringLiteral("KAIROS_EXEC: /nonexistent/kairos-exec is not an executable file"));

    // Without the override it is found next to the program (tests live in the bin folder).
    const auto found = findExecHelper();
    QVERIFY2(found.ok(), qPrintable(found.error()));
    QVERIFY(found->endsWith(QLatin1String("/kairos-exec")));
}

void TstProcessors::paramVariableNames_data()
{
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("name");
    QTest::newRow("lower") << "region"
                           << "KAIROS_PARAM_REGION";
    QTest::newRow("dash and dot") << "my-key.v2"
                                  << "KAIROS_PARAM_MY_KEY_V2";
    QTest::newRow("non-ascii") << "größe"
                               << "KAIROS_PARAM_GR__E";
}

void TstProcessors::paramVariableNames()
{
    QFETCH(QString, key);
    QFETCH(QString, name);
    QCOMPARE(paramVariableName(key), name);
}

void TstProcessors::http_data()
{
    QTest::addColumn<QString>("path");
    QTest::addColumn<QJsonValue>("expectedStatus");
    QTest::addColumn<InstanceStatus>("status");
    QTest::addColumn<QString>("result");
    QTest::newRow("200") << "/ok" << QJsonValue() << InstanceStatus::Succeeded
                         << "HTTP/1.1 200 OK\nhello from kairos";
    QTest::newRow("500 fails by default")
        << "/fail" << QJsonValue() << InstanceStatus::Failed << "expected a 2xx status but got 500";
    QTest::newRow("500 expected") << "/fail" << QJsonValue(500) << InstanceStatus::Succeeded
                                  << "HTTP/1.1 500 Internal Server Error\nboom";
    QTest::newRow("200 but 201 expected")
        << "/ok" << QJsonValue(201) << InstanceStatus::Failed << "expected status 201 but got 200";
    QTest::newRow("404") << "/missing" << QJsonValue() << InstanceStatus::Failed
                         << "expected a 2xx status but got 404";
}

void TstProcessors::http()
{
    QFETCH(QString, path);
    QFETCH(QJsonValue, expectedStatus);
    QFETCH(InstanceStatus, status);
    QFETCH(QString, result);
    TinyHttpServer server;
    QJsonObject config{{QStringLiteral("url"), server.url(path)}};
    if (!expectedStatus.isNull())
        config.insert(QStringLiteral("expectedStatus"), expectedStatus);
    auto run = create(makeSpec(ProcessorKind::Http, config));
    QVERIFY(run);
    RunRecorder rec(run.get());
    run->start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.finishCount, 1, 10000);
    QCOMPARE(toString(rec.status), toString(status));
    QCOMPARE(rec.result, result);
    const QStringList system = rec.texts(LogStream::System);
    QCOMPARE(system.value(0), "GET " + server.url(path));
    QVERIFY2(system.value(1).startsWith("HTTP/1.1 "), qPrintable(system.join('\n')));
}

void TstProcessors::httpSendsMethodHeadersAndBody()
{
    TinyHttpServer server;
    const QJsonObject config{
        {QStringLiteral("method"), QStringLiteral("post")},
        {QStringLiteral("url"), server.url(QStringLiteral("/echo"))},
        {QStringLiteral("headers"),
         QJsonObject{{QStringLiteral("X-Kairos"), QStringLiteral("yes")}}},
        {QStringLiteral("body"), QStringLiteral(R"({"report":"daily"})")},
    };
    auto run = create(makeSpec(ProcessorKind::Http, config));
    QVERIFY(run);
    RunRecorder rec(run.get());
    run->start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.finishCount, 1, 10000);
    QCOMPARE(toString(rec.status), toString(InstanceStatus::Succeeded));
    QCOMPARE(server.requests.size(), 1);
    const auto &request = server.requests.first();
    QCOMPARE(request.method, QByteArray("POST"));
    QCOMPARE(request.body, QByteArray(R"({"report":"daily"})"));
    QVERIFY2(request.head.contains("X-Kairos: yes"), request.head.constData());
    QVERIFY2(request.head.toLower().contains("content-type: application/json"),
             request.head.constData());
    QCOMPARE(rec.result, QStringLiteral("HTTP/1.1 200 OK\n{\"report\":\"daily\"}"));
}

void TstProcessors::httpResultKeepsFirst4KiB()
{
    TinyHttpServer server;
    auto run =
        create(makeSpec(ProcessorKind::Http,
                        QJsonObject{{QStringLiteral("url"), server.url(QStringLiteral("/big"))}}));
    QVERIFY(run);
    RunRecorder rec(run.get());
    run->start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.finishCount, 1, 10000);
    QCOMPARE(toString(rec.status), toString(InstanceStatus::Succeeded));
    QCOMPARE(rec.result, QStringLiteral("HTTP/1.1 200 OK\n") + QString(4096, QLatin1Char('x')));
    QVERIFY2(rec.texts(LogStream::System).value(1).contains("10000 bytes"),
             qPrintable(rec.texts(LogStream::System).join('\n')));
}

void TstProcessors::httpRequestTimeout()
{
    TinyHttpServer server;
    auto run =
        create(makeSpec(ProcessorKind::Http,
                        QJsonObject{{QStringLiteral("url"), server.url(QStringLiteral("/slow"))},
                                    {QStringLiteral("timeoutMs"), 300}}));
    QVERIFY(run);
    RunRecorder rec(run.get());
    run->start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.finishCount, 1, 10000);
    QCOMPARE(toString(rec.status), toString(InstanceStatus::TimedOut));
    QCOMPARE(rec.result, QStringLiteral("HTTP request timed out after 300 ms"));
}

void TstProcessors::httpCancel()
{
    TinyHttpServer server;
    auto run =
        create(makeSpec(ProcessorKind::Http,
                        QJsonObject{{QStringLiteral("url"), server.url(QStringLiteral("/slow"))}}));
    QVERIFY(run);
    RunRecorder rec(run.get());
    run->start();
    QTRY_COMPARE_WITH_TIMEOUT(server.requests.size(), 1, 10000);
    run->cancel(QStringLiteral("canceled by bob"));
    QTRY_COMPARE_WITH_TIMEOUT(rec.finishCount, 1, 10000);
    QCOMPARE(toString(rec.status), toString(InstanceStatus::Canceled));
    QCOMPARE(rec.result, QStringLiteral("canceled by bob"));
}

void TstProcessors::httpConnectionRefused()
{
    quint16 port = 0;
    {
        QTcpServer closed;
        QVERIFY(closed.listen(QHostAddress::LocalHost, 0));
        port = closed.serverPort();
    }
    const QString url = QStringLiteral("http://127.0.0.1:%1/").arg(port);
    auto run = create(makeSpec(ProcessorKind::Http, QJsonObject{{QStringLiteral("url"), url}}));
    QVERIFY(run);
    RunRecorder rec(run.get());
    run->start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.finishCount, 1, 10000);
    QCOMPARE(toString(rec.status), toString(InstanceStatus::Failed));
    QVERIFY2(rec.result.startsWith("GET " + url + ": ") && rec.result.contains("refused"),
             qPrintable(rec.result));
}

void TstProcessors::echo_data()
{
    QTest::addColumn<QJsonObject>("config");
    QTest::addColumn<QString>("jobParams");
    QTest::addColumn<QString>("instanceParams");
    QTest::addColumn<QString>("expected");
    QTest::newRow("message") << QJsonObject{{"message", "hello"}} << "job"
                             << "inst"
                             << "hello";
    QTest::newRow("instance params") << QJsonObject{} << "job"
                                     << "inst"
                                     << "inst";
    QTest::newRow("job params") << QJsonObject{} << "job"
                                << ""
                                << "job";
    QTest::newRow("empty message") << QJsonObject{{"message", ""}} << "job"
                                   << "inst"
                                   << "";
}

void TstProcessors::echo()
{
    QFETCH(QJsonObject, config);
    QFETCH(QString, jobParams);
    QFETCH(QString, instanceParams);
    QFETCH(QString, expected);
    TaskSpec spec = makeSpec(ProcessorKind::Echo, config);
    spec.jobParams = jobParams;
    spec.instanceParams = instanceParams;
    auto run = create(spec);
    QVERIFY(run);
    RunRecorder rec(run.get());
    run->start();
    // Synchronous by contract: finished before start() returns.
    QCOMPARE(rec.finishCount, 1);
    QCOMPARE(toString(rec.status), toString(InstanceStatus::Succeeded));
    QCOMPARE(rec.result, expected);
    QCOMPARE(rec.texts(LogStream::Stdout), QStringList{expected});
}

void TstProcessors::sleep_data()
{
    QTest::addColumn<QJsonObject>("config");
    QTest::addColumn<int>("attempt");
    QTest::addColumn<InstanceStatus>("status");
    QTest::addColumn<QString>("result");
    QTest::newRow("succeeds") << QJsonObject{{"ms", 50}} << 1 << InstanceStatus::Succeeded
                              << "slept 50 ms";
    QTest::newRow("exit code") << QJsonObject{{"ms", 10}, {"exitCode", 2}} << 1
                               << InstanceStatus::Failed << "exit code 2";
    QTest::newRow("fail") << QJsonObject{{"ms", 0}, {"fail", true}} << 1 << InstanceStatus::Failed
                          << "exit code 1";
    QTest::newRow("failAttempts, attempt 2") << QJsonObject{{"ms", 0}, {"failAttempts", 2}} << 2
                                             << InstanceStatus::Failed << "exit code 1";
    QTest::newRow("failAttempts, attempt 3") << QJsonObject{{"ms", 0}, {"failAttempts", 2}} << 3
                                             << InstanceStatus::Succeeded << "slept 0 ms";
}

void TstProcessors::sleep()
{
    QFETCH(QJsonObject, config);
    QFETCH(int, attempt);
    QFETCH(InstanceStatus, status);
    QFETCH(QString, result);
    TaskSpec spec = makeSpec(ProcessorKind::Sleep, config);
    spec.attempt = attempt;
    auto run = create(spec);
    QVERIFY(run);
    RunRecorder rec(run.get());
    QElapsedTimer clock;
    clock.start();
    run->start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.finishCount, 1, 5000);
    QVERIFY(clock.elapsed() >= config.value("ms").toInt());
    QCOMPARE(toString(rec.status), toString(status));
    QCOMPARE(rec.result, result);
}

void TstProcessors::sleepCancelAndTimeout()
{
    auto canceled = create(makeSpec(ProcessorKind::Sleep, QJsonObject{{"ms", 60000}}));
    QVERIFY(canceled);
    RunRecorder c(canceled.get());
    canceled->start();
    canceled->cancel(QStringLiteral("no longer needed"));
    QCOMPARE(c.finishCount, 1);
    QCOMPARE(toString(c.status), toString(InstanceStatus::Canceled));
    QCOMPARE(c.result, QStringLiteral("no longer needed"));

    auto timedOut = create(makeSpec(ProcessorKind::Sleep, QJsonObject{{"ms", 60000}}));
    QVERIFY(timedOut);
    RunRecorder t(timedOut.get());
    timedOut->start();
    timedOut->timeOut(250);
    QCOMPARE(t.finishCount, 1);
    QCOMPARE(toString(t.status), toString(InstanceStatus::TimedOut));
    QCOMPARE(t.result, QStringLiteral("timed out after 250 ms"));
}

void TstProcessors::invalidConfigNamesField_data()
{
    QTest::addColumn<ProcessorKind>("kind");
    QTest::addColumn<QByteArray>("config");
    QTest::addColumn<QString>("error");
    QTest::newRow("shell without script")
        << ProcessorKind::Shell << QByteArray("{}") << "processor.script: missing";
    QTest::newRow("shell script not a string")
        << ProcessorKind::Shell << QByteArray(R"({"script":5})")
        << "processor.script: expected a string";
    QTest::newRow("shell empty shell")
        << ProcessorKind::Shell << QByteArray(R"({"script":"true","shell":" "})")
        << "processor.shell: expected a shell program such as /bin/bash";
    QTest::newRow("sleep without ms")
        << ProcessorKind::Sleep << QByteArray("{}") << "processor.ms: missing";
    QTest::newRow("sleep ms text") << ProcessorKind::Sleep << QByteArray(R"({"ms":"1s"})")
                                   << "processor.ms: expected a whole number";
    QTest::newRow("sleep ms negative") << ProcessorKind::Sleep << QByteArray(R"({"ms":-1})")
                                       << "processor.ms: -1 is outside 0-31536000000";
    QTest::newRow("sleep fail not bool")
        << ProcessorKind::Sleep << QByteArray(R"({"ms":1,"fail":"yes"})")
        << "processor.fail: expected true or false";
    QTest::newRow("echo message number") << ProcessorKind::Echo << QByteArray(R"({"message":1})")
                                         << "processor.message: expected a string";
    QTest::newRow("http without url")
        << ProcessorKind::Http << QByteArray("{}") << "processor.url: missing";
    QTest::newRow("http ftp url")
        << ProcessorKind::Http << QByteArray(R"({"url":"ftp://example.com/x"})")
        << "processor.url: expected an http:// or https:// URL but got \"ftp://example.com/x\"";
    QTest::newRow("http bad method")
        << ProcessorKind::Http << QByteArray(R"({"url":"http://a/","method":"GE T"})")
        << "processor.method: expected an HTTP method such as GET or POST but got \"GE T\"";
    QTest::newRow("http header not string")
        << ProcessorKind::Http << QByteArray(R"({"url":"http://a/","headers":{"X-A":1}})")
        << "processor.headers.X-A: expected a string";
    QTest::newRow("http status out of range")
        << ProcessorKind::Http << QByteArray(R"({"url":"http://a/","expectedStatus":42})")
        << "processor.expectedStatus: 42 is outside 100-599";
    QTest::newRow("shell preScript not a string")
        << ProcessorKind::Shell << QByteArray(R"({"script":"true","preScript":[]})")
        << "processor.preScript: expected a string";
    QTest::newRow("shell postScript not a string")
        << ProcessorKind::Shell << QByteArray(R"({"script":"true","postScript":1})")
        << "processor.postScript: expected a string";
    QTest::newRow("container ref without processor")
        << ProcessorKind::Container << QByteArray(R"({"ref":"c"})")
        << "processor.ref: expected CONTAINER#PROCESSOR, got 'c'";
    QTest::newRow("container without ref")
        << ProcessorKind::Container << QByteArray("{}") << "processor.ref: missing";
    QTest::newRow("unknown built-in")
        << ProcessorKind::Container << QByteArray(R"({"ref":"builtin#sum"})")
        << "processor.ref: no built-in processor 'sum' (built-ins: echo, range-sum)";
    QTest::newRow("builtin#echo message number")
        << ProcessorKind::Container << QByteArray(R"({"ref":"builtin#echo","message":2})")
        << "processor.message: expected a string";
    QTest::newRow("range-sum without count")
        << ProcessorKind::Container << QByteArray(R"({"ref":"builtin#range-sum"})")
        << "processor.count: missing";
    QTest::newRow("range-sum count too big")
        << ProcessorKind::Container
        << QByteArray(R"({"ref":"builtin#range-sum","count":100000001})")
        << "processor.count: 100000001 is outside 1-100000000";
    QTest::newRow("range-sum levels 3")
        << ProcessorKind::Container
        << QByteArray(R"({"ref":"builtin#range-sum","count":10,"levels":3})")
        << "processor.levels: 3 is outside 1-2";
    QTest::newRow("range-sum batch 0")
        << ProcessorKind::Container
        << QByteArray(R"({"ref":"builtin#range-sum","count":10,"batch":0})")
        << "processor.batch: 0 is outside 1-1000000";
    QTest::newRow("range-sum reduceFile not a string")
        << ProcessorKind::Container
        << QByteArray(R"({"ref":"builtin#range-sum","count":10,"reduceFile":true})")
        << "processor.reduceFile: expected a string";
}

void TstProcessors::invalidConfigNamesField()
{
    QFETCH(ProcessorKind, kind);
    QFETCH(QByteArray, config);
    QFETCH(QString, error);
    const QJsonObject object = QJsonDocument::fromJson(config).object();
    QCOMPARE(validateProcessorConfig(kind, object).error(), error);
    const auto run = createProcessorRun(makeSpec(kind, object), ProcessorContext{});
    QVERIFY(!run.ok());
    QCOMPARE(run.error(), error);
}

void TstProcessors::finishedExactlyOnceEvenIfSubclassTriesTwice()
{
    RuleBreakingRun run(makeSpec(ProcessorKind::Echo, {}));
    RunRecorder rec(&run);
    run.start();
    QVERIFY(run.firstFinish);
    QVERIFY(!run.secondFinish);
    QCOMPARE(rec.finishCount, 1);
    QCOMPARE(toString(rec.status), toString(InstanceStatus::Succeeded));
    QCOMPARE(rec.result, QStringLiteral("first"));
    QCOMPARE(rec.texts(LogStream::Stdout), QStringList{"before"}); // "after" was dropped
    run.cancel(QStringLiteral("late"));
    run.timeOut(10);
    QCOMPARE(rec.finishCount, 1);
}

void TstProcessors::cancelAfterCompletionChangesNothing()
{
    auto run = create(makeSpec(ProcessorKind::Sleep, QJsonObject{{"ms", 0}}));
    QVERIFY(run);
    RunRecorder rec(run.get());
    run->start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.finishCount, 1, 5000);
    run->cancel(QStringLiteral("too late"));
    run->timeOut(1);
    QCOMPARE(rec.finishCount, 1);
    QCOMPARE(toString(rec.status), toString(InstanceStatus::Succeeded));
}

void TstProcessors::cancelRacingShellCompletionFinishesOnce()
{
    // The script exits at once while the cancel is on its way; whichever wins, one result.
    for (int i = 0; i < 5; ++i) {
        auto run = create(shellSpec(QStringLiteral("exit 0")));
        QVERIFY(run);
        RunRecorder rec(run.get());
        run->start();
        run->cancel(QStringLiteral("race"));
        QTRY_COMPARE_WITH_TIMEOUT(rec.finishCount, 1, 10000);
        QVERIFY(rec.status == InstanceStatus::Canceled || rec.status == InstanceStatus::Succeeded);
        // A second run finishing is our clock: by then the first run's process events are done.
        auto clock = create(shellSpec(QStringLiteral("true")));
        RunRecorder clockRec(clock.get());
        clock->start();
        QTRY_COMPARE_WITH_TIMEOUT(clockRec.finishCount, 1, 10000);
        QCOMPARE(rec.finishCount, 1);
    }
}

void TstProcessors::shellEnvironmentCarriesTaskIdentity()
{
    TaskSpec spec = shellSpec(
        QStringLiteral("echo \"task=$KAIROS_TASK_ID name=$KAIROS_TASK_NAME role=$KAIROS_TASK_ROLE "
                       "run=$KAIROS_TASK_ATTEMPT results=${KAIROS_RESULTS-unset}\""));
    spec.role = TaskRole::Broadcast;
    spec.mode = ExecutionMode::Broadcast;
    spec.taskName = QStringLiteral("broadcast");
    spec.taskAttempt = 3;
    // A worker started from another Kairos post-process must not pass its results on.
    qputenv("KAIROS_RESULTS", "[]");
    auto run = create(spec);
    QVERIFY(run);
    RunRecorder rec(run.get());
    run->start();
    qunsetenv("KAIROS_RESULTS");
    QTRY_COMPARE_WITH_TIMEOUT(rec.finishCount, 1, 10000);
    QCOMPARE(rec.result,
             QStringLiteral("task=7 name=broadcast role=BROADCAST run=3 results=unset"));
}

void TstProcessors::shellBroadcastScripts_data()
{
    QTest::addColumn<TaskRole>("role");
    QTest::addColumn<QString>("status");
    QTest::addColumn<QString>("result");
    QTest::newRow("pre-process runs preScript") << TaskRole::PreProcess << "SUCCEEDED"
                                                << "pre PRE_PROCESS";
    QTest::newRow("broadcast runs script") << TaskRole::Broadcast << "SUCCEEDED"
                                           << "main BROADCAST";
    QTest::newRow("post-process runs postScript with the results")
        << TaskRole::PostProcess << "FAILED"
        << "exit code 1";
}

void TstProcessors::shellBroadcastScripts()
{
    QFETCH(TaskRole, role);
    QFETCH(QString, status);
    QFETCH(QString, result);
    TaskSpec spec =
        makeSpec(ProcessorKind::Shell,
                 QJsonObject{{"script", "echo main $KAIROS_TASK_ROLE"},
                             {"preScript", "echo pre $KAIROS_TASK_ROLE"},
                             // Prints the results, then fails unless every worker succeeded.
                             {"postScript", "echo \"$KAIROS_RESULTS\"\n"
                                            "echo \"$KAIROS_RESULTS\" | grep -q FAILED && exit 1\n"
                                            "echo all good"}});
    spec.mode = ExecutionMode::Broadcast;
    spec.role = role;
    spec.results = {
        TaskResultEntry{2, "broadcast", InstanceStatus::Succeeded, "fine", "w1", "10.0.0.1", 1},
        TaskResultEntry{3, "broadcast", InstanceStatus::Failed, "worker lost: \"w2\" closed", "w2",
                        "10.0.0.2", 2}};
    auto run = create(spec);
    QVERIFY(run);
    RunRecorder rec(run.get());
    run->start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.finishCount, 1, 10000);
    QCOMPARE(toString(rec.status), status);
    QCOMPARE(rec.result, result);
    if (role != TaskRole::PostProcess)
        return;
    const QStringList out = rec.texts(LogStream::Stdout);
    QCOMPARE(out.size(), 1);
    const QJsonArray seen = QJsonDocument::fromJson(out.first().toUtf8()).array();
    QCOMPARE(seen.size(), 2);
    QCOMPARE(seen[0].toObject(), (QJsonObject{{"task", 2},
                                              {"worker", "w1"},
                                              {"address", "10.0.0.1"},
                                              {"status", "SUCCEEDED"},
                                              {"result", "fine"},
                                              {"runs", 1}}));
    QCOMPARE(seen[1].toObject(), (QJsonObject{{"task", 3},
                                              {"worker", "w2"},
                                              {"address", "10.0.0.2"},
                                              {"status", "FAILED"},
                                              {"result", "worker lost: \"w2\" closed"},
                                              {"runs", 2}}));
}

void TstProcessors::shellResultsTooLargeFailsClearly()
{
    TaskSpec spec =
        makeSpec(ProcessorKind::Shell, QJsonObject{{"script", "true"}, {"postScript", "echo ran"}});
    spec.mode = ExecutionMode::Broadcast;
    spec.role = TaskRole::PostProcess;
    for (int i = 1; i <= 30; ++i)
        spec.results << TaskResultEntry{
            i, "broadcast", InstanceStatus::Succeeded, QString(4096, QLatin1Char('r')), "w", "a",
            1};
    auto run = create(spec);
    QVERIFY(run);
    RunRecorder rec(run.get());
    run->start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.finishCount, 1, 10000);
    QCOMPARE(toString(rec.status), toString(InstanceStatus::Failed));
    QVERIFY2(rec.result.startsWith("KAIROS_RESULTS: the 30 results take ")
                 && rec.result.contains("the limit for an environment variable is 102400 bytes"),
             qPrintable(rec.result));
    QVERIFY(rec.texts(LogStream::Stdout).isEmpty()); // the script never ran
}

void TstProcessors::hooksAProcessorLacksRunTheDefault_data()
{
    QTest::addColumn<ProcessorKind>("kind");
    QTest::addColumn<QJsonObject>("config");
    QTest::addColumn<TaskRole>("role");
    QTest::addColumn<QString>("outcome");
    const QJsonObject shell{{"script", "echo should not run; exit 3"}};
    QTest::newRow("shell without preScript")
        << ProcessorKind::Shell << shell << TaskRole::PreProcess << "SUCCEEDED ";
    QTest::newRow("shell without postScript")
        << ProcessorKind::Shell << shell << TaskRole::PostProcess
        << "FAILED 1 of 2 workers succeeded";
    QTest::newRow("sleep post-process")
        << ProcessorKind::Sleep << QJsonObject{{"ms", 60000}} << TaskRole::PostProcess
        << "FAILED 1 of 2 workers succeeded";
}

void TstProcessors::hooksAProcessorLacksRunTheDefault()
{
    QFETCH(ProcessorKind, kind);
    QFETCH(QJsonObject, config);
    QFETCH(TaskRole, role);
    QFETCH(QString, outcome);
    TaskSpec spec = makeSpec(kind, config);
    spec.mode = ExecutionMode::Broadcast;
    spec.role = role;
    spec.results = {
        TaskResultEntry{2, "broadcast", InstanceStatus::Succeeded, "ok", "w1", "a1", 1},
        TaskResultEntry{3, "broadcast", InstanceStatus::TimedOut, "late", "w2", "a2", 1}};
    auto run = create(spec);
    QVERIFY(run);
    RunRecorder rec(run.get());
    run->start();
    QCOMPARE(rec.finishCount, 1); // decided at once, nothing started
    QCOMPARE(toString(rec.status) + ' ' + rec.result, outcome);
}

void TstProcessors::broadcastHooks_data()
{
    QTest::addColumn<ProcessorKind>("kind");
    QTest::addColumn<QJsonObject>("config");
    QTest::addColumn<bool>("pre");
    QTest::addColumn<bool>("post");
    QTest::newRow("shell plain") << ProcessorKind::Shell << QJsonObject{{"script", "x"}} << false
                                 << false;
    QTest::newRow("shell with both")
        << ProcessorKind::Shell
        << QJsonObject{{"script", "x"}, {"preScript", "p"}, {"postScript", "q"}} << true << true;
    QTest::newRow("shell post only")
        << ProcessorKind::Shell << QJsonObject{{"script", "x"}, {"postScript", "q"}} << false
        << true;
    QTest::newRow("shell empty preScript")
        << ProcessorKind::Shell << QJsonObject{{"script", "x"}, {"preScript", ""}} << false
        << false;
    QTest::newRow("builtin#echo (a BroadcastProcessor)")
        << ProcessorKind::Container << QJsonObject{{"ref", "builtin#echo"}} << true << true;
    QTest::newRow("builtin#range-sum (not one)")
        << ProcessorKind::Container << QJsonObject{{"ref", "builtin#range-sum"}} << false << false;
    QTest::newRow("another container ref")
        << ProcessorKind::Container << QJsonObject{{"ref", "acme#report"}} << true << true;
    QTest::newRow("echo") << ProcessorKind::Echo << QJsonObject{} << false << false;
    QTest::newRow("http") << ProcessorKind::Http << QJsonObject{{"url", "http://a/"}} << false
                          << false;
}

void TstProcessors::broadcastHooks()
{
    QFETCH(ProcessorKind, kind);
    QFETCH(QJsonObject, config);
    QFETCH(bool, pre);
    QFETCH(bool, post);
    const BroadcastHooks hooks = broadcastHooksOf(kind, config);
    QCOMPARE(hooks.preProcess, pre);
    QCOMPARE(hooks.postProcess, post);
}

void TstProcessors::processorForMode_data()
{
    QTest::addColumn<ExecutionMode>("mode");
    QTest::addColumn<ProcessorKind>("kind");
    QTest::addColumn<QJsonObject>("config");
    QTest::addColumn<QString>("error"); // empty: accepted
    const QJsonObject echo{{"ref", "builtin#echo"}};
    const QJsonObject rangeSum{{"ref", "builtin#range-sum"}, {"count", 10}};
    const QJsonObject hooks{{"script", "x"}, {"postScript", "y"}};
    QTest::newRow("standalone shell")
        << ExecutionMode::Standalone << ProcessorKind::Shell << QJsonObject{{"script", "x"}} << "";
    QTest::newRow("broadcast shell with hooks")
        << ExecutionMode::Broadcast << ProcessorKind::Shell << hooks << "";
    QTest::newRow("standalone shell with a postScript")
        << ExecutionMode::Standalone << ProcessorKind::Shell << hooks
        << "processor.postScript: only BROADCAST jobs run a postScript; this job is STANDALONE";
    QTest::newRow("broadcast builtin#echo")
        << ExecutionMode::Broadcast << ProcessorKind::Container << echo << "";
    QTest::newRow("map builtin#range-sum")
        << ExecutionMode::Map << ProcessorKind::Container << rangeSum << "";
    QTest::newRow("map-reduce builtin#range-sum")
        << ExecutionMode::MapReduce << ProcessorKind::Container << rangeSum << "";
    QTest::newRow("map shell")
        << ExecutionMode::Map << ProcessorKind::Shell << QJsonObject{{"script", "x"}}
        << "processor: a MAP job needs a CONTAINER processor that can map (an SDK MapProcessor "
           "such as builtin#range-sum); SHELL cannot";
    QTest::newRow("map-reduce echo")
        << ExecutionMode::MapReduce << ProcessorKind::Echo << QJsonObject{}
        << "processor: a MAP_REDUCE job needs a CONTAINER processor that implements reduce (an "
           "SDK MapReduceProcessor such as builtin#range-sum); ECHO cannot";
    QTest::newRow("map-reduce builtin#echo")
        << ExecutionMode::MapReduce << ProcessorKind::Container << echo
        << "processor: a MAP_REDUCE job needs a CONTAINER processor that implements reduce (an "
           "SDK MapReduceProcessor such as builtin#range-sum); builtin#echo does not";
    QTest::newRow("map malformed container ref")
        << ExecutionMode::Map << ProcessorKind::Container << QJsonObject{{"ref", "acme#"}}
        << "processor.ref: expected CONTAINER#PROCESSOR, got 'acme#'";
}

void TstProcessors::processorForMode()
{
    QFETCH(ExecutionMode, mode);
    QFETCH(ProcessorKind, kind);
    QFETCH(QJsonObject, config);
    QFETCH(QString, error);
    const Status s = validateProcessorForMode(mode, kind, config);
    QCOMPARE(s.error(), error);
    QCOMPARE(s.ok(), error.isEmpty());
}

void TstProcessors::builtinsHaveTheirShapes()
{
    QStringList names;
    for (const BuiltinProcessor &b : builtinProcessors())
        names << b.entry.name;
    QCOMPARE(names, (QStringList{"echo", "range-sum"}));
    const BuiltinProcessor *echo = findBuiltinProcessor("echo");
    QVERIFY(echo && echo->shape.broadcast && !echo->shape.map && !echo->shape.reduce);
    const BuiltinProcessor *sum = findBuiltinProcessor("range-sum");
    QVERIFY(sum && !sum->shape.broadcast && sum->shape.map && sum->shape.reduce);
    QVERIFY(!findBuiltinProcessor("builtin#echo")); // names, not refs
    QVERIFY(!sum->entry.description.isEmpty());
}

QTEST_GUILESS_MAIN(TstProcessors)
#include "tst_processors.moc"
