#include "hosted_container.h"

#include "host_channel.h"
#include "wire.h"

#include <core/types.h>

#include <QCoreApplication>
#include <QHash>
#include <QLocalServer>
#include <QLocalSocket>
#include <QLoggingCategory>
#include <QPointer>
#include <QProcess>
#include <QRandomGenerator>
#include <QTimer>

#include <cstring>
#include <map>
#include <memory>
#include <signal.h>
#include <sys/socket.h>

Q_LOGGING_CATEGORY(lcHosted, "kairos.worker.hosted", QtWarningMsg)

namespace kairos {

class HostedRun;

namespace {

// After a host's exit, how long its channel may take to deliver what it sent before.
constexpr int kDrainMs = 1000;

// "SIGSEGV (Segmentation fault)".
QString signalText(int sig)
{
    const char *abbrev = sigabbrev_np(sig);
    const char *description = strsignal(sig);
    if (!abbrev)
        return QStringLiteral("signal %1").arg(sig);
    return QStringLiteral("SIG%1 (%2)")
        .arg(QString::fromLatin1(abbrev), QString::fromLocal8Bit(description));
}

// The pid of the process at the other end of a local socket (SO_PEERCRED), 0 when unknown.
qint64 peerPid(const QLocalSocket *socket)
{
    struct ucred credentials {};
    socklen_t size = sizeof credentials;
    const int fd = int(socket->socketDescriptor());
    if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &size) != 0)
        return 0;
    return credentials.pid;
}

} // namespace

// One run's bookkeeping. Owned by the container; it lives until the run is released (the host
// confirmed its processor returned, or the host is gone), which may be after the HostedRun
// object itself is destroyed.
struct RunSlot {
    quint64 id = 0;
    TaskSpec spec;            // what is dispatched (config.ref names the processor)
    HostedRun *run = nullptr; // null once the run object is gone
    int host = 0;             // serial of the host it runs in; 0 until started
    bool dispatched = false;  // sent to the host
    bool finished = false;    // its result was reported (or its run object is gone)
    bool canceled = false;    // a cancel went to the host: wait for `released`
    QString cancelReason;
};

// One kairos-container-host process.
struct HostProcess {
    int serial = 0;
    QProcess *process = nullptr;
    QLocalServer *server = nullptr;
    HostChannel *channel = nullptr;
    qint64 pid = 0;
    bool ready = false;       // said hello
    bool retired = false;     // takes no new runs
    bool quitting = false;    // asked or made to go: its exit fails nothing
    bool processGone = false; // exited; what it sent before is still being read
    QString exitReason;       // why it exited (valid once processGone)
    QString failure; // why we stopped it (load failure, no hello, broken channel): its exit says so
    QList<quint64> runs; // unreleased runs in it (slot ids)
    // Output of this turn, sent together (dispatches first, so a cancel follows its dispatch).
    QList<quint64> waiting; // slots not yet dispatched (sent once the host is ready)
    QList<TaskCallReply> replies;
    QList<wire::KeyReason> cancels;
    bool flushScheduled = false;
};

// A run of a processor in a host: a proxy of the run on the other side of the channel.
class HostedRun final : public ProcessorRun {
public:
    HostedRun(const TaskSpec &spec, HostedContainer *container, RunSlot *slot)
        : ProcessorRun(spec)
        , m_container(container)
        , m_slot(slot)
    {}
    ~HostedRun() override;

    void start() override;
    void cancel(const QString &reason) override;
    void callAnswered(const TaskCallReply &reply) override;

    // For the container.
    void deliverLog(LogStream stream, const QString &text) { log(stream, text); }
    void deliverFinish(InstanceStatus status, const QString &result) { finish(status, result); }
    // Re-sends a call of the host's processor as this run's; false when the run has finished.
    bool forwardCall(const TaskCall &call)
    {
        const quint64 hostCallId = call.callId;
        const quint64 id = requestCall(call);
        if (id == 0)
            return false;
        m_calls.insert(id, hostCallId);
        return true;
    }
    void detach() { m_slot = nullptr; }

private:
    QPointer<HostedContainer> m_container;
    RunSlot *m_slot = nullptr; // null once released (then nothing of the host is ours any more)
    QHash<quint64, quint64> m_calls; // our call id -> the host's
};

