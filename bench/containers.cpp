// Container workloads (issue 5; docs/containers.md):
//
// container_run_overhead: what running a processor from a container costs over a built-in SDK
//   processor, per run, in each isolation mode. In-process with the worker's own parts: one
//   TaskRunner with a ContainerManager (the fixture hello.so deployed to it, its fetches answered
//   from the file), runs submitted one at a time; latency = submit -> terminal report, measured
//   for `hello#noop` and `builtin#echo` alternately (so drift hits both), medians compared.
// container_deploy_10: a 5 MiB container (fixture big.so) uploaded over the admin protocol in
//   1 MiB chunks to a real kairosd and deployed to 10 real kairos-worker processes; time = first
//   upload call -> container.status showing all 10 READY on that version (polled every 5 ms).
// container_redeploy_rss: 200 deploys alternating hello 1.0 / 2.0 to one real kairos-worker, a
//   run after each (its result must name the deployed version); the worker's RSS after the first
//   and after the last cycle, per isolation mode. Target: within 10 %.
#include "bench_cluster.h"
#include "child_process.h"
#include "process_probe.h"
#include "stats.h"
#include "workloads.h"

#include <core/clock.h>
#include <worker/container_file.h>
#include <worker/container_manager.h>
#include <worker/task_runner.h>

#include <QCryptographicHash>
#include <QDir>
#include <QEventLoop>
#include <QFile>
#include <QJsonArray>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>

namespace kairos::bench {
namespace {

QString fixturePath(const QString &file)
{
    return QDir(QFileInfo(siblingProgram(QStringLiteral("kairosd"))).absolutePath())
        .filePath(QStringLiteral("containers/") + file);
}

Result<QByteArray> readAll(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return makeError(QStringLiteral("%1: %2 (build the test containers: ninja -C build "
                                        "kairos_test_containers)")
                             .arg(path, f.errorString()));
    return f.readAll();
}

QString sha256Hex(const QByteArray &bytes)
{
    return QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex());
}

// --- container_run_overhead -------------------------------------------------------------------

// A TaskRunner with a ContainerManager whose "server" is this object: fetches are answered from
// the bytes of one file.
class LocalContainerRig {
public:
    LocalContainerRig(const QString &dir, QByteArray bytes)
        : m_bytes(std::move(bytes))
        , m_manager(ContainerManagerConfig{dir,
                                           siblingProgram(QStringLiteral("kairos-container-host")),
                                           3, kMaxContainerBytes, 60000, 8, 5000})
    {
        m_runner.setCapacity(8);
        m_runner.setContainerRuns(&m_manager);
        QObject::connect(
            &m_manager, &ContainerManager::fetchRequests, &m_manager,
            [this](const QList<FetchRequest> &requests) {
                QList<FetchReply> replies;
                for (const FetchRequest &r : requests)
                    replies << FetchReply{
                        r.fetchId, r.sha256, r.offset, m_bytes.mid(r.offset, r.length), {}};
                QTimer::singleShot(0, &m_manager,
                                   [this, replies] { m_manager.fetchAnswered(replies); });
            });
        QObject::connect(&m_manager, &ContainerManager::stages, &m_manager,
                         [this](const QList<DeployStage> &stages) {
                             for (const DeployStage &s : stages)
                                 m_last = s;
                         });
        QObject::connect(&m_runner, &TaskRunner::reports, &m_runner,
                         [this](const QList<TaskReport> &reports) {
                             for (const TaskReport &r : reports) {
                                 if (isTerminal(r.status)) {
                                     m_done = true;
                                     m_lastResult = r.result;
                                     m_lastStatus = r.status;
                                     if (m_loop)
                                         m_loop->quit();
                                 }
                             }
                         });
    }

    Status deploy(qint64 deployId, const QString &name, ContainerIsolation isolation)
    {
        m_last = {};
        m_manager.deploy({ContainerOrder{deployId,
                                         name,
                                         sha256Hex(m_bytes),
                                         m_bytes.size(),
                                         isolation,
                                         QStringLiteral("bench"),
                                         {}}});
        if (!pumpUntil([&] { return m_last.deployId == deployId && isFinal(m_last.stage); }, 30000,
                       1))
            return makeError(QStringLiteral("deploy %1 did not end within 30 s").arg(deployId));
        if (m_last.stage != DeployStageName::Ready)
            return makeError(QStringLiteral("deploy failed: ") + m_last.reason);
        return {};
    }

