// kairosctl's command line: which admin method and JSON parameters each command sends, the exact
// usage errors of bad flags, job files (an exported job imports back), and where the connection
// settings come from.
#include <command_line.h>
#include <connection_settings.h>
#include <core/job.h>

#include <QJsonDocument>
#include <QTemporaryDir>
#include <QTest>

using namespace kairos;
using namespace kairos::cli;

namespace {

QJsonObject json(const char *text)
{
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(QByteArray(text), &error);
    if (error.error != QJsonParseError::NoError)
        qFatal("bad JSON in test data: %s", text);
    return doc.object();
}

QString compact(const QJsonObject &o)
{
    return QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact));
}

// A reader that serves files from a map and records what was asked for.
struct FakeFiles {
    QHash<QString, QByteArray> files;
    QStringList asked;
    FileReader reader()
    {
        return [this](const QString &path) -> Result<QByteArray> {
            asked << path;
            if (!files.contains(path))
                return makeError(QStringLiteral("cannot read: No such file or directory"));
            return files.value(path);
        };
    }
};

ParsedCommandLine parse(const QStringList &args, FakeFiles *files = nullptr)
{
    static FakeFiles none;
    return parseCommandLine(args, (files ? files : &none)->reader());
}

Job richJob()
{
    Job job;
    job.id = 42;
    job.name = QStringLiteral("nightly-report");
    job.description = QStringLiteral("builds the report");
    job.app = QStringLiteral("reports");
    job.timingType = TimingType::Cron;
    job.timingExpression = QStringLiteral("0 30 2 * * ?");
    job.timeZone = QStringLiteral("Europe/Berlin");
    job.windowStartMs = 1700000000000;
    job.misfirePolicy = MisfirePolicy::FireAll;
    job.misfireMaxFires = 7;
    job.processor = ProcessorKind::Shell;
    job.processorConfig = QJsonObject{{QStringLiteral("script"), QStringLiteral("make report")},
                                      {QStringLiteral("shell"), QStringLiteral("/bin/sh")}};
    job.params = QStringLiteral("{\"day\":\"today\"}");
    job.dispatch.strategy = DispatchStrategy::Specified;
    job.dispatch.targets = {QStringLiteral("tag:batch")};
    job.maxConcurrentInstances = 3;
    job.retryCount = 2;
    job.retryBackoffMs = 5000;
    job.timeoutMs = 600000;
    job.enabled = false;
    job.version = 9;
    job.createdAtMs = 1700000000001;
    job.updatedAtMs = 1700000000002;
    return job;
}

} // namespace

class TestCliCommandLine : public QObject {
    Q_OBJECT

private slots:
    void requests_data();
    void requests();
    void usageErrors_data();
    void usageErrors();
    void globalOptionsAnywhere();
    void instanceListByJobName();
    void runWaitOptions();
    void instanceTasksAction();
    void cronNextOptions();
    void helpAndVersion();
    void exportedJobImportsBack();
    void fileWithOverridingFlags();
    void updateFromExportChecksVersion();
    void fileErrors();
    void jobReferences();
    void endpointDefaultsAndEnvironment();
    void endpointErrors();
};

