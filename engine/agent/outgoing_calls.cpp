#include "outgoing_calls.h"

#include "agent_log.h"

#include <worker/wire.h>

namespace kairos::agent {

OutgoingCalls::OutgoingCalls(qsizetype maxCallBytes)
    : m_maxCallBytes(std::max<qsizetype>(1, maxCallBytes))
{}

TaskCall OutgoingCalls::nextPart(Pending &pending)
{
    TaskCall part = std::move(pending.parts.front());
    pending.parts.pop_front();
    part.callId = m_nextPartId++;
    return part;
}

QList<TaskCall> OutgoingCalls::add(const QList<TaskCall> &calls)
{
    QList<TaskCall> out;
    out.reserve(calls.size());
    for (const TaskCall &call : calls) {
        if (m_wireIdOf.contains(call.callId)) {
            m_immediate.append(TaskCallReply{
                call.callId,
                QStringLiteral("call id %1 is already waiting for a reply").arg(call.callId),
                {},
                false});
            continue;
        }
        if (call.op != TaskCall::Op::Map || call.items.size() < 2
            || wire::estimatedSize(call) <= m_maxCallBytes) {
            m_pending.insert(call.callId, Pending{call.callId, {}});
            m_wireIdOf.insert(call.callId, call.callId);
            out.append(call);
            continue;
        }
        // Too big for one frame: consecutive parts of at most m_maxCallBytes (one item at least).
        Pending pending{call.callId, {}};
        TaskCall part = call;
        part.items.clear();
        const qsizetype empty = wire::estimatedSize(part);
        qsizetype bytes = empty;
        for (qsizetype i = 0; i < call.items.size(); ++i) {
            const QByteArray &item = call.items.at(i);
            const qsizetype size = 9 + item.size();
            if (!part.items.isEmpty() && bytes + size > m_maxCallBytes) {
                pending.parts.push_back(part);
                part.items.clear();
                part.from = call.from + i;
                bytes = empty;
            }
            part.items.append(item);
            bytes += size;
        }
        pending.parts.push_back(part);
        qCDebug(lcAgent).noquote() << QStringLiteral("map call %1 of %2 items goes in %3 parts")
                                          .arg(call.callId)
                                          .arg(call.items.size())
                                          .arg(pending.parts.size());
        TaskCall first = nextPart(pending);
        m_wireIdOf.insert(call.callId, first.callId);
        m_pending.insert(first.callId, std::move(pending));
        out.append(std::move(first));
    }
    return out;
}

OutgoingCalls::Step OutgoingCalls::onReplies(const QList<TaskCallReply> &replies)
{
    Step step;
    for (const TaskCallReply &reply : replies) {
        auto it = m_pending.find(reply.callId);
        if (it == m_pending.end()) {
            qCDebug(lcAgent) << "reply to call" << reply.callId << "that is not waiting: dropped";
            continue;
        }
        Pending pending = std::move(it.value());
        m_pending.erase(it);
        if (!reply.error.isEmpty() || pending.parts.empty()) {
            m_wireIdOf.remove(pending.callId);
            step.toRunner.append(
                TaskCallReply{pending.callId, reply.error, reply.results, reply.end});
            continue;
        }
        TaskCall part = nextPart(pending);
        m_wireIdOf.insert(pending.callId, part.callId);
        m_pending.insert(part.callId, std::move(pending));
        step.toSend.append(std::move(part));
    }
    return step;
}

QList<TaskCallReply> OutgoingCalls::failAll(const QString &error)
{
    QList<TaskCallReply> out;
    out.reserve(m_pending.size());
    for (const Pending &pending : std::as_const(m_pending))
        out.append(TaskCallReply{pending.callId, error, {}, false});
    m_pending.clear();
    m_wireIdOf.clear();
    return out;
}

QList<TaskCallReply> OutgoingCalls::takeImmediate()
{
    return std::exchange(m_immediate, {});
}

} // namespace kairos::agent
