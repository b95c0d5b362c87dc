// The worker protocol's messages (docs/protocol.md, section 12) as a server and a worker rely on
// them: every message survives the trip through real frame bytes unchanged, the wire uses the
// documented field names, and hostile input (wrong types, missing fields, out-of-range and huge
// numbers, nested garbage) is refused with an error naming the field, while a batch keeps its
// good entries. Also keeps the committed fuzz seeds (fuzz/corpus/worker) in step with the codec.
#include <protocol/frame.h>
#include <worker/wire.h>

#include <QCborArray>
#include <QCborStreamWriter>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QtTest>

#include <limits>

using namespace kairos;
using namespace kairos::protocol;
using namespace Qt::StringLiterals;
using wire::Heartbeat;
using wire::KeyReason;
using wire::RegisteredReply;
using wire::Registration;

namespace {

constexpr qint64 kInt64Max = std::numeric_limits<qint64>::max();
constexpr int kIntMax = std::numeric_limits<int>::max();

// Encodes to frame bytes and decodes them again, as the peer would see the message.
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

WorkerMetrics sampleMetrics()
{
    return WorkerMetrics{0.75, 8, 12000, 32000, 250000, 3, 2};
}

Registration sampleRegistration()
{
    Registration r;
    r.workerId = u"build-7:4242"_s;
    r.address = u"10.0.0.7"_s;
    r.tags = {u"gpu"_s, u"linux"_s};
    r.capacity = 16;
    r.pid = 4242;
    r.version = u"0.1.0"_s;
    r.held = {TaskKey{10, 1, 0}, TaskKey{11, 3, 7}};
    r.metrics = sampleMetrics();
    return r;
}

TaskSpec task(qint64 instanceId, int attempt, qint64 taskId, ProcessorKind kind,
              const QJsonObject &config)
{
    TaskSpec t;
    t.instanceId = instanceId;
    t.attempt = attempt;
    t.taskId = taskId;
    t.jobName = u"job-%1"_s.arg(instanceId);
    t.processor = kind;
    t.config = config;
    return t;
}

QString describe(const TaskSpec &t)
{
    return u"%1/%2/%3 %4 %5 cfg=%6 jp=%7 ip=%8 to=%9"_s.arg(t.instanceId)
        .arg(t.attempt)
        .arg(t.taskId)
        .arg(t.jobName, toString(t.processor),
             QString::fromUtf8(QJsonDocument(t.config).toJson(QJsonDocument::Compact)), t.jobParams,
             t.instanceParams)
        .arg(t.timeoutMs);
}

QStringList sortedKeys(const QCborMap &m)
{
    QStringList keys;
    for (auto it = m.begin(); it != m.end(); ++it)
        keys << it.key().toString();
    keys.sort();
    return keys;
}

QStringList sorted(QStringList l)
{
    l.sort();
    return l;
}

QCborMap key(qint64 i, qint64 a, qint64 k)
{
    QCborMap m;
    m.insert("i"_L1, i);
    m.insert("a"_L1, a);
    m.insert("k"_L1, k);
    return m;
}

QCborMap with(QCborMap m, QLatin1StringView k, const QCborValue &v)
{
    m.insert(k, v);
    return m;
}

QCborMap without(QCborMap m, QLatin1StringView k)
{
    m.remove(k);
    return m;
}

QCborMap goodReport()
{
    return with(with(key(1, 1, 0), "s"_L1, u"SUCCEEDED"_s), "t"_L1, Q_INT64_C(1700000000000));
}

QCborMap goodTask()
{
    QCborMap t = key(1, 1, 0);
    t.insert("job"_L1, u"j"_s);
    t.insert("proc"_L1, u"ECHO"_s);
    t.insert("cfg"_L1, QCborMap{{u"message"_s, u"hi"_s}});
    return t;
}

QCborMap goodLine()
{
    QCborMap l = key(1, 1, 0);
    l.insert("t"_L1, Q_INT64_C(1700000000000));
    l.insert("s"_L1, u"OUT"_s);
    l.insert("x"_L1, u"hello"_s);
    return l;
}

Message list(const QString &type, QLatin1StringView field, const QCborArray &entries)
{
    return Message(type).with(field, entries);
}

// The decoders by message type, returning what a receiver would act on, as text, or the error.
QStringList decodeAny(const QString &decoder, const Message &m)
{
    auto batchText = [](const auto &batch) {
        QStringList out;
        out << u"items=%1"_s.arg(batch.items.size());
        out += batch.errors;
        return out;
    };
    if (decoder == "register"_L1)
        return {wire::decodeRegister(m).error()};
    if (decoder == "registered"_L1)
        return {wire::decodeRegistered(m).error()};
    if (decoder == "heartbeat"_L1)
        return {wire::decodeHeartbeat(m).error()};
    if (decoder == "heartbeatAck"_L1)
        return {wire::decodeHeartbeatAck(m).error()};
    if (decoder == "reason"_L1)
        return {wire::decodeReason(m).error()};
    if (decoder == "dispatch"_L1)
        return batchText(wire::decodeDispatch(m));
    if (decoder == "accept"_L1)
        return batchText(wire::decodeAccept(m));
    if (decoder == "return"_L1)
        return batchText(wire::decodeReturn(m));
    if (decoder == "status"_L1)
        return batchText(wire::decodeStatus(m));
    if (decoder == "logs"_L1)
        return batchText(wire::decodeLogs(m));
    if (decoder == "cancel"_L1)
        return batchText(wire::decodeCancel(m));
    return {u"no decoder %1"_s.arg(decoder)};
}

// A message body written as raw CBOR, for values QCborValue cannot be built with (integers
// beyond the qint64 range).
Message rawMessage(const QString &type, const std::function<void(QCborStreamWriter &)> &fields,
                   int fieldCount)
{
    QByteArray bytes;
    QCborStreamWriter w(&bytes);
    w.startMap(fieldCount + 1);
    w.append("t"_L1);
    w.append(type);
    fields(w);
    w.endMap();
    auto m = decodePayload(bytes.constData(), bytes.size());
    if (!m) {
        qWarning() << "raw message did not decode:" << m.error();
        return {};
    }
    return *m;
}

// Valid messages of every worker type: the fuzz target's seeds.
QList<QPair<QString, Message>> seedMessages()
{
    using namespace wire;
    TaskSpec shell = task(42, 2, 0, ProcessorKind::Shell,
                          {{"script", "echo $KAIROS_INSTANCE_ID"}, {"shell", "/bin/sh"}});
    shell.jobParams = R"({"day":"mon"})";
    shell.instanceParams = "free text";
    shell.timeoutMs = 30000;
    TaskSpec http = task(43, 1, 5, ProcessorKind::Http,
                         {{"method", "POST"},
                          {"url", "http://127.0.0.1:1/x"},
                          {"headers", QJsonObject{{"X-A", "1"}}},
                          {"body", "{}"}});
    const TaskReport running{42, 2, 0, InstanceStatus::Running, {}, 1700000000000};
    const TaskReport failed{43, 1, 5, InstanceStatus::Failed, u"exit code 3"_s, 1700000000100};
    const LogLine out{42, 0, 2, 1700000000050, LogStream::Stdout, u"42"_s};
    const LogLine err{42, 0, 2, 1700000000060, LogStream::Stderr, u"warn: 调度"_s};
    return {
        {u"register"_s, encodeRegister(sampleRegistration())},
        {u"registered"_s, encodeRegistered(RegisteredReply{1000, 5000, 5000, 1700000000000})},
        {u"heartbeat"_s, encodeHeartbeat(Heartbeat{123456, sampleMetrics()})},
        {u"heartbeat_ack"_s, encodeHeartbeatAck(123456)},
        {u"dispatch"_s, encodeDispatch({shell, http})},
        {u"accept"_s, encodeAccept({TaskKey{42, 2, 0}, TaskKey{43, 1, 5}})},
        {u"return"_s, encodeReturn({KeyReason{TaskKey{44, 1, 0}, u"draining"_s}})},
        {u"status"_s, encodeStatus({running, failed})},
        {u"logs"_s, encodeLogs({out, err})},
        {u"cancel"_s, encodeCancel({KeyReason{TaskKey{42, 2, -1}, u"canceled by alice"_s},
                                    KeyReason{TaskKey{43, 1, 5}, u"worker lost"_s}})},
        {u"drain"_s, encodeDrain(u"SIGTERM"_s)},
        {u"dead"_s, encodeDead(u"no heartbeat for 5.0 s"_s)},
    };
}

} // namespace