void TestCliCommandLine::requests_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("method");
    QTest::addColumn<QString>("params");

    QTest::newRow("create without timing is API-only")
        << QStringList{"job", "create", "--name", "x", "--echo", "hi"} << "job.create"
        << R"({"job":{"name":"x","processor":{"message":"hi","type":"ECHO"},"timing":{"type":"API"}}})";
    QTest::newRow("create cron shell, every option")
        << QStringList{"job",
                       "create",
                       "--name",
                       "nightly",
                       "--cron",
                       "0 0 2 * * ?",
                       "--tz",
                       "Europe/Berlin",
                       "--shell",
                       "echo hi",
                       "--retries",
                       "3",
                       "--retry-backoff",
                       "500",
                       "--timeout",
                       "60000",
                       "--max-instances",
                       "2",
                       "--misfire",
                       "skip",
                       "--params",
                       "{\"a\":1}",
                       "--disabled",
                       "--description",
                       "the nightly one"}
        << "job.create" << compact(json(R"({"job":{"name":"nightly","description":"the nightly one",
            "enabled":false,"params":"{\"a\":1}",
            "timing":{"type":"CRON","expression":"0 0 2 * * ?","timeZone":"Europe/Berlin",
                      "misfirePolicy":"SKIP"},
            "processor":{"type":"SHELL","script":"echo hi"},
            "limits":{"retryCount":3,"retryBackoffMs":500,"timeoutMs":60000,
                      "maxConcurrentInstances":2}}})"));
    QTest::newRow("create rate echo")
        << QStringList{"job", "create", "--name", "tick", "--rate", "30s", "--echo", "hello"}
        << "job.create"
        << compact(json(R"({"job":{"name":"tick","timing":{"type":"FIXED_RATE","expression":"30s"},
            "processor":{"type":"ECHO","message":"hello"}}})"));
    QTest::newRow("create delay sleep, --flag=value form")
        << QStringList{"job",        "create",      "--name=pause",
                       "--delay=5m", "--sleep=250", "--misfire=FIRE_ALL"}
        << "job.create" << compact(json(R"({"job":{"name":"pause","timing":{"type":"FIXED_DELAY",
            "expression":"5m","misfirePolicy":"FIRE_ALL"},"processor":{"type":"SLEEP","ms":250}}})"));
    QTest::newRow("create one-shot http with method")
        << QStringList{"job",      "create",
                       "--name",   "ping",
                       "--at",     "2030-01-01T00:00:00Z",
                       "--http",   "http://127.0.0.1:9/x",
                       "--method", "post"}
        << "job.create" << compact(json(R"({"job":{"name":"ping","timing":{"type":"ONE_SHOT",
            "expression":"2030-01-01T00:00:00Z"},
            "processor":{"type":"HTTP","url":"http://127.0.0.1:9/x","method":"POST"}}})"));
    QTest::newRow("create api")
        << QStringList{"job", "create", "--api", "--name", "manual", "--echo", "x"} << "job.create"
        << compact(json(R"({"job":{"name":"manual","timing":{"type":"API","expression":""},
            "processor":{"type":"ECHO","message":"x"}}})"));
    QTest::newRow("create broadcast with task retries")
        << QStringList{"job",     "create",        "--name", "cleanup",   "--api",
                       "--shell", "rm -rf /tmp/x", "--mode", "broadcast", "--task-retries",
                       "2",       "--max-workers", "5"}
        << "job.create" << compact(json(R"({"job":{"name":"cleanup","mode":"BROADCAST",
            "timing":{"type":"API","expression":""},
            "processor":{"type":"SHELL","script":"rm -rf /tmp/x"},
            "dispatch":{"taskRetries":2,"maxWorkers":5}}})"));
    QTest::newRow("update mode only")
        << QStringList{"job", "update", "7", "--mode", "map-reduce"} << "job.update"
        << compact(json(R"({"id":7,"patch":{"mode":"MAP_REDUCE"}})"));
    QTest::newRow("update task retries only")
        << QStringList{"job", "update", "7", "--task-retries", "0"} << "job.update"
        << compact(json(R"({"id":7,"patch":{"dispatch":{"taskRetries":0}}})"));
    QTest::newRow("update by id, one limit")
        << QStringList{"job", "update", "7", "--retries", "5"} << "job.update"
        << compact(json(R"({"id":7,"patch":{"limits":{"retryCount":5}}})"));
    QTest::newRow("update by name, new timing")
        << QStringList{"job", "update", "nightly", "--cron", "*/5 * * * *"} << "job.update"
        << compact(json(R"({"name":"nightly","patch":{"timing":{"type":"CRON",
            "expression":"*/5 * * * *"}}})"));
    QTest::newRow("update zone only")
        << QStringList{"job", "update", "nightly", "--tz", "UTC", "--disabled"} << "job.update"
        << compact(json(R"({"name":"nightly","patch":{"enabled":false,
            "timing":{"timeZone":"UTC"}}})"));
    QTest::newRow("list") << QStringList{"job", "list"} << "job.list"
                          << "{}";
    QTest::newRow("show by id") << QStringList{"job", "show", "12"} << "job.get"
                                << R"({"id":12})";
    QTest::newRow("show by name") << QStringList{"job", "show", "nightly"} << "job.get"
                                  << R"({"name":"nightly"})";
    QTest::newRow("enable") << QStringList{"job", "enable", "3"} << "job.enable"
                            << R"({"id":3})";
    QTest::newRow("disable") << QStringList{"job", "disable", "x"} << "job.disable"
                             << R"({"name":"x"})";
    QTest::newRow("delete") << QStringList{"job", "delete", "3"} << "job.delete"
                            << R"({"id":3})";
    QTest::newRow("run") << QStringList{"job", "run", "nightly", "--params", "p=1", "--count", "3"}
                         << "job.run"
                         << R"({"count":3,"name":"nightly","params":"p=1"})";
    QTest::newRow("run plain") << QStringList{"job", "run", "4"} << "job.run"
                               << R"({"id":4})";
    QTest::newRow("instance list, every filter")
        << QStringList{"instance", "list", "--job",   "3",  "--status", "failed,timed-out",
                       "--worker", "w1",   "--limit", "50", "--before", "900"}
        << "instance.list"
        << compact(json(R"({"jobId":3,"statuses":["FAILED","TIMED_OUT"],"worker":"w1",
            "limit":50,"beforeId":900})"));
    QTest::newRow("instance list") << QStringList{"instance", "list"} << "instance.list"
                                   << "{}";
    QTest::newRow("instance show") << QStringList{"instance", "show", "5"} << "instance.get"
                                   << R"({"id":5})";
    QTest::newRow("instance tasks") << QStringList{"instance", "tasks", "42"} << "instance.tasks"
                                    << R"({"id":42})";
    QTest::newRow("instance tasks, every option")
        << QStringList{"instance", "tasks", "42",      "--status", "failed, timed-out",
                       "--after",  "1000",  "--limit", "50"}
        << "instance.tasks"
        << compact(json(R"({"id":42,"status":["FAILED","TIMED_OUT"],"after":1000,"limit":50})"));
    QTest::newRow("instance tasks --all pages by 1000")
        << QStringList{"instance", "tasks", "42", "--all", "--status", "RUNNING"}
        << "instance.tasks" << compact(json(R"({"id":42,"status":["RUNNING"],"limit":1000})"));
    QTest::newRow("instance tasks --all with a page size")
        << QStringList{"instance", "tasks", "--all", "42", "--limit", "10", "--json"}
        << "instance.tasks" << compact(json(R"({"id":42,"limit":10})"));
    QTest::newRow("instance cancel") << QStringList{"instance", "cancel", "6"} << "instance.cancel"
                                     << R"({"id":6})";
    QTest::newRow("instance retry") << QStringList{"instance", "retry", "7"} << "instance.retry"
                                    << R"({"id":7})";
    QTest::newRow("server info") << QStringList{"server", "info"} << "server.info"
                                 << "{}";
    QTest::newRow("app create") << QStringList{"app", "create", "billing"} << "app.create"
                                << R"({"name":"billing"})";
    QTest::newRow("app rotate-secret")
        << QStringList{"app", "rotate-secret", "default", "--json"} << "app.rotateSecret"
        << R"({"name":"default"})";
    QTest::newRow("app list") << QStringList{"app", "list"} << "app.list"
                              << "{}";
    QTest::newRow("worker list") << QStringList{"worker", "list", "--json"} << "worker.list"
                                 << "{}";
}

