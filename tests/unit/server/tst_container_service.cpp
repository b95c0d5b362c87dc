// ContainerService (docs/containers.md sections 2, 3 and 8) on a real SQLite store in a temporary
// folder, with fake worker links that record the orders and fetch replies they are given and
// emit the stages, fetches and wants a worker would send. The containers are the test fixtures
// built into KAIROS_BIN_DIR "/containers/". Every wait is for a condition, with a deadline.
#include <core/clock.h>
#include <server/container_service.h>
#include <server/worker_link.h>
#include <store/store_config.h>
#include <store/store_thread.h>

#include <QCryptographicHash>
#include <QDirIterator>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

using namespace kairos;
using namespace kairos::server;
using namespace Qt::StringLiterals;

namespace {

constexpr int kWaitMs = 10000;

QString fixture(const QString &name)
{
    return QStringLiteral(KAIROS_BIN_DIR "/containers/") + name;
}

QByteArray readAll(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        qFatal("cannot read fixture %s (build kairos_test_containers)", qPrintable(path));
    return f.readAll();
}

QString shaOf(const QByteArray &bytes)
{
    return QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex());
}

// A worker link the test drives: alive or not, recording what the service sends it.
class FakeLink : public WorkerLink {
public:
    explicit FakeLink(QString id, bool isAliveNow = true)
        : m_id(std::move(id))
        , alive(isAliveNow)
    {}
    QString id() const override { return m_id; }
    QString address() const override { return u"fake"_s; }
    QString app() const override { return u"*"_s; }
    bool isAlive() const override { return alive; }
    int freeSlots() const override { return 0; }
    int slotCount() const override { return 0; }
    void dispatch(const QList<TaskSpec> &) override {}
    void cancel(qint64, int, const QString &) override {}
    void cancelTasks(const QList<TaskKey> &, const QString &) override {}
    void answer(const QList<TaskCallReply> &) override {}
    void deployContainers(const QList<ContainerOrder> &o) override { orders << o; }
    void answerFetches(const QList<FetchReply> &r) override { replies << r; }

    FetchReply replyTo(qint64 fetchId) const
    {
        for (const FetchReply &r : replies) {
            if (r.fetchId == fetchId)
                return r;
        }
        return FetchReply{-1, {}, 0, {}, u"no reply"_s};
    }

    QString m_id;
    bool alive;
    QList<ContainerOrder> orders;
    QList<FetchReply> replies;
};

using UploadResult = Result<std::pair<ContainerVersion, bool>>;

template<typename T, typename Call> Result<T> await(Call call)
{
    auto out = std::make_shared<std::optional<Result<T>>>();
    call([out](Result<T> r) { out->emplace(std::move(r)); });
    if (!QTest::qWaitFor([&] { return out->has_value(); }, kWaitMs))
        return makeError(u"timed out waiting for the reply"_s);
    return std::move(**out);
}

UploadResult finish(ContainerService &s, qint64 id)
{
    return await<std::pair<ContainerVersion, bool>>(
        [&](auto reply) { s.finishUpload(id, std::move(reply)); });
}

// Uploads `bytes` in chunks of `chunk` bytes, announcing `sha` (default: the real digest).
UploadResult upload(ContainerService &s, const QByteArray &bytes, qint64 chunk = 256 * 1024,
                    QString sha = {})
{
    if (sha.isEmpty())
        sha = shaOf(bytes);
    auto ticket = s.beginUpload(bytes.size(), sha, u"alice"_s);
    if (!ticket.ok())
        return makeError(ticket.error());
    for (qint64 offset = 0; offset < bytes.size(); offset += chunk) {
        auto received = s.appendUpload(ticket->uploadId, offset, bytes.mid(offset, chunk));
        if (!received.ok())
            return makeError(received.error());
    }
    return finish(s, ticket->uploadId);
}

Result<DeployTicket> deploy(ContainerService &s, const QString &container,
                            const QString &version = {}, const QStringList &workers = {},
                            ContainerIsolation isolation = ContainerIsolation::Process)
{
    DeployRequest request;
    request.container = container;
    request.version = version;
    request.workers = workers;
    request.isolation = isolation;
    request.user = u"alice"_s;
    return await<DeployTicket>([&](auto reply) { s.deploy(request, std::move(reply)); });
}

QStringList filesUnder(const QString &dir)
{
    QStringList files;
    QDirIterator it(dir, QDir::Files, QDirIterator::Subdirectories);
    while (it.hasNext())
        files << it.next();
    return files;
}

Job containerJob(const QString &ref, ExecutionMode mode)
{
    Job job;
    job.name = u"c"_s;
    job.processor = ProcessorKind::Container;
    job.processorConfig = QJsonObject{{u"ref"_s, ref}};
    job.mode = mode;
    return job;
}

} // namespace

class TstContainerService : public QObject {
    Q_OBJECT

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<StoreThread> m_store;
    std::unique_ptr<ContainerService> m_service;
    QByteArray m_v1, m_v2;
    QString m_sha1, m_sha2;

