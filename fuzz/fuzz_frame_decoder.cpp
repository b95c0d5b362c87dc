// libFuzzer target for everything that parses bytes from an unauthenticated peer: FrameDecoder
// (fed in random chunk splits), the payload decoder, the Message field accessors, and the
// server-side handshake state machine that consumes the decoded messages.
//
// Input layout: byte 0 seeds the chunk splitting and picks the frame limit; the rest is the byte
// stream as it would arrive on a socket. Invariants checked (a violation traps):
//   - a decoded message re-encodes to bytes that decode to the same bytes again (stable codec);
//   - the decoder never buffers more than the limit plus one read chunk after a header error;
//   - every decoded message has a non-empty type.
#include <protocol/frame.h>
#include <protocol/handshake.h>

#include <QCborArray>

#include <cstddef>
#include <cstdint>

using namespace kairos::protocol;

namespace {

class OneLogin : public CredentialLookup {
public:
    std::optional<ScramCredential> find(const QString &role, const QString &name) override
    {
        if (role == kRoleAdmin && name == QLatin1StringView("alice"))
            return credential;
        return std::nullopt;
    }
    // Fixed keys: deriving with PBKDF2 per input would dominate the run time.
    ScramCredential credential{QByteArray(16, 's'), kScramDefaultIterations, QByteArray(32, 'k'),
                               QByteArray(32, 'v')};
};

const QLatin1StringView kKnownKeys[] = {
    QLatin1StringView("id"),
    QLatin1StringView("m"),
    QLatin1StringView("p"),
    QLatin1StringView("ok"),
    QLatin1StringView("r"),
    QLatin1StringView("e"),
    QLatin1StringView("topic"),
    QLatin1StringView("d"),
    QLatin1StringView("proto"),
    QLatin1StringView("role"),
    QLatin1StringView("name"),
    QLatin1StringView("nonce"),
    QLatin1StringView("salt"),
    QLatin1StringView("iterations"),
    QLatin1StringView("proof"),
    QLatin1StringView("reason"),
    QLatin1StringView("serverSignature"),
};

void check(bool condition)
{
    if (!condition)
        __builtin_trap();
}

void exerciseAccessors(const Message &m)
{
    qsizetype sink = 0;
    for (QLatin1StringView key : kKnownKeys) {
        sink += m.text(key).size();
        sink += m.bytes(key).size();
        sink += qsizetype(m.integer(key));
        sink += m.boolean(key) ? 1 : 0;
        sink += m.map(key).size();
        sink += m.array(key).size();
        sink += m.requireText(key).ok() + m.requireInteger(key).ok() + m.requireBytes(key).ok()
                + m.requireMap(key).ok() + m.requireBoolean(key).ok();
        sink += cborTypeName(m.value(key)).size();
    }
    (void)sink;
}

void checkReencoding(const Message &m)
{
    const QByteArray once = encodeFrame(m);
    FrameDecoder decoder(once.size());
    decoder.append(once);
    const auto back = decoder.next();
    check(back.has_value());
    check(back->type == m.type);
    check(encodeFrame(*back) == once);
}

struct Splitter {
    uint32_t state;
    size_t nextChunk()
    {
        // xorshift32: cheap and deterministic per input.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        switch (state % 4) {
        case 0:
            return 1;
        case 1:
            return 1 + state % 7;
        case 2:
            return 1 + state % 300;
        default:
            return 4096;
        }
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t control = data[0];
    const char *stream = reinterpret_cast<const char *>(data + 1);
    const qsizetype streamSize = qsizetype(size - 1);

    // Payload-level: the whole stream as one payload, no header needed to reach the CBOR parser.
    if (auto m = decodePayload(stream, streamSize); m.ok()) {
        check(!m->type.isEmpty());
        exerciseAccessors(*m);
        checkReencoding(*m);
    }

    // Stream-level: random splits, a small or the handshake limit, and the handshake on top.
    const qsizetype limit = (control & 1) ? 256 : kHandshakeMaxFrameBytes;
    FrameDecoder decoder(limit);
    Splitter splitter{uint32_t(control) * 2654435761u + 1};
    static const auto lookup = std::make_shared<OneLogin>();
    ServerHandshake server(lookup, ServerAuthOptions{QStringLiteral("fuzz"), {}, "key"});
    ClientHandshake client(QString(kRoleAdmin), QStringLiteral("alice"), QStringLiteral("pw"));
    client.start();
    qsizetype pos = 0;
    while (pos < streamSize) {
        const qsizetype n = qMin<qsizetype>(qsizetype(splitter.nextChunk()), streamSize - pos);
        decoder.append(stream + pos, n);
        pos += n;
        while (auto m = decoder.next()) {
            check(!m->type.isEmpty());
            exerciseAccessors(*m);
            checkReencoding(*m);
            server.handle(*m);
            // A challenge makes the client run PBKDF2 (>= 4096 rounds): too slow per input, and
            // the challenge checks before it are covered by tst_scram.
            if (m->type != msg::Challenge)
                (void)client.handle(*m);
        }
        if (decoder.hasError()) {
            check(!decoder.errorString().isEmpty());
            check(decoder.bufferedBytes() <= limit + kFrameHeaderBytes + 4096);
            break;
        }
    }
    return 0;
}
