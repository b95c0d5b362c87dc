// HostChannel and the container-host messages: what the worker and kairos-container-host say
// to each other over a local socket (docs/containers.md section 6).
#include <protocol/frame.h>
#include <worker/host_channel.h>
#include <worker/wire.h>

#include <QCborArray>
#include <QLocalServer>
#include <QLocalSocket>
#include <QSignalSpy>
#include <QTest>

#include <memory>

using namespace kairos;

namespace {

// Two HostChannels connected over a real local socket.
struct ChannelPair {
    QLocalServer server;
    std::unique_ptr<HostChannel> worker; // the listening side
    std::unique_ptr<HostChannel> host;   // the connecting side
    QLocalSocket *hostSocket = nullptr;

    bool open()
    {
        server.setSocketOptions(QLocalServer::UserAccessOption);
        if (!server.listen(QStringLiteral("kairos-tst-host-channel-%1")
                               .arg(QCoreApplication::applicationPid())))
            return false;
        hostSocket = new QLocalSocket;
        hostSocket->connectToServer(server.fullServerName());
        if (!hostSocket->waitForConnected(5000) || !server.waitForNewConnection(5000))
            return false;
        worker = std::make_unique<HostChannel>(server.nextPendingConnection());
        host = std::make_unique<HostChannel>(hostSocket);
        return worker->isOpen() && host->isOpen();
    }
};

} // namespace

class TestHostChannel : public QObject {
    Q_OBJECT

private slots:
    void helloRoundTrip()
    {
        const hostmsg::HostHello hello{4242, {QStringLiteral("greet"), QStringLiteral("noop")}};
        const protocol::Message m = hostmsg::encodeHello(hello);
        QCOMPARE(m.type, QStringLiteral("hello"));
        // Through the frame format, as it travels.
        protocol::FrameDecoder decoder;
        decoder.append(protocol::encodeFrame(m));
        const std::optional<protocol::Message> back = decoder.next();
        QVERIFY(back);
        Result<hostmsg::HostHello> decoded = hostmsg::decodeHello(*back);
        QVERIFY2(decoded.ok(), qPrintable(decoded.error()));
        QCOMPARE(*decoded, hello);
    }

    void badHello_data()
    {
        QTest::addColumn<QCborMap>("body");
        QTest::addColumn<QString>("error");
        QTest::newRow("no pid") << QCborMap{{QStringLiteral("processors"), QCborArray{}}}
                                << QStringLiteral("field 'pid' of 'hello' is missing; expected "
                                                  "an integer");
        QTest::newRow("pid text") << QCborMap{{QStringLiteral("pid"), QStringLiteral("x")},
                                              {QStringLiteral("processors"), QCborArray{}}}
                                  << QStringLiteral("field 'pid' of 'hello' must be an integer, "
                                                    "got a text string");
        QTest::newRow("no processors")
            << QCborMap{{QStringLiteral("pid"), 1}}
            << QStringLiteral("field 'processors' of 'hello' is missing; expected an array of "
                              "names");
        QTest::newRow("processor not text")
            << QCborMap{{QStringLiteral("pid"), 1},
                        {QStringLiteral("processors"), QCborArray{QStringLiteral("a"), 7}}}
            << QStringLiteral("field 'processors[1]' of 'hello' must be a text string, got an "
                              "integer");
        QTest::newRow("processors not a list")
            << QCborMap{{QStringLiteral("pid"), 1}, {QStringLiteral("processors"), 3}}
            << QStringLiteral("field 'processors' of 'hello' must be an array of names, got an "
                              "integer");
    }

    void badHello()
    {
        QFETCH(QCborMap, body);
        QFETCH(QString, error);
        Result<hostmsg::HostHello> decoded =
            hostmsg::decodeHello(protocol::Message(QStringLiteral("hello"), body));
        QVERIFY(!decoded.ok());
        QCOMPARE(decoded.error(), error);
    }

    void loadFailedRoundTrip()
    {
        const QString reason = QStringLiteral("metadata lists 'ghost' but the library does not "
                                              "offer it");
        Result<QString> back = hostmsg::decodeLoadFailed(hostmsg::encodeLoadFailed(reason));
        QVERIFY(back.ok());
        QCOMPARE(*back, reason);
        QVERIFY(!hostmsg::decodeLoadFailed(protocol::Message(QStringLiteral("loadFailed"))).ok());
    }