struct HostedContainer::Impl {
    HostedContainer *q = nullptr;
    QStringList processors;
    std::map<int, std::unique_ptr<HostProcess>> hosts; // by serial
    int current = 0;                                   // serial of the host for new runs
    int nextSerial = 1;
    std::map<quint64, std::unique_ptr<RunSlot>> openRuns; // unreleased runs, by id
    quint64 nextSlot = 1;
    bool loading = false;   // load() waits for the first host's hello
    bool unloading = false; // unloadWhenDrained() called
    bool stopping = false;  // the hosts were told to go
    bool unloadedEmitted = false;
    int helloTimeoutMs = kHelloTimeoutMs;

    HostProcess *host(int serial) const
    {
        const auto it = hosts.find(serial);
        return it == hosts.end() ? nullptr : it->second.get();
    }
    RunSlot *slot(quint64 id) const
    {
        const auto it = openRuns.find(id);
        return it == openRuns.end() ? nullptr : it->second.get();
    }

    HostProcess *startHost();
    HostProcess *currentHost();
    void onConnection(int serial);
    void onMessage(int serial, const protocol::Message &m);
    void onHello(HostProcess *h, const protocol::Message &m);
    void onStatus(HostProcess *h, const protocol::Message &m);
    void onLogs(HostProcess *h, const protocol::Message &m);
    void onCalls(HostProcess *h, const protocol::Message &m);
    void onReleased(HostProcess *h, const protocol::Message &m);
    void failBeforeReady(HostProcess *h, const QString &reason);
    void onExited(int serial, const QString &reason);
    QString exitReason(const HostProcess *h, int code, QProcess::ExitStatus status) const;

    void startRun(RunSlot *s);
    void cancelRun(RunSlot *s, const QString &reason);
    void runDestroyed(RunSlot *s);
    void sendCallReply(RunSlot *s, const TaskCallReply &reply);
    RunSlot *findRun(const HostProcess *h, const TaskKey &key) const;

    void finishSlot(RunSlot *s, InstanceStatus status, const QString &result);
    void release(quint64 id);
    void sendCancel(HostProcess *h, RunSlot *s, const QString &reason);
    void retire(HostProcess *h, const QString &why);
    void killIfIdleRetired(HostProcess *h);
    void stopHost(HostProcess *h);
    void checkDrained();

    void scheduleFlush(HostProcess *h);
    void flush(int serial);
};

// --- HostedRun --------------------------------------------------------------------------------

HostedRun::~HostedRun()
{
    if (m_container && m_slot)
        m_container->d->runDestroyed(m_slot);
}

void HostedRun::start()
{
    if (!m_container || !m_slot) {
        finish(InstanceStatus::Failed, QStringLiteral("the container was unloaded"));
        return;
    }
    m_container->d->startRun(m_slot);
}

void HostedRun::cancel(const QString &reason)
{
    if (!beginStop())
        return;
    if (!m_container || !m_slot) {
        finish(InstanceStatus::Canceled, reason);
        return;
    }
    m_container->d->cancelRun(m_slot, reason);
}

void HostedRun::callAnswered(const TaskCallReply &reply)
{
    const auto it = m_calls.constFind(reply.callId);
    if (it == m_calls.constEnd())
        return;
    TaskCallReply forward = reply;
    forward.callId = it.value();
    m_calls.erase(it);
    if (m_container && m_slot)
        m_container->d->sendCallReply(m_slot, forward);
}

// --- hosts ------------------------------------------------------------------------------------

HostProcess *HostedContainer::Impl::currentHost()
{
    if (HostProcess *h = host(current); h && !h->retired && !h->quitting)
        return h;
    current = 0;
    HostProcess *h = startHost();
    current = h->serial;
    return h;
}

