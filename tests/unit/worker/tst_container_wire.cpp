// The container messages of the worker protocol (docs/containers.md section 5) as a server and a
// worker rely on them: every message survives real frame bytes unchanged, uses the documented
// field names, and hostile input is refused with an error naming the field while a batch keeps
// its good entries; a fetchReply that cannot be read but names its fetch still reaches the
// download waiting for it. Also keeps the container seeds of fuzz/corpus/worker current.
#include <protocol/frame.h>
#include <worker/container_wire.h>

#include <QCborArray>
#include <QDir>
#include <QFile>
#include <QtTest>

#include <limits>

using namespace kairos;
using namespace kairos::protocol;
using namespace Qt::StringLiterals;

Q_DECLARE_METATYPE(kairos::ContainerOrder)
Q_DECLARE_METATYPE(kairos::DeployStage)
Q_DECLARE_METATYPE(kairos::FetchRequest)
Q_DECLARE_METATYPE(kairos::FetchReply)

namespace {

constexpr qint64 kInt64Max = std::numeric_limits<qint64>::max();
const QString kShaA = QString(64, u'a');
const QString kShaB = u"0123456789abcdef"_s.repeated(4);

Message throughFrame(const Message &m)
{
    FrameDecoder decoder;
    decoder.append(encodeFrame(m));
    const auto back = decoder.next();
    if (!back) {
        qWarning() << "frame did not decode:" << decoder.errorString();
        return {};
    }
    return *back;
}

ContainerOrder order(qint64 id, const QString &name, const QString &sha, qint64 size,
                     ContainerIsolation iso, const QString &version)
{
    ContainerOrder o;
    o.deployId = id;
    o.container = name;
    o.sha256 = sha;
    o.sizeBytes = size;
    o.isolation = iso;
    o.version = version;
    return o;
}

ContainerOrder reasonOrder(qint64 id, const QString &name, const QString &reason)
{
    ContainerOrder o;
    o.deployId = id;
    o.container = name;
    o.reason = reason;
    return o;
}

DeployStage stage(qint64 id, const QString &name, DeployStageName st, qint64 bytes, qint64 total,
                  const QString &reason = {})
{
    DeployStage s;
    s.deployId = id;
    s.container = name;
    s.sha256 = kShaB;
    s.stage = st;
    s.bytes = bytes;
    s.total = total;
    s.reason = reason;
    return s;
}

QCborMap goodOrder()
{
    QCborMap m;
    m.insert("d"_L1, 7);
    m.insert("n"_L1, u"hello"_s);
    m.insert("h"_L1, kShaA);
    m.insert("z"_L1, 1024);
    m.insert("iso"_L1, u"process"_s);
    m.insert("v"_L1, u"2.0"_s);
    return m;
}

QCborMap goodStage()
{
    QCborMap m;
    m.insert("d"_L1, 7);
    m.insert("n"_L1, u"hello"_s);
    m.insert("h"_L1, kShaA);
    m.insert("st"_L1, u"DOWNLOADING"_s);
    m.insert("b"_L1, 512);
    m.insert("t"_L1, 1024);
    return m;
}

QCborMap goodRequest()
{
    QCborMap m;
    m.insert("f"_L1, 3);
    m.insert("h"_L1, kShaA);
    m.insert("o"_L1, 0);
    m.insert("l"_L1, 1024);
    return m;
}

QCborMap goodReply()
{
    QCborMap m;
    m.insert("f"_L1, 3);
    m.insert("h"_L1, kShaA);
    m.insert("o"_L1, 0);
    m.insert("data"_L1, QByteArray("\x7f"
                                   "ELF",
                                   4));
    return m;
}

QCborMap with(QCborMap m, QLatin1StringView key, const QCborValue &v)
{
    m.insert(key, v);
    return m;
}

QCborMap without(QCborMap m, QLatin1StringView key)
{
    m.remove(key);
    return m;
}

Message list(const QString &type, QLatin1StringView field, const QCborArray &entries)
{
    return Message(type).with(field, entries);
}

// A decode as text: "items=N", then the errors.
QStringList decodeAny(const QString &decoder, const Message &m)
{
    auto batchText = [](const auto &batch) {
        QStringList out;
        out << u"items=%1"_s.arg(batch.items.size());
        out += batch.errors;
        return out;
    };
    if (decoder == "deploy"_L1)
        return batchText(wire::decodeDeploy(m));
    if (decoder == "deployStage"_L1)
        return batchText(wire::decodeDeployStage(m));
    if (decoder == "fetch"_L1)
        return batchText(wire::decodeFetch(m));
    if (decoder == "fetchReply"_L1)
        return batchText(wire::decodeFetchReply(m));
    if (decoder == "want"_L1)
        return batchText(wire::decodeWant(m));
    return {u"no decoder %1"_s.arg(decoder)};
}

QStringList keysOf(const QCborMap &m)
{
    QStringList out;
    for (auto it = m.constBegin(); it != m.constEnd(); ++it)
        out << it.key().toString();
    out.sort();
    return out;
}

// Valid container messages: the fuzz target's seeds (fuzz/corpus/worker/container_*).
QList<QPair<QString, Message>> seedMessages()
{
    FetchReply data{3,
                    kShaA,
                    1048576,
                    QByteArray("\x7f"
                               "ELF\x02\x01\x01",
                               7),
                    {}};
    FetchReply error{4, kShaA, 2097152, {}, u"no stored version aaaaaaaa"_s};
    return {
        {u"container_deploy"_s,
         wire::encodeDeploy(
             {order(7, u"hello"_s, kShaA, 5242880, ContainerIsolation::Process, u"2.0"_s),
              order(0, u"mapsum"_s, kShaB, 4096, ContainerIsolation::InProcess, u"1.0"_s),
              reasonOrder(0, u"ghost"_s, u"no version of 'ghost' is deployed"_s)})},
        {u"container_deploy_stage"_s,
         wire::encodeDeployStage(
             {stage(7, u"hello"_s, DeployStageName::Downloading, 1048576, 5242880),
              stage(7, u"hello"_s, DeployStageName::Failed, 0, 5242880,
                    u"digest mismatch: expected a, got b"_s)})},
        {u"container_fetch"_s, wire::encodeFetch({FetchRequest{3, kShaA, 1048576, 1048576},
                                                  FetchRequest{4, kShaA, 2097152, 1024}})},
        {u"container_fetch_reply"_s, wire::encodeFetchReply({data, error})},
        {u"container_want"_s, wire::encodeWant({u"hello"_s, u"mapsum"_s})},
    };
}

} // namespace