class TstWire : public QObject {
    Q_OBJECT
private slots:
    void registerRoundTrip_data();
    void registerRoundTrip();
    void smallMessagesRoundTrip();
    void dispatchRoundTrip_data();
    void dispatchRoundTrip();
    void keyListsRoundTrip();
    void cancelWithoutTaskIdMeansWholeAttempt();
    void statusRoundTrip_data();
    void statusRoundTrip();
    void logsRoundTrip();
    void wireUsesTheDocumentedFieldNames();
    void unknownFieldsAreIgnored();
    void hostileWholeMessages_data();
    void hostileWholeMessages();
    void hostileBatchEntries_data();
    void hostileBatchEntries();
    void hugeIntegersAreRefused_data();
    void hugeIntegersAreRefused();
    void nestedGarbageNeverCrashes();
    void manyBadEntriesGiveBoundedErrors();
    void splitLogBatch_data();
    void splitLogBatch();
    void fuzzSeedsAreCurrent();
};

void TstWire::registerRoundTrip_data()
{
    QTest::addColumn<Registration>("registration");
    Registration minimal;
    minimal.workerId = u"w"_s;
    QTest::newRow("minimal") << minimal;
    QTest::newRow("full") << sampleRegistration();
    Registration limits = sampleRegistration();
    limits.workerId = QString(wire::kMaxIdLength, u'w');
    limits.capacity = wire::kMaxCapacity;
    limits.tags.clear();
    for (int i = 0; i < wire::kMaxTags; ++i)
        limits.tags << u"tag-%1"_s.arg(i);
    limits.held = {TaskKey{kInt64Max, kIntMax, kInt64Max}};
    limits.metrics = WorkerMetrics{123.5, kIntMax, kInt64Max, kInt64Max, kInt64Max, kIntMax, 0};
    QTest::newRow("at every limit") << limits;
}

void TstWire::registerRoundTrip()
{
    QFETCH(Registration, registration);
    const Message m = throughFrame(wire::encodeRegister(registration));
    QCOMPARE(m.type, u"register"_s);
    const auto back = wire::decodeRegister(m);
    QVERIFY2(back.ok(), qPrintable(back.error()));
    QCOMPARE(back->workerId, registration.workerId);
    QCOMPARE(back->tags, registration.tags);
    QCOMPARE(back->held.size(), registration.held.size());
    QVERIFY(back->metrics == registration.metrics);
    QVERIFY(*back == registration);
}