void TestCliCommandLine::requests()
{
    QFETCH(QStringList, args);
    QFETCH(QString, method);
    QFETCH(QString, params);
    const ParsedCommandLine p = parse(args);
    QVERIFY2(p.ok(), qPrintable(p.error));
    QCOMPARE(p.invocation.action.method, method);
    QCOMPARE(compact(p.invocation.action.params), params);
    QCOMPARE(p.invocation.command, args.at(0) + u' ' + args.at(1));
    QVERIFY(p.invocation.needsServer());
}

void TestCliCommandLine::usageErrors_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("error");
    QTest::addColumn<QString>("command"); // whose usage is shown

    QTest::newRow("no processor")
        << QStringList{"job", "create", "--name", "x", "--cron", "* * * * *"}
        << "one of --shell, --http, --echo, --sleep, --container is required (what the job runs)"
        << "job create";
    QTest::newRow("no name") << QStringList{"job", "create", "--echo", "hi", "--api"}
                             << "--name: required (or give the whole job with --file)"
                             << "job create";
    QTest::newRow("empty name") << QStringList{"job", "create", "--name", " ", "--api"}
                                << "--name: must not be empty"
                                << "job create";
    QTest::newRow("two timings")
        << QStringList{"job", "create", "--name", "x", "--cron", "a", "--rate", "5s", "--echo", "e"}
        << "--cron and --rate cannot be combined; give one of --cron, --rate, --delay, --at, "
           "--api"
        << "job create";
    QTest::newRow("two processors")
        << QStringList{"job", "update", "3", "--echo", "e", "--shell", "true"}
        << "--echo and --shell cannot be combined; give one of --shell, --http, --echo, --sleep, "
           "--container"
        << "job update";
    QTest::newRow("sleep not a number")
        << QStringList{"job", "create", "--name", "x", "--api", "--sleep", "abc"}
        << "--sleep: expected a whole number from 0 to 2147483647, got \"abc\""
        << "job create";
    QTest::newRow("negative retries")
        << QStringList{"job", "update", "3", "--retries", "-1"}
        << "--retries: expected a whole number from 0 to 2147483647, got \"-1\""
        << "job update";
    QTest::newRow("method without http")
        << QStringList{"job", "create", "--name", "x", "--api", "--echo", "e", "--method", "GET"}
        << "--method: only with --http URL"
        << "job create";
    QTest::newRow("bad misfire") << QStringList{"job",    "create", "--name",    "x",    "--api",
                                                "--echo", "e",      "--misfire", "never"}
                                 << "--misfire: expected fire-once, skip or fire-all, got \"never\""
                                 << "job create";
    QTest::newRow("value forgotten") << QStringList{"job", "create", "--name", "--api"}
                                     << "--name: missing value (got the option --api)"
                                     << "job create";
    QTest::newRow("value missing at end")
        << QStringList{"job", "run", "3", "--params"} << "--params: missing value"
        << "job run";
    QTest::newRow("flag twice") << QStringList{"job", "run", "3", "--count", "1", "--count", "2"}
                                << "--count: given twice"
                                << "job run";
    QTest::newRow("count zero") << QStringList{"job", "run", "3", "--count", "0"}
                                << "--count: expected a whole number from 1 to 100000, got \"0\""
                                << "job run";
    QTest::newRow("timeout without wait")
        << QStringList{"job", "run", "3", "--timeout-s", "5"} << "--timeout-s: only with --wait"
        << "job run";
    QTest::newRow("missing job") << QStringList{"job", "run"} << "missing argument ID|NAME"
                                 << "job run";
    QTest::newRow("extra argument")
        << QStringList{"job", "show", "a", "b"} << "unexpected argument \"b\""
        << "job show";
    QTest::newRow("unknown job command")
        << QStringList{"job", "frobnicate"}
        << "job: unknown command \"frobnicate\"; expected one of create, update, list, show, "
           "enable, disable, delete, run"
        << "job";
    QTest::newRow("missing job command")
        << QStringList{"instance"}
        << "instance: missing command; expected one of list, show, logs, tasks, cancel, retry"
        << "instance";
    QTest::newRow("unknown group")
        << QStringList{"jobs", "list"}
        << "unknown command \"jobs\"; expected job, instance, container, app, worker, cron, server "
           "or help"
        << "";
    QTest::newRow("no command") << QStringList{} << "missing command"
                                << "";
    QTest::newRow("only globals") << QStringList{"--json"} << "missing command"
                                  << "";
    QTest::newRow("command option before the command")
        << QStringList{"--wait", "job", "run", "3"}
        << "unknown option --wait (before the command, only global options are allowed)"
        << "";
    QTest::newRow("bad status")
        << QStringList{"instance", "list", "--status", "FAILED,done"}
        << "--status: unknown state \"done\"; expected one of WAITING_DISPATCH, WAITING_WORKER, "
           "DISPATCHED, RUNNING, SUCCEEDED, FAILED, TIMED_OUT, CANCELED, SKIPPED"
        << "instance list";
    QTest::newRow("bad mode")
        << QStringList{"job", "update", "7", "--mode", "fanout"}
        << "--mode: expected standalone, broadcast, map or map-reduce, got \"fanout\""
        << "job update";
    QTest::newRow("task retries above 100")
        << QStringList{"job", "update", "7", "--task-retries", "101"}
        << "--task-retries: expected a whole number from 0 to 100, got \"101\""
        << "job update";
    QTest::newRow("tasks: bad status")
        << QStringList{"instance", "tasks", "4", "--status", "FAILED,done"}
        << "--status: unknown task state \"done\"; expected one of WAITING_DISPATCH, DISPATCHED, "
           "RUNNING, SUCCEEDED, FAILED, TIMED_OUT, CANCELED"
        << "instance tasks";
    QTest::newRow("tasks: an instance-only state")
        << QStringList{"instance", "tasks", "4", "--status", "WAITING_WORKER"}
        << "--status: unknown task state \"WAITING_WORKER\"; expected one of WAITING_DISPATCH, "
           "DISPATCHED, RUNNING, SUCCEEDED, FAILED, TIMED_OUT, CANCELED"
        << "instance tasks";
    QTest::newRow("tasks: empty status")
        << QStringList{"instance", "tasks", "4", "--status", ","}
        << "--status: expected one or more states such as FAILED,TIMED_OUT"
        << "instance tasks";
    QTest::newRow("tasks: limit above a page")
        << QStringList{"instance", "tasks", "4", "--limit", "1001"}
        << "--limit: expected a whole number from 1 to 1000, got \"1001\""
        << "instance tasks";
    QTest::newRow("tasks: negative after")
        << QStringList{"instance", "tasks", "4", "--after", "-1"}
        << "--after: expected a whole number 0 or more, got \"-1\""
        << "instance tasks";
    QTest::newRow("tasks: no id") << QStringList{"instance", "tasks", "--all"}
                                  << "missing argument ID"
                                  << "instance tasks";
    QTest::newRow("tasks: id zero") << QStringList{"instance", "tasks", "0"}
                                    << "ID: expected a whole number 1 or more, got \"0\""
                                    << "instance tasks";
    QTest::newRow("tasks: --follow is for logs")
        << QStringList{"instance", "tasks", "4", "--follow"} << "unknown option --follow"
        << "instance tasks";
    QTest::newRow("limit too big") << QStringList{"instance", "list", "--limit", "20000"}
                                   << "--limit: expected a whole number from 1 to 10000, got "
                                      "\"20000\""
                                   << "instance list";
    QTest::newRow("instance id not a number")
        << QStringList{"instance", "show", "abc"}
        << "ID: expected a whole number 1 or more, got \"abc\""
        << "instance show";
    QTest::newRow("unknown option")
        << QStringList{"job", "list", "--bogus"} << "unknown option --bogus"
        << "job list";
    QTest::newRow("unknown short option") << QStringList{"job", "list", "-x"} << "unknown option -x"
                                          << "job list";
    QTest::newRow("switch with value")
        << QStringList{"job", "list", "--json=yes"} << "--json: takes no value"
        << "job list";
    QTest::newRow("nothing to update")
        << QStringList{"job", "update", "3"}
        << "nothing to change: give --file F or job options such as --cron or --retries"
        << "job update";
    QTest::newRow("logs option elsewhere")
        << QStringList{"instance", "show", "3", "--follow"} << "unknown option --follow"
        << "instance show";
    QTest::newRow("app create without a name")
        << QStringList{"app", "create"} << "missing argument NAME"
        << "app create";
    QTest::newRow("app rotate-secret with two names")
        << QStringList{"app", "rotate-secret", "a", "b"} << "unexpected argument \"b\""
        << "app rotate-secret";
    QTest::newRow("unknown app command")
        << QStringList{"app", "delete", "a"}
        << "app: unknown command \"delete\"; expected one of create, list, rotate-secret"
        << "app";
    QTest::newRow("worker list takes no argument")
        << QStringList{"worker", "list", "w1"} << "unexpected argument \"w1\""
        << "worker list";
    QTest::newRow("missing worker command")
        << QStringList{"worker"} << "worker: missing command; expected one of list"
        << "worker";
    QTest::newRow("cron without expression")
        << QStringList{"cron", "next", "--tz", "UTC"} << "missing argument EXPR"
        << "cron next";
    QTest::newRow("cron batch with zone")
        << QStringList{"cron", "next", "--batch", "--tz", "UTC"}
        << "--tz: not with --batch (each input line gives EXPR<TAB>ZONE<TAB>FROM_EPOCH_MS)"
        << "cron next";
    QTest::newRow("cron from not a number")
        << QStringList{"cron", "next", "* * * * *", "--from", "yesterday"}
        << "--from: expected a whole number from -62135596800000 to 253402300799999, got "
           "\"yesterday\""
        << "cron next";
}

