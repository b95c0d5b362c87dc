#pragma once
// Helpers shared by the worker tests: process liveness and process groups from /proc (a zombie
// counts as dead: reparented orphans may never be reaped inside a container), pid files, and a
// recorder that runs one ProcessorRun and keeps what it said.

#include <worker/processor.h>

#include <QDir>
#include <QFile>
#include <QList>
#include <QObject>
#include <QString>

namespace kairos::test {

inline bool processAlive(qint64 pid)
{
    if (pid <= 0)
        return false;
    QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!stat.open(QIODevice::ReadOnly))
        return false;
    const QByteArray line = stat.readAll();
    const qsizetype close = line.lastIndexOf(')');
    if (close < 0 || close + 2 >= line.size())
        return false;
    const char state = line.at(close + 2);
    return state != 'Z' && state != 'X';
}

// The process group of a live process (field 5 of /proc/PID/stat), or 0 when it is gone.
inline qint64 processGroupOf(qint64 pid)
{
    QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!stat.open(QIODevice::ReadOnly))
        return 0;
    const QByteArray line = stat.readAll();
    const qsizetype close = line.lastIndexOf(')');
    if (close < 0)
        return 0;
    // ") S PPID PGRP ...": comm (before the ')') may contain spaces.
    const QList<QByteArray> fields = line.mid(close + 2).split(' ');
    return fields.size() > 2 ? fields.at(2).toLongLong() : 0;
}

// Pids of the live (not zombie) members of process group `pgid`, from /proc. kill(-pgid, 0)
// cannot answer this: it also counts zombies, and reparented orphans may never be reaped here.
inline QList<qint64> liveGroupMembers(qint64 pgid)
{
    QList<qint64> members;
    const QStringList entries = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs);
    for (const QString &entry : entries) {
        bool isPid = false;
        const qint64 pid = entry.toLongLong(&isPid);
        if (isPid && processGroupOf(pid) == pgid && processAlive(pid))
            members << pid;
    }
    return members;
}

// The pid written to `path` by a script, or 0 while the file is missing or incomplete.
inline qint64 readPid(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return 0;
    const QByteArray text = f.readAll();
    if (!text.endsWith('\n'))
        return 0;
    bool ok = false;
    const qint64 pid = text.trimmed().toLongLong(&ok);
    return ok ? pid : 0;
}

struct RecordedLine {
    LogStream stream;
    QString text;
};

// Connects to a run before it starts and records its log lines and every `finished`.
class RunRecorder : public QObject {
    Q_OBJECT
public:
    explicit RunRecorder(ProcessorRun *run)
    {
        connect(run, &ProcessorRun::logLine, this, [this](LogStream s, const QString &t) {
            lines.append({s, t});
        });
        connect(run, &ProcessorRun::finished, this, [this](InstanceStatus s, const QString &r) {
            ++finishCount;
            status = s;
            result = r;
        });
    }

    QStringList texts(LogStream stream) const
    {
        QStringList out;
        for (const RecordedLine &l : lines) {
            if (l.stream == stream)
                out << l.text;
        }
        return out;
    }

    QList<RecordedLine> lines;
    int finishCount = 0;
    InstanceStatus status = InstanceStatus::Running;
    QString result;
};

} // namespace kairos::test
