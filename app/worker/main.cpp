// kairos-worker: connects to a Kairos server, registers for an app and runs what it is sent.
// Everything but the process plumbing (argv, signals, stdout/stderr lines, exit codes) lives in
// engine/agent.
#include <agent/command_line.h>
#include <agent/worker_agent.h>
#include <common/unix_signals.h>

#include <QCoreApplication>
#include <QTextStream>

#include <csignal>

using namespace kairos;
using namespace kairos::agent;
using namespace Qt::StringLiterals;

namespace {

void say(const QString &line)
{
    QTextStream out(stdout);
    out << line << '\n';
    out.flush();
}

void complain(const QString &line)
{
    QTextStream err(stderr);
    err << line << '\n';
    err.flush();
}

} // namespace

int main(int argc, char **argv)
{
    // A peer that vanishes mid-write must surface as a socket error, not kill the worker.
    std::signal(SIGPIPE, SIG_IGN);

    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(u"kairos-worker"_s);
    QCoreApplication::setApplicationVersion(QStringLiteral(KAIROS_VERSION));

    auto parsed =
        parseWorkerCommandLine(QCoreApplication::arguments(), QStringLiteral(KAIROS_VERSION));
    if (!parsed) {
        complain(u"kairos-worker: %1\nRun kairos-worker --help for the list of flags."_s.arg(
            parsed.error()));
        return 2;
    }
    switch (parsed->action) {
    case ParsedCommandLine::Action::Help:
        QTextStream(stdout) << workerHelpText();
        return 0;
    case ParsedCommandLine::Action::Version:
        say(u"kairos-worker %1"_s.arg(QStringLiteral(KAIROS_VERSION)));
        return 0;
    case ParsedCommandLine::Action::Run:
        break;
    }
    for (const QString &warning : std::as_const(parsed->warnings))
        complain(u"kairos-worker: warning: %1"_s.arg(warning));

    WorkerAgent agent(parsed->config);
    const QString id = agent.config().workerId;
    const QString appName = agent.config().app;

    QObject::connect(&agent, &WorkerAgent::registered, &app, [&](const QString &server) {
        say(u"kairos-worker %1 registered with %2 (app %3)"_s.arg(id, server, appName));
    });
    QObject::connect(&agent, &WorkerAgent::connectionLost, &app,
                     [&](const QString &server, const QString &reason) {
                         complain(u"kairos-worker %1 lost %2: %3"_s.arg(id, server, reason));
                     });
    QObject::connect(&agent, &WorkerAgent::connectFailed, &app,
                     [&](const QString &server, const QString &reason, int retryInMs) {
                         // Socket errors already say "cannot connect to SERVER: ...".
                         QString why = reason;
                         const QString prefix = u"cannot connect to %1: "_s.arg(server);
                         if (why.startsWith(prefix))
                             why.remove(0, prefix.size());
                         complain(u"kairos-worker %1 cannot connect to %2: %3 (next attempt in "
                                  "%4 s)"_s.arg(id, server, why)
                                      .arg(double(retryInMs) / 1000.0, 0, 'f', 1));
                     });
    QObject::connect(&agent, &WorkerAgent::leaseExpired, &app, [&](qint64 silentMs) {
        complain(u"kairos-worker %1 lost its lease: no server heard from for %2 s (%3)"_s.arg(id)
                     .arg(double(silentMs) / 1000.0, 0, 'f', 1)
                     .arg(agent.config().onLeaseLoss == LeaseLossPolicy::Kill
                              ? u"stopping every run"_s
                              : u"runs continue"_s));
    });
    QObject::connect(&agent, &WorkerAgent::finished, &app, [&] {
        say(u"kairos-worker %1 drained and stopped"_s.arg(id));
        QCoreApplication::exit(0);
    });

    app::UnixSignalWatcher signalWatcher;
    QObject::connect(
        &signalWatcher, &app::UnixSignalWatcher::terminationRequested, &app, [&](int sig) {
            const QString name = sig == SIGTERM  ? u"SIGTERM"_s
                                 : sig == SIGINT ? u"SIGINT"_s
                                                 : u"signal %1"_s.arg(sig);
            if (agent.isDraining()) {
                complain(u"kairos-worker %1: %2 again, stopping running tasks now"_s.arg(id, name));
            } else {
                complain(u"kairos-worker %1: %2, draining (queued tasks go back to the server, "
                         "running ones may finish for %3 s)"_s.arg(id, name)
                             .arg(double(agent.config().drainTimeoutMs) / 1000.0, 0, 'f', 1));
            }
            agent.drain(u"received %1"_s.arg(name));
        });

    if (Status s = agent.start(); !s) {
        complain(u"kairos-worker: %1"_s.arg(s.error()));
        return 1;
    }
    return QCoreApplication::exec();
}
