#include "container_views.h"

#include "table.h"
#include "views.h"

namespace kairos::cli {
namespace {

QString text(const QJsonObject &o, const char *key)
{
    return o.value(QLatin1String(key)).toString();
}
qint64 number(const QJsonObject &o, const char *key)
{
    return o.value(QLatin1String(key)).toInteger();
}
QStringList strings(const QJsonValue &v)
{
    QStringList out;
    for (const QJsonValue &item : v.toArray())
        out << item.toString();
    return out;
}
QString orDash(const QString &s)
{
    return s.isEmpty() ? QStringLiteral("-") : s;
}

// "hello#greet" style job list: "nightly (greet), 5 other (noop)".
QString jobsText(const QJsonArray &jobs)
{
    QStringList out;
    for (const QJsonValue &v : jobs) {
        const QJsonObject job = v.toObject();
        out << QStringLiteral("%1 (%2)").arg(text(job, "name"), text(job, "processor"));
    }
    return out.join(QStringLiteral(", "));
}

QString processorsText(const QJsonObject &version)
{
    QStringList out;
    for (const QJsonValue &v : version.value(QStringLiteral("processors")).toArray())
        out << text(v.toObject(), "name");
    return out.join(QStringLiteral(", "));
}

QString versionOf(const QJsonValue &v)
{
    if (!v.isObject())
        return QStringLiteral("-");
    return versionText(text(v.toObject(), "version"), text(v.toObject(), "sha256"));
}

} // namespace

QString bytesText(qint64 bytes)
{
    if (bytes < 1024)
        return QStringLiteral("%1 B").arg(bytes);
    const char *units[] = {"KiB", "MiB", "GiB", "TiB"};
    double value = double(bytes) / 1024.0;
    int unit = 0;
    while (value >= 1024.0 && unit < 3) {
        value /= 1024.0;
        ++unit;
    }
    return QStringLiteral("%1 %2").arg(QString::number(value, 'f', 1), QLatin1String(units[unit]));
}

QString progressText(qint64 bytes, qint64 total)
{
    if (total <= 0)
        return bytesText(bytes);
    if (total < 1024)
        return QStringLiteral("%1/%2 B").arg(bytes).arg(total);
    // Both in the unit of the total, so "0.5/5.0 MiB" reads as a fraction.
    const char *units[] = {"KiB", "MiB", "GiB", "TiB"};
    double divisor = 1024.0;
    int unit = 0;
    while (double(total) / divisor >= 1024.0 && unit < 3) {
        divisor *= 1024.0;
        ++unit;
    }
    return QStringLiteral("%1/%2 %3")
        .arg(QString::number(double(bytes) / divisor, 'f', 1),
             QString::number(double(total) / divisor, 'f', 1), QLatin1String(units[unit]));
}

QString shortSha(const QString &sha256)
{
    return sha256.left(8);
}

QString versionText(const QString &label, const QString &sha256)
{
    if (sha256.isEmpty())
        return QStringLiteral("-");
    if (label.isEmpty())
        return shortSha(sha256);
    return QStringLiteral("%1 (%2)").arg(label, shortSha(sha256));
}

QString containerTable(const QJsonArray &containers)
{
    Table t({QStringLiteral("NAME"), QStringLiteral("DEFAULT"), QStringLiteral("ISOLATION"),
             QStringLiteral("VERSIONS"), QStringLiteral("NEWEST"), QStringLiteral("PINS"),
             QStringLiteral("JOBS")});
    t.alignRight(3);
    for (const QJsonValue &v : containers) {
        const QJsonObject c = v.toObject();
        QStringList pins;
        const QJsonObject pinMap = c.value(QStringLiteral("pins")).toObject();
        for (auto it = pinMap.begin(); it != pinMap.end(); ++it)
            pins << QStringLiteral("%1=%2").arg(it.key(), shortSha(it.value().toString()));
        t.addRow({text(c, "name"), versionOf(c.value(QStringLiteral("defaultVersion"))),
                  orDash(text(c, "isolation")), QString::number(number(c, "versions")),
                  versionOf(c.value(QStringLiteral("newest"))), orDash(pins.join(u',')),
                  orDash(jobsText(c.value(QStringLiteral("jobs")).toArray()))});
    }
    return t.toString();
}

QString containerVersionsText(const QJsonObject &reply, const QTimeZone &zone)
{
    Table t({QStringLiteral("SHA256"), QStringLiteral("VERSION"), QStringLiteral("SIZE"),
             QStringLiteral("UPLOADED"), QStringLiteral("BY"), QStringLiteral("PROCESSORS"),
             QStringLiteral("DEPLOYED TO"), QStringLiteral("MISSING")});
    t.alignRight(2);
    QJsonArray jobs;
    for (const QJsonValue &v : reply.value(QStringLiteral("versions")).toArray()) {
        const QJsonObject version = v.toObject();
        jobs = version.value(QStringLiteral("jobs")).toArray();
        QStringList deployedTo = strings(version.value(QStringLiteral("deployedTo")));
        if (!deployedTo.isEmpty() && deployedTo.first() == QLatin1String("*"))
            deployedTo.first() = QStringLiteral("* (default)");
        t.addRow(
            {text(version, "sha256").left(12), orDash(text(version, "version")),
             bytesText(number(version, "sizeBytes")),
             formatTime(number(version, "uploadedAtMs"), zone), orDash(text(version, "uploadedBy")),
             orDash(processorsText(version)), orDash(deployedTo.join(QStringLiteral(", "))),
             orDash(strings(version.value(QStringLiteral("missing"))).join(QStringLiteral(", ")))});
    }
    QString out = t.toString();
    const QString name = text(reply, "name");
    out += jobs.isEmpty() ? QStringLiteral("\nNo job uses %1.\n").arg(name)
                          : QStringLiteral("\nJobs using %1: %2\n").arg(name, jobsText(jobs));
    return out;
}

QString containerStatusTable(const QJsonArray &states, qint64 nowMs)
{
    Table t({QStringLiteral("WORKER"), QStringLiteral("CONTAINER"), QStringLiteral("ACTIVE"),
             QStringLiteral("DESIRED"), QStringLiteral("CURRENT"), QStringLiteral("STAGE"),
             QStringLiteral("PROGRESS"), QStringLiteral("UPDATED"), QStringLiteral("REASON")});
    for (const QJsonValue &v : states) {
        const QJsonObject s = v.toObject();
        const QString stage = text(s, "stage");
        const bool current = s.value(QStringLiteral("current")).toBool();
        QString progress = QStringLiteral("-");
        if (stage == QLatin1String("DOWNLOADING"))
            progress = progressText(number(s, "bytes"), number(s, "total"));
        t.addRow(
            {text(s, "worker"), text(s, "container"),
             versionText(text(s, "activeVersion"), text(s, "activeSha256")),
             versionText(text(s, "desiredVersion"), text(s, "desiredSha256")),
             current ? QStringLiteral("yes") : QStringLiteral("NO"),
             QStringLiteral("%1 %2").arg(stage, versionText(text(s, "version"), text(s, "sha256"))),
             progress, ageText(number(s, "atMs"), nowMs), text(s, "reason")});
    }
    return t.toString();
}

int notCurrentCount(const QJsonArray &states)
{
    int n = 0;
    for (const QJsonValue &v : states) {
        if (!v.toObject().value(QStringLiteral("current")).toBool())
            ++n;
    }
    return n;
}

QString uploadedVersionText(const QJsonObject &version, const QTimeZone &zone)
{
    QList<std::pair<QString, QString>> p;
    p.append({QStringLiteral("status"),
              version.value(QStringLiteral("existing")).toBool()
                  ? QStringLiteral("already uploaded (same SHA-256): nothing changed")
                  : QStringLiteral("uploaded")});
    p.append({QStringLiteral("container"), text(version, "name")});
    p.append({QStringLiteral("version"), orDash(text(version, "version"))});
    p.append({QStringLiteral("sha256"), text(version, "sha256")});
    p.append({QStringLiteral("size"), bytesText(number(version, "sizeBytes"))});
    p.append({QStringLiteral("sdk"), QString::number(number(version, "sdk"))});
    QStringList processors;
    for (const QJsonValue &v : version.value(QStringLiteral("processors")).toArray()) {
        const QJsonObject proc = v.toObject();
        QString line = QStringLiteral("%1 (%2)").arg(text(proc, "name"), text(proc, "shape"));
        if (!text(proc, "description").isEmpty())
            line += QStringLiteral(": ") + text(proc, "description");
        processors << line;
    }
    p.append({QStringLiteral("processors"), orDash(processors.join(u'\n'))});
    QString uploaded = formatTime(number(version, "uploadedAtMs"), zone);
    if (!text(version, "uploadedBy").isEmpty())
        uploaded += QStringLiteral(" by ") + text(version, "uploadedBy");
    p.append({QStringLiteral("uploaded"), uploaded});
    return keyValueLines(p);
}

QString deployedLine(const QJsonObject &reply)
{
    const QJsonObject version = reply.value(QStringLiteral("version")).toObject();
    const QStringList workers = strings(reply.value(QStringLiteral("workers")));
    return QStringLiteral("deploy %1: %2 %3, isolation %4, %5\n")
        .arg(number(reply, "deployId"))
        .arg(text(version, "name"), versionText(text(version, "version"), text(version, "sha256")),
             orDash(text(reply, "isolation")),
             workers.isEmpty()
                 ? QStringLiteral("no worker is connected now (each gets it when it "
                                  "connects)")
                 : QStringLiteral("sent to %1").arg(workers.join(QStringLiteral(", "))));
}

QString stageLine(const QJsonObject &stage, int workerWidth, const QString &versionLabel)
{
    const QString name = text(stage, "stage");
    QString detail;
    if (name == QLatin1String("DOWNLOADING"))
        detail = progressText(number(stage, "bytes"), number(stage, "total"));
    else if (name == QLatin1String("READY"))
        detail =
            QStringLiteral("%1 %2 is active")
                .arg(text(stage, "container"), versionText(versionLabel, text(stage, "sha256")));
    if (!text(stage, "reason").isEmpty())
        detail = detail.isEmpty() ? text(stage, "reason")
                                  : detail + QStringLiteral(": ") + text(stage, "reason");
    QString line = text(stage, "worker").leftJustified(workerWidth) + QStringLiteral("  ")
                   + name.leftJustified(11) + QStringLiteral("  ") + detail;
    while (line.endsWith(u' '))
        line.chop(1);
    return line + u'\n';
}

} // namespace kairos::cli