HostProcess *HostedContainer::Impl::startHost()
{
    const LoadedContainerSpec &spec = q->spec();
    auto owned = std::make_unique<HostProcess>();
    HostProcess *h = owned.get();
    h->serial = nextSerial++;
    const int serial = h->serial;
    hosts.emplace(serial, std::move(owned));

    h->server = new QLocalServer(q);
    h->server->setSocketOptions(QLocalServer::UserAccessOption);
    const QString name =
        QStringLiteral("kairos-host-%1-%2-%3")
            .arg(QCoreApplication::applicationPid())
            .arg(serial)
            .arg(QRandomGenerator::global()->generate64(), 16, 16, QLatin1Char('0'));
    QObject::connect(h->server, &QLocalServer::newConnection, q,
                     [this, serial] { onConnection(serial); });
    if (!h->server->listen(name)) {
        const QString reason = QStringLiteral("cannot start the container host of %1: no local "
                                              "socket (%2)")
                                   .arg(q->describe(), h->server->errorString());
        // Reported like any exit, after the caller has bound its run to this host.
        QMetaObject::invokeMethod(
            q, [this, serial, reason] { onExited(serial, reason); }, Qt::QueuedConnection);
        return h;
    }

    h->process = new QProcess(q);
    // Container code's stdout goes nowhere (nobody reads it); stderr (crash messages, qWarning)
    // goes where the worker's goes.
    h->process->setProcessChannelMode(QProcess::ForwardedErrorChannel);
    h->process->setStandardOutputFile(QProcess::nullDevice());
    h->process->setStandardInputFile(QProcess::nullDevice());
    QObject::connect(h->process, &QProcess::finished, q,
                     [this, serial](int code, QProcess::ExitStatus status) {
                         HostProcess *hp = host(serial);
                         if (!hp)
                             return;
                         hp->processGone = true;
                         hp->exitReason = exitReason(hp, code, status);
                         if (!hp->channel || !hp->channel->isOpen()) {
                             onExited(serial, hp->exitReason);
                             return;
                         }
                         // What it sent before it went (a loadFailed, the last reports) may
                         // still be unread: the channel's close comes after it. Not for long.
                         QTimer::singleShot(kDrainMs, q, [this, serial] {
                             if (HostProcess *gone = host(serial))
                                 onExited(serial, gone->exitReason);
                         });
                     });
    QObject::connect(
        h->process, &QProcess::errorOccurred, q, [this, serial](QProcess::ProcessError error) {
            HostProcess *hp = host(serial);
            if (!hp || error != QProcess::FailedToStart)
                return; // the other errors come with finished()
            const QString reason =
                QStringLiteral("cannot start the container host '%1' for %2: %3")
                    .arg(q->spec().hostProgram, q->describe(), hp->process->errorString());
            // Queued: this may be emitted inside start(), while startHost() still uses the host.
            QMetaObject::invokeMethod(
                q, [this, serial, reason] { onExited(serial, reason); }, Qt::QueuedConnection);
        });
    QTimer::singleShot(helloTimeoutMs, h->process, [this, serial] {
        HostProcess *hp = host(serial);
        if (hp && !hp->ready && hp->failure.isEmpty())
            failBeforeReady(hp, QStringLiteral("container host did not start within %1 s")
                                    .arg(helloTimeoutMs / 1000.0));
    });
    qCDebug(lcHosted).noquote() << "starting a container host for" << q->describe();
    h->process->start(spec.hostProgram,
                      {QStringLiteral("--library"), spec.file, QStringLiteral("--socket"),
                       h->server->fullServerName(), QStringLiteral("--name"), spec.container,
                       QStringLiteral("--label"), q->describe(), QStringLiteral("--threads"),
                       QString::number(qMax(1, spec.hostThreads))});
    h->pid = h->process->processId();
    return h;
}