void TstWire::smallMessagesRoundTrip()
{
    const wire::RegisteredReply reply{250, 3000, 4000, 1700000000123};
    const Message registered = throughFrame(wire::encodeRegistered(reply));
    QCOMPARE(registered.type, u"registered"_s);
    const auto r = wire::decodeRegistered(registered);
    QVERIFY2(r.ok(), qPrintable(r.error()));
    QVERIFY(*r == reply);

    const wire::Heartbeat beat{987654321, sampleMetrics()};
    const Message heartbeat = throughFrame(wire::encodeHeartbeat(beat));
    QCOMPARE(heartbeat.type, u"heartbeat"_s);
    const auto h = wire::decodeHeartbeat(heartbeat);
    QVERIFY2(h.ok(), qPrintable(h.error()));
    QVERIFY(*h == beat);

    const Message ack = throughFrame(wire::encodeHeartbeatAck(987654321));
    QCOMPARE(ack.type, u"heartbeatAck"_s);
    QCOMPARE(wire::decodeHeartbeatAck(ack).value(), 987654321);

    const Message drain = throughFrame(wire::encodeDrain(u"SIGTERM received"_s));
    QCOMPARE(drain.type, u"drain"_s);
    QCOMPARE(wire::decodeReason(drain).value(), u"SIGTERM received"_s);
    const Message dead = throughFrame(wire::encodeDead(u"no heartbeat for 5.0 s"_s));
    QCOMPARE(dead.type, u"dead"_s);
    QCOMPARE(wire::decodeReason(dead).value(), u"no heartbeat for 5.0 s"_s);
}

void TstWire::dispatchRoundTrip_data()
{
    QTest::addColumn<QList<TaskSpec>>("tasks");
    QTest::newRow("empty batch") << QList<TaskSpec>{};
    QList<TaskSpec> kinds;
    kinds << task(1, 1, 0, ProcessorKind::Echo, {{"message", "hi"}});
    kinds << task(2, 1, 0, ProcessorKind::Sleep, {{"ms", 250}});
    kinds << task(3, 1, 0, ProcessorKind::Shell, {{"script", "exit 3"}});
    kinds << task(4, 1, 0, ProcessorKind::Http, {{"url", "http://127.0.0.1:9/"}});
    kinds << task(5, 1, 0, ProcessorKind::Container, {{"ref", "c#p"}});
    QTest::newRow("every processor") << kinds;
    TaskSpec rich = task(
        kInt64Max, kIntMax, kInt64Max, ProcessorKind::Shell,
        {{"script", "echo ✓ 调度"},
         {"nested", QJsonObject{{"list", QJsonArray{1, 2.5, "x", true, false, QJsonValue::Null}},
                                {"empty", QJsonObject{}}}},
         {"big", 9007199254740991.0},
         {"negative", -12}});
    rich.jobParams = R"({"region":"eu","n":3})";
    rich.instanceParams = u"多语言 params"_s;
    rich.timeoutMs = kIntMax;
    QTest::newRow("largest ids, nested config, every optional field") << QList<TaskSpec>{rich};
    TaskSpec broadcast = task(9, 4, 0, ProcessorKind::Echo, {});
    QList<TaskSpec> subtasks;
    for (int k = 0; k < 50; ++k) {
        broadcast.taskId = k;
        subtasks << broadcast;
    }
    QTest::newRow("50 subtasks of one attempt") << subtasks;
}

void TstWire::dispatchRoundTrip()
{
    QFETCH(QList<TaskSpec>, tasks);
    const Message m = throughFrame(wire::encodeDispatch(tasks));
    QCOMPARE(m.type, u"dispatch"_s);
    const auto batch = wire::decodeDispatch(m);
    QCOMPARE(batch.errors, QStringList());
    QCOMPARE(batch.items.size(), tasks.size());
    for (qsizetype i = 0; i < tasks.size(); ++i)
        QCOMPARE(describe(batch.items[i]), describe(tasks[i]));
}

void TstWire::keyListsRoundTrip()
{
    const QList<TaskKey> keys{TaskKey{1, 1, 0}, TaskKey{2, 7, 3}, TaskKey{kInt64Max, kIntMax, 0}};
    const auto accepted = wire::decodeAccept(throughFrame(wire::encodeAccept(keys)));
    QCOMPARE(accepted.errors, QStringList());
    QVERIFY(accepted.items == keys);

    const QList<wire::KeyReason> returned{{TaskKey{3, 1, 0}, u"draining"_s},
                                          {TaskKey{4, 2, 9}, u"unknown processor version"_s}};
    const Message ret = throughFrame(wire::encodeReturn(returned));
    QCOMPARE(ret.type, u"return"_s);
    const auto back = wire::decodeReturn(ret);
    QCOMPARE(back.errors, QStringList());
    QVERIFY(back.items == returned);
}

void TstWire::cancelWithoutTaskIdMeansWholeAttempt()
{
    const QList<wire::KeyReason> cancels{{TaskKey{5, 2, -1}, u"canceled by alice"_s},
                                         {TaskKey{6, 1, 4}, u"superseded"_s}};
    const Message m = throughFrame(wire::encodeCancel(cancels));
    QCOMPARE(m.type, u"cancel"_s);
    const QCborArray entries = m.array("tasks"_L1);
    QCOMPARE(entries.size(), 2);
    QVERIFY(!entries[0].toMap().contains("k"_L1)); // whole attempt: no `k` on the wire
    QCOMPARE(entries[1].toMap().value("k"_L1).toInteger(), 4);
    const auto back = wire::decodeCancel(m);
    QCOMPARE(back.errors, QStringList());
    QVERIFY(back.items == cancels);
    QVERIFY(back.items[0].key.taskId < 0);
}

