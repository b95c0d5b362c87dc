#pragma once
// FakeWorkerFleet: many lightweight workers in one process, for measuring what a server spends
// on connected idle workers (server_200_idle_workers). Each one is a real protocol::Connection
// that logs in as the app `default` with its secret, sends a real `register` and then a
// `heartbeat` every `heartbeatMs` the server asked for, with the host's real metrics (sampled
// once a second for all, as kairos-worker samples them), and does nothing else: no runner, no
// lease. A few handshakes at a time, so the server's limit on connections in the handshake is
// never hit. Progress goes to a callback: "fake-workers: all N registered" once every worker
// got `registered`, "fake-workers: ID lost: REASON" for a connection that failed or closed.
// When every connection is gone (the server stopped) it exits the event loop with code 1.
//
// Not thread-safe: main thread only.

#include "bench_options.h"

#include <agent/metrics_sampler.h>
#include <core/worker_info.h>

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

#include <functional>
#include <vector>

namespace kairos::protocol {
class Connection;
struct Message;
} // namespace kairos::protocol

namespace kairos::bench {

class FakeWorkerFleet : public QObject {
public:
    struct Options {
        QString host;
        quint16 port = 0;
        QString secret;
        int count = 0;
        int maxHandshakes = 16; // connections in the handshake at once
    };
    FakeWorkerFleet(Options options, std::function<void(const QString &)> say,
                    QObject *parent = nullptr);
    ~FakeWorkerFleet() override;

    void start();
    int registered() const { return m_registered; }

private:
    struct Fake {
        QString id;
        protocol::Connection *conn = nullptr;
        QTimer *beat = nullptr;
        bool handshaking = false;
        bool registered = false;
        bool lost = false;
    };

    void launchMore();
    void onReady(int i);
    void onMessage(int i, const protocol::Message &m);
    void onGone(int i, const QString &reason);
    void heartbeat(int i);

    Options m_options;
    std::function<void(const QString &)> m_say;
    std::vector<Fake> m_fakes;
    int m_next = 0;
    int m_handshaking = 0;
    int m_registered = 0;
    int m_lost = 0;
    agent::MetricsSampler m_sampler;
    WorkerMetrics m_metrics;
    QTimer m_sampleTimer;
    QElapsedTimer m_clock;
};

// The `--fake-workers` sub-mode of kairos-bench: starts the fleet and returns 0, or prints why it
// cannot (bad --server, unreadable secret) and returns 2. The caller then runs the event loop
// until the process is terminated.
int startFakeWorkers(const BenchOptions &options, QObject *parent);

} // namespace kairos::bench