class TstContainerWire : public QObject {
    Q_OBJECT
private slots:
    void deployRoundTrip_data();
    void deployRoundTrip();
    void stageRoundTrip_data();
    void stageRoundTrip();
    void fetchRoundTrip();
    void fetchReplyRoundTrip();
    void wantRoundTrip();
    void fieldNamesAreTheDocumentedOnes();
    void hostileEntries_data();
    void hostileEntries();
    void unreadableReplyStillReachesItsDownload();
    void errorListIsCapped();
    void fuzzSeedsAreCurrent();
};

void TstContainerWire::deployRoundTrip_data()
{
    QTest::addColumn<ContainerOrder>("order");
    QTest::newRow("process") << order(7, u"hello"_s, kShaA, 5242880, ContainerIsolation::Process,
                                      u"2.0"_s);
    QTest::newRow("inprocess, a want's answer")
        << order(0, u"map-sum_2.x"_s, kShaB, 1, ContainerIsolation::InProcess, u"1.0 beta"_s);
    QTest::newRow("largest size and id")
        << order(kInt64Max, u"h"_s, kShaA, kInt64Max, ContainerIsolation::Process, u""_s);
    QTest::newRow("reason only") << reasonOrder(0, u"hello"_s,
                                                u"container 'hello' has no deployed version"_s);
}

