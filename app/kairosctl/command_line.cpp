#include "command_line.h"

#include "arg_reader.h"
#include "container_command_line.h"
#include "job_flags.h"
#include "usage.h"

#include <core/types.h>

#include <QFile>
#include <QJsonArray>
#include <QRegularExpression>

#include <algorithm>
#include <limits>

namespace kairos::cli {
namespace {

constexpr qint64 kMaxId = std::numeric_limits<qint64>::max();
// Epoch milliseconds a user may ask cron about: years 0001 to 9999.
constexpr qint64 kMinEpochMs = -62135596800000;
constexpr qint64 kMaxEpochMs = 253402300799999;

QList<OptionSpec> globalSpecs()
{
    return {{QStringLiteral("server"), QStringLiteral("HOST:PORT")},
            {QStringLiteral("user"), QStringLiteral("NAME")},
            {QStringLiteral("password-file"), QStringLiteral("F")},
            {QStringLiteral("json"), QString()},
            {QStringLiteral("tls"), QString()},
            {QStringLiteral("tls-ca"), QStringLiteral("FILE")},
            {QStringLiteral("help"), QString()},
            {QStringLiteral("version"), QString()}};
}

const OptionSpec *findGlobal(const QList<OptionSpec> &specs, const QString &name)
{
    for (const OptionSpec &s : specs) {
        if (s.name == name)
            return &s;
    }
    return nullptr;
}

// Builds one command's Invocation from its parsed words. Each parse* returns an error text
// for a usage error.
class CommandParser {
public:
    CommandParser(Invocation &inv, const ParsedArgs &args, const FileReader &readFile)
        : m_inv(inv)
        , m_action(inv.action)
        , m_args(args)
        , m_readFile(readFile)
    {}

    Status run(const QString &command);

private:
    Status positionals(const QStringList &names);
    Result<QJsonObject> readDocument();
    Status jobCreate();
    Status jobUpdate();
    Status jobCall(const QString &method, View view);
    Status jobRun();
    Status instanceList();
    Status instanceCall(const QString &method, View view);
    Status instanceLogs();
    Status instanceTasks();
    Status cronNext();
    Status appCall(const QString &method, View view);
    Status listCall(const QString &method, View view);
    Result<qint64> instanceId() const
    {
        return readInteger(QStringLiteral("ID"), m_args.positionals().value(0), 1, kMaxId);
    }