void TestCliCommandLine::usageErrors()
{
    QFETCH(QStringList, args);
    QFETCH(QString, error);
    QFETCH(QString, command);
    const ParsedCommandLine p = parse(args);
    QVERIFY(!p.ok());
    QCOMPARE(p.error, error);
    QCOMPARE(p.invocation.command, command);
}

void TestCliCommandLine::globalOptionsAnywhere()
{
    const ParsedCommandLine before =
        parse({"--server", "10.0.0.5:7000", "--user=ops", "--json", "job", "list"});
    QVERIFY2(before.ok(), qPrintable(before.error));
    QCOMPARE(before.invocation.global.server, QStringLiteral("10.0.0.5:7000"));
    QCOMPARE(before.invocation.global.user, QStringLiteral("ops"));
    QVERIFY(before.invocation.global.json);
    QVERIFY(!before.invocation.global.tls);

    const ParsedCommandLine after = parse(
        {"job", "show", "3", "--json", "--password-file", "/tmp/pw", "--tls-ca", "/tmp/ca.pem"});
    QVERIFY2(after.ok(), qPrintable(after.error));
    QVERIFY(after.invocation.global.json);
    QCOMPARE(after.invocation.global.passwordFile, QStringLiteral("/tmp/pw"));
    QVERIFY(after.invocation.global.tls); // --tls-ca implies TLS
    QCOMPARE(after.invocation.action.params, json(R"({"id":3})"));

    // A job called like a global option's value is still a job.
    const ParsedCommandLine named = parse({"--user", "job", "job", "show", "list"});
    QVERIFY2(named.ok(), qPrintable(named.error));
    QCOMPARE(named.invocation.global.user, QStringLiteral("job"));
    QCOMPARE(named.invocation.action.params, json(R"({"name":"list"})"));

    // "--" ends the options: a job whose name starts with a dash.
    const ParsedCommandLine dashed = parse({"job", "show", "--", "--odd"});
    QVERIFY2(dashed.ok(), qPrintable(dashed.error));
    QCOMPARE(dashed.invocation.action.params, json(R"({"name":"--odd"})"));
}