    void releasedRoundTrip()
    {
        const QList<TaskKey> keys{{1, 1, 0, 1}, {7, 2, 13, 3}};
        const protocol::Message m = hostmsg::encodeReleased(keys);
        QCOMPARE(m.type, QStringLiteral("released"));
        Result<QList<TaskKey>> back = hostmsg::decodeReleased(m);
        QVERIFY2(back.ok(), qPrintable(back.error()));
        QCOMPARE(*back, keys);

        protocol::Message bad = m;
        bad.body.insert(QStringLiteral("tasks"),
                        QCborArray{QCborMap{{QStringLiteral("i"), QStringLiteral("x")}}});
        Result<QList<TaskKey>> refused = hostmsg::decodeReleased(bad);
        QVERIFY(!refused.ok());
        QVERIFY2(refused.error().contains(QStringLiteral("'released'")),
                 qPrintable(refused.error()));
    }

    void quitHasItsType() { QCOMPARE(hostmsg::encodeQuit().type, QStringLiteral("quit")); }

    // Messages arrive whole and in order both ways, also one far bigger than a socket buffer.
    void messagesBothWays()
    {
        ChannelPair pair;
        QVERIFY(pair.open());
        QSignalSpy atHost(pair.host.get(), &HostChannel::messageReceived);
        QSignalSpy atWorker(pair.worker.get(), &HostChannel::messageReceived);

        TaskSpec spec;
        spec.instanceId = 12;
        spec.processor = ProcessorKind::Container;
        spec.config.insert(QStringLiteral("ref"), QStringLiteral("hello#greet"));
        spec.payload = QByteArray(3 * 1024 * 1024, 'p');
        pair.worker->send(wire::encodeDispatch({spec}));
        pair.worker->send(hostmsg::encodeQuit());
        pair.host->send(hostmsg::encodeHello({99, {QStringLiteral("greet")}}));

        QTRY_COMPARE_WITH_TIMEOUT(atHost.count(), 2, 5000);
        QTRY_COMPARE_WITH_TIMEOUT(atWorker.count(), 1, 5000);
        const auto dispatch = atHost.at(0).at(0).value<protocol::Message>();
        QCOMPARE(dispatch.type, QStringLiteral("dispatch"));
        const wire::Batch<TaskSpec> specs = wire::decodeDispatch(dispatch);
        QCOMPARE(specs.items.size(), 1);
        QCOMPARE(specs.items.first().payload, spec.payload);
        QCOMPARE(specs.items.first().config, spec.config);
        QCOMPARE(atHost.at(1).at(0).value<protocol::Message>().type, QStringLiteral("quit"));
        QCOMPARE(*hostmsg::decodeHello(atWorker.at(0).at(0).value<protocol::Message>()),
                 (hostmsg::HostHello{99, {QStringLiteral("greet")}}));
    }

    // Garbage from the peer closes the channel with the reason; closed() comes once.
    void garbageClosesTheChannel()
    {
        ChannelPair pair;
        QVERIFY(pair.open());
        QSignalSpy errors(pair.worker.get(), &HostChannel::errorOccurred);
        QSignalSpy closed(pair.worker.get(), &HostChannel::closed);
        QSignalSpy messages(pair.worker.get(), &HostChannel::messageReceived);
        // A frame whose payload is not a CBOR map, written past the host's channel.
        const QByteArray payload("\x01", 1);
        QByteArray frame(4, '\0');
        frame[3] = char(payload.size());
        pair.hostSocket->write(frame + payload);
        QTRY_COMPARE_WITH_TIMEOUT(closed.count(), 1, 5000);
        QCOMPARE(errors.count(), 1);
        QCOMPARE(errors.at(0).at(0).toString(), QStringLiteral("payload is not a map"));
        QCOMPARE(messages.count(), 0);
        QVERIFY(!pair.worker->isOpen());
        pair.worker->send(hostmsg::encodeQuit()); // ignored, no crash
        pair.worker->close();
        QCOMPARE(closed.count(), 1);
    }

    // Either side closing is seen by the other, once; sending on a closed channel does nothing.
    void closeIsSeenByThePeer()
    {
        ChannelPair pair;
        QVERIFY(pair.open());
        QSignalSpy hostClosed(pair.host.get(), &HostChannel::closed);
        QSignalSpy workerClosed(pair.worker.get(), &HostChannel::closed);
        QSignalSpy atHost(pair.host.get(), &HostChannel::messageReceived);
        // What was sent before the close still arrives.
        pair.worker->send(hostmsg::encodeQuit());
        pair.worker->close();
        QVERIFY(!pair.worker->isOpen());
        QTRY_COMPARE_WITH_TIMEOUT(workerClosed.count(), 1, 5000);
        QTRY_COMPARE_WITH_TIMEOUT(hostClosed.count(), 1, 5000);
        QCOMPARE(atHost.count(), 1);
        QVERIFY(!pair.host->isOpen());
        pair.worker->close();
        QCOMPARE(workerClosed.count(), 1);
    }
};

QTEST_GUILESS_MAIN(TestHostChannel)
#include "tst_host_channel.moc"