void TstWire::statusRoundTrip_data()
{
    QTest::addColumn<InstanceStatus>("status");
    QTest::addColumn<QString>("result");
    QTest::addColumn<qint64>("timeUs"); // 0: not stamped, `tu` left out
    QTest::newRow("running") << InstanceStatus::Running << QString() << qint64(0);
    QTest::newRow("running, stamped in us")
        << InstanceStatus::Running << QString() << qint64(1700000000999123);
    QTest::newRow("succeeded") << InstanceStatus::Succeeded << u"exit code 0"_s << qint64(0);
    QTest::newRow("succeeded, stamped in us")
        << InstanceStatus::Succeeded << u"exit code 0"_s << qint64(1700000000999999);
    QTest::newRow("failed") << InstanceStatus::Failed << u"killed by signal 9 (SIGKILL)"_s
                            << qint64(0);
    QTest::newRow("timed out") << InstanceStatus::TimedOut << u"timed out after 500 ms"_s
                               << qint64(0);
    QTest::newRow("canceled") << InstanceStatus::Canceled << u"canceled by alice ✓"_s << qint64(0);
}

void TstWire::statusRoundTrip()
{
    QFETCH(InstanceStatus, status);
    QFETCH(QString, result);
    QFETCH(qint64, timeUs);
    const QList<TaskReport> reports{TaskReport{77, 3, 2, status, result, 1700000000999, timeUs},
                                    TaskReport{78, 1, 0, InstanceStatus::Running, {}, 1}};
    const Message m = throughFrame(wire::encodeStatus(reports));
    QCOMPARE(m.type, u"status"_s);
    const QCborMap first = m.array("reports"_L1)[0].toMap();
    QCOMPARE(first.value("s"_L1).toString(), toString(status));
    // `tu` travels only when the runner stamped it; an unstamped report stays as it was.
    QCOMPARE(first.contains("tu"_L1), timeUs > 0);
    if (timeUs > 0)
        QCOMPARE(first.value("tu"_L1).toInteger(), timeUs);
    QVERIFY(!m.array("reports"_L1)[1].toMap().contains("tu"_L1));
    const auto back = wire::decodeStatus(m);
    QCOMPARE(back.errors, QStringList());
    QVERIFY(back.items == reports);
    QCOMPARE(back.items.at(0).timeUs, timeUs);
    QCOMPARE(back.items.at(1).timeUs, qint64(0));
}

void TstWire::logsRoundTrip()
{
    const QList<LogLine> lines{
        LogLine{1, 0, 1, 1700000000001, LogStream::Stdout, u"plain"_s},
        LogLine{1, 0, 1, 1700000000002, LogStream::Stderr, u"调度 ✓ \t tabs"_s},
        LogLine{2, 0, 5, 1700000000003, LogStream::System, QString()},
        LogLine{3, 0, 1, 1700000000004, LogStream::Stdout, QString(100000, u'x')},
    };
    const Message m = throughFrame(wire::encodeLogs(lines));
    QCOMPARE(m.type, u"logs"_s);
    const auto back = wire::decodeLogs(m);
    QCOMPARE(back.errors, QStringList());
    QVERIFY(back.items == lines);
}

void TstWire::wireUsesTheDocumentedFieldNames()
{
    // docs/protocol.md 12.1 / 12.2, field by field.
    QCOMPARE(sortedKeys(wire::encodeRegister(sampleRegistration()).body),
             sorted({"id", "address", "tags", "capacity", "pid", "version", "held", "metrics"}));
    QCOMPARE(
        sortedKeys(wire::encodeRegister(sampleRegistration()).map("metrics"_L1)),
        sorted({"load1", "cpus", "memFreeMb", "memTotalMb", "diskFreeMb", "running", "queued"}));
    QCOMPARE(sortedKeys(wire::encodeRegister(sampleRegistration()).array("held"_L1)[0].toMap()),
             sorted({"i", "a", "k"}));
    QCOMPARE(sortedKeys(wire::encodeRegistered({}).body),
             sorted({"heartbeatMs", "deadAfterMs", "leaseMs", "serverTimeMs"}));
    QCOMPARE(sortedKeys(wire::encodeHeartbeat({}).body), sorted({"ts", "metrics"}));
    QCOMPARE(sortedKeys(wire::encodeHeartbeatAck(1).body), QStringList{"ts"});
    TaskSpec full = task(1, 1, 0, ProcessorKind::Shell, {{"script", "true"}});
    full.jobParams = u"a"_s;
    full.instanceParams = u"b"_s;
    full.timeoutMs = 10;
    QCOMPARE(sortedKeys(wire::encodeDispatch({full}).array("tasks"_L1)[0].toMap()),
             sorted({"i", "a", "k", "job", "proc", "cfg", "jp", "ip", "to"}));
    QCOMPARE(wire::encodeDispatch({full}).array("tasks"_L1)[0].toMap().value("proc"_L1).toString(),
             u"SHELL"_s);
    // The optional fields are left out when they carry nothing.
    QCOMPARE(sortedKeys(wire::encodeDispatch({task(1, 1, 0, ProcessorKind::Echo, {})})
                            .array("tasks"_L1)[0]
                            .toMap()),
             sorted({"i", "a", "k", "job", "proc", "cfg"}));
    QCOMPARE(sortedKeys(wire::encodeAccept({TaskKey{}}).array("tasks"_L1)[0].toMap()),
             sorted({"i", "a", "k"}));
    QCOMPARE(sortedKeys(wire::encodeReturn({{TaskKey{}, u"r"_s}}).array("tasks"_L1)[0].toMap()),
             sorted({"i", "a", "k", "reason"}));
    QCOMPARE(sortedKeys(wire::encodeStatus({TaskReport{1, 1, 0, InstanceStatus::Failed, u"x"_s, 1}})
                            .array("reports"_L1)[0]
                            .toMap()),
             sorted({"i", "a", "k", "s", "r", "t"}));
    QCOMPARE(
        sortedKeys(wire::encodeStatus({TaskReport{1, 1, 0, InstanceStatus::Running, {}, 1, 1001}})
                       .array("reports"_L1)[0]
                       .toMap()),
        sorted({"i", "a", "k", "s", "t", "tu"}));
    const QCborMap line = wire::encodeLogs({LogLine{1, 9, 2, 5, LogStream::System, u"x"_s}})
                              .array("lines"_L1)[0]
                              .toMap();
    QCOMPARE(sortedKeys(line), sorted({"i", "a", "k", "t", "s", "x"}));
    QCOMPARE(line.value("s"_L1).toString(), u"SYS"_s);
    QCOMPARE(line.value("k"_L1).toInteger(), 0);
    QCOMPARE(sortedKeys(wire::encodeDrain(u"x"_s).body), QStringList{"reason"});
    QCOMPARE(sortedKeys(wire::encodeDead(u"x"_s).body), QStringList{"reason"});
}