void TestCliCommandLine::instanceListByJobName()
{
    const ParsedCommandLine p = parse({"instance", "list", "--job", "nightly", "--limit", "5"});
    QVERIFY2(p.ok(), qPrintable(p.error));
    QCOMPARE(p.invocation.action.kind, ActionKind::InstanceList);
    // The name is resolved to an id by the runner (instance.list filters by id only).
    QCOMPARE(p.invocation.action.jobName, QStringLiteral("nightly"));
    QCOMPARE(p.invocation.action.params, json(R"({"limit":5})"));
}

void TestCliCommandLine::runWaitOptions()
{
    const ParsedCommandLine p = parse({"job", "run", "3", "--wait", "--timeout-s", "30"});
    QVERIFY2(p.ok(), qPrintable(p.error));
    QCOMPARE(p.invocation.action.kind, ActionKind::RunJob);
    QVERIFY(p.invocation.action.wait);
    QCOMPARE(p.invocation.action.waitTimeoutS, 30);

    const ParsedCommandLine logs = parse({"instance", "logs", "17", "--follow"});
    QVERIFY2(logs.ok(), qPrintable(logs.error));
    QCOMPARE(logs.invocation.action.kind, ActionKind::InstanceLogs);
    QCOMPARE(logs.invocation.action.instanceId, 17);
    QVERIFY(logs.invocation.action.follow);
}

