// libFuzzer target for the worker protocol's codec (engine/worker/wire.h, and the container
// messages of engine/worker/container_wire.h): what the server
// decodes from a logged-in worker, and a worker from its server. The input is a byte stream as
// it would arrive on a socket. Every message the frame decoder hands out goes through every wire
// decoder (so a `status` body also reaches decodeDispatch and decodeRegister, and the fuzzer
// need not guess type names), and then, under each worker message type in turn, through the
// decoder a receiver picks for that type.
//
// The decoders read fields, never the type (it only names the message in errors), so running
// all of them under all nineteen types would cost that many times as much for no new coverage; the
// retyped pass instead checks that every error names the message it was found in.
//
// Invariants checked (a violation traps):
//   - whatever a decoder accepts re-encodes to a message that decodes to the same value, with no
//     error (a receiver and a sender agree on every value either can produce);
//   - a batch decoder accounts for its list: kept items + reported errors cover every entry
//     (errors are capped, so only when few enough are bad); `call` refuses (answers) only bad
//     entries whose call id was readable, `callReply` keeps those as replies with an error;
//   - `call` and `callReply` never exceed kMaxMapItems items / kMaxResultsPage results;
//   - metrics from any accepted heartbeat or registration give a health score in [0, 1], and a
//     worker built from a registration survives its JSON round trip;
//   - splitLogBatch keeps every decoded line, in order, in non-empty batches;
//   - every error text names the message type ("... of 'status' ...");
//   - container messages: accepted orders name a valid container and either a SHA-256 and a
//     size >= 1 or only a reason; fetch lengths are 1..kMaxFetchBytes, reply data at most that;
//     a `fetchReply` keeps (with an error) only bad entries whose fetch id was readable; wanted
//     names are valid and distinct.
#include <core/worker_info.h>
#include <protocol/frame.h>
#include <worker/container_wire.h>
#include <worker/wire.h>

#include <QCborArray>
#include <QJsonDocument>
#include <QSet>

#include <cstddef>
#include <cstdint>

using namespace kairos;
using namespace kairos::protocol;

