// InProcessContainer and ContainerLibrary on the fixture containers: runs of a loaded version,
// load failures, and that unloading really closes the library — it disappears from
// /proc/self/maps, never while code of it may still run, and 200 load/run/unload cycles of two
// versions keep the process's memory flat (docs/containers.md section 4).
#include "container_test_util.h"

#include <worker/hosted_container.h>
#include <worker/inprocess_container.h>

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QThreadPool>

#include <unistd.h>

using namespace kairos;
using namespace kairos::test;

namespace {

std::unique_ptr<LoadedContainer> inProcess(const QString &file, const QString &name,
                                           const QString &version)
{
    return makeLoadedContainer(containerSpec(ContainerIsolation::InProcess, file, name, version));
}

} // namespace

class TestInProcessContainer : public QObject {
    Q_OBJECT

private:
    QThreadPool m_pool;
    ProcessorContext context()
    {
        ProcessorContext c;
        c.pool = &m_pool;
        return c;
    }

private slots:
    void initTestCase()
    {
        QVERIFY2(QFile::exists(fixture(QStringLiteral("hello-v1.so"))),
                 "build the test containers first (target kairos_test_containers)");
        m_pool.setMaxThreadCount(8);
    }

    void cleanupTestCase() { m_pool.waitForDone(5000); }

    void factoryPicksTheIsolation()
    {
        auto spec = containerSpec(ContainerIsolation::InProcess, QStringLiteral("hello-v2.so"),
                                  QStringLiteral("hello"), QStringLiteral("2.0"));
        auto c = makeLoadedContainer(spec);
        QVERIFY(qobject_cast<InProcessContainer *>(c.get()));
        QCOMPARE(c->describe(), QStringLiteral("hello 2.0 (%1)").arg(spec.sha256.left(8)));
        QCOMPARE(c->describe().size(), QStringLiteral("hello 2.0 (12345678)").size());
        spec.isolation = ContainerIsolation::Process;
        QVERIFY(qobject_cast<HostedContainer *>(makeLoadedContainer(spec).get()));
    }

