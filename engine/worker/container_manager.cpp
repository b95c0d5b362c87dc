#include "container_manager.h"

#include "container_file.h"
#include "container_run.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QFuture>
#include <QHash>
#include <QLoggingCategory>
#include <QPointer>
#include <QPromise>
#include <QSet>
#include <QThreadPool>
#include <QTimer>

#include <map>

#include <malloc.h>

// How a deploy runs on one worker (docs/containers.md section 3), one container at a time:
//
//   order -> QUEUED -> [file not there] DOWNLOADING -> VERIFYING -> LOADING -> READY | FAILED
//
// Each container name has an Entry: its active LoadedContainer, the versions still draining, at
// most one deploy in progress, the runs waiting for it, and the SHA-256s it activated (newest
// last) for the file cleanup. A newer order replaces the deploy in progress ("superseded by
// deploy N"), unless it is for the same file and isolation: then the work in progress is simply
// continued under the newer deploy id. Hashing and the metadata check run on a small pool of
// their own (a 256 MiB file takes a second to hash; the runner's thread must not stall), the
// result comes back through a QFuture continuation tied to the manager's life and is taken only
// if the deploy is still the one that asked (a ticket number).
//
// What goes to the server (stages, fetch requests, wants) is collected and emitted once per turn
// of the event loop, in that order.

Q_LOGGING_CATEGORY(lcWorkerContainers, "kairos.worker.containers", QtWarningMsg)

namespace kairos {

namespace {

constexpr int kProgressIntervalMs = 100;
const QString kLibrarySuffix = QStringLiteral(".so");
const QString kPartSuffix = QStringLiteral(".so.part");

QString shortSha(const QString &sha)
{
    return sha.left(8);
}

// What the verify pool finds out about a file.
struct VerifyOutcome {
    QString error; // the file could not be read
    QString sha256;
    qint64 size = 0;
    // Read only when the digest matched.
    std::optional<Result<ContainerMetadata>> metadata;
};

VerifyOutcome verifyFile(const QString &path, const QString &expectedSha)
{
    VerifyOutcome out;
    const Result<QString> sha = sha256OfFile(path);
    if (!sha) {
        out.error = sha.error();
        return out;
    }
    out.sha256 = *sha;
    out.size = QFileInfo(path).size();
    if (out.sha256 == expectedSha)
        out.metadata = readContainerMetadata(path, QStringLiteral("worker"));
    return out;
}

DeployStage makeStage(const ContainerOrder &o, DeployStageName stage, qint64 bytes,
                      const QString &reason = {})
{
    DeployStage s;
    s.deployId = o.deployId;
    s.container = o.container;
    s.sha256 = o.sha256;
    s.stage = stage;
    s.bytes = bytes;
    s.total = o.sizeBytes;
    // A loader's message can be long; the wire takes reasons up to 4096 characters.
    s.reason = reason.left(4096);
    return s;
}

} // namespace

struct ContainerManager::Impl final : ContainerBinder {
    struct Deploy {
        ContainerOrder order;
        DeployStageName stage = DeployStageName::Queued;
        qint64 bytes = 0;
        bool fromCache = false;      // the file was already there: no download
        std::unique_ptr<QFile> part; // DOWNLOADING: <sha>.so.part, open for writing
        qint64 nextOffset = 0;       // the next byte to ask for
        QHash<qint64, std::pair<qint64, qint64>> inFlight; // fetch id -> (offset, length)
        qint64 lastProgressMs = -1;
        bool progressDirty = false;
        quint64 verifyTicket = 0;
        LoadedContainer *loading = nullptr; // LOADING; child of the manager
    };

    struct Entry {
        LoadedContainer *active = nullptr;
        QList<LoadedContainer *> draining; // no longer active, unloaded once their runs ended
        std::unique_ptr<Deploy> deploy;
        QList<QPointer<ContainerRun>> waiting;
        bool wanted = false;   // a `want` is out and not answered by an order yet
        QStringList activated; // SHA-256s this process made active, newest last
    };

    Impl(ContainerManager *manager)
        : q(manager)
    {
        flushTimer.setSingleShot(true);
        flushTimer.setInterval(0);
        QObject::connect(&flushTimer, &QTimer::timeout, q, [this] { flush(); });
        progressTimer.setSingleShot(true);
        progressTimer.setTimerType(Qt::PreciseTimer); // never earlier than the 100 ms
        QObject::connect(&progressTimer, &QTimer::timeout, q, [this] { onProgressTimer(); });
        verifyPool.setMaxThreadCount(2);
        verifyPool.setObjectName(QStringLiteral("kairos-container-verify"));
        clock.start();
    }

