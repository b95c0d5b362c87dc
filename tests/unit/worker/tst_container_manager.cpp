// The worker's ContainerManager (docs/containers.md sections 2-4) as an operator and a job see
// it: a deploy order downloads the version in chunks from the server (answered here by a fake
// server from a fixture file's bytes, also out of order), checks digest, size and metadata,
// loads it and reports each stage; a bad download or library fails and leaves nothing behind
// while the previous version keeps serving; runs in flight finish on the version they started
// with while new runs use the new one, and the old one is unloaded once drained; runs of a
// container that is not here yet wait for it (asking the server once), fail with the server's
// reason or after the wait limit; newer orders supersede unfinished ones; old files are cleaned
// up. Runs go through a real TaskRunner. Most tests load versions with a test double
// (ContainerManagerConfig::loaderFactory) so they test the manager alone; the last ones use the
// real in-process and hosted loaders on the hello fixtures.
#include <worker/container_file.h>
#include <worker/container_manager.h>
#include <worker/task_runner.h>

#include <QCryptographicHash>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QPointer>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace kairos;
using namespace Qt::StringLiterals;

Q_DECLARE_METATYPE(kairos::ContainerIsolation)

namespace {

// --- fixtures -----------------------------------------------------------------------------------

struct Fixture {
    QString path;
    QByteArray bytes;
    QString sha;
    qint64 size() const { return bytes.size(); }
};

QString sha256Of(const QByteArray &bytes)
{
    return QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex());
}

Fixture fixture(const QString &file)
{
    Fixture f;
    f.path = QStringLiteral(KAIROS_BIN_DIR "/containers/") + file;
    QFile in(f.path);
    if (!in.open(QIODevice::ReadOnly))
        qFatal("test fixture %s is missing (build kairos_test_containers)", qPrintable(f.path));
    f.bytes = in.readAll();
    f.sha = sha256Of(f.bytes);
    return f;
}

// Another version of the same library: trailing bytes change the digest, not the metadata.
Fixture variant(const Fixture &base, int n, const QString &dir)
{
    Fixture f;
    f.bytes = base.bytes + QByteArray("kairos-variant-") + QByteArray::number(n);
    f.sha = sha256Of(f.bytes);
    f.path = QDir(dir).filePath(u"variant-%1.so"_s.arg(n));
    QFile out(f.path);
    if (!out.open(QIODevice::WriteOnly) || out.write(f.bytes) != f.bytes.size())
        qFatal("cannot write %s", qPrintable(f.path));
    return f;
}

ContainerOrder orderFor(const Fixture &f, qint64 deployId, const QString &name = u"hello"_s,
                        const QString &version = {},
                        ContainerIsolation iso = ContainerIsolation::InProcess)
{
    ContainerOrder o;
    o.deployId = deployId;
    o.container = name;
    o.sha256 = f.sha;
    o.sizeBytes = f.size();
    o.isolation = iso;
    o.version = version;
    return o;
}

TaskSpec containerTask(qint64 instance, const QString &ref, QJsonObject extra = {})
{
    TaskSpec t;
    t.instanceId = instance;
    t.jobName = u"container-job"_s;
    t.processor = ProcessorKind::Container;
    extra.insert(u"ref"_s, ref);
    t.config = extra;
    return t;
}

// --- the loader double --------------------------------------------------------------------------

class FakeRun;

// What the fake loader is told to do, and what it saw. Reset for every test.
struct FakeLab {
    QHash<QString, QString> failLoad; // sha -> the loader's error
    int created = 0;                  // LoadedContainers made
    int alive = 0;                    // ... not destroyed yet
    QList<QPointer<FakeRun>> held;    // runs waiting for release()
};
FakeLab lab;

// A run of the double: says which version runs it, then finishes ("ran 1.0"), or holds until
// released (config "hold"), or first asks the server something (config "call").
class FakeRun final : public ProcessorRun {
    Q_OBJECT
public:
    FakeRun(const TaskSpec &spec, QString version)
        : ProcessorRun(spec)
        , m_version(std::move(version))
    {}

    void start() override
    {
        log(LogStream::Stdout, u"hello from "_s + m_version);
        if (spec().config.value(u"hold"_s).toBool()) {
            lab.held.append(this);
            return;
        }
        if (spec().config.value(u"call"_s).toBool()) {
            TaskCall call;
            call.op = TaskCall::Op::Map;
            call.name = u"items"_s;
            call.items = {"a", "b"};
            m_callId = requestCall(call);
            return;
        }
        release();
    }
    void release() { finish(InstanceStatus::Succeeded, u"ran "_s + m_version); }
    void cancel(const QString &reason) override
    {
        if (beginStop())
            finish(InstanceStatus::Canceled, reason);
    }
    void callAnswered(const TaskCallReply &reply) override
    {
        if (reply.callId != m_callId) {
            finish(InstanceStatus::Failed,
                   u"reply to call %1, expected %2"_s.arg(reply.callId).arg(m_callId));
            return;
        }
        finish(InstanceStatus::Succeeded,
               u"answered: "_s + (reply.error.isEmpty() ? u"ok"_s : reply.error));
    }

private:
    QString m_version;
    quint64 m_callId = 0;
};

class FakeContainer final : public LoadedContainer {
    Q_OBJECT
public:
    explicit FakeContainer(const LoadedContainerSpec &spec)
        : LoadedContainer(spec)
    {
        ++lab.created;
        ++lab.alive;
    }
    ~FakeContainer() override { --lab.alive; }

    void load() override
    {
        // Loading takes a turn of the event loop, like a host process saying hello.
        QTimer::singleShot(0, this, [this] {
            const auto fail = lab.failLoad.constFind(spec().sha256);
            if (fail != lab.failLoad.constEnd()) {
                emit loadFailed(*fail);
                return;
            }
            m_loaded = true;
            emit loaded();
        });
    }
    QStringList processorNames() const override { return {u"greet"_s, u"noop"_s}; }

