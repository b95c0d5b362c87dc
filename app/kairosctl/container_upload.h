#pragma once
// ContainerUpload: sends one container file to the server over a Client, as `kairosctl container
// upload` does — container.upload.begin with the file's size and SHA-256, then the bytes in
// chunks of the size the server asks for (base64, a few in flight so a remote server is kept
// busy; one connection keeps them in order), then container.upload.finish, whose reply is the
// stored version. The file is read a chunk at a time, so a 256 MiB container never sits in
// memory whole. The server checks the digest and the library; this class checks only what the
// server acknowledges.
//
// Threading: create, use and destroy on the Client's thread; it never blocks except to read the
// file.

#include <client/client.h>
#include <core/result.h>

#include <QFile>
#include <QJsonObject>
#include <QObject>

#include <functional>

namespace kairos::cli {

class ContainerUpload : public QObject {
    Q_OBJECT
public:
    using Progress = std::function<void(qint64 acknowledged, qint64 total)>;
    using Done = std::function<void(Result<QJsonObject> version)>;

    // Chunks sent before the first is acknowledged.
    static constexpr int kWindow = 4;
    // Whatever the server asks for: a chunk grows by a third in base64 and must fit a frame.
    static constexpr qint64 kMaxChunkBytes = 4 * 1024 * 1024;

    ContainerUpload(client::Client &client, QString path, QObject *parent = nullptr);

    // Opens the file and reads its size and SHA-256. Errors name the file ("hello.so: cannot
    // read: No such file or directory", "hello.so: the file is empty").
    Status open();
    qint64 size() const { return m_size; }
    QString sha256() const { return m_sha256; }

    // Uploads the opened file; `progress` after each acknowledged chunk, `done` exactly once
    // (with the container.upload.finish reply, or the first error).
    void start(Progress progress, Done done);

private:
    void sendChunks();
    void onChunkReply(qint64 offset, qint64 length, const Result<QJsonObject> &reply);
    void finishUpload();
    void end(Result<QJsonObject> result);

    client::Client &m_client;
    QString m_path;
    QFile m_file;
    qint64 m_size = 0;
    QString m_sha256;
    qint64 m_uploadId = 0;
    qint64 m_chunkBytes = 0;
    qint64 m_nextOffset = 0;   // the first byte not sent yet
    qint64 m_acknowledged = 0; // bytes the server confirmed
    int m_inFlight = 0;
    bool m_ended = false;
    Progress m_progress;
    Done m_done;
};

} // namespace kairos::cli
