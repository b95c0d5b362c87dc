// What a peer relies on from the framing layer: every message comes back exactly as sent however
// the bytes are split, and anything malformed or oversized stops the stream with a reason that
// says what was wrong — before an oversized body is buffered.
#include <protocol/frame.h>

#include <QCborArray>
#include <QElapsedTimer>
#include <QRandomGenerator>
#include <QtEndian>
#include <QtTest>

using namespace kairos::protocol;
using namespace Qt::StringLiterals;

namespace {

Message sampleMessage()
{
    QCborMap nested;
    nested.insert("ids"_L1, QCborArray{1, 2, 3});
    nested.insert("name"_L1, u"nightly-report"_s);
    return Message(u"dispatch"_s)
        .with("instance"_L1, qint64(1) << 40)
        .with("payload"_L1, QByteArray("\x00\x01\xff", 3))
        .with("job"_L1, nested)
        .with("unicode"_L1, u"调度 ✓"_s)
        .with("ok"_L1, true)
        .with("ratio"_L1, 0.25);
}

QByteArray frameOfPayload(const QByteArray &payload)
{
    QByteArray out(4, '\0');
    qToBigEndian(quint32(payload.size()), out.data());
    return out + payload;
}

QByteArray cbor(const QCborValue &v)
{
    return v.toCbor();
}

std::vector<Message> decodeAll(FrameDecoder &decoder)
{
    std::vector<Message> out;
    while (auto m = decoder.next())
        out.push_back(*m);
    return out;
}

} // namespace

class TstFrame : public QObject {
    Q_OBJECT
private slots:
    void roundTrip_data()
    {
        QTest::addColumn<Message>("message");
        QTest::newRow("type only") << Message(u"ping"_s);
        QTest::newRow("every field kind") << sampleMessage();
        QTest::newRow("large byte field")
            << Message(u"log"_s).with("lines"_L1, QByteArray(1 << 20, 'x'));
        QTest::newRow("empty strings and maps")
            << Message(u"x"_s).with(""_L1, QString()).with("m"_L1, QCborMap());
    }
    void roundTrip()
    {
        QFETCH(Message, message);
        const QByteArray frame = encodeFrame(message);
        QCOMPARE(qFromBigEndian<quint32>(frame.constData()), quint32(frame.size() - 4));
        FrameDecoder decoder;
        decoder.append(frame);
        const auto back = decoder.next();
        QVERIFY2(back.has_value(), qPrintable(decoder.errorString()));
        QCOMPARE(back->type, message.type);
        QCOMPARE(back->body, message.body);
        QVERIFY(!decoder.next().has_value());
        QVERIFY(!decoder.hasError());
        QCOMPARE(decoder.bufferedBytes(), 0);
    }

    void typeInBodyIsNotSentTwice()
    {
        Message m(u"real"_s);
        m.body.insert("t"_L1, u"fake"_s);
        m.body.insert("x"_L1, 1);
        FrameDecoder decoder;
        decoder.append(encodeFrame(m));
        const auto back = decoder.next();
        QVERIFY(back);
        QCOMPARE(back->type, u"real"_s);
        QVERIFY(!back->has("t"_L1));
        QCOMPARE(back->integer("x"_L1), 1);
    }

    void splitAcrossChunks_data()
    {
        QTest::addColumn<int>("chunk");
        QTest::newRow("1 byte at a time") << 1;
        QTest::newRow("2 bytes") << 2;
        QTest::newRow("3 bytes (splits every header)") << 3;
        QTest::newRow("7 bytes") << 7;
        QTest::newRow("4 KiB") << 4096;
        QTest::newRow("everything at once") << (1 << 30);
    }
    void splitAcrossChunks()
    {
        QFETCH(int, chunk);
        std::vector<Message> sent;
        QByteArray stream;
        for (int i = 0; i < 20; ++i) {
            Message m = sampleMessage();
            m.body.insert("seq"_L1, i);
            m.body.insert("pad"_L1, QString(i * 37, QLatin1Char('p')));
            sent.push_back(m);
            appendFrame(stream, m);
        }
        FrameDecoder decoder;
        std::vector<Message> received;
        for (qsizetype pos = 0; pos < stream.size(); pos += chunk) {
            decoder.append(stream.mid(pos, chunk));
            for (Message &m : decodeAll(decoder))
                received.push_back(std::move(m));
            QVERIFY2(!decoder.hasError(), qPrintable(decoder.errorString()));
        }
        QCOMPARE(received.size(), sent.size());
        for (size_t i = 0; i < sent.size(); ++i)
            QCOMPARE(received[i], sent[i]);
        QCOMPARE(decoder.bufferedBytes(), 0);
    }