    Result<std::unique_ptr<ProcessorRun>> createRun(const TaskSpec &spec, const QString &processor,
                                                    const ProcessorContext &) override
    {
        if (m_unloading)
            return makeError(u"%1 is unloading"_s.arg(describe()));
        if (!processorNames().contains(processor))
            return makeError(u"no processor %1"_s.arg(processor));
        auto run = std::make_unique<FakeRun>(spec, this->spec().version);
        ++m_busy;
        emit busyChanged(m_busy);
        connect(run.get(), &QObject::destroyed, this, [this] {
            --m_busy;
            emit busyChanged(m_busy);
            maybeUnload();
        });
        return std::unique_ptr<ProcessorRun>(std::move(run));
    }
    int busyCount() const override { return m_busy; }
    void unloadWhenDrained() override
    {
        m_unloading = true;
        maybeUnload();
    }

private:
    void maybeUnload()
    {
        if (m_unloading && m_busy == 0 && m_loaded) {
            m_loaded = false;
            emit unloaded();
        }
    }
    int m_busy = 0;
    bool m_unloading = false;
};

// --- the server's side --------------------------------------------------------------------------

// Answers the manager's fetch requests from fixture bytes a turn later (like a server across a
// socket), in order or reversed, or holds them for the test to release. Counts what is
// outstanding to check the window.
class FetchServer : public QObject {
public:
    enum class Mode { InOrder, Reversed, Hold };

    explicit FetchServer(ContainerManager *manager)
        : m_manager(manager)
    {
        connect(manager, &ContainerManager::fetchRequests, this,
                [this](const QList<FetchRequest> &batch) {
                    requests += batch;
                    outstanding += int(batch.size());
                    maxOutstanding = std::max(maxOutstanding, outstanding);
                    if (mode == Mode::Hold) {
                        held += batch;
                        return;
                    }
                    QList<FetchRequest> answer = batch;
                    if (mode == Mode::Reversed)
                        std::reverse(answer.begin(), answer.end());
                    QTimer::singleShot(0, this, [this, answer] { reply(answer); });
                });
    }

    void serve(const Fixture &f) { files.insert(f.sha, f.bytes); }
    void releaseHeld() { reply(std::exchange(held, {})); }

    void reply(const QList<FetchRequest> &batch)
    {
        QList<FetchReply> replies;
        for (const FetchRequest &r : batch) {
            FetchReply rep{r.fetchId, r.sha256, r.offset, {}, {}};
            const auto file = files.constFind(r.sha256);
            if (file == files.constEnd()) {
                rep.error = u"no stored version %1"_s.arg(r.sha256.left(8));
            } else {
                rep.data = file->mid(r.offset, r.length);
                if (tamperOffset >= r.offset && tamperOffset < r.offset + rep.data.size())
                    rep.data[tamperOffset - r.offset] = char(rep.data[tamperOffset - r.offset] ^ 1);
            }
            replies.append(rep);
        }
        outstanding -= int(batch.size());
        m_manager->fetchAnswered(replies);
    }

    Mode mode = Mode::InOrder;
    qint64 tamperOffset = -1;
    QHash<QString, QByteArray> files;
    QList<FetchRequest> requests;
    QList<FetchRequest> held;
    int outstanding = 0;
    int maxOutstanding = 0;

private:
    ContainerManager *m_manager;
};

// Every stage the manager reported, with when it arrived.
class StageLog : public QObject {
public:
    explicit StageLog(ContainerManager *manager)
    {
        clock.start();
        connect(manager, &ContainerManager::stages, this, [this](const QList<DeployStage> &b) {
            for (const DeployStage &s : b) {
                all.append(s);
                atMs.append(clock.elapsed());
            }
        });
    }
    QList<DeployStage> of(qint64 deployId) const
    {
        QList<DeployStage> out;
        for (const DeployStage &s : all) {
            if (s.deployId == deployId)
                out.append(s);
        }
        return out;
    }
    // Stage names of one deploy, repeated DOWNLOADING progress collapsed.
    QStringList names(qint64 deployId) const
    {
        QStringList out;
        for (const DeployStage &s : of(deployId)) {
            const QString n = toString(s.stage);
            if (out.isEmpty() || out.last() != n || n != u"DOWNLOADING"_s)
                out.append(n);
        }
        return out;
    }
    bool finished(qint64 deployId) const
    {
        const QList<DeployStage> s = of(deployId);
        return !s.isEmpty() && isFinal(s.last().stage);
    }
    DeployStage last(qint64 deployId) const
    {
        const QList<DeployStage> s = of(deployId);
        return s.isEmpty() ? DeployStage{} : s.last();
    }
    QList<DeployStage> all;
    QList<qint64> atMs;
    QElapsedTimer clock;
};

// A runner's reports and log lines.
class Collector : public QObject {
public:
    explicit Collector(TaskRunner *runner)
    {
        connect(runner, &TaskRunner::reports, this,
                [this](const QList<TaskReport> &b) { reports += b; });
        connect(runner, &TaskRunner::logs, this, [this](const QList<LogLine> &b) { logs += b; });
    }
    std::optional<TaskReport> terminal(qint64 instance) const
    {
        for (const TaskReport &r : reports) {
            if (r.instanceId == instance && isTerminal(r.status))
                return r;
        }
        return std::nullopt;
    }
    QString outcome(qint64 instance) const
    {
        const auto r = terminal(instance);
        return r ? toString(r->status) + u' ' + r->result : QString();
    }
    QStringList lines(qint64 instance) const
    {
        QStringList out;
        for (const LogLine &l : logs) {
            if (l.instanceId == instance)
                out.append(l.text);
        }
        return out;
    }
    QList<TaskReport> reports;
    QList<LogLine> logs;
};