void TestCliCommandLine::cronNextOptions()
{
    const ParsedCommandLine p =
        parse({"cron", "next", "0 0 12 * * ?", "--tz", "UTC", "--from", "0", "--count", "3"});
    QVERIFY2(p.ok(), qPrintable(p.error));
    const Action &a = p.invocation.action;
    QCOMPARE(a.kind, ActionKind::CronNext);
    QCOMPARE(a.cronExpression, QStringLiteral("0 0 12 * * ?"));
    QCOMPARE(a.timeZone, QStringLiteral("UTC"));
    QCOMPARE(a.fromMs, std::optional<qint64>(0));
    QCOMPARE(a.count, 3);
    QVERIFY(!p.invocation.needsServer());

    // Defaults: 10 times from now; unquoted words are joined back into the expression.
    const ParsedCommandLine words = parse({"cron", "next", "0", "0", "12", "*", "*", "?"});
    QVERIFY2(words.ok(), qPrintable(words.error));
    QCOMPARE(words.invocation.action.cronExpression, QStringLiteral("0 0 12 * * ?"));
    QCOMPARE(words.invocation.action.count, 10);
    QVERIFY(!words.invocation.action.fromMs.has_value());

    const ParsedCommandLine batch = parse({"cron", "next", "--batch", "--count", "4"});
    QVERIFY2(batch.ok(), qPrintable(batch.error));
    QCOMPARE(batch.invocation.action.kind, ActionKind::CronBatch);
    QCOMPARE(batch.invocation.action.count, 4);
}

void TestCliCommandLine::instanceTasksAction()
{
    const ParsedCommandLine one = parse({"instance", "tasks", "42"});
    QVERIFY2(one.ok(), qPrintable(one.error));
    QCOMPARE(one.invocation.action.kind, ActionKind::InstanceTasks);
    QCOMPARE(one.invocation.action.instanceId, 42);
    QVERIFY(!one.invocation.action.allPages);

    const ParsedCommandLine all = parse({"--json", "instance", "tasks", "42", "--all"});
    QVERIFY2(all.ok(), qPrintable(all.error));
    QVERIFY(all.invocation.action.allPages);
    QVERIFY(all.invocation.global.json);
}

void TestCliCommandLine::helpAndVersion()
{
    const ParsedCommandLine general = parse({"--help"});
    QVERIFY(general.ok());
    QCOMPARE(general.invocation.action.kind, ActionKind::Help);
    for (const char *command : {"job create", "job run", "instance logs", "cron next",
                                "server info", "KAIROS_PASSWORD_FILE", "Exit codes"})
        QVERIFY2(general.invocation.action.text.contains(QLatin1String(command)), command);

    const ParsedCommandLine run = parse({"job", "run", "--help"});
    QVERIFY(run.ok());
    QVERIFY(run.invocation.action.text.startsWith(
        "Usage: kairosctl [GLOBAL OPTIONS] job run ID|NAME [--params P] [--count N] [--wait "
        "[--timeout-s S]]\n"));
    QVERIFY(run.invocation.action.text.contains("--timeout-s S"));

    const ParsedCommandLine create = parse({"help", "job", "create"});
    QVERIFY(create.ok());
    QVERIFY(create.invocation.action.text.contains("--retry-backoff MS"));

    const ParsedCommandLine group = parse({"job", "-h"});
    QVERIFY(group.ok());
    QVERIFY(group.invocation.action.text.contains("job delete ID|NAME"));
    QVERIFY(!group.invocation.action.text.contains("instance logs"));

    const ParsedCommandLine tasks = parse({"instance", "tasks", "--help"});
    QVERIFY(tasks.ok());
    QVERIFY(tasks.invocation.action.text.startsWith(
        "Usage: kairosctl [GLOBAL OPTIONS] instance tasks ID [--status S[,S]] [--after K] "
        "[--limit N] [--all]\n"));
    for (const char *text : {"--all", "RUNS", "STANDALONE", "docs/execution-modes.md"})
        QVERIFY2(tasks.invocation.action.text.contains(QLatin1String(text)), text);
    QVERIFY(general.invocation.action.text.contains("instance tasks ID"));

    const ParsedCommandLine version = parse({"--version"});
    QVERIFY(version.ok());
    QCOMPARE(version.invocation.action.kind, ActionKind::Version);
}