    const ContainerManagerConfig &config() const { return q->m_config; }

    // --- files --------------------------------------------------------------------------------

    QString folderOf(const QString &name) const { return QDir(config().directory).filePath(name); }
    QString fileOf(const QString &name, const QString &sha) const
    {
        return QDir(folderOf(name)).filePath(sha + kLibrarySuffix);
    }
    QString partOf(const QString &name, const QString &sha) const
    {
        return QDir(folderOf(name)).filePath(sha + kPartSuffix);
    }

    // SHA-256s whose files must stay: loaded (active, draining, loading) or being deployed.
    QSet<QString> shasInUse(const Entry &e) const
    {
        QSet<QString> out;
        if (e.active)
            out.insert(e.active->spec().sha256);
        for (const LoadedContainer *c : e.draining)
            out.insert(c->spec().sha256);
        if (e.deploy)
            out.insert(e.deploy->order.sha256);
        return out;
    }

    // Deletes the files of `name` beyond the last keepVersions activated ones (this process's
    // activations first, then other files by modification time, which activation refreshes),
    // never one in use; and every stray partial download.
    void cleanupFiles(const QString &name)
    {
        const auto it = entries.find(name);
        if (it == entries.end())
            return;
        const Entry &e = it->second;
        const QSet<QString> inUse = shasInUse(e);
        QDir dir(folderOf(name));
        const QFileInfoList files = dir.entryInfoList(
            {QStringLiteral("*") + kLibrarySuffix, QStringLiteral("*") + kPartSuffix}, QDir::Files,
            QDir::Time); // newest first
        QStringList order;
        for (auto a = e.activated.crbegin(); a != e.activated.crend(); ++a)
            order.append(*a);
        for (const QFileInfo &f : files) {
            const QString file = f.fileName();
            if (file.endsWith(kLibrarySuffix)) {
                const QString sha = file.chopped(kLibrarySuffix.size());
                if (!order.contains(sha))
                    order.append(sha);
            }
        }
        QSet<QString> keep;
        for (const QString &sha : std::as_const(order)) {
            if (keep.size() >= std::max(0, config().keepVersions))
                break;
            if (dir.exists(sha + kLibrarySuffix))
                keep.insert(sha);
        }
        for (const QFileInfo &f : files) {
            const QString file = f.fileName();
            const bool part = file.endsWith(kPartSuffix);
            const QString sha = file.chopped(part ? kPartSuffix.size() : kLibrarySuffix.size());
            if (!isValidSha256(sha))
                continue; // not ours
            if (inUse.contains(sha) || (!part && keep.contains(sha)))
                continue;
            if (QFile::remove(f.filePath()))
                qCDebug(lcWorkerContainers).noquote() << "deleted" << f.filePath();
        }
    }

    // The file of a deploy that did not make it, unless something else needs it.
    void removeFileIfUnneeded(const Entry &e, const QString &name, const QString &sha)
    {
        if (e.activated.contains(sha))
            return;
        if (e.active && e.active->spec().sha256 == sha)
            return;
        for (const LoadedContainer *c : e.draining) {
            if (c->spec().sha256 == sha)
                return;
        }
        QFile::remove(fileOf(name, sha));
    }

    // --- what goes out ------------------------------------------------------------------------

    void scheduleFlush()
    {
        if (!flushTimer.isActive())
            flushTimer.start();
    }

    void flush()
    {
        if (!pendingStages.isEmpty()) {
            const QList<DeployStage> out = std::exchange(pendingStages, {});
            emit q->stages(out);
        }
        if (!pendingFetches.isEmpty()) {
            const QList<FetchRequest> out = std::exchange(pendingFetches, {});
            emit q->fetchRequests(out);
        }
        if (!pendingWants.isEmpty()) {
            const QStringList out = std::exchange(pendingWants, {});
            emit q->wanted(out);
        }
    }

    void report(const DeployStage &stage)
    {
        qCDebug(lcWorkerContainers).noquote()
            << "deploy" << stage.deployId << stage.container << shortSha(stage.sha256)
            << toString(stage.stage) << stage.bytes << "/" << stage.total << stage.reason;
        pendingStages.append(stage);
        scheduleFlush();
    }

