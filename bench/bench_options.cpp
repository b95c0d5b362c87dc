#include "bench_options.h"

#include <QCommandLineParser>

namespace kairos::bench {
namespace {

Result<QList<int>> parseSizes(const QString &text, const QString &option)
{
    QList<int> sizes;
    for (const QString &part : text.split(u',', Qt::SkipEmptyParts)) {
        bool ok = false;
        const int n = part.trimmed().toInt(&ok);
        if (!ok || n < 1)
            return makeError(QStringLiteral("%1: expected positive numbers separated by commas, "
                                            "got \"%2\"")
                                 .arg(option, part));
        sizes << n;
    }
    if (sizes.isEmpty())
        return makeError(QStringLiteral("%1: expected at least one size").arg(option));
    return sizes;
}

Result<int> parseCount(const QString &text, const QString &option, int min)
{
    bool ok = false;
    const int n = text.toInt(&ok);
    if (!ok || n < min)
        return makeError(QStringLiteral("%1: expected a whole number >= %2, got \"%3\"")
                             .arg(option)
                             .arg(min)
                             .arg(text));
    return n;
}

} // namespace

QStringList BenchOptions::workloadNames()
{
    return {QStringLiteral("e2e_throughput"),
            QStringLiteral("trigger_latency"),
            QStringLiteral("trigger_lateness"),
            QStringLiteral("burst_10k"),
            QStringLiteral("idle_rss"),
            QStringLiteral("peers"),
            QStringLiteral("remote_e2e_throughput"),
            QStringLiteral("dispatch_to_start"),
            QStringLiteral("worker_idle_rss"),
            QStringLiteral("server_200_idle_workers"),
            QStringLiteral("map_reduce_1m"),
            QStringLiteral("broadcast_50"),
            QStringLiteral("container_run_overhead"),
            QStringLiteral("container_deploy_10"),
            QStringLiteral("container_redeploy_rss")};
}

bool BenchOptions::wants(const QString &workload) const
{
    if (workload == QLatin1String("peers"))
        return peers || only.contains(workload);
    return only.isEmpty() || only.contains(workload);
}

Result<BenchOptions> BenchOptions::parse(const QStringList &arguments)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Kairos benchmarks: prints one JSON object per line on stdout, progress on stderr. "
        "See docs/benchmarks.md."));
    p.addHelpOption();
    const QCommandLineOption only(QStringLiteral("only"),
                                  QStringLiteral("Run only these workloads: %1.")
                                      .arg(workloadNames().join(QStringLiteral(", "))),
                                  QStringLiteral("NAME[,NAME]"));
    const QCommandLineOption store(QStringLiteral("store"),
                                   QStringLiteral("sqlite, postgres or both (default both)."),
                                   QStringLiteral("STORE"), QStringLiteral("both"));
    const QCommandLineOption quick(QStringLiteral("quick"),
                                   QStringLiteral("Small sizes and 1 repetition: a smoke run of "
                                                  "about a minute."));
    const QCommandLineOption reps(QStringLiteral("reps"),
                                  QStringLiteral("Repetitions per workload (default 3; 1 with "
                                                 "--quick)."),
                                  QStringLiteral("N"));
    const QCommandLineOption out(QStringLiteral("out"),
                                 QStringLiteral("Also append the JSON lines to FILE."),
                                 QStringLiteral("FILE"));
    const QCommandLineOption peers(QStringLiteral("peers"),
                                   QStringLiteral("Also run BullMQ and graphile-worker (100k) in "
                                                  "this run; takes minutes."));
    const QCommandLineOption sizes(QStringLiteral("sizes"),
                                   QStringLiteral("e2e_throughput sizes (default 10000,100000)."),
                                   QStringLiteral("N[,N]"));
    const QCommandLineOption quietMax(
        QStringLiteral("quiet-max"),
        QStringLiteral("Before each repetition wait up to S seconds for other processes to use "
                       "less than 0.25 cores (default 60; 0 = do not wait)."),
        QStringLiteral("S"));
    const QCommandLineOption remoteSizes(
        QStringLiteral("remote-sizes"),
        QStringLiteral("remote_e2e_throughput sizes (default 100000; 5000 with --quick)."),
        QStringLiteral("N[,N]"));
    const QCommandLineOption workerThreads(
        QStringLiteral("worker-threads"),
        QStringLiteral("kairos-worker --threads in remote_e2e_throughput (default 64)."),
        QStringLiteral("N"));
    const QCommandLineOption idleWorkers(
        QStringLiteral("idle-workers"),
        QStringLiteral("Fake workers in server_200_idle_workers (default 200; 50 with --quick)."),
        QStringLiteral("N"));
    const QCommandLineOption fakeWorkers(
        QStringLiteral("fake-workers"),
        QStringLiteral("Sub-mode: run N fake workers against --server with --secret-file (app "
                       "'default') until terminated; no benchmarks."),
        QStringLiteral("N"));
    const QCommandLineOption server(QStringLiteral("server"),
                                    QStringLiteral("With --fake-workers: the server."),
                                    QStringLiteral("HOST:PORT"));
    const QCommandLineOption secretFile(
        QStringLiteral("secret-file"),
        QStringLiteral("With --fake-workers: the secret of the app 'default'."),
        QStringLiteral("FILE"));
    const QCommandLineOption mapSubtasks(
        QStringLiteral("map-subtasks"),
        QStringLiteral("Subtasks of map_reduce_1m (default 1000000; 20000 with --quick)."),
        QStringLiteral("N"));
    const QCommandLineOption broadcastWorkers(
        QStringLiteral("broadcast-workers"),
        QStringLiteral("kairos-worker processes in broadcast_50 (default 50; 8 with --quick)."),
        QStringLiteral("N"));
    p.addOptions({only, store, quick, reps, out, peers, sizes, quietMax, remoteSizes, workerThreads,
                  idleWorkers, fakeWorkers, server, secretFile, mapSubtasks, broadcastWorkers});
    if (!p.parse(arguments))
        return makeError(p.errorText());
    if (p.isSet(QStringLiteral("help"))) {
        p.showHelp(0); // exits
    }
    if (!p.positionalArguments().isEmpty())
        return makeError(
            QStringLiteral("unexpected argument \"%1\"").arg(p.positionalArguments().first()));

    BenchOptions o;
    o.quick = p.isSet(quick);
    o.peers = p.isSet(peers);
    if (o.quick) {
        o.reps = 1;
        o.e2eSizes = {5000};
        o.warmup = 500;
        o.latencyRuns = 50;
        o.latencyWarmup = 10;
        o.latenessJobs = 100;
        o.latenessSpreadS = 10;
        o.burstJobs = 1000;
        o.idleJobs = 1000;
        o.quietMaxS = 0;
        o.remoteSizes = {5000};
        o.dispatchSeconds = 3;
        o.idleWorkers = 50;
        o.idleMeasureS = 5;
        o.mapReduceSubtasks = 20000;
        o.broadcastWorkers = 8;
    }
    if (p.isSet(only)) {
        for (const QString &name : p.value(only).split(u',', Qt::SkipEmptyParts)) {
            if (!workloadNames().contains(name.trimmed()))
                return makeError(QStringLiteral("--only: unknown workload \"%1\"; expected one "
                                                "of %2")
                                     .arg(name, workloadNames().join(QStringLiteral(", "))));
            o.only << name.trimmed();
        }
    }
    const QString s = p.value(store);
    if (s == QLatin1String("both"))
        o.stores = {QStringLiteral("sqlite"), QStringLiteral("postgres")};
    else if (s == QLatin1String("sqlite") || s == QLatin1String("postgres"))
        o.stores = {s};
    else
        return makeError(
            QStringLiteral("--store: expected sqlite, postgres or both, got \"%1\"").arg(s));
    if (p.isSet(reps)) {
        auto n = parseCount(p.value(reps), QStringLiteral("--reps"), 1);
        if (!n)
            return makeError(n.error());
        o.reps = *n;
    }
    if (p.isSet(sizes)) {
        auto list = parseSizes(p.value(sizes), QStringLiteral("--sizes"));
        if (!list)
            return makeError(list.error());
        o.e2eSizes = *list;
    }
    if (p.isSet(quietMax)) {
        auto n = parseCount(p.value(quietMax), QStringLiteral("--quiet-max"), 0);
        if (!n)
            return makeError(n.error());
        o.quietMaxS = *n;
    }
    if (p.isSet(remoteSizes)) {
        auto list = parseSizes(p.value(remoteSizes), QStringLiteral("--remote-sizes"));
        if (!list)
            return makeError(list.error());
        o.remoteSizes = *list;
    }
    if (p.isSet(workerThreads)) {
        auto n = parseCount(p.value(workerThreads), QStringLiteral("--worker-threads"), 1);
        if (!n)
            return makeError(n.error());
        o.workerThreads = *n;
    }
    if (p.isSet(idleWorkers)) {
        auto n = parseCount(p.value(idleWorkers), QStringLiteral("--idle-workers"), 1);
        if (!n)
            return makeError(n.error());
        o.idleWorkers = *n;
    }
    if (p.isSet(mapSubtasks)) {
        auto n = parseCount(p.value(mapSubtasks), QStringLiteral("--map-subtasks"), 1);
        if (!n)
            return makeError(n.error());
        o.mapReduceSubtasks = *n;
    }
    if (p.isSet(broadcastWorkers)) {
        auto n = parseCount(p.value(broadcastWorkers), QStringLiteral("--broadcast-workers"), 1);
        if (!n)
            return makeError(n.error());
        o.broadcastWorkers = *n;
    }
    if (p.isSet(fakeWorkers)) {
        auto n = parseCount(p.value(fakeWorkers), QStringLiteral("--fake-workers"), 1);
        if (!n)
            return makeError(n.error());
        o.fakeWorkers = *n;
        o.fakeServer = p.value(server);
        o.fakeSecretFile = p.value(secretFile);
        if (o.fakeServer.isEmpty() || o.fakeSecretFile.isEmpty())
            return makeError(QStringLiteral("--fake-workers: expected --server HOST:PORT and "
                                            "--secret-file FILE as well"));
    }
    o.outFile = p.value(out);
    return o;
}

} // namespace kairos::bench