void TstWire::unknownFieldsAreIgnored()
{
    Message m = wire::encodeHeartbeat(wire::Heartbeat{5, sampleMetrics()});
    m.with("future"_L1, QCborMap{{u"x"_s, 1}});
    QCborMap metrics = m.map("metrics"_L1);
    metrics.insert("gpuLoad"_L1, 0.5);
    m.with("metrics"_L1, metrics);
    const auto h = wire::decodeHeartbeat(throughFrame(m));
    QVERIFY2(h.ok(), qPrintable(h.error()));
    QVERIFY(h->metrics == sampleMetrics());

    const Message status =
        list(u"status"_s, "reports"_L1, {with(goodReport(), "extra"_L1, QCborArray{1, 2})});
    QCOMPARE(wire::decodeStatus(status).items.size(), 1);
}

void TstWire::hostileWholeMessages_data()
{
    QTest::addColumn<QString>("decoder");
    QTest::addColumn<Message>("message");
    QTest::addColumn<QString>("error");
    const Message reg = wire::encodeRegister(sampleRegistration());
    auto regWith = [&reg](QLatin1StringView k, const QCborValue &v) {
        Message m = reg;
        m.with(k, v);
        return m;
    };
    auto regWithout = [&reg](QLatin1StringView k) {
        Message m = reg;
        m.body.remove(k);
        return m;
    };
    QTest::newRow("register: empty") << u"register"_s << Message(u"register"_s)
                                     << "field 'id' of 'register' is missing; expected a text "
                                        "string";
    QTest::newRow("register: id an integer")
        << u"register"_s << regWith("id"_L1, 7)
        << "field 'id' of 'register' must be a text string, got an integer";
    QTest::newRow("register: id empty")
        << u"register"_s << regWith("id"_L1, u""_s) << "field 'id' of 'register' must not be empty";
    QTest::newRow("register: id too long")
        << u"register"_s << regWith("id"_L1, QString(256, u'x'))
        << "field 'id' of 'register' must be at most 255 characters, got 256";
    QTest::newRow("register: no capacity")
        << u"register"_s << regWithout("capacity"_L1)
        << "field 'capacity' of 'register' is missing; expected an integer";
    QTest::newRow("register: capacity 0")
        << u"register"_s << regWith("capacity"_L1, 0)
        << "field 'capacity' of 'register' must be between 1 and 4096, got 0";
    QTest::newRow("register: capacity 4097")
        << u"register"_s << regWith("capacity"_L1, 4097)
        << "field 'capacity' of 'register' must be between 1 and 4096, got 4097";
    QTest::newRow("register: capacity a float")
        << u"register"_s << regWith("capacity"_L1, 4.0)
        << "field 'capacity' of 'register' must be an integer, got a floating-point number";
    QCborArray manyTags;
    for (int i = 0; i <= wire::kMaxTags; ++i)
        manyTags.append(u"t%1"_s.arg(i));
    QTest::newRow("register: 65 tags")
        << u"register"_s << regWith("tags"_L1, manyTags)
        << "field 'tags' of 'register' must hold at most 64 tags, got 65";
    QTest::newRow("register: tag not text")
        << u"register"_s << regWith("tags"_L1, QCborArray{u"a"_s, u"b"_s, 3})
        << "field 'tags[2]' of 'register' must be a text string, got an integer";
    QTest::newRow("register: tags a map")
        << u"register"_s << regWith("tags"_L1, QCborMap{})
        << "field 'tags' of 'register' must be an array, got a map";
    QTest::newRow("register: held entry negative attempt")
        << u"register"_s << regWith("held"_L1, QCborArray{key(1, 1, 0), key(2, -1, 0)})
        << "field 'held[1].a' of 'register' must not be negative, got -1";
    QTest::newRow("register: held entry not a map")
        << u"register"_s << regWith("held"_L1, QCborArray{u"1/1/0"_s})
        << "field 'held[0]' of 'register' must be a map, got a text string";
    QTest::newRow("register: negative pid")
        << u"register"_s << regWith("pid"_L1, -5)
        << "field 'pid' of 'register' must not be negative, got -5";
    QTest::newRow("register: metrics an array")
        << u"register"_s << regWith("metrics"_L1, QCborArray{})
        << "field 'metrics' of 'register' must be a map, got an array";
    QTest::newRow("register: metrics.cpus text")
        << u"register"_s << regWith("metrics"_L1, QCborMap{{u"cpus"_s, u"four"_s}})
        << "field 'metrics.cpus' of 'register' must be an integer, got a text string";
    QTest::newRow("register: metrics.load1 NaN")
        << u"register"_s << regWith("metrics"_L1, QCborMap{{u"load1"_s, qQNaN()}})
        << "field 'metrics.load1' of 'register' must be a finite number >= 0, got nan";
    QTest::newRow("register: metrics.memFreeMb negative")
        << u"register"_s << regWith("metrics"_L1, QCborMap{{u"memFreeMb"_s, -1}})
        << "field 'metrics.memFreeMb' of 'register' must not be negative, got -1";

    const Message registered = wire::encodeRegistered({});
    Message zeroBeat = registered;
    zeroBeat.with("heartbeatMs"_L1, 0);
    QTest::newRow("registered: heartbeat 0")
        << u"registered"_s << zeroBeat
        << "field 'heartbeatMs' of 'registered' must be between 1 and 2147483647, got 0";
    Message noLease = registered;
    noLease.body.remove("leaseMs"_L1);
    QTest::newRow("registered: no lease") << u"registered"_s << noLease
                                          << "field 'leaseMs' of 'registered' is missing; expected "
                                             "an integer";
    Message hugeDead = registered;
    hugeDead.with("deadAfterMs"_L1, qint64(1) << 40);
    QTest::newRow("registered: deadAfterMs beyond int")
        << u"registered"_s << hugeDead
        << "field 'deadAfterMs' of 'registered' must be between 1 and 2147483647, got "
           "1099511627776";

    QTest::newRow("heartbeat: no ts")
        << u"heartbeat"_s << Message(u"heartbeat"_s)
        << "field 'ts' of 'heartbeat' is missing; expected an integer";
    QTest::newRow("heartbeat: ts text")
        << u"heartbeat"_s << Message(u"heartbeat"_s).with("ts"_L1, u"now"_s)
        << "field 'ts' of 'heartbeat' must be an integer, got a text string";
    QTest::newRow("heartbeat: metrics bytes")
        << u"heartbeat"_s
        << Message(u"heartbeat"_s).with("ts"_L1, 1).with("metrics"_L1, QByteArray("x"))
        << "field 'metrics' of 'heartbeat' must be a map, got a byte string";
    QTest::newRow("heartbeatAck: negative ts")
        << u"heartbeatAck"_s << Message(u"heartbeatAck"_s).with("ts"_L1, -1)
        << "field 'ts' of 'heartbeatAck' must not be negative, got -1";
    QTest::newRow("dead: no reason") << u"reason"_s << Message(u"dead"_s)
                                     << "field 'reason' of 'dead' is missing; expected a text "
                                        "string";
    QTest::newRow("drain: reason null")
        << u"reason"_s << Message(u"drain"_s).with("reason"_L1, QCborValue(nullptr))
        << "field 'reason' of 'drain' must be a text string, got null";
}

