#pragma once
// Turns SIGTERM/SIGINT/SIGHUP into a Qt signal on the main thread (self-pipe + socket
// notifier), so daemons shut down through their normal, flushing code path.

#include <QObject>

class QSocketNotifier;

namespace kairos::app {

class UnixSignalWatcher : public QObject {
    Q_OBJECT
public:
    explicit UnixSignalWatcher(QObject *parent = nullptr);
    ~UnixSignalWatcher() override;

signals:
    void terminationRequested(int signalNumber);

private:
    QSocketNotifier *m_notifier = nullptr;
};

} // namespace kairos::app