void HostedContainer::Impl::onConnection(int serial)
{
    HostProcess *h = host(serial);
    if (!h)
        return;
    while (QLocalSocket *socket = h->server->nextPendingConnection()) {
        // Only our child may speak for it: the socket is user-only, but any process of the
        // user could connect first.
        const qint64 pid = peerPid(socket);
        if (h->channel || pid == 0 || pid != h->pid) {
            qCWarning(lcHosted) << "refused a connection to the container host socket from pid"
                                << pid << "(expected" << h->pid << ")";
            socket->abort();
            socket->deleteLater();
            continue;
        }
        h->channel = new HostChannel(socket, q);
        QObject::connect(h->channel, &HostChannel::messageReceived, q,
                         [this, serial](const protocol::Message &m) { onMessage(serial, m); });
        QObject::connect(
            h->channel, &HostChannel::errorOccurred, q, [this, serial](const QString &reason) {
                HostProcess *hp = host(serial);
                if (!hp)
                    return;
                qCWarning(lcHosted).noquote() << "container host" << hp->pid << "of"
                                              << q->describe() << "sent garbage:" << reason;
                if (hp->failure.isEmpty() && !hp->quitting)
                    hp->failure = QStringLiteral("the container host of %1 sent a bad message "
                                                 "(%2) and was stopped")
                                      .arg(q->describe(), reason);
            });
        QObject::connect(h->channel, &HostChannel::closed, q, [this, serial] {
            HostProcess *hp = host(serial);
            if (!hp)
                return;
            if (hp->processGone) {
                onExited(serial, hp->exitReason); // everything it sent has been read
                return;
            }
            // A host without its channel is of no use: make sure it goes (its exit reports).
            // A crashing host closes its end first: give its exit a moment to be reported, so
            // the run fails naming the signal rather than the closed connection.
            if (hp->process && hp->process->state() != QProcess::NotRunning && !hp->quitting) {
                if (hp->serial == current)
                    current = 0;
                QTimer::singleShot(kDrainMs, hp->process, [this, serial] {
                    HostProcess *alive = host(serial);
                    if (!alive || alive->processGone
                        || alive->process->state() == QProcess::NotRunning)
                        return;
                    if (alive->failure.isEmpty())
                        alive->failure = QStringLiteral("the connection to the container host of "
                                                        "%1 closed")
                                             .arg(q->describe());
                    alive->process->kill();
                });
            }
        });
        // One connection per host: stop listening (this removes the socket file too).
        h->server->close();
    }
}

void HostedContainer::Impl::onMessage(int serial, const protocol::Message &m)
{
    HostProcess *h = host(serial);
    if (!h)
        return;
    if (m.type == hostmsg::Hello)
        onHello(h, m);
    else if (m.type == hostmsg::LoadFailed) {
        Result<QString> reason = hostmsg::decodeLoadFailed(m);
        failBeforeReady(h, reason ? *reason : reason.error());
    } else if (m.type == wire::type::Status)
        onStatus(h, m);
    else if (m.type == wire::type::Logs)
        onLogs(h, m);
    else if (m.type == wire::type::Call)
        onCalls(h, m);
    else if (m.type == hostmsg::Released)
        onReleased(h, m);
    else
        qCDebug(lcHosted) << "ignored a" << m.type << "message from a container host";
}

void HostedContainer::Impl::onHello(HostProcess *h, const protocol::Message &m)
{
    Result<hostmsg::HostHello> hello = hostmsg::decodeHello(m);
    if (!hello) {
        failBeforeReady(h, QStringLiteral("the container host of %1 sent a bad hello: %2")
                               .arg(q->describe(), hello.error()));
        return;
    }
    if (h->ready || !h->failure.isEmpty())
        return;
    h->ready = true;
    const int serial = h->serial;
    const QPointer<HostedContainer> self(q);
    if (loading) {
        loading = false;
        processors = hello->processors;
        q->m_loaded = true;
        emit q->loaded();
        if (!self)
            return;
    }
    emit q->hostStarted(h->pid);
    if (!self)
        return;
    if (HostProcess *hp = host(serial); hp && !hp->waiting.isEmpty())
        scheduleFlush(hp);
}

void HostedContainer::Impl::onStatus(HostProcess *h, const protocol::Message &m)
{
    const wire::Batch<TaskReport> batch = wire::decodeStatus(m);
    for (const QString &e : batch.errors)
        qCWarning(lcHosted).noquote() << "bad status from a container host:" << e;
    const int serial = h->serial;
    const QPointer<HostedContainer> self(q);
    for (const TaskReport &r : batch.items) {
        if (r.status == InstanceStatus::Running)
            continue;
        HostProcess *hp = host(serial);
        if (!hp)
            return;
        RunSlot *s = findRun(hp, taskKeyOf(r));
        if (!s || s->finished)
            continue;
        const quint64 id = s->id;
        const bool canceled = s->canceled;
        finishSlot(s, r.status, r.result);
        if (!self)
            return;
        // A run that was not canceled has returned: nothing more will come of it.
        if (!canceled)
            release(id);
        if (!self)
            return;
    }
}

