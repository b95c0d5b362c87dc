#include "scram.h"

#include <QCryptographicHash>
#include <QMessageAuthenticationCode>
#include <QPasswordDigestor>
#include <QRandomGenerator>
#include <QStringList>

namespace kairos::protocol {

namespace {

const QLatin1StringView kPrefix("scram-sha256");

QByteArray xorBytes(const QByteArray &a, const QByteArray &b)
{
    QByteArray out(a.size(), '\0');
    for (qsizetype i = 0; i < a.size(); ++i)
        out[i] = char(a[i] ^ b[i]);
    return out;
}

Result<QByteArray> decodeKeyPart(const QString &part, const char *what, qsizetype expectedSize)
{
    const auto decoded =
        QByteArray::fromBase64Encoding(part.toLatin1(), QByteArray::AbortOnBase64DecodingErrors);
    if (!decoded || decoded.decoded.isEmpty())
        return makeError(QStringLiteral("stored credential: %1 must be base64, got '%2'")
                             .arg(QLatin1StringView(what), part));
    if (expectedSize > 0 && decoded.decoded.size() != expectedSize)
        return makeError(QStringLiteral("stored credential: %1 must be %2 bytes, got %3")
                             .arg(QLatin1StringView(what))
                             .arg(expectedSize)
                             .arg(decoded.decoded.size()));
    return decoded.decoded;
}

} // namespace

ScramCredential ScramCredential::derive(const QString &password, QByteArray salt, int iterations)
{
    const QByteArray salted = scram::saltedPassword(password, salt, iterations);
    ScramCredential c;
    c.salt = std::move(salt);
    c.iterations = iterations;
    c.storedKey = scram::sha256(scram::clientKey(salted));
    c.serverKey = scram::serverKey(salted);
    return c;
}

QByteArray ScramCredential::randomSalt()
{
    return scram::randomBytes(kScramSaltBytes);
}

QString ScramCredential::toString() const
{
    return QStringList{kPrefix, QString::number(iterations), QString::fromLatin1(salt.toBase64()),
                       QString::fromLatin1(storedKey.toBase64()),
                       QString::fromLatin1(serverKey.toBase64())}
        .join(QLatin1Char('$'));
}

Result<ScramCredential> ScramCredential::fromString(const QString &text)
{
    const QStringList parts = text.split(QLatin1Char('$'));
    if (parts.size() != 5 || parts[0] != kPrefix)
        return makeError(QStringLiteral("stored credential: expected "
                                        "'scram-sha256$<iterations>$<salt>$<stored key>$<server "
                                        "key>', got %1 part(s) starting with '%2'")
                             .arg(parts.size())
                             .arg(parts[0].left(16)));
    bool ok = false;
    const int iterations = parts[1].toInt(&ok);
    if (!ok || iterations < kScramMinIterations || iterations > kScramMaxIterations)
        return makeError(QStringLiteral("stored credential: iterations must be a number from %1 "
                                        "to %2, got '%3'")
                             .arg(kScramMinIterations)
                             .arg(kScramMaxIterations)
                             .arg(parts[1].left(16)));
    auto salt = decodeKeyPart(parts[2], "salt", 0);
    if (!salt)
        return Error{salt.error()};
    auto stored = decodeKeyPart(parts[3], "stored key", kScramKeyBytes);
    if (!stored)
        return Error{stored.error()};
    auto server = decodeKeyPart(parts[4], "server key", kScramKeyBytes);
    if (!server)
        return Error{server.error()};
    ScramCredential c;
    c.iterations = iterations;
    c.salt = std::move(salt).value();
    c.storedKey = std::move(stored).value();
    c.serverKey = std::move(server).value();
    return c;
}

namespace scram {

QByteArray authMessage(const AuthContext &ctx)
{
    QByteArray m;
    m.reserve(256);
    m += "kairos-scram-sha256,role=";
    m += ctx.role.toUtf8();
    m += ",name=";
    m += ctx.name.toUtf8().toBase64();
    m += ",proto=";
    m += QByteArray::number(ctx.protocolVersion);
    m += ",cnonce=";
    m += ctx.clientNonce.toBase64();
    m += ",nonce=";
    m += ctx.combinedNonce.toBase64();
    m += ",salt=";
    m += ctx.salt.toBase64();
    m += ",i=";
    m += QByteArray::number(ctx.iterations);
    return m;
}

QByteArray saltedPassword(const QString &password, const QByteArray &salt, int iterations)
{
    return QPasswordDigestor::deriveKeyPbkdf2(
        QCryptographicHash::Sha256, password.normalized(QString::NormalizationForm_KC).toUtf8(),
        salt, iterations, kScramKeyBytes);
}

QByteArray hmac(const QByteArray &key, const QByteArray &message)
{
    return QMessageAuthenticationCode::hash(message, key, QCryptographicHash::Sha256);
}

QByteArray sha256(const QByteArray &data)
{
    return QCryptographicHash::hash(data, QCryptographicHash::Sha256);
}

QByteArray clientKey(const QByteArray &salted)
{
    return hmac(salted, "Client Key");
}

QByteArray serverKey(const QByteArray &salted)
{
    return hmac(salted, "Server Key");
}

QByteArray clientProof(const QByteArray &clientKeyBytes, const QByteArray &storedKey,
                       const QByteArray &message)
{
    return xorBytes(clientKeyBytes, hmac(storedKey, message));
}

bool verifyClientProof(const ScramCredential &credential, const QByteArray &message,
                       const QByteArray &proof)
{
    if (proof.size() != kScramKeyBytes || credential.storedKey.size() != kScramKeyBytes)
        return false;
    const QByteArray recoveredClientKey = xorBytes(proof, hmac(credential.storedKey, message));
    return constantTimeEquals(sha256(recoveredClientKey), credential.storedKey);
}

QByteArray serverSignature(const QByteArray &serverKeyBytes, const QByteArray &message)
{
    return hmac(serverKeyBytes, message);
}

bool constantTimeEquals(const QByteArray &a, const QByteArray &b)
{
    if (a.size() != b.size())
        return false;
    unsigned char diff = 0;
    for (qsizetype i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

QByteArray randomBytes(qsizetype count)
{
    QList<quint32> words((count + 3) / 4);
    QRandomGenerator::system()->generate(words.begin(), words.end());
    return QByteArray(reinterpret_cast<const char *>(words.constData()), count);
}

} // namespace scram
} // namespace kairos::protocol