    void oversizedFrameRejectedFromItsHeader()
    {
        FrameDecoder decoder; // default limit 16 MiB
        QByteArray header(4, '\0');
        qToBigEndian(quint32(20000000), header.data());
        decoder.append(header);
        QVERIFY(!decoder.next().has_value());
        QVERIFY(decoder.hasError());
        QCOMPARE(decoder.errorString(),
                 u"frame of 20000000 bytes exceeds the 16777216-byte limit"_s);
        // Nothing of the body is kept once the header is known to be too large.
        decoder.append(QByteArray(1 << 20, 'x'));
        QCOMPARE(decoder.bufferedBytes(), 4);
    }

    void limitIsConfigurable()
    {
        const Message m = Message(u"x"_s).with("b"_L1, QByteArray(100, 'b'));
        const QByteArray frame = encodeFrame(m);
        const qsizetype payload = frame.size() - 4;
        FrameDecoder exact(payload);
        exact.append(frame);
        QVERIFY(exact.next().has_value());
        FrameDecoder tooSmall(payload - 1);
        tooSmall.append(frame.left(4));
        QVERIFY(tooSmall.hasError());
        QCOMPARE(tooSmall.errorString(),
                 u"frame of %1 bytes exceeds the %2-byte limit"_s.arg(payload).arg(payload - 1));
    }

    void malformedPayload_data()
    {
        QTest::addColumn<QByteArray>("stream");
        QTest::addColumn<QString>("errorPrefix");
        QTest::newRow("invalid CBOR byte")
            << frameOfPayload(QByteArray("\xff\xff", 2)) << u"payload is not valid CBOR: "_s;
        QTest::newRow("truncated map")
            << frameOfPayload(QByteArray::fromHex("a2617461")) << u"payload is not valid CBOR: "_s;
        QTest::newRow("empty payload") << frameOfPayload({}) << u"payload is not valid CBOR: "_s;
        QTest::newRow("text instead of map")
            << frameOfPayload(cbor(u"hello"_s)) << u"payload is not a map"_s;
        QTest::newRow("array instead of map")
            << frameOfPayload(cbor(QCborArray{1, 2})) << u"payload is not a map"_s;
        QTest::newRow("integer instead of map")
            << frameOfPayload(cbor(42)) << u"payload is not a map"_s;
        QTest::newRow("map without type")
            << frameOfPayload(cbor(QCborMap{{u"x"_s, 1}})) << u"message has no type"_s;
        QTest::newRow("type is a number")
            << frameOfPayload(cbor(QCborMap{{u"t"_s, 7}})) << u"message has no type"_s;
        QTest::newRow("empty type")
            << frameOfPayload(cbor(QCborMap{{u"t"_s, u""_s}})) << u"message has no type"_s;
        QTest::newRow("bytes after the map")
            << frameOfPayload(cbor(QCborMap{{u"t"_s, u"x"_s}}) + "\x01")
            << u"payload is not valid CBOR: 1 unexpected bytes"_s;
        QByteArray deep(5000, char(0x81)); // 5000 nested one-element arrays
        deep.append(char(0x01));
        QTest::newRow("nesting deeper than the parser allows")
            << frameOfPayload(deep) << u"payload is not valid CBOR: "_s;
        QTest::newRow("string longer than the frame")
            << frameOfPayload(QByteArray::fromHex("a161745bffffffffffffff00"))
            << u"payload is not valid CBOR: "_s;
    }
    void malformedPayload()
    {
        QFETCH(QByteArray, stream);
        QFETCH(QString, errorPrefix);
        FrameDecoder decoder;
        // A good frame first: it is delivered; the bad one after it stops the stream.
        decoder.append(encodeFrame(Message(u"ok"_s)) + stream + encodeFrame(Message(u"after"_s)));
        const auto first = decoder.next();
        QVERIFY(first);
        QCOMPARE(first->type, u"ok"_s);
        QVERIFY(!decoder.next().has_value());
        QVERIFY(decoder.hasError());
        QVERIFY2(decoder.errorString().startsWith(errorPrefix), qPrintable(decoder.errorString()));
        QVERIFY(!decoder.next().has_value()); // never resynchronises
    }

    void unknownFieldsAreIgnoredByReaders()
    {
        QCborMap map{{u"t"_s, u"hello"_s}, {u"proto"_s, 1}, {u"futureField"_s, QCborArray{1}}};
        FrameDecoder decoder;
        decoder.append(frameOfPayload(cbor(map)));
        const auto m = decoder.next();
        QVERIFY(m);
        QCOMPARE(m->requireInteger("proto"_L1).value(), 1);
    }

