#pragma once
// Labels: how engine values read in the console — translated names of statuses, triggers,
// timing types and processors, the colour of a status, and time stamps. One place, so every
// view says "Succeeded" (or "成功") the same way and a translator finds each word once.

#include <core/types.h>

#include <QColor>
#include <QCoreApplication>
#include <QString>

namespace kairos::ui {

struct Labels {
    Q_DECLARE_TR_FUNCTIONS(kairos::ui::Labels)

public:
    static QString status(InstanceStatus s);
    static QString trigger(TriggerKind t);
    static QString timingType(TimingType t);
    static QString processor(ProcessorKind p);
    // "2024-05-01 13:45:10" in local time; empty for 0 (not happened yet).
    static QString time(qint64 epochMs);
    // The job's next fire for a table cell: a time, or a dash when nothing is planned.
    static QString nextFire(qint64 epochMs);
    // Text colour of a status: succeeded green, failed/timed out red, running blue, skipped
    // grey; an invalid colour means "the view's default".
    static QColor statusColor(InstanceStatus s);
};

} // namespace kairos::ui
