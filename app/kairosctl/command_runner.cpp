#include "command_runner.h"

#include "container_views.h"
#include "views.h"

#include <core/clock.h>
#include <core/types.h>

#include <QJsonDocument>
#include <QLoggingCategory>

#include <algorithm>

namespace kairos::cli {
namespace {

Q_LOGGING_CATEGORY(lcRunner, "kairos.cli.runner", QtWarningMsg)

bool terminalStatus(const QString &status)
{
    const auto s = instanceStatusFromString(status);
    return s && isTerminal(*s);
}

QString statusOf(const QJsonObject &instance)
{
    return instance.value(QStringLiteral("status")).toString();
}

} // namespace

CommandRunner::CommandRunner(client::Client &client, Action action, Options options,
                             QTextStream &out, QTextStream &err, QObject *parent)
    : QObject(parent)
    , m_client(client)
    , m_action(std::move(action))
    , m_options(std::move(options))
    , m_out(out)
    , m_err(err)
{
    if (m_options.target.isEmpty())
        m_options.target = m_client.endpoint();
    m_poll.setInterval(std::max(10, m_options.pollIntervalMs));
    m_deadline.setSingleShot(true);
}

void CommandRunner::start()
{
    m_clock.start();
    // The file is read before the connection: a wrong path is reported without a server.
    if (m_action.kind == ActionKind::ContainerUpload && !prepareUpload())
        return;
    connect(&m_client, &client::Client::linkStateChanged, this, &CommandRunner::onLinkState);
    if (m_client.linkState() == client::Client::LinkState::Connected)
        begin();
}

void CommandRunner::onLinkState(client::Client::LinkState state, const QString &detail)
{
    if (m_done)
        return;
    if (state == client::Client::LinkState::Connected) {
        if (!m_begun)
            begin();
        return;
    }
    if (state != client::Client::LinkState::Disconnected)
        return;
    const QString why = detail.isEmpty() ? tr("the connection closed") : detail;
    if (!m_begun)
        fail(kExitConnection, tr("cannot connect to %1: %2").arg(m_options.target, why));
    else
        fail(kExitConnection, tr("lost the connection to %1: %2").arg(m_options.target, why));
}

void CommandRunner::begin()
{
    m_begun = true;
    switch (m_action.kind) {
    case ActionKind::Call:
        return call(m_action.method, m_action.params, [this](const QJsonObject &reply) {
            printReply(reply);
            finish(0);
        });
    case ActionKind::RunJob:
        return runJob();
    case ActionKind::InstanceList:
        return listInstances();
    case ActionKind::InstanceLogs:
        return showLogs();
    case ActionKind::InstanceTasks:
        return listTasks(m_action.params);
    case ActionKind::ContainerUpload:
        return uploadContainer();
    case ActionKind::ContainerDeploy:
        return followDeploy();
    default:
        // Local actions never reach a runner; main() handles them without a connection.
        return fail(2, tr("this command does not talk to a server"));
    }
}

void CommandRunner::call(const QString &method, const QJsonObject &params, OnReply onReply)
{
    qCDebug(lcRunner) << "call" << method << params;
    m_client.call(method, params, this,
                  [this, onReply = std::move(onReply)](Result<QJsonObject> result) {
                      if (m_done)
                          return;
                      if (result.ok())
                          return onReply(*result);
                      failWith(result.error());
                  });
}

void CommandRunner::failWith(const QString &error)
{
    // A lost link fails the pending calls before the client reports it is disconnected; decide
    // on the next turn which of the two this was.
    QTimer::singleShot(0, this, [this, error] {
        if (m_done)
            return;
        if (m_client.linkState() != client::Client::LinkState::Connected)
            fail(kExitConnection, tr("lost the connection to %1: %2").arg(m_options.target, error));
        else
            fail(kExitServerError, error);
    });
}

void CommandRunner::printJson(const QJsonObject &doc)
{
    m_out << QJsonDocument(doc).toJson(QJsonDocument::Indented);
}

void CommandRunner::printReply(const QJsonObject &reply)
{
    if (m_options.json)
        return printJson(reply);
    const QTimeZone &zone = m_options.zone;
    switch (m_action.view) {
    case View::Job:
        m_out << jobDetail(reply, zone);
        break;
    case View::JobState:
        m_out << jobStateLine(reply, zone);
        break;
    case View::JobList:
        m_out << jobTable(reply.value(QStringLiteral("jobs")).toArray(), zone);
        break;
    case View::Deleted:
        m_out << tr("deleted %1").arg(m_action.subject) << '\n';
        break;
    case View::Instance:
        m_out << instanceTable(QJsonArray{reply}, zone);
        break;
    case View::InstanceDetail:
        m_out << instanceDetail(reply, zone);
        break;
    case View::ServerInfo:
        m_out << serverInfo(reply, zone);
        break;
    case View::AppCreated:
    case View::AppRotated:
        m_out << reply.value(QStringLiteral("secret")).toString() << '\n';
        m_out.flush();
        m_err << appSecretNote(reply, m_action.view == View::AppCreated);
        break;
    case View::AppList:
        m_out << appTable(reply.value(QStringLiteral("apps")).toArray());
        break;
    case View::WorkerList:
        m_out << workerTable(reply.value(QStringLiteral("workers")).toArray(), now());
        break;
    case View::ContainerList:
        m_out << containerTable(reply.value(QStringLiteral("containers")).toArray());
        break;
    case View::ContainerVersions:
        m_out << containerVersionsText(reply, zone);
        break;
    case View::ContainerStatus: {
        const QJsonArray states = reply.value(QStringLiteral("workers")).toArray();
        m_out << containerStatusTable(states, now());
        if (const int behind = notCurrentCount(states); behind > 0) {
            // On stderr, so the table on stdout stays a table.
            m_out.flush();
            m_err << tr("(%1 of %2 row(s) not on the desired version: CURRENT is NO)")
                         .arg(behind)
                         .arg(states.size())
                  << '\n';
        }
        break;
    }
    case View::ContainerDeployed:
        m_out << deployedLine(reply);
        break;
    }
}

qint64 CommandRunner::now() const
{
    return m_options.nowMs > 0 ? m_options.nowMs : nowMs();
}

void CommandRunner::fail(int code, const QString &message)
{
    if (m_done)
        return;
    m_out.flush();
    m_err << "kairosctl: " << message << '\n';
    finish(code);
}

void CommandRunner::finish(int code)
{
    if (m_done)
        return;
    m_done = true;
    m_exitCode = code;
    m_poll.stop();
    m_deadline.stop();
    m_out.flush();
    m_err.flush();
    emit finished(code);
}

// --- job run [--wait] ----------------------------------------------------------------------

void CommandRunner::runJob()
{
    if (m_action.wait) {
        // Subscribed before job.run goes out, so no transition of the new runs is missed; the
        // poll below covers a server that drops or never sends events.
        connect(&m_client, &client::Client::instancesChanged, this,
                &CommandRunner::onInstancesForWait);
        m_client.subscribe({QStringLiteral("instances")});
    }
    call(m_action.method, m_action.params, [this](const QJsonObject &reply) {
        const QJsonArray ids = reply.value(QStringLiteral("instanceIds")).toArray();
        if (!m_action.wait) {
            if (m_options.json)
                printJson(reply);
            else
                for (const QJsonValue &id : ids)
                    m_out << id.toInteger() << '\n';
            return finish(0);
        }
        for (const QJsonValue &id : ids) {
            m_runIds << id.toInteger();
            m_latest.insert(id.toInteger(), QJsonObject()); // state not known yet
        }
        if (!m_options.json) {
            // The ids first, so another terminal can follow the logs meanwhile.
            for (qint64 id : std::as_const(m_runIds))
                m_out << id << '\n';
            m_out.flush();
        }
        if (m_runIds.isEmpty())
            return completeWait();
        if (m_action.waitTimeoutS > 0) {
            connect(&m_deadline, &QTimer::timeout, this, &CommandRunner::onWaitDeadline);
            m_deadline.start(m_action.waitTimeoutS * 1000);
        }
        connect(&m_poll, &QTimer::timeout, this, &CommandRunner::pollWaited);
        m_poll.start();
        pollWaited();
    });
}

void CommandRunner::onInstancesForWait(const QList<Instance> &instances)
{
    if (m_done)
        return;
    for (const Instance &inst : instances) {
        if (m_latest.contains(inst.id))
            recordWaited(instanceToJson(inst));
    }
}

void CommandRunner::recordWaited(const QJsonObject &instance)
{
    if (m_done)
        return;
    const qint64 id = instance.value(QStringLiteral("id")).toInteger();
    const auto known = m_latest.find(id);
    if (known == m_latest.end())
        return;
    // A poll answer may arrive after a newer event; keep the newer state.
    if (!known->isEmpty()
        && known->value(QStringLiteral("version")).toInteger()
               > instance.value(QStringLiteral("version")).toInteger())
        return;
    *known = instance;
    if (terminalStatus(statusOf(instance)))
        m_ended.insert(id);
    else
        m_ended.remove(id);
    if (m_ended.size() == m_latest.size())
        completeWait();
}

void CommandRunner::pollWaited()
{
    // A safety net, not the main path: bounded, so `--count 100000` does not flood the server.
    constexpr int kMaxPollsInFlight = 100;
    for (qint64 id : std::as_const(m_runIds)) {
        if (m_polling.size() >= kMaxPollsInFlight)
            break;
        if (m_polling.contains(id) || m_ended.contains(id))
            continue;
        m_polling.insert(id);
        call(QStringLiteral("instance.get"), QJsonObject{{QStringLiteral("id"), id}},
             [this, id](const QJsonObject &reply) {
                 m_polling.remove(id);
                 recordWaited(reply.value(QStringLiteral("instance")).toObject());
             });
    }
}

QJsonArray CommandRunner::waitedInstances() const
{
    QJsonArray list;
    for (qint64 id : m_runIds) {
        QJsonObject inst = m_latest.value(id);
        if (inst.isEmpty())
            inst = QJsonObject{{QStringLiteral("id"), id}};
        list.append(inst);
    }
    return list;
}

void CommandRunner::completeWait()
{
    const QJsonArray list = waitedInstances();
    int failed = 0;
    for (const QJsonValue &v : list) {
        if (statusOf(v.toObject()) != QLatin1String("SUCCEEDED"))
            ++failed;
    }
    if (m_options.json) {
        QJsonArray ids;
        for (qint64 id : std::as_const(m_runIds))
            ids.append(id);
        printJson({{QStringLiteral("instanceIds"), ids}, {QStringLiteral("instances"), list}});
    } else if (!list.isEmpty()) {
        m_out << instanceTable(list, m_options.zone);
    }
    if (failed > 0)
        return fail(kExitRunFailed,
                    tr("%1 of %2 run(s) did not succeed").arg(failed).arg(list.size()));
    finish(0);
}

void CommandRunner::onWaitDeadline()
{
    if (m_done)
        return;
    const QJsonArray list = waitedInstances();
    QStringList open;
    for (const QJsonValue &v : list) {
        const QJsonObject inst = v.toObject();
        const QString status = statusOf(inst);
        if (terminalStatus(status))
            continue;
        QString item = QStringLiteral("%1 %2")
                           .arg(inst.value(QStringLiteral("id")).toInteger())
                           .arg(status.isEmpty() ? tr("(state unknown)") : status);
        const QString reason = inst.value(QStringLiteral("reason")).toString();
        if (!reason.isEmpty())
            item += QStringLiteral(" (%1)").arg(reason);
        open << item;
    }
    if (m_options.json) {
        QJsonArray ids;
        for (qint64 id : std::as_const(m_runIds))
            ids.append(id);
        printJson({{QStringLiteral("instanceIds"), ids}, {QStringLiteral("instances"), list}});
    }
    fail(kExitWaitTimeout, tr("--timeout-s: after %1 s, %2 run(s) had not ended: %3")
                               .arg(m_action.waitTimeoutS)
                               .arg(open.size())
                               .arg(open.join(QStringLiteral("; "))));
}

// --- instance list -------------------------------------------------------------------------

void CommandRunner::listInstances()
{
    auto list = [this](QJsonObject params) {
        call(m_action.method, params, [this, params](const QJsonObject &reply) {
            const QJsonArray instances = reply.value(QStringLiteral("instances")).toArray();
            if (m_options.json) {
                printJson(reply);
            } else {
                m_out << instanceTable(instances, m_options.zone);
                const int limit = params.value(QStringLiteral("limit")).toInt(100);
                if (!instances.isEmpty() && instances.size() >= limit) {
                    // On stderr, so the table on stdout stays a table.
                    m_out.flush();
                    m_err << tr("(more: add --before %1)")
                                 .arg(instances.last()
                                          .toObject()
                                          .value(QStringLiteral("id"))
                                          .toInteger())
                          << '\n';
                }
            }
            finish(0);
        });
    };
    if (m_action.jobName.isEmpty())
        return list(m_action.params);
    call(QStringLiteral("job.get"), QJsonObject{{QStringLiteral("name"), m_action.jobName}},
         [this, list](const QJsonObject &job) {
             QJsonObject params = m_action.params;
             params[QStringLiteral("jobId")] = job.value(QStringLiteral("id")).toInteger();
             list(params);
         });
}

// --- instance tasks [--all] ---------------------------------------------------------------
//
// instance.tasks answers a page by task id and `next`: the id to continue after, or 0 on the
// last page. With --all the pages are read one after the other; the table is printed as each
// arrives (a map run may have a million tasks), JSON is one document at the end.

void CommandRunner::listTasks(QJsonObject params)
{
    call(m_action.method, params,
         [this, params](const QJsonObject &reply) { onTaskPage(params, reply); });
}

void CommandRunner::onTaskPage(const QJsonObject &params, const QJsonObject &reply)
{
    const QJsonArray tasks = reply.value(QStringLiteral("tasks")).toArray();
    const qint64 after = params.value(QStringLiteral("after")).toInteger();
    const qint64 next = reply.value(QStringLiteral("next")).toInteger();
    m_taskRows += tasks.size();
    if (!m_action.allPages) {
        if (m_options.json) {
            printJson(reply);
            return finish(0);
        }
        m_out << taskTable(tasks);
    } else if (m_options.json) {
        for (const QJsonValue &t : tasks)
            m_collectedTasks.append(t);
    } else {
        m_out << taskTablePage(tasks, m_taskWidths);
        m_out.flush();
    }

    const bool more = next > 0 && !tasks.isEmpty();
    if (m_action.allPages && more) {
        if (next <= after) {
            // Never loop for ever on a server that does not move on.
            return fail(kExitServerError, tr("instance.tasks: the page after task %1 continues "
                                             "at task %2, which does not move on")
                                              .arg(after)
                                              .arg(next));
        }
        QJsonObject nextPage = params;
        nextPage[QStringLiteral("after")] = next;
        return listTasks(nextPage);
    }
    if (m_action.allPages && m_options.json) {
        printJson({{QStringLiteral("tasks"), m_collectedTasks}, {QStringLiteral("next"), 0}});
        return finish(0);
    }
    // The notes go to stderr, so the table on stdout stays a table.
    m_out.flush();
    if (more && !m_action.allPages)
        m_err << tr("(more: add --after %1, or --all)").arg(next) << '\n';
    if (m_taskRows == 0 && after == 0 && !params.contains(QStringLiteral("status")))
        m_err << tr("(instance %1 has no tasks: a STANDALONE run has none, and a run not "
                    "dispatched yet has none yet)")
                     .arg(m_action.instanceId)
              << '\n';
    finish(0);
}

// --- instance logs [--follow] --------------------------------------------------------------
//
// Lines carry a per-instance sequence number without gaps. The printed position is m_lastSeq:
// a page of instance.logs continues after it, an event line is printed only if it is the next
// one (a gap means lines went by unseen, so a page is fetched), and anything at or below it
// is a repeat. The end: once the instance is terminal, one more page fetched after that is
// known picks up the last lines (the server stores them before it reports the end).

void CommandRunner::showLogs()
{
    const qint64 id = m_action.instanceId;
    if (m_action.follow) {
        connect(&m_client, &client::Client::logsAppended, this, &CommandRunner::onLogEvent);
        connect(&m_client, &client::Client::instancesChanged, this,
                &CommandRunner::onInstancesForLogs);
        m_client.subscribe({QStringLiteral("logs"), QStringLiteral("instances")}, id);
    }
    // instance.get first: it fails for an unknown id (instance.logs would just be empty) and
    // tells whether the run has ended already.
    m_fetching = true; // event lines wait until the first page is printed
    call(QStringLiteral("instance.get"), QJsonObject{{QStringLiteral("id"), id}},
         [this](const QJsonObject &reply) {
             noteLogInstanceStatus(statusOf(reply.value(QStringLiteral("instance")).toObject()));
             fetchLogs();
             if (m_action.follow && !m_instanceEnded) {
                 connect(&m_poll, &QTimer::timeout, this, &CommandRunner::pollLogInstance);
                 m_poll.start();
             }
         });
}

void CommandRunner::fetchLogs()
{
    m_fetching = true;
    m_fetchAfterEnd = m_instanceEnded;
    call(QStringLiteral("instance.logs"),
         QJsonObject{{QStringLiteral("id"), m_action.instanceId},
                     {QStringLiteral("afterSeq"), m_lastSeq},
                     {QStringLiteral("limit"), m_options.logPageSize}},
         [this](const QJsonObject &reply) { onLogPage(reply); });
}

void CommandRunner::onLogPage(const QJsonObject &reply)
{
    const QJsonArray lines = reply.value(QStringLiteral("lines")).toArray();
    for (const QJsonValue &v : lines)
        printLogLine(v.toObject());
    if (lines.size() >= m_options.logPageSize)
        return fetchLogs(); // a full page: there may be more

    m_fetching = false;
    // Lines that arrived as events during the fetch. A gap means the page was read before
    // they were stored (events follow the commit), so one more page catches up.
    if (!printInOrder(std::exchange(m_bufferedLines, {})))
        return fetchLogs();

    if (!m_action.follow || m_fetchAfterEnd) {
        if (m_options.json && !m_action.follow)
            printJson({{QStringLiteral("lines"), m_collectedLines}});
        return finish(0);
    }
    if (m_instanceEnded)
        fetchLogs(); // the end became known during that fetch: one more page
}

bool CommandRunner::printInOrder(QList<QJsonObject> lines)
{
    std::sort(lines.begin(), lines.end(), [](const QJsonObject &a, const QJsonObject &b) {
        return a.value(QStringLiteral("seq")).toInteger()
               < b.value(QStringLiteral("seq")).toInteger();
    });
    for (const QJsonObject &line : std::as_const(lines)) {
        const qint64 seq = line.value(QStringLiteral("seq")).toInteger();
        if (seq <= m_lastSeq)
            continue; // already printed from a page
        if (seq != m_lastSeq + 1) {
            qCDebug(lcRunner) << "log gap after" << m_lastSeq << "- reading from the server";
            return false;
        }
        printLogLine(line);
    }
    return true;
}

void CommandRunner::printLogLine(const QJsonObject &line)
{
    const qint64 seq = line.value(QStringLiteral("seq")).toInteger();
    if (seq <= m_lastSeq)
        return;
    m_lastSeq = seq;
    if (m_options.json) {
        if (m_action.follow) {
            // JSON Lines: one document per line, so a reader can stream them.
            m_out << QJsonDocument(line).toJson(QJsonDocument::Compact) << '\n';
            m_out.flush();
        } else {
            m_collectedLines.append(line);
        }
        return;
    }
    const int attempt = line.value(QStringLiteral("attempt")).toInt(1);
    if (m_lastAttempt != 0 && attempt != m_lastAttempt)
        m_out << tr("--- attempt %1 ---").arg(attempt) << '\n';
    m_lastAttempt = attempt;
    m_out << logLineText(line, m_options.zone);
    if (m_action.follow)
        m_out.flush();
}

void CommandRunner::onLogEvent(const QList<LogLine> &lines)
{
    if (m_done)
        return;
    QList<QJsonObject> mine;
    for (const LogLine &l : lines) {
        if (l.instanceId == m_action.instanceId)
            mine << logLineToJson(l);
    }
    if (mine.isEmpty())
        return;
    if (m_fetching) {
        m_bufferedLines += mine;
        return;
    }
    if (!printInOrder(mine))
        fetchLogs();
}

void CommandRunner::onInstancesForLogs(const QList<Instance> &instances)
{
    if (m_done)
        return;
    for (const Instance &inst : instances) {
        if (inst.id == m_action.instanceId)
            noteLogInstanceStatus(toString(inst.status));
    }
}

void CommandRunner::noteLogInstanceStatus(const QString &status)
{
    if (m_instanceEnded || !terminalStatus(status))
        return;
    m_instanceEnded = true;
    m_poll.stop();
    if (m_action.follow && !m_fetching)
        fetchLogs();
}

void CommandRunner::pollLogInstance()
{
    if (m_statusPollInFlight || m_instanceEnded)
        return;
    m_statusPollInFlight = true;
    call(QStringLiteral("instance.get"), QJsonObject{{QStringLiteral("id"), m_action.instanceId}},
         [this](const QJsonObject &reply) {
             m_statusPollInFlight = false;
             noteLogInstanceStatus(statusOf(reply.value(QStringLiteral("instance")).toObject()));
         });
}

} // namespace kairos::cli
