#include "container_service.h"

#include "worker_link.h"

#include <core/clock.h>
#include <store/container_repository.h>
#include <store/store_thread.h>
#include <worker/container_file.h>

#include <QCryptographicHash>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QLoggingCategory>
#include <QMap>
#include <QPointer>
#include <QSet>
#include <QTemporaryDir>
#include <QThreadPool>
#include <QTimer>

#include <algorithm>
#include <map>

namespace kairos::server {
namespace {

Q_LOGGING_CATEGORY(lcContainers, "kairos.server.containers", QtWarningMsg)

// CONTAINER refs with this prefix name processors built into every worker: not ours to check.
constexpr QLatin1StringView kBuiltinRefPrefix{"builtin#"};
// The shortest SHA-256 prefix a deploy accepts as a version.
constexpr qsizetype kMinShaPrefix = 8;

bool isLowerHex(const QString &text)
{
    return !text.isEmpty() && std::all_of(text.cbegin(), text.cend(), [](QChar c) {
        return (c >= u'0' && c <= u'9') || (c >= u'a' && c <= u'f');
    });
}

QString shortSha(const QString &sha)
{
    return sha.left(8);
}

// "2.0 (1a2b3c4d)": how users see a version in messages.
QString describe(const ContainerVersion &v)
{
    return QStringLiteral("%1 (%2)").arg(v.metadata.version, shortSha(v.sha256));
}

// Which processor shapes serve a job of `mode` (docs/containers.md section 8). Every shape has
// process(), the standalone entry, so STANDALONE takes any; a BROADCAST run calls process() on
// every worker and runs the SDK's default hooks for a processor without its own.
bool serves(ExecutionMode mode, ProcessorShape shape)
{
    switch (mode) {
    case ExecutionMode::Standalone:
        return true;
    case ExecutionMode::Broadcast:
        return shape == ProcessorShape::Broadcast || shape == ProcessorShape::Standalone;
    case ExecutionMode::Map:
        return shape == ProcessorShape::Map || shape == ProcessorShape::MapReduce;
    case ExecutionMode::MapReduce:
        return shape == ProcessorShape::MapReduce;
    }
    return false;
}

QString shapesFor(ExecutionMode mode)
{
    switch (mode) {
    case ExecutionMode::Standalone:
        return QStringLiteral("any");
    case ExecutionMode::Broadcast:
        return QStringLiteral("a broadcast or standalone");
    case ExecutionMode::Map:
        return QStringLiteral("a map or mapReduce");
    case ExecutionMode::MapReduce:
        return QStringLiteral("a mapReduce");
    }
    return {};
}

// Newest upload first within a container; the sha breaks ties so the order is stable.
bool newerFirst(const ContainerVersion &a, const ContainerVersion &b)
{
    if (a.metadata.name != b.metadata.name)
        return a.metadata.name < b.metadata.name;
    if (a.uploadedAtMs != b.uploadedAtMs)
        return a.uploadedAtMs > b.uploadedAtMs;
    return a.sha256 < b.sha256;
}

struct Upload {
    qint64 id = 0;
    qint64 size = 0;
    QString sha256;
    QString user;
    QFile file;
    qint64 received = 0;
    QCryptographicHash hash{QCryptographicHash::Sha256};
    QElapsedTimer idle;
};

// The bytes of one version, read from the store once and shared by every fetch of it.
struct CachedVersion {
    QByteArray bytes;
    bool loading = true;
    quint64 lastUse = 0;
    QList<std::pair<QPointer<WorkerLink>, FetchRequest>> waiting; // while loading
};

using StateKey = std::pair<QString, QString>; // (container, worker)

} // namespace

struct ContainerService::Impl {
    Impl(ContainerService *owner, StoreThread &storeThread, ContainerServiceConfig cfg)
        : q(owner)
        , store(storeThread)
        , config(std::move(cfg))
    {}

    // --- uploads ---
    QString uploadFolder();
    void dropUpload(qint64 id, const QString &why);
    void sweepUploads();
    Error unknownUpload(qint64 id) const;
    void storeVersion(ContainerVersion version, QByteArray bytes,
                      Reply<std::pair<ContainerVersion, bool>> reply);

    // --- versions and deployments ---
    const ContainerVersion *findVersion(const QString &sha) const;
    QList<ContainerVersion> versionsOf(const QString &container) const;
    void addVersion(const ContainerVersion &version);
    Result<ContainerVersion> resolve(const QString &container, const QString &version) const;
    const ContainerDeployment *desired(const QString &container, const QString &worker) const;
    void applyDeployment(const QList<ContainerDeployment> &rows);
    std::optional<ContainerOrder> orderFor(const ContainerDeployment &d, qint64 deployId) const;
    QList<WorkerLink *> aliveLinks() const;
    WorkerLink *aliveLink(const QString &workerId) const;
    QStringList aliveIds() const;

