#include "handshake.h"

namespace kairos::protocol {

namespace {

constexpr qsizetype kMinNonceBytes = 16;
constexpr qsizetype kMaxNonceBytes = 255;
constexpr qsizetype kNonceBytes = 18;
constexpr qsizetype kMaxSaltBytes = 1024;

const QLatin1StringView kProto("proto");
const QLatin1StringView kRole("role");
const QLatin1StringView kName("name");
const QLatin1StringView kNonce("nonce");
const QLatin1StringView kSalt("salt");
const QLatin1StringView kIterations("iterations");
const QLatin1StringView kProof("proof");
const QLatin1StringView kReason("reason");
const QLatin1StringView kServerSignature("serverSignature");
const QLatin1StringView kServerId("serverId");

// One random key per process, so a name's fake salt is stable for the life of the process.
const QByteArray &processFakeSaltKey()
{
    static const QByteArray key = scram::randomBytes(32);
    return key;
}

Message refusedMessage(const QString &reason)
{
    return Message(QString(msg::Refused)).with(kReason, reason);
}

} // namespace

QString unsupportedVersionReason(qint64 version, int minVersion, int maxVersion,
                                 QLatin1StringView who)
{
    const QString speaks = minVersion == maxVersion
                               ? QString::number(maxVersion)
                               : QStringLiteral("%1 to %2").arg(minVersion).arg(maxVersion);
    return QStringLiteral("protocol version %1 is not supported; this %2 speaks %3")
        .arg(version)
        .arg(who, speaks);
}

// ---------------------------------------------------------------------------------------------
// Server

ServerHandshake::ServerHandshake(std::shared_ptr<CredentialLookup> lookup,
                                 ServerAuthOptions options)
    : m_lookup(std::move(lookup))
    , m_options(std::move(options))
{
    if (m_options.fakeSaltKey.isEmpty())
        m_options.fakeSaltKey = processFakeSaltKey();
}

ServerHandshake::Step ServerHandshake::refuse(const QString &clientReason, const QString &logReason)
{
    m_state = State::Refused;
    return Step{refusedMessage(clientReason), logReason.isEmpty() ? clientReason : logReason};
}

ServerHandshake::Step ServerHandshake::handle(const Message &message)
{
    switch (m_state) {
    case State::AwaitHello:
        if (message.type != msg::Hello)
            return refuse(QStringLiteral("expected 'hello' as the first message, got '%1'")
                              .arg(message.type.left(64)));
        return onHello(message);
    case State::AwaitAuth:
        if (message.type != msg::Auth)
            return refuse(QStringLiteral("expected 'auth' after the challenge, got '%1'")
                              .arg(message.type.left(64)));
        return onAuth(message);
    case State::Authenticated:
    case State::Refused:
        break;
    }
    return refuse(QStringLiteral("the handshake is already over"));
}

ServerHandshake::Step ServerHandshake::onHello(const Message &message)
{
    const auto proto = message.requireInteger(kProto);
    if (!proto)
        return refuse(proto.error());
    if (*proto < m_options.minProtocolVersion || *proto > m_options.maxProtocolVersion)
        return refuse(unsupportedVersionReason(*proto, m_options.minProtocolVersion,
                                               m_options.maxProtocolVersion));
    const auto role = message.requireText(kRole);
    if (!role)
        return refuse(role.error());
    if (*role != kRoleAdmin && *role != kRoleWorker)
        return refuse(QStringLiteral("role '%1' is not supported; expected 'admin' or 'worker'")
                          .arg(role->left(64)));
    const auto name = message.requireText(kName);
    if (!name)
        return refuse(name.error());
    if (name->isEmpty() || name->size() > kMaxNameLength)
        return refuse(QStringLiteral("field 'name' of 'hello' must be 1 to %1 characters, got %2")
                          .arg(kMaxNameLength)
                          .arg(name->size()));
    const auto nonce = message.requireBytes(kNonce);
    if (!nonce)
        return refuse(nonce.error());
    if (nonce->size() < kMinNonceBytes || nonce->size() > kMaxNonceBytes)
        return refuse(QStringLiteral("field 'nonce' of 'hello' must be %1 to %2 bytes, got %3")
                          .arg(kMinNonceBytes)
                          .arg(kMaxNonceBytes)
                          .arg(nonce->size()));

    m_hello = message.body;
    m_ctx.protocolVersion = int(*proto);
    m_ctx.role = *role;
    m_ctx.name = *name;
    m_ctx.clientNonce = *nonce;
    m_ctx.combinedNonce = *nonce + scram::randomBytes(kNonceBytes);

    std::optional<ScramCredential> found =
        m_lookup ? m_lookup->find(m_ctx.role, m_ctx.name) : std::nullopt;
    m_knownLogin = found.has_value() && found->isValid();
    // An unknown name gets a credential that can never verify, with a salt that is stable per
    // name, so its challenge looks like any real one.
    m_credential = m_knownLogin ? std::move(*found) : fakeCredential();
    m_ctx.salt = m_credential.salt;
    m_ctx.iterations = m_credential.iterations;

    m_state = State::AwaitAuth;
    Message challenge{QString(msg::Challenge)};
    challenge.body.insert(kProto, m_ctx.protocolVersion);
    challenge.body.insert(kNonce, m_ctx.combinedNonce);
    challenge.body.insert(kSalt, m_ctx.salt);
    challenge.body.insert(kIterations, m_ctx.iterations);
    return Step{std::move(challenge), {}};
}

ServerHandshake::Step ServerHandshake::onAuth(const Message &message)
{
    const QByteArray proof = message.bytes(kProof);
    const QByteArray authMsg = scram::authMessage(m_ctx);
    // Always verify, also for an unknown name, so both take the same time.
    const bool verified = scram::verifyClientProof(m_credential, authMsg, proof);
    if (!verified || !m_knownLogin)
        return refuse(QString(kAuthFailedReason),
                      m_knownLogin
                          ? QStringLiteral("wrong credentials")
                          : QStringLiteral("wrong credentials (no such %1)").arg(m_ctx.role));

    m_state = State::Authenticated;
    Message welcome{QString(msg::Welcome), m_options.welcomeExtra};
    welcome.body.insert(kServerSignature, scram::serverSignature(m_credential.serverKey, authMsg));
    welcome.body.insert(kServerId, m_options.serverId);
    welcome.body.insert(kProto, m_ctx.protocolVersion);
    return Step{std::move(welcome), {}};
}

ScramCredential ServerHandshake::fakeCredential() const
{
    ScramCredential c;
    const QByteArray who = m_ctx.role.toUtf8() + '\0' + m_ctx.name.toUtf8();
    c.salt = scram::hmac(m_options.fakeSaltKey, who).left(kScramSaltBytes);
    c.iterations = kScramDefaultIterations;
    c.storedKey = scram::randomBytes(kScramKeyBytes);
    c.serverKey = scram::randomBytes(kScramKeyBytes);
    return c;
}

// ---------------------------------------------------------------------------------------------
// Client

ClientHandshake::ClientHandshake(QString role, QString name, QString secret, int protocolVersion,
                                 QCborMap helloExtra)
    : m_secret(std::move(secret))
    , m_helloExtra(std::move(helloExtra))
{
    m_ctx.role = std::move(role);
    m_ctx.name = std::move(name);
    m_ctx.protocolVersion = protocolVersion;
}

Message ClientHandshake::start()
{
    m_ctx.clientNonce = scram::randomBytes(kNonceBytes);
    m_state = State::AwaitChallenge;
    Message hello{QString(msg::Hello), m_helloExtra};
    hello.body.insert(kProto, m_ctx.protocolVersion);
    hello.body.insert(kRole, m_ctx.role);
    hello.body.insert(kName, m_ctx.name);
    hello.body.insert(kNonce, m_ctx.clientNonce);
    return hello;
}

Result<std::optional<Message>> ClientHandshake::fail(const QString &reason)
{
    m_state = State::Failed;
    m_secret.fill(QLatin1Char('\0'));
    m_secret.clear();
    return makeError(reason);
}

Result<std::optional<Message>> ClientHandshake::handle(const Message &message)
{
    if (message.type == msg::Refused || message.type == msg::Error) {
        const QString reason = message.text(kReason);
        return fail(reason.isEmpty() ? QStringLiteral("the server refused the connection")
                                     : reason.left(1000));
    }
    switch (m_state) {
    case State::AwaitChallenge:
        if (message.type == msg::Challenge)
            return onChallenge(message);
        break;
    case State::AwaitWelcome:
        if (message.type == msg::Welcome)
            return onWelcome(message);
        break;
    case State::Initial:
    case State::Done:
    case State::Failed:
        break;
    }
    return fail(QStringLiteral("unexpected '%1' from the server during the handshake")
                    .arg(message.type.left(64)));
}

Result<std::optional<Message>> ClientHandshake::onChallenge(const Message &message)
{
    const auto proto = message.requireInteger(kProto);
    if (!proto)
        return fail(proto.error());
    if (*proto != m_ctx.protocolVersion)
        return fail(unsupportedVersionReason(*proto, m_ctx.protocolVersion, m_ctx.protocolVersion,
                                             QLatin1StringView("client")));
    const auto nonce = message.requireBytes(kNonce);
    if (!nonce)
        return fail(nonce.error());
    if (!nonce->startsWith(m_ctx.clientNonce)
        || nonce->size() < m_ctx.clientNonce.size() + kMinNonceBytes
        || nonce->size() > 2 * kMaxNonceBytes)
        return fail(QStringLiteral("field 'nonce' of 'challenge' must extend the client's nonce "
                                   "by %1 to %2 bytes")
                        .arg(kMinNonceBytes)
                        .arg(kMaxNonceBytes));
    const auto salt = message.requireBytes(kSalt);
    if (!salt)
        return fail(salt.error());
    if (salt->isEmpty() || salt->size() > kMaxSaltBytes)
        return fail(QStringLiteral("field 'salt' of 'challenge' must be 1 to %1 bytes, got %2")
                        .arg(kMaxSaltBytes)
                        .arg(salt->size()));
    const auto iterations = message.requireInteger(kIterations);
    if (!iterations)
        return fail(iterations.error());
    if (*iterations < kScramMinIterations || *iterations > kScramMaxIterations)
        return fail(QStringLiteral("field 'iterations' of 'challenge' must be %1 to %2, got %3")
                        .arg(kScramMinIterations)
                        .arg(kScramMaxIterations)
                        .arg(*iterations));

    m_ctx.combinedNonce = *nonce;
    m_ctx.salt = *salt;
    m_ctx.iterations = int(*iterations);
    const QByteArray authMsg = scram::authMessage(m_ctx);
    const QByteArray salted = scram::saltedPassword(m_secret, m_ctx.salt, m_ctx.iterations);
    m_secret.fill(QLatin1Char('\0'));
    m_secret.clear();
    const QByteArray clientKey = scram::clientKey(salted);
    const QByteArray proof = scram::clientProof(clientKey, scram::sha256(clientKey), authMsg);
    m_expectedServerSignature = scram::serverSignature(scram::serverKey(salted), authMsg);

    m_state = State::AwaitWelcome;
    return std::optional<Message>(Message(QString(msg::Auth)).with(kProof, proof));
}

Result<std::optional<Message>> ClientHandshake::onWelcome(const Message &message)
{
    const QByteArray signature = message.bytes(kServerSignature);
    if (!scram::constantTimeEquals(signature, m_expectedServerSignature))
        return fail(QStringLiteral("the server's signature does not match: it does not know this "
                                   "login's credential (is it the right server?)"));
    m_state = State::Done;
    m_welcome = message.body;
    return std::optional<Message>();
}

QString ClientHandshake::serverId() const
{
    return m_welcome.value(kServerId).toString();
}

} // namespace kairos::protocol