// One worker's container side: a manager (double loader unless told otherwise), a runner using
// it, a fake server answering fetches, and recorders. The runner is declared last: it goes
// first, before the versions its runs use.
struct Worker {
    explicit Worker(ContainerManagerConfig config, bool fakeLoader = true)
        : manager(withLoader(std::move(config), fakeLoader))
        , server(&manager)
        , stages(&manager)
        , wanted(&manager, &ContainerManager::wanted)
        , collector(&runner)
    {
        runner.setContainerRuns(&manager);
    }
    ~Worker() { runner.setContainerRuns(nullptr); }

    static ContainerManagerConfig withLoader(ContainerManagerConfig c, bool fake)
    {
        if (fake) {
            c.loaderFactory = [](const LoadedContainerSpec &spec) {
                return std::unique_ptr<LoadedContainer>(new FakeContainer(spec));
            };
        }
        return c;
    }

    ContainerManager manager;
    FetchServer server;
    StageLog stages;
    QSignalSpy wanted;
    TaskRunner runner;
    Collector collector;
};

QStringList filesIn(const QString &dir)
{
    QStringList out = QDir(dir).entryList(QDir::Files);
    out.sort();
    return out;
}

constexpr int kWaitMs = 20000;

} // namespace

class TstContainerManager : public QObject {
    Q_OBJECT
private slots:
    void init();
    void downloadsInChunksOutOfOrder();
    void progressIsReportedAtMostEvery100ms();
    void tamperedDownloadFailsAndLeavesNothing();
    void wrongSizeFails_data();
    void wrongSizeFails();
    void badVersionKeepsThePreviousOne_data();
    void badVersionKeepsThePreviousOne();
    void runsInFlightFinishOnTheOldVersion();
    void runsWaitForTheirContainerAndAskOnce();
    void reasonOrderFailsWaitingRuns();
    void waitingRunsGiveUpAfterTheLimit_data();
    void waitingRunsGiveUpAfterTheLimit();
    void newerOrderSupersedesAnUnfinishedOne();
    void sameVersionAgainIsReadyAtOnce();
    void fileAlreadyThereSkipsTheDownload();
    void cleanupKeepsTheLastActivatedFiles();
    void cleanupNeverDeletesALoadedVersion();
    void unknownProcessorFailsTheRun();
    void connectionLossFailsDownloads();
    void callsAreForwardedUnderTheRunsOwnIds();
    void realLoaders_data();
    void realLoaders();

private:
    ContainerManagerConfig config(int keep = 3)
    {
        ContainerManagerConfig c;
        c.directory = m_dir->filePath(u"containers"_s);
        c.keepVersions = keep;
        return c;
    }
    QString helloDir() const { return m_dir->filePath(u"containers/hello"_s); }

    std::unique_ptr<QTemporaryDir> m_dir;
};

