#include "command_line.h"

#include "secret_file.h"

#include <client/remote_client.h>
#include <worker/wire.h>

#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>

namespace kairos::agent {

namespace {

using namespace Qt::StringLiterals;

// The option table, shared by parsing and --help.
struct Options {
    QCommandLineOption help{{u"h"_s, u"help"_s}, u"Show this help and exit."_s};
    QCommandLineOption version{{u"v"_s, u"version"_s}, u"Show the version and exit."_s};
    QCommandLineOption server{
        u"server"_s,
        u"Server(s) to connect to, tried in this order (required). Separate several with commas "
        "or repeat the flag."_s,
        u"HOST:PORT[,HOST:PORT...]"_s};
    QCommandLineOption app{u"app"_s,
                           u"The app this worker serves and logs in as (required): 1-64 "
                           "characters of A-Z a-z 0-9 . _ -."_s,
                           u"NAME"_s};
    QCommandLineOption secretFile{
        u"secret-file"_s,
        u"File holding the app's secret (required; one trailing newline is ignored). kairosd "
        "writes the secret of the app 'default' to DIR/apps/default.secret."_s,
        u"FILE"_s};
    QCommandLineOption tags{u"tags"_s,
                            u"Comma-separated tags jobs can target (tag:NAME), each 1-64 "
                            "characters of A-Z a-z 0-9 . _ -."_s,
                            u"a,b"_s};
    QCommandLineOption threads{u"threads"_s,
                               u"Tasks run at once (1-4096; default: the number of CPUs, "
                               "here %1)."_s.arg(WorkerConfig::defaultThreads()),
                               u"N"_s};
    QCommandLineOption id{
        u"id"_s, u"Worker id shown in `kairosctl worker list` (default: HOSTNAME:PID)."_s, u"ID"_s};
    QCommandLineOption advertise{
        u"advertise"_s,
        u"Address shown for this worker and usable as a dispatch target, for NAT and "
        "containers (default: the host name)."_s,
        u"ADDR"_s};
    QCommandLineOption heartbeatMs{u"heartbeat-ms"_s,
                                   u"Heartbeat period in ms until the server says otherwise; the "
                                   "server's value wins (50-600000, default 1000)."_s,
                                   u"MS"_s};
    QCommandLineOption onLeaseLoss{
        u"on-lease-loss"_s,
        u"What to do with running tasks when no server was heard from for the lease time: "
        "'kill' stops them (default), 'finish' lets them finish and report late."_s,
        u"kill|finish"_s};
    QCommandLineOption drainTimeoutMs{
        u"drain-timeout-ms"_s,
        u"On SIGTERM, how long running tasks may take to finish before they are stopped "
        "(0-86400000, default 30000)."_s,
        u"MS"_s};
    QCommandLineOption workDir{
        u"work-dir"_s,
        u"Working folder: the lease file, and the disk whose free space is reported (default: "
        "TMPDIR/kairos-worker-ID)."_s,
        u"DIR"_s};
    QCommandLineOption containersDir{
        u"containers-dir"_s,
        u"Where deployed container versions are stored, one folder per container (default: "
        "WORK-DIR/containers)."_s,
        u"DIR"_s};
    QCommandLineOption containerHost{
        u"container-host"_s,
        u"The kairos-container-host program that runs containers deployed with isolation "
        "'process' (default: kairos-container-host next to kairos-worker)."_s,
        u"PATH"_s};
    QCommandLineOption tls{u"tls"_s, u"Connect with TLS."_s};
    QCommandLineOption tlsCa{u"tls-ca"_s,
                             u"CA or server certificate (PEM) the server's certificate must "
                             "verify against (default: the system CAs). Implies --tls."_s,
                             u"FILE"_s};
    QCommandLineOption tlsServerName{
        u"tls-server-name"_s,
        u"Name the server's certificate must carry (default: the HOST connected to). Implies "
        "--tls."_s,
        u"NAME"_s};
    QCommandLineOption tlsInsecure{u"tls-insecure-skip-verify"_s,
                                   u"Accept any server certificate: encryption without knowing "
                                   "who the server is. For tests only. Implies --tls."_s};
    QCommandLineOption reconnectMaxMs{
        u"reconnect-max-ms"_s,
        u"Longest wait between reconnect rounds; waits start at 200 ms and double, with +-20% "
        "jitter (200-3600000, default 10000)."_s,
        u"MS"_s};