    void setStage(Deploy &d, DeployStageName stage, const QString &reason = {})
    {
        d.stage = stage;
        report(makeStage(d.order, stage, d.bytes, reason));
    }

    // --- orders -------------------------------------------------------------------------------

    void onOrder(const ContainerOrder &order)
    {
        const QString &name = order.container;
        Entry &e = entries[name];
        e.wanted = false; // any order for the name answers a `want`

        if (order.sha256.isEmpty()) {
            const QString reason =
                order.reason.isEmpty()
                    ? QStringLiteral("container '%1' has no version for this worker").arg(name)
                    : order.reason;
            failWaiting(e, reason);
            return;
        }

        if (e.deploy) {
            Deploy &d = *e.deploy;
            if (d.order.sha256 == order.sha256 && d.order.isolation == order.isolation) {
                // The same file and mode (a re-sent order, a want's answer, a redeploy of the
                // same version): carry on with the work in progress under the newer id.
                if (d.order.deployId != order.deployId) {
                    report(
                        makeStage(d.order, DeployStageName::Failed, d.bytes,
                                  QStringLiteral("superseded by deploy %1").arg(order.deployId)));
                }
                d.order = order;
                report(makeStage(d.order, d.stage, d.bytes));
                return;
            }
            report(makeStage(d.order, DeployStageName::Failed, d.bytes,
                             QStringLiteral("superseded by deploy %1").arg(order.deployId)));
            abortDeploy(e, name, order.sha256);
        }

        if (e.active && e.active->spec().sha256 == order.sha256
            && e.active->spec().isolation == order.isolation) {
            report(makeStage(order, DeployStageName::Ready, order.sizeBytes));
            return;
        }

        e.deploy = std::make_unique<Deploy>();
        Deploy &d = *e.deploy;
        d.order = order;
        setStage(d, DeployStageName::Queued);

        if (order.sizeBytes > config().maxBytes) {
            failDeploy(e, name,
                       QStringLiteral("size: %1 bytes exceeds the %2-byte container limit")
                           .arg(order.sizeBytes)
                           .arg(config().maxBytes));
            return;
        }
        if (!QDir().mkpath(folderOf(name))) {
            failDeploy(e, name,
                       QStringLiteral("cannot create the folder %1 (check --containers-dir and "
                                      "its permissions)")
                           .arg(folderOf(name)));
            return;
        }
        if (QFileInfo::exists(fileOf(name, order.sha256))) {
            d.fromCache = true;
            d.bytes = order.sizeBytes;
            verify(e, name);
        } else {
            startDownload(e, name);
        }
    }

    // Ends the deploy in progress and removes what it left: fetches, the partial file, a
    // half-loaded version (its host is killed), the file if nothing else needs it (nor the order
    // that replaces it: `keepSha`).
    void abortDeploy(Entry &e, const QString &name, const QString &keepSha = {})
    {
        if (!e.deploy)
            return;
        std::unique_ptr<Deploy> d = std::move(e.deploy);
        for (auto it = d->inFlight.cbegin(); it != d->inFlight.cend(); ++it)
            fetchOwners.remove(it.key());
        if (d->part) {
            d->part->close();
            d->part.reset();
        }
        QFile::remove(partOf(name, d->order.sha256));
        if (d->loading) {
            dispose(d->loading);
            d->loading = nullptr;
        }
        if (!d->fromCache && d->order.sha256 != keepSha)
            removeFileIfUnneeded(e, name, d->order.sha256);
    }

    // The deploy in progress ends FAILED with `reason`; runs waiting for a container that has
    // no active version and no other deploy coming fail with it.
    void failDeploy(Entry &e, const QString &name, const QString &reason)
    {
        if (!e.deploy)
            return;
        setStage(*e.deploy, DeployStageName::Failed, reason);
        const QString version = e.deploy->order.version;
        abortDeploy(e, name);
        e.wanted = false; // a later run may ask again
        if (!e.active) {
            failWaiting(e, QStringLiteral("container '%1'%2 could not be deployed: %3")
                               .arg(name, version.isEmpty() ? QString() : u' ' + version, reason));
        }
    }

    // --- download -----------------------------------------------------------------------------

