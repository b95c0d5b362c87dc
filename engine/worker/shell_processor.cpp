#include "shell_processor.h"

#include "config_fields.h"
#include "log.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QStandardPaths>
#include <QTemporaryFile>

#include <csignal>
#include <cstring>

#include <unistd.h>

namespace kairos {

namespace {

constexpr qsizetype kMaxResultChars = 4096;
const QString kExecName = QStringLiteral("kairos-exec");

bool isExecutableFile(const QString &path)
{
    const QFileInfo info(path);
    return info.isFile() && info.isExecutable();
}

// A JSON value as a script wants to see it: strings bare, everything else as compact JSON.
QString envValue(const QJsonValue &v)
{
    if (v.isString())
        return v.toString();
    if (v.isNull() || v.isUndefined())
        return QString();
    const QByteArray json = QJsonDocument(QJsonArray{v}).toJson(QJsonDocument::Compact);
    return QString::fromUtf8(json.mid(1, json.size() - 2)); // strip the array's brackets
}

void addParamVariables(QProcessEnvironment &env, const QString &params)
{
    if (params.isEmpty())
        return;
    const QJsonDocument doc = QJsonDocument::fromJson(params.toUtf8());
    if (!doc.isObject())
        return; // free-text params are only available whole
    const QJsonObject object = doc.object();
    for (auto it = object.begin(); it != object.end(); ++it)
        env.insert(paramVariableName(it.key()), envValue(it.value()));
}

} // namespace

Result<ShellConfig> parseShellConfig(const QJsonObject &config)
{
    ShellConfig c;
    auto script = config::requiredString(config, QStringLiteral("script"));
    if (!script)
        return makeError(script.error());
    c.script = std::move(script).value();
    auto pre = config::optionalString(config, QStringLiteral("preScript"), QString());
    if (!pre)
        return makeError(pre.error());
    c.preScript = std::move(pre).value();
    auto post = config::optionalString(config, QStringLiteral("postScript"), QString());
    if (!post)
        return makeError(post.error());
    c.postScript = std::move(post).value();
    auto shell = config::optionalString(config, QStringLiteral("shell"), c.shell);
    if (!shell)
        return makeError(shell.error());
    if (shell->trimmed().isEmpty())
        return makeError(config::fieldName(QStringLiteral("shell"))
                         + QStringLiteral(": expected a shell program such as /bin/bash"));
    c.shell = std::move(shell).value();
    return c;
}

Result<QString> findExecHelper()
{
    const QString explicitPath = qEnvironmentVariable("KAIROS_EXEC");
    if (!explicitPath.isEmpty()) {
        if (isExecutableFile(explicitPath))
            return explicitPath;
        return makeError(
            QStringLiteral("KAIROS_EXEC: %1 is not an executable file").arg(explicitPath));
    }
    QStringList looked;
    if (QCoreApplication::instance()) {
        const QString dir = QCoreApplication::applicationDirPath();
        const QString path = QDir(dir).filePath(kExecName);
        if (isExecutableFile(path))
            return path;
        looked << dir;
    }
    const QString binDir = qEnvironmentVariable("KAIROS_BIN_DIR");
    if (!binDir.isEmpty()) {
        const QString path = QDir(binDir).filePath(kExecName);
        if (isExecutableFile(path))
            return path;
        looked << QStringLiteral("KAIROS_BIN_DIR=") + binDir;
    }
    const QString onPath = QStandardPaths::findExecutable(kExecName);
    if (!onPath.isEmpty())
        return onPath;
    looked << QStringLiteral("PATH");
    return makeError(QStringLiteral("cannot run shell scripts: %1 was not found (looked in %2); it "
                                    "is installed beside kairos-worker")
                         .arg(kExecName, looked.join(QStringLiteral(", "))));
}

QString paramVariableName(const QString &key)
{
    QString name = QStringLiteral("KAIROS_PARAM_");
    name.reserve(name.size() + key.size());
    for (const QChar c : key) {
        const char16_t u = c.unicode();
        if ((u >= 'a' && u <= 'z'))
            name += QChar(u - 'a' + 'A');
        else if ((u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9'))
            name += c;
        else
            name += QLatin1Char('_');
    }
    return name;
}

QProcessEnvironment shellEnvironment(const TaskSpec &spec)
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    // A worker started from another Kairos run must not leak that run's parameters.
    const QStringList inherited = env.keys();
    for (const QString &key : inherited) {
        if (key.startsWith(QLatin1String("KAIROS_PARAM_"))
            || key == QLatin1String("KAIROS_RESULTS"))
            env.remove(key);
    }
    env.insert(QStringLiteral("KAIROS_INSTANCE_ID"), QString::number(spec.instanceId));
    env.insert(QStringLiteral("KAIROS_ATTEMPT"), QString::number(spec.attempt));
    env.insert(QStringLiteral("KAIROS_TASK_ID"), QString::number(spec.taskId));
    env.insert(QStringLiteral("KAIROS_TASK_NAME"), spec.taskName);
    env.insert(QStringLiteral("KAIROS_TASK_ROLE"), toString(spec.role));
    env.insert(QStringLiteral("KAIROS_TASK_ATTEMPT"), QString::number(spec.taskAttempt));
    env.insert(QStringLiteral("KAIROS_JOB_NAME"), spec.jobName);
    env.insert(QStringLiteral("KAIROS_JOB_PARAMS"), spec.jobParams);
    env.insert(QStringLiteral("KAIROS_INSTANCE_PARAMS"), spec.instanceParams);
    addParamVariables(env, spec.jobParams);
    addParamVariables(env, spec.instanceParams); // later insert wins: instance overrides job
    return env;
}

Result<QByteArray> shellResultsVariable(const TaskSpec &spec)
{
    QJsonArray array;
    for (const TaskResultEntry &r : spec.results) {
        array.append(QJsonObject{{QStringLiteral("task"), r.taskId},
                                 {QStringLiteral("worker"), r.worker},
                                 {QStringLiteral("address"), r.address},
                                 {QStringLiteral("status"), toString(r.status)},
                                 {QStringLiteral("result"), r.result},
                                 {QStringLiteral("runs"), r.runs}});
    }
    QByteArray json = QJsonDocument(array).toJson(QJsonDocument::Compact);
    if (json.size() > kMaxResultsVariableBytes) {
        return makeError(QStringLiteral("KAIROS_RESULTS: the %1 results take %2 bytes as JSON; the "
                                        "limit for an environment variable is %3 bytes (shorten "
                                        "the broadcast scripts' results: the last line of stdout)")
                             .arg(spec.results.size())
                             .arg(json.size())
                             .arg(kMaxResultsVariableBytes));
    }
    return json;
}

QString signalName(int signal)
{
    if (const char *abbrev = sigabbrev_np(signal))
        return QStringLiteral("SIG") + QLatin1String(abbrev);
    return QStringLiteral("signal %1").arg(signal);
}

ShellRun::ShellRun(const TaskSpec &spec, ShellConfig config, QObject *parent)
    : ProcessorRun(spec, parent)
    , m_config(std::move(config))
{
    m_killTimer.setSingleShot(true);
    connect(&m_killTimer, &QTimer::timeout, this, &ShellRun::onGraceOver);
    connect(&m_process, &QProcess::readyReadStandardOutput, this,
            [this] { drain(QProcess::StandardOutput); });
    connect(&m_process, &QProcess::readyReadStandardError, this,
            [this] { drain(QProcess::StandardError); });
    connect(&m_process, &QProcess::finished, this, &ShellRun::onExited);
    connect(&m_process, &QProcess::errorOccurred, this, &ShellRun::onError);
}

ShellRun::~ShellRun()
{
    m_process.disconnect(this);
    if (m_process.state() != QProcess::NotRunning && m_pgid > 0) {
        ::kill(static_cast<pid_t>(-m_pgid), SIGKILL);
        m_process.waitForFinished(5000);
    }
}

void ShellRun::start()
{
    const auto helper = findExecHelper();
    if (!helper) {
        finish(InstanceStatus::Failed, helper.error());
        return;
    }
    QStringList args{QStringLiteral("--parent-pid"), QString::number(::getpid()),
                     QStringLiteral("--grace-ms"), QString::number(kGraceMs)};
    if (!m_leaseFile.isEmpty())
        args << QStringLiteral("--lease-file") << m_leaseFile;
    args << QStringLiteral("--") << m_config.shell;
    const QString &script = spec().role == TaskRole::PreProcess    ? m_config.preScript
                            : spec().role == TaskRole::PostProcess ? m_config.postScript
                                                                   : m_config.script;
    QProcessEnvironment env = shellEnvironment(spec());
    if (spec().role == TaskRole::PostProcess) {
        const auto results = shellResultsVariable(spec());
        if (!results) {
            finish(InstanceStatus::Failed, results.error());
            return;
        }
        env.insert(QStringLiteral("KAIROS_RESULTS"), QString::fromUtf8(*results));
    }
    const QByteArray scriptBytes = script.toUtf8();
    if (scriptBytes.size() <= kMaxInlineScriptBytes) {
        args << QStringLiteral("-c") << script;
    } else {
        m_scriptFile = std::make_unique<QTemporaryFile>(
            QDir(QDir::tempPath()).filePath(QStringLiteral("kairos-script-XXXXXX.sh")));
        if (!m_scriptFile->open() || m_scriptFile->write(scriptBytes) != scriptBytes.size()
            || !m_scriptFile->flush()) {
            finish(InstanceStatus::Failed,
                   QStringLiteral("cannot write the script to %1: %2")
                       .arg(m_scriptFile->fileName(), m_scriptFile->errorString()));
            return;
        }
        args << m_scriptFile->fileName();
    }
    m_process.setProgram(*helper);
    m_process.setArguments(args);
    m_process.setProcessEnvironment(env);
    m_process.setStandardInputFile(QProcess::nullDevice());
    m_process.start(QIODevice::ReadOnly);
    m_pgid = m_process.processId();
    qCDebug(lcWorkerProcessor) << "shell run" << spec().instanceId << spec().attempt
                               << "started, process group" << m_pgid;
}

void ShellRun::drain(QProcess::ProcessChannel channel)
{
    if (channel == QProcess::StandardOutput) {
        m_stdout.feed(m_process.readAllStandardOutput(), [this](const QString &line) {
            if (!line.trimmed().isEmpty())
                m_lastStdoutLine = line;
            log(LogStream::Stdout, line);
        });
    } else {
        m_stderr.feed(m_process.readAllStandardError(),
                      [this](const QString &line) { log(LogStream::Stderr, line); });
    }
}

void ShellRun::onExited(int exitCode, QProcess::ExitStatus exitStatus)
{
    m_killTimer.stop();
    drain(QProcess::StandardOutput);
    drain(QProcess::StandardError);
    m_stdout.flush([this](const QString &line) {
        if (!line.trimmed().isEmpty())
            m_lastStdoutLine = line;
        log(LogStream::Stdout, line);
    });
    m_stderr.flush([this](const QString &line) { log(LogStream::Stderr, line); });
    if (exitStatus == QProcess::CrashExit && m_pgid > 0) {
        // kairos-exec itself was killed (SIGKILL from us or the OOM killer), so it could not
        // clean up: take the rest of its group down. The group id cannot have been reused
        // while any member is alive.
        ::kill(static_cast<pid_t>(-m_pgid), SIGKILL);
    }
    m_pgid = 0;
    m_scriptFile.reset();

    if (isStopping()) {
        finish(InstanceStatus::Canceled, m_stopReason); // TimedOut after timeOut()
    } else if (exitStatus == QProcess::CrashExit) {
        finish(InstanceStatus::Failed,
               QStringLiteral("killed by signal %1 (%2)").arg(exitCode).arg(signalName(exitCode)));
    } else if (exitCode != 0) {
        finish(InstanceStatus::Failed, QStringLiteral("exit code %1").arg(exitCode));
    } else {
        finish(InstanceStatus::Succeeded, m_lastStdoutLine.isEmpty()
                                              ? QStringLiteral("exit code 0")
                                              : m_lastStdoutLine.left(kMaxResultChars));
    }
}

void ShellRun::onError(QProcess::ProcessError error)
{
    // Crashes and read errors are followed by finished(); only a failed start is final here.
    if (error != QProcess::FailedToStart)
        return;
    m_killTimer.stop();
    m_pgid = 0;
    m_scriptFile.reset();
    if (isStopping())
        finish(InstanceStatus::Canceled, m_stopReason);
    else
        finish(InstanceStatus::Failed, QStringLiteral("cannot start %1: %2")
                                           .arg(m_process.program(), m_process.errorString()));
}

void ShellRun::cancel(const QString &reason)
{
    if (!beginStop())
        return;
    m_stopReason = reason;
    if (m_process.state() == QProcess::NotRunning || m_pgid <= 0) {
        finish(InstanceStatus::Canceled, reason); // never started, or start failed
        return;
    }
    // SIGTERM goes to kairos-exec only; it forwards it to every member of its group exactly
    // once and SIGKILLs the group when the grace is over. Our own SIGKILL to the group after
    // the same grace covers a launcher that cannot do it.
    log(LogStream::System, QStringLiteral("%1: stopping process group %2 (SIGTERM, SIGKILL after "
                                          "%3 ms)")
                               .arg(reason)
                               .arg(m_pgid)
                               .arg(kGraceMs));
    ::kill(static_cast<pid_t>(m_pgid), SIGTERM);
    m_killTimer.start(kGraceMs);
}

void ShellRun::onGraceOver()
{
    if (m_pgid <= 0)
        return;
    log(LogStream::System, QStringLiteral("process group %1 still running after %2 ms: SIGKILL")
                               .arg(m_pgid)
                               .arg(kGraceMs));
    ::kill(static_cast<pid_t>(-m_pgid), SIGKILL);
}

} // namespace kairos