void TstContainerWire::deployRoundTrip()
{
    QFETCH(ContainerOrder, order);
    const auto back = wire::decodeDeploy(throughFrame(wire::encodeDeploy({order, order})));
    QVERIFY2(back.errors.isEmpty(), qPrintable(back.errors.join(u'\n')));
    QCOMPARE(back.items.size(), 2);
    QCOMPARE(back.items[0], order);
    QCOMPARE(back.items[1], order);
}

void TstContainerWire::stageRoundTrip_data()
{
    QTest::addColumn<DeployStage>("stage");
    for (DeployStageName st :
         {DeployStageName::Queued, DeployStageName::Downloading, DeployStageName::Verifying,
          DeployStageName::Loading, DeployStageName::Ready}) {
        QTest::addRow("%s", qPrintable(toString(st)))
            << stage(12, u"hello"_s, st, st == DeployStageName::Queued ? 0 : 700, 1400);
    }
    QTest::newRow("FAILED with a reason")
        << stage(0, u"hello"_s, DeployStageName::Failed, 0, 1400,
                 u"container host crashed: SIGSEGV (Segmentation fault) in hello 2.0"_s);
}

void TstContainerWire::stageRoundTrip()
{
    QFETCH(DeployStage, stage);
    const auto back = wire::decodeDeployStage(throughFrame(wire::encodeDeployStage({stage})));
    QVERIFY2(back.errors.isEmpty(), qPrintable(back.errors.join(u'\n')));
    QCOMPARE(back.items, QList<DeployStage>{stage});
}

void TstContainerWire::fetchRoundTrip()
{
    const QList<FetchRequest> requests{FetchRequest{1, kShaA, 0, kMaxFetchBytes},
                                       FetchRequest{kInt64Max, kShaB, kInt64Max, 1}};
    const auto back = wire::decodeFetch(throughFrame(wire::encodeFetch(requests)));
    QVERIFY2(back.errors.isEmpty(), qPrintable(back.errors.join(u'\n')));
    QCOMPARE(back.items, requests);
}

void TstContainerWire::fetchReplyRoundTrip()
{
    QByteArray chunk(kMaxFetchBytes, Qt::Uninitialized);
    for (qsizetype i = 0; i < chunk.size(); ++i)
        chunk[i] = char(i * 7 + 3);
    const QList<FetchReply> replies{FetchReply{1, kShaA, 0, chunk, {}},
                                    FetchReply{2, kShaA, kMaxFetchBytes, QByteArray(), {}},
                                    FetchReply{3, kShaB, 5, {}, u"no such version"_s}};
    const auto back = wire::decodeFetchReply(throughFrame(wire::encodeFetchReply(replies)));
    QVERIFY2(back.errors.isEmpty(), qPrintable(back.errors.join(u'\n')));
    QCOMPARE(back.items, replies);
}

void TstContainerWire::wantRoundTrip()
{
    const auto back =
        wire::decodeWant(throughFrame(wire::encodeWant({u"hello"_s, u"map.sum-2"_s, u"hello"_s})));
    QVERIFY2(back.errors.isEmpty(), qPrintable(back.errors.join(u'\n')));
    QCOMPARE(back.items, (QList<QString>{u"hello"_s, u"map.sum-2"_s})); // duplicates once
}

