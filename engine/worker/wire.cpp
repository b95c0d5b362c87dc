#include "wire.h"

#include <QCborArray>
#include <QCborMap>

#include <cmath>
#include <limits>

// Decoding rules beyond the field shapes of docs/protocol.md 12.1/12.2:
//  - `register` needs `id` and `capacity`; `address`, `tags`, `pid`, `version`, `held` and
//    `metrics` may be absent (defaults), but a present field must have its type and bounds.
//  - `heartbeat` needs `ts`; absent `metrics` means "unknown" (all 0).
//  - In METRICS every field may be absent (0 = unknown); `load1` may be an integer or a float.
//  - `jp`, `ip`, `to` of TASK and `r`, `tu` of REPORT are optional; everything else listed is
//    required. `tu` (epoch microseconds of the transition) is sent when the runner stamped it;
//    the server uses it only to measure dispatch-to-start latency (kairos-bench).
//  - Ids, attempts, times and counts are never negative; values that do not fit the C++ field
//    (an attempt beyond 2^31 - 1) are refused, not truncated.
//  - A batch decoder stops listing errors after kMaxListedErrors and adds one line with the count
//    of the others, so a frame full of tiny bad entries cannot make the receiver build millions
//    of error texts.

namespace kairos::wire {

namespace {

constexpr qsizetype kMaxListedErrors = 32;
constexpr qint64 kIntMax = std::numeric_limits<int>::max();
constexpr qint64 kInt64Max = std::numeric_limits<qint64>::max();

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
// KEY, TASK, REPORT, LINE
inline constexpr QLatin1StringView Instance{"i"};
inline constexpr QLatin1StringView Attempt{"a"};
inline constexpr QLatin1StringView Task{"k"};
inline constexpr QLatin1StringView Job{"job"};
inline constexpr QLatin1StringView Proc{"proc"};
inline constexpr QLatin1StringView Config{"cfg"};
inline constexpr QLatin1StringView JobParams{"jp"};
inline constexpr QLatin1StringView InstanceParams{"ip"};
inline constexpr QLatin1StringView Timeout{"to"};
inline constexpr QLatin1StringView StatusName{"s"};
inline constexpr QLatin1StringView Result{"r"};
inline constexpr QLatin1StringView Time{"t"};
inline constexpr QLatin1StringView TimeUs{"tu"};
inline constexpr QLatin1StringView Stream{"s"};
inline constexpr QLatin1StringView Text{"x"};
// METRICS
inline constexpr QLatin1StringView Load1{"load1"};
inline constexpr QLatin1StringView Cpus{"cpus"};
inline constexpr QLatin1StringView MemFreeMb{"memFreeMb"};
inline constexpr QLatin1StringView MemTotalMb{"memTotalMb"};
inline constexpr QLatin1StringView DiskFreeMb{"diskFreeMb"};
inline constexpr QLatin1StringView Running{"running"};
inline constexpr QLatin1StringView Queued{"queued"};
} // namespace key

enum class Need { Required, Optional };

// Reads the fields of one CBOR map (the message body, one entry of a list, or a nested map) and
// keeps the first error, phrased like protocol::Message's strict getters and naming the field by
// its path inside the message: "field 'reports[0].s' of 'status': unknown status \"X\"". The
// path is only spelled out for an error: a batch of thousands of good entries builds no strings.
class Fields {
public:
    // The message body.
    Fields(const QCborMap &map, const QString &type)
        : m_map(map)
        , m_type(type)
    {}
    // A nested map: entry `index` of the list `base` (index >= 0), or the map `base`.
    Fields(const QCborMap &map, QLatin1StringView base, qsizetype index, const QString &type)
        : m_map(map)
        , m_type(type)
        , m_base(base)
        , m_index(index)
    {}

