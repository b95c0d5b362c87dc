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

QString describe(const TaskResultEntry &r)
{
    return u"{%1 %2 %3 %4 w=%5 wa=%6 ru=%7}"_s.arg(r.taskId)
        .arg(r.name, toString(r.status), r.result, r.worker, r.address)
        .arg(r.runs);
}

QString describe(const TaskSpec &t)
{
    QStringList results;
    for (const TaskResultEntry &r : t.results)
        results << describe(r);
    return u"%1/%2/%3 run %4 %5 %6 cfg=%7 jp=%8 ip=%9"_s.arg(t.instanceId)
               .arg(t.attempt)
               .arg(t.taskId)
               .arg(t.taskAttempt)
               .arg(t.jobName, toString(t.processor),
                    QString::fromUtf8(QJsonDocument(t.config).toJson(QJsonDocument::Compact)),
                    t.jobParams, t.instanceParams)
           + u" to=%1 md=%2 ro=%3 kn=%4 pl=%5 res=[%6]"_s.arg(t.timeoutMs)
                 .arg(toString(t.mode), toString(t.role), t.taskName,
                      QString::fromLatin1(t.payload.toHex()), results.join(u' '));
}

TaskResultEntry resultEntry(qint64 taskId, InstanceStatus status, const QString &result)
{
    TaskResultEntry r;
    r.taskId = taskId;
    r.name = u"number"_s;
    r.status = status;
    r.result = result;
    r.worker = u"w%1"_s.arg(taskId % 3);
    r.address = u"10.0.0.%1"_s.arg(taskId % 3);
    r.runs = 1;
    return r;
}

TaskCall mapCall(quint64 id, const TaskKey &key, qint64 from, const QList<QByteArray> &items)
{
    TaskCall c;
    c.callId = id;
    c.key = key;
    c.op = TaskCall::Op::Map;
    c.name = u"number"_s;
    c.from = from;
    c.items = items;
    return c;
}

TaskCall resultsCall(quint64 id, const TaskKey &key, qint64 after, int limit)
{
    TaskCall c;
    c.callId = id;
    c.key = key;
    c.op = TaskCall::Op::Results;
    c.afterTaskId = after;
    c.limit = limit;
    return c;
}