    QString uploadDir() const { return m_dir->filePath(u"uploads"_s); }

    std::unique_ptr<ContainerService> newService(ContainerServiceConfig config = {})
    {
        config.uploadDirectory = uploadDir();
        auto s = std::make_unique<ContainerService>(*m_store, config);
        if (Status st = s->load(); !st.ok())
            qFatal("load failed: %s", qPrintable(st.error()));
        return s;
    }

    // Uploads hello 1.0 and 2.0 (in that order: 2.0 is the newest).
    bool uploadBoth(ContainerService &s)
    {
        auto a = upload(s, m_v1);
        auto b = upload(s, m_v2);
        if (!a.ok() || !b.ok())
            qWarning() << a.error() << b.error();
        return a.ok() && b.ok();
    }

private slots:
    void initTestCase()
    {
        m_v1 = readAll(fixture(u"hello-v1.so"_s));
        m_v2 = readAll(fixture(u"hello-v2.so"_s));
        m_sha1 = shaOf(m_v1);
        m_sha2 = shaOf(m_v2);
    }

    void init()
    {
        m_dir = std::make_unique<QTemporaryDir>();
        QVERIFY(m_dir->isValid());
        auto config = StoreConfig::parse(m_dir->filePath(u"kairos.db"_s));
        QVERIFY(config.ok());
        auto store = StoreThread::start(*config);
        QVERIFY2(store.ok(), qPrintable(store.error()));
        m_store = std::move(store).value();
        m_service = newService();
    }

    void cleanup()
    {
        m_service.reset();
        m_store.reset();
        m_dir.reset();
    }

    // --- uploads ------------------------------------------------------------------------------

    void uploadInChunksStoresTheVersion()
    {
        QSignalSpy changed(m_service.get(), &ContainerService::containersChanged);
        const qint64 before = nowMs();
        auto ticket = m_service->beginUpload(m_v1.size(), m_sha1, u"alice"_s);
        QVERIFY2(ticket.ok(), qPrintable(ticket.error()));
        QCOMPARE(ticket->chunkBytes, ContainerServiceConfig{}.chunkBytes);
        const qint64 chunk = 100 * 1000;
        for (qint64 offset = 0; offset < m_v1.size(); offset += chunk) {
            auto received =
                m_service->appendUpload(ticket->uploadId, offset, m_v1.mid(offset, chunk));
            QVERIFY2(received.ok(), qPrintable(received.error()));
            QCOMPARE(*received, std::min<qint64>(offset + chunk, m_v1.size()));
        }
        auto done = finish(*m_service, ticket->uploadId);
        QVERIFY2(done.ok(), qPrintable(done.error()));
        const ContainerVersion &v = done->first;
        QCOMPARE(done->second, false);
        QCOMPARE(v.sha256, m_sha1);
        QCOMPARE(v.metadata.name, u"hello"_s);
        QCOMPARE(v.metadata.version, u"1.0"_s);
        QCOMPARE(v.metadata.processorNames(), QStringList({u"greet"_s, u"noop"_s}));
        QCOMPARE(toString(v.metadata.processor(u"greet"_s)->shape), u"standalone"_s);
        QCOMPARE(v.sizeBytes, qint64(m_v1.size()));
        QCOMPARE(v.uploadedBy, u"alice"_s);
        QVERIFY(v.uploadedAtMs >= before);
        QCOMPARE(m_service->versions(u"hello"_s), QList<ContainerVersion>{v});
        QCOMPARE(m_service->containerNames(), QStringList{u"hello"_s});
        QCOMPARE(changed.size(), 1);
        QCOMPARE(changed.first().first().toStringList(), QStringList{u"hello"_s});
        QVERIFY2(filesUnder(uploadDir()).isEmpty(), qPrintable(filesUnder(uploadDir()).join(u' ')));

        // The same file again: the stored version, marked existing; nothing new.
        auto again = upload(*m_service, m_v1, 64 * 1024);
        QVERIFY2(again.ok(), qPrintable(again.error()));
        QCOMPARE(again->second, true);
        QCOMPARE(again->first, v);
        QCOMPARE(m_service->versions().size(), 1);
    }

    void newestVersionComesFirst()
    {
        QVERIFY(uploadBoth(*m_service));
        const QList<ContainerVersion> versions = m_service->versions(u"hello"_s);
        QCOMPARE(versions.size(), 2);
        QCOMPARE(versions[0].sha256, m_sha2);
        QCOMPARE(versions[1].sha256, m_sha1);
        QVERIFY(versions[0].uploadedAtMs > versions[1].uploadedAtMs);
    }

