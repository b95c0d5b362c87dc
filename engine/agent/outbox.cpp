#include "outbox.h"

#include "agent_log.h"

namespace kairos::agent {

Outbox::Outbox(qsizetype maxEntries)
    : m_max(std::max<qsizetype>(1, maxEntries))
{}

void Outbox::addReports(const QList<TaskReport> &reports)
{
    for (const TaskReport &r : reports)
        m_reports.push_back({m_nextSeq++, r});
    trim();
}

void Outbox::addLines(const QList<LogLine> &lines)
{
    for (const LogLine &l : lines)
        m_lines.push_back({m_nextSeq++, l});
    trim();
}

void Outbox::trim()
{
    while (size() > m_max) {
        if (m_dropped == 0) {
            qCWarning(lcAgent).noquote()
                << QStringLiteral("no server connected and %1 reports/log lines waiting: "
                                  "dropping the oldest log lines (then reports) from now on")
                       .arg(m_max);
        }
        ++m_dropped;
        if (!m_lines.empty())
            m_lines.pop_front();
        else
            m_reports.pop_front();
    }
}

QList<Outbox::Chunk> Outbox::takeAll()
{
    if (m_dropped > 0) {
        qCWarning(lcAgent).noquote()
            << QStringLiteral("%1 log lines or reports were dropped while no server was connected")
                   .arg(m_dropped);
    }
    QList<Chunk> out;
    auto r = m_reports.begin();
    auto l = m_lines.begin();
    while (r != m_reports.end() || l != m_lines.end()) {
        const bool takeReport = l == m_lines.end() || (r != m_reports.end() && r->seq < l->seq);
        if (takeReport) {
            if (out.isEmpty() || out.last().reports.isEmpty())
                out.append(Chunk{});
            out.last().reports.append(std::move(r->value));
            ++r;
        } else {
            if (out.isEmpty() || out.last().lines.isEmpty())
                out.append(Chunk{});
            out.last().lines.append(std::move(l->value));
            ++l;
        }
    }
    m_reports.clear();
    m_lines.clear();
    m_dropped = 0;
    return out;
}

} // namespace kairos::agent