void TstContainerWire::fieldNamesAreTheDocumentedOnes()
{
    // docs/containers.md section 5, key for key: a server written from the spec must read these.
    const Message deploy = wire::encodeDeploy(
        {order(7, u"hello"_s, kShaA, 10, ContainerIsolation::InProcess, u"2.0"_s),
         reasonOrder(0, u"ghost"_s, u"none"_s)});
    QCOMPARE(deploy.type, u"deploy"_s);
    const QCborArray orders = deploy.array("orders"_L1);
    QCOMPARE(orders.size(), 2);
    QCOMPARE(keysOf(orders[0].toMap()), (QStringList{"d", "h", "iso", "n", "v", "z"}));
    QCOMPARE(orders[0].toMap().value("iso"_L1).toString(), u"inprocess"_s);
    QCOMPARE(keysOf(orders[1].toMap()), (QStringList{"d", "n", "r"}));

    const Message stages =
        wire::encodeDeployStage({stage(7, u"hello"_s, DeployStageName::Failed, 1, 10, u"why"_s)});
    QCOMPARE(stages.type, u"deployStage"_s);
    const QCborMap s = stages.array("stages"_L1).at(0).toMap();
    QCOMPARE(keysOf(s), (QStringList{"b", "d", "h", "n", "r", "st", "t"}));
    QCOMPARE(s.value("st"_L1).toString(), u"FAILED"_s);

    const Message fetch = wire::encodeFetch({FetchRequest{1, kShaA, 0, 10}});
    QCOMPARE(fetch.type, u"fetch"_s);
    QCOMPARE(keysOf(fetch.array("requests"_L1).at(0).toMap()), (QStringList{"f", "h", "l", "o"}));

    const Message reply = wire::encodeFetchReply(
        {FetchReply{1, kShaA, 0, "x", {}}, FetchReply{2, kShaA, 0, {}, u"gone"_s}});
    QCOMPARE(reply.type, u"fetchReply"_s);
    QCOMPARE(keysOf(reply.array("replies"_L1).at(0).toMap()), (QStringList{"data", "f", "h", "o"}));
    QCOMPARE(keysOf(reply.array("replies"_L1).at(1).toMap()), (QStringList{"e", "f", "h", "o"}));

    const Message want = wire::encodeWant({u"hello"_s});
    QCOMPARE(want.type, u"want"_s);
    QCOMPARE(want.array("names"_L1), QCborArray{u"hello"_s});
}

