// Real sockets on 127.0.0.1: what a console, kairosctl or worker sees when it connects to a
// server, and what the server does with wrong secrets, old clients and hostile bytes.
#include <protocol/listener.h>

#include <QProcess>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QtEndian>
#include <QtTest>

using namespace kairos;
using namespace kairos::protocol;
using namespace Qt::StringLiterals;

namespace {

constexpr int kWaitMs = 5000;

class MapLookup : public CredentialLookup {
public:
    std::optional<ScramCredential> find(const QString &role, const QString &name) override
    {
        auto it = logins.find(role + u'/' + name);
        if (it == logins.end())
            return std::nullopt;
        return *it;
    }
    QHash<QString, ScramCredential> logins;
};

// The server side of the tests: answers "echo" with its params, "fail" with an error, keeps
// "hold" requests for the test to answer later, and answers unknown message types.
class TestServer : public QObject {
public:
    explicit TestServer(std::shared_ptr<CredentialLookup> lookup, ListenerOptions options = {})
        : listener(std::move(lookup), withServerId(std::move(options)))
    {
        connect(&listener, &Listener::connectionReady, this, [this](Connection *c) {
            connections.append(c);
            connect(c, &Connection::closed, this, [this, c] { connections.removeAll(c); });
            connect(c, &Connection::requestReceived, this,
                    [this, c](qint64 id, const QString &method, const QCborMap &params) {
                        if (method == u"echo"_s)
                            c->reply(id, params);
                        else if (method == u"fail"_s)
                            c->reply(id, makeError(u"job 42 does not exist"_s));
                        else if (method == u"hold"_s)
                            held.append({c, id});
                        else
                            c->reply(id, makeError(u"unknown method %1"_s.arg(method)));
                    });
            connect(c, &Connection::messageReceived, c,
                    [c](const Message &m) { c->replyUnknownType(m); });
        });
    }
    static ListenerOptions withServerId(ListenerOptions o)
    {
        o.connection.auth.serverId = u"node-test"_s;
        return o;
    }

    Listener listener;
    QList<QPointer<Connection>> connections;
    QList<std::pair<QPointer<Connection>, qint64>> held;
};

QByteArray rawFrame(const QByteArray &payload)
{
    QByteArray out(4, '\0');
    qToBigEndian(quint32(payload.size()), out.data());
    return out + payload;
}

QByteArray validHello()
{
    return encodeFrame(Message(u"hello"_s)
                           .with("proto"_L1, kProtocolVersion)
                           .with("role"_L1, u"admin"_s)
                           .with("name"_L1, u"alice"_s)
                           .with("nonce"_L1, QByteArray(18, 'n')));
}

} // namespace

class TstConnection : public QObject {
    Q_OBJECT
private:
    std::shared_ptr<MapLookup> m_lookup = std::make_shared<MapLookup>();

    // A client connected and authenticated as admin alice; the test owns it.
    std::unique_ptr<Connection> connectClient(TestServer &server, const QString &secret,
                                              const TlsOptions &tls = {})
    {
        auto client = std::make_unique<Connection>();
        client->connectToServer(u"127.0.0.1"_s, server.listener.serverPort(), u"admin"_s,
                                u"alice"_s, secret, tls);
        return client;
    }

    // Waits until the client is ready or has failed (whichever comes first), with a deadline.
    static bool waitReady(Connection &client)
    {
        if (client.isReady())
            return true;
        QEventLoop loop;
        QString failure;
        connect(&client, &Connection::ready, &loop, &QEventLoop::quit);
        connect(&client, &Connection::failed, &loop, [&](const QString &reason) {
            failure = reason;
            loop.quit();
        });
        QTimer::singleShot(kWaitMs, &loop, &QEventLoop::quit);
        loop.exec();
        if (!failure.isEmpty())
            qWarning() << "client failed:" << failure;
        return client.isReady();
    }

    static QString waitFailed(Connection &client)
    {
        QSignalSpy failed(&client, &Connection::failed);
        if (!failed.wait(kWaitMs) || client.isReady())
            return u"<no failure>"_s;
        return failed.first().first().toString();
    }

private slots:
    void initTestCase()
    {
        m_lookup->logins.insert(u"admin/alice"_s, ScramCredential::derive(u"correct horse"_s));
        m_lookup->logins.insert(u"worker/billing"_s, ScramCredential::derive(u"w-secret"_s));
    }