    void badLibrariesAreRefused_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("error");
        QTest::newRow("text file") << u"notalib.so"_s << u"not a shared library: no ELF header"_s;
        QTest::newRow("no metadata")
            << u"notmeta.so"_s
            << u"not a Kairos container: no plugin metadata (build it with kairos_add_container)"_s;
        QTest::newRow("other SDK")
            << u"wrongsdk.so"_s
            << u"incompatible SDK version 99: this server supports SDK version 1"_s;
        QTest::newRow("bad shape") << u"badshape.so"_s
                                   << u"metadata: field 'processors[1].shape' must be one of "
                                      "standalone, broadcast, map, mapReduce"_s;
    }

    void badLibrariesAreRefused()
    {
        QFETCH(QString, file);
        QFETCH(QString, error);
        QSignalSpy changed(m_service.get(), &ContainerService::containersChanged);
        auto result = upload(*m_service, readAll(fixture(file)));
        QVERIFY(!result.ok());
        QCOMPARE(result.error(), error);
        QVERIFY(m_service->versions().isEmpty());
        QCOMPARE(changed.size(), 0);
        QVERIFY2(filesUnder(uploadDir()).isEmpty(), qPrintable(filesUnder(uploadDir()).join(u' ')));
    }

    void missingProcessorIsALoadErrorNotAnUploadError()
    {
        // The metadata is valid; only loading finds that `ghost` is not offered (worker side).
        auto result = upload(*m_service, readAll(fixture(u"missingproc.so"_s)));
        QVERIFY2(result.ok(), qPrintable(result.error()));
        QCOMPARE(result->first.metadata.processorNames(), QStringList({u"greet"_s, u"ghost"_s}));
    }

    void truncatedUploadFails()
    {
        auto ticket = m_service->beginUpload(m_v1.size(), m_sha1, u"alice"_s);
        QVERIFY(ticket.ok());
        const qint64 half = m_v1.size() / 2;
        QVERIFY(m_service->appendUpload(ticket->uploadId, 0, m_v1.left(half)).ok());
        auto done = finish(*m_service, ticket->uploadId);
        QVERIFY(!done.ok());
        QCOMPARE(done.error(),
                 u"truncated upload: received %1 of %2 bytes"_s.arg(half).arg(m_v1.size()));
        // The upload ended with it.
        auto more = m_service->appendUpload(ticket->uploadId, half, m_v1.mid(half));
        QVERIFY(!more.ok());
        QVERIFY2(more.error().startsWith(
                     u"uploadId: no upload %1 is in progress"_s.arg(ticket->uploadId)),
                 qPrintable(more.error()));
        QVERIFY(m_service->versions().isEmpty());
        QVERIFY(filesUnder(uploadDir()).isEmpty());
    }

    void tamperedUploadFails()
    {
        QByteArray tampered = m_v1;
        tampered[tampered.size() / 2] = char(tampered[tampered.size() / 2] ^ 0x5a);
        auto result = upload(*m_service, tampered, 256 * 1024, m_sha1);
        QVERIFY(!result.ok());
        QCOMPARE(result.error(),
                 u"digest mismatch: expected %1, got %2"_s.arg(m_sha1, shaOf(tampered)));
        QVERIFY(m_service->versions().isEmpty());
        QVERIFY(filesUnder(uploadDir()).isEmpty());
    }

    void chunksMustFollowEachOther()
    {
        auto ticket = m_service->beginUpload(m_v1.size(), m_sha1, u"alice"_s);
        QVERIFY(ticket.ok());
        QCOMPARE(*m_service->appendUpload(ticket->uploadId, 0, m_v1.left(65536)), qint64(65536));
        auto repeated = m_service->appendUpload(ticket->uploadId, 0, m_v1.left(65536));
        QVERIFY(!repeated.ok());
        QCOMPARE(repeated.error(), u"offset: expected 65536, got 0"_s);
        auto beyond = m_service->appendUpload(ticket->uploadId, 65536, m_v1.mid(65536) + "xx");
        QVERIFY(!beyond.ok());
        QCOMPARE(beyond.error(), u"data: %1 bytes at offset 65536 go beyond the announced size of "
                                 "%2 bytes"_s.arg(m_v1.size() - 65536 + 2)
                                     .arg(m_v1.size()));
        // Refused chunks change nothing: the rest completes the upload.
        QVERIFY(m_service->appendUpload(ticket->uploadId, 65536, m_v1.mid(65536)).ok());
        auto done = finish(*m_service, ticket->uploadId);
        QVERIFY2(done.ok(), qPrintable(done.error()));
        QCOMPARE(done->first.sha256, m_sha1);
    }

    void beginChecksSizeAndDigest_data()
    {
        QTest::addColumn<qint64>("size");
        QTest::addColumn<QString>("sha");
        QTest::addColumn<QString>("error");
        const QString sha(64, u'a');
        QTest::newRow("too big") << qint64(300000000) << sha
                                 << u"size: 300000000 bytes exceeds the 268435456-byte container "
                                    "limit"_s;
        QTest::newRow("empty") << qint64(0) << sha << u"size: expected at least 1 byte, got 0"_s;
        QTest::newRow("short digest")
            << qint64(10) << u"abc"_s
            << u"sha256: expected the SHA-256 of the file as 64 hex digits, got 'abc'"_s;
    }

    void beginChecksSizeAndDigest()
    {
        QFETCH(qint64, size);
        QFETCH(QString, sha);
        QFETCH(QString, error);
        auto ticket = m_service->beginUpload(size, sha, u"alice"_s);
        QVERIFY(!ticket.ok());
        QCOMPARE(ticket.error(), error);
    }

    void idleUploadsAreDroppedAndUploadsAreLimited()
    {
        ContainerServiceConfig config;
        config.uploadIdleMs = 150;
        config.maxUploads = 2;
        m_service = newService(config);
        auto a = m_service->beginUpload(m_v1.size(), m_sha1, u"alice"_s);
        auto b = m_service->beginUpload(m_v2.size(), m_sha2, u"alice"_s);
        QVERIFY(a.ok() && b.ok());
        auto c = m_service->beginUpload(m_v2.size(), m_sha2, u"alice"_s);
        QVERIFY(!c.ok());
        QVERIFY2(c.error().startsWith(u"too many uploads in progress (2)"_s),
                 qPrintable(c.error()));
        QVERIFY(m_service->appendUpload(a->uploadId, 0, m_v1.left(1000)).ok());
        QCOMPARE(filesUnder(uploadDir()).size(), 2);
        // Nobody sends more: both are dropped, their files deleted, by the service's own timer.
        QTRY_VERIFY_WITH_TIMEOUT(filesUnder(uploadDir()).isEmpty(), kWaitMs);
        auto late = m_service->appendUpload(a->uploadId, 1000, m_v1.mid(1000, 1000));
        QVERIFY(!late.ok());
        QVERIFY2(
            late.error().startsWith(u"uploadId: no upload %1 is in progress"_s.arg(a->uploadId)),
            qPrintable(late.error()));
        QVERIFY(m_service->beginUpload(m_v2.size(), m_sha2, u"alice"_s).ok());
    }

    // --- deploying ----------------------------------------------------------------------------

    void deployToAllOrdersAliveWorkersAndLaterOnes()
    {
        FakeLink w1(u"w1"_s), w2(u"w2"_s), gone(u"w3"_s, false);
        m_service->attach(&w1);
        m_service->attach(&w2);
        m_service->attach(&gone);
        auto v = upload(*m_service, m_v1);
        QVERIFY(v.ok());
        QSignalSpy changed(m_service.get(), &ContainerService::containersChanged);
        auto ticket = deploy(*m_service, u"hello"_s);
        QVERIFY2(ticket.ok(), qPrintable(ticket.error()));
        QVERIFY(ticket->deployId > 0);
        QCOMPARE(ticket->version.sha256, m_sha1);
        QStringList ordered = ticket->workers;
        ordered.sort();
        QCOMPARE(ordered, QStringList({u"w1"_s, u"w2"_s}));
        QCOMPARE(changed.size(), 1);
        QCOMPARE(changed.first().first().toStringList(), QStringList{u"hello"_s});

        const ContainerOrder expected{
            ticket->deployId, u"hello"_s, m_sha1, m_v1.size(), ContainerIsolation::Process,
            u"1.0"_s,         {}};
        QCOMPARE(w1.orders, QList<ContainerOrder>{expected});
        QCOMPARE(w2.orders, QList<ContainerOrder>{expected});
        QVERIFY(gone.orders.isEmpty());

        const QList<ContainerDeployment> deps = m_service->deployments(u"hello"_s);
        QCOMPARE(deps.size(), 1);
        QCOMPARE(deps[0].target, ContainerDeployment::kAllWorkers);
        QCOMPARE(deps[0].sha256, m_sha1);
        QCOMPARE(deps[0].deployId, ticket->deployId);
        QCOMPARE(deps[0].deployedBy, u"alice"_s);

        // A worker that connects later gets the order at its registration.
        FakeLink late(u"w4"_s);
        m_service->attach(&late);
        QCOMPARE(late.orders, QList<ContainerOrder>{expected});
        QCOMPARE(m_service->desiredSha(u"hello"_s, u"w4"_s), m_sha1);
        QCOMPARE(m_service->desiredSha(u"other"_s, u"w4"_s), QString());
    }

    void pinsWinOverTheDefault()
    {
        FakeLink w1(u"w1"_s), w2(u"w2"_s);
        m_service->attach(&w1);
        m_service->attach(&w2);
        QVERIFY(uploadBoth(*m_service));
        auto first = deploy(*m_service, u"hello"_s, u"1.0"_s);
        QVERIFY2(first.ok(), qPrintable(first.error()));
        auto pin = deploy(*m_service, u"hello"_s, m_sha2.left(8), {u"w1"_s},
                          ContainerIsolation::InProcess);
        QVERIFY2(pin.ok(), qPrintable(pin.error()));
        QVERIFY(pin->deployId > first->deployId);
        QCOMPARE(pin->workers, QStringList{u"w1"_s});
        QCOMPARE(w1.orders.size(), 2);
        QCOMPARE(w1.orders.last().sha256, m_sha2);
        QCOMPARE(toString(w1.orders.last().isolation), u"inprocess"_s);
        QCOMPARE(w1.orders.last().deployId, pin->deployId);
        QCOMPARE(w2.orders.size(), 1); // untouched by the pin
        QCOMPARE(m_service->desiredSha(u"hello"_s, u"w1"_s), m_sha2);
        QCOMPARE(m_service->desiredSha(u"hello"_s, u"w2"_s), m_sha1);

        // w1 reconnects: the pin, not the default.
        w1.alive = false;
        FakeLink again(u"w1"_s);
        m_service->attach(&again);
        QCOMPARE(again.orders.size(), 1);
        QCOMPARE(again.orders[0].sha256, m_sha2);
        QCOMPARE(toString(again.orders[0].isolation), u"inprocess"_s);

        // A new default removes the pins.
        auto all = deploy(*m_service, u"hello"_s, m_sha1);
        QVERIFY2(all.ok(), qPrintable(all.error()));
        QCOMPARE(m_service->deployments(u"hello"_s).size(), 1);
        QCOMPARE(m_service->desiredSha(u"hello"_s, u"w1"_s), m_sha1);
        QCOMPARE(again.orders.last().sha256, m_sha1);
        QCOMPARE(again.orders.last().deployId, all->deployId);
    }

    void offlineWorkerIsRefusedAndNothingChanges()
    {
        FakeLink w1(u"w1"_s), dead(u"w8"_s, false);
        m_service->attach(&w1);
        m_service->attach(&dead);
        QVERIFY(upload(*m_service, m_v1).ok());
        QSignalSpy changed(m_service.get(), &ContainerService::containersChanged);
        auto refused = deploy(*m_service, u"hello"_s, {}, {u"w1"_s, u"w9"_s});
        QVERIFY(!refused.ok());
        QCOMPARE(refused.error(), u"workers: w9 is not connected (connected: w1); nothing was "
                                  "deployed"_s);
        auto both = deploy(*m_service, u"hello"_s, {}, {u"w8"_s, u"w9"_s, u"w1"_s});
        QVERIFY(!both.ok());
        QCOMPARE(both.error(), u"workers: w8, w9 are not connected (connected: w1); nothing was "
                               "deployed"_s);
        QVERIFY(m_service->deployments().isEmpty());
        QVERIFY(w1.orders.isEmpty());
        QCOMPARE(changed.size(), 0);
        // Nothing was stored either.
        auto fresh = newService();
        QVERIFY(fresh->deployments().isEmpty());
    }

    void versionsAreResolved_data()
    {
        QTest::addColumn<QString>("container");
        QTest::addColumn<QString>("version");
        QTest::addColumn<int>("expected"); // 1, 2, or 0 for an error
        QTest::addColumn<QString>("error");
        QTest::newRow("newest by default") << u"hello"_s << QString() << 2 << QString();
        QTest::newRow("label") << u"hello"_s << u"1.0"_s << 1 << QString();
        QTest::newRow("full sha") << u"hello"_s << u"sha1"_s << 1 << QString();
        QTest::newRow("8-digit prefix") << u"hello"_s << u"prefix2"_s << 2 << QString();
        QTest::newRow("upper-case prefix") << u"hello"_s << u"PREFIX1"_s << 1 << QString();
        QTest::newRow("unknown label")
            << u"hello"_s << u"3.0"_s << 0
            << u"version: container 'hello' has no version '3.0' (it has: 2.0 (short2), 1.0 "
               "(short1))"_s;
        QTest::newRow("too short a prefix")
            << u"hello"_s << u"short7"_s << 0 << u"version: container 'hello' has no version"_s;
        QTest::newRow("unknown container")
            << u"nope"_s << QString() << 0 << u"name: no container 'nope' is uploaded"_s;
    }

    void versionsAreResolved()
    {
        QFETCH(QString, container);
        QFETCH(QString, version);
        QFETCH(int, expected);
        QFETCH(QString, error);
        FakeLink w1(u"w1"_s);
        m_service->attach(&w1);
        QVERIFY(uploadBoth(*m_service));
        version.replace(u"sha1"_s, m_sha1)
            .replace(u"prefix2"_s, m_sha2.left(8))
            .replace(u"PREFIX1"_s, m_sha1.left(10).toUpper())
            .replace(u"short7"_s, m_sha1.left(7));
        error.replace(u"short1"_s, m_sha1.left(8)).replace(u"short2"_s, m_sha2.left(8));
        auto ticket = deploy(*m_service, container, version);
        if (expected == 0) {
            QVERIFY(!ticket.ok());
            QVERIFY2(ticket.error().startsWith(error), qPrintable(ticket.error()));
            QVERIFY(w1.orders.isEmpty());
            return;
        }
        QVERIFY2(ticket.ok(), qPrintable(ticket.error()));
        QCOMPARE(ticket->version.sha256, expected == 1 ? m_sha1 : m_sha2);
        QCOMPARE(w1.orders.size(), 1);
        QCOMPARE(w1.orders[0].sha256, expected == 1 ? m_sha1 : m_sha2);
    }

    void anAmbiguousLabelNamesTheCandidates()
    {
        QVERIFY(upload(*m_service, m_v1).ok());
        // The same library with one more byte at the end: another version labelled 1.0.
        const QByteArray rebuilt = m_v1 + QByteArray(1, '\0');
        auto second = upload(*m_service, rebuilt);
        QVERIFY2(second.ok(), qPrintable(second.error()));
        QCOMPARE(second->first.metadata.version, u"1.0"_s);
        auto ticket = deploy(*m_service, u"hello"_s, u"1.0"_s);
        QVERIFY(!ticket.ok());
        QVERIFY2(ticket.error().startsWith(u"version: '1.0' is ambiguous for container 'hello'"_s),
                 qPrintable(ticket.error()));
        QVERIFY2(ticket.error().contains(m_sha1), qPrintable(ticket.error()));
        QVERIFY2(ticket.error().contains(shaOf(rebuilt)), qPrintable(ticket.error()));
        QVERIFY(m_service->deployments().isEmpty());
    }

    // --- what workers send --------------------------------------------------------------------

    void stagesAreKeptPerWorkerAndContainer()
    {
        FakeLink w1(u"w1"_s), w2(u"w2"_s);
        m_service->attach(&w1);
        m_service->attach(&w2);
        QVERIFY(uploadBoth(*m_service));
        auto first = deploy(*m_service, u"hello"_s, u"1.0"_s);
        QVERIFY(first.ok());
        QSignalSpy reported(m_service.get(), &ContainerService::stagesReported);

        const auto stage = [&](DeployStageName name, const QString &sha, qint64 deployId,
                               qint64 bytes = 0, const QString &reason = {}) {
            DeployStage s;
            s.deployId = deployId;
            s.container = u"hello"_s;
            s.sha256 = sha;
            s.stage = name;
            s.bytes = bytes;
            s.total = m_v1.size();
            s.reason = reason;
            return s;
        };
        const qint64 before = nowMs();
        emit w1.deployStages({stage(DeployStageName::Downloading, m_sha1, first->deployId, 4096)});
        QCOMPARE(reported.size(), 1);
        const auto sent = reported.first().first().value<QList<DeployStage>>();
        QCOMPARE(sent.size(), 1);
        QCOMPARE(sent[0].worker, u"w1"_s);
        QVERIFY(sent[0].atMs >= before);
        QCOMPARE(sent[0].bytes, qint64(4096));

        auto rows = m_service->workerStates(u"hello"_s);
        QCOMPARE(rows.size(), 2); // w2 has reported nothing yet, but should run it
        QCOMPARE(rows[0].latest.worker, u"w1"_s);
        QCOMPARE(toString(rows[0].latest.stage), toString(DeployStageName::Downloading));
        QCOMPARE(rows[0].desiredSha256, m_sha1);
        QVERIFY(!rows[0].current());
        QCOMPARE(rows[1].latest.worker, u"w2"_s);
        QCOMPARE(rows[1].latest.atMs, qint64(0));
        QVERIFY(!rows[1].current());

        emit w1.deployStages({stage(DeployStageName::Verifying, m_sha1, first->deployId),
                              stage(DeployStageName::Ready, m_sha1, first->deployId)});
        rows = m_service->workerStates(u"hello"_s);
        QCOMPARE(toString(rows[0].latest.stage), toString(DeployStageName::Ready));
        QCOMPARE(rows[0].activeSha256, m_sha1);
        QVERIFY(rows[0].current());

        // A new version: w1 is behind until it reports READY; a late FAILED of the older deploy
        // does not hide where the newer one stands.
        auto second = deploy(*m_service, u"hello"_s, u"2.0"_s);
        QVERIFY(second.ok());
        rows = m_service->workerStates(u"hello"_s);
        QCOMPARE(rows[0].desiredSha256, m_sha2);
        QCOMPARE(rows[0].activeSha256, m_sha1);
        QVERIFY(!rows[0].current());
        emit w1.deployStages({stage(DeployStageName::Loading, m_sha2, second->deployId)});
        emit w1.deployStages(
            {stage(DeployStageName::Failed, m_sha1, first->deployId, 0, u"superseded"_s)});
        QCOMPARE(reported.size(), 4); // every stage is published
        rows = m_service->workerStates(u"hello"_s);
        QCOMPARE(toString(rows[0].latest.stage), toString(DeployStageName::Loading));
        emit w1.deployStages({stage(DeployStageName::Ready, m_sha2, second->deployId)});
        rows = m_service->workerStates(u"hello"_s);
        QVERIFY(rows[0].current());
        QVERIFY(m_service->workerStates(u"other"_s).isEmpty());
    }

    void fetchesReturnExactSlices()
    {
        const QByteArray big = readAll(fixture(u"big.so"_s));
        QVERIFY(big.size() > 5 * 1024 * 1024);
        auto v = upload(*m_service, big, 1024 * 1024);
        QVERIFY2(v.ok(), qPrintable(v.error()));
        const QString sha = v->first.sha256;
        FakeLink w1(u"w1"_s);
        m_service->attach(&w1);
        const qint64 size = big.size();
        const qint64 mib = kMaxFetchBytes;
        const QList<FetchRequest> requests{
            {1, sha, 0, mib},
            {2, sha, mib + 7, 1000},
            {3, sha, size - 10, 10},
            {4, sha, size - 5, 10},        // beyond the end
            {5, QString(64, u'0'), 0, 10}, // not stored
            {6, sha, 0, 2 * mib},          // longer than a fetch may be
            {7, u"xyz"_s, 0, 10},          // not a digest
        };
        emit w1.fetchRequests(requests);
        QTRY_COMPARE_WITH_TIMEOUT(w1.replies.size(), requests.size(), kWaitMs);
        QCOMPARE(w1.replyTo(1).data, big.left(mib));
        QCOMPARE(w1.replyTo(1).offset, qint64(0));
        QCOMPARE(w1.replyTo(1).sha256, sha);
        QVERIFY(w1.replyTo(1).error.isEmpty());
        QCOMPARE(w1.replyTo(2).data, big.mid(mib + 7, 1000));
        QCOMPARE(w1.replyTo(2).offset, mib + 7);
        QCOMPARE(w1.replyTo(3).data, big.right(10));
        for (qint64 bad : {4, 5, 6, 7}) {
            QVERIFY2(!w1.replyTo(bad).error.isEmpty(), qPrintable(QString::number(bad)));
            QVERIFY(w1.replyTo(bad).data.isEmpty());
        }
        QVERIFY2(w1.replyTo(4).error.contains(u"outside"_s), qPrintable(w1.replyTo(4).error));
        QVERIFY2(w1.replyTo(5).error.contains(QString(64, u'0')), qPrintable(w1.replyTo(5).error));

        // Reassembled from fetches, the file is the upload (served from the cache now).
        w1.replies.clear();
        QList<FetchRequest> all;
        for (qint64 offset = 0, id = 100; offset < size; offset += mib, ++id)
            all << FetchRequest{id, sha, offset, std::min(mib, size - offset)};
        emit w1.fetchRequests(all);
        QTRY_COMPARE_WITH_TIMEOUT(w1.replies.size(), all.size(), kWaitMs);
        QByteArray joined;
        for (const FetchRequest &r : all)
            joined += w1.replyTo(r.fetchId).data;
        QCOMPARE(shaOf(joined), sha);
    }

    void wantsAreAnswered()
    {
        FakeLink w1(u"w1"_s);
        m_service->attach(&w1);
        emit w1.containersWanted({u"hello"_s});
        QCOMPARE(w1.orders.size(), 1);
        QCOMPARE(w1.orders[0].container, u"hello"_s);
        QVERIFY(w1.orders[0].sha256.isEmpty());
        QCOMPARE(w1.orders[0].reason, u"no container 'hello' is uploaded"_s);

        QVERIFY(upload(*m_service, m_v1).ok());
        w1.orders.clear();
        emit w1.containersWanted({u"hello"_s});
        QCOMPARE(w1.orders.size(), 1);
        QCOMPARE(w1.orders[0].reason, u"container 'hello' is not deployed"_s);
        QVERIFY(w1.orders[0].sha256.isEmpty());

        auto ticket = deploy(*m_service, u"hello"_s, {}, {}, ContainerIsolation::InProcess);
        QVERIFY(ticket.ok());
        w1.orders.clear();
        emit w1.containersWanted({u"hello"_s, u"nope"_s});
        QCOMPARE(w1.orders.size(), 2);
        QCOMPARE(
            w1.orders[0],
            (ContainerOrder{
                0, u"hello"_s, m_sha1, m_v1.size(), ContainerIsolation::InProcess, u"1.0"_s, {}}));
        QCOMPARE(w1.orders[1].reason, u"no container 'nope' is uploaded"_s);
    }

    // --- persistence --------------------------------------------------------------------------

    void anotherServiceOnTheStoreSeesEverything()
    {
        FakeLink w1(u"w1"_s);
        m_service->attach(&w1);
        QVERIFY(uploadBoth(*m_service));
        auto all = deploy(*m_service, u"hello"_s, u"1.0"_s);
        auto pin = deploy(*m_service, u"hello"_s, u"2.0"_s, {u"w1"_s});
        QVERIFY(all.ok() && pin.ok());

        auto fresh = newService();
        QCOMPARE(fresh->versions(), m_service->versions());
        auto sorted = [](QList<ContainerDeployment> list) {
            std::sort(list.begin(), list.end(),
                      [](const auto &a, const auto &b) { return a.target < b.target; });
            return list;
        };
        QCOMPARE(sorted(fresh->deployments()), sorted(m_service->deployments()));
        QCOMPARE(fresh->deployments().size(), 2);
        QCOMPARE(fresh->desiredSha(u"hello"_s, u"w1"_s), m_sha2);
        QCOMPARE(fresh->desiredSha(u"hello"_s, u"w2"_s), m_sha1);

        // Deploy ids keep increasing after a restart; the re-upload is known there too.
        auto again = upload(*fresh, m_v2);
        QVERIFY(again.ok());
        QCOMPARE(again->second, true);
        FakeLink w2(u"w2"_s);
        fresh->attach(&w2);
        QCOMPARE(w2.orders.size(), 1);
        QCOMPARE(w2.orders[0].deployId, all->deployId);
        auto next = deploy(*fresh, u"hello"_s);
        QVERIFY2(next.ok(), qPrintable(next.error()));
        QVERIFY(next->deployId > pin->deployId);
    }

    // --- jobs ---------------------------------------------------------------------------------

    void jobsAreChecked_data()
    {
        QTest::addColumn<QString>("ref");
        QTest::addColumn<ExecutionMode>("mode");
        QTest::addColumn<QString>("error"); // empty: accepted
        using M = ExecutionMode;
        QTest::newRow("standalone") << u"hello#greet"_s << M::Standalone << QString();
        QTest::newRow("broadcast of standalone") << u"hello#greet"_s << M::Broadcast << QString();
        QTest::newRow("map of standalone")
            << u"hello#greet"_s << M::Map
            << u"processor.ref: a MAP job needs a map or mapReduce processor; hello#greet is "
               "standalone"_s;
        QTest::newRow("map-reduce of standalone")
            << u"hello#greet"_s << M::MapReduce
            << u"processor.ref: a MAP_REDUCE job needs a mapReduce processor; hello#greet is "
               "standalone"_s;
        QTest::newRow("map-reduce") << u"mapsum#sum"_s << M::MapReduce << QString();
        QTest::newRow("map of mapReduce") << u"mapsum#sum"_s << M::Map << QString();
        QTest::newRow("standalone of mapReduce") << u"mapsum#sum"_s << M::Standalone << QString();
        QTest::newRow("broadcast of mapReduce")
            << u"mapsum#sum"_s << M::Broadcast
            << u"processor.ref: a BROADCAST job needs a broadcast or standalone processor; "
               "mapsum#sum is mapReduce"_s;
        QTest::newRow("unknown container") << u"nope#greet"_s << M::Standalone
                                           << u"processor.ref: no container 'nope' is uploaded"_s;
        QTest::newRow("unknown processor")
            << u"hello#nope"_s << M::Standalone
            << u"processor.ref: container 'hello' 1.0 has no processor 'nope' (it has: greet, noop)"_s;
        QTest::newRow("not a ref") << u"hello"_s << M::Standalone
                                   << u"processor.ref: expected CONTAINER#PROCESSOR, got 'hello'"_s;
        QTest::newRow("built-in is not ours") << u"builtin#whatever"_s << M::MapReduce << QString();
    }

    void jobsAreChecked()
    {
        QFETCH(QString, ref);
        QFETCH(ExecutionMode, mode);
        QFETCH(QString, error);
        QVERIFY(upload(*m_service, m_v1).ok());
        QVERIFY(upload(*m_service, readAll(fixture(u"mapsum.so"_s))).ok());
        const Status s = m_service->validateJob(containerJob(ref, mode));
        QCOMPARE(s.error(), error);
        QCOMPARE(s.ok(), error.isEmpty());
    }

    void otherProcessorsAreNotChecked()
    {
        Job job;
        job.processor = ProcessorKind::Echo;
        job.mode = ExecutionMode::MapReduce; // the engine's own checks refuse this, not ours
        QVERIFY(m_service->validateJob(job).ok());
    }

    void jobsAreCheckedAgainstTheDefaultVersion()
    {
        QVERIFY(uploadBoth(*m_service));
        // Nothing deployed: the newest.
        QCOMPARE(
            m_service->validateJob(containerJob(u"hello#x"_s, ExecutionMode::Standalone)).error(),
            u"processor.ref: container 'hello' 2.0 has no processor 'x' (it has: greet, noop)"_s);
        QVERIFY(deploy(*m_service, u"hello"_s, u"1.0"_s).ok());
        QCOMPARE(
            m_service->validateJob(containerJob(u"hello#x"_s, ExecutionMode::Standalone)).error(),
            u"processor.ref: container 'hello' 1.0 has no processor 'x' (it has: greet, noop)"_s);
    }
};

QTEST_GUILESS_MAIN(TstContainerService)
#include "tst_container_service.moc"