void TstContainerWire::hostileEntries_data()
{
    QTest::addColumn<QString>("decoder");
    QTest::addColumn<Message>("message");
    QTest::addColumn<QStringList>("outcome"); // "items=N", then the errors
    const QString stageNames = u"QUEUED, DOWNLOADING, VERIFYING, LOADING, READY, FAILED"_s;

    QTest::newRow("deploy: orders missing")
        << u"deploy"_s << Message(u"deploy"_s)
        << QStringList{"items=0", "field 'orders' of 'deploy' is missing; expected an array"};
    QTest::newRow("deploy: orders a text")
        << u"deploy"_s << Message(u"deploy"_s).with("orders"_L1, u"x"_s)
        << QStringList{"items=0", "field 'orders' of 'deploy' must be an array, got a text string"};
    QTest::newRow("deploy: good entries kept around bad ones")
        << u"deploy"_s
        << list(u"deploy"_s, "orders"_L1,
                {goodOrder(), with(goodOrder(), "h"_L1, u"ABC"_s),
                 with(goodOrder(), "h"_L1, QString(64, u'A')), without(goodOrder(), "z"_L1),
                 with(goodOrder(), "z"_L1, 0), with(goodOrder(), "iso"_L1, u"docker"_s),
                 with(goodOrder(), "n"_L1, u"../etc"_s), with(goodOrder(), "d"_L1, -1), 17,
                 without(without(goodOrder(), "h"_L1), "iso"_L1),
                 with(without(goodOrder(), "h"_L1), "r"_L1, u""_s),
                 with(goodOrder(), "v"_L1, QString(300, u'v')), goodOrder()})
        << QStringList{
               "items=2",
               "field 'orders[1].h' of 'deploy' must be a SHA-256 (64 lowercase hex digits), "
               "got \"ABC\"",
               "field 'orders[2].h' of 'deploy' must be a SHA-256 (64 lowercase hex digits), got "
               "\"" + QString(64, u'A')
                   + "\"",
               "field 'orders[3].z' of 'deploy' is missing; expected an integer",
               "field 'orders[4].z' of 'deploy' must be between 1 and 9223372036854775807, got 0",
               "field 'orders[5].iso' of 'deploy' must be one of process, inprocess, got "
               "\"docker\"",
               "field 'orders[6].n' of 'deploy' must be a container name "
               "([A-Za-z0-9][A-Za-z0-9._-]{0,63}), got \"../etc\"",
               "field 'orders[7].d' of 'deploy' must not be negative, got -1",
               "field 'orders[8]' of 'deploy' must be a map, got an integer",
               "field 'orders[9].h' of 'deploy' is missing; expected a text string",
               "field 'orders[10].r' of 'deploy' must not be empty in an order without 'h'",
               "field 'orders[11].v' of 'deploy' must be at most 256 characters, got 300"};
    QTest::newRow("deployStage: bad fields")
        << u"deployStage"_s
        << list(u"deployStage"_s, "stages"_L1,
                {with(goodStage(), "st"_L1, u"DONE"_s), with(goodStage(), "st"_L1, 3),
                 with(goodStage(), "b"_L1, -5), without(goodStage(), "t"_L1),
                 with(goodStage(), "r"_L1, QCborMap{}), with(goodStage(), "n"_L1, QString()),
                 goodStage()})
        << QStringList{
               "items=1",
               "field 'stages[0].st' of 'deployStage' must be one of " + stageNames
                   + ", got \"DONE\"",
               "field 'stages[1].st' of 'deployStage' must be a text string, got an integer",
               "field 'stages[2].b' of 'deployStage' must not be negative, got -5",
               "field 'stages[3].t' of 'deployStage' is missing; expected an integer",
               "field 'stages[4].r' of 'deployStage' must be a text string, got a map",
               "field 'stages[5].n' of 'deployStage' must be a container name "
               "([A-Za-z0-9][A-Za-z0-9._-]{0,63}), got \"\""};
    QTest::newRow("deployStage: hostile stage text is cut in the error")
        << u"deployStage"_s
        << list(u"deployStage"_s, "stages"_L1, {with(goodStage(), "st"_L1, QString(900, u'Q'))})
        << QStringList{"items=0", "field 'stages[0].st' of 'deployStage' must be one of "
                                      + stageNames + ", got \"" + QString(64, u'Q') + "...\""};
    QTest::newRow("fetch: bad fields")
        << u"fetch"_s
        << list(u"fetch"_s, "requests"_L1,
                {with(goodRequest(), "l"_L1, kMaxFetchBytes + 1), with(goodRequest(), "l"_L1, 0),
                 with(goodRequest(), "f"_L1, 0), with(goodRequest(), "o"_L1, -1),
                 without(goodRequest(), "h"_L1), goodRequest()})
        << QStringList{
               "items=1",
               "field 'requests[0].l' of 'fetch' must be between 1 and 1048576, got 1048577",
               "field 'requests[1].l' of 'fetch' must be between 1 and 1048576, got 0",
               "field 'requests[2].f' of 'fetch' must be between 1 and 9223372036854775807, got 0",
               "field 'requests[3].o' of 'fetch' must not be negative, got -1",
               "field 'requests[4].h' of 'fetch' is missing; expected a text string"};
    QTest::newRow("fetchReply: bad fields, f unreadable")
        << u"fetchReply"_s
        << list(u"fetchReply"_s, "replies"_L1,
                {without(goodReply(), "f"_L1), with(goodReply(), "f"_L1, u"3"_s), goodReply()})
        << QStringList{"items=1",
                       "field 'replies[0].f' of 'fetchReply' is missing; expected an integer",
                       "field 'replies[1].f' of 'fetchReply' must be an integer, got a text "
                       "string"};
    QTest::newRow("want: bad names")
        << u"want"_s
        << list(u"want"_s, "names"_L1, {u"hello"_s, 5, u"a b"_s, QString(65, u'x'), u"ok"_s})
        << QStringList{"items=2",
                       "field 'names[1]' of 'want' must be a text string, got an integer",
                       "field 'names[2]' of 'want' must be a container name "
                       "([A-Za-z0-9][A-Za-z0-9._-]{0,63}), got \"a b\"",
                       "field 'names[3]' of 'want' must be a container name "
                       "([A-Za-z0-9][A-Za-z0-9._-]{0,63}), got \""
                           + QString(64, u'x') + "...\""};
    QTest::newRow("want: names missing")
        << u"want"_s << Message(u"want"_s)
        << QStringList{"items=0", "field 'names' of 'want' is missing; expected an array"};
}

