#pragma once
// Helpers of the container isolation tests: specs for the fixture containers
// (KAIROS_BIN_DIR "/containers/", built by tests/fixtures/containers and this folder), a task
// spec for a container ref, what /proc says about the test process (mapped files, RSS), and a
// one-call "load and wait" for either isolation mode.

#include "worker_test_util.h"

#include <worker/loaded_container.h>

#include <QCryptographicHash>
#include <QEventLoop>
#include <QFile>
#include <QSignalSpy>
#include <QString>
#include <QTest>
#include <QTimer>

// InstanceStatus has no QTest::toString (kairos::toString returns a QString, which ADL prefers
// and QCOMPARE cannot use): compare statuses by name, which also reads well when one differs.
#define KAIROS_COMPARE_STATUS(actual, expected)                                                    \
    QCOMPARE(::kairos::toString(actual), ::kairos::toString(expected))

namespace kairos::test {

inline QString fixture(const QString &file)
{
    return QStringLiteral(KAIROS_BIN_DIR "/containers/") + file;
}

inline QString hostProgram()
{
    return QStringLiteral(KAIROS_BIN_DIR "/kairos-container-host");
}

inline QString sha256Hex(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    QCryptographicHash hash(QCryptographicHash::Sha256);
    hash.addData(&f);
    return QString::fromLatin1(hash.result().toHex());
}

inline LoadedContainerSpec containerSpec(ContainerIsolation isolation, const QString &file,
                                         const QString &name, const QString &version)
{
    LoadedContainerSpec spec;
    spec.container = name;
    spec.version = version;
    spec.file = fixture(file);
    spec.sha256 = sha256Hex(spec.file);
    spec.isolation = isolation;
    spec.hostProgram = hostProgram();
    spec.hostThreads = 8;
    return spec;
}

inline TaskSpec containerTask(qint64 instanceId, const QString &ref,
                              const QJsonObject &extraConfig = {})
{
    TaskSpec spec;
    spec.instanceId = instanceId;
    spec.jobName = QStringLiteral("container-test");
    spec.processor = ProcessorKind::Container;
    spec.config = extraConfig;
    spec.config.insert(QStringLiteral("ref"), ref);
    return spec;
}

// Lines of /proc/self/maps that map `path`.
inline int mappingsOf(const QString &path)
{
    QFile maps(QStringLiteral("/proc/self/maps"));
    if (!maps.open(QIODevice::ReadOnly | QIODevice::Text))
        return -1;
    int n = 0;
    const QByteArray needle = QFile::encodeName(path);
    for (const QByteArray &line : maps.readAll().split('\n'))
        n += line.endsWith(needle) ? 1 : 0;
    return n;
}

inline int mappingCount()
{
    QFile maps(QStringLiteral("/proc/self/maps"));
    if (!maps.open(QIODevice::ReadOnly | QIODevice::Text))
        return -1;
    return int(maps.readAll().count('\n'));
}

// VmRSS of the test process in KiB.
inline qint64 rssKiB()
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly | QIODevice::Text))
        return -1;
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').first().toLongLong();
    }
    return -1;
}

// Loads `c` and waits for the outcome: empty on success, else the loadFailed reason.
inline QString loadAndWait(LoadedContainer &c, int timeoutMs = 15000)
{
    QSignalSpy loaded(&c, &LoadedContainer::loaded);
    QSignalSpy failed(&c, &LoadedContainer::loadFailed);
    QEventLoop loop;
    QObject::connect(&c, &LoadedContainer::loaded, &loop, &QEventLoop::quit);
    QObject::connect(&c, &LoadedContainer::loadFailed, &loop, &QEventLoop::quit);
    QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
    c.load();
    if (loaded.isEmpty() && failed.isEmpty())
        loop.exec();
    if (!failed.isEmpty())
        return failed.first().first().toString();
    if (loaded.isEmpty())
        return QStringLiteral("neither loaded nor loadFailed within %1 ms").arg(timeoutMs);
    return {};
}

// Runs `processor` of `c` to its end and returns what it said (null, with a warning, when it
// could not be created or did not finish within `timeoutMs`). The run object is gone on return.
inline std::unique_ptr<RunRecorder> runToEnd(LoadedContainer &c, const TaskSpec &spec,
                                             const QString &processor,
                                             const ProcessorContext &context = {},
                                             int timeoutMs = 10000)
{
    Result<std::unique_ptr<ProcessorRun>> run = c.createRun(spec, processor, context);
    if (!run.ok()) {
        qWarning("createRun: %s", qPrintable(run.error()));
        return nullptr;
    }
    auto recorder = std::make_unique<RunRecorder>(run->get());
    QSignalSpy finished(run->get(), &ProcessorRun::finished);
    (*run)->start();
    if (finished.isEmpty() && !finished.wait(timeoutMs)) {
        qWarning("the run did not finish within %d ms", timeoutMs);
        return nullptr;
    }
    return recorder;
}

} // namespace kairos::test
