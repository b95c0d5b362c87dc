#include "worker_info.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <algorithm>
#include <cmath>
#include <limits>

namespace kairos {

namespace {

// The value as it appeared in the JSON, for "but got ..." in errors.
QString jsonText(const QJsonValue &v)
{
    if (v.isUndefined())
        return QStringLiteral("nothing");
    const QByteArray json = QJsonDocument(QJsonArray{v}).toJson(QJsonDocument::Compact);
    return QString::fromUtf8(json.mid(1, json.size() - 2)); // strip the array's brackets
}

// Reads the typed fields of one JSON object and keeps the first error, naming the field by its
// dotted path ("metrics.cpus") so a user can find it in what they sent.
class Reader {
public:
    Reader(const QJsonObject &o, QString path, QString *error)
        : m_o(o)
        , m_path(std::move(path))
        , m_error(error)
    {}

    QString where(const QString &key) const { return m_path.isEmpty() ? key : m_path + u'.' + key; }
    bool has(const QString &key) const { return m_o.contains(key) && !m_o[key].isNull(); }
    QJsonValue value(const QString &key) const { return m_o[key]; }

    void fail(const QString &key, const QString &what)
    {
        if (m_error->isEmpty())
            *m_error = where(key) + QStringLiteral(": ") + what;
    }

    void text(const QString &key, QString &out, bool required = false)
    {
        if (!has(key)) {
            if (required)
                fail(key, QStringLiteral("missing; expected a string"));
            return;
        }
        if (!m_o[key].isString())
            return fail(key,
                        QStringLiteral("expected a string but got %1").arg(jsonText(m_o[key])));
        out = m_o[key].toString();
    }

    template<typename Int> void integer(const QString &key, Int &out)
    {
        if (!has(key))
            return;
        const QJsonValue v = m_o[key];
        // JSON numbers are doubles: 2^53 and beyond are not exact, which no count or epoch-ms
        // value reaches.
        constexpr double kExact = 9007199254740992.0; // 2^53
        const double d = v.toDouble();
        if (!v.isDouble() || !std::isfinite(d) || d != std::trunc(d) || std::fabs(d) > kExact)
            return fail(key, QStringLiteral("expected a whole number but got %1").arg(jsonText(v)));
        if (d < 0 || d > double(std::numeric_limits<Int>::max()))
            return fail(key, QStringLiteral("%1 is outside 0-%2")
                                 .arg(qint64(d))
                                 .arg(qint64(std::numeric_limits<Int>::max())));
        out = static_cast<Int>(d);
    }

    void number(const QString &key, double &out)
    {
        if (!has(key))
            return;
        const QJsonValue v = m_o[key];
        if (!v.isDouble() || !std::isfinite(v.toDouble()) || v.toDouble() < 0)
            return fail(key, QStringLiteral("expected a number >= 0 but got %1").arg(jsonText(v)));
        out = v.toDouble();
    }

