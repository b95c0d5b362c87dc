#pragma once
// WorkerService: the worker side of the protocol listener. The AdminService hands it every
// authenticated connection with the role "worker"; it puts a RemoteWorkerLink on it, gives the
// link to the Engine once the worker registered, and deletes the link when it is done (lost, or
// closed before registering). One listener thus serves administrators and workers.
//
// Not thread-safe: engine thread only (the thread of the listener and the engine).

#include "remote_worker_link.h"

#include <QObject>
#include <QSet>

namespace kairos::protocol {
class Connection;
}

namespace kairos::server {

class Engine;

class WorkerService : public QObject {
    Q_OBJECT
public:
    explicit WorkerService(Engine &engine, QObject *parent = nullptr);
    ~WorkerService() override;

    // Takes over an authenticated worker connection (role "worker"; its name is the app). The
    // connection stays owned by its listener.
    void adopt(protocol::Connection *connection);
    // Links of open worker connections, registered or not yet.
    int linkCount() const { return int(m_links.size()); }

private:
    Engine &m_engine;
    QSet<RemoteWorkerLink *> m_links;
};

} // namespace kairos::server