void TstContainerManager::init()
{
    lab = FakeLab{};
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TstContainerManager::downloadsInChunksOutOfOrder()
{
    const Fixture big = fixture(u"big.so"_s);
    QVERIFY(big.size() > 4 * kMaxFetchBytes); // more chunks than the window
    Worker w(config());
    w.server.serve(big);
    w.server.mode = FetchServer::Mode::Reversed;
    w.manager.deploy({orderFor(big, 1, u"big"_s)});
    QTRY_VERIFY_WITH_TIMEOUT(w.stages.finished(1), kWaitMs);

    QCOMPARE(w.stages.names(1),
             (QStringList{"QUEUED", "DOWNLOADING", "VERIFYING", "LOADING", "READY"}));
    qint64 previous = -1;
    QList<qint64> progress;
    for (const DeployStage &s : w.stages.of(1)) {
        QCOMPARE(s.total, big.size());
        QCOMPARE(s.sha256, big.sha);
        QCOMPARE(s.container, u"big"_s);
        if (s.stage == DeployStageName::Downloading) {
            QVERIFY(s.bytes >= previous);
            previous = s.bytes;
            progress.append(s.bytes);
        }
    }
    QCOMPARE(progress.first(), qint64(0));
    QCOMPARE(progress.last(), big.size());

    // Chunks of at most 1 MiB covering the file once, at most 4 unanswered at a time.
    QList<FetchRequest> requests = w.server.requests;
    std::sort(requests.begin(), requests.end(),
              [](const FetchRequest &a, const FetchRequest &b) { return a.offset < b.offset; });
    qint64 next = 0;
    for (const FetchRequest &r : requests) {
        QCOMPARE(r.offset, next);
        QVERIFY(r.length > 0 && r.length <= kMaxFetchBytes);
        QCOMPARE(r.sha256, big.sha);
        next += r.length;
    }
    QCOMPARE(next, big.size());
    QCOMPARE(w.server.maxOutstanding, kFetchWindow);

    const QString dir = m_dir->filePath(u"containers/big"_s);
    QCOMPARE(filesIn(dir), QStringList{big.sha + u".so"_s});
    QFile stored(QDir(dir).filePath(big.sha + u".so"_s));
    QVERIFY(stored.open(QIODevice::ReadOnly));
    QVERIFY(stored.readAll() == big.bytes);
    QCOMPARE(w.manager.activeSha(u"big"_s), big.sha);
    QCOMPARE(w.manager.loadedCount(), 1);
}

void TstContainerManager::progressIsReportedAtMostEvery100ms()
{
    const Fixture big = fixture(u"big.so"_s);
    Worker w(config());
    w.server.serve(big);
    w.server.mode = FetchServer::Mode::Hold;
    w.manager.deploy({orderFor(big, 1, u"big"_s)});
    QTRY_COMPARE_WITH_TIMEOUT(int(w.server.held.size()), kFetchWindow, kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(w.stages.names(1), (QStringList{"QUEUED", "DOWNLOADING"}), kWaitMs);
    const qint64 startedAt = w.stages.atMs.last();

    // One chunk arrives right away: its progress is reported, but not before 100 ms have passed
    // since the last DOWNLOADING stage.
    const FetchRequest first = w.server.held.takeFirst();
    w.server.reply({first});
    QTRY_COMPARE_WITH_TIMEOUT(w.stages.last(1).bytes, first.length, kWaitMs);
    const qint64 reportedAt = w.stages.atMs.last();
    QVERIFY2(reportedAt - startedAt >= 95, qPrintable(u"%1 ms"_s.arg(reportedAt - startedAt)));

    // The rest as fast as it comes: every DOWNLOADING stage but the last is >= 100 ms after the
    // previous one; the last one says the whole file.
    w.server.mode = FetchServer::Mode::InOrder;
    w.server.releaseHeld();
    QTRY_VERIFY_WITH_TIMEOUT(w.stages.finished(1), kWaitMs);
    QCOMPARE(toString(w.stages.last(1).stage), toString(DeployStageName::Ready));
    QList<qint64> times;
    QList<qint64> bytes;
    for (int i = 0; i < w.stages.all.size(); ++i) {
        if (w.stages.all[i].stage == DeployStageName::Downloading) {
            times.append(w.stages.atMs[i]);
            bytes.append(w.stages.all[i].bytes);
        }
    }
    QCOMPARE(bytes.last(), big.size());
    for (int i = 1; i + 1 < times.size(); ++i)
        QVERIFY2(times[i] - times[i - 1] >= 95, qPrintable(u"stage %1"_s.arg(i)));
}

void TstContainerManager::tamperedDownloadFailsAndLeavesNothing()
{
    const Fixture v1 = fixture(u"hello-v1.so"_s);
    Worker w(config());
    w.server.serve(v1);
    w.server.tamperOffset = v1.size() / 2;
    QByteArray tampered = v1.bytes;
    tampered[v1.size() / 2] = char(tampered[v1.size() / 2] ^ 1);

    w.manager.deploy({orderFor(v1, 3)});
    QTRY_VERIFY_WITH_TIMEOUT(w.stages.finished(3), kWaitMs);
    QCOMPARE(w.stages.names(3), (QStringList{"QUEUED", "DOWNLOADING", "VERIFYING", "FAILED"}));
    QCOMPARE(w.stages.last(3).reason,
             u"digest mismatch: expected %1, got %2"_s.arg(v1.sha, sha256Of(tampered)));
    QCOMPARE(filesIn(helloDir()), QStringList{});
    QCOMPARE(lab.created, 0);
    QCOMPARE(w.manager.activeSha(u"hello"_s), QString());
}

void TstContainerManager::wrongSizeFails_data()
{
    QTest::addColumn<qint64>("sizeDelta");
    QTest::addColumn<qint64>("maxBytes");
    QTest::addColumn<QString>("reasonStart");
    QTest::newRow("announced one byte more")
        << qint64(1) << kMaxContainerBytes << u"download failed: the server sent"_s;
    QTest::newRow("announced one byte less")
        << qint64(-1) << kMaxContainerBytes << u"digest mismatch: expected"_s;
    QTest::newRow("beyond the worker's limit")
        << qint64(0) << qint64(1000) << u"size: %1 bytes exceeds the 1000-byte container limit"_s;
}

void TstContainerManager::wrongSizeFails()
{
    QFETCH(qint64, sizeDelta);
    QFETCH(qint64, maxBytes);
    QFETCH(QString, reasonStart);
    const Fixture v1 = fixture(u"hello-v1.so"_s);
    ContainerManagerConfig c = config();
    c.maxBytes = maxBytes;
    Worker w(c);
    w.server.serve(v1);
    ContainerOrder o = orderFor(v1, 4);
    o.sizeBytes += sizeDelta;
    w.manager.deploy({o});
    QTRY_VERIFY_WITH_TIMEOUT(w.stages.finished(4), kWaitMs);
    const DeployStage last = w.stages.last(4);
    QCOMPARE(toString(last.stage), toString(DeployStageName::Failed));
    const QString expected =
        reasonStart.contains(u"%1"_s) ? reasonStart.arg(v1.size()) : reasonStart;
    QVERIFY2(last.reason.startsWith(expected), qPrintable(last.reason));
    QCOMPARE(filesIn(helloDir()), QStringList{});
    QCOMPARE(lab.created, 0);
}

void TstContainerManager::badVersionKeepsThePreviousOne_data()
{
    QTest::addColumn<QString>("file");
    QTest::addColumn<bool>("loadFails");
    QTest::addColumn<QString>("reason"); // empty: readContainerMetadata's own error
    QTest::newRow("not a container") << u"notmeta.so"_s << false << QString();
    QTest::newRow("not a library") << u"notalib.so"_s << false << QString();
    QTest::newRow("another container's file")
        << u"mapsum.so"_s << false << u"the file is container 'mapsum', not 'hello'"_s;
    QTest::newRow("load fails") << u"hello-v2.so"_s << true
                                << u"cannot load hello 2.0: undefined symbol: _Z5ghostv"_s;
}

void TstContainerManager::badVersionKeepsThePreviousOne()
{
    QFETCH(QString, file);
    QFETCH(bool, loadFails);
    QFETCH(QString, reason);
    const Fixture v1 = fixture(u"hello-v1.so"_s);
    const Fixture bad = fixture(file);
    if (reason.isEmpty()) {
        const auto meta = readContainerMetadata(bad.path, u"worker"_s);
        QVERIFY(!meta.ok());
        reason = meta.error();
        QVERIFY(!reason.isEmpty());
    }
    if (loadFails)
        lab.failLoad.insert(bad.sha, reason);

    Worker w(config());
    w.server.serve(v1);
    w.server.serve(bad);
    w.manager.deploy({orderFor(v1, 1)});
    QTRY_VERIFY_WITH_TIMEOUT(w.stages.finished(1), kWaitMs);
    QCOMPARE(toString(w.stages.last(1).stage), toString(DeployStageName::Ready));

    w.manager.deploy({orderFor(bad, 2)});
    QTRY_VERIFY_WITH_TIMEOUT(w.stages.finished(2), kWaitMs);
    const DeployStage last = w.stages.last(2);
    QCOMPARE(toString(last.stage), toString(DeployStageName::Failed));
    QCOMPARE(last.reason, reason);
    QCOMPARE(w.stages.names(2).contains(u"LOADING"_s), loadFails);

    // v1 still serves, the bad file is gone, a failed load's container is destroyed.
    QCOMPARE(w.manager.activeSha(u"hello"_s), v1.sha);
    QCOMPARE(filesIn(helloDir()), QStringList{v1.sha + u".so"_s});
    QTRY_COMPARE_WITH_TIMEOUT(lab.alive, 1, kWaitMs);
    QCOMPARE(w.manager.loadedCount(), 1);
    w.runner.submit(containerTask(1, u"hello#greet"_s));
    QTRY_COMPARE_WITH_TIMEOUT(w.collector.outcome(1), u"SUCCEEDED ran 1.0"_s, kWaitMs);
}

void TstContainerManager::runsInFlightFinishOnTheOldVersion()
{
    const Fixture v1 = fixture(u"hello-v1.so"_s);
    const Fixture v2 = fixture(u"hello-v2.so"_s);
    Worker w(config());
    w.server.serve(v1);
    w.server.serve(v2);
    w.manager.deploy({orderFor(v1, 1)});
    QTRY_VERIFY_WITH_TIMEOUT(w.stages.finished(1), kWaitMs);

    w.runner.submit(containerTask(1, u"hello#greet"_s, {{u"hold"_s, true}}));
    QTRY_COMPARE_WITH_TIMEOUT(lab.held.size(), 1, kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(
        w.collector.lines(1),
        (QStringList{u"container hello 1.0 (%1) inprocess"_s.arg(v1.sha.left(8)),
                     u"hello from 1.0"_s}),
        kWaitMs);

    w.manager.deploy({orderFor(v2, 2)});
    QTRY_VERIFY_WITH_TIMEOUT(w.stages.finished(2), kWaitMs);
    QCOMPARE(toString(w.stages.last(2).stage), toString(DeployStageName::Ready));
    QCOMPARE(w.manager.activeSha(u"hello"_s), v2.sha);
    QCOMPARE(w.manager.loadedCount(), 2); // v1 drains

    // The next run uses v2 while the first one still runs on v1.
    w.runner.submit(containerTask(2, u"hello#greet"_s));
    QTRY_COMPARE_WITH_TIMEOUT(w.collector.outcome(2), u"SUCCEEDED ran 2.0"_s, kWaitMs);
    QCOMPARE(w.collector.lines(2).first(),
             u"container hello 2.0 (%1) inprocess"_s.arg(v2.sha.left(8)));
    QVERIFY(!w.collector.terminal(1));
    QCOMPARE(w.manager.loadedCount(), 2);

    lab.held.first()->release();
    QTRY_COMPARE_WITH_TIMEOUT(w.collector.outcome(1), u"SUCCEEDED ran 1.0"_s, kWaitMs);
    // Drained: v1 unloaded and destroyed, v2 stays.
    QTRY_COMPARE_WITH_TIMEOUT(w.manager.loadedCount(), 1, kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(lab.alive, 1, kWaitMs);
    QCOMPARE(w.manager.activeSha(u"hello"_s), v2.sha);
}

void TstContainerManager::runsWaitForTheirContainerAndAskOnce()
{
    const Fixture v1 = fixture(u"hello-v1.so"_s);
    Worker w(config());
    w.server.serve(v1);
    w.runner.submit(containerTask(1, u"hello#greet"_s));
    w.runner.submit(containerTask(2, u"hello#noop"_s));
    QTRY_COMPARE_WITH_TIMEOUT(w.wanted.size(), 1, kWaitMs);
    QCOMPARE(w.wanted.first().first().toStringList(), QStringList{u"hello"_s});
    QTRY_COMPARE_WITH_TIMEOUT(w.collector.reports.size(), 2, kWaitMs); // both RUNNING
    QVERIFY(!w.collector.terminal(1) && !w.collector.terminal(2));

    // The server's answer to the want: a deploy with id 0. A run started meanwhile waits for it
    // without asking again.
    w.server.mode = FetchServer::Mode::Hold;
    w.manager.deploy({orderFor(v1, 0)});
    QTRY_VERIFY_WITH_TIMEOUT(!w.server.held.isEmpty(), kWaitMs);
    w.runner.submit(containerTask(3, u"hello#greet"_s));
    QTRY_COMPARE_WITH_TIMEOUT(w.collector.reports.size(), 3, kWaitMs);
    w.server.releaseHeld();

    QTRY_COMPARE_WITH_TIMEOUT(w.collector.outcome(1), u"SUCCEEDED ran 1.0"_s, kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(w.collector.outcome(2), u"SUCCEEDED ran 1.0"_s, kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(w.collector.outcome(3), u"SUCCEEDED ran 1.0"_s, kWaitMs);
    QCOMPARE(w.wanted.size(), 1);
    QCOMPARE(toString(w.stages.last(0).stage), toString(DeployStageName::Ready));
}

void TstContainerManager::reasonOrderFailsWaitingRuns()
{
    Worker w(config());
    w.runner.submit(containerTask(1, u"ghost#greet"_s));
    QTRY_COMPARE_WITH_TIMEOUT(w.wanted.size(), 1, kWaitMs);
    QCOMPARE(w.wanted.first().first().toStringList(), QStringList{u"ghost"_s});
    ContainerOrder none;
    none.container = u"ghost"_s;
    none.reason = u"processor.ref: no container 'ghost' is uploaded"_s;
    w.manager.deploy({none});
    QTRY_COMPARE_WITH_TIMEOUT(w.collector.outcome(1),
                              u"FAILED processor.ref: no container 'ghost' is uploaded"_s, kWaitMs);
    QVERIFY(w.stages.all.isEmpty()); // no deploy happened

    // Answered: the next run asks again.
    w.runner.submit(containerTask(2, u"ghost#greet"_s));
    QTRY_COMPARE_WITH_TIMEOUT(w.wanted.size(), 2, kWaitMs);
}

void TstContainerManager::waitingRunsGiveUpAfterTheLimit_data()
{
    QTest::addColumn<int>("waitMs");
    QTest::addColumn<int>("timeoutMs");
    QTest::addColumn<QString>("outcome");
    QTest::newRow("the wait limit")
        << 300 << 0 << u"FAILED container 'hello' did not become ready within 0.3 s"_s;
    QTest::newRow("whole seconds")
        << 1000 << 0 << u"FAILED container 'hello' did not become ready within 1 s"_s;
    QTest::newRow("the run's own timeout comes first")
        << 5000 << 300 << u"TIMED_OUT timed out after 300 ms"_s;
}

void TstContainerManager::waitingRunsGiveUpAfterTheLimit()
{
    QFETCH(int, waitMs);
    QFETCH(int, timeoutMs);
    QFETCH(QString, outcome);
    ContainerManagerConfig c = config();
    c.waitForContainerMs = waitMs;
    Worker w(c);
    QElapsedTimer timer;
    timer.start();
    TaskSpec spec = containerTask(1, u"hello#greet"_s);
    spec.timeoutMs = timeoutMs;
    w.runner.submit(spec);
    QTRY_COMPARE_WITH_TIMEOUT(w.collector.outcome(1), outcome, kWaitMs);
    QVERIFY(timer.elapsed() >= 290);
    QCOMPARE(w.wanted.size(), 1);

    // A late deploy finds no run waiting: the one that gave up is forgotten.
    const Fixture v1 = fixture(u"hello-v1.so"_s);
    w.server.serve(v1);
    w.manager.deploy({orderFor(v1, 0)});
    QTRY_VERIFY_WITH_TIMEOUT(w.stages.finished(0), kWaitMs);
    QCOMPARE(toString(w.stages.last(0).stage), toString(DeployStageName::Ready));
    QCOMPARE(w.collector.reports.size(), 2); // RUNNING and the one terminal report
}

void TstContainerManager::newerOrderSupersedesAnUnfinishedOne()
{
    const Fixture v1 = fixture(u"hello-v1.so"_s);
    const Fixture v2 = fixture(u"hello-v2.so"_s);
    Worker w(config());
    w.server.serve(v1);
    w.server.serve(v2);
    w.server.mode = FetchServer::Mode::Hold;
    w.manager.deploy({orderFor(v1, 1)});
    QTRY_VERIFY_WITH_TIMEOUT(!w.server.held.isEmpty(), kWaitMs);
    QVERIFY(QFileInfo::exists(QDir(helloDir()).filePath(v1.sha + u".so.part"_s)));

    w.manager.deploy({orderFor(v2, 2)});
    QTRY_VERIFY_WITH_TIMEOUT(w.stages.finished(1), kWaitMs);
    QCOMPARE(toString(w.stages.last(1).stage), toString(DeployStageName::Failed));
    QCOMPARE(w.stages.last(1).reason, u"superseded by deploy 2"_s);

    // Late answers for v1 change nothing; v2 completes.
    w.server.mode = FetchServer::Mode::InOrder;
    w.server.releaseHeld();
    QTRY_VERIFY_WITH_TIMEOUT(w.stages.finished(2), kWaitMs);
    QCOMPARE(toString(w.stages.last(2).stage), toString(DeployStageName::Ready));
    QCOMPARE(int(w.stages.of(1).size()), 3); // QUEUED, DOWNLOADING, FAILED
    QCOMPARE(w.manager.activeSha(u"hello"_s), v2.sha);
    QCOMPARE(filesIn(helloDir()), QStringList{v2.sha + u".so"_s});
    QCOMPARE(lab.created, 1);
}

void TstContainerManager::sameVersionAgainIsReadyAtOnce()
{
    const Fixture v1 = fixture(u"hello-v1.so"_s);
    Worker w(config());
    w.server.serve(v1);
    w.manager.deploy({orderFor(v1, 1)});
    QTRY_VERIFY_WITH_TIMEOUT(w.stages.finished(1), kWaitMs);
    const qsizetype fetches = w.server.requests.size();

    w.manager.deploy({orderFor(v1, 5)});
    QTRY_VERIFY_WITH_TIMEOUT(w.stages.finished(5), kWaitMs);
    QCOMPARE(w.stages.names(5), QStringList{u"READY"_s});
    QCOMPARE(w.stages.last(5).bytes, v1.size());
    QCOMPARE(w.server.requests.size(), fetches);
    QCOMPARE(lab.created, 1);

    // The same file in the other isolation mode is a new load (from the file already there).
    w.manager.deploy({orderFor(v1, 6, u"hello"_s, {}, ContainerIsolation::Process)});
    QTRY_VERIFY_WITH_TIMEOUT(w.stages.finished(6), kWaitMs);
    QCOMPARE(w.stages.names(6), (QStringList{"QUEUED", "VERIFYING", "LOADING", "READY"}));
    QCOMPARE(lab.created, 2);
    QTRY_COMPARE_WITH_TIMEOUT(lab.alive, 1, kWaitMs);
}

void TstContainerManager::fileAlreadyThereSkipsTheDownload()
{
    const Fixture v1 = fixture(u"hello-v1.so"_s);
    {
        Worker first(config());
        first.server.serve(v1);
        first.manager.deploy({orderFor(v1, 1)});
        QTRY_VERIFY_WITH_TIMEOUT(first.stages.finished(1), kWaitMs);
        QCOMPARE(toString(first.stages.last(1).stage), toString(DeployStageName::Ready));
    }
    QCOMPARE(lab.alive, 0); // the manager unloaded everything
    // A restarted worker finds the file and only checks it.
    Worker second(config());
    second.manager.deploy({orderFor(v1, 1)});
    QTRY_VERIFY_WITH_TIMEOUT(second.stages.finished(1), kWaitMs);
    QCOMPARE(second.stages.names(1), (QStringList{"QUEUED", "VERIFYING", "LOADING", "READY"}));
    QVERIFY(second.server.requests.isEmpty());

    // A damaged file under that name is downloaded again.
    Worker third(config());
    third.server.serve(v1);
    {
        QFile f(QDir(helloDir()).filePath(v1.sha + u".so"_s));
        QVERIFY(f.open(QIODevice::ReadWrite));
        QVERIFY(f.seek(10));
        QCOMPARE(f.write("XX"), 2);
    }
    third.manager.deploy({orderFor(v1, 2)});
    QTRY_VERIFY_WITH_TIMEOUT(third.stages.finished(2), kWaitMs);
    QCOMPARE(third.stages.names(2),
             (QStringList{"QUEUED", "VERIFYING", "DOWNLOADING", "VERIFYING", "LOADING", "READY"}));
    QFile stored(QDir(helloDir()).filePath(v1.sha + u".so"_s));
    QVERIFY(stored.open(QIODevice::ReadOnly));
    QVERIFY(stored.readAll() == v1.bytes);
}

void TstContainerManager::cleanupKeepsTheLastActivatedFiles()
{
    const Fixture v1 = fixture(u"hello-v1.so"_s);
    QList<Fixture> versions;
    for (int i = 0; i < 4; ++i)
        versions.append(variant(v1, i, m_dir->path()));
    Worker w(config(2));
    for (int i = 0; i < versions.size(); ++i) {
        w.server.serve(versions[i]);
        w.manager.deploy({orderFor(versions[i], i + 1)});
        QTRY_VERIFY_WITH_TIMEOUT(w.stages.finished(i + 1), kWaitMs);
        QCOMPARE(toString(w.stages.last(i + 1).stage), toString(DeployStageName::Ready));
        QTRY_COMPARE_WITH_TIMEOUT(w.manager.loadedCount(), 1, kWaitMs);
    }
    QStringList expected{versions[2].sha + u".so"_s, versions[3].sha + u".so"_s};
    expected.sort();
    QTRY_COMPARE_WITH_TIMEOUT(filesIn(helloDir()), expected, kWaitMs);

    // Going back to an older version that is still there needs no download, and makes it the
    // newest activation: the other one of the two stays.
    const qsizetype fetches = w.server.requests.size();
    w.manager.deploy({orderFor(versions[2], 9)});
    QTRY_VERIFY_WITH_TIMEOUT(w.stages.finished(9), kWaitMs);
    QCOMPARE(toString(w.stages.last(9).stage), toString(DeployStageName::Ready));
    QCOMPARE(w.server.requests.size(), fetches);
    QTRY_COMPARE_WITH_TIMEOUT(filesIn(helloDir()), expected, kWaitMs);
}

void TstContainerManager::cleanupNeverDeletesALoadedVersion()
{
    const Fixture v1 = fixture(u"hello-v1.so"_s);
    const Fixture a = variant(v1, 1, m_dir->path());
    const Fixture b = variant(v1, 2, m_dir->path());
    Worker w(config(1));
    w.server.serve(a);
    w.server.serve(b);
    w.manager.deploy({orderFor(a, 1)});
    QTRY_VERIFY_WITH_TIMEOUT(w.stages.finished(1), kWaitMs);
    w.runner.submit(containerTask(1, u"hello#greet"_s, {{u"hold"_s, true}}));
    QTRY_COMPARE_WITH_TIMEOUT(lab.held.size(), 1, kWaitMs);

    w.manager.deploy({orderFor(b, 2)});
    QTRY_VERIFY_WITH_TIMEOUT(w.stages.finished(2), kWaitMs);
    QCOMPARE(toString(w.stages.last(2).stage), toString(DeployStageName::Ready));
    QStringList both{a.sha + u".so"_s, b.sha + u".so"_s};
    both.sort();
    QCOMPARE(filesIn(helloDir()), both); // a is beyond keepVersions but still loaded

    lab.held.first()->release();
    QTRY_COMPARE_WITH_TIMEOUT(w.collector.outcome(1), u"SUCCEEDED ran 1.0"_s, kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(filesIn(helloDir()), QStringList{b.sha + u".so"_s}, kWaitMs);
}

void TstContainerManager::unknownProcessorFailsTheRun()
{
    const Fixture v1 = fixture(u"hello-v1.so"_s);
    Worker w(config());
    w.server.serve(v1);
    w.manager.deploy({orderFor(v1, 1)});
    QTRY_VERIFY_WITH_TIMEOUT(w.stages.finished(1), kWaitMs);
    w.runner.submit(containerTask(1, u"hello#nope"_s));
    w.runner.submit(containerTask(2, u"hello"_s));
    QTRY_COMPARE_WITH_TIMEOUT(
        w.collector.outcome(1),
        u"FAILED container 'hello' 1.0 has no processor 'nope' (it has: greet, noop)"_s, kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(w.collector.terminal(2), kWaitMs);
    QCOMPARE(toString(w.collector.terminal(2)->status), toString(InstanceStatus::Failed));
    QVERIFY2(w.collector.terminal(2)->result.startsWith(u"processor.ref: "_s),
             qPrintable(w.collector.terminal(2)->result));
}

void TstContainerManager::connectionLossFailsDownloads()
{
    const Fixture v1 = fixture(u"hello-v1.so"_s);
    Worker w(config());
    w.server.serve(v1);
    w.server.mode = FetchServer::Mode::Hold;
    w.runner.submit(containerTask(1, u"hello#greet"_s));
    QTRY_COMPARE_WITH_TIMEOUT(w.wanted.size(), 1, kWaitMs);
    w.manager.deploy({orderFor(v1, 0, u"hello"_s, u"1.0"_s)});
    QTRY_VERIFY_WITH_TIMEOUT(!w.server.held.isEmpty(), kWaitMs);

    w.manager.connectionLost();
    QTRY_VERIFY_WITH_TIMEOUT(w.stages.finished(0), kWaitMs);
    QCOMPARE(toString(w.stages.last(0).stage), toString(DeployStageName::Failed));
    QCOMPARE(w.stages.last(0).reason, u"connection to the server lost"_s);
    QTRY_COMPARE_WITH_TIMEOUT(
        w.collector.outcome(1),
        u"FAILED container 'hello' 1.0 could not be deployed: connection to the server lost"_s,
        kWaitMs);
    QCOMPARE(filesIn(helloDir()), QStringList{});

    // Answers that arrive after all are ignored. (What the manager says leaves in order, once
    // per turn: once the want below is out, a stage it wrongly made of them would be too.)
    const qsizetype stagesBefore = w.stages.all.size();
    w.server.releaseHeld();
    w.runner.submit(containerTask(2, u"other#x"_s));
    QTRY_COMPARE_WITH_TIMEOUT(w.wanted.size(), 2, kWaitMs);
    QCOMPARE(w.stages.all.size(), stagesBefore);
    QCOMPARE(filesIn(helloDir()), QStringList{});
}

void TstContainerManager::callsAreForwardedUnderTheRunsOwnIds()
{
    const Fixture v1 = fixture(u"hello-v1.so"_s);
    Worker w(config());
    w.server.serve(v1);
    w.manager.deploy({orderFor(v1, 1)});
    QTRY_VERIFY_WITH_TIMEOUT(w.stages.finished(1), kWaitMs);

    QList<TaskCall> calls;
    connect(&w.runner, &TaskRunner::calls, this, [&](const QList<TaskCall> &b) { calls += b; });
    const TaskSpec spec = containerTask(7, u"hello#greet"_s, {{u"call"_s, true}});
    w.runner.submit(spec);
    QTRY_COMPARE_WITH_TIMEOUT(calls.size(), 1, kWaitMs);
    QCOMPARE(calls[0].key, taskKeyOf(spec));
    QCOMPARE(calls[0].name, u"items"_s);
    QCOMPARE(calls[0].items, (QList<QByteArray>{"a", "b"}));
    w.runner.answer({TaskCallReply{calls[0].callId, {}, {}, false}});
    QTRY_COMPARE_WITH_TIMEOUT(w.collector.outcome(7), u"SUCCEEDED answered: ok"_s, kWaitMs);
}

void TstContainerManager::realLoaders_data()
{
    QTest::addColumn<ContainerIsolation>("isolation");
    QTest::newRow("inprocess") << ContainerIsolation::InProcess;
    QTest::newRow("process") << ContainerIsolation::Process;
}

void TstContainerManager::realLoaders()
{
    // The real loaders on the hello fixtures: v1 then v2, each run says which one ran it.
    QFETCH(ContainerIsolation, isolation);
    const Fixture v1 = fixture(u"hello-v1.so"_s);
    const Fixture v2 = fixture(u"hello-v2.so"_s);
    ContainerManagerConfig c = config();
    c.hostProgram = QStringLiteral(KAIROS_BIN_DIR "/kairos-container-host");
    Worker w(c, false);
    w.server.serve(v1);
    w.server.serve(v2);
    const QString mode = toString(isolation);

    w.manager.deploy({orderFor(v1, 1, u"hello"_s, u"1.0"_s, isolation)});
    QTRY_VERIFY_WITH_TIMEOUT(w.stages.finished(1), kWaitMs);
    QCOMPARE(toString(w.stages.last(1).stage), toString(DeployStageName::Ready));
    w.runner.submit(containerTask(1, u"hello#greet"_s));
    QTRY_COMPARE_WITH_TIMEOUT(w.collector.outcome(1), u"SUCCEEDED v1"_s, kWaitMs);
    QCOMPARE(w.collector.lines(1).first(),
             u"container hello 1.0 (%1) %2"_s.arg(v1.sha.left(8), mode));
    QVERIFY(w.collector.lines(1).contains(u"v1"_s));

    w.manager.deploy({orderFor(v2, 2, u"hello"_s, u"2.0"_s, isolation)});
    QTRY_VERIFY_WITH_TIMEOUT(w.stages.finished(2), kWaitMs);
    QCOMPARE(toString(w.stages.last(2).stage), toString(DeployStageName::Ready));
    w.runner.submit(containerTask(2, u"hello#greet"_s));
    QTRY_COMPARE_WITH_TIMEOUT(w.collector.outcome(2), u"SUCCEEDED v2"_s, kWaitMs);
    QCOMPARE(w.collector.lines(2).first(),
             u"container hello 2.0 (%1) %2"_s.arg(v2.sha.left(8), mode));
    // v1 had no run left: unloaded.
    QTRY_COMPARE_WITH_TIMEOUT(w.manager.loadedCount(), 1, kWaitMs);
}

QTEST_GUILESS_MAIN(TstContainerManager)
#include "tst_container_manager.moc"
