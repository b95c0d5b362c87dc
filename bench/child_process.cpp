#include "child_process.h"

#include <QEventLoop>
#include <QFile>
#include <QTimer>

namespace kairos::bench {

bool pumpUntil(const std::function<bool()> &pred, int timeoutMs, int pollMs)
{
    if (pred())
        return true;
    QEventLoop loop;
    QTimer tick;
    tick.setInterval(pollMs);
    QObject::connect(&tick, &QTimer::timeout, &loop, [&] {
        if (pred())
            loop.quit();
    });
    QTimer deadline;
    deadline.setSingleShot(true);
    QObject::connect(&deadline, &QTimer::timeout, &loop, &QEventLoop::quit);
    tick.start();
    deadline.start(timeoutMs);
    loop.exec();
    return pred();
}

void pumpFor(int ms)
{
    QEventLoop loop;
    QTimer timer;
    timer.setSingleShot(true);
    timer.setTimerType(Qt::PreciseTimer);
    QObject::connect(&timer, &QTimer::timeout, &loop, &QEventLoop::quit);
    timer.start(ms);
    loop.exec();
}

ChildProcess::ChildProcess(QString name)
    : m_name(std::move(name))
{}

ChildProcess::~ChildProcess()
{
    if (isRunning()) {
        m_proc->kill();
        m_proc->waitForFinished(5000);
    }
}

Status ChildProcess::start(const QString &program, const QStringList &arguments,
                           const QString &stderrFile)
{
    m_proc = std::make_unique<QProcess>();
    m_out.clear();
    m_stderrFile = stderrFile;
    m_proc->setStandardErrorFile(stderrFile);
    m_proc->setStandardInputFile(QProcess::nullDevice());
    QProcess *proc = m_proc.get();
    QObject::connect(proc, &QProcess::readyReadStandardOutput, proc,
                     [this, proc] { m_out += proc->readAllStandardOutput(); });
    QObject::connect(proc, &QProcess::finished, proc,
                     [this, proc] { m_out += proc->readAllStandardOutput(); });
    proc->start(program, arguments);
    if (!proc->waitForStarted(10000))
        return makeError(
            QStringLiteral("%1: cannot start %2: %3").arg(m_name, program, proc->errorString()));
    return {};
}

Status ChildProcess::waitForOutput(const QString &text, int timeoutMs)
{
    const QByteArray needle = text.toUtf8();
    pumpUntil([&] { return m_out.contains(needle) || !isRunning(); }, timeoutMs, 10);
    if (m_out.contains(needle))
        return {};
    const QString why =
        isRunning()
            ? QStringLiteral("printed no \"%1\" within %2 s").arg(text).arg(timeoutMs / 1000)
            : QStringLiteral("exited (code %1) before printing \"%2\"")
                  .arg(m_proc ? m_proc->exitCode() : -1)
                  .arg(text);
    return makeError(QStringLiteral("%1 %2; stderr: %3").arg(m_name, why, stderrTail()));
}

bool ChildProcess::stop(int timeoutMs)
{
    if (!m_proc)
        return false;
    if (isRunning()) {
        m_proc->terminate();
        if (!pumpUntil([&] { return !isRunning(); }, timeoutMs, 10)) {
            m_proc->kill();
            m_proc->waitForFinished(5000);
            return false;
        }
    }
    return m_proc->exitStatus() == QProcess::NormalExit && m_proc->exitCode() == 0;
}

bool ChildProcess::isRunning() const
{
    return m_proc && m_proc->state() != QProcess::NotRunning;
}

qint64 ChildProcess::pid() const
{
    return m_proc ? m_proc->processId() : 0;
}

QString ChildProcess::stderrTail(int maxChars) const
{
    QFile f(m_stderrFile);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    const qint64 size = f.size();
    if (size > maxChars)
        f.seek(size - maxChars);
    return QString::fromUtf8(f.readAll()).trimmed();
}

} // namespace kairos::bench