void TstContainerWire::hostileEntries()
{
    QFETCH(QString, decoder);
    QFETCH(Message, message);
    QFETCH(QStringList, outcome);
    QCOMPARE(decodeAny(decoder, throughFrame(message)), outcome);
}

void TstContainerWire::unreadableReplyStillReachesItsDownload()
{
    // A download waits for each of its fetches: a reply it cannot read must still end that wait.
    const Message m =
        list(u"fetchReply"_s, "replies"_L1,
             {with(goodReply(), "data"_L1, u"text"_s), without(goodReply(), "data"_L1),
              with(goodReply(), "data"_L1, QByteArray(kMaxFetchBytes + 1, 'x')),
              with(without(goodReply(), "data"_L1), "e"_L1, u"gone"_s)});
    const auto batch = wire::decodeFetchReply(throughFrame(m));
    QCOMPARE(batch.errors,
             (QStringList{
                 "field 'replies[0].data' of 'fetchReply' must be a byte string, got a text string",
                 "field 'replies[1].data' of 'fetchReply' is missing; expected a byte string",
                 "field 'replies[2].data' of 'fetchReply' must be at most 1048576 bytes, got "
                 "1048577"}));
    QCOMPARE(batch.items.size(), 4);
    for (int i = 0; i < 3; ++i) {
        QCOMPARE(batch.items[i].fetchId, qint64(3));
        QVERIFY(batch.items[i].data.isEmpty());
        QCOMPARE(batch.items[i].error, u"malformed reply from the server: "_s + batch.errors[i]);
    }
    QCOMPARE(batch.items[3], (FetchReply{3, kShaA, 0, {}, u"gone"_s}));
}

void TstContainerWire::errorListIsCapped()
{
    QCborArray entries;
    for (int i = 0; i < 1000; ++i)
        entries.append(i);
    const auto batch = wire::decodeDeployStage(list(u"deployStage"_s, "stages"_L1, entries));
    QCOMPARE(batch.items.size(), 0);
    QCOMPARE(batch.errors.size(), 33);
    QCOMPARE(batch.errors.last(), u"968 more bad entries of 'stages' in 'deployStage' were not "
                                  "listed"_s);
}

void TstContainerWire::fuzzSeedsAreCurrent()
{
    // Seeds of fuzz_worker_messages for the container messages; KAIROS_UPDATE_FUZZ_SEEDS=1
    // rewrites them after a deliberate format change.
    const QDir dir(QStringLiteral(KAIROS_SOURCE_DIR "/fuzz/corpus/worker"));
    const bool update = qEnvironmentVariableIntValue("KAIROS_UPDATE_FUZZ_SEEDS") == 1;
    QByteArray all;
    auto check = [&](const QString &name, const QByteArray &bytes) {
        QFile f(dir.filePath(name));
        if (update) {
            QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
            QCOMPARE(f.write(bytes), bytes.size());
            return;
        }
        QVERIFY2(f.open(QIODevice::ReadOnly), qPrintable(f.fileName()));
        QVERIFY2(f.readAll() == bytes,
                 qPrintable(f.fileName() + u" is stale: rerun with KAIROS_UPDATE_FUZZ_SEEDS=1"_s));
    };
    for (const auto &[name, message] : seedMessages()) {
        const QByteArray frame = encodeFrame(message);
        all += frame;
        check(name, frame);
        if (QTest::currentTestFailed())
            return;
    }
    check(u"container_all_in_one_stream"_s, all);
}

QTEST_GUILESS_MAIN(TstContainerWire)
#include "tst_container_wire.moc"
