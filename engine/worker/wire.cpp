#include "wire.h"

#include "wire_fields.h"

#include <QCborArray>
#include <QCborMap>

#include <array>

// Decoding rules beyond the field shapes of docs/protocol.md 12.1/12.2:
//  - `register` needs `id` and `capacity`; `address`, `tags`, `pid`, `version`, `held` and
//    `metrics` may be absent (defaults), but a present field must have its type and bounds.
//  - `heartbeat` needs `ts`; absent `metrics` means "unknown" (all 0).
//  - In METRICS every field may be absent (0 = unknown); `load1` may be an integer or a float.
//  - `jp`, `ip`, `to`, `ka`, `md`, `ro`, `kn`, `pl`, `res` of TASK, `r`, `tu`, `ka` of REPORT and
//    `ka` of KEY are optional; everything else listed is required. `tu` (epoch microseconds of the
//    transition) is sent when the runner stamped it; the server uses it only to measure
//    dispatch-to-start latency (kairos-bench). An absent new field means what it meant before it
//    existed: `ka` 1 (the first run), `md`/`ro` STANDALONE, no name, no payload, no results.
//  - `ka` is read only where `k` is present (a `cancel` without `k` names a whole attempt).
//  - Ids, attempts, times and counts are never negative; values that do not fit the C++ field
//    (an attempt beyond 2^31 - 1) are refused, not truncated.
//  - A batch decoder stops listing errors after kMaxListedErrors and adds one line with the count
//    of the others, so a frame full of tiny bad entries cannot make the receiver build millions
//    of error texts.
//  - Encoders leave out optional fields that hold their default, so a standalone task, report
//    or key costs exactly what it cost before task runs existed.
//  - A TASK with `sh` takes every field it lacks among job, proc, cfg, jp, ip, to, md, ro, kn
//    from that entry of the message's `shared` list (its own fields win). A bad `shared` entry
//    fails only the tasks that name it, each with the entry's error.