void TstWire::hostileWholeMessages()
{
    QFETCH(QString, decoder);
    QFETCH(Message, message);
    QFETCH(QString, error);
    QCOMPARE(decodeAny(decoder, throughFrame(message)), QStringList{error});
}

void TstWire::hostileBatchEntries_data()
{
    QTest::addColumn<QString>("decoder");
    QTest::addColumn<Message>("message");
    QTest::addColumn<QStringList>("outcome"); // "items=N", then the errors
    QTest::newRow("status: reports missing")
        << u"status"_s << Message(u"status"_s)
        << QStringList{"items=0", "field 'reports' of 'status' is missing; expected an array"};
    QTest::newRow("status: reports a map")
        << u"status"_s << Message(u"status"_s).with("reports"_L1, QCborMap{})
        << QStringList{"items=0", "field 'reports' of 'status' must be an array, got a map"};
    QTest::newRow("status: good entries kept around bad ones")
        << u"status"_s
        << list(u"status"_s, "reports"_L1,
                {goodReport(), with(goodReport(), "a"_L1, u"1"_s), 5,
                 with(goodReport(), "s"_L1, u"DONE"_s), with(goodReport(), "s"_L1, u"SKIPPED"_s),
                 without(goodReport(), "t"_L1), with(goodReport(), "r"_L1, 1),
                 with(goodReport(), "tu"_L1, -5), with(goodReport(), "tu"_L1, 1.5), goodReport()})
        << QStringList{
               "items=2",
               "field 'reports[1].a' of 'status' must be an integer, got a text string",
               "field 'reports[2]' of 'status' must be a map, got an integer",
               "field 'reports[3].s' of 'status': unknown status \"DONE\" (expected RUNNING, "
               "SUCCEEDED, FAILED, TIMED_OUT or CANCELED)",
               "field 'reports[4].s' of 'status': status \"SKIPPED\" cannot be reported by a "
               "worker (expected RUNNING, SUCCEEDED, FAILED, TIMED_OUT or CANCELED)",
               "field 'reports[5].t' of 'status' is missing; expected an integer",
               "field 'reports[6].r' of 'status' must be a text string, got an integer",
               "field 'reports[7].tu' of 'status' must not be negative, got -5",
               "field 'reports[8].tu' of 'status' must be an integer, got a floating-point "
               "number"};
    QTest::newRow("status: hostile status text is cut in the error")
        << u"status"_s
        << list(u"status"_s, "reports"_L1, {with(goodReport(), "s"_L1, QString(1000, u'Z'))})
        << QStringList{"items=0", "field 'reports[0].s' of 'status': unknown status \""
                                      + QString(64, u'Z')
                                      + "...\" (expected RUNNING, SUCCEEDED, FAILED, TIMED_OUT or "
                                        "CANCELED)"};
    QTest::newRow("dispatch: bad fields")
        << u"dispatch"_s
        << list(u"dispatch"_s, "tasks"_L1,
                {with(goodTask(), "proc"_L1, u"PYTHON"_s), with(goodTask(), "cfg"_L1, u"{}"_s),
                 without(goodTask(), "cfg"_L1), with(goodTask(), "to"_L1, -1),
                 with(goodTask(), "a"_L1, qint64(kIntMax) + 1), with(goodTask(), "i"_L1, -3),
                 with(goodTask(), "jp"_L1, QCborMap{}), without(goodTask(), "job"_L1), goodTask()})
        << QStringList{
               "items=1",
               "field 'tasks[0].proc' of 'dispatch': unknown processor \"PYTHON\" (expected "
                   + processorKindNames().join(", ") + ")",
               "field 'tasks[1].cfg' of 'dispatch' must be a map, got a text string",
               "field 'tasks[2].cfg' of 'dispatch' is missing; expected a map",
               "field 'tasks[3].to' of 'dispatch' must not be negative, got -1",
               "field 'tasks[4].a' of 'dispatch' must be between 0 and 2147483647, got "
               "2147483648",
               "field 'tasks[5].i' of 'dispatch' must not be negative, got -3",
               "field 'tasks[6].jp' of 'dispatch' must be a text string, got a map",
               "field 'tasks[7].job' of 'dispatch' is missing; expected a text string"};
    QTest::newRow("accept: k is required")
        << u"accept"_s
        << list(u"accept"_s, "tasks"_L1, {without(key(1, 1, 0), "k"_L1), key(2, 1, 0)})
        << QStringList{"items=1", "field 'tasks[0].k' of 'accept' is missing; expected an "
                                  "integer"};
    QTest::newRow("return: reason is required")
        << u"return"_s << list(u"return"_s, "tasks"_L1, {key(1, 1, 0)})
        << QStringList{"items=0", "field 'tasks[0].reason' of 'return' is missing; expected a "
                                  "text string"};
    QTest::newRow("cancel: k may be absent, not negative")
        << u"cancel"_s
        << list(u"cancel"_s, "tasks"_L1,
                {with(without(key(1, 1, 0), "k"_L1), "reason"_L1, u"r"_s),
                 with(key(1, 1, -1), "reason"_L1, u"r"_s)})
        << QStringList{"items=1", "field 'tasks[1].k' of 'cancel' must not be negative, got -1"};
    QTest::newRow("logs: unknown stream, text missing")
        << u"logs"_s
        << list(u"logs"_s, "lines"_L1,
                {with(goodLine(), "s"_L1, u"STDOUT"_s), without(goodLine(), "x"_L1), goodLine(),
                 with(goodLine(), "t"_L1, 1.5)})
        << QStringList{
               "items=1",
               "field 'lines[0].s' of 'logs': unknown stream \"STDOUT\" (expected OUT, ERR or SYS)",
               "field 'lines[1].x' of 'logs' is missing; expected a text string",
               "field 'lines[3].t' of 'logs' must be an integer, got a floating-point number"};
}

