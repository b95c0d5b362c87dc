// kairos-test-host-parent: a minimal worker for tst_hosted_container's parent-death test. It
// loads one container in a kairos-container-host (HostedContainer), prints "host <pid>" once the
// host said hello, and then waits to be SIGKILLed by the test, which checks that the host dies
// with it. Usage: kairos-test-host-parent HOST_PROGRAM LIBRARY
#include <worker/hosted_container.h>

#include <QCoreApplication>

#include <cstdio>

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = QCoreApplication::arguments();
    if (args.size() != 3) {
        std::fprintf(stderr, "usage: kairos-test-host-parent HOST_PROGRAM LIBRARY\n");
        return 2;
    }
    kairos::LoadedContainerSpec spec;
    spec.container = QStringLiteral("hello");
    spec.version = QStringLiteral("1.0");
    spec.sha256 = QStringLiteral("0123456789abcdef");
    spec.hostProgram = args.at(1);
    spec.file = args.at(2);
    kairos::HostedContainer container(spec);
    QObject::connect(&container, &kairos::LoadedContainer::loaded, [&container] {
        std::printf("host %lld\n", static_cast<long long>(container.currentHostPid()));
        std::fflush(stdout);
    });
    QObject::connect(&container, &kairos::LoadedContainer::loadFailed, [](const QString &why) {
        std::fprintf(stderr, "load failed: %s\n", qPrintable(why));
        QCoreApplication::exit(1);
    });
    container.load();
    return app.exec();
}