    void greetRuns_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("version");
        QTest::addColumn<QString>("label");
        QTest::newRow("v1") << "hello-v1.so"
                            << "1.0"
                            << "v1";
        QTest::newRow("v2") << "hello-v2.so"
                            << "2.0"
                            << "v2";
    }

    // A run logs, writes its side file and returns its result, in this process.
    void greetRuns()
    {
        QFETCH(QString, file);
        QFETCH(QString, version);
        QFETCH(QString, label);
        QTemporaryDir dir;
        const QString side = dir.filePath(QStringLiteral("side.txt"));
        auto c = inProcess(file, QStringLiteral("hello"), version);
        QCOMPARE(loadAndWait(*c), QString());
        QVERIFY(c->isLoaded());
        QCOMPARE(c->processorNames(),
                 (QStringList{QStringLiteral("greet"), QStringLiteral("noop")}));

        const auto rec =
            runToEnd(*c, containerTask(41, QStringLiteral("hello#greet"), {{"sideFile", side}}),
                     QStringLiteral("greet"), context());
        QVERIFY(rec);
        KAIROS_COMPARE_STATUS(rec->status, InstanceStatus::Succeeded);
        QCOMPARE(rec->result, label);
        QCOMPARE(rec->texts(LogStream::Stdout), QStringList{label});
        QFile f(side);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(QString::fromUtf8(f.readAll()),
                 QStringLiteral("%1 41 %2\n").arg(label).arg(::getpid()));
        // Not destroyed while busy (that would leave the library loaded for ever, on purpose).
        QTRY_COMPARE_WITH_TIMEOUT(c->busyCount(), 0, 5000);
    }

    void loadFailures_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("error");
        QTest::newRow("metadata lists a processor the library lacks")
            << "missingproc.so"
            << "metadata lists 'ghost' but the library does not offer it";
        QTest::newRow("plain shared library")
            << "notmeta.so"
            << "not a Kairos container: no plugin metadata (build it with kairos_add_container)";
        QTest::newRow("text file") << "notalib.so"
                                   << "not a shared library: no ELF header";
    }

    // A failed load says why and leaves nothing mapped.
    void loadFailures()
    {
        QFETCH(QString, file);
        QFETCH(QString, error);
        auto c = inProcess(file, QStringLiteral("x"), QStringLiteral("1"));
        QCOMPARE(loadAndWait(*c), error);
        QVERIFY(!c->isLoaded());
        QCOMPARE(mappingsOf(fixture(file)), 0);
        QVERIFY(!c->createRun(containerTask(1, QStringLiteral("x#ghost")), QStringLiteral("ghost"),
                              context())
                     .ok());
    }

    void unknownProcessorIsRefused()
    {
        auto c = inProcess(QStringLiteral("hello-v1.so"), QStringLiteral("hello"),
                           QStringLiteral("1.0"));
        QCOMPARE(loadAndWait(*c), QString());
        Result<std::unique_ptr<ProcessorRun>> run = c->createRun(
            containerTask(1, QStringLiteral("hello#nope")), QStringLiteral("nope"), context());
        QVERIFY(!run.ok());
        QCOMPARE(run.error(), QStringLiteral("container %1 has no processor 'nope' (it has: greet, "
                                             "noop)")
                                  .arg(c->describe()));
        QCOMPARE(c->busyCount(), 0);
    }

    // Unloading closes the library for real: it leaves /proc/self/maps. What the run said (its
    // result and log line were string literals of the library) is still readable afterwards.
    void unloadUnmapsTheLibrary()
    {
        const QString file = fixture(QStringLiteral("hello-v1.so"));
        QCOMPARE(mappingsOf(file), 0);
        auto c = inProcess(QStringLiteral("hello-v1.so"), QStringLiteral("hello"),
                           QStringLiteral("1.0"));
        QCOMPARE(loadAndWait(*c), QString());
        QVERIFY(mappingsOf(file) > 0);

        const auto rec = runToEnd(*c, containerTask(1, QStringLiteral("hello#greet")),
                                  QStringLiteral("greet"), context());
        QVERIFY(rec);
        QTRY_COMPARE_WITH_TIMEOUT(c->busyCount(), 0, 5000);

        QSignalSpy unloaded(c.get(), &LoadedContainer::unloaded);
        c->unloadWhenDrained();
        QTRY_COMPARE_WITH_TIMEOUT(unloaded.count(), 1, 5000);
        QVERIFY(!c->isLoaded());
        QCOMPARE(mappingsOf(file), 0);
        QCOMPARE(rec->result, QStringLiteral("v1"));
        QCOMPARE(rec->texts(LogStream::Stdout), QStringList{QStringLiteral("v1")});
        QVERIFY(!c->createRun(containerTask(2, QStringLiteral("hello#greet")),
                              QStringLiteral("greet"), context())
                     .ok());
    }

    // A canceled run finishes at once, but its processor is still in library code: the version
    // stays busy and mapped until that call returns, and only then is it unloaded.
    void busyUntilTheProcessorReturns()
    {
        const QString file = fixture(QStringLiteral("linger.so"));
        auto c =
            inProcess(QStringLiteral("linger.so"), QStringLiteral("linger"), QStringLiteral("1.0"));
        QCOMPARE(loadAndWait(*c), QString());
        QSignalSpy unloaded(c.get(), &LoadedContainer::unloaded);

        Result<std::unique_ptr<ProcessorRun>> run =
            c->createRun(containerTask(1, QStringLiteral("linger#linger"), {{"lingerMs", 800}}),
                         QStringLiteral("linger"), context());
        QVERIFY2(run.ok(), qPrintable(run.error()));
        QCOMPARE(c->busyCount(), 1);
        RunRecorder rec(run->get());
        (*run)->start();
        QTRY_COMPARE_WITH_TIMEOUT(rec.lines.size(), 1, 5000); // it is in process() now

        (*run)->cancel(QStringLiteral("stop"));
        QCOMPARE(rec.finishCount, 1);
        KAIROS_COMPARE_STATUS(rec.status, InstanceStatus::Canceled);
        run->reset(); // the run object is gone; the processor is not
        c->unloadWhenDrained();
        QCOMPARE(c->busyCount(), 1);
        QCOMPARE(unloaded.count(), 0);
        QVERIFY(mappingsOf(file) > 0);

        QTRY_COMPARE_WITH_TIMEOUT(unloaded.count(), 1, 5000);
        QCOMPARE(c->busyCount(), 0);
        QCOMPARE(mappingsOf(file), 0);
    }

    // Two versions side by side (RTLD_LOCAL | RTLD_DEEPBIND): each run uses its own code even
    // though both define the same symbols.
    void twoVersionsSideBySide()
    {
        auto v1 = inProcess(QStringLiteral("hello-v1.so"), QStringLiteral("hello"),
                            QStringLiteral("1.0"));
        auto v2 = inProcess(QStringLiteral("hello-v2.so"), QStringLiteral("hello"),
                            QStringLiteral("2.0"));
        QCOMPARE(loadAndWait(*v1), QString());
        QCOMPARE(loadAndWait(*v2), QString());
        const auto r1 = runToEnd(*v1, containerTask(1, QStringLiteral("hello#greet")),
                                 QStringLiteral("greet"), context());
        const auto r2 = runToEnd(*v2, containerTask(2, QStringLiteral("hello#greet")),
                                 QStringLiteral("greet"), context());
        QVERIFY(r1 && r2);
        QCOMPARE(r1->result, QStringLiteral("v1"));
        QCOMPARE(r2->result, QStringLiteral("v2"));
        QTRY_COMPARE_WITH_TIMEOUT(v1->busyCount() + v2->busyCount(), 0, 5000);
    }

    // 200 cycles of load -> run -> unload, alternating two versions, each cycle from a file of
    // its own (as every deployed version has its content-addressed path, and the dynamic loader
    // would hand back a still-loaded copy of a known path): nothing accumulates — no mapping of
    // any cycle's file is left and RSS stays within a generous bound (the precise figure is
    // kairos-bench's).
    void memoryStaysFlatOverRedeploys()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QStringList sources{fixture(QStringLiteral("hello-v1.so")),
                                  fixture(QStringLiteral("hello-v2.so"))};
        const auto cycle = [&](int i) {
            const QString file = dir.filePath(QStringLiteral("cycle-%1.so").arg(i));
            QVERIFY(QFile::copy(sources.at(i % 2), file));
            LoadedContainerSpec spec =
                containerSpec(ContainerIsolation::InProcess, QString(), QStringLiteral("hello"),
                              QStringLiteral("%1.0").arg(i % 2 + 1));
            spec.file = file;
            auto c = makeLoadedContainer(spec);
            QCOMPARE(loadAndWait(*c), QString());
            const auto rec = runToEnd(*c, containerTask(i + 1, QStringLiteral("hello#greet")),
                                      QStringLiteral("greet"), context());
            QVERIFY(rec);
            QCOMPARE(rec->result, QStringLiteral("v%1").arg(i % 2 + 1));
            QTRY_COMPARE_WITH_TIMEOUT(c->busyCount(), 0, 5000);
            QSignalSpy unloaded(c.get(), &LoadedContainer::unloaded);
            c->unloadWhenDrained();
            QTRY_COMPARE_WITH_TIMEOUT(unloaded.count(), 1, 5000);
            QCOMPARE(mappingsOf(file), 0);
            QVERIFY(QFile::remove(file));
        };
        for (int i = 0; i < 20; ++i) { // warm-up: allocator pools, Qt's caches, pool threads
            cycle(i);
            if (QTest::currentTestFailed())
                return;
        }
        const qint64 rssBefore = rssKiB();
        const int mapsBefore = mappingCount();
        for (int i = 20; i < 220; ++i) {
            cycle(i);
            if (QTest::currentTestFailed())
                return;
        }
        const qint64 rssAfter = rssKiB();
        const int mapsAfter = mappingCount();
        qInfo("RSS %lld KiB -> %lld KiB, mappings %d -> %d over 200 cycles", rssBefore, rssAfter,
              mapsBefore, mapsAfter);
        QVERIFY2(mapsAfter - mapsBefore < 10, "mappings accumulate");
        // A library left loaded per cycle would cost far more than this (each one is about
        // 5 mappings and some 100 KiB of touched pages).
        QVERIFY2(rssAfter - rssBefore < 4096, "RSS grew by more than 4 MiB over 200 cycles");
    }
};

QTEST_GUILESS_MAIN(TestInProcessContainer)
#include "tst_inprocess_container.moc"