    void startDownload(Entry &e, const QString &name)
    {
        Deploy &d = *e.deploy;
        d.fromCache = false;
        d.bytes = 0;
        d.nextOffset = 0;
        d.part = std::make_unique<QFile>(partOf(name, d.order.sha256));
        if (!d.part->open(QIODevice::WriteOnly | QIODevice::Truncate)) {
            const QString why = d.part->errorString();
            failDeploy(e, name, QStringLiteral("cannot write %1: %2").arg(d.part->fileName(), why));
            return;
        }
        d.lastProgressMs = clock.elapsed();
        setStage(d, DeployStageName::Downloading);
        requestMore(d, name);
    }

    void requestMore(Deploy &d, const QString &name)
    {
        while (d.inFlight.size() < kFetchWindow && d.nextOffset < d.order.sizeBytes) {
            const qint64 length =
                std::min<qint64>(kMaxFetchBytes, d.order.sizeBytes - d.nextOffset);
            const qint64 id = ++lastFetchId;
            d.inFlight.insert(id, {d.nextOffset, length});
            fetchOwners.insert(id, name);
            pendingFetches.append(FetchRequest{id, d.order.sha256, d.nextOffset, length});
            d.nextOffset += length;
        }
        scheduleFlush();
    }

    void onReply(const FetchReply &reply)
    {
        const auto owner = fetchOwners.constFind(reply.fetchId);
        if (owner == fetchOwners.constEnd()) {
            qCDebug(lcWorkerContainers)
                << "reply to fetch" << reply.fetchId << "dropped: its download has ended";
            return;
        }
        const QString name = owner.value();
        fetchOwners.erase(owner);
        Entry &e = entries[name];
        if (!e.deploy || e.deploy->stage != DeployStageName::Downloading)
            return;
        Deploy &d = *e.deploy;
        const auto range = d.inFlight.constFind(reply.fetchId);
        if (range == d.inFlight.constEnd())
            return;
        const auto [offset, length] = range.value();
        d.inFlight.erase(range);

        if (!reply.error.isEmpty()) {
            failDeploy(
                e, name,
                QStringLiteral("download failed at byte %1: %2").arg(offset).arg(reply.error));
            return;
        }
        if (reply.sha256 != d.order.sha256 || reply.offset != offset
            || reply.data.size() != length) {
            failDeploy(e, name,
                       QStringLiteral("download failed: the server sent %1 bytes at offset %2 of "
                                      "%3, expected %4 bytes at offset %5 of %6")
                           .arg(reply.data.size())
                           .arg(reply.offset)
                           .arg(shortSha(reply.sha256))
                           .arg(length)
                           .arg(offset)
                           .arg(shortSha(d.order.sha256)));
            return;
        }
        if (!d.part->seek(offset) || d.part->write(reply.data) != length) {
            const QString why = d.part->errorString();
            failDeploy(e, name, QStringLiteral("cannot write %1: %2").arg(d.part->fileName(), why));
            return;
        }
        d.bytes += length;
        if (d.bytes >= d.order.sizeBytes) {
            if (!d.part->flush()) {
                const QString why = d.part->errorString();
                failDeploy(e, name,
                           QStringLiteral("cannot write %1: %2").arg(d.part->fileName(), why));
                return;
            }
            d.part->close();
            d.part.reset();
            d.progressDirty = false;
            setStage(d, DeployStageName::Downloading); // the end: bytes == total
            verify(e, name);
            return;
        }
        progress(d);
        requestMore(d, name);
    }

    // Reports DOWNLOADING at most every kProgressIntervalMs per deploy.
    void progress(Deploy &d)
    {
        const qint64 now = clock.elapsed();
        if (now - d.lastProgressMs >= kProgressIntervalMs) {
            d.lastProgressMs = now;
            d.progressDirty = false;
            setStage(d, DeployStageName::Downloading);
            return;
        }
        d.progressDirty = true;
        const int due = int(kProgressIntervalMs - (now - d.lastProgressMs));
        if (!progressTimer.isActive() || progressTimer.remainingTime() > due)
            progressTimer.start(std::max(1, due));
    }

    void onProgressTimer()
    {
        const qint64 now = clock.elapsed();
        int next = -1;
        for (auto &[name, e] : entries) {
            if (!e.deploy || !e.deploy->progressDirty
                || e.deploy->stage != DeployStageName::Downloading)
                continue;
            Deploy &d = *e.deploy;
            const qint64 since = now - d.lastProgressMs;
            if (since >= kProgressIntervalMs) {
                d.lastProgressMs = now;
                d.progressDirty = false;
                setStage(d, DeployStageName::Downloading);
            } else {
                const int due = int(kProgressIntervalMs - since);
                next = next < 0 ? due : std::min(next, due);
            }
        }
        if (next >= 0)
            progressTimer.start(std::max(1, next));
    }