    void handshakeSucceeds()
    {
        TestServer server(m_lookup);
        QVERIFY(server.listener.listen(QHostAddress::LocalHost).ok());
        QVERIFY(server.listener.serverPort() != 0);
        QSignalSpy serverReady(&server.listener, &Listener::connectionReady);
        auto client = connectClient(server, u"correct horse"_s);
        QVERIFY(waitReady(*client));
        QTRY_COMPARE_WITH_TIMEOUT(serverReady.size(), 1, kWaitMs);
        auto *serverSide = serverReady.first().first().value<Connection *>();
        QCOMPARE(serverSide->role(), u"admin"_s);
        QCOMPARE(serverSide->name(), u"alice"_s);
        QVERIFY(serverSide->peerAddress().startsWith(u"127.0.0.1:"_s));
        QCOMPARE(client->peerInfo().value(u"serverId"_s).toString(), u"node-test"_s);
        QCOMPARE(client->protocolVersion(), kProtocolVersion);
    }

    void wrongSecretIsRefusedAndLogged()
    {
        TestServer server(m_lookup);
        QVERIFY(server.listener.listen(QHostAddress::LocalHost).ok());
        QSignalSpy refusedOnServer(&server.listener, &Listener::handshakeFailed);
        QTest::ignoreMessage(
            QtWarningMsg,
            QRegularExpression(
                u"^refused login of admin 'alice' from 127\\.0\\.0\\.1:\\d+: wrong credentials$"_s));
        auto client = connectClient(server, u"wrong"_s);
        QCOMPARE(waitFailed(*client), QString(kAuthFailedReason));
        QTRY_COMPARE_WITH_TIMEOUT(refusedOnServer.size(), 1, kWaitMs);
        QVERIFY(server.connections.isEmpty());
    }

    void unknownNameIsRefusedLikeAWrongSecret()
    {
        TestServer server(m_lookup);
        QVERIFY(server.listener.listen(QHostAddress::LocalHost).ok());
        QTest::ignoreMessage(QtWarningMsg,
                             QRegularExpression(u"^refused login of worker 'ghost' from "
                                                "127\\.0\\.0\\.1:\\d+: wrong credentials"_s));
        Connection client;
        client.connectToServer(u"127.0.0.1"_s, server.listener.serverPort(), u"worker"_s,
                               u"ghost"_s, u"anything"_s);
        QCOMPARE(waitFailed(client), QString(kAuthFailedReason));
    }

    void oldProtocolVersionIsRefusedQuickly()
    {
        TestServer server(m_lookup);
        QVERIFY(server.listener.listen(QHostAddress::LocalHost).ok());
        QTest::ignoreMessage(QtWarningMsg,
                             QRegularExpression(u"^refused connection from 127\\.0\\.0\\.1:\\d+: "
                                                "protocol version 0 is not supported"_s));
        QElapsedTimer timer;
        timer.start();
        Connection client;
        client.setProtocolVersion(0);
        client.connectToServer(u"127.0.0.1"_s, server.listener.serverPort(), u"admin"_s, u"alice"_s,
                               u"correct horse"_s);
        QCOMPARE(waitFailed(client),
                 u"protocol version 0 is not supported; this server speaks 1"_s);
        QVERIFY2(timer.elapsed() < 2000, "a refusal must not wait for a timeout");
    }