void HostedContainer::Impl::onLogs(HostProcess *h, const protocol::Message &m)
{
    const wire::Batch<LogLine> batch = wire::decodeLogs(m);
    const int serial = h->serial;
    const QPointer<HostedContainer> self(q);
    for (const LogLine &line : batch.items) {
        HostProcess *hp = self ? host(serial) : nullptr;
        if (!hp)
            return;
        // A line carries no task attempt: it belongs to the unfinished run of that task.
        for (quint64 id : std::as_const(hp->runs)) {
            RunSlot *s = slot(id);
            if (s && !s->finished && s->run && s->spec.instanceId == line.instanceId
                && s->spec.attempt == line.attempt && s->spec.taskId == line.taskId) {
                s->run->deliverLog(line.stream, line.text);
                break;
            }
        }
    }
}

void HostedContainer::Impl::onCalls(HostProcess *h, const protocol::Message &m)
{
    wire::CallBatch batch = wire::decodeCall(m);
    QList<TaskCallReply> refused = batch.refused;
    const int serial = h->serial;
    const QPointer<HostedContainer> self(q);
    for (const TaskCall &call : std::as_const(batch.items)) {
        HostProcess *hp = self ? host(serial) : nullptr;
        if (!hp)
            return;
        RunSlot *s = findRun(hp, call.key);
        if (!s || s->finished || !s->run || !s->run->forwardCall(call))
            refused << TaskCallReply{call.callId, QStringLiteral("canceled"), {}, false};
    }
    if (HostProcess *hp = self ? host(serial) : nullptr; hp && !refused.isEmpty()) {
        hp->replies << refused;
        scheduleFlush(hp);
    }
}

void HostedContainer::Impl::onReleased(HostProcess *h, const protocol::Message &m)
{
    Result<QList<TaskKey>> keys = hostmsg::decodeReleased(m);
    if (!keys) {
        qCWarning(lcHosted).noquote() << "bad released from a container host:" << keys.error();
        return;
    }
    const int serial = h->serial;
    const QPointer<HostedContainer> self(q);
    for (const TaskKey &key : std::as_const(*keys)) {
        HostProcess *hp = self ? host(serial) : nullptr;
        if (!hp)
            return;
        RunSlot *s = findRun(hp, key);
        if (!s)
            continue;
        const quint64 id = s->id;
        if (!s->finished)
            finishSlot(s, InstanceStatus::Canceled, s->cancelReason);
        if (self)
            release(id);
    }
}

// Stops a host that cannot serve (load failure, no hello, bad hello); its exit reports `reason`.
void HostedContainer::Impl::failBeforeReady(HostProcess *h, const QString &reason)
{
    if (!h->failure.isEmpty())
        return;
    h->failure = reason;
    if (h->serial == current)
        current = 0;
    if (h->process && h->process->state() != QProcess::NotRunning)
        h->process->kill();
    else
        onExited(h->serial, reason);
}

QString HostedContainer::Impl::exitReason(const HostProcess *h, int code,
                                          QProcess::ExitStatus status) const
{
    if (!h->failure.isEmpty())
        return h->failure;
    const QString where = h->ready ? QStringLiteral("in") : QStringLiteral("while loading");
    if (status == QProcess::CrashExit)
        return QStringLiteral("container host crashed: %1 %2 %3")
            .arg(signalText(code), where, q->describe());
    return QStringLiteral("container host exited with code %1 %2 %3")
        .arg(code)
        .arg(where, q->describe());
}

