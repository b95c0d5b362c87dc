#include "labels.h"

#include <QDateTime>

namespace kairos::ui {

QString Labels::status(InstanceStatus s)
{
    switch (s) {
    case InstanceStatus::WaitingDispatch:
        return tr("Waiting dispatch");
    case InstanceStatus::WaitingWorker:
        return tr("Waiting for worker");
    case InstanceStatus::Dispatched:
        return tr("Dispatched");
    case InstanceStatus::Running:
        return tr("Running");
    case InstanceStatus::Succeeded:
        return tr("Succeeded");
    case InstanceStatus::Failed:
        return tr("Failed");
    case InstanceStatus::TimedOut:
        return tr("Timed out");
    case InstanceStatus::Canceled:
        return tr("Canceled");
    case InstanceStatus::Skipped:
        return tr("Skipped");
    }
    return toString(s);
}

QString Labels::trigger(TriggerKind t)
{
    switch (t) {
    case TriggerKind::Scheduled:
        return tr("Scheduled");
    case TriggerKind::Api:
        return tr("API", "trigger: started through the API or by hand");
    case TriggerKind::Misfire:
        return tr("Misfire");
    case TriggerKind::Workflow:
        return tr("Workflow");
    }
    return toString(t);
}

QString Labels::timingType(TimingType t)
{
    switch (t) {
    case TimingType::Api:
        return tr("API only", "timing type: runs only when asked");
    case TimingType::Cron:
        return tr("CRON");
    case TimingType::FixedRate:
        return tr("Fixed rate");
    case TimingType::FixedDelay:
        return tr("Fixed delay");
    case TimingType::OneShot:
        return tr("One shot");
    }
    return toString(t);
}

QString Labels::processor(ProcessorKind p)
{
    switch (p) {
    case ProcessorKind::Shell:
        return tr("Shell");
    case ProcessorKind::Http:
        return tr("HTTP");
    case ProcessorKind::Echo:
        return tr("Echo");
    case ProcessorKind::Sleep:
        return tr("Sleep");
    case ProcessorKind::Container:
        return tr("Container");
    }
    return toString(p);
}

QString Labels::time(qint64 epochMs)
{
    if (epochMs <= 0)
        return {};
    return QDateTime::fromMSecsSinceEpoch(epochMs).toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"));
}

QString Labels::nextFire(qint64 epochMs)
{
    return epochMs > 0 ? time(epochMs) : QStringLiteral("—"); // nothing planned
}

QColor Labels::statusColor(InstanceStatus s)
{
    // Mid-tone colours stay readable on light and on dark palettes.
    switch (s) {
    case InstanceStatus::Succeeded:
        return QColor(0x2e, 0x7d, 0x32);
    case InstanceStatus::Failed:
    case InstanceStatus::TimedOut:
        return QColor(0xc6, 0x28, 0x28);
    case InstanceStatus::Running:
    case InstanceStatus::Dispatched:
        return QColor(0x15, 0x65, 0xc0);
    case InstanceStatus::Skipped:
    case InstanceStatus::Canceled:
        return QColor(0x75, 0x75, 0x75);
    case InstanceStatus::WaitingWorker:
        return QColor(0xb2, 0x6a, 0x00);
    case InstanceStatus::WaitingDispatch:
        break;
    }
    return {};
}

} // namespace kairos::ui
