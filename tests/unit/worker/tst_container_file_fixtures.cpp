// The test containers do what the other tests rely on (tests/fixtures/containers): hello's two
// builds tell themselves apart in their result, log and side file and honour a cancel while they
// sleep; mapsum maps and sums; crashy and big offer what their metadata lists; missingproc lacks
// the processor its metadata names. The libraries are loaded in this process and driven with a
// fake context (the crashing processors are not called here).
#include "fake_task_context.h"

#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QTest>

#include <unistd.h>

using namespace kairos;
using kairos::testing::FakeContext;

namespace {

QString fixture(const QString &file)
{
    return QStringLiteral(KAIROS_BIN_DIR "/containers/") + file;
}

QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

} // namespace

class TestContainerFixtures : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    // Loaded once each; Qt keeps them loaded until the end of the test.
    std::map<QString, std::unique_ptr<QPluginLoader>> m_loaders;

    sdk::Container *container(const QString &file)
    {
        auto &loader = m_loaders[file];
        if (!loader)
            loader = std::make_unique<QPluginLoader>(fixture(file));
        QString error;
        sdk::Container *c = testing::loadContainer(*loader, &error);
        if (c == nullptr)
            qWarning("%s: %s", qPrintable(file), qPrintable(error));
        return c;
    }

    // Runs `processor` of `file` with `ctx`; the result, or "no processor" / "cannot load".
    sdk::ProcessResult run(const QString &file, const QString &processor, FakeContext &ctx)
    {
        sdk::Container *c = container(file);
        if (c == nullptr)
            return sdk::ProcessResult::failed(QStringLiteral("cannot load ") + file);
        std::unique_ptr<sdk::Processor> p = testing::createProcessor(*c, processor);
        if (!p)
            return sdk::ProcessResult::failed(QStringLiteral("no processor ") + processor);
        return p->process(ctx);
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void helloGreets_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("label");
        QTest::newRow("v1") << "hello-v1.so"
                            << "v1";
        QTest::newRow("v2") << "hello-v2.so"
                            << "v2";
    }
    void helloGreets()
    {
        QFETCH(QString, file);
        QFETCH(QString, label);
        const QString side = m_dir.filePath(QStringLiteral("side-%1").arg(label));
        FakeContext ctx;
        ctx.id = 4711;
        ctx.processorConfig = {{"ref", "hello#greet"}, {"sideFile", side}};
        const sdk::ProcessResult r = run(file, "greet", ctx);
        QVERIFY2(r.success, qPrintable(r.message));
        QCOMPARE(r.message, label);
        QCOMPARE(ctx.logger.lines(), QStringList{"info: " + label});
        QCOMPARE(readAll(side), QStringLiteral("%1 4711 %2\n").arg(label).arg(::getpid()).toUtf8());
    }

    void sideFileIsAppendedAndFoundInParams()
    {
        // Both versions append to one file; the file is named by the job's parameters here.
        const QString side = m_dir.filePath("side-shared");
        const QString params =
            QString::fromUtf8(QJsonDocument(QJsonObject{{"sideFile", side}}).toJson());
        FakeContext first;
        first.id = 1;
        first.jobParameters = params;
        QCOMPARE(run("hello-v1.so", "greet", first).message, QStringLiteral("v1"));
        FakeContext second;
        second.id = 2;
        second.instanceParameters = params; // this run's parameters work as well
        QCOMPARE(run("hello-v2.so", "greet", second).message, QStringLiteral("v2"));
        QCOMPARE(readAll(side), QStringLiteral("v1 1 %1\nv2 2 %1\n").arg(::getpid()).toUtf8());
    }

    void greetSleepsAndHonoursCancel()
    {
        FakeContext ctx;
        ctx.processorConfig = {{"sleepMs", 150}};
        QElapsedTimer timer;
        timer.start();
        const sdk::ProcessResult slept = run("hello-v1.so", "greet", ctx);
        QVERIFY(slept.success);
        QVERIFY2(timer.elapsed() >= 150, qPrintable(QString::number(timer.elapsed())));

        FakeContext canceled;
        canceled.processorConfig = {{"sleepMs", 60000}};
        canceled.canceled = true;
        timer.restart();
        const sdk::ProcessResult r = run("hello-v2.so", "greet", canceled);
        QVERIFY(!r.success);
        QVERIFY2(timer.elapsed() < 5000, qPrintable(QString::number(timer.elapsed())));
    }

    void noopReturnsAtOnce()
    {
        FakeContext ctx;
        const sdk::ProcessResult r = run("hello-v1.so", "noop", ctx);
        QVERIFY(r.success);
        QVERIFY(ctx.logger.lines().isEmpty());
    }

    void offeredProcessors_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QStringList>("names");
        QTest::newRow("hello") << "hello-v2.so" << QStringList{"greet", "noop"};
        QTest::newRow("crashy") << "crashy.so" << QStringList{"segv", "abort", "hang", "ok"};
        QTest::newRow("mapsum") << "mapsum.so" << QStringList{"sum"};
        QTest::newRow("big") << "big.so" << QStringList{"noop"};
        // Its metadata also lists `ghost`: a worker must refuse to load it.
        QTest::newRow("missingproc") << "missingproc.so" << QStringList{"greet"};
    }
    void offeredProcessors()
    {
        QFETCH(QString, file);
        QFETCH(QStringList, names);
        sdk::Container *c = container(file);
        QVERIFY(c != nullptr);
        QCOMPARE(testing::processorNames(*c), names);
    }

    void crashyOk()
    {
        FakeContext ctx;
        const sdk::ProcessResult r = run("crashy.so", "ok", ctx);
        QVERIFY(r.success);
        QCOMPARE(r.message, QStringLiteral("ok"));
    }

    void bigCarriesItsData()
    {
        FakeContext ctx;
        QCOMPARE(run("big.so", "noop", ctx).message, QStringLiteral("5242880"));
    }

    void mapsumMapsAndSums()
    {
        FakeContext root;
        root.taskRole = sdk::TaskRole::Root;
        root.processorConfig = {{"count", 5}};
        const sdk::ProcessResult mapped = run("mapsum.so", "sum", root);
        QVERIFY2(mapped.success, qPrintable(mapped.message));
        QCOMPARE(root.mappedName, QStringLiteral("number"));
        QCOMPARE(root.mappedItems, (QList<QByteArray>{"1", "2", "3", "4", "5"}));

        QList<sdk::SubtaskResult> results;
        for (const QByteArray &item : std::as_const(root.mappedItems)) {
            FakeContext sub;
            sub.taskRole = sdk::TaskRole::Subtask;
            sub.item = item;
            const sdk::ProcessResult r = run("mapsum.so", "sum", sub);
            QVERIFY(r.success);
            QCOMPARE(r.message, QString::fromLatin1(item));
            sdk::SubtaskResult s;
            s.success = true;
            s.result = r.message;
            results << s;
        }

        FakeContext reduce;
        reduce.taskRole = sdk::TaskRole::Reduce;
        std::unique_ptr<sdk::Processor> p =
            testing::createProcessor(*container("mapsum.so"), "sum");
        auto *mr = dynamic_cast<sdk::MapReduceProcessor *>(p.get());
        QVERIFY(mr != nullptr);
        testing::ListResultReader reader(results);
        const sdk::ProcessResult sum = mr->reduce(reduce, reader);
        QVERIFY(sum.success);
        QCOMPARE(sum.message, QStringLiteral("15"));
    }
};

QTEST_GUILESS_MAIN(TestContainerFixtures)
#include "tst_container_file_fixtures.moc"
