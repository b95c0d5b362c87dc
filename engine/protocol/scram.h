#pragma once
// SCRAM-SHA-256 primitives (RFC 5802/7677 key derivation, Kairos's own message encoding): what a
// server stores for a login, and the proofs both sides compute so that the secret itself never
// travels and each side proves it knows the credential. The stored credential holds only
// StoredKey and ServerKey, so a copy of the database does not reveal the secret (an attacker
// still needs a PBKDF2 dictionary attack per entry, which the salt and iteration count make slow).
//
// All functions are pure and thread-safe.

#include <core/result.h>

#include <QByteArray>
#include <QString>

namespace kairos::protocol {

// Clients refuse a challenge with fewer iterations, so a fake server cannot make an offline attack
// on a captured proof cheap; ScramCredential::fromString refuses them too.
inline constexpr int kScramMinIterations = 4096;
inline constexpr int kScramDefaultIterations = 4096;
// Upper bound a client accepts, so a hostile server cannot make it spin for minutes.
inline constexpr int kScramMaxIterations = 10'000'000;
inline constexpr qsizetype kScramSaltBytes = 16;
inline constexpr qsizetype kScramKeyBytes = 32; // SHA-256 output

struct ScramCredential {
    QByteArray salt;
    int iterations = 0;
    QByteArray storedKey; // SHA256(ClientKey)
    QByteArray serverKey; // HMAC(SaltedPassword, "Server Key")

    // Derives the stored form of `password` (normalised to Unicode NFKC, then UTF-8; a
    // simplification of SASLprep). Costs `iterations` PBKDF2 rounds (about 10 ms at 4096).
    static ScramCredential derive(const QString &password, QByteArray salt = randomSalt(),
                                  int iterations = kScramDefaultIterations);
    static QByteArray randomSalt(); // 16 bytes from the system CSPRNG

    // "scram-sha256$<iterations>$<salt b64>$<StoredKey b64>$<ServerKey b64>", for storage.
    QString toString() const;
    // Errors name the part that is wrong, e.g. "stored credential: iterations must be a number of
    // at least 4096, got 'x'".
    static Result<ScramCredential> fromString(const QString &text);

    bool isValid() const
    {
        return !salt.isEmpty() && iterations >= kScramMinIterations
               && storedKey.size() == kScramKeyBytes && serverKey.size() == kScramKeyBytes;
    }
    friend bool operator==(const ScramCredential &, const ScramCredential &) = default;
};

namespace scram {

// The protocol-level inputs both sides bind into the proofs. Any difference (a replayed nonce, a
// changed role or protocol version) makes the proofs disagree.
struct AuthContext {
    QString role;
    QString name;
    int protocolVersion = 0;
    QByteArray clientNonce;
    QByteArray combinedNonce; // clientNonce followed by the server's nonce
    QByteArray salt;
    int iterations = 0;
};

// The exact bytes signed by both sides, documented in docs/protocol.md:
// "kairos-scram-sha256,role=<role>,name=<b64 UTF-8 name>,proto=<n>,cnonce=<b64>,nonce=<b64>,
//  salt=<b64>,i=<iterations>" (UTF-8, no spaces or line breaks, standard base64 with padding).
QByteArray authMessage(const AuthContext &ctx);

QByteArray saltedPassword(const QString &password, const QByteArray &salt, int iterations);
QByteArray clientKey(const QByteArray &saltedPassword);
QByteArray serverKey(const QByteArray &saltedPassword);
QByteArray hmac(const QByteArray &key, const QByteArray &message);
QByteArray sha256(const QByteArray &data);

// ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage).
QByteArray clientProof(const QByteArray &clientKey, const QByteArray &storedKey,
                       const QByteArray &authMessage);
// Server side: recovers ClientKey from the proof and checks SHA256(ClientKey) == StoredKey.
bool verifyClientProof(const ScramCredential &credential, const QByteArray &authMessage,
                       const QByteArray &proof);
// ServerSignature = HMAC(ServerKey, AuthMessage); the client checks it to authenticate the server.
QByteArray serverSignature(const QByteArray &serverKey, const QByteArray &authMessage);

// Comparison whose duration does not depend on where the inputs differ.
bool constantTimeEquals(const QByteArray &a, const QByteArray &b);
QByteArray randomBytes(qsizetype count);

} // namespace scram
} // namespace kairos::protocol
