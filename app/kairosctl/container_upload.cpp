#include "container_upload.h"

#include <QCryptographicHash>
#include <QFileInfo>

namespace kairos::cli {

ContainerUpload::ContainerUpload(client::Client &client, QString path, QObject *parent)
    : QObject(parent)
    , m_client(client)
    , m_path(std::move(path))
{}

Status ContainerUpload::open()
{
    if (QFileInfo(m_path).isDir())
        return makeError(
            QStringLiteral("%1: is a folder; expected a container library (.so)").arg(m_path));
    m_file.setFileName(m_path);
    if (!m_file.open(QIODevice::ReadOnly))
        return makeError(QStringLiteral("%1: cannot read: %2").arg(m_path, m_file.errorString()));
    QCryptographicHash hash(QCryptographicHash::Sha256);
    if (!hash.addData(&m_file))
        return makeError(QStringLiteral("%1: cannot read: %2").arg(m_path, m_file.errorString()));
    m_size = m_file.size();
    if (m_size <= 0)
        return makeError(QStringLiteral("%1: the file is empty; expected a container library "
                                        "(.so)")
                             .arg(m_path));
    m_sha256 = QString::fromLatin1(hash.result().toHex());
    return {};
}

void ContainerUpload::start(Progress progress, Done done)
{
    m_progress = std::move(progress);
    m_done = std::move(done);
    const QJsonObject params{{QStringLiteral("size"), m_size},
                             {QStringLiteral("sha256"), m_sha256}};
    m_client.call(QStringLiteral("container.upload.begin"), params, this,
                  [this](Result<QJsonObject> reply) {
                      if (!reply.ok())
                          return end(makeError(reply.error()));
                      m_uploadId = reply->value(QStringLiteral("uploadId")).toInteger();
                      const qint64 asked = reply->value(QStringLiteral("chunkBytes")).toInteger();
                      if (m_uploadId <= 0) {
                          return end(makeError(QStringLiteral("container.upload.begin: the "
                                                              "server sent no uploadId")));
                      }
                      m_chunkBytes = asked > 0 ? std::min(asked, kMaxChunkBytes) : kMaxChunkBytes;
                      sendChunks();
                  });
}

void ContainerUpload::sendChunks()
{
    while (!m_ended && m_inFlight < kWindow && m_nextOffset < m_size) {
        const qint64 offset = m_nextOffset;
        const qint64 length = std::min(m_chunkBytes, m_size - offset);
        QByteArray bytes;
        if (m_file.seek(offset))
            bytes = m_file.read(length);
        if (bytes.size() != length) {
            return end(makeError(QStringLiteral("%1: cannot read %2 bytes at offset %3: %4")
                                     .arg(m_path)
                                     .arg(length)
                                     .arg(offset)
                                     .arg(m_file.errorString())));
        }
        m_nextOffset += length;
        ++m_inFlight;
        const QJsonObject params{{QStringLiteral("uploadId"), m_uploadId},
                                 {QStringLiteral("offset"), offset},
                                 {QStringLiteral("data"), QString::fromLatin1(bytes.toBase64())}};
        m_client.call(QStringLiteral("container.upload.chunk"), params, this,
                      [this, offset, length](Result<QJsonObject> reply) {
                          onChunkReply(offset, length, reply);
                      });
    }
}

void ContainerUpload::onChunkReply(qint64 offset, qint64 length, const Result<QJsonObject> &reply)
{
    --m_inFlight;
    if (m_ended)
        return;
    if (!reply.ok())
        return end(makeError(reply.error()));
    const qint64 received = reply->value(QStringLiteral("received")).toInteger();
    if (received != offset + length) {
        return end(makeError(QStringLiteral("container.upload.chunk: the server reports %1 bytes "
                                            "received; expected %2")
                                 .arg(received)
                                 .arg(offset + length)));
    }
    m_acknowledged = received;
    if (m_progress)
        m_progress(m_acknowledged, m_size);
    if (m_acknowledged >= m_size && m_inFlight == 0)
        return finishUpload();
    sendChunks();
}

void ContainerUpload::finishUpload()
{
    m_client.call(QStringLiteral("container.upload.finish"),
                  QJsonObject{{QStringLiteral("uploadId"), m_uploadId}}, this,
                  [this](Result<QJsonObject> reply) { end(std::move(reply)); });
}

void ContainerUpload::end(Result<QJsonObject> result)
{
    if (m_ended)
        return;
    m_ended = true;
    m_file.close();
    if (m_done)
        m_done(std::move(result));
}

} // namespace kairos::cli