void HostedContainer::Impl::onExited(int serial, const QString &reason)
{
    HostProcess *h = host(serial);
    if (!h)
        return;
    const qint64 pid = h->pid;
    const bool wasQuitting = h->quitting;
    qCDebug(lcHosted).noquote() << "container host" << pid << "of" << q->describe()
                                << "is gone:" << reason;
    if (current == serial)
        current = 0;
    // Take it out first: whatever the signals below trigger, this host is gone.
    std::unique_ptr<HostProcess> gone = std::move(hosts.at(serial));
    hosts.erase(serial);
    if (gone->channel) {
        gone->channel->disconnect(q);
        gone->channel->deleteLater();
    }
    if (gone->server)
        gone->server->deleteLater();
    if (gone->process) {
        gone->process->disconnect(q);
        gone->process->deleteLater();
    }

    const QPointer<HostedContainer> self(q);
    if (loading) {
        loading = false;
        emit q->loadFailed(reason);
        if (!self)
            return;
    }
    const QString runReason =
        wasQuitting ? QStringLiteral("the container host of %1 was stopped").arg(q->describe())
                    : reason;
    for (quint64 id : std::as_const(gone->runs)) {
        if (RunSlot *s = slot(id); s && !s->finished) {
            finishSlot(s, InstanceStatus::Failed, runReason);
            if (!self)
                return;
        }
    }
    for (quint64 id : std::as_const(gone->runs)) {
        release(id);
        if (!self)
            return;
    }
    if (pid > 0)
        emit q->hostExited(pid);
    if (!self)
        return;
    checkDrained();
}

void HostedContainer::Impl::retire(HostProcess *h, const QString &why)
{
    if (h->retired)
        return;
    h->retired = true;
    if (current == h->serial)
        current = 0;
    qCWarning(lcHosted).noquote() << "container host" << h->pid << "of" << q->describe()
                                  << "retired:" << why;
    const int serial = h->serial;
    const QPointer<HostedContainer> self(q);
    emit q->hostRetired(h->pid);
    if (!self)
        return;
    if (HostProcess *hp = host(serial))
        killIfIdleRetired(hp);
}

// A retired host goes once every run in it has ended (the hung ones never will by themselves).
void HostedContainer::Impl::killIfIdleRetired(HostProcess *h)
{
    if (!h->retired || h->quitting)
        return;
    for (quint64 id : std::as_const(h->runs)) {
        if (RunSlot *s = slot(id); s && !s->finished)
            return;
    }
    h->quitting = true;
    if (h->process && h->process->state() != QProcess::NotRunning)
        h->process->kill();
    else
        onExited(h->serial, QString());
}

void HostedContainer::Impl::stopHost(HostProcess *h)
{
    if (h->quitting)
        return;
    h->quitting = true;
    if (h->channel && h->channel->isOpen()) {
        h->channel->send(hostmsg::encodeQuit());
        h->channel->close();
    }
    if (!h->process || h->process->state() == QProcess::NotRunning) {
        const int serial = h->serial;
        QMetaObject::invokeMethod(
            q, [this, serial] { onExited(serial, QString()); }, Qt::QueuedConnection);
        return;
    }
    QProcess *process = h->process;
    QTimer::singleShot(q->spec().quitGraceMs, process, [process] {
        if (process->state() != QProcess::NotRunning)
            process->kill();
    });
}

void HostedContainer::Impl::checkDrained()
{
    if (!unloading || !openRuns.empty())
        return;
    if (!stopping) {
        stopping = true;
        current = 0;
        std::vector<int> serials;
        for (const auto &[serial, h] : hosts)
            serials.push_back(serial);
        for (int serial : serials) {
            if (HostProcess *h = host(serial))
                stopHost(h);
        }
    }
    if (hosts.empty() && !unloadedEmitted) {
        unloadedEmitted = true;
        q->m_loaded = false;
        emit q->unloaded();
    }
}

// --- runs -------------------------------------------------------------------------------------

RunSlot *HostedContainer::Impl::findRun(const HostProcess *h, const TaskKey &key) const
{
    for (quint64 id : h->runs) {
        RunSlot *s = slot(id);
        if (s && taskKeyOf(s->spec) == key)
            return s;
    }
    return nullptr;
}

void HostedContainer::Impl::startRun(RunSlot *s)
{
    if (s->host != 0 || s->finished)
        return;
    HostProcess *h = currentHost();
    // A run of the same key still in that host (canceled, not yet returned) would make its
    // reports ambiguous: that one gets a fresh host.
    if (findRun(h, taskKeyOf(s->spec))) {
        retire(h, QStringLiteral("a run of the same task is still active in it"));
        h = currentHost();
    }
    s->host = h->serial;
    h->runs << s->id;
    h->waiting << s->id;
    if (h->ready)
        scheduleFlush(h);
}