    // --- verify -------------------------------------------------------------------------------

    void verify(Entry &e, const QString &name)
    {
        Deploy &d = *e.deploy;
        d.bytes = d.order.sizeBytes;
        setStage(d, DeployStageName::Verifying);
        d.verifyTicket = ++lastTicket;
        const QString path =
            d.fromCache ? fileOf(name, d.order.sha256) : partOf(name, d.order.sha256);
        auto promise = std::make_shared<QPromise<VerifyOutcome>>();
        QFuture<VerifyOutcome> future = promise->future();
        future.then(q, [this, name, ticket = d.verifyTicket](const VerifyOutcome &outcome) {
            onVerified(name, ticket, outcome);
        });
        promise->start();
        verifyPool.start([promise, path, sha = d.order.sha256] {
            promise->addResult(verifyFile(path, sha));
            promise->finish();
        });
    }

    void onVerified(const QString &name, quint64 ticket, const VerifyOutcome &outcome)
    {
        const auto it = entries.find(name);
        if (it == entries.end())
            return;
        Entry &e = it->second;
        if (!e.deploy || e.deploy->verifyTicket != ticket
            || e.deploy->stage != DeployStageName::Verifying)
            return; // superseded meanwhile
        Deploy &d = *e.deploy;
        const QString file = fileOf(name, d.order.sha256);
        const QString part = partOf(name, d.order.sha256);
        const QString path = d.fromCache ? file : part;

        if (!outcome.error.isEmpty()) {
            failDeploy(e, name, outcome.error);
            return;
        }
        if (outcome.sha256 != d.order.sha256) {
            if (d.fromCache) {
                // A damaged file from an earlier download: fetch it again.
                qCWarning(lcWorkerContainers).noquote()
                    << QStringLiteral("%1 does not match its name (SHA-256 %2); downloading it "
                                      "again")
                           .arg(file, outcome.sha256);
                // Unlinking is safe even if a loaded version maps it: the mapping keeps the
                // old inode, and the new download lands in a new one.
                QFile::remove(file);
                startDownload(e, name);
                return;
            }
            QFile::remove(part);
            failDeploy(e, name,
                       QStringLiteral("digest mismatch: expected %1, got %2")
                           .arg(d.order.sha256, outcome.sha256));
            return;
        }
        if (outcome.size != d.order.sizeBytes) {
            if (!d.fromCache)
                QFile::remove(part);
            failDeploy(e, name,
                       QStringLiteral("size mismatch: the order says %1 bytes, the file "
                                      "with that SHA-256 has %2")
                           .arg(d.order.sizeBytes)
                           .arg(outcome.size));
            return;
        }
        Q_ASSERT(outcome.metadata.has_value());
        const Result<ContainerMetadata> &meta = *outcome.metadata;
        if (!meta) {
            if (!isLoaded(e, d.order.sha256))
                QFile::remove(path);
            failDeploy(e, name, meta.error());
            return;
        }
        if (meta->name != name) {
            if (!isLoaded(e, d.order.sha256))
                QFile::remove(path);
            failDeploy(
                e, name,
                QStringLiteral("the file is container '%1', not '%2'").arg(meta->name, name));
            return;
        }
        if (!d.fromCache) {
            QFile::remove(file); // a leftover of another process cannot be trusted anyway
            if (!QFile::rename(part, file)) {
                QFile::remove(part);
                failDeploy(e, name, QStringLiteral("cannot move %1 to %2").arg(part, file));
                return;
            }
        }
        load(e, name, meta->version);
    }

    bool isLoaded(const Entry &e, const QString &sha) const
    {
        if (e.active && e.active->spec().sha256 == sha)
            return true;
        for (const LoadedContainer *c : e.draining) {
            if (c->spec().sha256 == sha)
                return true;
        }
        return false;
    }

    // --- load and activate --------------------------------------------------------------------

    QString hostProgram() const
    {
        if (!config().hostProgram.isEmpty())
            return config().hostProgram;
        return QDir(QCoreApplication::applicationDirPath())
            .filePath(QStringLiteral("kairos-container-host"));
    }

