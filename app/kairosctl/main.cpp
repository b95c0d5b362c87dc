// kairosctl: the command-line client of a Kairos server. This file only wires the parts
// together: parse the command line, answer local commands (help, cron next) without a
// connection, otherwise connect a RemoteClient and let a CommandRunner carry the command out.
#include "command_line.h"
#include "command_runner.h"
#include "connection_settings.h"
#include "cron_command.h"
#include "usage.h"

#include <client/remote_client.h>

#include <QCoreApplication>
#include <QTextStream>

#include <iostream>

using namespace kairos;
using namespace kairos::cli;

namespace {

constexpr int kExitUsage = 2;

int usageError(QTextStream &err, const QString &message, const QString &command)
{
    err << "kairosctl: " << message << "\n\n" << usageFor(command);
    err.flush();
    return kExitUsage;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("kairosctl"));
    QCoreApplication::setApplicationVersion(QStringLiteral(KAIROS_VERSION));
    QTextStream out(stdout);
    QTextStream err(stderr);

    const ParsedCommandLine parsed =
        parseCommandLine(QCoreApplication::arguments().mid(1), readFileOrStdin);
    if (!parsed.ok())
        return usageError(err, parsed.error, parsed.invocation.command);
    const Invocation &inv = parsed.invocation;

    switch (inv.action.kind) {
    case ActionKind::Help:
        out << inv.action.text;
        return 0;
    case ActionKind::Version:
        out << "kairosctl " << QCoreApplication::applicationVersion() << '\n';
        return 0;
    case ActionKind::CronNext:
        return runCronNext(inv.action, inv.global.json, out, err);
    case ActionKind::CronBatch:
        return runCronBatch(inv.action.count, std::cin, std::cout);
    default:
        break;
    }

    auto endpoint = resolveEndpoint(inv.global, ConnectionEnvironment::fromProcess());
    if (!endpoint.ok())
        return usageError(err, endpoint.error(), inv.command);

    client::RemoteClient client(*endpoint);
    CommandRunner::Options options;
    options.json = inv.global.json;
    options.target = QStringLiteral("%1 as %2").arg(client.endpoint(), endpoint->user);
    CommandRunner runner(client, inv.action, options, out, err);
    // Queued: the runner may finish before exec() has started the loop.
    QObject::connect(
        &runner, &CommandRunner::finished, &app, [](int code) { QCoreApplication::exit(code); },
        Qt::QueuedConnection);
    runner.start();
    client.open(false);
    const int code = QCoreApplication::exec();
    client.close();
    return code;
}
