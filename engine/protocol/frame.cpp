#include "frame.h"

#include <QBuffer>
#include <QCborStreamReader>
#include <QCborStreamWriter>
#include <QtEndian>

#include <cstring>

namespace kairos::protocol {

namespace {

const QLatin1StringView kTypeKey("t");

// Compacting moves the unread tail to the front. Doing it only when the consumed prefix is large
// and at least half the buffer keeps the cost amortised O(1) per byte.
constexpr qsizetype kCompactThreshold = 64 * 1024;

bool isTypeKey(const QCborValue &key)
{
    return key.isString() && key.toString() == kTypeKey;
}

} // namespace

void appendFrame(QByteArray &out, const Message &message)
{
    const qsizetype start = out.size();
    out.append(kFrameHeaderBytes, '\0');
    {
        // QCborStreamWriter(QByteArray *) writes from position 0; a QBuffer in append mode lets
        // the payload follow the header (and earlier frames) without a second copy.
        QBuffer buffer(&out);
        buffer.open(QIODevice::WriteOnly | QIODevice::Append);
        QCborStreamWriter writer(&buffer);
        qsizetype fields = 1;
        for (auto it = message.body.constBegin(); it != message.body.constEnd(); ++it)
            fields += isTypeKey(it.key()) ? 0 : 1;
        writer.startMap(quint64(fields));
        writer.append(kTypeKey);
        writer.append(message.type);
        for (auto it = message.body.constBegin(); it != message.body.constEnd(); ++it) {
            if (isTypeKey(it.key()))
                continue;
            it.key().toCbor(writer);
            it.value().toCbor(writer);
        }
        writer.endMap();
    }
    const quint32 payload = quint32(out.size() - start - kFrameHeaderBytes);
    qToBigEndian(payload, out.data() + start);
}

QByteArray encodeFrame(const Message &message)
{
    QByteArray out;
    appendFrame(out, message);
    return out;
}

Result<Message> decodePayload(const char *data, qsizetype size)
{
    QCborStreamReader reader(data, size);
    QCborValue value = QCborValue::fromCbor(reader);
    if (const QCborError err = reader.lastError(); err != QCborError::NoError)
        return makeError(QStringLiteral("payload is not valid CBOR: %1 (at byte %2)")
                             .arg(err.toString())
                             .arg(reader.currentOffset()));
    if (!value.isMap())
        return makeError(QStringLiteral("payload is not a map"));
    if (reader.currentOffset() != size)
        return makeError(
            QStringLiteral("payload is not valid CBOR: %1 unexpected bytes after the message map")
                .arg(size - reader.currentOffset()));

    Message message;
    message.body = value.toMap();
    value = QCborValue(); // drop the second reference so the map is not detached (copied) below
    const QCborValue type = message.body.value(kTypeKey);
    if (type.isUndefined())
        return makeError(QStringLiteral("message has no type"));
    if (!type.isString() || type.toString().isEmpty())
        return makeError(QStringLiteral("message has no type (key \"t\" must be a non-empty "
                                        "text string, got %1)")
                             .arg(cborTypeName(type)));
    message.type = type.toString();
    // A map may repeat a key; remove every "t" so body never carries a second, conflicting type.
    while (message.body.contains(kTypeKey))
        message.body.remove(kTypeKey);
    return message;
}

FrameDecoder::FrameDecoder(qsizetype maxFrameBytes)
    : m_maxFrameBytes(maxFrameBytes)
{}

void FrameDecoder::append(const QByteArray &bytes)
{
    append(bytes.constData(), bytes.size());
}

void FrameDecoder::append(const char *data, qsizetype size)
{
    if (hasError() || size <= 0)
        return;
    compact();
    m_buffer.append(data, size);
    checkHeader();
}

void FrameDecoder::checkHeader()
{
    if (hasError() || bufferedBytes() < kFrameHeaderBytes)
        return;
    const quint32 length = qFromBigEndian<quint32>(m_buffer.constData() + m_readPos);
    if (qsizetype(length) > m_maxFrameBytes)
        m_error = QStringLiteral("frame of %1 bytes exceeds the %2-byte limit")
                      .arg(length)
                      .arg(m_maxFrameBytes);
}

void FrameDecoder::compact()
{
    if (m_readPos == 0)
        return;
    if (m_readPos == m_buffer.size()) {
        m_buffer.resize(0); // keeps the capacity for the next frames
        m_readPos = 0;
    } else if (m_readPos >= kCompactThreshold && m_readPos * 2 >= m_buffer.size()) {
        // An explicit move to the front (rather than QByteArray::remove, which may just advance
        // its begin pointer) so the allocation is really reused and memoryBytes() is accurate.
        const qsizetype remaining = m_buffer.size() - m_readPos;
        char *data = m_buffer.data();
        std::memmove(data, data + m_readPos, size_t(remaining));
        m_buffer.resize(remaining);
        m_readPos = 0;
    }
}

std::optional<Message> FrameDecoder::next()
{
    checkHeader();
    if (hasError() || bufferedBytes() < kFrameHeaderBytes)
        return std::nullopt;
    const qsizetype length = qFromBigEndian<quint32>(m_buffer.constData() + m_readPos);
    if (bufferedBytes() < kFrameHeaderBytes + length)
        return std::nullopt;
    const char *payload = m_buffer.constData() + m_readPos + kFrameHeaderBytes;
    m_readPos += kFrameHeaderBytes + length;
    Result<Message> message = decodePayload(payload, length);
    if (!message) {
        m_error = message.error();
        return std::nullopt;
    }
    return std::move(message).value();
}

} // namespace kairos::protocol
