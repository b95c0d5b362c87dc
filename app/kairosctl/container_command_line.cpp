#include "container_command_line.h"

#include <QJsonArray>

namespace kairos::cli {
namespace {

// The positional arguments, `required` first, then at most `optional` more.
Status positionals(const ParsedArgs &args, const QStringList &required,
                   const QStringList &optional = {})
{
    const QStringList &given = args.positionals();
    if (given.size() < required.size())
        return makeError(QStringLiteral("missing argument %1").arg(required.at(given.size())));
    const qsizetype max = required.size() + optional.size();
    if (given.size() > max)
        return makeError(QStringLiteral("unexpected argument \"%1\"").arg(given.at(max)));
    const QStringList names = required + optional;
    for (qsizetype i = 0; i < given.size(); ++i) {
        if (given.at(i).trimmed().isEmpty())
            return makeError(QStringLiteral("%1: must not be empty").arg(names.at(i)));
    }
    return {};
}

Status parseDeploy(const ParsedArgs &args, Action &action)
{
    if (Status s = positionals(args, {QStringLiteral("NAME")}); !s.ok())
        return s;
    QJsonObject params{{QStringLiteral("name"), args.positionals().at(0).trimmed()}};
    if (args.has(QStringLiteral("version"))) {
        const QString version = args.value(QStringLiteral("version")).trimmed();
        if (version.isEmpty())
            return makeError(QStringLiteral("--version: expected a SHA-256 (or a prefix of at "
                                            "least 8 hex digits) or a version label"));
        params[QStringLiteral("version")] = version;
    }
    if (args.has(QStringLiteral("workers"))) {
        QStringList workers;
        const QStringList words = args.value(QStringLiteral("workers")).split(u',');
        for (const QString &word : words) {
            const QString id = word.trimmed();
            if (id.isEmpty()) {
                return makeError(QStringLiteral("--workers: expected worker ids separated by "
                                                "commas (w1,w2), got \"%1\"")
                                     .arg(args.value(QStringLiteral("workers"))));
            }
            if (!workers.contains(id))
                workers << id;
        }
        params[QStringLiteral("workers")] = QJsonArray::fromStringList(workers);
    }
    if (args.has(QStringLiteral("isolation"))) {
        const QString isolation = args.value(QStringLiteral("isolation")).trimmed().toLower();
        if (isolation != QLatin1String("process") && isolation != QLatin1String("inprocess")) {
            return makeError(QStringLiteral("--isolation: expected process or inprocess, got "
                                            "\"%1\"")
                                 .arg(args.value(QStringLiteral("isolation"))));
        }
        params[QStringLiteral("isolation")] = isolation;
    }
    action.follow = args.has(QStringLiteral("follow"));
    if (args.has(QStringLiteral("timeout"))) {
        if (!action.follow)
            return makeError(QStringLiteral("--timeout: only with --follow"));
        auto s = readInteger(QStringLiteral("--timeout"), args.value(QStringLiteral("timeout")), 1,
                             24 * 3600);
        if (!s.ok())
            return makeError(s.error());
        action.waitTimeoutS = int(*s);
    } else if (action.follow) {
        action.waitTimeoutS = kDefaultDeployTimeoutS;
    }
    action.method = QStringLiteral("container.deploy");
    action.params = params;
    action.subject =
        QStringLiteral("container %1").arg(params.value(QStringLiteral("name")).toString());
    if (action.follow) {
        action.kind = ActionKind::ContainerDeploy;
    } else {
        action.kind = ActionKind::Call;
        action.view = View::ContainerDeployed;
    }
    return {};
}

} // namespace

QList<OptionSpec> containerOptionSpecs(const QString &command)
{
    if (command == QLatin1String("container deploy")) {
        return {{QStringLiteral("version"), QStringLiteral("V")},
                {QStringLiteral("workers"), QStringLiteral("W[,W]")},
                {QStringLiteral("isolation"), QStringLiteral("MODE")},
                {QStringLiteral("follow"), QString()},
                {QStringLiteral("timeout"), QStringLiteral("S")}};
    }
    return {};
}

Status parseContainerCommand(const QString &command, const ParsedArgs &args, Action &action)
{
    if (command == QLatin1String("container upload")) {
        if (Status s = positionals(args, {QStringLiteral("FILE")}); !s.ok())
            return s;
        action.kind = ActionKind::ContainerUpload;
        action.path = args.positionals().at(0);
        return {};
    }
    if (command == QLatin1String("container list")) {
        if (Status s = positionals(args, {}); !s.ok())
            return s;
        action.method = QStringLiteral("container.list");
        action.view = View::ContainerList;
        return {};
    }
    if (command == QLatin1String("container versions")) {
        if (Status s = positionals(args, {QStringLiteral("NAME")}); !s.ok())
            return s;
        action.method = QStringLiteral("container.versions");
        action.params = {{QStringLiteral("name"), args.positionals().at(0).trimmed()}};
        action.view = View::ContainerVersions;
        return {};
    }
    if (command == QLatin1String("container status")) {
        if (Status s = positionals(args, {}, {QStringLiteral("NAME")}); !s.ok())
            return s;
        action.method = QStringLiteral("container.status");
        if (!args.positionals().isEmpty())
            action.params = {{QStringLiteral("name"), args.positionals().at(0).trimmed()}};
        action.view = View::ContainerStatus;
        return {};
    }
    if (command == QLatin1String("container deploy"))
        return parseDeploy(args, action);
    return makeError(QStringLiteral("unknown command \"%1\"").arg(command));
}

} // namespace kairos::cli