    // One run, submit -> terminal report, in microseconds; -1 on failure.
    qint64 runOnce(const QString &ref)
    {
        TaskSpec spec;
        spec.instanceId = ++m_nextId;
        spec.processor = ProcessorKind::Container;
        spec.config = QJsonObject{{QStringLiteral("ref"), ref}};
        spec.jobName = QStringLiteral("bench");
        spec.timeoutMs = 10000;
        m_done = false;
        QEventLoop loop;
        m_loop = &loop;
        QTimer guard;
        guard.setSingleShot(true);
        QObject::connect(&guard, &QTimer::timeout, &loop, &QEventLoop::quit);
        guard.start(15000);
        const qint64 t0 = nowUs();
        m_runner.submit(spec);
        if (!m_done)
            loop.exec();
        const qint64 t1 = nowUs();
        m_loop = nullptr;
        if (!m_done || m_lastStatus != InstanceStatus::Succeeded) {
            m_error =
                QStringLiteral("%1 ended %2: %3").arg(ref, toString(m_lastStatus), m_lastResult);
            return -1;
        }
        return t1 - t0;
    }
    QString error() const { return m_error; }

private:
    QByteArray m_bytes;
    TaskRunner m_runner;
    ContainerManager m_manager;
    DeployStage m_last;
    qint64 m_nextId = 0;
    bool m_done = false;
    QString m_lastResult;
    InstanceStatus m_lastStatus = InstanceStatus::Running;
    QString m_error;
    QEventLoop *m_loop = nullptr;
};

Result<QJsonObject> overheadRep(int runs)
{
    auto bytes = readAll(fixturePath(QStringLiteral("hello-v1.so")));
    if (!bytes)
        return makeError(bytes.error());
    QTemporaryDir dir;
    LocalContainerRig rig(dir.path(), *bytes);
    QJsonObject out;
    qint64 deployId = 0;
    for (const ContainerIsolation iso :
         {ContainerIsolation::InProcess, ContainerIsolation::Process}) {
        if (Status s = rig.deploy(++deployId, QStringLiteral("hello"), iso); !s.ok())
            return makeError(s.error());
        QList<double> builtin, container;
        const int warmup = runs / 10;
        for (int i = 0; i < warmup + runs; ++i) {
            const qint64 b = rig.runOnce(QStringLiteral("builtin#echo"));
            const qint64 c = rig.runOnce(QStringLiteral("hello#noop"));
            if (b < 0 || c < 0)
                return makeError(rig.error());
            if (i >= warmup) {
                builtin << double(b) / 1e3;
                container << double(c) / 1e3;
            }
        }
        const double mb = median(builtin), mc = median(container);
        const QString key = toString(iso);
        out.insert(key + QStringLiteral("_builtin_ms_p50"), rounded(mb, 4));
        out.insert(key + QStringLiteral("_container_ms_p50"), rounded(mc, 4));
        out.insert(key + QStringLiteral("_overhead_ms"), rounded(mc - mb, 4));
        out.insert(key + QStringLiteral("_container"), percentiles(container, 4));
    }
    out.insert(QStringLiteral("runs_per_mode"), runs);
    return out;
}

// --- container_deploy_10 ----------------------------------------------------------------------

Result<QString> uploadOverAdmin(AdminSession &admin, const QByteArray &bytes)
{
    const QString sha = sha256Hex(bytes);
    auto begin = admin.call(
        QStringLiteral("container.upload.begin"),
        {{QStringLiteral("size"), double(bytes.size())}, {QStringLiteral("sha256"), sha}});
    if (!begin)
        return makeError(begin.error());
    const qint64 uploadId = begin->value(QStringLiteral("uploadId")).toInteger();
    const qint64 chunk =
        std::max<qint64>(1, begin->value(QStringLiteral("chunkBytes")).toInteger());
    for (qint64 off = 0; off < bytes.size(); off += chunk) {
        auto sent = admin.call(
            QStringLiteral("container.upload.chunk"),
            {{QStringLiteral("uploadId"), uploadId},
             {QStringLiteral("offset"), double(off)},
             {QStringLiteral("data"), QString::fromLatin1(bytes.mid(off, chunk).toBase64())}});
        if (!sent)
            return makeError(sent.error());
    }
    auto finish = admin.call(QStringLiteral("container.upload.finish"),
                             {{QStringLiteral("uploadId"), uploadId}});
    if (!finish)
        return makeError(finish.error());
    return sha;
}

// Polls container.status until every listed worker reports READY on `sha` (or one FAILED).
Status waitReady(AdminSession &admin, const QString &container, const QString &sha,
                 const QStringList &workers, int timeoutMs, int pollMs)
{
    const qint64 deadline = nowMs() + timeoutMs;
    QString last;
    while (nowMs() < deadline) {
        auto reply =
            admin.call(QStringLiteral("container.status"), {{QStringLiteral("name"), container}});
        if (!reply)
            return makeError(reply.error());
        int ready = 0;
        for (const QJsonValue &v : reply->value(QStringLiteral("workers")).toArray()) {
            const QJsonObject row = v.toObject();
            if (!workers.contains(row.value(QStringLiteral("worker")).toString())
                || row.value(QStringLiteral("sha256")).toString() != sha)
                continue;
            const QString stage = row.value(QStringLiteral("stage")).toString();
            if (stage == QLatin1String("FAILED"))
                return makeError(QStringLiteral("%1 FAILED: %2")
                                     .arg(row.value(QStringLiteral("worker")).toString(),
                                          row.value(QStringLiteral("reason")).toString()));
            if (stage == QLatin1String("READY")
                && row.value(QStringLiteral("activeSha256")).toString() == sha)
                ++ready;
        }
        if (ready == workers.size())
            return {};
        last = QStringLiteral("%1 of %2 READY").arg(ready).arg(workers.size());
        if (pollMs > 0)
            pumpFor(pollMs);
    }
    return makeError(QStringLiteral("deploy not ready within %1 ms: %2").arg(timeoutMs).arg(last));
}

Result<QJsonObject> deployRep(WorkloadContext &ctx, int workers, int rep)
{
    auto bytes = readAll(fixturePath(QStringLiteral("big.so")));
    if (!bytes)
        return makeError(bytes.error());
    StoreProvider &store = *ctx.store;
    const QString dataDir =
        QDir(store.workDir()).filePath(QStringLiteral("container-deploy-%1").arg(rep));
    QDir().mkpath(dataDir);
    auto url = store.freshUrl(QStringLiteral("cdeploy"), dataDir);
    if (!url)
        return makeError(url.error());
    QJsonObject out;
    {
        Cluster c;
        if (Status s = startCluster(c, dataDir, *url, workers, 2); !s.ok())
            return makeError(s.error());
        QStringList ids;
        for (int i = 1; i <= workers; ++i)
            ids << QStringLiteral("bench-w%1").arg(i);
        const qint64 t0 = nowUs();
        auto sha = uploadOverAdmin(*c.admin, *bytes);
        if (!sha)
            return makeError(sha.error());
        const qint64 t1 = nowUs();
        auto deployed = c.admin->call(QStringLiteral("container.deploy"),
                                      {{QStringLiteral("name"), QStringLiteral("big")}});
        if (!deployed)
            return makeError(deployed.error());
        if (Status s = waitReady(*c.admin, QStringLiteral("big"), *sha, ids, 60000, 5); !s.ok())
            return makeError(s.error());
        const qint64 t2 = nowUs();
        out.insert(QStringLiteral("size_mb"), rounded(double(bytes->size()) / (1 << 20), 2));
        out.insert(QStringLiteral("upload_ms"), rounded(double(t1 - t0) / 1e3, 1));
        out.insert(QStringLiteral("deploy_to_all_ready_ms"), rounded(double(t2 - t1) / 1e3, 1));
        out.insert(QStringLiteral("upload_to_all_ready_ms"), rounded(double(t2 - t0) / 1e3, 1));
        stopCluster(c);
    }
    store.release(*url);
    QDir(dataDir).removeRecursively();
    return out;
}

// --- container_redeploy_rss -------------------------------------------------------------------

// How many live kairos-container-host processes have `needle` on their command line.
int hostsRunning(const QString &needle)
{
    int n = 0;
    for (const QString &pid : QDir(QStringLiteral("/proc")).entryList(QDir::Dirs)) {
        bool isPid = false;
        pid.toLongLong(&isPid);
        if (!isPid)
            continue;
        QFile cmd(QStringLiteral("/proc/%1/cmdline").arg(pid));
        if (cmd.open(QIODevice::ReadOnly)) {
            const QByteArray line = cmd.readAll();
            n += (line.contains("kairos-container-host") && line.contains(needle.toUtf8())) ? 1 : 0;
        }
    }
    return n;
}

// How many of the given files the process maps.
int filesMapped(qint64 pid, const QStringList &needles)
{
    QFile maps(QStringLiteral("/proc/%1/maps").arg(pid));
    if (!maps.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray all = maps.readAll();
    int n = 0;
    for (const QString &s : needles)
        n += all.contains(s.toUtf8()) ? 1 : 0;
    return n;
}

// One isolation mode on a fresh kairosd and worker, so each mode's first and last RSS are its own.
Status redeployMode(WorkloadContext &ctx, int cycles, int rep, const QString &iso, QJsonObject &out)
{
    auto v1 = readAll(fixturePath(QStringLiteral("hello-v1.so")));
    auto v2 = readAll(fixturePath(QStringLiteral("hello-v2.so")));
    if (!v1 || !v2)
        return makeError(v1 ? v2.error() : v1.error());
    StoreProvider &store = *ctx.store;
    const QString dataDir =
        QDir(store.workDir()).filePath(QStringLiteral("container-redeploy-%1-%2").arg(iso).arg(rep));
    QDir().mkpath(dataDir);
    auto url = store.freshUrl(QStringLiteral("credeploy"), dataDir);
    if (!url)
        return makeError(url.error());
    {
        Cluster c;
        if (Status s = startCluster(c, dataDir, *url, 1, 4); !s.ok())
            return s;
        const qint64 workerPid = c.workers.front()->pid();
        auto sha1 = uploadOverAdmin(*c.admin, *v1);
        auto sha2 = uploadOverAdmin(*c.admin, *v2);
        if (!sha1 || !sha2)
            return makeError(sha1 ? sha2.error() : sha1.error());
        auto jobId = createJob(
            *c.admin, {{QStringLiteral("name"), QStringLiteral("bench-greet")},
                       {QStringLiteral("processor"),
                        QJsonObject{{QStringLiteral("type"), QStringLiteral("CONTAINER")},
                                    {QStringLiteral("ref"), QStringLiteral("hello#greet")}}}});
        if (!jobId)
            return makeError(jobId.error());
        {
            qint64 rssFirst = 0, rssLast = 0;
            QJsonObject curve; // cycle -> worker RSS in MB
            const qint64 t0 = nowUs();
            for (int i = 0; i < cycles; ++i) {
                const bool second = i % 2 == 1;
                const QString label = second ? QStringLiteral("2.0") : QStringLiteral("1.0");
                const QString sha = second ? *sha2 : *sha1;
                auto deployed = c.admin->call(QStringLiteral("container.deploy"),
                                              {{QStringLiteral("name"), QStringLiteral("hello")},
                                               {QStringLiteral("version"), sha},
                                               {QStringLiteral("isolation"), iso}});
                if (!deployed)
                    return makeError(deployed.error());
                if (Status s = waitReady(*c.admin, QStringLiteral("hello"), sha,
                                         {QStringLiteral("bench-w1")}, 30000, 1);
                    !s.ok())
                    return makeError(
                        QStringLiteral("%1 cycle %2: %3").arg(iso).arg(i).arg(s.error()));
                auto id = runOnce(*c.admin, *jobId);
                if (!id)
                    return makeError(id.error());
                auto done = waitTerminal(*c.admin, *id, 30000, 1);
                if (!done)
                    return makeError(done.error());
                const QString result = done->instance.value(QStringLiteral("result")).toString();
                const QString expected = second ? QStringLiteral("v2") : QStringLiteral("v1");
                if (done->instance.value(QStringLiteral("status")).toString()
                        != QLatin1String("SUCCEEDED")
                    || result != expected)
                    return makeError(QStringLiteral("%1 cycle %2 (%3): the run said '%4', expected "
                                                    "'%5'")
                                         .arg(iso)
                                         .arg(i)
                                         .arg(label, result, expected));
                const qint64 rss = memoryOf(workerPid).rss;
                if (i == 0)
                    rssFirst = rss;
                rssLast = rss;
                // The curve tells warm-up (a step early, then flat) from a leak (a slope).
                if (i + 1 == 1 || i + 1 == 10 || (i + 1) % 50 == 0)
                    curve.insert(QString::number(i + 1), rounded(double(rss) / 1024, 2));
            }
            const double seconds = double(nowUs() - t0) / 1e6;
            // Give the last drained version a moment to be unloaded before counting.
            pumpUntil([&] { return hostsRunning(*sha1) + hostsRunning(*sha2) <= 1; }, 5000, 5);
            out.insert(iso + QStringLiteral("_rss_first_mb"), rounded(double(rssFirst) / 1024, 2));
            out.insert(iso + QStringLiteral("_rss_last_mb"), rounded(double(rssLast) / 1024, 2));
            out.insert(iso + QStringLiteral("_rss_growth_pct"),
                       rounded(100.0 * double(rssLast - rssFirst) / double(rssFirst), 2));
            out.insert(iso + QStringLiteral("_cycles_per_s"), rounded(double(cycles) / seconds, 1));
            out.insert(iso + QStringLiteral("_rss_mb_by_cycle"), curve);
            out.insert(iso + QStringLiteral("_hosts_alive_after"),
                       hostsRunning(*sha1) + hostsRunning(*sha2));
            out.insert(iso + QStringLiteral("_versions_mapped_after"),
                       filesMapped(workerPid, {*sha1, *sha2}));
        }
        stopCluster(c);
    }
    store.release(*url);
    QDir(dataDir).removeRecursively();
    return {};
}

Result<QJsonObject> redeployRep(WorkloadContext &ctx, int cycles, int rep)
{
    QJsonObject out;
    for (const QString &iso : {QStringLiteral("process"), QStringLiteral("inprocess")}) {
        if (Status s = redeployMode(ctx, cycles, rep, iso, out); !s.ok())
            return makeError(s.error());
    }
    out.insert(QStringLiteral("cycles"), cycles);
    return out;
}

} // namespace

bool runContainerRunOverhead(WorkloadContext &ctx)
{
    const int runs = ctx.options.quick ? 300 : 2000;
    const QJsonObject fixed{
        {QStringLiteral("target_process_overhead_ms"), 0.5},
        {QStringLiteral("target_inprocess_overhead_ms"), 0.05},
        {QStringLiteral("method"),
         QStringLiteral(
             "in the bench process: one TaskRunner + ContainerManager (fixture hello-v1.so "
             "deployed, fetches answered locally); %1 runs per mode one at a time, "
             "alternating builtin#echo and hello#noop; latency = submit -> terminal "
             "report; overhead = median(container) - median(builtin); 10% warm-up "
             "dropped")
             .arg(runs)},
    };
    const QJsonObject line = repeat(ctx, QStringLiteral("container_run_overhead"), fixed,
                                    [&](int) { return overheadRep(runs); });
    return !line.contains(QStringLiteral("errors"));
}

bool runContainerDeploy10(WorkloadContext &ctx)
{
    const int workers = ctx.options.quick ? 4 : 10;
    const QJsonObject fixed{
        {QStringLiteral("workers"), workers},
        {QStringLiteral("target_upload_to_all_ready_ms"), 2000},
        {QStringLiteral("method"),
         QStringLiteral("real kairosd --no-local-worker (store under test) + %1 real kairos-worker "
                        "processes on 127.0.0.1; fixture big.so (5 MiB, incompressible) uploaded "
                        "with container.upload.* in the server's chunk size, container.deploy to "
                        "all (process isolation); time = first upload call -> container.status "
                        "showing every worker READY on that version (polled every 5 ms)")
             .arg(workers)},
    };
    const QJsonObject line = repeat(ctx, QStringLiteral("container_deploy_10"), fixed,
                                    [&](int rep) { return deployRep(ctx, workers, rep); });
    return !line.contains(QStringLiteral("errors"));
}

bool runContainerRedeployRss(WorkloadContext &ctx)
{
    const int cycles = ctx.options.quick ? 40 : 200;
    const QJsonObject fixed{
        {QStringLiteral("cycles"), cycles},
        {QStringLiteral("target_rss_growth_pct"), 10},
        {QStringLiteral("method"),
         QStringLiteral("real kairosd + 1 real kairos-worker; %1 cycles per isolation mode of "
                        "container.deploy (hello 1.0 and 2.0 alternating) -> READY -> one run of "
                        "hello#greet whose result must name that version; worker VmRSS after the "
                        "first and the last cycle; hosts alive and versions mapped in the worker "
                        "counted after the last")
             .arg(cycles)},
    };
    const QJsonObject line = repeat(ctx, QStringLiteral("container_redeploy_rss"), fixed,
                                    [&](int rep) { return redeployRep(ctx, cycles, rep); });
    return !line.contains(QStringLiteral("errors"));
}

} // namespace kairos::bench
