#include "views.h"

#include "table.h"

#include <timing/zoneclock.h>

#include <QJsonDocument>

namespace kairos::cli {
namespace {

using Pairs = QList<std::pair<QString, QString>>;

QString text(const QJsonObject &o, const char *key)
{
    return o.value(QLatin1String(key)).toString();
}
qint64 number(const QJsonObject &o, const char *key)
{
    return o.value(QLatin1String(key)).toInteger();
}
QJsonObject object(const QJsonObject &o, const char *key)
{
    return o.value(QLatin1String(key)).toObject();
}

// A JSON value as a reader wants it: strings bare, anything else as compact JSON.
QString valueText(const QJsonValue &v)
{
    if (v.isString())
        return v.toString();
    if (v.isDouble())
        return QString::number(v.toInteger());
    const QByteArray json = QJsonDocument(QJsonArray{v}).toJson(QJsonDocument::Compact);
    return QString::fromUtf8(json.mid(1, json.size() - 2));
}

QString yesNo(bool b)
{
    return b ? QStringLiteral("yes") : QStringLiteral("no");
}

QString jobLabel(const QJsonObject &instance)
{
    const QString name = text(instance, "jobName");
    return name.isEmpty() ? QStringLiteral("#%1").arg(number(instance, "jobId")) : name;
}

QString attemptText(const QJsonObject &instance)
{
    return QStringLiteral("%1/%2")
        .arg(number(instance, "attempt"))
        .arg(std::max<qint64>(number(instance, "maxAttempts"), number(instance, "attempt")));
}

} // namespace

QString formatTime(qint64 epochMs, const QTimeZone &zone)
{
    // 0 means "not yet"; the server sends -1 for "no next fire" (an API job).
    if (epochMs <= 0)
        return QStringLiteral("-");
    return formatLocalIso(epochMs, zone);
}

QString timingSummary(const QJsonObject &job)
{
    const QJsonObject timing = object(job, "timing");
    const QString type = text(timing, "type");
    const QString expression = text(timing, "expression").trimmed();
    return expression.isEmpty() ? type : type + u' ' + expression;
}

QString jobDetail(const QJsonObject &job, const QTimeZone &zone)
{
    const QJsonObject timing = object(job, "timing");
    const QJsonObject processor = object(job, "processor");
    const QJsonObject dispatch = object(job, "dispatch");
    const QJsonObject limits = object(job, "limits");

    Pairs p;
    p.append({QStringLiteral("id"), QString::number(number(job, "id"))});
    p.append({QStringLiteral("name"), text(job, "name")});
    if (!text(job, "description").isEmpty())
        p.append({QStringLiteral("description"), text(job, "description")});
    p.append({QStringLiteral("app"), text(job, "app")});
    p.append({QStringLiteral("enabled"), yesNo(job.value(QStringLiteral("enabled")).toBool())});
    p.append({QStringLiteral("timing"), timingSummary(job)});
    const QString tz = text(timing, "timeZone");
    p.append({QStringLiteral("time zone"), tz.isEmpty() ? QStringLiteral("(the server's)") : tz});
    const qint64 windowStart = number(timing, "windowStartMs");
    const qint64 windowEnd = number(timing, "windowEndMs");
    if (windowStart || windowEnd) {
        p.append({QStringLiteral("window"),
                  QStringLiteral("%1 to %2")
                      .arg(formatTime(windowStart, zone), formatTime(windowEnd, zone))});
    }
    QString misfire = text(timing, "misfirePolicy");
    if (misfire == QLatin1String("FIRE_ALL"))
        misfire += QStringLiteral(" (at most %1)").arg(number(timing, "misfireMaxFires"));
    p.append({QStringLiteral("misfire"), misfire});
    if (job.contains(QStringLiteral("nextFireMs")))
        p.append({QStringLiteral("next fire"), formatTime(number(job, "nextFireMs"), zone)});
    p.append({QStringLiteral("mode"), text(job, "mode")});
    p.append({QStringLiteral("processor"), text(processor, "type")});
    for (auto it = processor.begin(); it != processor.end(); ++it) {
        if (it.key() != QLatin1String("type"))
            p.append({QStringLiteral("  ") + it.key(), valueText(it.value())});
    }
    if (!text(job, "params").isEmpty())
        p.append({QStringLiteral("params"), text(job, "params")});
    QString strategy = text(dispatch, "strategy");
    const QJsonArray targets = dispatch.value(QStringLiteral("targets")).toArray();
    if (!targets.isEmpty())
        strategy += u' ' + valueText(targets);
    p.append({QStringLiteral("dispatch"), strategy});
    if (text(job, "mode") != QLatin1String("STANDALONE") && !text(job, "mode").isEmpty()) {
        const qint64 maxWorkers = number(dispatch, "maxWorkers");
        p.append({QStringLiteral("max workers"),
                  maxWorkers == 0 ? QStringLiteral("all that fit") : QString::number(maxWorkers)});
        p.append(
            {QStringLiteral("task retries"), QString::number(number(dispatch, "taskRetries"))});
    }
    const qint64 maxInstances = number(limits, "maxConcurrentInstances");
    p.append({QStringLiteral("max instances"),
              maxInstances == 0 ? QStringLiteral("unlimited") : QString::number(maxInstances)});
    const qint64 retries = number(limits, "retryCount");
    p.append({QStringLiteral("retries"), retries == 0
                                             ? QStringLiteral("0")
                                             : QStringLiteral("%1 (first after %2 ms, doubling)")
                                                   .arg(retries)
                                                   .arg(number(limits, "retryBackoffMs"))});
    const qint64 timeout = number(limits, "timeoutMs");
    p.append({QStringLiteral("timeout"),
              timeout == 0 ? QStringLiteral("none") : QStringLiteral("%1 ms").arg(timeout)});
    p.append({QStringLiteral("version"), QString::number(number(job, "version"))});
    p.append({QStringLiteral("created"), formatTime(number(job, "createdAtMs"), zone)});
    p.append({QStringLiteral("updated"), formatTime(number(job, "updatedAtMs"), zone)});
    return keyValueLines(p);
}

QString jobTable(const QJsonArray &jobs, const QTimeZone &zone)
{
    Table t({QStringLiteral("ID"), QStringLiteral("NAME"), QStringLiteral("ENABLED"),
             QStringLiteral("TIMING"), QStringLiteral("ZONE"), QStringLiteral("NEXT FIRE"),
             QStringLiteral("PROCESSOR")});
    t.alignRight(0);
    for (const QJsonValue &v : jobs) {
        const QJsonObject job = v.toObject();
        const QString tz = text(object(job, "timing"), "timeZone");
        t.addRow({QString::number(number(job, "id")), text(job, "name"),
                  yesNo(job.value(QStringLiteral("enabled")).toBool()), timingSummary(job),
                  tz.isEmpty() ? QStringLiteral("-") : tz,
                  formatTime(number(job, "nextFireMs"), zone),
                  text(object(job, "processor"), "type")});
    }
    return t.toString();
}

QString jobStateLine(const QJsonObject &job, const QTimeZone &zone)
{
    const bool enabled = job.value(QStringLiteral("enabled")).toBool();
    QString line = QStringLiteral("job %1 (%2) %3")
                       .arg(number(job, "id"))
                       .arg(text(job, "name"),
                            enabled ? QStringLiteral("enabled") : QStringLiteral("disabled"));
    if (enabled && number(job, "nextFireMs") > 0)
        line += QStringLiteral("; next fire %1").arg(formatTime(number(job, "nextFireMs"), zone));
    return line + u'\n';
}

QString instanceTable(const QJsonArray &instances, const QTimeZone &zone)
{
    Table t({QStringLiteral("ID"), QStringLiteral("JOB"), QStringLiteral("STATUS"),
             QStringLiteral("TRIGGER"), QStringLiteral("ATTEMPT"), QStringLiteral("WORKER"),
             QStringLiteral("CREATED"), QStringLiteral("FINISHED"), QStringLiteral("REASON")});
    t.alignRight(0);
    t.alignRight(4);
    for (const QJsonValue &v : instances) {
        const QJsonObject i = v.toObject();
        const QString worker = text(i, "worker");
        t.addRow({QString::number(number(i, "id")), jobLabel(i), text(i, "status"),
                  text(i, "trigger"), attemptText(i),
                  worker.isEmpty() ? QStringLiteral("-") : worker,
                  formatTime(number(i, "createdAtMs"), zone),
                  formatTime(number(i, "finishedAtMs"), zone), text(i, "reason")});
    }
    return t.toString();
}

QString instanceDetail(const QJsonObject &reply, const QTimeZone &zone)
{
    const QJsonObject i = object(reply, "instance");
    Pairs p;
    p.append({QStringLiteral("id"), QString::number(number(i, "id"))});
    p.append({QStringLiteral("job"),
              QStringLiteral("%1 (id %2)").arg(jobLabel(i)).arg(number(i, "jobId"))});
    p.append({QStringLiteral("status"), text(i, "status")});
    if (!text(i, "reason").isEmpty())
        p.append({QStringLiteral("reason"), text(i, "reason")});
    p.append({QStringLiteral("trigger"), text(i, "trigger")});
    if (number(i, "fireTimeMs"))
        p.append({QStringLiteral("fire time"), formatTime(number(i, "fireTimeMs"), zone)});
    p.append({QStringLiteral("attempt"), attemptText(i)});
    if (number(i, "nextAttemptAtMs"))
        p.append({QStringLiteral("next attempt"), formatTime(number(i, "nextAttemptAtMs"), zone)});
    p.append({QStringLiteral("worker"),
              text(i, "worker").isEmpty() ? QStringLiteral("-") : text(i, "worker")});
    if (!text(i, "params").isEmpty())
        p.append({QStringLiteral("params"), text(i, "params")});
    if (!text(i, "result").isEmpty())
        p.append({QStringLiteral("result"), text(i, "result")});
    p.append({QStringLiteral("created"), formatTime(number(i, "createdAtMs"), zone)});
    p.append({QStringLiteral("dispatched"), formatTime(number(i, "dispatchedAtMs"), zone)});
    p.append({QStringLiteral("started"), formatTime(number(i, "startedAtMs"), zone)});
    p.append({QStringLiteral("finished"), formatTime(number(i, "finishedAtMs"), zone)});
    QString out = keyValueLines(p);

    const QJsonArray attempts = reply.value(QStringLiteral("attempts")).toArray();
    if (attempts.isEmpty())
        return out + QStringLiteral("\nAttempts: none finished yet\n");
    Table t({QStringLiteral("ATTEMPT"), QStringLiteral("STATUS"), QStringLiteral("WORKER"),
             QStringLiteral("STARTED"), QStringLiteral("FINISHED"), QStringLiteral("REASON")});
    t.alignRight(0);
    for (const QJsonValue &v : attempts) {
        const QJsonObject a = v.toObject();
        t.addRow({QString::number(number(a, "attempt")), text(a, "status"),
                  text(a, "worker").isEmpty() ? QStringLiteral("-") : text(a, "worker"),
                  formatTime(number(a, "startedAtMs"), zone),
                  formatTime(number(a, "finishedAtMs"), zone), text(a, "reason")});
    }
    return out + QStringLiteral("\nAttempts:\n") + t.toString();
}

QString logLineText(const QJsonObject &line, const QTimeZone &zone)
{
    const qint64 task = number(line, "task");
    return QStringLiteral("%1 %2 %3%4\n")
        .arg(formatTime(number(line, "timeMs"), zone), text(line, "stream"),
             task > 0 ? QStringLiteral("[task %1] ").arg(task) : QString(), text(line, "text"));
}

QString firstLine(const QString &text, int maxChars)
{
    const QString trimmed = text.trimmed();
    qsizetype end = trimmed.indexOf(u'\n');
    QString line = (end < 0 ? trimmed : trimmed.left(end)).trimmed();
    const bool more = end >= 0;
    if (line.size() > maxChars)
        return line.left(std::max(0, maxChars - 3)) + QStringLiteral("...");
    if (more)
        line += QStringLiteral(" ...");
    return line;
}

namespace {

Table taskTableOf(const QJsonArray &tasks, const QList<qsizetype> &minimumWidths)
{
    Table t({QStringLiteral("TASK"), QStringLiteral("NAME"), QStringLiteral("ROLE"),
             QStringLiteral("STATUS"), QStringLiteral("RUNS"), QStringLiteral("WORKER"),
             QStringLiteral("ADDRESS"), QStringLiteral("RESULT")});
    t.alignRight(0);
    t.alignRight(4);
    t.setMinimumWidths(minimumWidths);
    const QString none = QStringLiteral("-");
    for (const QJsonValue &v : tasks) {
        const QJsonObject task = v.toObject();
        const QString worker = text(task, "worker");
        const QString address = text(task, "address");
        t.addRow({QString::number(number(task, "task")), text(task, "name"), text(task, "role"),
                  text(task, "status"), QString::number(number(task, "runs")),
                  worker.isEmpty() ? none : worker, address.isEmpty() ? none : address,
                  firstLine(text(task, "result"), kTaskResultWidth)});
    }
    return t;
}

} // namespace

QString taskTablePage(const QJsonArray &tasks, QList<qsizetype> &widths)
{
    const bool firstPage = widths.isEmpty();
    if (firstPage) {
        // ROLE and STATUS have known longest values (POST_PROCESS, WAITING_DISPATCH): give them
        // that width from the start, so later pages line up in those columns at least.
        widths = {0, 0, qsizetype(12), qsizetype(16)};
    }
    const Table t = taskTableOf(tasks, widths);
    widths = t.columnWidths();
    return t.toString(firstPage);
}

QString taskTable(const QJsonArray &tasks)
{
    return taskTableOf(tasks, {}).toString();
}

QString serverInfo(const QJsonObject &info, const QTimeZone &zone)
{
    return keyValueLines({
        {QStringLiteral("server id"), text(info, "serverId")},
        {QStringLiteral("version"), text(info, "version")},
        {QStringLiteral("time"), formatTime(number(info, "timeMs"), zone)},
        {QStringLiteral("time zone"), text(info, "timeZone")},
        {QStringLiteral("jobs"), QString::number(number(info, "jobs"))},
        {QStringLiteral("active instances"), QString::number(number(info, "activeInstances"))},
    });
}

QString ageText(qint64 thenMs, qint64 nowMs)
{
    if (thenMs <= 0)
        return QStringLiteral("-");
    const qint64 ms = std::max<qint64>(0, nowMs - thenMs);
    if (ms < 10'000)
        return QStringLiteral("%1 s ago").arg(QString::number(double(ms) / 1000.0, 'f', 1));
    if (ms < 120'000)
        return QStringLiteral("%1 s ago").arg(ms / 1000);
    if (ms < 2 * 3600'000)
        return QStringLiteral("%1 min ago").arg(ms / 60'000);
    if (ms < 48 * 3600'000)
        return QStringLiteral("%1 h ago").arg(ms / 3600'000);
    return QStringLiteral("%1 d ago").arg(ms / (24 * 3600'000));
}

QString sizeText(qint64 mb)
{
    if (mb < 1024)
        return QStringLiteral("%1 MB").arg(mb);
    if (mb < 1024 * 1024)
        return QStringLiteral("%1 GB").arg(QString::number(double(mb) / 1024.0, 'f', 1));
    return QStringLiteral("%1 TB").arg(QString::number(double(mb) / (1024.0 * 1024.0), 'f', 1));
}

QString appTable(const QJsonArray &apps)
{
    Table t({QStringLiteral("NAME"), QStringLiteral("ALIVE WORKERS")});
    t.alignRight(1);
    for (const QJsonValue &v : apps) {
        const QJsonObject app = v.toObject();
        t.addRow({text(app, "name"), QString::number(number(app, "aliveWorkers"))});
    }
    return t.toString();
}

QString appSecretNote(const QJsonObject &reply, bool created)
{
    const QString name = text(reply, "name");
    if (created) {
        return QStringLiteral(
                   "created app \"%1\"; its secret (on stdout) is shown only this once.\n"
                   "Save it in a file only you can read (mode 0600) and start workers "
                   "with\n  kairos-worker --app %1 --secret-file FILE ...\n")
            .arg(name);
    }
    return QStringLiteral("app \"%1\" has a new secret (on stdout), shown only this once.\n"
                          "Connected workers stay connected; put the new secret in their "
                          "--secret-file\nbefore they log in again.\n")
        .arg(name);
}

QString workerTable(const QJsonArray &workers, qint64 nowMs)
{
    Table t({QStringLiteral("ID"), QStringLiteral("APP"), QStringLiteral("ADDRESS"),
             QStringLiteral("STATE"), QStringLiteral("LAST HEARTBEAT"), QStringLiteral("LOAD"),
             QStringLiteral("MEM FREE"), QStringLiteral("DISK FREE"), QStringLiteral("RUNNING"),
             QStringLiteral("TAGS")});
    for (int column : {5, 6, 7, 8})
        t.alignRight(column);
    const QString none = QStringLiteral("-");
    for (const QJsonValue &v : workers) {
        const QJsonObject w = v.toObject();
        const QJsonObject m = object(w, "metrics");
        const double load = m.value(QStringLiteral("load1")).toDouble();
        const qint64 cpus = number(m, "cpus");
        // Memory and disk figures mean something only from a worker that reports its machine.
        const bool reportsMachine = number(m, "memTotalMb") > 0;
        const qint64 capacity = number(w, "capacity");
        QString running = QString::number(number(m, "running"));
        if (capacity > 0)
            running += u'/' + QString::number(capacity);
        QStringList tags;
        for (const QJsonValue &tag : w.value(QStringLiteral("tags")).toArray())
            tags << tag.toString();
        t.addRow(
            {text(w, "id"), text(w, "app"),
             text(w, "address").isEmpty() ? none : text(w, "address"), text(w, "state"),
             ageText(number(w, "lastHeartbeatMs"), nowMs),
             cpus > 0 ? QStringLiteral("%1/%2").arg(QString::number(load, 'f', 2)).arg(cpus) : none,
             reportsMachine ? sizeText(number(m, "memFreeMb")) : none,
             reportsMachine ? sizeText(number(m, "diskFreeMb")) : none, running,
             tags.isEmpty() ? none : tags.join(u',')});
    }
    return t.toString();
}

} // namespace kairos::cli