void TestCliCommandLine::exportedJobImportsBack()
{
    // What `job show --json` prints: the job document plus the server's nextFireMs.
    const Job original = richJob();
    QJsonObject exported = jobToJson(original);
    exported[QStringLiteral("nextFireMs")] = qint64(1700000100000);
    FakeFiles files;
    files.files.insert(QStringLiteral("job.json"), QJsonDocument(exported).toJson());

    const ParsedCommandLine p = parse({"job", "create", "--file", "job.json"}, &files);
    QVERIFY2(p.ok(), qPrintable(p.error));
    QCOMPARE(files.asked, QStringList{"job.json"});
    QCOMPARE(p.invocation.action.method, QStringLiteral("job.create"));
    const QJsonObject sent = p.invocation.action.params.value(QStringLiteral("job")).toObject();
    for (const char *field : {"id", "version", "createdAtMs", "updatedAtMs", "nextFireMs"})
        QVERIFY2(!sent.contains(QLatin1String(field)), field);

    // The server reads it with jobFromJson: everything the user defined survives.
    auto imported = jobFromJson(sent);
    QVERIFY2(imported.ok(), qPrintable(imported.error()));
    Job expected = original;
    expected.id = 0;
    expected.version = 0;
    expected.createdAtMs = 0;
    expected.updatedAtMs = 0;
    QCOMPARE(jobToJson(*imported), jobToJson(expected));

    // The same from stdin.
    files.files.insert(QStringLiteral("-"), QJsonDocument(exported).toJson());
    const ParsedCommandLine fromStdin = parse({"job", "create", "--file", "-"}, &files);
    QVERIFY2(fromStdin.ok(), qPrintable(fromStdin.error));
    QCOMPARE(fromStdin.invocation.action.params, p.invocation.action.params);
}

void TestCliCommandLine::fileWithOverridingFlags()
{
    FakeFiles files;
    files.files.insert(QStringLiteral("job.json"), QJsonDocument(jobToJson(richJob())).toJson());
    const ParsedCommandLine p = parse({"job", "create", "--file", "job.json", "--name", "copy",
                                       "--tz", "UTC", "--retries", "0", "--echo", "hi"},
                                      &files);
    QVERIFY2(p.ok(), qPrintable(p.error));
    auto job = jobFromJson(p.invocation.action.params.value(QStringLiteral("job")).toObject());
    QVERIFY2(job.ok(), qPrintable(job.error()));
    QCOMPARE(job->name, QStringLiteral("copy"));
    QCOMPARE(job->timeZone, QStringLiteral("UTC"));
    QCOMPARE(job->timingExpression, QStringLiteral("0 30 2 * * ?")); // kept from the file
    QCOMPARE(job->retryCount, 0);
    QCOMPARE(job->timeoutMs, 600000); // kept: limits merge field by field
    QCOMPARE(toString(job->processor), QStringLiteral("ECHO"));
    // The processor is replaced whole: no leftover "script" from the shell processor.
    QCOMPARE(job->processorConfig,
             QJsonObject({{QStringLiteral("message"), QStringLiteral("hi")}}));
}