    void fieldAccessorsNameTheProblem_data()
    {
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("expected");
        QTest::newRow("wrong type") << u"nonce"_s
                                    << u"field 'nonce' of 'hello' must be a byte string, got a "
                                       "text string"_s;
        QTest::newRow("missing") << u"salt"_s
                                 << u"field 'salt' of 'hello' is missing; expected a byte string"_s;
    }
    void fieldAccessorsNameTheProblem()
    {
        QFETCH(QString, field);
        QFETCH(QString, expected);
        const Message m = Message(u"hello"_s).with("nonce"_L1, u"not bytes"_s);
        const auto r = m.requireBytes(QLatin1StringView(field.toLatin1()));
        QVERIFY(!r.ok());
        QCOMPARE(r.error(), expected);
        // Lenient accessors fall back instead of misreading.
        QCOMPARE(m.bytes("nonce"_L1, "fallback"), QByteArray("fallback"));
        QCOMPARE(m.integer("nonce"_L1, -1), -1);
        QCOMPARE(m.text("nonce"_L1), u"not bytes"_s);
    }

    void randomBytesNeverCrashOrHang()
    {
        // A cheap, deterministic slice of what the fuzz target does for hours.
        QRandomGenerator rng(20240601);
        int errors = 0;
        for (int round = 0; round < 2000; ++round) {
            QByteArray bytes(rng.bounded(1, 200), '\0');
            for (char &c : bytes)
                c = char(rng.bounded(256));
            // Small length prefixes so that payloads actually get parsed.
            bytes[0] = 0;
            bytes[1] = 0;
            FrameDecoder decoder(1024);
            qsizetype pos = 0;
            while (pos < bytes.size()) {
                const int n = rng.bounded(1, 16);
                decoder.append(bytes.mid(pos, n));
                pos += n;
                while (auto m = decoder.next())
                    QVERIFY(!m->type.isEmpty());
            }
            errors += decoder.hasError() ? 1 : 0;
        }
        QVERIFY(errors > 0); // the generator really produced malformed input
    }

    void consumedBytesAreReleased()
    {
        // A long stream in which a partial frame is always pending (the buffer is never empty)
        // must not grow the decoder's memory with the bytes already consumed.
        const QByteArray frame = encodeFrame(sampleMessage());
        constexpr int kFrames = 20000; // about 2 MB in total
        FrameDecoder decoder;
        int delivered = 0;
        decoder.append(frame.left(frame.size() / 2));
        for (int i = 0; i < kFrames; ++i) {
            decoder.append(frame.mid(frame.size() / 2) + frame.left(frame.size() / 2));
            delivered += int(decodeAll(decoder).size());
            QCOMPARE(decoder.bufferedBytes(), frame.size() / 2);
        }
        QCOMPARE(delivered, kFrames);
        QVERIFY(qsizetype(frame.size()) * kFrames > 1024 * 1024);
        QVERIFY2(decoder.memoryBytes() < 512 * 1024,
                 qPrintable(u"decoder holds %1 bytes"_s.arg(decoder.memoryBytes())));
    }

    void smallMessagesTakeMicroseconds()
    {
        const Message m = Message(u"req"_s)
                              .with("id"_L1, 12345)
                              .with("m"_L1, u"jobs.list"_s)
                              .with("p"_L1, QCborMap{{u"limit"_s, 50}});
        constexpr int kRounds = 20000;
        QByteArray stream;
        QElapsedTimer timer;
        timer.start();
        for (int i = 0; i < kRounds; ++i)
            appendFrame(stream, m);
        const qint64 encodeNs = timer.nsecsElapsed();
        FrameDecoder decoder;
        decoder.append(stream);
        timer.restart();
        int n = 0;
        while (decoder.next())
            ++n;
        const qint64 decodeNs = timer.nsecsElapsed();
        QCOMPARE(n, kRounds);
        const double encodeUs = encodeNs / 1000.0 / kRounds;
        const double decodeUs = decodeNs / 1000.0 / kRounds;
        qInfo("encode %.2f us/message, decode %.2f us/message", encodeUs, decodeUs);
        // Generous bounds for a loaded, shared machine; typical figures are ~1 us.
        QVERIFY2(encodeUs < 50 && decodeUs < 50, "small messages should take microseconds");
    }
};

QTEST_GUILESS_MAIN(TstFrame)
#include "tst_frame.moc"