void HostedContainer::Impl::cancelRun(RunSlot *s, const QString &reason)
{
    if (s->finished)
        return;
    HostProcess *h = host(s->host);
    if (!s->dispatched || !h) {
        // Not in a host yet: nothing runs, nothing to wait for.
        const quint64 id = s->id;
        const QPointer<HostedContainer> self(q);
        finishSlot(s, InstanceStatus::Canceled, reason);
        if (self)
            release(id);
        return;
    }
    sendCancel(h, s, reason);
    const quint64 id = s->id;
    // The host answers at once (its run finishes on cancel); if it does not, do not wait.
    QTimer::singleShot(kCancelConfirmMs, q, [this, id] {
        if (RunSlot *rs = slot(id); rs && !rs->finished)
            finishSlot(rs, InstanceStatus::Canceled, rs->cancelReason);
    });
}

// Asks the host to stop a dispatched run; the run stays busy until the host says `released`,
// and if that takes longer than hangGraceMs the host is presumed stuck.
void HostedContainer::Impl::sendCancel(HostProcess *h, RunSlot *s, const QString &reason)
{
    s->canceled = true;
    s->cancelReason = reason;
    h->cancels << wire::KeyReason{taskKeyOf(s->spec), reason};
    scheduleFlush(h);
    const quint64 id = s->id;
    QTimer::singleShot(q->spec().hangGraceMs, q, [this, id] {
        RunSlot *rs = slot(id);
        HostProcess *hp = rs ? host(rs->host) : nullptr;
        if (hp)
            retire(hp, QStringLiteral("a canceled processor did not return within %1 ms")
                           .arg(q->spec().hangGraceMs));
    });
}

void HostedContainer::Impl::runDestroyed(RunSlot *s)
{
    s->run = nullptr;
    if (s->finished)
        return;
    s->finished = true;
    HostProcess *h = host(s->host);
    if (h && s->dispatched) {
        // Destroyed while running: stop it in the host like a cancel (it stays busy until the
        // host has released it).
        sendCancel(h, s, QStringLiteral("canceled"));
        killIfIdleRetired(h);
        return;
    }
    release(s->id);
}

void HostedContainer::Impl::sendCallReply(RunSlot *s, const TaskCallReply &reply)
{
    HostProcess *h = host(s->host);
    if (!h)
        return;
    h->replies << reply;
    scheduleFlush(h);
}

void HostedContainer::Impl::finishSlot(RunSlot *s, InstanceStatus status, const QString &result)
{
    if (s->finished)
        return;
    s->finished = true;
    const int serial = s->host;
    const QPointer<HostedContainer> self(q);
    if (HostedRun *run = s->run)
        run->deliverFinish(status, result);
    if (!self)
        return;
    if (HostProcess *h = host(serial))
        killIfIdleRetired(h);
}

void HostedContainer::Impl::release(quint64 id)
{
    const auto it = openRuns.find(id);
    if (it == openRuns.end())
        return;
    std::unique_ptr<RunSlot> s = std::move(it->second);
    openRuns.erase(it);
    if (s->run)
        s->run->detach();
    if (HostProcess *h = host(s->host)) {
        h->runs.removeOne(id);
        h->waiting.removeOne(id);
    }
    const QPointer<HostedContainer> self(q);
    emit q->busyChanged(int(openRuns.size()));
    if (self)
        checkDrained();
}

void HostedContainer::Impl::scheduleFlush(HostProcess *h)
{
    if (h->flushScheduled)
        return;
    h->flushScheduled = true;
    const int serial = h->serial;
    QMetaObject::invokeMethod(
        q, [this, serial] { flush(serial); }, Qt::QueuedConnection);
}