    bool ok() const { return m_error.isEmpty(); }
    const QString &error() const { return m_error; }
    QString name(QLatin1StringView k) const
    {
        if (m_base.isEmpty())
            return QString(k);
        if (m_index < 0)
            return m_base + u'.' + k;
        return QStringLiteral("%1[%2].%3").arg(m_base).arg(m_index).arg(k);
    }

    void fail(const QString &fieldName, const QString &what)
    {
        if (m_error.isEmpty())
            m_error = QStringLiteral("field '%1' of '%2' %3").arg(fieldName, m_type, what);
    }
    void fail(QLatin1StringView k, const QString &what) { fail(name(k), what); }
    // For a value of the right type that is not acceptable: "field 's' of 'status': unknown...".
    void failValue(QLatin1StringView k, const QString &what)
    {
        if (m_error.isEmpty())
            m_error = QStringLiteral("field '%1' of '%2': %3").arg(name(k), m_type, what);
    }
    // Takes the first error of a nested map's reader (its paths are already complete).
    void adopt(const Fields &inner)
    {
        if (m_error.isEmpty())
            m_error = inner.m_error;
    }

    // The value, or nullopt after recording "missing" / "must be X" (or silently for an absent
    // optional field).
    std::optional<QCborValue> get(QLatin1StringView k, Need need, const char *expected,
                                  bool (QCborValue::*isType)() const)
    {
        const QCborValue v = m_map.value(k);
        if (v.isUndefined()) {
            if (need == Need::Required)
                fail(k, QStringLiteral("is missing; expected %1").arg(QLatin1StringView(expected)));
            return std::nullopt;
        }
        if (!(v.*isType)()) {
            fail(k, QStringLiteral("must be %1, got %2")
                        .arg(QLatin1StringView(expected), protocol::cborTypeName(v)));
            return std::nullopt;
        }
        return v;
    }

    template<typename Int>
    void integer(QLatin1StringView k, Int &out, qint64 min, qint64 max, Need need = Need::Required)
    {
        const auto v = get(k, need, "an integer", &QCborValue::isInteger);
        if (!v)
            return;
        const qint64 n = v->toInteger();
        if (n < min || n > max) {
            if (min == 0 && n < 0)
                fail(k, QStringLiteral("must not be negative, got %1").arg(n));
            else
                fail(k,
                     QStringLiteral("must be between %1 and %2, got %3").arg(min).arg(max).arg(n));
            return;
        }
        out = static_cast<Int>(n);
    }

    void text(QLatin1StringView k, QString &out, Need need = Need::Required,
              qsizetype maxLength = -1)
    {
        const auto v = get(k, need, "a text string", &QCborValue::isString);
        if (!v)
            return;
        QString s = v->toString();
        if (maxLength >= 0 && s.size() > maxLength) {
            fail(k, QStringLiteral("must be at most %1 characters, got %2")
                        .arg(maxLength)
                        .arg(s.size()));
            return;
        }
        out = std::move(s);
    }

    void number(QLatin1StringView k, double &out)
    {
        const QCborValue v = m_map.value(k);
        if (v.isUndefined())
            return; // every METRICS field is optional
        if (!v.isInteger() && !v.isDouble()) {
            fail(k, QStringLiteral("must be a number, got %1").arg(protocol::cborTypeName(v)));
            return;
        }
        const double d = v.toDouble();
        if (!std::isfinite(d) || d < 0) {
            fail(k, QStringLiteral("must be a finite number >= 0, got %1").arg(d));
            return;
        }
        out = d;
    }

    std::optional<QCborArray> array(QLatin1StringView k, Need need = Need::Required)
    {
        const auto v = get(k, need, "an array", &QCborValue::isArray);
        if (!v)
            return std::nullopt;
        return v->toArray();
    }

    std::optional<QCborMap> map(QLatin1StringView k, Need need = Need::Required)
    {
        const auto v = get(k, need, "a map", &QCborValue::isMap);
        if (!v)
            return std::nullopt;
        return v->toMap();
    }

