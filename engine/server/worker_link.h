#pragma once
// WorkerLink: the server's view of one worker it can dispatch to. The local worker (a
// TaskRunner on its own thread inside this process) and remote workers (a protocol
// connection, issue 3) both implement it, so the dispatcher and the instance state machine
// never know which kind they talk to.
//
// Not thread-safe: used on the engine thread only; reports arrive there as signals.

#include <core/instance.h>
#include <worker/task.h>

#include <QObject>

namespace kairos::server {

class WorkerLink : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;
    ~WorkerLink() override = default;

    virtual QString id() const = 0;      // stable worker id, shown to users
    virtual QString address() const = 0; // where it runs ("local", "10.0.0.5:7071")
    virtual QString app() const = 0;
    virtual bool isAlive() const = 0;
    // How many more tasks it should be handed now (capacity minus what it holds).
    virtual int freeSlots() const = 0;

    virtual void dispatch(const QList<TaskSpec> &tasks) = 0;
    virtual void cancel(qint64 instanceId, int attempt, const QString &reason) = 0;

signals:
    // Status transitions (Running, then one terminal per task) and log lines, in batches.
    void reports(const QList<kairos::TaskReport> &reports);
    void logs(const QList<kairos::LogLine> &lines);
    void lost(const QString &reason);
};

} // namespace kairos::server