void TstWire::hostileBatchEntries()
{
    QFETCH(QString, decoder);
    QFETCH(Message, message);
    QFETCH(QStringList, outcome);
    QCOMPARE(decodeAny(decoder, throughFrame(message)), outcome);
}

void TstWire::hugeIntegersAreRefused_data()
{
    QTest::addColumn<QString>("decoder");
    QTest::addColumn<Message>("message");
    QTest::addColumn<QString>("error");
    // CBOR integers run from -2^64 to 2^64 - 1; QCborValue keeps those outside qint64 as
    // floating point, so they fail the integer type check instead of wrapping around.
    QTest::newRow("ts = 2^64 - 1") << u"heartbeatAck"_s
                                   << rawMessage(
                                          u"heartbeatAck"_s,
                                          [](QCborStreamWriter &w) {
                                              w.append("ts"_L1);
                                              w.append(std::numeric_limits<quint64>::max());
                                          },
                                          1)
                                   << "field 'ts' of 'heartbeatAck' must be an integer, got a "
                                      "floating-point number";
    QTest::newRow("ts = -2^64") << u"heartbeatAck"_s
                                << rawMessage(
                                       u"heartbeatAck"_s,
                                       [](QCborStreamWriter &w) {
                                           w.append("ts"_L1);
                                           w.append(QCborNegativeInteger(
                                               std::numeric_limits<quint64>::max()));
                                       },
                                       1)
                                << "field 'ts' of 'heartbeatAck' must be an integer, got a "
                                   "floating-point number";
    QTest::newRow("capacity = qint64 max")
        << u"register"_s
        << rawMessage(
               u"register"_s,
               [](QCborStreamWriter &w) {
                   w.append("id"_L1);
                   w.append("w"_L1);
                   w.append("capacity"_L1);
                   w.append(kInt64Max);
               },
               2)
        << "field 'capacity' of 'register' must be between 1 and 4096, got 9223372036854775807";
}

void TstWire::hugeIntegersAreRefused()
{
    QFETCH(QString, decoder);
    QFETCH(Message, message);
    QFETCH(QString, error);
    QVERIFY(!message.type.isEmpty());
    QCOMPARE(decodeAny(decoder, message), QStringList{error});
}