QString describe(const TaskCall &c)
{
    QStringList items;
    for (const QByteArray &i : c.items)
        items << QString::fromLatin1(i.toHex());
    return u"#%1 %2/%3/%4 run %5 %6 n=%7 from=%8 items=[%9]"_s.arg(c.callId)
               .arg(c.key.instanceId)
               .arg(c.key.attempt)
               .arg(c.key.taskId)
               .arg(c.key.taskAttempt)
               .arg(c.op == TaskCall::Op::Map ? u"map"_s : u"results"_s, c.name)
               .arg(c.from)
               .arg(items.join(u','))
           + u" after=%1 limit=%2"_s.arg(c.afterTaskId).arg(c.limit);
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
    const TaskReport running{42, 2, 0, 1, InstanceStatus::Running, {}, 1700000000000};
    const TaskReport failed{43, 1, 5, 1, InstanceStatus::Failed, u"exit code 3"_s, 1700000000100};
    const LogLine out{42, 0, 2, 0, 1700000000050, LogStream::Stdout, u"42"_s};
    const LogLine err{42, 0, 2, 0, 1700000000060, LogStream::Stderr, u"warn: 调度"_s};
    TaskSpec subtask = task(44, 1, 12, ProcessorKind::Container, {{"ref", "builtin#range-sum"}});
    subtask.taskAttempt = 2;
    subtask.mode = ExecutionMode::MapReduce;
    subtask.role = TaskRole::Subtask;
    subtask.taskName = u"number"_s;
    subtask.payload = QByteArray("\x00\x01 42", 5);
    TaskSpec post = task(45, 1, 5, ProcessorKind::Shell,
                         {{"script", "true"}, {"postScript", "echo $KAIROS_RESULTS"}});
    post.mode = ExecutionMode::Broadcast;
    post.role = TaskRole::PostProcess;
    post.taskName = u"postProcess"_s;
    post.results = {resultEntry(2, InstanceStatus::Succeeded, u"ok"_s),
                    resultEntry(3, InstanceStatus::Failed, u"worker lost: closed"_s)};
    post.results[1].runs = 0;
    const QList<TaskResultEntry> page = post.results;
    const TaskReport rerun{44, 1, 12, 2, InstanceStatus::Succeeded, u"42"_s, 1700000000200};
    const LogLine taskLine{44, 0, 1, 12, 1700000000150, LogStream::Stdout, u"leaf 42"_s};
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
        {u"dispatch_tasks"_s, encodeDispatch({subtask, post})},
        {u"status_runs"_s, encodeStatus({rerun})},
        {u"logs_tasks"_s, encodeLogs({taskLine})},
        {u"cancel_run"_s, encodeCancel({KeyReason{TaskKey{44, 1, 9, 2}, u"superseded"_s}})},
        {u"call"_s, encodeCall({mapCall(7, TaskKey{44, 1, 1, 1}, 0, {"1", "2", QByteArray(3, 0)}),
                                resultsCall(8, TaskKey{44, 1, 10, 1}, 4, 4096)})},
        {u"call_reply"_s,
         encodeCallReply({TaskCallReply{7, {}, {}, false}, TaskCallReply{8, {}, page, true},
                          TaskCallReply{9, u"task (44,1,3) is not running"_s, {}, false}})},
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
    void runNumbersTravelInEveryKey();
    void cancelOfOneRunNamesTheRun();
    void messagesWithoutTheNewFieldsMeanWhatTheyMeantBefore();
    void taskFieldsOfTheExecutionModesOnTheWire();
    void callRoundTrip_data();
    void callRoundTrip();
    void callReplyRoundTrip_data();
    void callReplyRoundTrip();
    void hostileCalls_data();
    void hostileCalls();
    void hostileCallReplies_data();
    void hostileCallReplies();
    void callAndReplyBatchesSplitToTheBudget();
    void resultsPageIsCutToFitAFrame();
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

    // Execution modes (docs/execution-modes.md): run numbers, roles, names, payloads, results.
    QList<TaskSpec> modes;
    TaskSpec root = task(10, 2, 1, ProcessorKind::Container, {{"ref", "builtin#range-sum"}});
    root.mode = ExecutionMode::MapReduce;
    root.role = TaskRole::Root;
    root.taskName = u"root"_s;
    modes << root;
    TaskSpec leaf = root;
    leaf.taskId = 4096;
    leaf.taskAttempt = 3; // its worker died twice
    leaf.role = TaskRole::Subtask;
    leaf.taskName = u"number"_s;
    leaf.payload = QByteArray("\x00\xff\x80"
                              "binary"
                              "\x00",
                              10);
    modes << leaf;
    TaskSpec reduce = root;
    reduce.taskId = 5000;
    reduce.role = TaskRole::Reduce;
    reduce.taskName = u"reduce"_s;
    modes << reduce;
    TaskSpec pre = task(11, 1, 1, ProcessorKind::Shell, {{"script", "true"}, {"preScript", "x"}});
    pre.mode = ExecutionMode::Broadcast;
    pre.role = TaskRole::PreProcess;
    pre.taskName = u"preProcess"_s;
    modes << pre;
    TaskSpec each = pre;
    each.taskId = 2;
    each.role = TaskRole::Broadcast;
    each.taskName = u"broadcast"_s;
    modes << each;
    TaskSpec post = pre;
    post.taskId = 9;
    post.role = TaskRole::PostProcess;
    post.taskName = u"postProcess"_s;
    post.results = {resultEntry(2, InstanceStatus::Succeeded, u"ok ✓"_s),
                    resultEntry(3, InstanceStatus::Failed, u"worker lost: connection closed"_s),
                    resultEntry(4, InstanceStatus::TimedOut, QString()), TaskResultEntry{}};
    post.results[1].runs = 0;
    post.results[2].runs = kIntMax;
    modes << post;
    TaskSpec mapRoot = root;
    mapRoot.instanceId = 12;
    mapRoot.mode = ExecutionMode::Map;
    modes << mapRoot;
    QTest::newRow("every role of every mode") << modes;

    // Subtasks of two runs interleaved, with a few that differ in a shared field.
    QList<TaskSpec> interleaved;
    for (int i = 0; i < 100; ++i) {
        TaskSpec t = leaf;
        t.instanceId = 20 + i % 2;
        t.taskId = i + 2;
        t.taskAttempt = 1 + i % 3;
        t.payload = QByteArray::number(i);
        if (i % 2)
            t.config = QJsonObject{{"ref", "builtin#range-sum"}, {"count", 7}};
        if (i % 10 == 0)
            t.taskName = u"chunk"_s;
        if (i == 50)
            t.timeoutMs = 1000;
        interleaved << t;
    }
    QTest::newRow("subtasks of two runs, shared fields differing") << interleaved;
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
    const QList<TaskReport> reports{TaskReport{77, 3, 2, 1, status, result, 1700000000999, timeUs},
                                    TaskReport{78, 1, 0, 1, InstanceStatus::Running, {}, 1}};
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
        LogLine{1, 0, 1, 0, 1700000000001, LogStream::Stdout, u"plain"_s},
        LogLine{1, 0, 1, 3, 1700000000002, LogStream::Stderr, u"调度 ✓ \t tabs"_s},
        LogLine{2, 0, 5, 7, 1700000000003, LogStream::System, QString()},
        LogLine{3, 0, 1, 0, 1700000000004, LogStream::Stdout, QString(100000, u'x')},
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
    QCOMPARE(
        sortedKeys(wire::encodeStatus({TaskReport{1, 1, 0, 1, InstanceStatus::Failed, u"x"_s, 1}})
                       .array("reports"_L1)[0]
                       .toMap()),
        sorted({"i", "a", "k", "s", "r", "t"}));
    QCOMPARE(sortedKeys(
                 wire::encodeStatus({TaskReport{1, 1, 0, 1, InstanceStatus::Running, {}, 1, 1001}})
                     .array("reports"_L1)[0]
                     .toMap()),
             sorted({"i", "a", "k", "s", "t", "tu"}));
    const QCborMap line = wire::encodeLogs({LogLine{1, 9, 2, 0, 5, LogStream::System, u"x"_s}})
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
    QTest::newRow("dispatch: bad fields of the execution modes")
        << u"dispatch"_s
        << list(u"dispatch"_s, "tasks"_L1,
                {with(goodTask(), "ka"_L1, 0), with(goodTask(), "md"_L1, u"FANOUT"_s),
                 with(goodTask(), "ro"_L1, 3), with(goodTask(), "pl"_L1, u"text"_s),
                 with(goodTask(), "kn"_L1, QByteArray("n")),
                 with(goodTask(), "res"_L1, QCborArray{QCborMap{{u"k"_s, 2}, {u"s"_s, u"OK"_s}}}),
                 with(goodTask(), "res"_L1,
                      QCborArray{QCborMap{{u"k"_s, 2}, {u"s"_s, u"FAILED"_s}},
                                 QCborMap{{u"k"_s, -1}, {u"s"_s, u"FAILED"_s}}}),
                 with(goodTask(), "res"_L1, QCborArray{7}),
                 with(goodTask(), "res"_L1,
                      QCborArray{QCborMap{{u"k"_s, 2}, {u"s"_s, u"FAILED"_s}, {u"ru"_s, -2}}}),
                 with(with(with(goodTask(), "md"_L1, u"map-reduce"_s), "ro"_L1, u"post-process"_s),
                      "ka"_L1, 2)})
        << QStringList{"items=1",
                       "field 'tasks[0].ka' of 'dispatch' must be between 1 and 2147483647, got 0",
                       "field 'tasks[1].md' of 'dispatch': unknown mode \"FANOUT\" (expected "
                           + executionModeNames().join(", ") + ")",
                       "field 'tasks[2].ro' of 'dispatch' must be a text string, got an integer",
                       "field 'tasks[3].pl' of 'dispatch' must be a byte string, got a text string",
                       "field 'tasks[4].kn' of 'dispatch' must be a text string, got a byte string",
                       "field 'tasks[5].res[0].s' of 'dispatch': unknown status \"OK\" (expected "
                           + instanceStatusNames().join(", ") + ")",
                       "field 'tasks[6].res[1].k' of 'dispatch' must not be negative, got -1",
                       "field 'tasks[7].res[0]' of 'dispatch' must be a map, got an integer",
                       "field 'tasks[8].res[0].ru' of 'dispatch' must not be negative, got -2"};
    QCborMap proto{{u"job"_s, u"j"_s},
                   {u"proc"_s, u"ECHO"_s},
                   {u"ro"_s, u"SUBTASK"_s},
                   {u"kn"_s, u"number"_s}};
    QCborMap protoCfg = proto;
    protoCfg.insert(u"cfg"_s, QCborMap{{u"message"_s, u"shared"_s}});
    QCborMap badProto = proto;
    badProto.insert(u"proc"_s, u"PYTHON"_s);
    Message shared = list(u"dispatch"_s, "tasks"_L1,
                          {with(key(1, 1, 2), "sh"_L1, 0),
                           with(with(key(1, 1, 3), "sh"_L1, 1), "cfg"_L1, QCborMap{}),
                           with(key(1, 1, 4), "sh"_L1, 1), with(key(1, 1, 5), "sh"_L1, 2),
                           with(key(1, 1, 6), "sh"_L1, 3), with(key(1, 1, 7), "sh"_L1, -1),
                           with(with(key(1, 1, 8), "sh"_L1, 0), "proc"_L1, u"SLEEP"_s)});
    shared.with("shared"_L1, QCborArray{protoCfg, proto, badProto});
    QTest::newRow("dispatch: shared prototypes")
        << u"dispatch"_s << shared
        << QStringList{
               "items=3", // 2 (proto 0), 3 (its own cfg), 8 (proto 0, its own proc)
               "field 'tasks[2].cfg' of 'dispatch' is missing; expected a map",
               "field 'tasks[3].sh' of 'dispatch': its 'shared' entry cannot be used: field "
               "'shared[2].proc' of 'dispatch': unknown processor \"PYTHON\" (expected "
                   + processorKindNames().join(", ") + ")",
               "field 'tasks[4].sh' of 'dispatch': there is no entry 3 in 'shared' (it has 3)",
               "field 'tasks[5].sh' of 'dispatch' must not be negative, got -1"};
    QTest::newRow("dispatch: shared is not a list")
        << u"dispatch"_s
        << list(u"dispatch"_s, "tasks"_L1, {with(key(1, 1, 2), "sh"_L1, 0), goodTask()})
               .with("shared"_L1, QCborMap{})
        << QStringList{"items=1", "field 'tasks[0].sh' of 'dispatch': 'shared' cannot be used: "
                                  "field 'shared' of 'dispatch' must be an array, got a map"};
    QTest::newRow("status: run number")
        << u"status"_s
        << list(u"status"_s, "reports"_L1,
                {with(goodReport(), "ka"_L1, u"2"_s), with(goodReport(), "ka"_L1, -1),
                 with(goodReport(), "ka"_L1, 2)})
        << QStringList{"items=1",
                       "field 'reports[0].ka' of 'status' must be an integer, got a text string",
                       "field 'reports[1].ka' of 'status' must be between 1 and 2147483647, got "
                       "-1"};
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
            out << LogLine{i + 1, 0, 1, 0, 1700000000000 + i, LogStream::Stdout, text};
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

void TstWire::runNumbersTravelInEveryKey()
{
    // (i, a, k, ka) names one run everywhere: dispatch, accept, return, status, held, cancel.
    const TaskKey second{40, 2, 17, 2};
    const TaskKey first{40, 2, 17, 1};
    const QList<TaskKey> keys{second, first, TaskKey{41, 1, 0, kIntMax}};

    const auto accepted = wire::decodeAccept(throughFrame(wire::encodeAccept(keys)));
    QCOMPARE(accepted.errors, QStringList());
    QCOMPARE(accepted.items, keys);

    const QList<wire::KeyReason> returned{{second, u"draining"_s}, {first, u"draining"_s}};
    const auto back = wire::decodeReturn(throughFrame(wire::encodeReturn(returned)));
    QCOMPARE(back.errors, QStringList());
    QCOMPARE(back.items, returned);

    Registration r = sampleRegistration();
    r.held = keys;
    const auto reg = wire::decodeRegister(throughFrame(wire::encodeRegister(r)));
    QVERIFY2(reg.ok(), qPrintable(reg.error()));
    QCOMPARE(reg->held, keys);

    TaskReport report;
    report.instanceId = 40;
    report.attempt = 2;
    report.taskId = 17;
    report.taskAttempt = 2;
    report.status = InstanceStatus::Succeeded;
    report.result = u"42"_s;
    report.timeMs = 1700000000000;
    const Message status = throughFrame(wire::encodeStatus({report}));
    QCOMPARE(status.array("reports"_L1)[0].toMap().value("ka"_L1).toInteger(), 2);
    const auto reports = wire::decodeStatus(status);
    QCOMPARE(reports.errors, QStringList());
    QCOMPARE(reports.items, QList<TaskReport>{report});
    QCOMPARE(taskKeyOf(reports.items.first()), second);

    TaskSpec t = task(40, 2, 17, ProcessorKind::Echo, {});
    t.taskAttempt = 2;
    const auto dispatched = wire::decodeDispatch(throughFrame(wire::encodeDispatch({t})));
    QCOMPARE(dispatched.items.size(), 1);
    QCOMPARE(taskKeyOf(dispatched.items.first()), second);

    // The first run is the default: `ka` is left out, so such keys cost what they cost before.
    QVERIFY(!wire::encodeAccept({first}).array("tasks"_L1)[0].toMap().contains("ka"_L1));
    QCOMPARE(wire::encodeAccept({second}).array("tasks"_L1)[0].toMap().value("ka"_L1).toInteger(),
             2);
}

void TstWire::cancelOfOneRunNamesTheRun()
{
    const QList<wire::KeyReason> cancels{{TaskKey{5, 2, -1, 1}, u"canceled by alice"_s},
                                         {TaskKey{6, 1, 4, 3}, u"task canceled"_s},
                                         {TaskKey{6, 1, 5, 1}, u"task canceled"_s}};
    const Message m = throughFrame(wire::encodeCancel(cancels));
    const QCborArray entries = m.array("tasks"_L1);
    QCOMPARE(sortedKeys(entries[0].toMap()), sorted({"i", "a", "reason"}));
    QCOMPARE(sortedKeys(entries[1].toMap()), sorted({"i", "a", "k", "ka", "reason"}));
    QCOMPARE(sortedKeys(entries[2].toMap()), sorted({"i", "a", "k", "reason"}));
    const auto back = wire::decodeCancel(m);
    QCOMPARE(back.errors, QStringList());
    QCOMPARE(back.items, cancels);

    // A `ka` without `k` means nothing: the entry still cancels the whole attempt.
    const Message stray =
        list(u"cancel"_s, "tasks"_L1,
             {with(with(without(key(7, 1, 0), "k"_L1), "ka"_L1, 4), "reason"_L1, u"r"_s)});
    const auto whole = wire::decodeCancel(throughFrame(stray));
    QCOMPARE(whole.errors, QStringList());
    QCOMPARE(whole.items.size(), 1);
    QCOMPARE(whole.items[0].key, (TaskKey{7, 1, -1, 1}));
}

void TstWire::messagesWithoutTheNewFieldsMeanWhatTheyMeantBefore()
{
    // What a server or worker of the previous release sends: no ka, md, ro, kn, pl, res.
    const auto tasks =
        wire::decodeDispatch(throughFrame(list(u"dispatch"_s, "tasks"_L1, {goodTask()})));
    QCOMPARE(tasks.errors, QStringList());
    QCOMPARE(tasks.items.size(), 1);
    const TaskSpec &t = tasks.items.first();
    QCOMPARE(t.taskAttempt, 1);
    QCOMPARE(toString(t.mode), u"STANDALONE"_s);
    QCOMPARE(toString(t.role), u"STANDALONE"_s);
    QVERIFY(t.taskName.isEmpty());
    QVERIFY(t.payload.isEmpty());
    QVERIFY(t.results.isEmpty());

    const auto reports =
        wire::decodeStatus(throughFrame(list(u"status"_s, "reports"_L1, {goodReport()})));
    QCOMPARE(reports.items.size(), 1);
    QCOMPARE(reports.items.first().taskAttempt, 1);

    const auto keys =
        wire::decodeAccept(throughFrame(list(u"accept"_s, "tasks"_L1, {key(3, 2, 1)})));
    QCOMPARE(keys.items, (QList<TaskKey>{TaskKey{3, 2, 1, 1}}));

    // LINE's `k` was always sent (as 0); it now says which task logged the line.
    const auto lines = wire::decodeLogs(
        throughFrame(list(u"logs"_s, "lines"_L1, {goodLine(), with(goodLine(), "k"_L1, 12)})));
    QCOMPARE(lines.errors, QStringList());
    QCOMPARE(lines.items.size(), 2);
    QCOMPARE(lines.items[0].taskId, 0);
    QCOMPARE(lines.items[1].taskId, 12);
    QCOMPARE(
        wire::encodeLogs({lines.items[1]}).array("lines"_L1)[0].toMap().value("k"_L1).toInteger(),
        12);
}

void TstWire::taskFieldsOfTheExecutionModesOnTheWire()
{
    {
        // What a task takes from its `shared` entry, and what it says itself.
        QCborMap proto{{u"job"_s, u"j"_s},
                       {u"proc"_s, u"ECHO"_s},
                       {u"cfg"_s, QCborMap{{u"message"_s, u"m"_s}}},
                       {u"md"_s, u"MAP"_s},
                       {u"ro"_s, u"SUBTASK"_s},
                       {u"kn"_s, u"number"_s},
                       {u"to"_s, 500}};
        const Message m = list(u"dispatch"_s, "tasks"_L1,
                               {with(with(key(3, 1, 2), "sh"_L1, 0), "pl"_L1, QByteArray("7")),
                                with(with(key(3, 1, 3), "sh"_L1, 0), "kn"_L1, u"other"_s)})
                              .with("shared"_L1, QCborArray{proto});
        const auto batch = wire::decodeDispatch(throughFrame(m));
        QCOMPARE(batch.errors, QStringList());
        QCOMPARE(batch.items.size(), 2);
        QCOMPARE(batch.items[0].jobName, u"j"_s);
        QCOMPARE(batch.items[0].config, (QJsonObject{{"message", "m"}}));
        QCOMPARE(toString(batch.items[0].mode), u"MAP"_s);
        QCOMPARE(toString(batch.items[0].role), u"SUBTASK"_s);
        QCOMPARE(batch.items[0].timeoutMs, 500);
        QCOMPARE(batch.items[0].taskName, u"number"_s);
        QCOMPARE(batch.items[0].payload, QByteArray("7"));
        QCOMPARE(batch.items[0].taskId, 2);
        QCOMPARE(batch.items[1].taskName, u"other"_s); // its own field wins
        QVERIFY(batch.items[1].payload.isEmpty());
    }

    // docs/protocol.md 12.1: the names of the new TASK, RESULT, CALL and REPLY fields.
    TaskSpec t = task(1, 1, 3, ProcessorKind::Container, {{"ref", "builtin#echo"}});
    t.taskAttempt = 2;
    t.mode = ExecutionMode::Broadcast;
    t.role = TaskRole::PostProcess;
    t.taskName = u"postProcess"_s;
    t.payload = "p";
    TaskResultEntry full = resultEntry(2, InstanceStatus::Failed, u"exit 1"_s);
    full.runs = 2;
    t.results = {full, TaskResultEntry{}};
    const QCborMap entry = wire::encodeDispatch({t}).array("tasks"_L1)[0].toMap();
    QCOMPARE(sortedKeys(entry),
             sorted({"i", "a", "k", "ka", "job", "proc", "cfg", "md", "ro", "kn", "pl", "res"}));
    QCOMPARE(entry.value("md"_L1).toString(), u"BROADCAST"_s);
    QCOMPARE(entry.value("ro"_L1).toString(), u"POST_PROCESS"_s);
    QVERIFY(entry.value("pl"_L1).isByteArray());
    const QCborArray results = entry.value("res"_L1).toArray();
    QCOMPARE(sortedKeys(results[0].toMap()), sorted({"k", "n", "s", "r", "w", "wa", "ru"}));
    QCOMPARE(results[0].toMap().value("s"_L1).toString(), u"FAILED"_s);
    // A result with nothing but its id and status (runs 1) is just that.
    QCOMPARE(sortedKeys(results[1].toMap()), sorted({"k", "s"}));

    // Subtasks carry their key and payload; what they share is said once, in `shared`.
    TaskSpec sub = t;
    sub.role = TaskRole::Subtask;
    sub.mode = ExecutionMode::Map;
    sub.taskName = u"number"_s;
    sub.results.clear();
    TaskSpec sub2 = sub;
    sub2.taskId = 4;
    sub2.taskAttempt = 1;
    const Message subtasks = wire::encodeDispatch({sub, sub2});
    QCOMPARE(sortedKeys(subtasks.body), sorted({"tasks", "shared"}));
    QCOMPARE(sortedKeys(subtasks.array("tasks"_L1)[0].toMap()),
             sorted({"i", "a", "k", "ka", "sh", "pl"}));
    QCOMPARE(sortedKeys(subtasks.array("tasks"_L1)[1].toMap()),
             sorted({"i", "a", "k", "sh", "pl"}));
    QCOMPARE(subtasks.array("shared"_L1).size(), 1);
    QCOMPARE(sortedKeys(subtasks.array("shared"_L1)[0].toMap()),
             sorted({"job", "proc", "cfg", "md", "ro", "kn"}));
    // Any other task is written in full, as a worker of the release before reads it.
    QVERIFY(!wire::encodeDispatch({t}).has("shared"_L1));

    const QCborMap map =
        wire::encodeCall({mapCall(9, TaskKey{1, 1, 3, 2}, 20, {"x"})}).array("calls"_L1)[0].toMap();
    QCOMPARE(sortedKeys(map), sorted({"c", "i", "a", "k", "ka", "op", "n", "from", "items"}));
    QCOMPARE(map.value("op"_L1).toString(), u"map"_s);
    QVERIFY(map.value("items"_L1).toArray()[0].isByteArray());
    const QCborMap results2 = wire::encodeCall({resultsCall(10, TaskKey{1, 1, 3, 1}, 99, 4096)})
                                  .array("calls"_L1)[0]
                                  .toMap();
    QCOMPARE(sortedKeys(results2), sorted({"c", "i", "a", "k", "op", "after", "limit"}));
    QCOMPARE(results2.value("op"_L1).toString(), u"results"_s);

    const Message replies =
        wire::encodeCallReply({TaskCallReply{9, {}, {}, false}, TaskCallReply{10, {}, {full}, true},
                               TaskCallReply{11, u"refused"_s, {}, false}});
    QCOMPARE(replies.type, u"callReply"_s);
    QCOMPARE(sortedKeys(replies.array("replies"_L1)[0].toMap()), QStringList{"c"});
    QCOMPARE(sortedKeys(replies.array("replies"_L1)[1].toMap()), sorted({"c", "res", "end"}));
    QCOMPARE(sortedKeys(replies.array("replies"_L1)[2].toMap()), sorted({"c", "err"}));
    QCOMPARE(wire::encodeCall({}).type, u"call"_s);
}

void TstWire::callRoundTrip_data()
{
    QTest::addColumn<QList<TaskCall>>("calls");
    QTest::newRow("no calls") << QList<TaskCall>{};
    QTest::newRow("map of three items")
        << QList<TaskCall>{mapCall(1, TaskKey{7, 1, 1, 1}, 0, {"1", "2", "3"})};
    QTest::newRow("map continuing at 20000, binary and empty items, second run") << QList<TaskCall>{
        mapCall(2, TaskKey{7, 1, 4, 2}, 20000,
                {QByteArray(), QByteArray("\x00\xff", 2), QByteArray(5000, 'z')})};
    QList<QByteArray> many;
    for (int i = 0; i < wire::kMaxMapItems; ++i)
        many << QByteArray::number(i);
    QTest::newRow("map of kMaxMapItems items")
        << QList<TaskCall>{mapCall(3, TaskKey{7, 1, 1, 1}, 0, many)};
    QTest::newRow("results pages")
        << QList<TaskCall>{resultsCall(4, TaskKey{7, 1, 9, 1}, 0, 1),
                           resultsCall(5, TaskKey{7, 1, 9, 1}, kInt64Max, wire::kMaxResultsPage)};
    TaskCall named = mapCall(quint64(kInt64Max), TaskKey{kInt64Max, kIntMax, kInt64Max, kIntMax},
                             kInt64Max, {"a"});
    named.name = QString(wire::kMaxIdLength, u'调');
    QTest::newRow("largest ids, longest name") << QList<TaskCall>{named};
}

void TstWire::callRoundTrip()
{
    QFETCH(QList<TaskCall>, calls);
    const Message m = throughFrame(wire::encodeCall(calls));
    QCOMPARE(m.type, u"call"_s);
    const wire::CallBatch back = wire::decodeCall(m);
    QCOMPARE(back.errors, QStringList());
    QCOMPARE(back.refused.size(), 0);
    QCOMPARE(back.items.size(), calls.size());
    for (qsizetype i = 0; i < calls.size(); ++i)
        QCOMPARE(describe(back.items[i]), describe(calls[i]));
    QVERIFY(back.items == calls);
}

void TstWire::callReplyRoundTrip_data()
{
    QTest::addColumn<QList<TaskCallReply>>("replies");
    QTest::newRow("map stored") << QList<TaskCallReply>{TaskCallReply{1, {}, {}, false}};
    QTest::newRow("refused") << QList<TaskCallReply>{
        TaskCallReply{2, u"the run was superseded ✓"_s, {}, false}};
    QList<TaskResultEntry> page;
    for (qint64 id = 2; id < 2 + 500; ++id)
        page << resultEntry(id, id % 7 ? InstanceStatus::Succeeded : InstanceStatus::Failed,
                            QString::number(id * 3));
    page[3].runs = 3;
    page[4].runs = 0;
    page[5] = TaskResultEntry{};
    QTest::newRow("a page, not the last")
        << QList<TaskCallReply>{TaskCallReply{3, {}, page, false}};
    QTest::newRow("the last page, empty") << QList<TaskCallReply>{TaskCallReply{4, {}, {}, true}};
    QTest::newRow("several at once")
        << QList<TaskCallReply>{TaskCallReply{5, {}, {}, false},
                                TaskCallReply{quint64(kInt64Max), {}, page.mid(0, 2), true}};
}

void TstWire::callReplyRoundTrip()
{
    QFETCH(QList<TaskCallReply>, replies);
    const Message m = throughFrame(wire::encodeCallReply(replies));
    QCOMPARE(m.type, u"callReply"_s);
    const auto back = wire::decodeCallReply(m);
    QCOMPARE(back.errors, QStringList());
    QCOMPARE(back.items.size(), replies.size());
    for (qsizetype i = 0; i < replies.size(); ++i) {
        QCOMPARE(back.items[i].callId, replies[i].callId);
        QCOMPARE(back.items[i].error, replies[i].error);
        QCOMPARE(back.items[i].end, replies[i].end);
        QCOMPARE(back.items[i].results.size(), replies[i].results.size());
        for (qsizetype j = 0; j < replies[i].results.size(); ++j)
            QCOMPARE(describe(back.items[i].results[j]), describe(replies[i].results[j]));
    }
    QVERIFY(back.items == replies);
}

namespace {

QCborMap goodMapCall(qint64 c)
{
    QCborMap m = key(1, 1, 1);
    m.insert("c"_L1, c);
    m.insert("op"_L1, u"map"_s);
    m.insert("n"_L1, u"number"_s);
    m.insert("from"_L1, 0);
    m.insert("items"_L1, QCborArray{QByteArray("1"), QByteArray("2")});
    return m;
}

QCborMap goodResultsCall(qint64 c)
{
    QCborMap m = key(1, 1, 9);
    m.insert("c"_L1, c);
    m.insert("op"_L1, u"results"_s);
    m.insert("limit"_L1, 100);
    return m;
}

// "items=N", then "refused c: error" per refused entry, then the errors.
QStringList callOutcome(const wire::CallBatch &b)
{
    QStringList out{u"items=%1"_s.arg(b.items.size())};
    for (const TaskCallReply &r : b.refused)
        out << u"refused %1: %2"_s.arg(r.callId).arg(r.error);
    return out + b.errors;
}

} // namespace

void TstWire::hostileCalls_data()
{
    QTest::addColumn<Message>("message");
    QTest::addColumn<QStringList>("outcome");
    QTest::newRow("calls missing")
        << Message(u"call"_s)
        << QStringList{"items=0", "field 'calls' of 'call' is missing; expected an array"};
    QCborArray tooMany;
    for (int i = 0; i <= wire::kMaxMapItems; ++i)
        tooMany.append(QByteArray("x"));
    const QString manyError =
        u"field 'calls[1].items' of 'call' must hold at most 10000 entries, got 10001"_s;
    const QString opError = u"field 'calls[2].op' of 'call': unknown operation \"reduce\" "
                            "(expected map or results)"_s;
    const QString itemError =
        u"field 'calls[3].items[1]' of 'call' must be a byte string, got a text string"_s;
    const QString limitError =
        u"field 'calls[4].limit' of 'call' must be between 1 and 10000, got 0"_s;
    const QString bigLimitError =
        u"field 'calls[5].limit' of 'call' must be between 1 and 10000, got 10001"_s;
    const QString nameError = u"field 'calls[6].n' of 'call' is missing; expected a text string"_s;
    const QString kaError =
        u"field 'calls[7].ka' of 'call' must be between 1 and 2147483647, got 0"_s;
    const QString fromError = u"field 'calls[8].from' of 'call' must not be negative, got -1"_s;
    QTest::newRow("bad entries with a readable call id are refused, the good one kept")
        << list(u"call"_s, "calls"_L1,
                {goodMapCall(1), with(goodMapCall(2), "items"_L1, tooMany),
                 with(goodMapCall(3), "op"_L1, u"reduce"_s),
                 with(goodMapCall(4), "items"_L1, QCborArray{QByteArray("1"), u"2"_s}),
                 with(goodResultsCall(5), "limit"_L1, 0),
                 with(goodResultsCall(6), "limit"_L1, wire::kMaxResultsPage + 1),
                 without(goodMapCall(7), "n"_L1), with(goodMapCall(8), "ka"_L1, 0),
                 with(goodMapCall(9), "from"_L1, -1)})
        << QStringList{"items=1",
                       "refused 2: " + manyError,
                       "refused 3: " + opError,
                       "refused 4: " + itemError,
                       "refused 5: " + limitError,
                       "refused 6: " + bigLimitError,
                       "refused 7: " + nameError,
                       "refused 8: " + kaError,
                       "refused 9: " + fromError,
                       manyError,
                       opError,
                       itemError,
                       limitError,
                       bigLimitError,
                       nameError,
                       kaError,
                       fromError};
    QTest::newRow("without a readable call id nobody can be answered")
        << list(u"call"_s, "calls"_L1,
                {without(goodMapCall(1), "c"_L1), with(goodMapCall(1), "c"_L1, 0),
                 with(goodMapCall(1), "c"_L1, u"7"_s), u"call"_s, goodResultsCall(2)})
        << QStringList{
               "items=1", "field 'calls[0].c' of 'call' is missing; expected an integer",
               "field 'calls[1].c' of 'call' must be between 1 and 9223372036854775807, got 0",
               "field 'calls[2].c' of 'call' must be an integer, got a text string",
               "field 'calls[3]' of 'call' must be a map, got a text string"};
    QTest::newRow("a map call names its items list")
        << list(u"call"_s, "calls"_L1, {without(goodMapCall(1), "items"_L1)})
        << QStringList{"items=0",
                       "refused 1: field 'calls[0].items' of 'call' is missing; expected an array",
                       "field 'calls[0].items' of 'call' is missing; expected an array"};
}

void TstWire::hostileCalls()
{
    QFETCH(Message, message);
    QFETCH(QStringList, outcome);
    QCOMPARE(callOutcome(wire::decodeCall(throughFrame(message))), outcome);
}

void TstWire::hostileCallReplies_data()
{
    QTest::addColumn<Message>("message");
    QTest::addColumn<QStringList>("outcome"); // per item "c: error", then the errors
    auto reply = [](qint64 c) { return QCborMap{{u"c"_s, c}}; };
    QCborArray tooMany;
    for (int i = 0; i <= wire::kMaxResultsPage; ++i)
        tooMany.append(QCborMap{{u"k"_s, i + 1}, {u"s"_s, u"SUCCEEDED"_s}});
    const QString many =
        u"field 'replies[1].res' of 'callReply' must hold at most 10000 entries, got 10001"_s;
    const QString status = u"field 'replies[2].res[1].s' of 'callReply': unknown status \"DONE\" "
                           "(expected "_s
                           + instanceStatusNames().join(u", ") + u")"_s;
    const QString end =
        u"field 'replies[3].end' of 'callReply' must be a boolean, got an integer"_s;
    const QString err =
        u"field 'replies[4].err' of 'callReply' must be a text string, got a boolean"_s;
    QTest::newRow("a bad reply still reaches its caller, as an error")
        << list(u"callReply"_s, "replies"_L1,
                {reply(1), with(reply(2), "res"_L1, tooMany),
                 with(reply(3), "res"_L1,
                      QCborArray{QCborMap{{u"k"_s, 1}, {u"s"_s, u"FAILED"_s}},
                                 QCborMap{{u"k"_s, 2}, {u"s"_s, u"DONE"_s}}}),
                 with(reply(4), "end"_L1, 1), with(reply(5), "err"_L1, true), QCborMap{},
                 with(reply(0), "end"_L1, true)})
        << QStringList{"1: ",
                       "2: malformed reply from the server: " + many,
                       "3: malformed reply from the server: " + status,
                       "4: malformed reply from the server: " + end,
                       "5: malformed reply from the server: " + err,
                       many,
                       status,
                       end,
                       err,
                       "field 'replies[5].c' of 'callReply' is missing; expected an integer",
                       "field 'replies[6].c' of 'callReply' must be between 1 and "
                       "9223372036854775807, got 0"};
}

void TstWire::hostileCallReplies()
{
    QFETCH(Message, message);
    QFETCH(QStringList, outcome);
    const auto batch = wire::decodeCallReply(throughFrame(message));
    QStringList got;
    for (const TaskCallReply &r : batch.items) {
        got << u"%1: %2"_s.arg(r.callId).arg(r.error);
        if (!r.error.isEmpty()) {
            QVERIFY(r.results.isEmpty());
            QVERIFY(!r.end);
        }
    }
    QCOMPARE(got + batch.errors, outcome);
}

void TstWire::callAndReplyBatchesSplitToTheBudget()
{
    // 300 map calls of 100 items of 100 bytes (about 10 KB each): 3 MB in messages of <= 1 MiB.
    QList<TaskCall> calls;
    for (int c = 0; c < 300; ++c)
        calls << mapCall(c + 1, TaskKey{1, 1, c + 1, 1}, 0,
                         QList<QByteArray>(100, QByteArray(100, 'i')));
    const auto parts = wire::splitCallBatch(calls, 1 << 20);
    QVERIFY2(parts.size() >= 3 && parts.size() <= 4, qPrintable(QString::number(parts.size())));
    QList<TaskCall> joined;
    for (const QList<TaskCall> &part : parts) {
        QVERIFY(!part.isEmpty());
        joined += part;
        const qsizetype payload = encodeFrame(wire::encodeCall(part)).size() - kFrameHeaderBytes;
        QVERIFY2(payload <= (1 << 20), qPrintable(QString::number(payload)));
    }
    QVERIFY(joined == calls);

    // Replies: pages of results with long texts.
    QList<TaskCallReply> replies;
    for (int r = 0; r < 40; ++r) {
        QList<TaskResultEntry> page;
        for (int i = 0; i < 100; ++i)
            page << resultEntry(i + 1, InstanceStatus::Succeeded, QString(300, u'调'));
        replies << TaskCallReply{quint64(r + 1), {}, page, false};
    }
    QList<TaskCallReply> joinedReplies;
    for (const QList<TaskCallReply> &part : wire::splitCallReplyBatch(replies, 1 << 20)) {
        joinedReplies += part;
        const qsizetype payload =
            encodeFrame(wire::encodeCallReply(part)).size() - kFrameHeaderBytes;
        if (part.size() > 1)
            QVERIFY2(payload <= (1 << 20), qPrintable(QString::number(payload)));
    }
    QVERIFY(joinedReplies == replies);

    // Dispatches: a postProcess carrying many results goes apart from small tasks.
    TaskSpec small = task(1, 1, 1, ProcessorKind::Echo, {{"message", "m"}});
    TaskSpec big = task(1, 1, 2, ProcessorKind::Echo, {{"message", "m"}});
    big.role = TaskRole::PostProcess;
    for (int i = 0; i < 3000; ++i)
        big.results << resultEntry(i + 1, InstanceStatus::Succeeded, QString(300, u'x'));
    const QList<TaskSpec> tasks{small, small, big, small};
    const auto dispatches = wire::splitDispatchBatch(tasks, 1 << 20);
    QCOMPARE(dispatches.size(), 3);
    QCOMPARE(dispatches[0].size(), 2);
    QCOMPARE(dispatches[1].size(), 1);
    QCOMPARE(dispatches[2].size(), 1);
}

void TstWire::resultsPageIsCutToFitAFrame()
{
    QList<TaskResultEntry> page;
    for (int i = 0; i < 1000; ++i)
        page << resultEntry(i + 1, InstanceStatus::Succeeded, QString(10000, u'r'));
    TaskCallReply reply{1, {}, page, true};
    const qsizetype dropped = wire::fitResultsPage(reply, 1 << 20);
    QVERIFY(dropped > 0);
    QCOMPARE(reply.results.size() + dropped, page.size());
    QVERIFY(!reply.end);                                        // the reader asks for the rest
    QCOMPARE(reply.results, page.mid(0, reply.results.size())); // a prefix, in task-id order
    const qsizetype payload =
        encodeFrame(wire::encodeCallReply({reply})).size() - kFrameHeaderBytes;
    QVERIFY2(payload <= (1 << 20), qPrintable(QString::number(payload)));

    // A page that fits is left alone, `end` included.
    TaskCallReply small{2, {}, page.mid(0, 3), true};
    QCOMPARE(wire::fitResultsPage(small, 1 << 20), 0);
    QVERIFY(small.end);
    QCOMPARE(small.results.size(), 3);

    // One huge result still goes (alone), or the reader could never get past it.
    TaskCallReply huge{3,
                       {},
                       {resultEntry(1, InstanceStatus::Failed, QString(100000, u'h')),
                        resultEntry(2, InstanceStatus::Failed, u"x"_s)},
                       true};
    QCOMPARE(wire::fitResultsPage(huge, 1000), 1);
    QCOMPARE(huge.results.size(), 1);
    QVERIFY(!huge.end);
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
