// What an operator relies on from authentication: the right secret logs in, a wrong one does
// not, an unknown name cannot be told apart from a wrong secret, an impostor server is detected,
// and the stored form survives a round trip through the database without revealing the secret.
#include <protocol/handshake.h>

#include <QtTest>

using namespace kairos;
using namespace kairos::protocol;
using namespace Qt::StringLiterals;

namespace {

class MapLookup : public CredentialLookup {
public:
    std::optional<ScramCredential> find(const QString &role, const QString &name) override
    {
        ++lookups;
        auto it = logins.find(role + u'/' + name);
        if (it == logins.end())
            return std::nullopt;
        return *it;
    }
    QHash<QString, ScramCredential> logins;
    int lookups = 0;
};

struct Outcome {
    bool clientDone = false;
    QString clientError;
    ServerHandshake::State serverState = ServerHandshake::State::AwaitHello;
    QString serverRefusal;
    Message challenge;
};

// Runs one in-memory handshake, message by message, as the sockets would carry it.
Outcome runHandshake(const std::shared_ptr<CredentialLookup> &lookup, const QString &role,
                     const QString &name, const QString &secret, int proto = kProtocolVersion)
{
    Outcome out;
    ServerHandshake server(lookup, ServerAuthOptions{u"node-1"_s, {}, "fixed-test-key"});
    ClientHandshake client(role, name, secret, proto);
    std::optional<Message> toServer = client.start();
    while (toServer) {
        ServerHandshake::Step step = server.handle(*toServer);
        toServer.reset();
        out.serverState = server.state();
        out.serverRefusal = step.refusal;
        if (!step.reply)
            break;
        if (step.reply->type == msg::Challenge)
            out.challenge = *step.reply;
        auto answer = client.handle(*step.reply);
        if (!answer) {
            out.clientError = answer.error();
            break;
        }
        toServer = *answer;
    }
    out.clientDone = client.state() == ClientHandshake::State::Done;
    return out;
}

} // namespace

class TstScram : public QObject {
    Q_OBJECT
private:
    std::shared_ptr<MapLookup> m_lookup = std::make_shared<MapLookup>();

private slots:
    void initTestCase()
    {
        m_lookup->logins.insert(u"admin/alice"_s, ScramCredential::derive(u"correct horse"_s));
        m_lookup->logins.insert(u"worker/billing-app"_s, ScramCredential::derive(u"w-secret"_s));
    }