    Invocation &m_inv;
    Action &m_action;
    const ParsedArgs &m_args;
    const FileReader &m_readFile;
};

Status CommandParser::positionals(const QStringList &names)
{
    const QStringList &given = m_args.positionals();
    if (given.size() < names.size())
        return makeError(QStringLiteral("missing argument %1").arg(names.at(given.size())));
    if (given.size() > names.size())
        return makeError(QStringLiteral("unexpected argument \"%1\"").arg(given.at(names.size())));
    for (qsizetype i = 0; i < names.size(); ++i) {
        if (given.at(i).trimmed().isEmpty())
            return makeError(QStringLiteral("%1: must not be empty").arg(names.at(i)));
    }
    return {};
}

Result<QJsonObject> CommandParser::readDocument()
{
    const QString path = m_args.value(QStringLiteral("file"));
    const QString source = QStringLiteral("--file ") + path;
    if (path.isEmpty())
        return makeError(QStringLiteral("--file: missing value"));
    auto bytes = m_readFile(path);
    if (!bytes.ok())
        return makeError(source + QStringLiteral(": ") + bytes.error());
    auto doc = parseJobDocument(*bytes, source);
    if (!doc.ok())
        return doc;
    QJsonObject job = *doc;
    for (const QString &field : serverAssignedJobFields()) {
        if (field != QLatin1String("version"))
            job.remove(field);
    }
    return job;
}

Status CommandParser::run(const QString &command)
{
    if (command == QLatin1String("job create"))
        return jobCreate();
    if (command == QLatin1String("job update"))
        return jobUpdate();
    if (command == QLatin1String("job list")) {
        if (Status s = positionals({}); !s.ok())
            return s;
        m_action.method = QStringLiteral("job.list");
        m_action.view = View::JobList;
        return {};
    }
    if (command == QLatin1String("job show"))
        return jobCall(QStringLiteral("job.get"), View::Job);
    if (command == QLatin1String("job enable"))
        return jobCall(QStringLiteral("job.enable"), View::JobState);
    if (command == QLatin1String("job disable"))
        return jobCall(QStringLiteral("job.disable"), View::JobState);
    if (command == QLatin1String("job delete"))
        return jobCall(QStringLiteral("job.delete"), View::Deleted);
    if (command == QLatin1String("job run"))
        return jobRun();
    if (command == QLatin1String("instance list"))
        return instanceList();
    if (command == QLatin1String("instance show"))
        return instanceCall(QStringLiteral("instance.get"), View::InstanceDetail);
    if (command == QLatin1String("instance cancel"))
        return instanceCall(QStringLiteral("instance.cancel"), View::Instance);
    if (command == QLatin1String("instance retry"))
        return instanceCall(QStringLiteral("instance.retry"), View::Instance);
    if (command == QLatin1String("instance logs"))
        return instanceLogs();
    if (command == QLatin1String("instance tasks"))
        return instanceTasks();
    if (command == QLatin1String("cron next"))
        return cronNext();
    if (command == QLatin1String("app create"))
        return appCall(QStringLiteral("app.create"), View::AppCreated);
    if (command == QLatin1String("app rotate-secret"))
        return appCall(QStringLiteral("app.rotateSecret"), View::AppRotated);
    if (command == QLatin1String("app list"))
        return listCall(QStringLiteral("app.list"), View::AppList);
    if (command == QLatin1String("worker list"))
        return listCall(QStringLiteral("worker.list"), View::WorkerList);
    if (command.startsWith(QLatin1String("container ")))
        return parseContainerCommand(command, m_args, m_action);
    if (command == QLatin1String("server info")) {
        if (Status s = positionals({}); !s.ok())
            return s;
        m_action.method = QStringLiteral("server.info");
        m_action.view = View::ServerInfo;
        return {};
    }
    return makeError(QStringLiteral("unknown command \"%1\"").arg(command));
}

Status CommandParser::jobCreate()
{
    if (Status s = positionals({}); !s.ok())
        return s;
    QJsonObject job;
    if (m_args.has(QStringLiteral("file"))) {
        auto doc = readDocument();
        if (!doc.ok())
            return makeError(doc.error());
        auto flags = jobFieldsFromFlags(m_args, false);
        if (!flags.ok())
            return makeError(flags.error());
        job = overlayJob(*doc, *flags);
        job.remove(QStringLiteral("version"));
    } else {
        auto flags = jobFieldsFromFlags(m_args, true);
        if (!flags.ok())
            return makeError(flags.error());
        job = *flags;
    }
    m_action.method = QStringLiteral("job.create");
    m_action.params = QJsonObject{{QStringLiteral("job"), job}};
    m_action.view = View::Job;
    return {};
}

Status CommandParser::jobUpdate()
{
    if (Status s = positionals({QStringLiteral("ID|NAME")}); !s.ok())
        return s;
    const bool hasFile = m_args.has(QStringLiteral("file"));
    if (!hasFile && !hasJobFlags(m_args))
        return makeError(QStringLiteral("nothing to change: give --file F or job options such as "
                                        "--cron or --retries"));
    QJsonObject patch;
    if (hasFile) {
        auto doc = readDocument();
        if (!doc.ok())
            return makeError(doc.error());
        patch = *doc;
    }
    auto flags = jobFieldsFromFlags(m_args, false);
    if (!flags.ok())
        return makeError(flags.error());
    patch = overlayJob(patch, *flags);

    QJsonObject params = jobReference(m_args.positionals().at(0));
    // An exported job carries its version: updating from it fails if someone changed the job
    // since the export, instead of silently undoing their change.
    const QJsonValue version = patch.take(QStringLiteral("version"));
    if (version.isDouble() && version.toInteger() > 0)
        params[QStringLiteral("expectedVersion")] = version.toInteger();
    params[QStringLiteral("patch")] = patch;
    m_action.method = QStringLiteral("job.update");
    m_action.params = params;
    m_action.view = View::Job;
    return {};
}

Status CommandParser::jobCall(const QString &method, View view)
{
    if (Status s = positionals({QStringLiteral("ID|NAME")}); !s.ok())
        return s;
    m_action.method = method;
    m_action.params = jobReference(m_args.positionals().at(0));
    m_action.view = view;
    m_action.subject = QStringLiteral("job %1").arg(m_args.positionals().at(0).trimmed());
    return {};
}

Status CommandParser::jobRun()
{
    if (Status s = positionals({QStringLiteral("ID|NAME")}); !s.ok())
        return s;
    QJsonObject params = jobReference(m_args.positionals().at(0));
    if (m_args.has(QStringLiteral("params")))
        params[QStringLiteral("params")] = m_args.value(QStringLiteral("params"));
    if (m_args.has(QStringLiteral("count"))) {
        auto n = readInteger(QStringLiteral("--count"), m_args.value(QStringLiteral("count")), 1,
                             100000);
        if (!n.ok())
            return makeError(n.error());
        params[QStringLiteral("count")] = *n;
    }
    m_action.wait = m_args.has(QStringLiteral("wait"));
    if (m_args.has(QStringLiteral("timeout-s"))) {
        if (!m_action.wait)
            return makeError(QStringLiteral("--timeout-s: only with --wait"));
        auto s = readInteger(QStringLiteral("--timeout-s"),
                             m_args.value(QStringLiteral("timeout-s")), 1, 31 * 24 * 3600);
        if (!s.ok())
            return makeError(s.error());
        m_action.waitTimeoutS = int(*s);
    }
    m_action.kind = ActionKind::RunJob;
    m_action.method = QStringLiteral("job.run");
    m_action.params = params;
    return {};
}

Status CommandParser::instanceList()
{
    if (Status s = positionals({}); !s.ok())
        return s;
    QJsonObject params;
    if (m_args.has(QStringLiteral("job"))) {
        const QString ref = m_args.value(QStringLiteral("job")).trimmed();
        if (ref.isEmpty())
            return makeError(QStringLiteral("--job: must not be empty"));
        const QJsonObject job = jobReference(ref);
        if (job.contains(QStringLiteral("id")))
            params[QStringLiteral("jobId")] = job.value(QStringLiteral("id"));
        else
            m_action.jobName = ref; // resolved to an id with job.get before listing
    }
    if (m_args.has(QStringLiteral("status"))) {
        QJsonArray statuses;
        const QStringList names =
            m_args.value(QStringLiteral("status")).split(u',', Qt::SkipEmptyParts);
        for (const QString &name : names) {
            const auto status = instanceStatusFromString(name);
            if (!status) {
                return makeError(
                    QStringLiteral("--status: unknown state \"%1\"; expected one "
                                   "of %2")
                        .arg(name.trimmed(), instanceStatusNames().join(QStringLiteral(", "))));
            }
            statuses.append(toString(*status));
        }
        if (statuses.isEmpty())
            return makeError(QStringLiteral("--status: expected one or more states such as "
                                            "FAILED,TIMED_OUT"));
        params[QStringLiteral("statuses")] = statuses;
    }
    if (m_args.has(QStringLiteral("worker")))
        params[QStringLiteral("worker")] = m_args.value(QStringLiteral("worker"));
    if (m_args.has(QStringLiteral("limit"))) {
        auto n =
            readInteger(QStringLiteral("--limit"), m_args.value(QStringLiteral("limit")), 1, 10000);
        if (!n.ok())
            return makeError(n.error());
        params[QStringLiteral("limit")] = *n;
    }
    if (m_args.has(QStringLiteral("before"))) {
        auto n = readInteger(QStringLiteral("--before"), m_args.value(QStringLiteral("before")), 1,
                             kMaxId);
        if (!n.ok())
            return makeError(n.error());
        params[QStringLiteral("beforeId")] = *n;
    }
    m_action.kind = ActionKind::InstanceList;
    m_action.method = QStringLiteral("instance.list");
    m_action.params = params;
    return {};
}

Status CommandParser::instanceCall(const QString &method, View view)
{
    if (Status s = positionals({QStringLiteral("ID")}); !s.ok())
        return s;
    auto id = instanceId();
    if (!id.ok())
        return makeError(id.error());
    m_action.method = method;
    m_action.params = QJsonObject{{QStringLiteral("id"), *id}};
    m_action.view = view;
    m_action.subject = QStringLiteral("instance %1").arg(*id);
    return {};
}

Status CommandParser::instanceLogs()
{
    if (Status s = positionals({QStringLiteral("ID")}); !s.ok())
        return s;
    auto id = instanceId();
    if (!id.ok())
        return makeError(id.error());
    m_action.kind = ActionKind::InstanceLogs;
    m_action.instanceId = *id;
    m_action.follow = m_args.has(QStringLiteral("follow"));
    return {};
}

Status CommandParser::instanceTasks()
{
    if (Status s = positionals({QStringLiteral("ID")}); !s.ok())
        return s;
    auto id = instanceId();
    if (!id.ok())
        return makeError(id.error());
    QJsonObject params{{QStringLiteral("id"), *id}};
    if (m_args.has(QStringLiteral("status"))) {
        // The states a task passes through; WAITING_WORKER and SKIPPED are the instance's only.
        const QStringList taskStates{
            QStringLiteral("WAITING_DISPATCH"), QStringLiteral("DISPATCHED"),
            QStringLiteral("RUNNING"),          QStringLiteral("SUCCEEDED"),
            QStringLiteral("FAILED"),           QStringLiteral("TIMED_OUT"),
            QStringLiteral("CANCELED")};
        QJsonArray statuses;
        const QStringList names =
            m_args.value(QStringLiteral("status")).split(u',', Qt::SkipEmptyParts);
        for (const QString &name : names) {
            const auto status = instanceStatusFromString(name.trimmed());
            if (!status || !taskStates.contains(toString(*status))) {
                return makeError(QStringLiteral("--status: unknown task state \"%1\"; expected "
                                                "one of %2")
                                     .arg(name.trimmed(), taskStates.join(QStringLiteral(", "))));
            }
            statuses.append(toString(*status));
        }
        if (statuses.isEmpty())
            return makeError(QStringLiteral("--status: expected one or more states such as "
                                            "FAILED,TIMED_OUT"));
        params[QStringLiteral("status")] = statuses;
    }
    if (m_args.has(QStringLiteral("after"))) {
        auto n = readInteger(QStringLiteral("--after"), m_args.value(QStringLiteral("after")), 0,
                             kMaxId);
        if (!n.ok())
            return makeError(n.error());
        params[QStringLiteral("after")] = *n;
    }
    m_action.allPages = m_args.has(QStringLiteral("all"));
    if (m_args.has(QStringLiteral("limit"))) {
        auto n =
            readInteger(QStringLiteral("--limit"), m_args.value(QStringLiteral("limit")), 1, 1000);
        if (!n.ok())
            return makeError(n.error());
        params[QStringLiteral("limit")] = *n;
    } else if (m_action.allPages) {
        params[QStringLiteral("limit")] = 1000; // the largest page: fewest round trips
    }
    m_action.kind = ActionKind::InstanceTasks;
    m_action.method = QStringLiteral("instance.tasks");
    m_action.instanceId = *id;
    m_action.params = params;
    return {};
}

Status CommandParser::appCall(const QString &method, View view)
{
    if (Status s = positionals({QStringLiteral("NAME")}); !s.ok())
        return s;
    // The name is checked by the server, the one place that knows the rule.
    const QString name = m_args.positionals().at(0).trimmed();
    m_action.method = method;
    m_action.params = QJsonObject{{QStringLiteral("name"), name}};
    m_action.view = view;
    m_action.subject = QStringLiteral("app %1").arg(name);
    return {};
}

Status CommandParser::listCall(const QString &method, View view)
{
    if (Status s = positionals({}); !s.ok())
        return s;
    m_action.method = method;
    m_action.view = view;
    return {};
}

Status CommandParser::cronNext()
{
    if (m_args.has(QStringLiteral("count"))) {
        auto n = readInteger(QStringLiteral("--count"), m_args.value(QStringLiteral("count")), 1,
                             100000);
        if (!n.ok())
            return makeError(n.error());
        m_action.count = int(*n);
    }
    if (m_args.has(QStringLiteral("batch"))) {
        for (const char *name : {"tz", "from"}) {
            const QString flag = QLatin1String(name);
            if (m_args.has(flag))
                return makeError(QStringLiteral("--%1: not with --batch (each input line gives "
                                                "EXPR<TAB>ZONE<TAB>FROM_EPOCH_MS)")
                                     .arg(flag));
        }
        if (!m_args.positionals().isEmpty())
            return makeError(QStringLiteral("unexpected argument \"%1\" (with --batch the "
                                            "expressions come from stdin)")
                                 .arg(m_args.positionals().constFirst()));
        m_action.kind = ActionKind::CronBatch;
        return {};
    }
    // The words of an unquoted expression (cron next 0 0 12 '*' '*' '?') are joined back.
    const QString expression = m_args.positionals().join(u' ').trimmed();
    if (expression.isEmpty())
        return makeError(QStringLiteral("missing argument EXPR"));
    if (m_args.has(QStringLiteral("from"))) {
        auto from = readInteger(QStringLiteral("--from"), m_args.value(QStringLiteral("from")),
                                kMinEpochMs, kMaxEpochMs);
        if (!from.ok())
            return makeError(from.error());
        m_action.fromMs = *from;
    }
    m_action.kind = ActionKind::CronNext;
    m_action.cronExpression = expression;
    m_action.timeZone = m_args.value(QStringLiteral("tz")).trimmed();
    return {};
}

QList<OptionSpec> commandSpecs(const QString &command)
{
    auto opt = [](const char *name, const char *value = "") {
        return OptionSpec{QLatin1String(name), QLatin1String(value)};
    };
    if (command == QLatin1String("job create") || command == QLatin1String("job update"))
        return jobOptionSpecs() << opt("file", "F");
    if (command == QLatin1String("job run"))
        return {opt("params", "P"), opt("count", "N"), opt("wait"), opt("timeout-s", "S")};
    if (command == QLatin1String("instance list"))
        return {opt("job", "ID|NAME"), opt("status", "S"), opt("worker", "W"), opt("limit", "N"),
                opt("before", "ID")};
    if (command == QLatin1String("instance logs"))
        return {opt("follow")};
    if (command == QLatin1String("instance tasks"))
        return {opt("status", "S"), opt("after", "K"), opt("limit", "N"), opt("all")};
    if (command == QLatin1String("cron next"))
        return {opt("tz", "ZONE"), opt("from", "EPOCH_MS"), opt("count", "N"), opt("batch")};
    if (command.startsWith(QLatin1String("container ")))
        return containerOptionSpecs(command);
    return {};
}

void applyGlobals(const ParsedArgs &args, GlobalOptions &g)
{
    g.server = args.value(QStringLiteral("server")).trimmed();
    g.user = args.value(QStringLiteral("user")).trimmed();
    g.passwordFile = args.value(QStringLiteral("password-file"));
    g.json = args.has(QStringLiteral("json"));
    g.tlsCaFile = args.value(QStringLiteral("tls-ca"));
    g.tls = args.has(QStringLiteral("tls")) || !g.tlsCaFile.isEmpty();
}

QString groupChoices(const QString &group)
{
    QStringList subs;
    for (const QString &path : commandsOfGroup(group))
        subs << path.section(u' ', 1);
    return subs.join(QStringLiteral(", "));
}

} // namespace

QJsonObject jobReference(const QString &text)
{
    static const QRegularExpression digits(QStringLiteral("^\\d{1,18}$"));
    const QString t = text.trimmed();
    if (digits.match(t).hasMatch())
        return {{QStringLiteral("id"), t.toLongLong()}};
    return {{QStringLiteral("name"), t}};
}

ParsedCommandLine parseCommandLine(const QStringList &arguments, const FileReader &readFile)
{
    ParsedCommandLine out;
    Invocation &inv = out.invocation;
    const QList<OptionSpec> globals = globalSpecs();

    // Global options may come first; the first other word is the command group. Walk them
    // knowing which take a value, so "--server job list" is not read as the command "list".
    qsizetype i = 0;
    while (i < arguments.size()) {
        const QString &word = arguments.at(i);
        if (!word.startsWith(u'-') || word == QLatin1String("-") || word == QLatin1String("--"))
            break;
        const QString name =
            word == QLatin1String("-h") ? QStringLiteral("help") : word.mid(2).section(u'=', 0, 0);
        const OptionSpec *spec =
            word.startsWith(QLatin1String("--")) || name == QLatin1String("help")
                ? findGlobal(globals, name)
                : nullptr;
        if (!spec) {
            out.error = QStringLiteral("unknown option %1 (before the command, only global "
                                       "options are allowed)")
                            .arg(word.section(u'=', 0, 0));
            return out;
        }
        i += (spec->takesValue() && !word.contains(u'=')) ? 2 : 1;
    }
    const QStringList leading = arguments.mid(0, std::min(i, arguments.size()));
    QStringList rest = arguments.mid(std::min(i, arguments.size()));
    if (!rest.isEmpty() && rest.constFirst() == QLatin1String("--"))
        rest.removeFirst();

    const QString group = rest.isEmpty() ? QString() : rest.takeFirst();
    if (group == QLatin1String("help")) {
        inv.action.kind = ActionKind::Help;
        inv.action.text = usageFor(rest.join(u' '));
        return out;
    }

    QString command;
    if (!group.isEmpty()) {
        if (commandsOfGroup(group).isEmpty()) {
            out.error = QStringLiteral("unknown command \"%1\"; expected job, instance, "
                                       "container, app, worker, cron, server or help")
                            .arg(group);
            return out;
        }
        const bool helpOnly = rest.isEmpty() || rest.constFirst() == QLatin1String("--help")
                              || rest.constFirst() == QLatin1String("-h");
        if (helpOnly) {
            inv.command = group;
            if (rest.isEmpty() && !leading.contains(QStringLiteral("--help"))
                && !leading.contains(QStringLiteral("-h"))) {
                out.error = QStringLiteral("%1: missing command; expected one of %2")
                                .arg(group, groupChoices(group));
                return out;
            }
            inv.action.kind = ActionKind::Help;
            inv.action.text = usageFor(group);
            return out;
        }
        command = group + u' ' + rest.takeFirst();
        if (!commandPaths().contains(command)) {
            inv.command = group;
            out.error = QStringLiteral("%1: unknown command \"%2\"; expected one of %3")
                            .arg(group, command.section(u' ', 1), groupChoices(group));
            return out;
        }
        inv.command = command;
    }

    auto args = readArgs(leading + rest, commandSpecs(command) + globals);
    if (!args.ok()) {
        out.error = args.error();
        return out;
    }
    applyGlobals(*args, inv.global);
    if (args->has(QStringLiteral("help"))) {
        inv.action.kind = ActionKind::Help;
        inv.action.text = usageFor(command);
        return out;
    }
    // `container deploy --version V` names a container version, not kairosctl's.
    const QList<OptionSpec> ownSpecs = commandSpecs(command);
    const bool ownVersion = std::any_of(ownSpecs.begin(), ownSpecs.end(), [](const OptionSpec &o) {
        return o.name == QLatin1String("version");
    });
    if (args->has(QStringLiteral("version")) && !ownVersion) {
        inv.action.kind = ActionKind::Version;
        return out;
    }
    if (command.isEmpty()) {
        out.error = QStringLiteral("missing command");
        return out;
    }
    CommandParser parser(inv, *args, readFile);
    if (Status s = parser.run(command); !s.ok())
        out.error = s.error();
    return out;
}

Result<QByteArray> readFileOrStdin(const QString &path)
{
    QFile file;
    const bool ok = path == QLatin1String("-")
                        ? file.open(stdin, QIODevice::ReadOnly)
                        : (file.setFileName(path), file.open(QIODevice::ReadOnly));
    if (!ok)
        return makeError(QStringLiteral("cannot read: %1").arg(file.errorString()));
    return file.readAll();
}

} // namespace kairos::cli