namespace kairos::wire {

using namespace detail;

namespace {

const QString kReportableStatuses =
    QStringLiteral("RUNNING, SUCCEEDED, FAILED, TIMED_OUT or CANCELED");

namespace key {
inline constexpr QLatin1StringView Id{"id"};
inline constexpr QLatin1StringView Address{"address"};
inline constexpr QLatin1StringView Tags{"tags"};
inline constexpr QLatin1StringView Capacity{"capacity"};
inline constexpr QLatin1StringView Pid{"pid"};
inline constexpr QLatin1StringView Version{"version"};
inline constexpr QLatin1StringView Held{"held"};
inline constexpr QLatin1StringView Metrics{"metrics"};
inline constexpr QLatin1StringView HeartbeatMs{"heartbeatMs"};
inline constexpr QLatin1StringView DeadAfterMs{"deadAfterMs"};
inline constexpr QLatin1StringView LeaseMs{"leaseMs"};
inline constexpr QLatin1StringView ServerTimeMs{"serverTimeMs"};
inline constexpr QLatin1StringView Ts{"ts"};
inline constexpr QLatin1StringView Tasks{"tasks"};
inline constexpr QLatin1StringView Reports{"reports"};
inline constexpr QLatin1StringView Lines{"lines"};
inline constexpr QLatin1StringView Reason{"reason"};
inline constexpr QLatin1StringView Calls{"calls"};
inline constexpr QLatin1StringView Replies{"replies"};
// KEY, TASK, REPORT, LINE
inline constexpr QLatin1StringView Instance{"i"};
inline constexpr QLatin1StringView Attempt{"a"};
inline constexpr QLatin1StringView Task{"k"};
inline constexpr QLatin1StringView TaskAttempt{"ka"};
inline constexpr QLatin1StringView Job{"job"};
inline constexpr QLatin1StringView Proc{"proc"};
inline constexpr QLatin1StringView Config{"cfg"};
inline constexpr QLatin1StringView JobParams{"jp"};
inline constexpr QLatin1StringView InstanceParams{"ip"};
inline constexpr QLatin1StringView Timeout{"to"};
inline constexpr QLatin1StringView Mode{"md"};
inline constexpr QLatin1StringView Role{"ro"};
inline constexpr QLatin1StringView TaskName{"kn"};
inline constexpr QLatin1StringView Payload{"pl"};
inline constexpr QLatin1StringView Results{"res"};
inline constexpr QLatin1StringView Shared{"shared"};
inline constexpr QLatin1StringView SharedIndex{"sh"};
inline constexpr QLatin1StringView StatusName{"s"};
inline constexpr QLatin1StringView Result{"r"};
inline constexpr QLatin1StringView Time{"t"};
inline constexpr QLatin1StringView TimeUs{"tu"};
inline constexpr QLatin1StringView Stream{"s"};
inline constexpr QLatin1StringView Text{"x"};
// RESULT
inline constexpr QLatin1StringView Name{"n"};
inline constexpr QLatin1StringView Worker{"w"};
inline constexpr QLatin1StringView WorkerAddress{"wa"};
inline constexpr QLatin1StringView Runs{"ru"};
// CALL, REPLY
inline constexpr QLatin1StringView CallId{"c"};
inline constexpr QLatin1StringView Op{"op"};
inline constexpr QLatin1StringView From{"from"};
inline constexpr QLatin1StringView Items{"items"};
inline constexpr QLatin1StringView After{"after"};
inline constexpr QLatin1StringView Limit{"limit"};
inline constexpr QLatin1StringView Error{"err"};
inline constexpr QLatin1StringView End{"end"};
// METRICS
inline constexpr QLatin1StringView Load1{"load1"};
inline constexpr QLatin1StringView Cpus{"cpus"};
inline constexpr QLatin1StringView MemFreeMb{"memFreeMb"};
inline constexpr QLatin1StringView MemTotalMb{"memTotalMb"};
inline constexpr QLatin1StringView DiskFreeMb{"diskFreeMb"};
inline constexpr QLatin1StringView Running{"running"};
inline constexpr QLatin1StringView Queued{"queued"};
} // namespace key

inline constexpr QLatin1StringView kOpMap{"map"};
inline constexpr QLatin1StringView kOpResults{"results"};

// --- enum names without an allocation per use ---------------------------------------------------
// toString() builds a new QString on every call and the *FromString() parsers trim and upper-case
// theirs; on a path that carries a million tasks both show. The names are built once here
// (shared, immutable QStrings: safe on any thread) and matched exactly first; anything else goes
// through the lenient parser, so the wire accepts what it accepted before.

template<typename E, int N> const std::array<QString, N> &namesOf()
{
    static const std::array<QString, N> names = [] {
        std::array<QString, N> out;
        for (int i = 0; i < N; ++i)
            out[i] = toString(static_cast<E>(i));
        return out;
    }();
    return names;
}

template<typename E, int N> const QString &nameOf(E v)
{
    const int i = static_cast<int>(v);
    static const QString none;
    return i >= 0 && i < N ? namesOf<E, N>()[i] : none;
}

template<typename E, int N>
std::optional<E> parseName(const QString &s, std::optional<E> (*lenient)(const QString &))
{
    const auto &names = namesOf<E, N>();
    for (int i = 0; i < N; ++i) {
        if (s == names[i])
            return static_cast<E>(i);
    }
    return lenient(s);
}

constexpr int kProcessorKinds = 5;
constexpr int kModes = 4;
constexpr int kRoles = 7;
constexpr int kStatuses = 9;
static_assert(static_cast<int>(ProcessorKind::Container) == kProcessorKinds - 1);
static_assert(static_cast<int>(ExecutionMode::MapReduce) == kModes - 1);
static_assert(static_cast<int>(TaskRole::PostProcess) == kRoles - 1);
static_assert(static_cast<int>(InstanceStatus::Skipped) == kStatuses - 1);

// --- shapes -----------------------------------------------------------------------------------

void putKey(QCborMap &m, const TaskKey &k)
{
    m.insert(key::Instance, k.instanceId);
    m.insert(key::Attempt, k.attempt);
    if (k.taskId >= 0) {
        m.insert(key::Task, k.taskId);
        if (k.taskAttempt != 1)
            m.insert(key::TaskAttempt, k.taskAttempt);
    }
}

void readKey(Fields &f, TaskKey &k, Need taskNeed = Need::Required)
{
    f.integer(key::Instance, k.instanceId, 0, kInt64Max);
    f.integer(key::Attempt, k.attempt, 0, kIntMax);
    k.taskId = -1; // "every task of the attempt" when `k` may be absent and is
    k.taskAttempt = 1;
    f.integer(key::Task, k.taskId, 0, kInt64Max, taskNeed);
    if (k.taskId >= 0)
        f.integer(key::TaskAttempt, k.taskAttempt, 1, kIntMax, Need::Optional);
}

QCborMap metricsToCbor(const WorkerMetrics &m)
{
    QCborMap c;
    c.insert(key::Load1, m.load1);
    c.insert(key::Cpus, m.cpus);
    c.insert(key::MemFreeMb, m.memFreeMb);
    c.insert(key::MemTotalMb, m.memTotalMb);
    c.insert(key::DiskFreeMb, m.diskFreeMb);
    c.insert(key::Running, m.running);
    c.insert(key::Queued, m.queued);
    return c;
}

// Reads the optional `metrics` field of `f` into `out`, with errors on `f`.
void readMetrics(Fields &f, WorkerMetrics &out)
{
    const auto map = f.map(key::Metrics, Need::Optional);
    if (!map)
        return;
    Fields m(*map, f, key::Metrics, -1);
    WorkerMetrics metrics;
    m.number(key::Load1, metrics.load1);
    m.integer(key::Cpus, metrics.cpus, 0, kIntMax, Need::Optional);
    m.integer(key::MemFreeMb, metrics.memFreeMb, 0, kInt64Max, Need::Optional);
    m.integer(key::MemTotalMb, metrics.memTotalMb, 0, kInt64Max, Need::Optional);
    m.integer(key::DiskFreeMb, metrics.diskFreeMb, 0, kInt64Max, Need::Optional);
    m.integer(key::Running, metrics.running, 0, kIntMax, Need::Optional);
    m.integer(key::Queued, metrics.queued, 0, kIntMax, Need::Optional);
    if (!m.ok())
        return f.adopt(m);
    out = metrics;
}

// Reads the optional enum name `k` of `f` into `out` (left as it is when absent).
template<typename E, int N>
void readEnum(Fields &f, QLatin1StringView k, E &out, std::optional<E> (*lenient)(const QString &),
              const char *what, QStringList (*names)())
{
    const auto v = f.get(k, Need::Optional, "a text string", &QCborValue::isString);
    if (!v)
        return;
    const QString s = v->toString();
    if (const auto e = parseName<E, N>(s, lenient))
        out = *e;
    else
        f.failValue(k, QStringLiteral("unknown %1 %2 (expected %3)")
                           .arg(QLatin1StringView(what), quoted(s), names().join(u", ")));
}

// Reads a status name of the field `k`: any instance status name when `anyStatus`, else only
// what a worker may report (RUNNING or a terminal status other than SKIPPED).
void readStatus(Fields &f, QLatin1StringView k, InstanceStatus &out, bool anyStatus)
{
    QString status;
    f.text(k, status);
    if (!f.ok())
        return;
    const auto s = parseName<InstanceStatus, kStatuses>(status, instanceStatusFromString);
    if (!s) {
        f.failValue(k, QStringLiteral("unknown status %1 (expected %2)")
                           .arg(quoted(status), anyStatus ? instanceStatusNames().join(u", ")
                                                          : kReportableStatuses));
    } else if (!anyStatus && *s != InstanceStatus::Running
               && !(isTerminal(*s) && *s != InstanceStatus::Skipped)) {
        f.failValue(k, QStringLiteral("status %1 cannot be reported by a worker (expected %2)")
                           .arg(quoted(status), kReportableStatuses));
    } else {
        out = *s;
    }
}

QCborMap resultToCbor(const TaskResultEntry &r)
{
    QCborMap c;
    c.insert(key::Task, r.taskId);
    if (!r.name.isEmpty())
        c.insert(key::Name, r.name);
    c.insert(key::StatusName, nameOf<InstanceStatus, kStatuses>(r.status));
    if (!r.result.isEmpty())
        c.insert(key::Result, r.result);
    if (!r.worker.isEmpty())
        c.insert(key::Worker, r.worker);
    if (!r.address.isEmpty())
        c.insert(key::WorkerAddress, r.address);
    if (r.runs != 1)
        c.insert(key::Runs, r.runs);
    return c;
}

QCborArray resultsToCbor(const QList<TaskResultEntry> &results)
{
    QCborArray a;
    for (const TaskResultEntry &r : results)
        a.append(resultToCbor(r));
    return a;
}

void readResult(Fields &f, TaskResultEntry &r)
{
    f.integer(key::Task, r.taskId, 0, kInt64Max);
    f.text(key::Name, r.name, Need::Optional);
    readStatus(f, key::StatusName, r.status, true);
    f.text(key::Result, r.result, Need::Optional);
    f.text(key::Worker, r.worker, Need::Optional);
    f.text(key::WorkerAddress, r.address, Need::Optional);
    f.integer(key::Runs, r.runs, 0, kIntMax, Need::Optional);
}

// Dispatches of map jobs repeat one job's config in every task: it is converted once per run of
// equal configs, not once per task. (QJsonObject's == is a pointer comparison for shared data,
// which is what the tasks of one job hold.)
class ConfigToCbor {
public:
    const QCborMap &operator()(const QJsonObject &config)
    {
        if (!m_valid || !(config == m_json)) {
            m_json = config;
            m_cbor = QCborMap::fromJsonObject(config);
            m_valid = true;
        }
        return m_cbor;
    }

private:
    bool m_valid = false;
    QJsonObject m_json;
    QCborMap m_cbor;
};

// The receiving side of the same: equal `cfg` maps of consecutive tasks share one QJsonObject.
class ConfigFromCbor {
public:
    const QJsonObject &operator()(const QCborMap &config)
    {
        if (!m_valid || !(config == m_cbor)) {
            m_cbor = config;
            m_json = config.toJsonObject();
            m_valid = true;
        }
        return m_json;
    }

private:
    bool m_valid = false;
    QCborMap m_cbor;
    QJsonObject m_json;
};

// The fields of a TASK that every subtask of one map call has in common (docs/protocol.md 12.1,
// `shared`): a Subtask entry names its prototype in `shared` with `sh` and carries only its key
// and payload, so a dispatch of thousands of subtasks does not repeat the job's config in each.
bool sameSharedFields(const TaskSpec &a, const TaskSpec &b)
{
    return a.jobName == b.jobName && a.processor == b.processor && a.config == b.config
           && a.jobParams == b.jobParams && a.instanceParams == b.instanceParams
           && a.timeoutMs == b.timeoutMs && a.mode == b.mode && a.role == b.role
           && a.taskName == b.taskName;
}

void putSharedFields(QCborMap &c, const TaskSpec &t, ConfigToCbor &config)
{
    c.insert(key::Job, t.jobName);
    c.insert(key::Proc, nameOf<ProcessorKind, kProcessorKinds>(t.processor));
    c.insert(key::Config, config(t.config));
    if (!t.jobParams.isEmpty())
        c.insert(key::JobParams, t.jobParams);
    if (!t.instanceParams.isEmpty())
        c.insert(key::InstanceParams, t.instanceParams);
    if (t.timeoutMs != 0)
        c.insert(key::Timeout, t.timeoutMs);
    if (t.mode != ExecutionMode::Standalone)
        c.insert(key::Mode, nameOf<ExecutionMode, kModes>(t.mode));
    if (t.role != TaskRole::Standalone)
        c.insert(key::Role, nameOf<TaskRole, kRoles>(t.role));
    if (!t.taskName.isEmpty())
        c.insert(key::TaskName, t.taskName);
}

// The prototypes of one dispatch message.
class SharedPrototypes {
public:
    // A small bound: a dispatch holds the tasks of a few runs; beyond it tasks go in full.
    static constexpr qsizetype kMax = 64;

