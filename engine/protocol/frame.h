#pragma once
// Framing: how messages travel on a byte stream. A frame is a 4-byte big-endian unsigned payload
// length followed by the payload, one CBOR map holding the message type under "t" and the message's
// fields. FrameDecoder turns an arbitrary byte stream back into messages incrementally: it takes
// bytes as they arrive, hands out complete messages, and stops for good at the first malformed or
// oversized frame with a reason that names what was wrong. It is written for hostile input (it is
// fuzzed): an oversized length is rejected as soon as the 4-byte header is in, before any of the
// body is buffered, and nothing in the payload can make it crash or allocate without bound.
//
// Neither class is synchronised: use one decoder from one thread at a time.

#include "message.h"

#include <QByteArray>
#include <QString>

#include <optional>

namespace kairos::protocol {

inline constexpr qsizetype kFrameHeaderBytes = 4;
// Default per-frame payload limit after the handshake (16 MiB): big enough for a large log batch
// or a container listing, small enough that one peer cannot exhaust the server's memory.
inline constexpr qsizetype kDefaultMaxFrameBytes = 16 * 1024 * 1024;
// Limit while the handshake runs: handshake messages are tiny, and an unauthenticated peer
// must not be able to make the server buffer or parse megabytes.
inline constexpr qsizetype kHandshakeMaxFrameBytes = 64 * 1024;

// One frame (header + payload) for `message`. Any "t" key inside message.body is left out: the
// type always comes from message.type. Thread-safe (pure function).
QByteArray encodeFrame(const Message &message);
// Appends the frame to `out` without an intermediate copy; for batching many sends.
// Thread-safe for distinct `out` buffers.
void appendFrame(QByteArray &out, const Message &message);

// Decodes one payload (without the header). Exposed for tests and the fuzz target; the errors
// are the ones FrameDecoder reports. Thread-safe (pure function).
Result<Message> decodePayload(const char *data, qsizetype size);

class FrameDecoder {
public:
    explicit FrameDecoder(qsizetype maxFrameBytes = kDefaultMaxFrameBytes);

    // Adds received bytes. Ignored once the decoder is in the error state. If the next frame's
    // header is complete and announces more than the limit, the error is set here already.
    void append(const QByteArray &bytes);
    void append(const char *data, qsizetype size);

    // The next complete message, or nullopt when more bytes are needed or an error occurred
    // (check hasError()). After an error the stream cannot be resynchronised: drop the peer.
    std::optional<Message> next();

    bool hasError() const { return !m_error.isEmpty(); }
    // e.g. "frame of 20000000 bytes exceeds the 16777216-byte limit",
    // "payload is not valid CBOR: ...", "payload is not a map", "message has no type".
    QString errorString() const { return m_error; }

    // Raising or lowering the limit applies from the next frame header on.
    void setMaxFrameBytes(qsizetype maxFrameBytes) { m_maxFrameBytes = maxFrameBytes; }
    qsizetype maxFrameBytes() const { return m_maxFrameBytes; }

    // Bytes received and not yet consumed as complete frames.
    qsizetype bufferedBytes() const { return m_buffer.size() - m_readPos; }
    // Memory held by the receive buffer (its capacity), for diagnostics: it stays bounded by
    // about twice the largest frame plus 64 KiB however long the stream runs.
    qsizetype memoryBytes() const { return m_buffer.capacity(); }

private:
    void checkHeader();
    void compact();

    QByteArray m_buffer;
    qsizetype m_readPos = 0; // frames are consumed by advancing this, not by copying the buffer
    qsizetype m_maxFrameBytes;
    QString m_error;
};

} // namespace kairos::protocol