void TstWire::nestedGarbageNeverCrashes()
{
    // Deeply nested arrays and maps where lists, entries and fields are expected; the frame
    // decoder bounds the depth it accepts, and what it accepts must decode to errors or values.
    QCborValue deep = QCborArray{1};
    for (int i = 0; i < 200; ++i)
        deep = (i % 2) ? QCborValue(QCborArray{deep}) : QCborValue(QCborMap{{u"k"_s, deep}});
    const QList<QLatin1StringView> fields{"tasks"_L1,   "reports"_L1, "lines"_L1, "id"_L1,
                                          "metrics"_L1, "held"_L1,    "tags"_L1,  "ts"_L1};
    const QStringList decoders{"register", "registered", "heartbeat", "heartbeatAck",
                               "reason",   "dispatch",   "accept",    "return",
                               "status",   "logs",       "cancel"};
    for (const QLatin1StringView field : fields) {
        Message m(u"x"_s);
        m.with(field, deep);
        m.with("reports"_L1, QCborArray{deep, goodReport()});
        const Message back = throughFrame(m);
        for (const QString &d : decoders)
            QVERIFY(!decodeAny(d, back).isEmpty());
    }
    // Garbage inside a valid entry's config is just data: it reaches the processor as JSON.
    const Message dispatch =
        list(u"dispatch"_s, "tasks"_L1, {with(goodTask(), "cfg"_L1, QCborMap{{u"deep"_s, deep}})});
    const auto batch = wire::decodeDispatch(throughFrame(dispatch));
    QCOMPARE(batch.errors, QStringList());
    QCOMPARE(batch.items.size(), 1);
    QVERIFY(batch.items[0].config.contains(u"deep"_s));
    // And a status whose every entry is garbage of every type.
    const Message garbage = list(u"status"_s, "reports"_L1,
                                 {QCborValue(nullptr), QCborValue(), true, 1.5, QByteArray("x"),
                                  u"t"_s, QCborArray{}, QCborValue(QCborTag(1), 2), QCborMap{}});
    const auto report = wire::decodeStatus(throughFrame(garbage));
    QCOMPARE(report.items.size(), 0);
    QCOMPARE(report.errors.size(), 9);
    QCOMPARE(report.errors.last(), u"field 'reports[8].i' of 'status' is missing; expected an "
                                   "integer"_s);
}

void TstWire::manyBadEntriesGiveBoundedErrors()
{
    QCborArray entries;
    for (int i = 0; i < 100000; ++i)
        entries.append(i);
    entries.append(goodReport());
    const auto batch = wire::decodeStatus(throughFrame(list(u"status"_s, "reports"_L1, entries)));
    QCOMPARE(batch.items.size(), 1);
    QCOMPARE(batch.errors.size(), 33);
    QCOMPARE(batch.errors.first(),
             u"field 'reports[0]' of 'status' must be a map, got an integer"_s);
    QCOMPARE(batch.errors.last(),
             u"99968 more bad entries of 'reports' in 'status' were not listed"_s);
}

void TstWire::splitLogBatch_data()
{
    QTest::addColumn<QList<LogLine>>("lines");
    QTest::addColumn<qsizetype>("maxBytes");
    QTest::addColumn<int>("batches");
    auto lines = [](int count, const QString &text) {
        QList<LogLine> out;
        for (int i = 0; i < count; ++i)
            out << LogLine{i + 1, 0, 1, 1700000000000 + i, LogStream::Stdout, text};
        return out;
    };
    QTest::newRow("nothing") << QList<LogLine>{} << qsizetype(1 << 20) << 0;
    QTest::newRow("small batch stays whole") << lines(100, u"hello"_s) << qsizetype(1 << 20) << 1;
    // 2900 lines of ~1 KiB (plus overhead) at 1 MiB per message: three messages.
    QTest::newRow("3 MB of ASCII") << lines(2900, QString(1000, u'a')) << qsizetype(1 << 20) << 3;
    // 3 bytes per character in UTF-8: the estimate must count bytes, not characters.
    QTest::newRow("1.5 MB of CJK in 500k characters")
        << lines(1000, QString(500, QChar(0x8C03))) << qsizetype(1 << 20) << 2;
    QTest::newRow("a line bigger than the budget travels alone")
        << (lines(1, u"a"_s) + lines(1, QString(5000, u'b')) + lines(1, u"c"_s)) << qsizetype(1000)
        << 3;
}

void TstWire::splitLogBatch()
{
    QFETCH(QList<LogLine>, lines);
    QFETCH(qsizetype, maxBytes);
    QFETCH(int, batches);
    const QList<QList<LogLine>> split = wire::splitLogBatch(lines, maxBytes);
    QCOMPARE(split.size(), batches);
    QList<LogLine> joined;
    for (const QList<LogLine> &batch : split) {
        QVERIFY(!batch.isEmpty());
        joined += batch;
        // The estimate is an upper bound: a message of several lines really fits the budget.
        const qsizetype payload = encodeFrame(wire::encodeLogs(batch)).size() - kFrameHeaderBytes;
        if (batch.size() > 1)
            QVERIFY2(payload <= maxBytes, qPrintable(u"%1 > %2"_s.arg(payload).arg(maxBytes)));
    }
    QVERIFY(joined == lines); // nothing lost, order kept
}

void TstWire::fuzzSeedsAreCurrent()
{
    // The seeds of fuzz_worker_messages are these messages' frames. KAIROS_UPDATE_FUZZ_SEEDS=1
    // rewrites them after a deliberate format change; otherwise a stale seed fails here.
    const QDir dir(QStringLiteral(KAIROS_SOURCE_DIR "/fuzz/corpus/worker"));
    const bool update = qEnvironmentVariableIntValue("KAIROS_UPDATE_FUZZ_SEEDS") == 1;
    if (update)
        QVERIFY(QDir().mkpath(dir.path()));
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
    check(u"all_in_one_stream"_s, all); // several frames in one input, as on a socket
}

QTEST_GUILESS_MAIN(TstWire)
#include "tst_wire.moc"