    void garbageClosesOnlyThatConnection_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("logPattern");
        QTest::newRow("random bytes")
            << rawFrame(QByteArray("\xff\xfe\x00garbage", 10))
            << u"^closing connection from 127\\.0\\.0\\.1:\\d+: payload is not valid CBOR"_s;
        QTest::newRow("HTTP request")
            << QByteArray("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            << u"^closing connection from 127\\.0\\.0\\.1:\\d+: frame of \\d+ bytes exceeds the "
               "65536-byte limit$"_s;
        QTest::newRow("oversized header, no body")
            << QByteArray("\x7f\xff\xff\xff", 4)
            << u"^closing connection from 127\\.0\\.0\\.1:\\d+: frame of 2147483647 bytes "
               "exceeds"_s;
        QTest::newRow("payload is not a map")
            << rawFrame(QCborValue(u"hi"_s).toCbor())
            << u"^closing connection from 127\\.0\\.0\\.1:\\d+: payload is not a map$"_s;
        QTest::newRow("request before the handshake")
            << encodeFrame(Message(u"req"_s).with("id"_L1, 1).with("m"_L1, u"jobs.delete"_s))
            << u"^refused connection from 127\\.0\\.0\\.1:\\d+: expected 'hello' as the first "
               "message, got 'req'$"_s;
        QTest::newRow("garbage after a valid hello")
            << validHello() + rawFrame("\x1f\x1f")
            << u"^closing connection from 127\\.0\\.0\\.1:\\d+: payload is not valid CBOR"_s;
        QTest::newRow("TLS to a plain listener")
            << QByteArray("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)
            << u"^closing connection from 127\\.0\\.0\\.1:\\d+: the peer started a TLS "
               "handshake, but this listener is not configured for TLS$"_s;
    }
    void garbageClosesOnlyThatConnection()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, logPattern);
        TestServer server(m_lookup);
        QVERIFY(server.listener.listen(QHostAddress::LocalHost).ok());
        auto good = connectClient(server, u"correct horse"_s);
        QVERIFY(waitReady(*good));

        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(logPattern));
        QSignalSpy refusedOnServer(&server.listener, &Listener::handshakeFailed);
        QTcpSocket raw;
        QSignalSpy rawClosed(&raw, &QTcpSocket::disconnected);
        raw.connectToHost(QHostAddress::LocalHost, server.listener.serverPort());
        QVERIFY(raw.waitForConnected(kWaitMs));
        raw.write(bytes);
        // The server hangs up on its own (no timeout involved: the handshake timeout is 10 s).
        QVERIFY(rawClosed.wait(kWaitMs));
        QCOMPARE(refusedOnServer.size(), 1);

        // The authenticated connection is untouched and still answers.
        QVERIFY(good->isReady());
        std::optional<Result<QCborMap>> answer;
        good->request(u"echo"_s, QCborMap{{u"n"_s, 7}}, this,
                      [&](Result<QCborMap> r) { answer = std::move(r); });
        QTRY_VERIFY_WITH_TIMEOUT(answer.has_value(), kWaitMs);
        QVERIFY(answer->ok());
        QCOMPARE(answer->value().value(u"n"_s).toInteger(), 7);
    }

    void oversizedMessageAfterLoginClosesOnlyThatConnection()
    {
        ListenerOptions options;
        options.connection.maxFrameBytes = 1024;
        TestServer server(m_lookup, options);
        QVERIFY(server.listener.listen(QHostAddress::LocalHost).ok());
        auto big = connectClient(server, u"correct horse"_s);
        auto other = connectClient(server, u"correct horse"_s);
        QVERIFY(waitReady(*big));
        QVERIFY(waitReady(*other));

        QTest::ignoreMessage(QtWarningMsg,
                             QRegularExpression(u"^closing connection from 127\\.0\\.0\\.1:\\d+ "
                                                "\\(admin 'alice'\\): frame of \\d+ bytes exceeds "
                                                "the 1024-byte limit$"_s));
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"reported an error: frame of"_s));
        QSignalSpy closed(big.get(), &Connection::closed);
        big->sendEvent(u"log.batch"_s, QByteArray(4096, 'x'));
        QVERIFY(closed.wait(kWaitMs));
        const QString reason = closed.first().first().toString();
        QVERIFY2(reason.contains(u"exceeds the 1024-byte limit"_s), qPrintable(reason));

        std::optional<Result<QCborMap>> answer;
        other->request(u"echo"_s, QCborMap{{u"still"_s, u"here"_s}}, this,
                       [&](Result<QCborMap> r) { answer = std::move(r); });
        QTRY_VERIFY_WITH_TIMEOUT(answer.has_value(), kWaitMs);
        QCOMPARE(answer->value().value(u"still"_s).toString(), u"here"_s);
    }

    void requestAndResponse()
    {
        TestServer server(m_lookup);
        QVERIFY(server.listener.listen(QHostAddress::LocalHost).ok());
        auto client = connectClient(server, u"correct horse"_s);
        QVERIFY(waitReady(*client));

        QCborMap params{{u"name"_s, u"nightly"_s}, {u"ids"_s, QCborArray{1, 2}}};
        std::optional<Result<QCborMap>> echo, fail, unknown;
        client->request(u"echo"_s, params, this, [&](Result<QCborMap> r) { echo = std::move(r); });
        client->request(u"fail"_s, {}, this, [&](Result<QCborMap> r) { fail = std::move(r); });
        client->request(u"nope"_s, {}, this, [&](Result<QCborMap> r) { unknown = std::move(r); });
        QTRY_VERIFY_WITH_TIMEOUT(echo && fail && unknown, kWaitMs);
        QVERIFY2(echo->ok(), qPrintable(echo->error()));
        QCOMPARE(echo->value(), params);
        QVERIFY(!fail->ok());
        QCOMPARE(fail->error(), u"job 42 does not exist"_s);
        QCOMPARE(unknown->error(), u"unknown method nope"_s);
    }

    void manyRequestsInOneTurnAllAnswered()
    {
        TestServer server(m_lookup);
        QVERIFY(server.listener.listen(QHostAddress::LocalHost).ok());
        auto client = connectClient(server, u"correct horse"_s);
        QVERIFY(waitReady(*client));
        constexpr int kCount = 2000;
        QList<qint64> order;
        for (int i = 0; i < kCount; ++i)
            client->request(u"echo"_s, QCborMap{{u"i"_s, i}}, this, [&order](Result<QCborMap> r) {
                order.append(r.ok() ? r->value(u"i"_s).toInteger() : -1);
            });
        QTRY_COMPARE_WITH_TIMEOUT(order.size(), kCount, 10000);
        for (int i = 0; i < kCount; ++i)
            QCOMPARE(order[i], i);
    }

    void requestTimesOutExactlyOnce()
    {
        TestServer server(m_lookup);
        QVERIFY(server.listener.listen(QHostAddress::LocalHost).ok());
        auto client = connectClient(server, u"correct horse"_s);
        QVERIFY(waitReady(*client));
        QList<Result<QCborMap>> calls;
        client->request(
            u"hold"_s, {}, this, [&](Result<QCborMap> r) { calls.append(r); }, 200);
        QTRY_COMPARE_WITH_TIMEOUT(calls.size(), 1, kWaitMs);
        QCOMPARE(calls.first().error(), u"request 'hold' timed out after 200 ms"_s);

        // The late answer arrives after the timeout and must not run the callback again.
        QTRY_COMPARE_WITH_TIMEOUT(server.held.size(), 1, kWaitMs);
        server.held.first().first->reply(server.held.first().second, QCborMap{{u"late"_s, 1}});
        bool pinged = false;
        client->request(u"echo"_s, {}, this, [&](Result<QCborMap>) { pinged = true; });
        QTRY_VERIFY_WITH_TIMEOUT(pinged, kWaitMs); // the late reply was processed before this
        QCOMPARE(calls.size(), 1);
    }

    void callbackSkippedWhenContextDestroyed()
    {
        TestServer server(m_lookup);
        QVERIFY(server.listener.listen(QHostAddress::LocalHost).ok());
        auto client = connectClient(server, u"correct horse"_s);
        QVERIFY(waitReady(*client));
        int called = 0;
        auto *context = new QObject;
        client->request(u"hold"_s, {}, context, [&](Result<QCborMap>) { ++called; });
        QTRY_COMPARE_WITH_TIMEOUT(server.held.size(), 1, kWaitMs);
        delete context;
        server.held.first().first->reply(server.held.first().second, QCborMap());
        bool pinged = false;
        client->request(u"echo"_s, {}, this, [&](Result<QCborMap>) { pinged = true; });
        QTRY_VERIFY_WITH_TIMEOUT(pinged, kWaitMs);
        QCOMPARE(called, 0);
    }

    void connectionLossFailsPendingRequests()
    {
        TestServer server(m_lookup);
        QVERIFY(server.listener.listen(QHostAddress::LocalHost).ok());
        auto client = connectClient(server, u"correct horse"_s);
        QVERIFY(waitReady(*client));
        QList<Result<QCborMap>> calls;
        client->request(u"hold"_s, {}, this, [&](Result<QCborMap> r) { calls.append(r); });
        QTRY_COMPARE_WITH_TIMEOUT(server.held.size(), 1, kWaitMs);
        QSignalSpy closed(client.get(), &Connection::closed);
        server.held.first().first->close(u"server shutting down"_s);
        QTRY_COMPARE_WITH_TIMEOUT(calls.size(), 1, kWaitMs);
        QCOMPARE(calls.first().error(),
                 u"request 'hold' failed: connection closed (the peer closed the connection)"_s);
        QTRY_COMPARE_WITH_TIMEOUT(closed.size(), 1, kWaitMs);
        QVERIFY(!client->isReady());

        // A request on a closed connection fails too, on a later turn, exactly once.
        int after = 0;
        QString error;
        client->request(u"echo"_s, {}, this, [&](Result<QCborMap> r) {
            ++after;
            error = r.error();
        });
        QCOMPARE(after, 0); // never inside request()
        QTRY_COMPARE_WITH_TIMEOUT(after, 1, kWaitMs);
        QVERIFY2(error.startsWith(u"request 'echo' failed: connection closed"_s),
                 qPrintable(error));
    }

    void eventsArePushedInOrder()
    {
        TestServer server(m_lookup);
        QVERIFY(server.listener.listen(QHostAddress::LocalHost).ok());
        auto client = connectClient(server, u"correct horse"_s);
        QVERIFY(waitReady(*client));
        QTRY_COMPARE_WITH_TIMEOUT(server.connections.size(), 1, kWaitMs);
        QSignalSpy events(client.get(), &Connection::eventReceived);
        for (int i = 0; i < 500; ++i)
            server.connections.first()->sendEvent(
                u"instance.changed"_s, QCborMap{{u"id"_s, i}, {u"status"_s, u"RUNNING"_s}});
        QTRY_COMPARE_WITH_TIMEOUT(events.size(), 500, kWaitMs);
        for (int i = 0; i < 500; ++i) {
            QCOMPARE(events.at(i).at(0).toString(), u"instance.changed"_s);
            const auto data = events.at(i).at(1).value<QCborValue>().toMap();
            QCOMPARE(data.value(u"id"_s).toInteger(), i);
        }
    }

    void unknownMessageTypeIsAnswered()
    {
        TestServer server(m_lookup);
        QVERIFY(server.listener.listen(QHostAddress::LocalHost).ok());
        auto client = connectClient(server, u"correct horse"_s);
        QVERIFY(waitReady(*client));
        QSignalSpy messages(client.get(), &Connection::messageReceived);
        // The client answers what it does not know too; an `error` must not bounce back and forth.
        connect(client.get(), &Connection::messageReceived, client.get(),
                [c = client.get()](const Message &m) { c->replyUnknownType(m); });
        QTest::ignoreMessage(QtWarningMsg,
                             QRegularExpression(u"reported an error: unknown message type "
                                                "teleport$"_s));
        client->send(Message(u"teleport"_s).with("where"_L1, u"mars"_s));
        QTRY_COMPARE_WITH_TIMEOUT(messages.size(), 1, kWaitMs);
        const auto reply = messages.first().first().value<Message>();
        QCOMPARE(reply.type, u"error"_s);
        QCOMPARE(reply.text("reason"_L1), u"unknown message type teleport"_s);
        bool pinged = false;
        client->request(u"echo"_s, {}, this, [&](Result<QCborMap>) { pinged = true; });
        QTRY_VERIFY_WITH_TIMEOUT(pinged, kWaitMs);
        QCOMPARE(messages.size(), 1);
        QVERIFY(client->isReady());
    }

    void silentPeerTimesOut()
    {
        ListenerOptions options;
        options.connection.handshakeTimeoutMs = 300;
        TestServer server(m_lookup, options);
        QVERIFY(server.listener.listen(QHostAddress::LocalHost).ok());
        QTest::ignoreMessage(QtWarningMsg,
                             QRegularExpression(u"^closing connection from 127\\.0\\.0\\.1:\\d+: "
                                                "handshake not finished within 300 ms$"_s));
        QSignalSpy refusedOnServer(&server.listener, &Listener::handshakeFailed);
        QTcpSocket raw;
        QSignalSpy rawClosed(&raw, &QTcpSocket::disconnected);
        raw.connectToHost(QHostAddress::LocalHost, server.listener.serverPort());
        QVERIFY(rawClosed.wait(kWaitMs));
        QCOMPARE(refusedOnServer.size(), 1);
        QCOMPARE(refusedOnServer.first().at(1).toString(),
                 u"handshake not finished within 300 ms"_s);
    }

    void nonLoopbackNeedsTls()
    {
        Listener listener(m_lookup);
        const Status s = listener.listen(QHostAddress::AnyIPv4);
        QVERIFY(!s.ok());
        QVERIFY2(s.error().startsWith(u"refusing to listen on 0.0.0.0 without TLS"_s),
                 qPrintable(s.error()));
        QVERIFY(s.error().contains(u"allowInsecure"_s));
        QVERIFY(!listener.isListening());
    }

    void cannotConnectIsReported()
    {
        // Find a port nobody listens on: listen, note the port, stop.
        QTcpServer probe;
        QVERIFY(probe.listen(QHostAddress::LocalHost));
        const quint16 port = probe.serverPort();
        probe.close();
        Connection client;
        client.connectToServer(u"127.0.0.1"_s, port, u"admin"_s, u"alice"_s, u"x"_s);
        const QString reason = waitFailed(client);
        QVERIFY2(reason.startsWith(u"cannot connect to 127.0.0.1:%1: "_s.arg(port)),
                 qPrintable(reason));
    }

    void tlsHandshakeWithSelfSignedCertificate()
    {
        const QString openssl = QStandardPaths::findExecutable(u"openssl"_s);
        if (openssl.isEmpty())
            QSKIP("the openssl command is not installed, so no test certificate can be made");
        if (!QSslSocket::supportsSsl())
            QSKIP("this Qt build has no TLS backend");
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString cert = dir.filePath(u"server.pem"_s);
        const QString key = dir.filePath(u"server.key"_s);
        QProcess gen;
        gen.start(openssl,
                  {u"req"_s, u"-x509"_s, u"-newkey"_s, u"ec"_s, u"-pkeyopt"_s,
                   u"ec_paramgen_curve:prime256v1"_s, u"-nodes"_s, u"-days"_s, u"2"_s, u"-subj"_s,
                   u"/CN=localhost"_s, u"-addext"_s, u"subjectAltName=DNS:localhost,IP:127.0.0.1"_s,
                   u"-keyout"_s, key, u"-out"_s, cert});
        QVERIFY(gen.waitForFinished(30000));
        QVERIFY2(gen.exitCode() == 0, gen.readAllStandardError().constData());

        ListenerOptions options;
        options.certificateFile = cert;
        options.privateKeyFile = key;
        TestServer server(m_lookup, options);
        QVERIFY(server.listener.listen(QHostAddress::LocalHost).ok());
        QVERIFY(server.listener.usesTls());

        // Trusting the self-signed certificate: TLS, then the normal handshake and RPC.
        TlsOptions tls;
        tls.enabled = true;
        tls.caCertificateFile = cert;
        tls.peerVerifyName = u"localhost"_s;
        auto client = connectClient(server, u"correct horse"_s, tls);
        QVERIFY(waitReady(*client));
        std::optional<Result<QCborMap>> answer;
        client->request(u"echo"_s, QCborMap{{u"over"_s, u"tls"_s}}, this,
                        [&](Result<QCborMap> r) { answer = std::move(r); });
        QTRY_VERIFY_WITH_TIMEOUT(answer.has_value(), kWaitMs);
        QCOMPARE(answer->value().value(u"over"_s).toString(), u"tls"_s);

        // Not trusting it: the client refuses the server and says why.
        TlsOptions untrusted;
        untrusted.enabled = true;
        auto refused = connectClient(server, u"correct horse"_s, untrusted);
        const QString reason = waitFailed(*refused);
        QVERIFY2(reason.startsWith(u"cannot connect to 127.0.0.1:"_s)
                     && reason.contains(u"certificate"_s, Qt::CaseInsensitive),
                 qPrintable(reason));

        // A plain client cannot log in to a TLS listener.
        auto plain = connectClient(server, u"correct horse"_s);
        QVERIFY(plain->state() != Connection::State::Ready);
        const QString plainReason = waitFailed(*plain);
        QVERIFY2(plainReason.contains(u"TLS"_s), qPrintable(plainReason));
    }
};

QTEST_GUILESS_MAIN(TstConnection)
#include "tst_connection.moc"