void TestCliCommandLine::updateFromExportChecksVersion()
{
    FakeFiles files;
    files.files.insert(QStringLiteral("patch.json"),
                       R"({"version": 4, "limits": {"retryCount": 1}, "id": 99})");
    const ParsedCommandLine p =
        parse({"job", "update", "nightly", "--file", "patch.json", "--timeout", "1000"}, &files);
    QVERIFY2(p.ok(), qPrintable(p.error));
    QCOMPARE(compact(p.invocation.action.params),
             compact(json(R"({"name":"nightly","expectedVersion":4,
                 "patch":{"limits":{"retryCount":1,"timeoutMs":1000}}})")));
}

void TestCliCommandLine::fileErrors()
{
    FakeFiles files;
    files.files.insert(QStringLiteral("bad.json"), "{\"name\": ");
    files.files.insert(QStringLiteral("list.json"), "[1, 2]");

    ParsedCommandLine p = parse({"job", "create", "--file", "missing.json"}, &files);
    QCOMPARE(p.error,
             QStringLiteral("--file missing.json: cannot read: No such file or directory"));
    QCOMPARE(p.invocation.command, QStringLiteral("job create"));

    p = parse({"job", "create", "--file", "bad.json"}, &files);
    QVERIFY2(p.error.startsWith("--file bad.json: not valid JSON: "), qPrintable(p.error));
    QVERIFY2(p.error.contains(" at offset "), qPrintable(p.error));

    p = parse({"job", "update", "3", "--file", "list.json"}, &files);
    QCOMPARE(p.error, QStringLiteral("--file list.json: expected a JSON object (a job)"));
}

void TestCliCommandLine::jobReferences()
{
    QCOMPARE(jobReference("12"), json(R"({"id":12})"));
    QCOMPARE(jobReference(" 12 "), json(R"({"id":12})"));
    QCOMPARE(jobReference("12a"), json(R"({"name":"12a"})"));
    QCOMPARE(jobReference("nightly report"), json(R"({"name":"nightly report"})"));
}

void TestCliCommandLine::endpointDefaultsAndEnvironment()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString pwFile = dir.filePath(QStringLiteral("admin.password"));
    {
        QFile f(pwFile);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("s3cret pass\r\nsecond line\n");
    }

    GlobalOptions options;
    options.passwordFile = pwFile;
    auto ep = resolveEndpoint(options, {});
    QVERIFY2(ep.ok(), qPrintable(ep.error()));
    QCOMPARE(ep->host, QStringLiteral("127.0.0.1"));
    QCOMPARE(ep->port, quint16(7070));
    QCOMPARE(ep->user, QStringLiteral("admin"));
    QCOMPARE(ep->password, QStringLiteral("s3cret pass"));
    QVERIFY(!ep->tls.enabled);

    ConnectionEnvironment env{QStringLiteral("kairos.example:9000"), QStringLiteral("ops"), pwFile};
    ep = resolveEndpoint(GlobalOptions{}, env);
    QVERIFY2(ep.ok(), qPrintable(ep.error()));
    QCOMPARE(ep->host, QStringLiteral("kairos.example"));
    QCOMPARE(ep->port, quint16(9000));
    QCOMPARE(ep->user, QStringLiteral("ops"));
    QCOMPARE(ep->password, QStringLiteral("s3cret pass"));

    // Flags win over the environment.
    options.server = QStringLiteral("[::1]:7071");
    options.user = QStringLiteral("root");
    options.tls = true;
    ep = resolveEndpoint(options, env);
    QVERIFY2(ep.ok(), qPrintable(ep.error()));
    QCOMPARE(ep->host, QStringLiteral("::1"));
    QCOMPARE(ep->port, quint16(7071));
    QCOMPARE(ep->user, QStringLiteral("root"));
    QVERIFY(ep->tls.enabled);
}

void TestCliCommandLine::endpointErrors()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString empty = dir.filePath(QStringLiteral("empty"));
    {
        QFile f(empty);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("\nsecret on the second line\n");
    }

    auto ep = resolveEndpoint(GlobalOptions{}, {});
    QCOMPARE(ep.error(),
             QStringLiteral("no password: give --password-file FILE or set KAIROS_PASSWORD_FILE "
                            "to a file whose first line is the password of \"admin\" (kairosd "
                            "writes the administrator's to DATA/admin.password on its first "
                            "start)"));

    ConnectionEnvironment env;
    env.passwordFile = empty;
    ep = resolveEndpoint(GlobalOptions{}, env);
    QCOMPARE(ep.error(), QStringLiteral("KAIROS_PASSWORD_FILE: the first line of %1 is empty; "
                                        "expected the password there")
                             .arg(empty));

    GlobalOptions options;
    options.passwordFile = dir.filePath(QStringLiteral("nope"));
    ep = resolveEndpoint(options, {});
    QVERIFY2(ep.error().startsWith(
                 QStringLiteral("--password-file: cannot read %1: ").arg(options.passwordFile)),
             qPrintable(ep.error()));

    env.server = QStringLiteral("localhost");
    ep = resolveEndpoint(GlobalOptions{}, env);
    QCOMPARE(ep.error(), QStringLiteral("KAIROS_SERVER: expected HOST:PORT (for example "
                                        "127.0.0.1:7070), got \"localhost\""));
    options.server = QStringLiteral("h:99999");
    ep = resolveEndpoint(options, {});
    QCOMPARE(ep.error(),
             QStringLiteral("--server: the port in \"h:99999\" must be a number from 1 to 65535"));
}

QTEST_GUILESS_MAIN(TestCliCommandLine)
#include "tst_cli_command_line.moc"