    // The index of t's prototype (added when new), or -1 when the list is full.
    qsizetype indexOf(const TaskSpec &t)
    {
        if (m_last >= 0 && sameSharedFields(*m_protos.at(m_last), t))
            return m_last;
        for (qsizetype i = 0; i < m_protos.size(); ++i) {
            if (sameSharedFields(*m_protos.at(i), t))
                return m_last = i;
        }
        if (m_protos.size() >= kMax)
            return -1;
        m_protos.append(&t);
        return m_last = m_protos.size() - 1;
    }
    bool isEmpty() const { return m_protos.isEmpty(); }
    QCborArray toCbor(ConfigToCbor &config) const
    {
        QCborArray a;
        for (const TaskSpec *t : m_protos) {
            QCborMap c;
            putSharedFields(c, *t, config);
            a.append(c);
        }
        return a;
    }

private:
    QList<const TaskSpec *> m_protos; // into the encoded list, alive while it is encoded
    qsizetype m_last = -1;
};

QCborMap taskToCbor(const TaskSpec &t, ConfigToCbor &config, SharedPrototypes &shared)
{
    QCborMap c;
    putKey(c, taskKeyOf(t));
    // Only subtasks use a prototype: they are the many, and a worker of the release before
    // (which ignores `sh`) cannot run them anyway; every other task stays readable by it.
    const qsizetype proto = t.role == TaskRole::Subtask ? shared.indexOf(t) : -1;
    if (proto >= 0)
        c.insert(key::SharedIndex, proto);
    else
        putSharedFields(c, t, config);
    if (!t.payload.isEmpty())
        c.insert(key::Payload, t.payload);
    if (!t.results.isEmpty())
        c.insert(key::Results, resultsToCbor(t.results));
    return c;
}

// Which of the required TASK fields a prototype supplies.
enum SharedField : unsigned { HasJob = 1, HasProc = 2, HasConfig = 4 };

// Reads the fields a prototype may hold. `given` lists the required ones already known (from a
// prototype), which may then be absent here; returns the ones found here.
unsigned readSharedFields(Fields &f, TaskSpec &t, ConfigFromCbor &config, unsigned given)
{
    unsigned found = 0;
    auto need = [given](unsigned field) {
        return (given & field) ? Need::Optional : Need::Required;
    };
    if (const auto job = f.get(key::Job, need(HasJob), "a text string", &QCborValue::isString)) {
        t.jobName = job->toString();
        found |= HasJob;
    }
    if (const auto proc = f.get(key::Proc, need(HasProc), "a text string", &QCborValue::isString)) {
        const QString name = proc->toString();
        if (const auto kind =
                parseName<ProcessorKind, kProcessorKinds>(name, processorKindFromString)) {
            t.processor = *kind;
            found |= HasProc;
        } else {
            f.failValue(key::Proc, QStringLiteral("unknown processor %1 (expected %2)")
                                       .arg(quoted(name), processorKindNames().join(u", ")));
        }
    }
    if (const auto cfg = f.map(key::Config, need(HasConfig))) {
        t.config = config(*cfg);
        found |= HasConfig;
    }
    f.text(key::JobParams, t.jobParams, Need::Optional);
    f.text(key::InstanceParams, t.instanceParams, Need::Optional);
    f.integer(key::Timeout, t.timeoutMs, 0, kIntMax, Need::Optional);
    readEnum<ExecutionMode, kModes>(f, key::Mode, t.mode, executionModeFromString, "mode",
                                    executionModeNames);
    readEnum<TaskRole, kRoles>(f, key::Role, t.role, taskRoleFromString, "role", taskRoleNames);
    f.text(key::TaskName, t.taskName, Need::Optional);
    return found;
}

// One entry of a dispatch's `shared` list, decoded once for every task that names it.
struct Prototype {
    TaskSpec spec;
    unsigned has = 0;
    QString error; // why the entry cannot be used (empty: it can)
};

struct Prototypes {
    QList<Prototype> list;
    QString error; // the `shared` field itself is unusable
};

Prototypes readPrototypes(const protocol::Message &m, ConfigFromCbor &config)
{
    Prototypes protos;
    QList<Prototype> &out = protos.list;
    Fields top(m.body, m.type);
    const auto list = top.array(key::Shared, Need::Optional);
    if (!top.ok()) {
        protos.error = top.error(); // every `sh` then names this error
        return protos;
    }
    if (!list)
        return protos;
    out.reserve(list->size());
    for (qsizetype i = 0; i < list->size(); ++i) {
        Prototype p;
        const QCborValue entry = list->at(i);
        if (!entry.isMap()) {
            p.error = notAMap(key::Shared, i, m.type, entry);
        } else {
            const QCborMap map = entry.toMap();
            Fields f(map, key::Shared, i, m.type);
            p.has = readSharedFields(f, p.spec, config, HasJob | HasProc | HasConfig);
            p.error = f.error();
        }
        out.append(std::move(p));
    }
    return protos;
}

void readTask(Fields &f, TaskSpec &t, ConfigFromCbor &config, const Prototypes &protos)
{
    qint64 sh = -1;
    f.integer(key::SharedIndex, sh, 0, kInt64Max, Need::Optional);
    unsigned given = 0;
    if (sh >= 0) {
        if (!protos.error.isEmpty()) {
            f.failValue(key::SharedIndex,
                        QStringLiteral("'shared' cannot be used: %1").arg(protos.error));
            return;
        }
        if (sh >= protos.list.size()) {
            f.failValue(key::SharedIndex,
                        QStringLiteral("there is no entry %1 in 'shared' (it has %2)")
                            .arg(sh)
                            .arg(protos.list.size()));
            return;
        }
        const Prototype &proto = protos.list.at(sh);
        if (!proto.error.isEmpty()) {
            f.failValue(key::SharedIndex,
                        QStringLiteral("its 'shared' entry cannot be used: %1").arg(proto.error));
            return;
        }
        t = proto.spec;
        given = proto.has;
    }
    TaskKey k;
    readKey(f, k);
    t.instanceId = k.instanceId;
    t.attempt = k.attempt;
    t.taskId = k.taskId;
    t.taskAttempt = k.taskAttempt;
    readSharedFields(f, t, config, given);
    f.bytes(key::Payload, t.payload, Need::Optional);
    readMapList(f, key::Results, Need::Optional, -1, t.results, readResult);
}

QCborMap reportToCbor(const TaskReport &r)
{
    QCborMap c;
    putKey(c, taskKeyOf(r));
    c.insert(key::StatusName, nameOf<InstanceStatus, kStatuses>(r.status));
    if (!r.result.isEmpty())
        c.insert(key::Result, r.result);
    c.insert(key::Time, r.timeMs);
    if (r.timeUs > 0)
        c.insert(key::TimeUs, r.timeUs);
    return c;
}

void readReport(Fields &f, TaskReport &r)
{
    TaskKey k;
    readKey(f, k);
    r.instanceId = k.instanceId;
    r.attempt = k.attempt;
    r.taskId = k.taskId;
    r.taskAttempt = k.taskAttempt;
    readStatus(f, key::StatusName, r.status, false);
    f.text(key::Result, r.result, Need::Optional);
    f.integer(key::Time, r.timeMs, 0, kInt64Max);
    f.integer(key::TimeUs, r.timeUs, 0, kInt64Max, Need::Optional);
}

QCborMap lineToCbor(const LogLine &l)
{
    QCborMap c;
    // A line has no run number: `ka` never travels with it.
    putKey(c, TaskKey{l.instanceId, l.attempt, std::max<qint64>(0, l.taskId), 1});
    c.insert(key::Time, l.timeMs);
    c.insert(key::Stream, toString(l.stream));
    c.insert(key::Text, l.text);
    return c;
}

void readLine(Fields &f, LogLine &l)
{
    TaskKey k;
    readKey(f, k);
    l.instanceId = k.instanceId;
    l.attempt = k.attempt;
    l.taskId = k.taskId;
    l.seq = 0; // the store assigns it
    f.integer(key::Time, l.timeMs, 0, kInt64Max);
    QString stream;
    f.text(key::Stream, stream);
    if (f.ok()) {
        // logStreamFromString() maps anything unknown to OUT; the wire is strict.
        const QString upper = stream.toUpper();
        bool known = false;
        for (LogStream s : {LogStream::Stdout, LogStream::Stderr, LogStream::System}) {
            if (upper == toString(s)) {
                l.stream = s;
                known = true;
            }
        }
        if (!known)
            f.failValue(
                key::Stream,
                QStringLiteral("unknown stream %1 (expected OUT, ERR or SYS)").arg(quoted(stream)));
    }
    f.text(key::Text, l.text);
}

QCborMap keyReasonToCbor(const KeyReason &kr)
{
    QCborMap c;
    putKey(c, kr.key);
    c.insert(key::Reason, kr.reason);
    return c;
}

QCborMap keyToCbor(const TaskKey &k)
{
    QCborMap c;
    putKey(c, k);
    return c;
}

QCborArray keysToCbor(const QList<TaskKey> &keys)
{
    QCborArray a;
    for (const TaskKey &k : keys)
        a.append(keyToCbor(k));
    return a;
}

QCborMap callToCbor(const TaskCall &call)
{
    QCborMap c;
    c.insert(key::CallId, qint64(call.callId));
    putKey(c, call.key);
    if (call.op == TaskCall::Op::Map) {
        c.insert(key::Op, kOpMap);
        c.insert(key::Name, call.name);
        c.insert(key::From, call.from);
        QCborArray items;
        for (const QByteArray &item : call.items)
            items.append(item);
        c.insert(key::Items, items);
    } else {
        c.insert(key::Op, kOpResults);
        c.insert(key::After, call.afterTaskId);
        c.insert(key::Limit, call.limit);
    }
    return c;
}

void readCall(Fields &f, TaskCall &call)
{
    // `c` first: when it is readable, a bad rest can still be answered (decodeCall's refused).
    f.integer(key::CallId, call.callId, 1, kInt64Max);
    readKey(f, call.key);
    QString op;
    f.text(key::Op, op);
    if (!f.ok())
        return;
    if (op == kOpMap) {
        call.op = TaskCall::Op::Map;
        f.text(key::Name, call.name, Need::Required, kMaxIdLength);
        f.integer(key::From, call.from, 0, kInt64Max);
        const auto items = f.array(key::Items, Need::Required, kMaxMapItems);
        if (!items)
            return;
        call.items.reserve(items->size());
        for (qsizetype i = 0; i < items->size(); ++i) {
            const QCborValue item = items->at(i);
            if (!item.isByteArray()) {
                f.fail(QStringLiteral("%1[%2]").arg(f.name(key::Items)).arg(i),
                       QStringLiteral("must be a byte string, got %1")
                           .arg(protocol::cborTypeName(item)));
                return;
            }
            call.items.append(item.toByteArray());
        }
    } else if (op == kOpResults) {
        call.op = TaskCall::Op::Results;
        f.integer(key::After, call.afterTaskId, 0, kInt64Max, Need::Optional);
        f.integer(key::Limit, call.limit, 1, kMaxResultsPage);
    } else {
        f.failValue(key::Op, QStringLiteral("unknown operation %1 (expected %2 or %3)")
                                 .arg(quoted(op), kOpMap, kOpResults));
    }
}

QCborMap replyToCbor(const TaskCallReply &reply)
{
    QCborMap c;
    c.insert(key::CallId, qint64(reply.callId));
    if (!reply.error.isEmpty())
        c.insert(key::Error, reply.error);
    if (!reply.results.isEmpty())
        c.insert(key::Results, resultsToCbor(reply.results));
    if (reply.end)
        c.insert(key::End, true);
    return c;
}

void readReply(Fields &f, TaskCallReply &reply)
{
    f.integer(key::CallId, reply.callId, 1, kInt64Max);
    f.text(key::Error, reply.error, Need::Optional);
    readMapList(f, key::Results, Need::Optional, kMaxResultsPage, reply.results, readResult);
    f.boolean(key::End, reply.end, Need::Optional);
}

template<typename T, typename Read>
Batch<T> decodeList(const protocol::Message &m, QLatin1StringView listKey, Read read)
{
    Batch<T> batch;
    decodeEntries(m, listKey, batch.items, batch.errors, read, [](const T &, const QString &) {});
    return batch;
}

// The UTF-8 size of `text` without converting it.
qsizetype utf8Size(const QString &text)
{
    qsizetype n = 0;
    for (const QChar c : text) {
        const char16_t u = c.unicode();
        if (u < 0x80)
            n += 1;
        else if (u < 0x800 || QChar::isSurrogate(u))
            n += 2; // a surrogate pair is 4 bytes: 2 per half
        else
            n += 3;
    }
    return n;
}

// An upper bound of a text's UTF-8 size, in O(1): 3 bytes per UTF-16 unit.
qsizetype utf8Bound(const QString &text)
{
    return 3 * text.size();
}

// Cuts `items` into consecutive batches whose estimated sizes add up to at most `maxBytes`; an
// entry bigger than that travels alone.
template<typename T, typename Size>
QList<QList<T>> splitBySize(const QList<T> &items, qsizetype maxBytes, Size size)
{
    QList<QList<T>> batches;
    QList<T> current;
    qsizetype currentBytes = 0;
    for (const T &item : items) {
        const qsizetype bytes = size(item);
        if (!current.isEmpty() && currentBytes + bytes > maxBytes) {
            batches.append(std::move(current));
            current = {};
            currentBytes = 0;
        }
        current.append(item);
        currentBytes += bytes;
    }
    if (!current.isEmpty())
        batches.append(std::move(current));
    return batches;
}

// Per RESULT: the map header, seven short keys, two integers, the status name and the length
// headers of four texts.
constexpr qsizetype kResultOverhead = 80;

qsizetype resultSize(const TaskResultEntry &r)
{
    return kResultOverhead + utf8Bound(r.name) + utf8Bound(r.result) + utf8Bound(r.worker)
           + utf8Bound(r.address);
}

qsizetype taskSize(const TaskSpec &task, qsizetype configBytes)
{
    // The map header, fourteen short keys, five integers, the processor, mode and role names.
    constexpr qsizetype kTaskOverhead = 128;
    qsizetype n = kTaskOverhead + configBytes + utf8Bound(task.jobName) + utf8Bound(task.taskName)
                  + utf8Bound(task.jobParams) + utf8Bound(task.instanceParams)
                  + task.payload.size();
    for (const TaskResultEntry &r : task.results)
        n += resultSize(r);
    return n;
}

} // namespace

// --- encoders ---------------------------------------------------------------------------------

protocol::Message encodeRegister(const Registration &r)
{
    QCborMap c;
    c.insert(key::Id, r.workerId);
    c.insert(key::Address, r.address);
    c.insert(key::Tags, QCborArray::fromStringList(r.tags));
    c.insert(key::Capacity, r.capacity);
    c.insert(key::Pid, r.pid);
    c.insert(key::Version, r.version);
    c.insert(key::Held, keysToCbor(r.held));
    c.insert(key::Metrics, metricsToCbor(r.metrics));
    return protocol::Message(QString(type::Register), std::move(c));
}

protocol::Message encodeRegistered(const RegisteredReply &r)
{
    QCborMap c;
    c.insert(key::HeartbeatMs, r.heartbeatMs);
    c.insert(key::DeadAfterMs, r.deadAfterMs);
    c.insert(key::LeaseMs, r.leaseMs);
    c.insert(key::ServerTimeMs, r.serverTimeMs);
    return protocol::Message(QString(type::Registered), std::move(c));
}

protocol::Message encodeHeartbeat(const Heartbeat &h)
{
    QCborMap c;
    c.insert(key::Ts, h.ts);
    c.insert(key::Metrics, metricsToCbor(h.metrics));
    return protocol::Message(QString(type::Heartbeat), std::move(c));
}

protocol::Message encodeHeartbeatAck(qint64 ts)
{
    QCborMap c;
    c.insert(key::Ts, ts);
    return protocol::Message(QString(type::HeartbeatAck), std::move(c));
}

protocol::Message encodeDispatch(const QList<TaskSpec> &tasks)
{
    ConfigToCbor config;
    SharedPrototypes shared;
    protocol::Message m = listMessage(type::Dispatch, key::Tasks, tasks, [&](const TaskSpec &t) {
        return taskToCbor(t, config, shared);
    });
    if (!shared.isEmpty())
        m.body.insert(key::Shared, shared.toCbor(config));
    return m;
}

protocol::Message encodeAccept(const QList<TaskKey> &keys)
{
    return listMessage(type::Accept, key::Tasks, keys, keyToCbor);
}

protocol::Message encodeReturn(const QList<KeyReason> &tasks)
{
    return listMessage(type::Return, key::Tasks, tasks, keyReasonToCbor);
}

protocol::Message encodeStatus(const QList<TaskReport> &reports)
{
    return listMessage(type::Status, key::Reports, reports, reportToCbor);
}

protocol::Message encodeLogs(const QList<LogLine> &lines)
{
    return listMessage(type::Logs, key::Lines, lines, lineToCbor);
}

protocol::Message encodeCancel(const QList<KeyReason> &tasks)
{
    return listMessage(type::Cancel, key::Tasks, tasks, keyReasonToCbor);
}

protocol::Message encodeDrain(const QString &reason)
{
    QCborMap c;
    c.insert(key::Reason, reason);
    return protocol::Message(QString(type::Drain), std::move(c));
}

protocol::Message encodeDead(const QString &reason)
{
    QCborMap c;
    c.insert(key::Reason, reason);
    return protocol::Message(QString(type::Dead), std::move(c));
}

protocol::Message encodeCall(const QList<TaskCall> &calls)
{
    return listMessage(type::Call, key::Calls, calls, callToCbor);
}

protocol::Message encodeCallReply(const QList<TaskCallReply> &replies)
{
    return listMessage(type::CallReply, key::Replies, replies, replyToCbor);
}

// --- decoders ---------------------------------------------------------------------------------

Result<Registration> decodeRegister(const protocol::Message &m)
{
    Fields f(m.body, m.type);
    Registration r;
    f.text(key::Id, r.workerId, Need::Required, kMaxIdLength);
    if (f.ok() && r.workerId.trimmed().isEmpty())
        f.fail(key::Id, QStringLiteral("must not be empty"));
    f.text(key::Address, r.address, Need::Optional, kMaxIdLength);
    if (const auto tags = f.array(key::Tags, Need::Optional)) {
        if (tags->size() > kMaxTags) {
            f.fail(key::Tags, QStringLiteral("must hold at most %1 tags, got %2")
                                  .arg(kMaxTags)
                                  .arg(tags->size()));
        } else {
            for (qsizetype i = 0; i < tags->size() && f.ok(); ++i) {
                const QCborValue tag = tags->at(i);
                const QString name = QStringLiteral("tags[%1]").arg(i);
                if (!tag.isString())
                    f.fail(name, QStringLiteral("must be a text string, got %1")
                                     .arg(protocol::cborTypeName(tag)));
                else if (tag.toString().isEmpty() || tag.toString().size() > kMaxIdLength)
                    f.fail(name, QStringLiteral("must be 1 to %1 characters, got %2")
                                     .arg(kMaxIdLength)
                                     .arg(tag.toString().size()));
                else
                    r.tags << tag.toString();
            }
        }
    }
    f.integer(key::Capacity, r.capacity, 1, kMaxCapacity);
    f.integer(key::Pid, r.pid, 0, kInt64Max, Need::Optional);
    f.text(key::Version, r.version, Need::Optional, kMaxIdLength);
    readMapList(f, key::Held, Need::Optional, -1, r.held,
                [](Fields &kf, TaskKey &k) { readKey(kf, k); });
    readMetrics(f, r.metrics);
    if (!f.ok())
        return makeError(f.error());
    return r;
}

Result<RegisteredReply> decodeRegistered(const protocol::Message &m)
{
    Fields f(m.body, m.type);
    RegisteredReply r;
    f.integer(key::HeartbeatMs, r.heartbeatMs, 1, kIntMax);
    f.integer(key::DeadAfterMs, r.deadAfterMs, 1, kIntMax);
    f.integer(key::LeaseMs, r.leaseMs, 1, kIntMax);
    f.integer(key::ServerTimeMs, r.serverTimeMs, 0, kInt64Max);
    if (!f.ok())
        return makeError(f.error());
    return r;
}

Result<Heartbeat> decodeHeartbeat(const protocol::Message &m)
{
    Fields f(m.body, m.type);
    Heartbeat h;
    f.integer(key::Ts, h.ts, 0, kInt64Max);
    readMetrics(f, h.metrics);
    if (!f.ok())
        return makeError(f.error());
    return h;
}

Result<qint64> decodeHeartbeatAck(const protocol::Message &m)
{
    Fields f(m.body, m.type);
    qint64 ts = 0;
    f.integer(key::Ts, ts, 0, kInt64Max);
    if (!f.ok())
        return makeError(f.error());
    return ts;
}

Result<QString> decodeReason(const protocol::Message &m)
{
    Fields f(m.body, m.type);
    QString reason;
    f.text(key::Reason, reason);
    if (!f.ok())
        return makeError(f.error());
    return reason;
}

Batch<TaskSpec> decodeDispatch(const protocol::Message &m)
{
    ConfigFromCbor config;
    const Prototypes protos = readPrototypes(m, config);
    return decodeList<TaskSpec>(m, key::Tasks,
                                [&](Fields &f, TaskSpec &t) { readTask(f, t, config, protos); });
}

Batch<TaskKey> decodeAccept(const protocol::Message &m)
{
    return decodeList<TaskKey>(m, key::Tasks, [](Fields &f, TaskKey &k) { readKey(f, k); });
}

Batch<KeyReason> decodeReturn(const protocol::Message &m)
{
    return decodeList<KeyReason>(m, key::Tasks, [](Fields &f, KeyReason &kr) {
        readKey(f, kr.key);
        f.text(key::Reason, kr.reason);
    });
}

Batch<TaskReport> decodeStatus(const protocol::Message &m)
{
    return decodeList<TaskReport>(m, key::Reports, readReport);
}

Batch<LogLine> decodeLogs(const protocol::Message &m)
{
    return decodeList<LogLine>(m, key::Lines, readLine);
}

Batch<KeyReason> decodeCancel(const protocol::Message &m)
{
    return decodeList<KeyReason>(m, key::Tasks, [](Fields &f, KeyReason &kr) {
        readKey(f, kr.key, Need::Optional); // no `k`: every task of the attempt
        f.text(key::Reason, kr.reason);
    });
}

CallBatch decodeCall(const protocol::Message &m)
{
    CallBatch batch;
    decodeEntries(m, key::Calls, batch.items, batch.errors, readCall,
                  [&batch](const TaskCall &call, const QString &error) {
                      if (call.callId > 0) // `c` was read, so the caller can be told
                          batch.refused.append(TaskCallReply{call.callId, error, {}, false});
                  });
    return batch;
}

Batch<TaskCallReply> decodeCallReply(const protocol::Message &m)
{
    Batch<TaskCallReply> batch;
    decodeEntries(m, key::Replies, batch.items, batch.errors, readReply,
                  [&batch](const TaskCallReply &reply, const QString &error) {
                      // The run that waits for this reply is told what was wrong with it
                      // instead of waiting for ever.
                      if (reply.callId > 0)
                          batch.items.append(TaskCallReply{
                              reply.callId,
                              QStringLiteral("malformed reply from the server: %1").arg(error),
                              {},
                              false});
                  });
    return batch;
}

// --- splitting --------------------------------------------------------------------------------

QList<QList<LogLine>> splitLogBatch(const QList<LogLine> &lines, qsizetype maxBytes)
{
    // Per line: the map header, six one-letter keys, four integers of up to 9 bytes, the stream
    // name and the text's length header. 64 bytes covers all of it.
    constexpr qsizetype kLineOverhead = 64;
    return splitBySize(lines, maxBytes,
                       [](const LogLine &l) { return kLineOverhead + utf8Size(l.text); });
}

qsizetype estimatedSize(const TaskCall &call)
{
    // The map header, nine short keys, six integers, the op name and the name's header.
    constexpr qsizetype kCallOverhead = 96;
    qsizetype n = kCallOverhead + utf8Bound(call.name);
    for (const QByteArray &item : call.items)
        n += 9 + item.size(); // a byte string's header is at most 9 bytes
    return n;
}

qsizetype estimatedSize(const TaskCallReply &reply)
{
    qsizetype n = 48 + utf8Bound(reply.error);
    for (const TaskResultEntry &r : reply.results)
        n += resultSize(r);
    return n;
}

QList<QList<TaskCall>> splitCallBatch(const QList<TaskCall> &calls, qsizetype maxBytes)
{
    return splitBySize(calls, maxBytes, [](const TaskCall &c) { return estimatedSize(c); });
}

QList<QList<TaskCallReply>> splitCallReplyBatch(const QList<TaskCallReply> &replies,
                                                qsizetype maxBytes)
{
    return splitBySize(replies, maxBytes, [](const TaskCallReply &r) { return estimatedSize(r); });
}

QList<QList<TaskSpec>> splitDispatchBatch(const QList<TaskSpec> &tasks, qsizetype maxBytes)
{
    // The config is the one field whose size is not known without encoding it; the tasks of one
    // job share it, so it is measured once per distinct config.
    ConfigToCbor config;
    QJsonObject measuredFor;
    qsizetype configBytes = 0;
    bool measured = false;
    return splitBySize(tasks, maxBytes, [&](const TaskSpec &t) {
        if (!measured || !(t.config == measuredFor)) {
            measuredFor = t.config;
            configBytes = config(t.config).toCborValue().toCbor().size();
            measured = true;
        }
        return taskSize(t, configBytes);
    });
}

qsizetype fitResultsPage(TaskCallReply &reply, qsizetype maxBytes)
{
    qsizetype bytes = 48 + utf8Bound(reply.error);
    qsizetype keep = 0;
    for (; keep < reply.results.size(); ++keep) {
        const qsizetype size = resultSize(reply.results.at(keep));
        // At least one result goes, or a reader could never get past a huge one.
        if (keep > 0 && bytes + size > maxBytes)
            break;
        bytes += size;
    }
    const qsizetype dropped = reply.results.size() - keep;
    if (dropped > 0) {
        reply.results.resize(keep);
        reply.end = false; // the reader asks again after the last id it got
    }
    return dropped;
}

} // namespace kairos::wire