    void addTo(QCommandLineParser &parser) const
    {
        parser.setApplicationDescription(
            u"Kairos worker: connects to a Kairos server (kairosd), registers for an app and "
            "runs the tasks the server dispatches to it. SIGTERM drains: queued tasks are handed "
            "back, running ones may finish for --drain-timeout-ms, then it exits 0."_s);
        parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
        parser.addOptions({help,       version,       server,        app,
                           secretFile, tags,          threads,       id,
                           advertise,  heartbeatMs,   onLeaseLoss,   drainTimeoutMs,
                           workDir,    containersDir, containerHost, tls,
                           tlsCa,      tlsServerName, tlsInsecure,   reconnectMaxMs});
    }
};

Result<int> parseInt(const QString &flag, const QString &text, int min, int max)
{
    bool ok = false;
    const qint64 v = text.trimmed().toLongLong(&ok);
    if (!ok || v < min || v > max) {
        return makeError(u"--%1: expected a whole number from %2 to %3, got \"%4\""_s.arg(flag)
                             .arg(min)
                             .arg(max)
                             .arg(text));
    }
    return int(v);
}

const QRegularExpression &nameRule()
{
    static const QRegularExpression re(u"^[A-Za-z0-9._-]{1,64}$"_s);
    return re;
}

Result<QList<ServerAddress>> parseServers(const QStringList &values)
{
    QList<ServerAddress> out;
    for (const QString &value : values) {
        for (const QString &part : value.split(u',')) {
            const QString entry = part.trimmed();
            if (entry.isEmpty()) {
                return makeError(u"--server: expected HOST:PORT[,HOST:PORT...] without empty "
                                 "entries, got \"%1\""_s.arg(value));
            }
            auto ep = client::RemoteEndpoint::parseAddress(entry);
            if (!ep)
                return makeError(u"--"_s + ep.error());
            if (ep->host.isEmpty())
                return makeError(u"--server: the host in \"%1\" is empty"_s.arg(entry));
            out.append(ServerAddress{ep->host, ep->port});
        }
    }
    return out;
}

Result<QStringList> parseTags(const QString &text)
{
    QStringList tags;
    for (const QString &part : text.split(u',', Qt::SkipEmptyParts)) {
        const QString tag = part.trimmed();
        if (tag.isEmpty())
            continue;
        if (!nameRule().match(tag).hasMatch()) {
            return makeError(u"--tags: each tag must be 1-64 characters of A-Z a-z 0-9 . _ -, "
                             "got \"%1\""_s.arg(tag));
        }
        if (!tags.contains(tag))
            tags.append(tag);
    }
    if (tags.size() > wire::kMaxTags)
        return makeError(u"--tags: at most %1 tags, got %2"_s.arg(wire::kMaxTags).arg(tags.size()));
    return tags;
}

Status checkReadableFile(const QString &flag, const QString &path)
{
    const QFileInfo info(path);
    if (!info.exists())
        return makeError(u"--%1 %2: the file does not exist"_s.arg(flag, path));
    if (!info.isFile() || !info.isReadable())
        return makeError(u"--%1 %2: expected a readable file"_s.arg(flag, path));
    return {};
}

Status requireSet(const QCommandLineParser &parser, const QCommandLineOption &option,
                  const QString &what)
{
    if (!parser.isSet(option))
        return makeError(u"--%1 is required (%2)"_s.arg(option.names().constLast(), what));
    return {};
}

} // namespace

Result<ParsedCommandLine> parseWorkerCommandLine(const QStringList &arguments,
                                                 const QString &version)
{
    Options o;
    QCommandLineParser parser;
    o.addTo(parser);
    if (!parser.parse(arguments))
        return makeError(parser.errorText());

    ParsedCommandLine out;
    if (parser.isSet(o.help)) {
        out.action = ParsedCommandLine::Action::Help;
        return out;
    }
    if (parser.isSet(o.version)) {
        out.action = ParsedCommandLine::Action::Version;
        return out;
    }
    if (!parser.positionalArguments().isEmpty()) {
        return makeError(
            u"unexpected argument \"%1\"; every setting is a --flag (see --help)"_s.arg(
                parser.positionalArguments().constFirst()));
    }

    for (const auto &[option, what] :
         {std::pair{&o.server, u"HOST:PORT of the server to connect to"_s},
          std::pair{&o.app, u"the app to serve"_s},
          std::pair{&o.secretFile, u"the file holding the app's secret"_s}}) {
        if (Status s = requireSet(parser, *option, what); !s)
            return makeError(s.error());
    }

    WorkerConfig &c = out.config;
    c.version = version;

    auto servers = parseServers(parser.values(o.server));
    if (!servers)
        return makeError(servers.error());
    c.servers = std::move(servers).value();

    c.app = parser.value(o.app);
    if (!nameRule().match(c.app).hasMatch()) {
        return makeError(
            u"--app: expected 1-64 characters of A-Z a-z 0-9 . _ -, got \"%1\""_s.arg(c.app));
    }

    if (parser.isSet(o.tags)) {
        auto tags = parseTags(parser.value(o.tags));
        if (!tags)
            return makeError(tags.error());
        c.tags = std::move(tags).value();
    }

    c.threads = WorkerConfig::defaultThreads();
    if (parser.isSet(o.threads)) {
        auto n = parseInt(u"threads"_s, parser.value(o.threads), 1, wire::kMaxCapacity);
        if (!n)
            return makeError(n.error());
        c.threads = *n;
    }

    c.workerId =
        parser.isSet(o.id) ? parser.value(o.id).trimmed() : WorkerConfig::defaultWorkerId();
    if (c.workerId.isEmpty() || c.workerId.size() > wire::kMaxIdLength
        || c.workerId.contains(QRegularExpression(u"[\\s\\x00-\\x1f]"_s))) {
        return makeError(u"--id: expected 1-%1 characters without spaces or control characters, "
                         "got \"%2\""_s.arg(wire::kMaxIdLength)
                             .arg(parser.value(o.id)));
    }

    c.advertise = parser.isSet(o.advertise) ? parser.value(o.advertise).trimmed()
                                            : WorkerConfig::defaultAdvertise();
    if (c.advertise.isEmpty() || c.advertise.size() > wire::kMaxIdLength) {
        return makeError(u"--advertise: expected a host name or address of 1-%1 characters, got "
                         "\"%2\""_s.arg(wire::kMaxIdLength)
                             .arg(parser.value(o.advertise)));
    }

    if (parser.isSet(o.heartbeatMs)) {
        auto n = parseInt(u"heartbeat-ms"_s, parser.value(o.heartbeatMs), 50, 600000);
        if (!n)
            return makeError(n.error());
        c.heartbeatMs = *n;
    }

    if (parser.isSet(o.onLeaseLoss)) {
        const auto policy = leaseLossPolicyFromString(parser.value(o.onLeaseLoss));
        if (!policy) {
            return makeError(u"--on-lease-loss: expected kill or finish, got \"%1\""_s.arg(
                parser.value(o.onLeaseLoss)));
        }
        c.onLeaseLoss = *policy;
    }

    if (parser.isSet(o.drainTimeoutMs)) {
        auto n = parseInt(u"drain-timeout-ms"_s, parser.value(o.drainTimeoutMs), 0, 86400000);
        if (!n)
            return makeError(n.error());
        c.drainTimeoutMs = *n;
    }

    if (parser.isSet(o.reconnectMaxMs)) {
        auto n = parseInt(u"reconnect-max-ms"_s, parser.value(o.reconnectMaxMs),
                          WorkerConfig::kInitialReconnectMs, 3600000);
        if (!n)
            return makeError(n.error());
        c.reconnectMaxMs = *n;
    }

    if (parser.isSet(o.workDir)) {
        c.workDir = parser.value(o.workDir);
        if (c.workDir.trimmed().isEmpty())
            return makeError(u"--work-dir: expected a folder, got an empty value"_s);
        const QFileInfo info(c.workDir);
        if (info.exists() && !info.isDir())
            return makeError(u"--work-dir %1: exists and is not a folder"_s.arg(c.workDir));
    } else {
        c.workDir = WorkerConfig::defaultWorkDir(c.workerId);
    }

    if (parser.isSet(o.containersDir)) {
        c.containersDir = parser.value(o.containersDir);
        if (c.containersDir.trimmed().isEmpty())
            return makeError(u"--containers-dir: expected a folder, got an empty value"_s);
        const QFileInfo info(c.containersDir);
        if (info.exists() && !info.isDir()) {
            return makeError(
                u"--containers-dir %1: exists and is not a folder"_s.arg(c.containersDir));
        }
    } else {
        c.containersDir = QDir(c.workDir).filePath(u"containers"_s);
    }

    if (parser.isSet(o.containerHost)) {
        c.containerHost = parser.value(o.containerHost);
        const QFileInfo info(c.containerHost);
        if (!info.isFile() || !info.isExecutable()) {
            return makeError(u"--container-host %1: expected an executable file (the "
                             "kairos-container-host program)"_s.arg(c.containerHost));
        }
    }

    c.tls.enabled = parser.isSet(o.tls) || parser.isSet(o.tlsCa) || parser.isSet(o.tlsServerName)
                    || parser.isSet(o.tlsInsecure);
    if (parser.isSet(o.tlsCa)) {
        c.tls.caCertificateFile = parser.value(o.tlsCa);
        if (Status s = checkReadableFile(u"tls-ca"_s, c.tls.caCertificateFile); !s)
            return makeError(s.error());
    }
    c.tls.peerVerifyName = parser.value(o.tlsServerName);
    c.tls.verifyPeer = !parser.isSet(o.tlsInsecure);
    if (!c.tls.verifyPeer) {
        out.warnings.append(u"--tls-insecure-skip-verify: the server's certificate is not "
                            "checked; anyone on the network path can pose as the server"_s);
    }

    auto secret = readSecretFile(parser.value(o.secretFile));
    if (!secret)
        return makeError(secret.error());
    c.secret = secret->secret;
    if (!secret->warning.isEmpty())
        out.warnings.append(secret->warning);

    return out;
}

QString workerHelpText()
{
    Options o;
    QCommandLineParser parser;
    o.addTo(parser);
    QString text = parser.helpText();
    text += u"\nExit codes: 0 after a clean shutdown (SIGTERM/SIGINT drain), 1 when the worker "
            "cannot start (work folder), 2 for a bad command line.\n"
            "Output: one line per registration on stdout (\"kairos-worker ID registered with "
            "HOST:PORT (app APP)\"), connection problems on stderr. More detail with "
            "QT_LOGGING_RULES=\"kairos.agent.*=true\". See docs/workers.md.\n"_s;
    return text;
}

} // namespace kairos::agent