void HostedContainer::Impl::flush(int serial)
{
    HostProcess *h = host(serial);
    if (!h)
        return;
    h->flushScheduled = false;
    if (!h->ready || !h->channel || !h->channel->isOpen())
        return; // sent once it is (a host that never is fails its runs at its exit)
    QList<TaskSpec> dispatches;
    for (quint64 id : std::as_const(h->waiting)) {
        RunSlot *s = slot(id);
        if (s && !s->finished && !s->dispatched) {
            s->dispatched = true;
            dispatches << s->spec;
        }
    }
    h->waiting.clear();
    for (const QList<TaskSpec> &part : wire::splitDispatchBatch(dispatches))
        h->channel->send(wire::encodeDispatch(part));
    if (!h->replies.isEmpty()) {
        for (const QList<TaskCallReply> &part : wire::splitCallReplyBatch(h->replies))
            h->channel->send(wire::encodeCallReply(part));
        h->replies.clear();
    }
    if (!h->cancels.isEmpty()) {
        h->channel->send(wire::encodeCancel(h->cancels));
        h->cancels.clear();
    }
}

// --- HostedContainer --------------------------------------------------------------------------

HostedContainer::HostedContainer(LoadedContainerSpec spec, QObject *parent)
    : LoadedContainer(std::move(spec), parent)
    , d(std::make_unique<Impl>())
{
    d->q = this;
}

HostedContainer::~HostedContainer()
{
    // Runs still open fail now; none of them may reach back into a container being destroyed.
    const QString reason = QStringLiteral("the container %1 was unloaded").arg(describe());
    std::vector<QPointer<HostedRun>> open;
    for (auto &[id, s] : d->openRuns) {
        if (s->run) {
            s->run->detach();
            if (!s->finished)
                open.emplace_back(s->run);
        }
    }
    for (auto &[serial, h] : d->hosts) {
        if (h->channel)
            h->channel->disconnect(this);
        if (h->process) {
            h->process->disconnect(this);
            if (h->process->state() != QProcess::NotRunning) {
                h->process->kill();
                h->process->waitForFinished(2000);
            }
        }
    }
    d->hosts.clear();
    d->openRuns.clear();
    for (const QPointer<HostedRun> &run : open) {
        if (run)
            run->deliverFinish(InstanceStatus::Failed, reason);
    }
}

void HostedContainer::load()
{
    if (d->loading || m_loaded || d->unloading || !d->hosts.empty())
        return;
    d->loading = true;
    d->currentHost();
}

QStringList HostedContainer::processorNames() const
{
    return d->processors;
}

Result<std::unique_ptr<ProcessorRun>> HostedContainer::createRun(const TaskSpec &spec,
                                                                 const QString &processor,
                                                                 const ProcessorContext &context)
{
    Q_UNUSED(context); // the host has its own pool
    if (!m_loaded)
        return makeError(QStringLiteral("container %1 is not loaded").arg(describe()));
    if (d->unloading)
        return makeError(QStringLiteral("container %1 is being unloaded").arg(describe()));
    if (!d->processors.contains(processor))
        return makeError(QStringLiteral("container %1 has no processor '%2' (it has: %3)")
                             .arg(describe(), processor, d->processors.join(QStringLiteral(", "))));
    auto s = std::make_unique<RunSlot>();
    s->id = d->nextSlot++;
    s->spec = spec;
    // The host finds the processor by the ref, whatever the spec carried.
    s->spec.config.insert(QStringLiteral("ref"), QStringLiteral("%1#%2").arg(
                                                     LoadedContainer::spec().container, processor));
    auto run = std::make_unique<HostedRun>(spec, this, s.get());
    s->run = run.get();
    d->openRuns.emplace(s->id, std::move(s));
    // A crashed or retired host is replaced now, so the new one is starting while the run waits
    // for its turn.
    d->currentHost();
    emit busyChanged(busyCount());
    return std::unique_ptr<ProcessorRun>(std::move(run));
}

int HostedContainer::busyCount() const
{
    return int(d->openRuns.size());
}

void HostedContainer::unloadWhenDrained()
{
    if (d->unloading)
        return;
    d->unloading = true;
    d->checkDrained();
}

void HostedContainer::setHelloTimeoutMs(int ms)
{
    d->helloTimeoutMs = qMax(1, ms);
}

qint64 HostedContainer::currentHostPid() const
{
    const HostProcess *h = d->host(d->current);
    return h ? h->pid : 0;
}

int HostedContainer::liveHostCount() const
{
    int n = 0;
    for (const auto &[serial, h] : d->hosts)
        n += h->process && h->process->state() != QProcess::NotRunning ? 1 : 0;
    return n;
}

} // namespace kairos