    void load(Entry &e, const QString &name, const QString &metadataVersion)
    {
        Deploy &d = *e.deploy;
        setStage(d, DeployStageName::Loading);
        LoadedContainerSpec spec;
        spec.container = name;
        spec.sha256 = d.order.sha256;
        spec.version = d.order.version.isEmpty() ? metadataVersion : d.order.version;
        spec.file = fileOf(name, d.order.sha256);
        spec.isolation = d.order.isolation;
        spec.hostProgram = hostProgram();
        spec.hostThreads = config().hostThreads;
        spec.hangGraceMs = config().hangGraceMs;
        std::unique_ptr<LoadedContainer> made =
            config().loaderFactory ? config().loaderFactory(spec) : makeLoadedContainer(spec);
        if (!made) {
            failDeploy(e, name,
                       QStringLiteral("this worker cannot load %1 containers")
                           .arg(toString(spec.isolation)));
            return;
        }
        LoadedContainer *c = made.release();
        c->setParent(q); // destroyed with the manager at the latest
        d.loading = c;
        QObject::connect(c, &LoadedContainer::loaded, q, [this, name, c] { onLoaded(name, c); });
        QObject::connect(c, &LoadedContainer::loadFailed, q,
                         [this, name, c](const QString &reason) { onLoadFailed(name, c, reason); });
        QObject::connect(c, &LoadedContainer::unloaded, q,
                         [this, name, c] { onUnloaded(name, c); });
        c->load(); // may answer before it returns: nothing after this line
    }

    void onLoaded(const QString &name, LoadedContainer *c)
    {
        Entry &e = entries[name];
        if (!e.deploy || e.deploy->loading != c)
            return;
        LoadedContainer *previous = e.active;
        e.active = c;
        e.deploy->loading = nullptr;
        const QString sha = c->spec().sha256;
        e.activated.removeAll(sha);
        e.activated.append(sha);
        touch(fileOf(name, sha));
        setStage(*e.deploy, DeployStageName::Ready);
        e.deploy.reset();
        e.wanted = false;
        qCInfo(lcWorkerContainers).noquote()
            << QStringLiteral("%1 is now active (%2)")
                   .arg(c->describe(), toString(c->spec().isolation));

        // New runs from now on use the new version; those waiting get it first.
        const QList<QPointer<ContainerRun>> waiting = std::exchange(e.waiting, {});
        for (const QPointer<ContainerRun> &run : waiting) {
            if (run)
                run->bind(*c);
        }
        if (previous) {
            e.draining.append(previous);
            previous->unloadWhenDrained(); // may emit unloaded() at once
        }
        cleanupFiles(name);
    }

    void onLoadFailed(const QString &name, LoadedContainer *c, const QString &reason)
    {
        Entry &e = entries[name];
        if (!e.deploy || e.deploy->loading != c) {
            dispose(c);
            return;
        }
        // abortDeploy disposes of it and deletes the file unless needed.
        e.deploy->fromCache = false;
        failDeploy(e, name,
                   reason.isEmpty() ? QStringLiteral("the container did not load") : reason);
    }

    void onUnloaded(const QString &name, LoadedContainer *c)
    {
        Entry &e = entries[name];
        if (!e.draining.removeOne(c))
            return; // only versions we retired are expected to unload
        qCDebug(lcWorkerContainers).noquote() << c->describe() << "unloaded";
        dispose(c);
        cleanupFiles(name);
    }

    void dispose(LoadedContainer *c)
    {
        QObject::disconnect(c, nullptr, q, nullptr);
        // Once it is gone, hand the heap pages its load, runs and host link used back to the
        // system: without this, glibc keeps them mapped and a worker's RSS creeps up a little
        // with every redeploy (measured: about 1.5 KB per cycle, container_redeploy_rss).
        QObject::connect(c, &QObject::destroyed, [] { ::malloc_trim(0); });
        // Possibly inside its own signal: destroy it on the next turn (a host is killed then).
        c->deleteLater();
    }

    static void touch(const QString &path)
    {
        // The modification time orders versions for the file cleanup across restarts.
        QFile f(path);
        if (f.open(QIODevice::ReadOnly))
            f.setFileTime(QDateTime::currentDateTimeUtc(), QFileDevice::FileModificationTime);
    }

    // --- runs ---------------------------------------------------------------------------------

