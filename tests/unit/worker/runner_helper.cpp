// kairos-test-runner-helper: a stand-in worker for tst_task_runner and tst_lease. It runs a
// TaskRunner on its main thread with one Shell task whose script is argv[1] (and, when given,
// the lease file argv[2]), and keeps running until killed. The tests SIGKILL or SIGSTOP it and
// check that the script's whole process group ends without its help.
#include <worker/task_runner.h>

#include <QCoreApplication>
#include <QTextStream>

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    if (argc != 2 && argc != 3) {
        QTextStream(stderr) << "usage: kairos-test-runner-helper SCRIPT [LEASE-FILE]\n";
        return 2;
    }
    kairos::TaskRunner runner;
    if (argc == 3)
        runner.setLeaseFile(QString::fromLocal8Bit(argv[2]));
    kairos::TaskSpec spec;
    spec.instanceId = 1;
    spec.processor = kairos::ProcessorKind::Shell;
    spec.config.insert(QStringLiteral("script"), QString::fromLocal8Bit(argv[1]));
    QObject::connect(
        &runner, &kairos::TaskRunner::reports, &app, [](const QList<kairos::TaskReport> &reports) {
            for (const auto &r : reports) {
                QTextStream(stdout) << kairos::toString(r.status) << ' ' << r.result << Qt::endl;
            }
        });
    runner.submit(spec);
    return app.exec();
}