namespace {

const QLatin1StringView kTypes[] = {
    wire::type::Register,       wire::type::Registered, wire::type::Heartbeat,
    wire::type::HeartbeatAck,   wire::type::Dispatch,   wire::type::Accept,
    wire::type::Return,         wire::type::Status,     wire::type::Logs,
    wire::type::Cancel,         wire::type::Drain,      wire::type::Dead,
    wire::type::Call,           wire::type::CallReply,  wire::type::Deploy,
    wire::type::DeployStageMsg, wire::type::Fetch,      wire::type::FetchReplyMsg,
    wire::type::Want,
};

// More messages per input add little coverage and much time.
constexpr int kMaxMessagesPerInput = 16;

void check(bool condition)
{
    if (!condition)
        __builtin_trap();
}

// Encoded and decoded again, as the peer would see the value.
Message again(const Message &m)
{
    const QByteArray frame = encodeFrame(m);
    auto back =
        decodePayload(frame.constData() + kFrameHeaderBytes, frame.size() - kFrameHeaderBytes);
    check(back.ok());
    return std::move(back).value();
}

bool sameTask(const TaskSpec &a, const TaskSpec &b)
{
    return taskKeyOf(a) == taskKeyOf(b) && a.jobName == b.jobName && a.processor == b.processor
           && a.config == b.config && a.jobParams == b.jobParams
           && a.instanceParams == b.instanceParams && a.timeoutMs == b.timeoutMs && a.mode == b.mode
           && a.role == b.role && a.taskName == b.taskName && a.payload == b.payload
           && a.results == b.results;
}

void checkMetrics(const WorkerMetrics &m)
{
    for (int slotCount : {0, 1, 64}) {
        for (int freeSlots : {-1, 0, 1, 64}) {
            const double score = healthScore(m, freeSlots, slotCount);
            check(score >= 0.0 && score <= 1.0);
            (void)isOverloaded(m, freeSlots);
        }
    }
}

template<typename T> void checkCoverage(const wire::Batch<T> &batch, qsizetype entries)
{
    // Errors beyond the cap are summed up in one extra line.
    if (batch.errors.size() <= 32)
        check(batch.items.size() + batch.errors.size() == entries
              || (entries == 0 && batch.errors.size() <= 1));
    else
        check(batch.items.size() + 32 <= entries);
}

qsizetype listSize(const Message &m, QLatin1StringView key)
{
    return m.value(key).isArray() ? m.array(key).size() : 0;
}

void exercise(const Message &m)
{
    if (auto r = wire::decodeRegister(m); r.ok()) {
        check(r->capacity >= 1 && r->capacity <= wire::kMaxCapacity);
        check(r->tags.size() <= wire::kMaxTags);
        const auto back = wire::decodeRegister(again(wire::encodeRegister(*r)));
        check(back.ok() && *back == *r);
        checkMetrics(r->metrics);
        WorkerInfo w;
        w.id = r->workerId;
        w.address = r->address;
        w.tags = r->tags;
        w.capacity = r->capacity;
        w.pid = r->pid;
        w.version = r->version;
        w.metrics = r->metrics;
        const QByteArray json = QJsonDocument(workerToJson(w)).toJson(QJsonDocument::Compact);
        // Beyond 2^53 JSON numbers are not exact: only smaller values must come back unchanged.
        constexpr qint64 kExact = qint64(1) << 53;
        const auto parsed = workerFromJson(QJsonDocument::fromJson(json).object());
        const bool exact = w.pid < kExact && w.metrics.memFreeMb < kExact
                           && w.metrics.memTotalMb < kExact && w.metrics.diskFreeMb < kExact;
        check(parsed.ok() || !exact);
        if (parsed.ok() && exact)
            check(workerToJson(*parsed) == workerToJson(w));
    } else {
        check(!r.error().isEmpty());
    }
    if (auto r = wire::decodeRegistered(m); r.ok()) {
        const auto back = wire::decodeRegistered(again(wire::encodeRegistered(*r)));
        check(back.ok() && *back == *r);
    }
    if (auto h = wire::decodeHeartbeat(m); h.ok()) {
        const auto back = wire::decodeHeartbeat(again(wire::encodeHeartbeat(*h)));
        check(back.ok() && *back == *h);
        checkMetrics(h->metrics);
    }
    if (auto ts = wire::decodeHeartbeatAck(m); ts.ok()) {
        const auto back = wire::decodeHeartbeatAck(again(wire::encodeHeartbeatAck(*ts)));
        check(back.ok() && *back == *ts);
    }
    if (auto reason = wire::decodeReason(m); reason.ok()) {
        const auto back = wire::decodeReason(again(wire::encodeDead(*reason)));
        check(back.ok() && *back == *reason);
    }

    const auto dispatch = wire::decodeDispatch(m);
    checkCoverage(dispatch, listSize(m, QLatin1StringView("tasks")));
    {
        const auto back = wire::decodeDispatch(again(wire::encodeDispatch(dispatch.items)));
        check(back.errors.isEmpty() && back.items.size() == dispatch.items.size());
        for (qsizetype i = 0; i < back.items.size(); ++i)
            check(sameTask(back.items[i], dispatch.items[i]));
    }
    const auto accept = wire::decodeAccept(m);
    checkCoverage(accept, listSize(m, QLatin1StringView("tasks")));
    {
        const auto back = wire::decodeAccept(again(wire::encodeAccept(accept.items)));
        check(back.errors.isEmpty() && back.items == accept.items);
    }
    const auto ret = wire::decodeReturn(m);
    checkCoverage(ret, listSize(m, QLatin1StringView("tasks")));
    {
        const auto back = wire::decodeReturn(again(wire::encodeReturn(ret.items)));
        check(back.errors.isEmpty() && back.items == ret.items);
    }
    const auto cancel = wire::decodeCancel(m);
    checkCoverage(cancel, listSize(m, QLatin1StringView("tasks")));
    {
        const auto back = wire::decodeCancel(again(wire::encodeCancel(cancel.items)));
        check(back.errors.isEmpty() && back.items == cancel.items);
    }
    const auto status = wire::decodeStatus(m);
    checkCoverage(status, listSize(m, QLatin1StringView("reports")));
    {
        const auto back = wire::decodeStatus(again(wire::encodeStatus(status.items)));
        check(back.errors.isEmpty() && back.items == status.items);
    }
    const auto logs = wire::decodeLogs(m);
    checkCoverage(logs, listSize(m, QLatin1StringView("lines")));
    {
        const auto back = wire::decodeLogs(again(wire::encodeLogs(logs.items)));
        check(back.errors.isEmpty() && back.items == logs.items);
        QList<LogLine> joined;
        for (const QList<LogLine> &batch : wire::splitLogBatch(logs.items, 256)) {
            check(!batch.isEmpty());
            joined += batch;
        }
        check(joined == logs.items);
    }
    const auto calls = wire::decodeCall(m);
    {
        const qsizetype entries = listSize(m, QLatin1StringView("calls"));
        if (calls.errors.size() <= 32)
            check(calls.items.size() + calls.errors.size() == entries
                  || (entries == 0 && calls.errors.size() <= 1));
        check(calls.items.size() + calls.refused.size() <= entries);
        for (const TaskCall &c : calls.items) {
            check(c.callId > 0 && c.items.size() <= wire::kMaxMapItems);
            check(c.op != TaskCall::Op::Results
                  || (c.limit >= 1 && c.limit <= wire::kMaxResultsPage));
        }
        for (const TaskCallReply &r : calls.refused)
            check(r.callId > 0 && !r.error.isEmpty() && r.results.isEmpty());
        const auto back = wire::decodeCall(again(wire::encodeCall(calls.items)));
        check(back.errors.isEmpty() && back.refused.isEmpty() && back.items == calls.items);
        for (const auto &part : wire::splitCallBatch(calls.items, 256))
            check(!part.isEmpty());
    }
    const auto replies = wire::decodeCallReply(m);
    {
        const qsizetype entries = listSize(m, QLatin1StringView("replies"));
        check(replies.items.size() <= entries);
        if (replies.errors.size() <= 32)
            check(replies.items.size() + replies.errors.size() >= entries);
        for (const TaskCallReply &r : replies.items)
            check(r.callId > 0 && r.results.size() <= wire::kMaxResultsPage);
        const auto back = wire::decodeCallReply(again(wire::encodeCallReply(replies.items)));
        check(back.errors.isEmpty() && back.items == replies.items);
        for (TaskCallReply r : replies.items) {
            const qsizetype before = r.results.size();
            const qsizetype dropped = wire::fitResultsPage(r, 512);
            check(dropped >= 0 && r.results.size() + dropped == before);
            check(before == 0 || !r.results.isEmpty());
        }
    }
}

bool isSha256(const QString &s)
{
    if (s.size() != 64)
        return false;
    for (const QChar c : s) {
        if (!((c >= u'0' && c <= u'9') || (c >= u'a' && c <= u'f')))
            return false;
    }
    return true;
}

// The container messages (docs/containers.md section 5).
void exerciseContainers(const Message &m)
{
    const auto deploy = wire::decodeDeploy(m);
    checkCoverage(deploy, listSize(m, QLatin1StringView("orders")));
    for (const ContainerOrder &o : deploy.items) {
        check(isValidContainerName(o.container) && o.deployId >= 0);
        check((isSha256(o.sha256) && o.sizeBytes >= 1)
              || (o.sha256.isEmpty() && !o.reason.isEmpty()));
    }
    {
        const auto back = wire::decodeDeploy(again(wire::encodeDeploy(deploy.items)));
        check(back.errors.isEmpty() && back.items == deploy.items);
    }
    const auto stages = wire::decodeDeployStage(m);
    checkCoverage(stages, listSize(m, QLatin1StringView("stages")));
    for (const DeployStage &s : stages.items)
        check(isSha256(s.sha256) && s.bytes >= 0 && s.total >= 0 && s.worker.isEmpty());
    {
        const auto back = wire::decodeDeployStage(again(wire::encodeDeployStage(stages.items)));
        check(back.errors.isEmpty() && back.items == stages.items);
    }
    const auto fetch = wire::decodeFetch(m);
    checkCoverage(fetch, listSize(m, QLatin1StringView("requests")));
    for (const FetchRequest &r : fetch.items)
        check(r.fetchId >= 1 && r.offset >= 0 && r.length >= 1 && r.length <= kMaxFetchBytes);
    {
        const auto back = wire::decodeFetch(again(wire::encodeFetch(fetch.items)));
        check(back.errors.isEmpty() && back.items == fetch.items);
    }
    const auto replies = wire::decodeFetchReply(m);
    {
        const qsizetype entries = listSize(m, QLatin1StringView("replies"));
        check(replies.items.size() <= entries);
        if (replies.errors.size() <= 32)
            check(replies.items.size() + replies.errors.size() >= entries);
        for (const FetchReply &r : replies.items) {
            check(r.fetchId >= 1 && r.data.size() <= kMaxFetchBytes);
            check(r.error.isEmpty() || r.data.isEmpty());
        }
        // A good reply comes back as it was; a kept bad one (its `h` may be unreadable) still
        // reaches its fetch with an error.
        const auto back = wire::decodeFetchReply(again(wire::encodeFetchReply(replies.items)));
        check(back.items.size() == replies.items.size());
        for (qsizetype i = 0; i < back.items.size(); ++i) {
            const FetchReply &a = replies.items[i];
            const FetchReply &b = back.items[i];
            check(a.fetchId == b.fetchId && a.error.isEmpty() == b.error.isEmpty());
            if (isSha256(a.sha256))
                check(a == b);
        }
    }
    const auto want = wire::decodeWant(m);
    {
        // Duplicate names are dropped without an error, so kept + errors may be fewer.
        const qsizetype entries = listSize(m, QLatin1StringView("names"));
        if (want.errors.size() <= 32)
            check(want.items.size() + want.errors.size() <= std::max<qsizetype>(entries, 1));
        QSet<QString> seen;
        for (const QString &name : want.items) {
            check(isValidContainerName(name) && !seen.contains(name));
            seen.insert(name);
        }
        const auto back = wire::decodeWant(again(wire::encodeWant(want.items)));
        check(back.errors.isEmpty() && back.items == want.items);
    }
}

void checkNamesType(const QString &error, const QString &type)
{
    check(error.contains(QStringLiteral(" of '%1'").arg(type)));
}

template<typename T> void checkNamesType(const wire::Batch<T> &batch, const QString &type)
{
    for (const QString &error : batch.errors)
        checkNamesType(error, type);
}

template<typename T> void checkNamesType(const Result<T> &result, const QString &type)
{
    if (!result.ok())
        checkNamesType(result.error(), type);
}

// What a receiver does with a message of type `type`: the one decoder for it.
void decodeAs(const Message &m, QLatin1StringView type)
{
    Message retyped = m;
    retyped.type = QString(type);
    const QString &t = retyped.type;
    if (type == wire::type::Register)
        checkNamesType(wire::decodeRegister(retyped), t);
    else if (type == wire::type::Registered)
        checkNamesType(wire::decodeRegistered(retyped), t);
    else if (type == wire::type::Heartbeat)
        checkNamesType(wire::decodeHeartbeat(retyped), t);
    else if (type == wire::type::HeartbeatAck)
        checkNamesType(wire::decodeHeartbeatAck(retyped), t);
    else if (type == wire::type::Dispatch)
        checkNamesType(wire::decodeDispatch(retyped), t);
    else if (type == wire::type::Accept)
        checkNamesType(wire::decodeAccept(retyped), t);
    else if (type == wire::type::Return)
        checkNamesType(wire::decodeReturn(retyped), t);
    else if (type == wire::type::Status)
        checkNamesType(wire::decodeStatus(retyped), t);
    else if (type == wire::type::Logs)
        checkNamesType(wire::decodeLogs(retyped), t);
    else if (type == wire::type::Cancel)
        checkNamesType(wire::decodeCancel(retyped), t);
    else if (type == wire::type::Call) {
        const auto calls = wire::decodeCall(retyped);
        for (const QString &error : calls.errors)
            checkNamesType(error, t);
        for (const TaskCallReply &r : calls.refused)
            checkNamesType(r.error, t);
    } else if (type == wire::type::CallReply)
        checkNamesType(wire::decodeCallReply(retyped), t);
    else if (type == wire::type::Deploy)
        checkNamesType(wire::decodeDeploy(retyped), t);
    else if (type == wire::type::DeployStageMsg)
        checkNamesType(wire::decodeDeployStage(retyped), t);
    else if (type == wire::type::Fetch)
        checkNamesType(wire::decodeFetch(retyped), t);
    else if (type == wire::type::FetchReplyMsg) {
        const auto replies = wire::decodeFetchReply(retyped);
        checkNamesType(replies, t);
        for (const FetchReply &r : replies.items) {
            if (r.error.startsWith(QLatin1StringView("malformed reply")))
                checkNamesType(r.error, t);
        }
    } else if (type == wire::type::Want)
        checkNamesType(wire::decodeWant(retyped), t);
    else
        checkNamesType(wire::decodeReason(retyped), t); // drain, dead
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FrameDecoder decoder;
    decoder.append(reinterpret_cast<const char *>(data), qsizetype(size));
    int count = 0;
    while (auto m = decoder.next()) {
        exercise(*m);
        exerciseContainers(*m);
        for (QLatin1StringView type : kTypes)
            decodeAs(*m, type);
        if (++count >= kMaxMessagesPerInput)
            break;
    }
    return 0;
}