    // --- worker links ---
    void sendDesiredOrders(WorkerLink *link);
    void onStages(WorkerLink *link, QList<DeployStage> stages);
    void onFetches(WorkerLink *link, const QList<FetchRequest> &requests);
    void onWanted(WorkerLink *link, const QStringList &containers);
    void loadBytes(const QString &sha);
    void onBytesLoaded(const QString &sha, Result<QByteArray> bytes);
    FetchReply slice(const CachedVersion &cached, const FetchRequest &request) const;
    void trimCache();

    ContainerService *q;
    StoreThread &store;
    ContainerServiceConfig config;

    std::unique_ptr<QTemporaryDir> uploadDir;
    std::map<qint64, std::unique_ptr<Upload>> uploads;
    qint64 lastUploadId = 0;
    QTimer sweep;
    // Library checks of finished uploads (reads up to maxBytes of a file): one at a time, off
    // the engine thread.
    QThreadPool checks;

    QList<ContainerVersion> versions; // newerFirst order
    QList<ContainerDeployment> deployments;
    qint64 lastDeployId = 0;

    QList<QPointer<WorkerLink>> links;
    QMap<StateKey, DeployStage> latest;
    QMap<StateKey, QString> active;

    QHash<QString, CachedVersion> cache;
    quint64 useClock = 0;
};

// --- construction ----------------------------------------------------------------------------

ContainerService::ContainerService(kairos::StoreThread &store, ContainerServiceConfig config,
                                   QObject *parent)
    : QObject(parent)
    , m_impl(std::make_unique<Impl>(this, store, std::move(config)))
{
    m_impl->checks.setMaxThreadCount(1);
    m_impl->checks.setObjectName(QStringLiteral("kairos-container-checks"));
    const int idleMs = std::max(1, m_impl->config.uploadIdleMs);
    m_impl->sweep.setInterval(std::clamp(idleMs / 2, 10, 30000));
    connect(&m_impl->sweep, &QTimer::timeout, this, [this] { m_impl->sweepUploads(); });
}

ContainerService::~ContainerService()
{
    // A check still running posts its result to this object; wait for it before the object (and
    // with it the posted result) goes away. The upload folder is removed with its QTemporaryDir.
    m_impl->checks.waitForDone();
    m_impl->uploads.clear();
}

Status ContainerService::load()
{
    struct Loaded {
        QList<ContainerVersion> versions;
        QList<ContainerDeployment> deployments;
        qint64 maxDeployId = 0;
    };
    Loaded loaded = m_impl->store.callBlocking([](kairos::Database &db) {
        kairos::ContainerRepository repo(db);
        return Loaded{repo.versions(), repo.deployments(), repo.maxDeployId()};
    });
    std::sort(loaded.versions.begin(), loaded.versions.end(), newerFirst);
    m_impl->versions = std::move(loaded.versions);
    m_impl->deployments = std::move(loaded.deployments);
    m_impl->lastDeployId = std::max(m_impl->lastDeployId, loaded.maxDeployId);
    for (const ContainerDeployment &d : std::as_const(m_impl->deployments))
        m_impl->lastDeployId = std::max(m_impl->lastDeployId, d.deployId);
    qCInfo(lcContainers) << "loaded" << m_impl->versions.size() << "container versions and"
                         << m_impl->deployments.size() << "deployments";
    return {};
}

// --- uploads ---------------------------------------------------------------------------------

QString ContainerService::Impl::uploadFolder()
{
    if (!uploadDir) {
        const QString base =
            config.uploadDirectory.isEmpty() ? QDir::tempPath() : config.uploadDirectory;
        QDir().mkpath(base);
        uploadDir = std::make_unique<QTemporaryDir>(
            QDir(base).filePath(QStringLiteral("kairos-uploads-XXXXXX")));
        if (!uploadDir->isValid()) {
            const QString why = uploadDir->errorString();
            uploadDir.reset();
            qCWarning(lcContainers) << "cannot create an upload folder in" << base << ":" << why;
            return {};
        }
    }
    return uploadDir->path();
}

Error ContainerService::Impl::unknownUpload(qint64 id) const
{
    return makeError(QObject::tr("uploadId: no upload %1 is in progress (it finished, failed, or "
                                 "was dropped after %2 s without data)")
                         .arg(id)
                         .arg(config.uploadIdleMs / 1000.0));
}

Result<UploadTicket> ContainerService::beginUpload(qint64 size, const QString &sha256,
                                                   const QString &user)
{
    Impl &d = *m_impl;
    if (size < 1)
        return makeError(tr("size: expected at least 1 byte, got %1").arg(size));
    if (size > d.config.maxBytes) {
        return makeError(tr("size: %1 bytes exceeds the %2-byte container limit")
                             .arg(size)
                             .arg(d.config.maxBytes));
    }
    const QString sha = sha256.trimmed().toLower();
    if (!isValidSha256(sha)) {
        return makeError(
            tr("sha256: expected the SHA-256 of the file as 64 hex digits, got '%1'").arg(sha256));
    }
    d.sweepUploads();
    if (qsizetype(d.uploads.size()) >= d.config.maxUploads) {
        return makeError(tr("too many uploads in progress (%1): finish one or wait until an idle "
                            "one is dropped")
                             .arg(d.uploads.size()));
    }
    const QString folder = d.uploadFolder();
    if (folder.isEmpty())
        return makeError(tr("upload folder: cannot create a folder for uploads"));

    auto upload = std::make_unique<Upload>();
    upload->id = ++d.lastUploadId;
    upload->size = size;
    upload->sha256 = sha;
    upload->user = user;
    upload->file.setFileName(
        QDir(folder).filePath(QStringLiteral("upload-%1.part").arg(upload->id)));
    if (!upload->file.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
        return makeError(tr("upload folder: cannot create %1: %2")
                             .arg(upload->file.fileName(), upload->file.errorString()));
    }
    upload->idle.start();
    const qint64 id = upload->id;
    d.uploads.emplace(id, std::move(upload));
    if (!d.sweep.isActive())
        d.sweep.start();
    qCInfo(lcContainers) << "upload" << id << "begun:" << size << "bytes, sha256" << sha << "by"
                         << user;
    return UploadTicket{id, d.config.chunkBytes};
}

Result<qint64> ContainerService::appendUpload(qint64 uploadId, qint64 offset,
                                              const QByteArray &data)
{
    Impl &d = *m_impl;
    d.sweepUploads(); // an upload past its idle time is gone even if the timer has not run yet
    const auto it = d.uploads.find(uploadId);
    if (it == d.uploads.end())
        return d.unknownUpload(uploadId);
    Upload &u = *it->second;
    if (offset != u.received)
        return makeError(tr("offset: expected %1, got %2").arg(u.received).arg(offset));
    if (u.received + data.size() > u.size) {
        return makeError(tr("data: %1 bytes at offset %2 go beyond the announced size of %3 bytes")
                             .arg(data.size())
                             .arg(offset)
                             .arg(u.size));
    }
    if (!data.isEmpty()) {
        if (u.file.write(data) != data.size()) {
            const QString why = tr("upload folder: cannot write %1: %2")
                                    .arg(u.file.fileName(), u.file.errorString());
            d.dropUpload(uploadId, why);
            return makeError(why);
        }
        u.hash.addData(data);
        u.received += data.size();
    }
    u.idle.restart();
    return u.received;
}

void ContainerService::Impl::dropUpload(qint64 id, const QString &why)
{
    const auto it = uploads.find(id);
    if (it == uploads.end())
        return;
    qCInfo(lcContainers) << "upload" << id << "dropped:" << why;
    it->second->file.remove(); // closes it first
    uploads.erase(it);
    if (uploads.empty())
        sweep.stop();
}

void ContainerService::Impl::sweepUploads()
{
    QList<qint64> idle;
    for (const auto &[id, upload] : uploads) {
        if (upload->idle.hasExpired(config.uploadIdleMs))
            idle << id;
    }
    for (qint64 id : idle)
        dropUpload(id, QStringLiteral("no data for %1 ms").arg(config.uploadIdleMs));
}

void ContainerService::finishUpload(qint64 uploadId, Reply<std::pair<ContainerVersion, bool>> reply)
{
    Impl &d = *m_impl;
    d.sweepUploads();
    auto node = d.uploads.extract(uploadId);
    if (node.empty())
        return reply(d.unknownUpload(uploadId));
    if (d.uploads.empty())
        d.sweep.stop();
    std::unique_ptr<Upload> upload = std::move(node.mapped());
    upload->file.close();
    const QString path = upload->file.fileName();
    if (upload->received < upload->size) {
        QFile::remove(path);
        return reply(makeError(tr("truncated upload: received %1 of %2 bytes")
                                   .arg(upload->received)
                                   .arg(upload->size)));
    }
    const QString actual = QString::fromLatin1(upload->hash.result().toHex());
    if (actual != upload->sha256) {
        QFile::remove(path);
        return reply(
            makeError(tr("digest mismatch: expected %1, got %2").arg(upload->sha256, actual)));
    }
    if (const ContainerVersion *known = d.findVersion(actual)) {
        QFile::remove(path);
        qCInfo(lcContainers) << "upload" << uploadId << "is version" << actual
                             << "which is stored already";
        return reply(std::pair{*known, true});
    }

    // The library check reads the file (its ELF header and plugin metadata) and the store needs
    // the bytes: both off the engine thread.
    ContainerVersion version;
    version.sha256 = actual;
    version.sizeBytes = upload->size;
    version.uploadedBy = upload->user;
    d.checks.start([this, path, version, reply]() mutable {
        Result<ContainerMetadata> metadata = readContainerMetadata(path, QStringLiteral("server"));
        QByteArray bytes;
        QString error = metadata.error();
        if (metadata.ok()) {
            QFile file(path);
            if (file.open(QIODevice::ReadOnly))
                bytes = file.readAll();
            if (bytes.size() != version.sizeBytes) {
                error = tr("upload folder: cannot read %1: %2").arg(path, file.errorString());
                bytes.clear();
            }
        }
        QFile::remove(path);
        if (metadata.ok())
            version.metadata = std::move(metadata).value();
        // `this` outlives the task: the destructor waits for the pool.
        QMetaObject::invokeMethod(
            this,
            [this, version = std::move(version), bytes = std::move(bytes), error, reply] {
                if (!error.isEmpty())
                    return reply(makeError(error));
                m_impl->storeVersion(version, bytes, reply);
            },
            Qt::QueuedConnection);
    });
}

void ContainerService::Impl::storeVersion(ContainerVersion version, QByteArray bytes,
                                          Reply<std::pair<ContainerVersion, bool>> reply)
{
    // "Newest" is the upload order: a version finished in the same millisecond as the previous
    // one of its container still sorts after it.
    version.uploadedAtMs = nowMs();
    for (const ContainerVersion &v : std::as_const(versions)) {
        if (v.metadata.name == version.metadata.name)
            version.uploadedAtMs = std::max(version.uploadedAtMs, v.uploadedAtMs + 1);
    }
    auto inserted = std::make_shared<bool>(true);
    auto stored = std::make_shared<std::optional<ContainerVersion>>();
    store.write(
        [version, bytes = std::move(bytes), inserted, stored](kairos::Database &db) -> Status {
            kairos::ContainerRepository repo(db);
            bool isNew = true;
            if (Status s = repo.insertVersion(version, bytes, &isNew); !s)
                return s;
            *inserted = isNew;
            if (!isNew)
                *stored = repo.version(version.sha256); // another server stored it first
            return {};
        },
        q,
        [this, version, inserted, stored, reply](Status status) {
            if (!status.ok())
                return reply(makeError(status.error()));
            const ContainerVersion result = stored->value_or(version);
            addVersion(result);
            qCInfo(lcContainers).noquote()
                << QStringLiteral("container %1 version %2 stored (%3 bytes)")
                       .arg(result.metadata.name, describe(result))
                       .arg(result.sizeBytes);
            emit q->containersChanged({result.metadata.name});
            reply(std::pair{result, !*inserted});
        });
}

// --- versions and deployments ----------------------------------------------------------------

const ContainerVersion *ContainerService::Impl::findVersion(const QString &sha) const
{
    for (const ContainerVersion &v : versions) {
        if (v.sha256 == sha)
            return &v;
    }
    return nullptr;
}

QList<ContainerVersion> ContainerService::Impl::versionsOf(const QString &container) const
{
    QList<ContainerVersion> out;
    for (const ContainerVersion &v : versions) {
        if (v.metadata.name == container)
            out << v;
    }
    return out;
}

void ContainerService::Impl::addVersion(const ContainerVersion &version)
{
    if (findVersion(version.sha256))
        return;
    versions.insert(std::upper_bound(versions.begin(), versions.end(), version, newerFirst),
                    version);
}

QList<ContainerVersion> ContainerService::versions(const QString &container) const
{
    return container.isEmpty() ? m_impl->versions : m_impl->versionsOf(container);
}

QStringList ContainerService::containerNames() const
{
    QStringList names;
    for (const ContainerVersion &v : m_impl->versions) {
        if (names.isEmpty() || names.last() != v.metadata.name)
            names << v.metadata.name; // versions are sorted by name
    }
    return names;
}

QList<ContainerDeployment> ContainerService::deployments(const QString &container) const
{
    if (container.isEmpty())
        return m_impl->deployments;
    QList<ContainerDeployment> out;
    for (const ContainerDeployment &d : m_impl->deployments) {
        if (d.container == container)
            out << d;
    }
    return out;
}

const ContainerDeployment *ContainerService::Impl::desired(const QString &container,
                                                           const QString &worker) const
{
    const ContainerDeployment *fallback = nullptr;
    for (const ContainerDeployment &d : deployments) {
        if (d.container != container)
            continue;
        if (d.target == worker)
            return &d; // a pin wins over the default
        if (d.target == ContainerDeployment::kAllWorkers)
            fallback = &d;
    }
    return fallback;
}

QString ContainerService::desiredSha(const QString &container, const QString &worker) const
{
    const ContainerDeployment *d = m_impl->desired(container, worker);
    return d ? d->sha256 : QString();
}

Result<ContainerVersion> ContainerService::Impl::resolve(const QString &container,
                                                         const QString &version) const
{
    if (container.isEmpty())
        return makeError(QObject::tr("name: missing; expected the name of an uploaded container"));
    const QList<ContainerVersion> candidates = versionsOf(container);
    if (candidates.isEmpty())
        return makeError(QObject::tr("name: no container '%1' is uploaded").arg(container));
    const QString wanted = version.trimmed();
    if (wanted.isEmpty())
        return candidates.first(); // newest
    // A SHA-256, a unique prefix of one, or a label: whatever matches, it must be one version.
    const QString lower = wanted.toLower();
    const bool maybeSha = wanted.size() >= kMinShaPrefix && isLowerHex(lower);
    QList<ContainerVersion> matches;
    for (const ContainerVersion &v : candidates) {
        if ((maybeSha && v.sha256.startsWith(lower)) || v.metadata.version == wanted)
            matches << v;
    }
    if (matches.size() == 1)
        return matches.first();
    if (matches.isEmpty()) {
        QStringList known;
        for (const ContainerVersion &v : candidates)
            known << describe(v);
        return makeError(QObject::tr("version: container '%1' has no version '%2' (it has: %3)")
                             .arg(container, wanted, known.join(QLatin1String(", "))));
    }
    QStringList named;
    for (const ContainerVersion &v : matches)
        named << QStringLiteral("%1 (label %2)").arg(v.sha256, v.metadata.version);
    return makeError(QObject::tr("version: '%1' is ambiguous for container '%2': it matches %3; "
                                 "give more of the SHA-256")
                         .arg(wanted, container, named.join(QLatin1String(", "))));
}

QList<WorkerLink *> ContainerService::Impl::aliveLinks() const
{
    QList<WorkerLink *> out;
    QSet<QString> ids;
    for (const QPointer<WorkerLink> &link : links) {
        if (link && link->isAlive() && !link->id().isEmpty() && !ids.contains(link->id())) {
            ids.insert(link->id());
            out << link.data();
        }
    }
    return out;
}

WorkerLink *ContainerService::Impl::aliveLink(const QString &workerId) const
{
    for (const QPointer<WorkerLink> &link : links) {
        if (link && link->isAlive() && link->id() == workerId)
            return link.data();
    }
    return nullptr;
}

QStringList ContainerService::Impl::aliveIds() const
{
    QStringList ids;
    for (WorkerLink *link : aliveLinks())
        ids << link->id();
    ids.sort();
    return ids;
}

std::optional<ContainerOrder> ContainerService::Impl::orderFor(const ContainerDeployment &d,
                                                               qint64 deployId) const
{
    const ContainerVersion *v = findVersion(d.sha256);
    if (!v) {
        qCWarning(lcContainers) << "deployment of" << d.container << "to" << d.target
                                << "names version" << d.sha256 << "which this server does not know";
        return std::nullopt;
    }
    ContainerOrder order;
    order.deployId = deployId;
    order.container = d.container;
    order.sha256 = d.sha256;
    order.sizeBytes = v->sizeBytes;
    order.isolation = d.isolation;
    order.version = v->metadata.version;
    return order;
}

void ContainerService::Impl::applyDeployment(const QList<ContainerDeployment> &rows)
{
    for (const ContainerDeployment &row : rows) {
        const bool isDefault = row.target == ContainerDeployment::kAllWorkers;
        // The default replaces every row of the container (pins included, as in the store); a
        // pin replaces that worker's pin.
        deployments.removeIf([&](const ContainerDeployment &d) {
            return d.container == row.container && (isDefault || d.target == row.target);
        });
        deployments << row;
        lastDeployId = std::max(lastDeployId, row.deployId);
    }
}

void ContainerService::deploy(const DeployRequest &request, Reply<DeployTicket> reply)
{
    Impl &d = *m_impl;
    auto version = d.resolve(request.container, request.version);
    if (!version.ok())
        return reply(makeError(version.error()));

    QStringList targets;
    for (const QString &w : request.workers) {
        const QString id = w.trimmed();
        if (!id.isEmpty() && !targets.contains(id))
            targets << id;
    }
    if (!request.workers.isEmpty() && targets.isEmpty())
        return reply(makeError(tr("workers: expected worker ids, got only empty names")));
    QStringList offline;
    for (const QString &id : std::as_const(targets)) {
        if (!d.aliveLink(id))
            offline << id;
    }
    if (!offline.isEmpty()) {
        const QStringList alive = d.aliveIds();
        const QString connected = alive.isEmpty()
                                      ? tr("no worker is connected")
                                      : tr("connected: %1").arg(alive.join(QLatin1String(", ")));
        return reply(makeError(
            (offline.size() == 1 ? tr("workers: %1 is not connected (%2); nothing was deployed")
                                 : tr("workers: %1 are not connected (%2); nothing was deployed"))
                .arg(offline.join(QLatin1String(", ")), connected)));
    }

    QList<ContainerDeployment> rows;
    const qint64 now = nowMs();
    const auto row = [&](const QString &target) {
        ContainerDeployment dep;
        dep.container = request.container;
        dep.target = target;
        dep.sha256 = version->sha256;
        dep.isolation = request.isolation;
        dep.deployedAtMs = now;
        dep.deployedBy = request.user;
        return dep;
    };
    if (targets.isEmpty())
        rows << row(ContainerDeployment::kAllWorkers);
    for (const QString &id : std::as_const(targets))
        rows << row(id);

    // Ids increase across restarts and across the servers of one database: the next id is above
    // both what this server handed out and what the store holds when the write runs.
    const qint64 candidate = d.lastDeployId + 1;
    d.lastDeployId = candidate;
    auto assigned = std::make_shared<qint64>(candidate);
    d.store.write(
        [rows, candidate, assigned](kairos::Database &db) -> Status {
            kairos::ContainerRepository repo(db);
            const qint64 id = std::max(candidate, repo.maxDeployId() + 1);
            for (ContainerDeployment dep : rows) {
                dep.deployId = id;
                if (Status s = repo.upsertDeployment(dep); !s)
                    return s;
            }
            *assigned = id;
            return {};
        },
        this,
        [this, rows, targets, assigned, version = *version, reply](Status status) mutable {
            if (!status.ok())
                return reply(makeError(status.error()));
            Impl &impl = *m_impl;
            for (ContainerDeployment &dep : rows)
                dep.deployId = *assigned;
            impl.applyDeployment(rows);
            DeployTicket ticket;
            ticket.deployId = *assigned;
            ticket.version = version;
            // Recorded: now the orders. Workers that are not connected get theirs when they
            // register (attach).
            const QList<WorkerLink *> receivers = [&] {
                if (targets.isEmpty())
                    return impl.aliveLinks();
                QList<WorkerLink *> out;
                for (const QString &id : std::as_const(targets)) {
                    if (WorkerLink *link = impl.aliveLink(id))
                        out << link;
                }
                return out;
            }();
            for (WorkerLink *link : receivers) {
                const ContainerDeployment *dep = impl.desired(rows.first().container, link->id());
                if (!dep)
                    continue;
                if (auto order = impl.orderFor(*dep, dep->deployId)) {
                    link->deployContainers({*order});
                    ticket.workers << link->id();
                }
            }
            qCInfo(lcContainers).noquote()
                << QStringLiteral("deploy %1: %2 %3 to %4, ordered on %5")
                       .arg(ticket.deployId)
                       .arg(version.metadata.name, describe(version),
                            targets.isEmpty() ? QStringLiteral("every worker")
                                              : targets.join(QLatin1String(", ")),
                            ticket.workers.join(QLatin1String(", ")));
            emit containersChanged({version.metadata.name});
            reply(ticket);
        });
}

QList<WorkerContainerState> ContainerService::workerStates(const QString &container) const
{
    const Impl &d = *m_impl;
    QMap<StateKey, WorkerContainerState> rows;
    const auto rowOf = [&rows](const QString &c, const QString &w) -> WorkerContainerState & {
        auto it = rows.find({c, w});
        if (it == rows.end()) {
            it = rows.insert({c, w}, WorkerContainerState{});
            it->latest.container = c;
            it->latest.worker = w;
        }
        return *it;
    };
    for (auto it = d.latest.cbegin(); it != d.latest.cend(); ++it)
        rowOf(it.key().first, it.key().second).latest = it.value();
    for (auto it = d.active.cbegin(); it != d.active.cend(); ++it)
        rowOf(it.key().first, it.key().second).activeSha256 = it.value();
    // Connected workers that should run a container but have reported nothing of it yet.
    QStringList names;
    for (const ContainerDeployment &dep : d.deployments) {
        if (!names.contains(dep.container))
            names << dep.container;
    }
    for (WorkerLink *link : d.aliveLinks()) {
        for (const QString &name : std::as_const(names)) {
            if (d.desired(name, link->id()))
                rowOf(name, link->id());
        }
    }
    QList<WorkerContainerState> out;
    for (auto it = rows.begin(); it != rows.end(); ++it) {
        if (!container.isEmpty() && it.key().first != container)
            continue;
        it->desiredSha256 = desiredSha(it.key().first, it.key().second);
        out << *it;
    }
    return out;
}

// --- jobs ------------------------------------------------------------------------------------

Status ContainerService::validateJob(const Job &job) const
{
    if (job.processor != ProcessorKind::Container)
        return {};
    const QString ref = job.processorConfig.value(QLatin1String("ref")).toString();
    if (ref.startsWith(kBuiltinRefPrefix))
        return {};
    auto split = splitContainerRef(ref);
    if (!split.ok())
        return makeError(split.error());
    const auto &[name, processor] = *split;
    const QList<ContainerVersion> candidates = m_impl->versionsOf(name);
    if (candidates.isEmpty())
        return makeError(tr("processor.ref: no container '%1' is uploaded").arg(name));
    // What every worker runs unless pinned: the default, else (nothing deployed yet) the newest.
    const ContainerVersion *version = &candidates.first();
    if (const ContainerDeployment *dep = m_impl->desired(name, ContainerDeployment::kAllWorkers)) {
        if (const ContainerVersion *v = m_impl->findVersion(dep->sha256))
            version = v;
    }
    const ContainerProcessorInfo *info = version->metadata.processor(processor);
    if (!info) {
        return makeError(tr("processor.ref: container '%1' %2 has no processor '%3' (it has: %4)")
                             .arg(name, version->metadata.version, processor,
                                  version->metadata.processorNames().join(QLatin1String(", "))));
    }
    if (!serves(job.mode, info->shape)) {
        return makeError(
            tr("processor.ref: a %1 job needs %2 processor; %3 is %4")
                .arg(toString(job.mode), shapesFor(job.mode), ref, toString(info->shape)));
    }
    return {};
}

// --- worker links ----------------------------------------------------------------------------

void ContainerService::attach(WorkerLink *link)
{
    Impl &d = *m_impl;
    if (!link)
        return;
    d.links.removeIf([](const QPointer<WorkerLink> &l) { return l.isNull(); });
    for (const QPointer<WorkerLink> &l : std::as_const(d.links)) {
        if (l == link)
            return; // attached already
    }
    d.links << QPointer<WorkerLink>(link);
    // The signals come from the link itself, so it is alive while each handler runs.
    connect(link, &WorkerLink::deployStages, this,
            [this, link](const QList<DeployStage> &stages) { m_impl->onStages(link, stages); });
    connect(
        link, &WorkerLink::fetchRequests, this,
        [this, link](const QList<FetchRequest> &requests) { m_impl->onFetches(link, requests); });
    connect(link, &WorkerLink::containersWanted, this,
            [this, link](const QStringList &names) { m_impl->onWanted(link, names); });
    d.sendDesiredOrders(link);
}

void ContainerService::Impl::sendDesiredOrders(WorkerLink *link)
{
    const QString worker = link->id();
    if (worker.isEmpty())
        return;
    QList<ContainerOrder> orders;
    QSet<QString> done;
    for (const ContainerDeployment &dep : std::as_const(deployments)) {
        if (done.contains(dep.container))
            continue;
        done.insert(dep.container);
        if (const ContainerDeployment *mine = desired(dep.container, worker)) {
            if (auto order = orderFor(*mine, mine->deployId))
                orders << *order;
        }
    }
    if (orders.isEmpty())
        return;
    qCInfo(lcContainers) << "worker" << worker << "attached:" << orders.size()
                         << "container order(s) sent";
    link->deployContainers(orders);
}

void ContainerService::Impl::onStages(WorkerLink *link, QList<DeployStage> stages)
{
    const QString worker = link->id();
    const qint64 now = nowMs();
    for (DeployStage &s : stages) {
        s.worker = worker;
        s.atMs = now;
        const StateKey key{s.container, worker};
        auto it = latest.find(key);
        // A late stage of an older deploy (a superseded one's FAILED) does not hide where the
        // newer one stands; answers to `want` carry deploy id 0 and are always taken.
        const bool older =
            it != latest.end() && s.deployId != 0 && it->deployId != 0 && s.deployId < it->deployId;
        if (!older)
            latest.insert(key, s);
        if (s.stage == DeployStageName::Ready)
            active.insert(key, s.sha256);
        if (s.stage == DeployStageName::Failed) {
            qCInfo(lcContainers).noquote() << QStringLiteral("deploy %1 of %2 failed on %3: %4")
                                                  .arg(s.deployId)
                                                  .arg(s.container, worker, s.reason);
        }
    }
    if (!stages.isEmpty())
        emit q->stagesReported(stages);
}

void ContainerService::Impl::onWanted(WorkerLink *link, const QStringList &containers)
{
    QList<ContainerOrder> orders;
    QSet<QString> seen;
    for (const QString &name : containers) {
        if (seen.contains(name))
            continue;
        seen.insert(name);
        ContainerOrder order;
        order.container = name;
        if (const ContainerDeployment *dep = desired(name, link->id())) {
            if (auto o = orderFor(*dep, 0)) {
                orders << *o;
                continue;
            }
        }
        order.reason = versionsOf(name).isEmpty()
                           ? QObject::tr("no container '%1' is uploaded").arg(name)
                           : QObject::tr("container '%1' is not deployed").arg(name);
        orders << order;
    }
    if (!orders.isEmpty())
        link->deployContainers(orders);
}

void ContainerService::Impl::onFetches(WorkerLink *link, const QList<FetchRequest> &requests)
{
    QList<FetchReply> now;
    for (const FetchRequest &r : requests) {
        const auto refuse = [&](const QString &why) {
            now << FetchReply{r.fetchId, r.sha256, r.offset, {}, why};
        };
        if (!isValidSha256(r.sha256)) {
            refuse(QObject::tr("h: expected a SHA-256 (64 lowercase hex digits), got '%1'")
                       .arg(r.sha256));
            continue;
        }
        if (r.length < 1 || r.length > kMaxFetchBytes) {
            refuse(
                QObject::tr("l: expected 1 to %1 bytes, got %2").arg(kMaxFetchBytes).arg(r.length));
            continue;
        }
        if (r.offset < 0) {
            refuse(QObject::tr("o: expected an offset of at least 0, got %1").arg(r.offset));
            continue;
        }
        auto it = cache.find(r.sha256);
        if (it == cache.end()) {
            it = cache.insert(r.sha256, CachedVersion{});
            it->waiting << std::pair{QPointer<WorkerLink>(link), r};
            loadBytes(r.sha256);
            continue;
        }
        if (it->loading) {
            it->waiting << std::pair{QPointer<WorkerLink>(link), r};
            continue;
        }
        it->lastUse = ++useClock;
        now << slice(*it, r);
    }
    if (!now.isEmpty())
        link->answerFetches(now);
}

void ContainerService::Impl::loadBytes(const QString &sha)
{
    store.call([sha](kairos::Database &db) { return kairos::ContainerRepository(db).bytes(sha); },
               q, [this, sha](Result<QByteArray> bytes) { onBytesLoaded(sha, std::move(bytes)); });
}

void ContainerService::Impl::onBytesLoaded(const QString &sha, Result<QByteArray> bytes)
{
    auto it = cache.find(sha);
    if (it == cache.end())
        return;
    const auto waiting = std::exchange(it->waiting, {});
    QHash<WorkerLink *, QList<FetchReply>> replies;
    QList<QPointer<WorkerLink>> order;
    if (!bytes.ok()) {
        // Not cached: the version may be stored later (by another server, or an upload).
        cache.erase(it);
        const QString why =
            QObject::tr("version %1 cannot be served by this server: %2").arg(sha, bytes.error());
        qCWarning(lcContainers).noquote() << why;
        for (const auto &[link, r] : waiting) {
            if (!link)
                continue;
            if (!replies.contains(link.data()))
                order << link;
            replies[link.data()] << FetchReply{r.fetchId, r.sha256, r.offset, {}, why};
        }
    } else {
        it->bytes = std::move(bytes).value();
        it->loading = false;
        it->lastUse = ++useClock;
        for (const auto &[link, r] : waiting) {
            if (!link)
                continue;
            if (!replies.contains(link.data()))
                order << link;
            replies[link.data()] << slice(*it, r);
        }
        trimCache();
    }
    for (const QPointer<WorkerLink> &link : order) {
        if (link)
            link->answerFetches(replies.value(link.data()));
    }
}

FetchReply ContainerService::Impl::slice(const CachedVersion &cached,
                                         const FetchRequest &request) const
{
    FetchReply reply{request.fetchId, request.sha256, request.offset, {}, {}};
    const qint64 size = cached.bytes.size();
    if (request.offset >= size || request.length > size - request.offset) {
        reply.error = QObject::tr("o, l: bytes %1 to %2 are outside version %3 (%4 bytes)")
                          .arg(request.offset)
                          .arg(request.offset + request.length)
                          .arg(request.sha256)
                          .arg(size);
        return reply;
    }
    reply.data = cached.bytes.mid(request.offset, request.length);
    return reply;
}

void ContainerService::Impl::trimCache()
{
    const qsizetype limit = std::max(1, config.cachedVersions);
    while (true) {
        qsizetype loaded = 0;
        auto oldest = cache.end();
        for (auto it = cache.begin(); it != cache.end(); ++it) {
            if (it->loading)
                continue;
            ++loaded;
            if (oldest == cache.end() || it->lastUse < oldest->lastUse)
                oldest = it;
        }
        if (loaded <= limit || oldest == cache.end())
            return;
        cache.erase(oldest);
    }
}

} // namespace kairos::server
