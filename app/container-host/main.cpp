// kairos-container-host: one loaded container version in its own process (docs/containers.md
// section 6), so a crash or a hang in container code costs this process, not the worker. It
// connects to the worker's local socket, loads the library (the same loader and checks as the
// worker's in-process mode), says `hello` (or `loadFailed` and exits with code 3) and then runs
// what the worker dispatches (HostServer). It exits when the worker says `quit`, when the socket
// closes, and with the worker (parent-death signal) — at once, without waiting for processors
// that ignore their cancel.
#include "host_server.h"

#include <worker/host_channel.h>
#include <worker/inprocess_container.h>

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QLocalSocket>
#include <QThreadPool>

#include <csignal>
#include <cstdio>
#include <sys/prctl.h>
#include <unistd.h>

using namespace kairos;

namespace {

constexpr int kExitUsage = 2;
constexpr int kExitLoadFailed = 3;
constexpr int kConnectTimeoutMs = 5000;

[[noreturn]] void quitNow(int code)
{
    // Processors may still run on pool threads (hung, or ignoring their cancel): no destructors,
    // no waiting for them, no unloading of a library whose code they are in.
    std::fflush(stderr);
    ::_exit(code);
}

} // namespace

int main(int argc, char **argv)
{
    // First of all: die with the worker, whatever happens to it. The signal is tied to the thread
    // that forked us (the worker's runner thread, which lives as long as the worker).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    std::signal(SIGPIPE, SIG_IGN);

    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("kairos-container-host"));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Runs the processors of one Kairos container for a worker."));
    parser.addHelpOption();
    const QCommandLineOption library(QStringLiteral("library"),
                                     QStringLiteral("The container library to load."),
                                     QStringLiteral("file"));
    const QCommandLineOption socket(QStringLiteral("socket"),
                                    QStringLiteral("The worker's local socket."),
                                    QStringLiteral("name"));
    const QCommandLineOption name(QStringLiteral("name"), QStringLiteral("The container's name."),
                                  QStringLiteral("name"));
    const QCommandLineOption label(QStringLiteral("label"),
                                   QStringLiteral("How errors name the version "
                                                  "(\"hello 2.0 (1a2b3c4d)\")."),
                                   QStringLiteral("text"));
    const QCommandLineOption threads(QStringLiteral("threads"),
                                     QStringLiteral("Processors that may run at once."),
                                     QStringLiteral("n"), QStringLiteral("64"));
    parser.addOptions({library, socket, name, label, threads});
    parser.process(app);

    bool threadsOk = false;
    const int threadCount = parser.value(threads).toInt(&threadsOk);
    if (!parser.isSet(library) || !parser.isSet(socket) || !threadsOk || threadCount < 1) {
        std::fprintf(stderr, "kairos-container-host: --library FILE and --socket NAME are "
                             "required, --threads must be a positive number\n");
        return kExitUsage;
    }

    auto *connection = new QLocalSocket;
    connection->connectToServer(parser.value(socket));
    if (!connection->waitForConnected(kConnectTimeoutMs)) {
        std::fprintf(stderr, "kairos-container-host: cannot connect to %s: %s\n",
                     qPrintable(parser.value(socket)), qPrintable(connection->errorString()));
        quitNow(kExitUsage);
    }
    HostChannel channel(connection);
    QObject::connect(&channel, &HostChannel::closed, [] { quitNow(0); });

    const QString labelText = parser.isSet(label)  ? parser.value(label)
                              : parser.isSet(name) ? parser.value(name)
                                                   : parser.value(library);
    ContainerLibrary loaded(parser.value(library), labelText);
    if (const Status status = loaded.load(); !status) {
        channel.send(hostmsg::encodeLoadFailed(status.error()));
        connection->flush();
        connection->waitForBytesWritten(kConnectTimeoutMs);
        quitNow(kExitLoadFailed);
    }

    QThreadPool pool;
    pool.setMaxThreadCount(threadCount);
    HostServer server(&channel, &loaded, &pool);
    QObject::connect(&server, &HostServer::quitRequested, [] { quitNow(0); });
    channel.send(
        hostmsg::encodeHello({QCoreApplication::applicationPid(), loaded.processorNames()}));
    app.exec();
    quitNow(0);
}