    void rfc7677Vector()
    {
        // RFC 7677 section 3: the key derivation and proofs match the standard, so the stored
        // keys are ordinary SCRAM-SHA-256 keys.
        const QByteArray salt = QByteArray::fromBase64("W22ZaJ0SNY7soEsUEjb6gQ==");
        const QByteArray authMessage =
            "n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)"
            "hNlF$k0";
        const QByteArray salted = scram::saltedPassword(u"pencil"_s, salt, 4096);
        const QByteArray clientKey = scram::clientKey(salted);
        QCOMPARE(scram::clientProof(clientKey, scram::sha256(clientKey), authMessage).toBase64(),
                 QByteArray("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="));
        QCOMPARE(scram::serverSignature(scram::serverKey(salted), authMessage).toBase64(),
                 QByteArray("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
        const ScramCredential stored = ScramCredential::derive(u"pencil"_s, salt, 4096);
        QVERIFY(scram::verifyClientProof(
            stored, authMessage,
            QByteArray::fromBase64("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")));
    }

    void rightSecretLogsIn_data()
    {
        QTest::addColumn<QString>("role");
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("secret");
        QTest::newRow("admin") << u"admin"_s << u"alice"_s << u"correct horse"_s;
        QTest::newRow("worker") << u"worker"_s << u"billing-app"_s << u"w-secret"_s;
    }
    void rightSecretLogsIn()
    {
        QFETCH(QString, role);
        QFETCH(QString, name);
        QFETCH(QString, secret);
        const Outcome o = runHandshake(m_lookup, role, name, secret);
        QVERIFY2(o.clientDone, qPrintable(o.clientError));
        QCOMPARE(o.serverState, ServerHandshake::State::Authenticated);
    }

    void wrongSecretIsRefused()
    {
        const Outcome o = runHandshake(m_lookup, u"admin"_s, u"alice"_s, u"Correct horse"_s);
        QVERIFY(!o.clientDone);
        QCOMPARE(o.serverState, ServerHandshake::State::Refused);
        QCOMPARE(o.clientError, QString(kAuthFailedReason));
        QCOMPARE(o.serverRefusal, u"wrong credentials"_s);
    }

    void credentialOfAnotherRoleDoesNotWork()
    {
        // alice is an admin; the same name as a worker is an unknown login.
        const Outcome o = runHandshake(m_lookup, u"worker"_s, u"alice"_s, u"correct horse"_s);
        QCOMPARE(o.serverState, ServerHandshake::State::Refused);
        QCOMPARE(o.clientError, QString(kAuthFailedReason));
    }

    void unknownNameLooksLikeWrongSecret()
    {
        const Outcome unknown = runHandshake(m_lookup, u"admin"_s, u"mallory"_s, u"guess"_s);
        const Outcome wrong = runHandshake(m_lookup, u"admin"_s, u"alice"_s, u"guess"_s);
        // Same path: a challenge of the same shape, then the same refusal text.
        QCOMPARE(unknown.challenge.type, QString(msg::Challenge));
        QCOMPARE(unknown.challenge.bytes("salt"_L1).size(),
                 wrong.challenge.bytes("salt"_L1).size());
        QCOMPARE(unknown.challenge.integer("iterations"_L1),
                 wrong.challenge.integer("iterations"_L1));
        QCOMPARE(unknown.challenge.body.keys(), wrong.challenge.body.keys());
        QCOMPARE(unknown.clientError, wrong.clientError);
        QCOMPARE(unknown.serverState, ServerHandshake::State::Refused);
        // A name's fake salt is stable (a changing salt would give the name away) and differs
        // from other names' salts.
        const Outcome again = runHandshake(m_lookup, u"admin"_s, u"mallory"_s, u"x"_s);
        QCOMPARE(again.challenge.bytes("salt"_L1), unknown.challenge.bytes("salt"_L1));
        const Outcome other = runHandshake(m_lookup, u"admin"_s, u"trudy"_s, u"x"_s);
        QVERIFY(other.challenge.bytes("salt"_L1) != unknown.challenge.bytes("salt"_L1));
        // The operator's log still tells the two apart.
        QCOMPARE(unknown.serverRefusal, u"wrong credentials (no such admin)"_s);
    }

    void impostorServerIsDetected()
    {
        // A server that does not know the credential cannot produce the server signature, even
        // when it accepts any proof.
        ClientHandshake client(u"admin"_s, u"alice"_s, u"correct horse"_s);
        const Message hello = client.start();
        const ScramCredential fake = ScramCredential::derive(u"something else"_s);
        Message challenge{QString(msg::Challenge)};
        challenge.body.insert("proto"_L1, kProtocolVersion);
        challenge.body.insert("nonce"_L1, hello.bytes("nonce"_L1) + scram::randomBytes(18));
        challenge.body.insert("salt"_L1, fake.salt);
        challenge.body.insert("iterations"_L1, fake.iterations);
        auto auth = client.handle(challenge);
        QVERIFY(auth.ok());
        QVERIFY(auth->has_value());
        const Message welcome = Message(QString(msg::Welcome))
                                    .with("serverSignature"_L1, scram::randomBytes(32))
                                    .with("proto"_L1, kProtocolVersion);
        const auto end = client.handle(welcome);
        QVERIFY(!end.ok());
        QVERIFY2(end.error().contains(u"signature does not match"_s), qPrintable(end.error()));
        QCOMPARE(client.state(), ClientHandshake::State::Failed);
    }

    void weakChallengeIsRefusedByTheClient()
    {
        // A fake server asking for 1 PBKDF2 round would make an offline attack on the proof cheap.
        ClientHandshake client(u"admin"_s, u"alice"_s, u"correct horse"_s);
        const Message hello = client.start();
        Message challenge{QString(msg::Challenge)};
        challenge.body.insert("proto"_L1, kProtocolVersion);
        challenge.body.insert("nonce"_L1, hello.bytes("nonce"_L1) + scram::randomBytes(18));
        challenge.body.insert("salt"_L1, scram::randomBytes(16));
        challenge.body.insert("iterations"_L1, 1);
        const auto r = client.handle(challenge);
        QVERIFY(!r.ok());
        QCOMPARE(r.error(), u"field 'iterations' of 'challenge' must be 4096 to 10000000, got 1"_s);
    }

    void proofIsBoundToTheSession()
    {
        // A proof captured from one session does not log in another (the server nonce differs).
        ClientHandshake client(u"admin"_s, u"alice"_s, u"correct horse"_s);
        ServerHandshake first(m_lookup);
        const Message hello = client.start();
        const auto challenge = first.handle(hello).reply;
        QVERIFY(challenge);
        const auto auth = client.handle(*challenge);
        QVERIFY(auth.ok() && auth->has_value());

        ServerHandshake second(m_lookup);
        QCOMPARE(second.handle(hello).reply->type, QString(msg::Challenge));
        const auto replay = second.handle(**auth);
        QCOMPARE(second.state(), ServerHandshake::State::Refused);
        QCOMPARE(replay.reply->text("reason"_L1), QString(kAuthFailedReason));
    }

    void helloIsValidated_data()
    {
        QTest::addColumn<Message>("hello");
        QTest::addColumn<QString>("reason");
        auto hello = [](int proto) {
            return Message(u"hello"_s)
                .with("proto"_L1, proto)
                .with("role"_L1, u"admin"_s)
                .with("name"_L1, u"alice"_s)
                .with("nonce"_L1, QByteArray(18, 'n'));
        };
        QTest::newRow("old protocol")
            << hello(0) << u"protocol version 0 is not supported; this server speaks 1"_s;
        QTest::newRow("future protocol")
            << hello(7) << u"protocol version 7 is not supported; this server speaks 1"_s;
        QTest::newRow("no protocol")
            << Message(u"hello"_s).with("role"_L1, u"admin"_s)
            << u"field 'proto' of 'hello' is missing; expected an integer"_s;
        QTest::newRow("unknown role")
            << hello(1).with("role"_L1, u"root"_s)
            << u"role 'root' is not supported; expected 'admin' or 'worker'"_s;
        QTest::newRow("short nonce")
            << hello(1).with("nonce"_L1, QByteArray(4, 'n'))
            << u"field 'nonce' of 'hello' must be 16 to 255 bytes, got 4"_s;
        QTest::newRow("empty name")
            << hello(1).with("name"_L1, u""_s)
            << u"field 'name' of 'hello' must be 1 to 255 characters, got 0"_s;
        QTest::newRow("not a hello")
            << Message(u"req"_s) << u"expected 'hello' as the first message, got 'req'"_s;
    }
    void helloIsValidated()
    {
        QFETCH(Message, hello);
        QFETCH(QString, reason);
        ServerHandshake server(m_lookup);
        const auto step = server.handle(hello);
        QCOMPARE(server.state(), ServerHandshake::State::Refused);
        QVERIFY(step.reply);
        QCOMPARE(step.reply->type, QString(msg::Refused));
        QCOMPARE(step.reply->text("reason"_L1), reason);
    }

    void storedCredentialRoundTrip()
    {
        const ScramCredential c = ScramCredential::derive(u"s3cret-Pässwörd"_s);
        const QString stored = c.toString();
        QVERIFY(stored.startsWith(u"scram-sha256$4096$"_s));
        const auto back = ScramCredential::fromString(stored);
        QVERIFY2(back.ok(), qPrintable(back.error()));
        QCOMPARE(*back, c);
        QVERIFY(back->isValid());
        // A copy of the database holds no form of the secret from which it can be read back.
        QVERIFY(!stored.contains(u"s3cret"_s));
        QVERIFY(!stored.contains(QString::fromLatin1(u"s3cret-Pässwörd"_s.toUtf8().toBase64())));
        // The restored credential still verifies logins.
        auto lookup = std::make_shared<MapLookup>();
        lookup->logins.insert(u"admin/carol"_s, *back);
        QVERIFY(runHandshake(lookup, u"admin"_s, u"carol"_s, u"s3cret-Pässwörd"_s).clientDone);
    }

    void storedCredentialErrors_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("error");
        const QString key = QString::fromLatin1(QByteArray(32, 'k').toBase64());
        QTest::newRow("plain password")
            << u"hunter2"_s
            << u"stored credential: expected 'scram-sha256$<iterations>$<salt>$<stored "
               "key>$<server key>', got 1 part(s) starting with 'hunter2'"_s;
        QTest::newRow("few iterations")
            << u"scram-sha256$100$c2FsdA==$%1$%1"_s.arg(key)
            << u"stored credential: iterations must be a number from 4096 to 10000000, got '100'"_s;
        QTest::newRow("bad salt") << u"scram-sha256$4096$***$%1$%1"_s.arg(key)
                                  << u"stored credential: salt must be base64, got '***'"_s;
        QTest::newRow("short key") << u"scram-sha256$4096$c2FsdA==$c2hvcnQ=$%1"_s.arg(key)
                                   << u"stored credential: stored key must be 32 bytes, got 5"_s;
    }
    void storedCredentialErrors()
    {
        QFETCH(QString, text);
        QFETCH(QString, error);
        const auto r = ScramCredential::fromString(text);
        QVERIFY(!r.ok());
        QCOMPARE(r.error(), error);
    }
};

QTEST_GUILESS_MAIN(TstScram)
#include "tst_scram.moc"
