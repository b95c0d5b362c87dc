#include "worker_config.h"

#include <QCoreApplication>
#include <QDir>
#include <QHostInfo>
#include <QThread>

namespace kairos::agent {

QString ServerAddress::toString() const
{
    if (host.contains(u':'))
        return QStringLiteral("[%1]:%2").arg(host).arg(port);
    return QStringLiteral("%1:%2").arg(host).arg(port);
}

QString toString(LeaseLossPolicy policy)
{
    switch (policy) {
    case LeaseLossPolicy::Kill:
        return QStringLiteral("kill");
    case LeaseLossPolicy::Finish:
        return QStringLiteral("finish");
    }
    return QStringLiteral("kill");
}

std::optional<LeaseLossPolicy> leaseLossPolicyFromString(const QString &text)
{
    const QString t = text.trimmed().toLower();
    if (t == u"kill")
        return LeaseLossPolicy::Kill;
    if (t == u"finish")
        return LeaseLossPolicy::Finish;
    return std::nullopt;
}

int WorkerConfig::defaultThreads()
{
    return std::clamp(QThread::idealThreadCount(), 1, 4096);
}

QString WorkerConfig::defaultWorkerId()
{
    return QStringLiteral("%1:%2").arg(defaultAdvertise()).arg(QCoreApplication::applicationPid());
}

QString WorkerConfig::defaultAdvertise()
{
    const QString host = QHostInfo::localHostName();
    return host.isEmpty() ? QStringLiteral("localhost") : host;
}

QString WorkerConfig::defaultWorkDir(const QString &workerId)
{
    QString safe = workerId;
    for (QChar &c : safe) {
        const bool ok = (c >= u'a' && c <= u'z') || (c >= u'A' && c <= u'Z')
                        || (c >= u'0' && c <= u'9') || c == u'.' || c == u'_' || c == u'-';
        if (!ok)
            c = u'_';
    }
    return QDir(QDir::tempPath()).filePath(QStringLiteral("kairos-worker-") + safe);
}

} // namespace kairos::agent