    void runStarted(ContainerRun *run) override
    {
        const QString &name = run->container();
        Entry &e = entries[name];
        if (e.active) {
            run->bind(*e.active);
            return;
        }
        e.waiting.append(run);
        if (!e.deploy && !e.wanted) {
            e.wanted = true;
            pendingWants.append(name);
            scheduleFlush();
        }
    }

    void runGone(ContainerRun *run) override
    {
        const auto it = entries.find(run->container());
        if (it == entries.end())
            return;
        it->second.waiting.removeAll(QPointer<ContainerRun>(run));
    }

    void failWaiting(Entry &e, const QString &reason)
    {
        const QList<QPointer<ContainerRun>> waiting = std::exchange(e.waiting, {});
        for (const QPointer<ContainerRun> &run : waiting) {
            if (run)
                run->fail(reason);
        }
    }

    // --- connection ---------------------------------------------------------------------------

    void connectionLost()
    {
        for (auto &[name, e] : entries) {
            e.wanted = false; // never answered: the next run asks again
            if (e.deploy && e.deploy->stage == DeployStageName::Downloading)
                failDeploy(e, name, QStringLiteral("connection to the server lost"));
        }
    }

    void shutdown()
    {
        flushTimer.stop();
        progressTimer.stop();
        for (auto &[name, e] : entries) {
            if (e.deploy) {
                std::unique_ptr<Deploy> d = std::move(e.deploy);
                if (d->part)
                    d->part.reset();
                QFile::remove(partOf(name, d->order.sha256));
                if (d->loading) {
                    QObject::disconnect(d->loading, nullptr, q, nullptr);
                    delete d->loading;
                }
            }
            failWaiting(e, QStringLiteral("container '%1': the worker is shutting down").arg(name));
            for (LoadedContainer *c : std::as_const(e.draining)) {
                QObject::disconnect(c, nullptr, q, nullptr);
                delete c;
            }
            e.draining.clear();
            if (e.active) {
                QObject::disconnect(e.active, nullptr, q, nullptr);
                delete e.active;
                e.active = nullptr;
            }
        }
        // A verify still hashing finishes on its own; its result goes nowhere.
        verifyPool.waitForDone();
    }

    ContainerManager *q;
    std::map<QString, Entry> entries;   // node-based: references stay valid while others are added
    QHash<qint64, QString> fetchOwners; // unanswered fetch id -> container
    qint64 lastFetchId = 0;
    quint64 lastTicket = 0;
    QList<DeployStage> pendingStages;
    QList<FetchRequest> pendingFetches;
    QStringList pendingWants;
    QTimer flushTimer{q};
    QTimer progressTimer{q};
    QElapsedTimer clock;
    QThreadPool verifyPool;
};

ContainerManager::ContainerManager(ContainerManagerConfig config, QObject *parent)
    : QObject(parent)
    , m_config(std::move(config))
    , m_impl(std::make_unique<Impl>(this))
{}

ContainerManager::~ContainerManager()
{
    m_impl->shutdown();
}

void ContainerManager::deploy(const QList<ContainerOrder> &orders)
{
    for (const ContainerOrder &order : orders)
        m_impl->onOrder(order);
}

void ContainerManager::fetchAnswered(const QList<FetchReply> &replies)
{
    for (const FetchReply &reply : replies)
        m_impl->onReply(reply);
}

void ContainerManager::connectionLost()
{
    m_impl->connectionLost();
}

Result<std::unique_ptr<ProcessorRun>>
ContainerManager::createContainerRun(const TaskSpec &spec, const ProcessorContext &context)
{
    const QString ref = spec.config.value(QLatin1StringView("ref")).toString();
    auto split = splitContainerRef(ref);
    if (!split)
        return makeError(split.error());
    auto [name, processor] = std::move(split).value();
    return std::unique_ptr<ProcessorRun>(
        new ContainerRun(spec, std::move(name), std::move(processor), context, m_impl.get(), this,
                         m_config.waitForContainerMs));
}

QString ContainerManager::activeSha(const QString &container) const
{
    const auto it = m_impl->entries.find(container);
    if (it == m_impl->entries.end() || !it->second.active)
        return {};
    return it->second.active->spec().sha256;
}

int ContainerManager::loadedCount() const
{
    int n = 0;
    for (const auto &[name, e] : m_impl->entries)
        n += (e.active ? 1 : 0) + int(e.draining.size());
    return n;
}

} // namespace kairos