    void textList(const QString &key, QStringList &out)
    {
        if (!has(key))
            return;
        if (!m_o[key].isArray())
            return fail(
                key,
                QStringLiteral("expected a list of strings but got %1").arg(jsonText(m_o[key])));
        const QJsonArray array = m_o[key].toArray();
        QStringList items;
        for (qsizetype i = 0; i < array.size(); ++i) {
            if (!array[i].isString())
                return fail(QStringLiteral("%1[%2]").arg(key).arg(i),
                            QStringLiteral("expected a string but got %1").arg(jsonText(array[i])));
            items << array[i].toString();
        }
        out = items;
    }

private:
    QJsonObject m_o;
    QString m_path;
    QString *m_error;
};

double lenientNumber(const QJsonObject &o, const QString &key)
{
    const double d = o.value(key).toDouble();
    return std::isfinite(d) ? d : 0.0;
}

qint64 lenientInteger(const QJsonObject &o, const QString &key)
{
    // Clamped before the cast: converting an out-of-range double to an integer is undefined.
    constexpr double kMax = 9007199254740992.0; // 2^53
    return qint64(std::clamp(lenientNumber(o, key), -kMax, kMax));
}

int lenientCount(const QJsonObject &o, const QString &key)
{
    return int(std::clamp<qint64>(lenientInteger(o, key), 0, std::numeric_limits<int>::max()));
}

void readMetrics(Reader &r, WorkerMetrics &m)
{
    r.number(QStringLiteral("load1"), m.load1);
    r.integer(QStringLiteral("cpus"), m.cpus);
    r.integer(QStringLiteral("memFreeMb"), m.memFreeMb);
    r.integer(QStringLiteral("memTotalMb"), m.memTotalMb);
    r.integer(QStringLiteral("diskFreeMb"), m.diskFreeMb);
    r.integer(QStringLiteral("running"), m.running);
    r.integer(QStringLiteral("queued"), m.queued);
}

} // namespace

QString toString(WorkerState state)
{
    switch (state) {
    case WorkerState::Alive:
        return QStringLiteral("ALIVE");
    case WorkerState::Draining:
        return QStringLiteral("DRAINING");
    case WorkerState::Dead:
        return QStringLiteral("DEAD");
    }
    return {};
}

std::optional<WorkerState> workerStateFromString(const QString &text)
{
    // Same leniency as the other enum names of core/types.h: case-insensitive.
    const QString upper = text.trimmed().toUpper();
    for (WorkerState s : {WorkerState::Alive, WorkerState::Draining, WorkerState::Dead}) {
        if (upper == toString(s))
            return s;
    }
    return std::nullopt;
}

QJsonObject workerMetricsToJson(const WorkerMetrics &m)
{
    return QJsonObject{
        {QStringLiteral("load1"), m.load1},           {QStringLiteral("cpus"), m.cpus},
        {QStringLiteral("memFreeMb"), m.memFreeMb},   {QStringLiteral("memTotalMb"), m.memTotalMb},
        {QStringLiteral("diskFreeMb"), m.diskFreeMb}, {QStringLiteral("running"), m.running},
        {QStringLiteral("queued"), m.queued},
    };
}

WorkerMetrics workerMetricsFromJson(const QJsonObject &o)
{
    WorkerMetrics m;
    m.load1 = lenientNumber(o, QStringLiteral("load1"));
    m.cpus = lenientCount(o, QStringLiteral("cpus"));
    m.memFreeMb = lenientInteger(o, QStringLiteral("memFreeMb"));
    m.memTotalMb = lenientInteger(o, QStringLiteral("memTotalMb"));
    m.diskFreeMb = lenientInteger(o, QStringLiteral("diskFreeMb"));
    m.running = lenientCount(o, QStringLiteral("running"));
    m.queued = lenientCount(o, QStringLiteral("queued"));
    return m;
}

QJsonObject workerToJson(const WorkerInfo &w)
{
    return QJsonObject{
        {QStringLiteral("id"), w.id},
        {QStringLiteral("app"), w.app},
        {QStringLiteral("address"), w.address},
        {QStringLiteral("tags"), QJsonArray::fromStringList(w.tags)},
        {QStringLiteral("capacity"), w.capacity},
        {QStringLiteral("state"), toString(w.state)},
        {QStringLiteral("pid"), w.pid},
        {QStringLiteral("version"), w.version},
        {QStringLiteral("registeredAtMs"), w.registeredAtMs},
        {QStringLiteral("lastHeartbeatMs"), w.lastHeartbeatMs},
        {QStringLiteral("deadAtMs"), w.deadAtMs},
        {QStringLiteral("deadReason"), w.deadReason},
        {QStringLiteral("server"), w.server},
        {QStringLiteral("metrics"), workerMetricsToJson(w.metrics)},
    };
}

Result<WorkerInfo> workerFromJson(const QJsonObject &o)
{
    // `id` and `state` are what makes a row meaningful; every other field may be absent (an
    // older server) and keeps its default, but a field that is present must have its type.
    QString error;
    Reader r(o, QString(), &error);
    WorkerInfo w;
    r.text(QStringLiteral("id"), w.id, true);
    if (error.isEmpty() && w.id.isEmpty())
        r.fail(QStringLiteral("id"), QStringLiteral("expected a worker id but got \"\""));
    r.text(QStringLiteral("app"), w.app);
    r.text(QStringLiteral("address"), w.address);
    r.textList(QStringLiteral("tags"), w.tags);
    r.integer(QStringLiteral("capacity"), w.capacity);
    if (!r.has(QStringLiteral("state"))) {
        r.fail(QStringLiteral("state"),
               QStringLiteral("missing; expected ALIVE, DRAINING or DEAD"));
    } else {
        const QJsonValue v = r.value(QStringLiteral("state"));
        const auto state = v.isString() ? workerStateFromString(v.toString()) : std::nullopt;
        if (state)
            w.state = *state;
        else
            r.fail(QStringLiteral("state"),
                   QStringLiteral("expected ALIVE, DRAINING or DEAD but got %1").arg(jsonText(v)));
    }
    r.integer(QStringLiteral("pid"), w.pid);
    r.text(QStringLiteral("version"), w.version);
    r.integer(QStringLiteral("registeredAtMs"), w.registeredAtMs);
    r.integer(QStringLiteral("lastHeartbeatMs"), w.lastHeartbeatMs);
    r.integer(QStringLiteral("deadAtMs"), w.deadAtMs);
    r.text(QStringLiteral("deadReason"), w.deadReason);
    r.text(QStringLiteral("server"), w.server);
    if (r.has(QStringLiteral("metrics"))) {
        const QJsonValue v = r.value(QStringLiteral("metrics"));
        if (!v.isObject()) {
            r.fail(QStringLiteral("metrics"),
                   QStringLiteral("expected an object but got %1").arg(jsonText(v)));
        } else {
            Reader mr(v.toObject(), QStringLiteral("metrics"), &error);
            readMetrics(mr, w.metrics);
        }
    }
    if (!error.isEmpty())
        return makeError(error);
    return w;
}

// (`slots` is a Qt keyword macro, hence `slotCount` here.)
double healthScore(const WorkerMetrics &m, int freeSlots, int slotCount)
{
    // Each share is clamped to [0, 1] so a bogus heartbeat (free > total, negative load) cannot
    // push one worker's score past every honest one's.
    double idleCpu = 1.0;
    if (m.cpus > 0 && std::isfinite(m.load1))
        idleCpu = 1.0 - std::clamp(m.load1 / m.cpus, 0.0, 1.0);
    double freeMemory = 1.0;
    if (m.memTotalMb > 0)
        freeMemory = std::clamp(double(m.memFreeMb) / double(m.memTotalMb), 0.0, 1.0);
    // No slots at all means nothing can be placed there: no free share.
    const double freeSlotShare =
        slotCount > 0 ? std::clamp(double(freeSlots) / double(slotCount), 0.0, 1.0) : 0.0;
    return 0.4 * idleCpu + 0.3 * freeMemory + 0.3 * freeSlotShare;
}

bool isOverloaded(const WorkerMetrics &m, int freeSlots)
{
    if (freeSlots <= 0)
        return true;
    return m.cpus > 0 && std::isfinite(m.load1) && m.load1 / m.cpus >= 3.0;
}

} // namespace kairos
