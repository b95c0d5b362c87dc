#include "cron_command.h"

#include <core/clock.h>
#include <timing/cronnext.h>
#include <timing/zoneclock.h>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <istream>
#include <ostream>
#include <string>

namespace kairos::cli {

int runCronNext(const Action &action, bool json, QTextStream &out, QTextStream &err)
{
    const qint64 from = action.fromMs.value_or(nowMs());
    const auto times = nextFireTimes(action.cronExpression, action.timeZone, from, action.count);
    if (!times.ok()) {
        err << "kairosctl: " << times.error() << '\n';
        err.flush();
        return 1;
    }
    // nextFireTimes has accepted the zone, so it is valid (or empty: the system zone).
    const QTimeZone zone = action.timeZone.isEmpty() ? QTimeZone::systemTimeZone()
                                                     : QTimeZone(action.timeZone.toUtf8());
    if (json) {
        QJsonArray list;
        for (const qint64 t : *times) {
            list.append(QJsonObject{{QStringLiteral("epochMs"), t},
                                    {QStringLiteral("local"), formatLocalIso(t, zone)}});
        }
        const QJsonObject doc{{QStringLiteral("expression"), action.cronExpression},
                              {QStringLiteral("timeZone"), QString::fromUtf8(zone.id())},
                              {QStringLiteral("fromMs"), from},
                              {QStringLiteral("times"), list}};
        out << QJsonDocument(doc).toJson(QJsonDocument::Indented);
    } else {
        for (const qint64 t : *times)
            out << t << '\t' << formatLocalIso(t, zone) << '\n';
    }
    out.flush();
    return 0;
}

int runCronBatch(int count, std::istream &in, std::ostream &out)
{
    std::string line;
    while (std::getline(in, line)) {
        const QString answer = cronBatchLine(QString::fromStdString(line), count);
        out << answer.toStdString() << '\n' << std::flush;
    }
    return 0;
}

} // namespace kairos::cli
