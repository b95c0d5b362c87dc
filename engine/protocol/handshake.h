#pragma once
// The connection handshake as two pure state machines, one per side, with no sockets: each takes
// the peer's messages and says what to send back, so the whole exchange — protocol version check,
// SCRAM-SHA-256 mutual authentication, refusals — is testable and fuzzable without a network.
//
//   client -> hello     {proto, role, name, nonce}
//   server -> challenge {proto, nonce (client + server), salt, iterations} | refused {reason}
//   client -> auth      {proof}
//   server -> welcome   {serverSignature, serverId, proto, ...} | refused {reason}
//   client checks serverSignature (the server proves it knows the credential too).
//
// An unknown name takes exactly the same path as a wrong secret (a salt derived from the name,
// the same iteration count, the same refusal text), so names cannot be probed.
// Both classes are plain objects: use each from one thread; distinct objects are independent.

#include "message.h"
#include "scram.h"

#include <QCborMap>
#include <QString>

#include <memory>
#include <optional>

namespace kairos::protocol {

// The protocol version this build speaks, and the oldest it still accepts. Bump kProtocolVersion
// when a change would be misread by an older peer (docs/protocol.md, "Versioning").
inline constexpr int kProtocolVersion = 1;
inline constexpr int kMinProtocolVersion = 1;

inline constexpr QLatin1StringView kRoleAdmin("admin");
inline constexpr QLatin1StringView kRoleWorker("worker");
inline constexpr qsizetype kMaxNameLength = 255;

// What the client is told for a wrong secret and for an unknown name alike.
inline constexpr QLatin1StringView kAuthFailedReason("authentication failed: wrong name or secret");

// Where the server finds the stored credential of a login. Called on the thread of the connection
// being authenticated (the Listener's thread): implementations shared by connections on several
// threads must be thread-safe, and find() should not block for long (keep credentials cached).
class CredentialLookup {
public:
    virtual ~CredentialLookup() = default;
    // nullopt when there is no such login for that role.
    virtual std::optional<ScramCredential> find(const QString &role, const QString &name) = 0;
};

struct ServerAuthOptions {
    QString serverId;      // sent in welcome, e.g. the kairosd node id
    QCborMap welcomeExtra; // further welcome fields; the core fields win on a clash
    // Key for the fake salts of unknown names. Empty: one random key per process. Servers of one
    // cluster should share a persistent key, or a name's salt changes between servers/restarts
    // only when the name does not exist — which would let names be probed.
    QByteArray fakeSaltKey;
    int minProtocolVersion = kMinProtocolVersion;
    int maxProtocolVersion = kProtocolVersion;
};

class ServerHandshake {
public:
    enum class State { AwaitHello, AwaitAuth, Authenticated, Refused };

    struct Step {
        std::optional<Message> reply; // send this to the peer (also on refusal)
        // Set when the handshake ended in a refusal: the reason for the server's log (may be
        // more precise than what the client is told, e.g. "wrong credentials (no such admin)").
        QString refusal;
    };

    explicit ServerHandshake(std::shared_ptr<CredentialLookup> lookup,
                             ServerAuthOptions options = {});

    // Feed the peer's next message. After Authenticated or Refused, every call refuses.
    Step handle(const Message &message);

    State state() const { return m_state; }
    // Known once a well-formed hello arrived (empty before).
    QString role() const { return m_ctx.role; }
    QString name() const { return m_ctx.name; }
    int protocolVersion() const { return m_ctx.protocolVersion; }
    QCborMap hello() const { return m_hello; } // the client's hello fields, including extras

private:
    Step onHello(const Message &message);
    Step onAuth(const Message &message);
    Step refuse(const QString &clientReason, const QString &logReason = {});
    ScramCredential fakeCredential() const;

    std::shared_ptr<CredentialLookup> m_lookup;
    ServerAuthOptions m_options;
    State m_state = State::AwaitHello;
    scram::AuthContext m_ctx;
    ScramCredential m_credential;
    bool m_knownLogin = false;
    QCborMap m_hello;
};

class ClientHandshake {
public:
    enum class State { Initial, AwaitChallenge, AwaitWelcome, Done, Failed };

    ClientHandshake(QString role, QString name, QString secret,
                    int protocolVersion = kProtocolVersion, QCborMap helloExtra = {});

    // The hello to send first.
    Message start();
    // Feed the server's next message: the message to send back (auth) or nullopt, or an error
    // meant for the user ("protocol version 0 is not supported; this server speaks 1",
    // "authentication failed: wrong name or secret", "server signature does not match ...").
    Result<std::optional<Message>> handle(const Message &message);

    State state() const { return m_state; }
    // After Done: the welcome fields (serverId, proto and any extras).
    QCborMap welcome() const { return m_welcome; }
    QString serverId() const;

private:
    Result<std::optional<Message>> fail(const QString &reason);
    Result<std::optional<Message>> onChallenge(const Message &message);
    Result<std::optional<Message>> onWelcome(const Message &message);

    State m_state = State::Initial;
    QString m_secret; // cleared as soon as the proof is computed
    QCborMap m_helloExtra;
    scram::AuthContext m_ctx;
    QByteArray m_expectedServerSignature;
    QCborMap m_welcome;
};

// "protocol version 0 is not supported; this server speaks 1" (or "speaks 1 to 3").
QString unsupportedVersionReason(qint64 version, int minVersion, int maxVersion,
                                 QLatin1StringView who = QLatin1StringView("server"));

} // namespace kairos::protocol
