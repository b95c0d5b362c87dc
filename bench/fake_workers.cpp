#include "fake_workers.h"

#include "remote_cluster.h"

#include <protocol/connection.h>
#include <worker/wire.h>

#include <QCoreApplication>
#include <QDir>
#include <QTextStream>

namespace kairos::bench {

FakeWorkerFleet::FakeWorkerFleet(Options options, std::function<void(const QString &)> say,
                                 QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
    , m_say(std::move(say))
    , m_sampler(QDir::tempPath())
{
    m_clock.start();
    m_metrics = m_sampler.sample(0, 0);
    // One sample a second for every worker: the values change like a real worker's do.
    m_sampleTimer.setInterval(1000);
    connect(&m_sampleTimer, &QTimer::timeout, this, [this] { m_metrics = m_sampler.sample(0, 0); });
    m_fakes.resize(size_t(m_options.count));
    for (int i = 0; i < m_options.count; ++i)
        m_fakes[size_t(i)].id = QStringLiteral("bench-fake-%1").arg(i + 1, 3, 10, QLatin1Char('0'));
}

FakeWorkerFleet::~FakeWorkerFleet() = default;

void FakeWorkerFleet::start()
{
    m_sampleTimer.start();
    launchMore();
}

void FakeWorkerFleet::launchMore()
{
    while (m_handshaking < m_options.maxHandshakes && m_next < m_options.count) {
        const int i = m_next++;
        Fake &f = m_fakes[size_t(i)];
        f.conn = new protocol::Connection(this);
        f.handshaking = true;
        ++m_handshaking;
        connect(f.conn, &protocol::Connection::ready, this, [this, i] { onReady(i); });
        connect(f.conn, &protocol::Connection::failed, this,
                [this, i](const QString &reason) { onGone(i, reason); });
        connect(f.conn, &protocol::Connection::closed, this,
                [this, i](const QString &reason) { onGone(i, reason); });
        connect(f.conn, &protocol::Connection::messageReceived, this,
                [this, i](const protocol::Message &m) { onMessage(i, m); });
        f.conn->connectToServer(m_options.host, m_options.port, QStringLiteral("worker"),
                                QStringLiteral("default"), m_options.secret);
    }
}

void FakeWorkerFleet::onReady(int i)
{
    Fake &f = m_fakes[size_t(i)];
    f.handshaking = false;
    --m_handshaking;
    wire::Registration r;
    r.workerId = f.id;
    r.address = QStringLiteral("127.0.0.1");
    r.tags = {QStringLiteral("fake")};
    r.capacity = 1;
    r.pid = QCoreApplication::applicationPid();
    r.version = QStringLiteral("kairos-bench fake worker");
    r.metrics = m_metrics;
    f.conn->send(wire::encodeRegister(r));
    launchMore();
}

void FakeWorkerFleet::onMessage(int i, const protocol::Message &m)
{
    Fake &f = m_fakes[size_t(i)];
    if (m.type == wire::type::Registered) {
        auto reply = wire::decodeRegistered(m);
        if (!reply) {
            m_say(QStringLiteral("fake-workers: %1 lost: bad 'registered': %2")
                      .arg(f.id, reply.error()));
            return;
        }
        if (f.registered)
            return;
        f.registered = true;
        f.beat = new QTimer(this);
        f.beat->setInterval(reply->heartbeatMs);
        connect(f.beat, &QTimer::timeout, this, [this, i] { heartbeat(i); });
        f.beat->start();
        if (++m_registered == m_options.count)
            m_say(QStringLiteral("fake-workers: all %1 registered").arg(m_options.count));
    } else if (m.type == wire::type::Dead) {
        m_say(QStringLiteral("fake-workers: %1 lost: declared dead: %2")
                  .arg(f.id, wire::decodeReason(m).ok() ? *wire::decodeReason(m) : QString()));
    } else if (m.type == protocol::msg::Error) {
        m_say(QStringLiteral("fake-workers: %1 got an error: %2")
                  .arg(f.id, m.body.value(QStringLiteral("reason")).toString()));
    }
    // heartbeatAck, dispatch, cancel: an idle fake worker answers nothing.
}

void FakeWorkerFleet::onGone(int i, const QString &reason)
{
    Fake &f = m_fakes[size_t(i)];
    if (f.lost)
        return;
    f.lost = true;
    if (f.beat)
        f.beat->stop();
    if (f.handshaking) {
        f.handshaking = false;
        --m_handshaking;
        launchMore();
    }
    m_say(QStringLiteral("fake-workers: %1 lost: %2").arg(f.id, reason));
    // Every connection gone (the server stopped): nothing left to do, and a fleet whose parent
    // bench died must not linger.
    if (++m_lost == m_options.count) {
        m_say(QStringLiteral("fake-workers: every connection is gone; exiting"));
        QCoreApplication::exit(1);
    }
}

void FakeWorkerFleet::heartbeat(int i)
{
    Fake &f = m_fakes[size_t(i)];
    if (f.lost || !f.conn->isReady())
        return;
    f.conn->send(wire::encodeHeartbeat(wire::Heartbeat{m_clock.elapsed(), m_metrics}));
}

int startFakeWorkers(const BenchOptions &options, QObject *parent)
{
    QTextStream err(stderr);
    const int colon = options.fakeServer.lastIndexOf(u':');
    bool ok = false;
    const uint port = colon > 0 ? options.fakeServer.mid(colon + 1).toUInt(&ok) : 0;
    if (!ok || port == 0 || port > 65535) {
        err << "kairos-bench: --server: expected HOST:PORT, got \"" << options.fakeServer << "\"\n";
        return 2;
    }
    const QString secret = readTrimmed(options.fakeSecretFile);
    if (secret.isEmpty()) {
        err << "kairos-bench: --secret-file: cannot read a secret from " << options.fakeSecretFile
            << '\n';
        return 2;
    }
    FakeWorkerFleet::Options o;
    o.host = options.fakeServer.left(colon);
    o.port = quint16(port);
    o.secret = secret;
    o.count = options.fakeWorkers;
    auto *fleet = new FakeWorkerFleet(
        o,
        [](const QString &line) {
            QTextStream out(stdout);
            out << line << Qt::endl;
        },
        parent);
    fleet->start();
    return 0;
}

} // namespace kairos::bench