    const QString &type() const { return m_type; }

private:
    const QCborMap &m_map;
    const QString &m_type;
    QLatin1StringView m_base;
    qsizetype m_index = -1;
    QString m_error;
};

QString quoted(const QString &s)
{
    QString out = s.left(64); // a hostile peer's "name" must not flood the log
    out.replace(u'"', QStringLiteral("\\\""));
    return u'"' + out + (s.size() > 64 ? QStringLiteral("...\"") : QStringLiteral("\""));
}

// --- shapes -----------------------------------------------------------------------------------

void putKey(QCborMap &m, const TaskKey &k)
{
    m.insert(key::Instance, k.instanceId);
    m.insert(key::Attempt, k.attempt);
    if (k.taskId >= 0)
        m.insert(key::Task, k.taskId);
}

void readKey(Fields &f, TaskKey &k, Need taskNeed = Need::Required)
{
    f.integer(key::Instance, k.instanceId, 0, kInt64Max);
    f.integer(key::Attempt, k.attempt, 0, kIntMax);
    k.taskId = -1; // "every task of the attempt" when `k` may be absent and is
    f.integer(key::Task, k.taskId, 0, kInt64Max, taskNeed);
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
    Fields m(*map, key::Metrics, -1, f.type());
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

QCborMap taskToCbor(const TaskSpec &t)
{
    QCborMap c;
    putKey(c, taskKeyOf(t));
    c.insert(key::Job, t.jobName);
    c.insert(key::Proc, toString(t.processor));
    c.insert(key::Config, QCborMap::fromJsonObject(t.config));
    if (!t.jobParams.isEmpty())
        c.insert(key::JobParams, t.jobParams);
    if (!t.instanceParams.isEmpty())
        c.insert(key::InstanceParams, t.instanceParams);
    if (t.timeoutMs != 0)
        c.insert(key::Timeout, t.timeoutMs);
    return c;
}

void readTask(Fields &f, TaskSpec &t)
{
    TaskKey k;
    readKey(f, k);
    t.instanceId = k.instanceId;
    t.attempt = k.attempt;
    t.taskId = k.taskId;
    f.text(key::Job, t.jobName);
    QString proc;
    f.text(key::Proc, proc);
    if (f.ok()) {
        if (const auto kind = processorKindFromString(proc))
            t.processor = *kind;
        else
            f.failValue(key::Proc, QStringLiteral("unknown processor %1 (expected %2)")
                                       .arg(quoted(proc), processorKindNames().join(u", ")));
    }
    if (const auto cfg = f.map(key::Config))
        t.config = cfg->toJsonObject();
    f.text(key::JobParams, t.jobParams, Need::Optional);
    f.text(key::InstanceParams, t.instanceParams, Need::Optional);
    f.integer(key::Timeout, t.timeoutMs, 0, kIntMax, Need::Optional);
}

QCborMap reportToCbor(const TaskReport &r)
{
    QCborMap c;
    putKey(c, TaskKey{r.instanceId, r.attempt, r.taskId});
    c.insert(key::StatusName, toString(r.status));
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
    QString status;
    f.text(key::StatusName, status);
    if (f.ok()) {
        const auto s = instanceStatusFromString(status);
        if (!s)
            f.failValue(key::StatusName, QStringLiteral("unknown status %1 (expected %2)")
                                             .arg(quoted(status), kReportableStatuses));
        else if (*s != InstanceStatus::Running
                 && !(isTerminal(*s) && *s != InstanceStatus::Skipped))
            f.failValue(key::StatusName,
                        QStringLiteral("status %1 cannot be reported by a worker (expected %2)")
                            .arg(quoted(status), kReportableStatuses));
        else
            r.status = *s;
    }
    f.text(key::Result, r.result, Need::Optional);
    f.integer(key::Time, r.timeMs, 0, kInt64Max);
    f.integer(key::TimeUs, r.timeUs, 0, kInt64Max, Need::Optional);
}

QCborMap lineToCbor(const LogLine &l)
{
    QCborMap c;
    putKey(c, TaskKey{l.instanceId, l.attempt, 0});
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

// Decodes the list `listKey` of `m` entry by entry with `read(Fields &, T &)`: good entries are
// kept, each bad one adds its error.
template<typename T, typename Read>
Batch<T> decodeList(const protocol::Message &m, QLatin1StringView listKey, Read read)
{
    Batch<T> batch;
    Fields top(m.body, m.type);
    const auto list = top.array(listKey);
    if (!list) {
        batch.errors << top.error();
        return batch;
    }
    batch.items.reserve(list->size());
    qsizetype unlisted = 0;
    for (qsizetype i = 0; i < list->size(); ++i) {
        const QCborValue entry = list->at(i);
        QString error;
        if (!entry.isMap()) {
            error = QStringLiteral("field '%1[%2]' of '%3' must be a map, got %4")
                        .arg(listKey)
                        .arg(i)
                        .arg(m.type, protocol::cborTypeName(entry));
        } else {
            const QCborMap map = entry.toMap();
            Fields f(map, listKey, i, m.type);
            T item;
            read(f, item);
            if (f.ok())
                batch.items.append(std::move(item));
            else
                error = f.error();
        }
        if (error.isEmpty())
            continue;
        if (batch.errors.size() < kMaxListedErrors)
            batch.errors << error;
        else
            ++unlisted;
    }
    if (unlisted > 0)
        batch.errors << QStringLiteral("%1 more bad entries of '%2' in '%3' were not listed")
                            .arg(unlisted)
                            .arg(listKey, m.type);
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

// A message whose only field `listKey` is the list of `items`, each encoded by `toCbor`.
template<typename T, typename ToCbor>
protocol::Message listMessage(QLatin1StringView type, QLatin1StringView listKey,
                              const QList<T> &items, ToCbor toCbor)
{
    QCborArray a;
    for (const T &item : items)
        a.append(toCbor(item));
    QCborMap c;
    c.insert(listKey, a);
    return protocol::Message(QString(type), std::move(c));
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
    return listMessage(type::Dispatch, key::Tasks, tasks, taskToCbor);
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
    if (const auto held = f.array(key::Held, Need::Optional)) {
        for (qsizetype i = 0; i < held->size() && f.ok(); ++i) {
            const QCborValue entry = held->at(i);
            if (!entry.isMap()) {
                f.fail(QStringLiteral("held[%1]").arg(i),
                       QStringLiteral("must be a map, got %1").arg(protocol::cborTypeName(entry)));
                break;
            }
            const QCborMap map = entry.toMap();
            Fields kf(map, key::Held, i, m.type);
            TaskKey k;
            readKey(kf, k);
            f.adopt(kf);
            if (kf.ok())
                r.held << k;
        }
    }
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
    return decodeList<TaskSpec>(m, key::Tasks, readTask);
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

QList<QList<LogLine>> splitLogBatch(const QList<LogLine> &lines, qsizetype maxBytes)
{
    // Per line: the map header, six one-letter keys, four integers of up to 9 bytes, the stream
    // name and the text's length header. 64 bytes covers all of it.
    constexpr qsizetype kLineOverhead = 64;
    QList<QList<LogLine>> batches;
    QList<LogLine> current;
    qsizetype currentBytes = 0;
    for (const LogLine &line : lines) {
        const qsizetype bytes = kLineOverhead + utf8Size(line.text);
        // A line bigger than the budget on its own still travels, alone in its batch.
        if (!current.isEmpty() && currentBytes + bytes > maxBytes) {
            batches.append(std::move(current));
            current = {};
            currentBytes = 0;
        }
        current.append(line);
        currentBytes += bytes;
    }
    if (!current.isEmpty())
        batches.append(std::move(current));
    return batches;
}

} // namespace kairos::wire
