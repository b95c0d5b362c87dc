#include "log_panel.h"

#include "event_subscriptions.h"
#include "ui_log.h"

#include <client/client.h>

#include <QDateTime>
#include <QFontDatabase>
#include <QJsonArray>
#include <QLabel>
#include <QPlainTextEdit>
#include <QScrollBar>
#include <QTextBlock>
#include <QVBoxLayout>

#include <algorithm>
#include <utility>

namespace kairos::ui {

LogPanel::LogPanel(client::Client *client, EventSubscriptions *subscriptions, QWidget *parent)
    : QWidget(parent)
    , m_client(client)
    , m_subscriptions(subscriptions)
    , m_header(new QLabel(this))
    , m_view(new QPlainTextEdit(this))
{
    m_header->setObjectName(QStringLiteral("logHeader"));
    m_header->setTextFormat(Qt::PlainText);
    QFont bold = m_header->font();
    bold.setBold(true);
    m_header->setFont(bold);
    m_view->setObjectName(QStringLiteral("logView"));
    m_view->setReadOnly(true);
    m_view->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_view->setMaximumBlockCount(kMaxLines);
    m_view->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_view->setPlaceholderText(tr("Select a run to see its log."));

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    layout->addWidget(m_header);
    layout->addWidget(m_view);

    connect(client, &client::Client::logsAppended, this, &LogPanel::onLines);
    showPlaceholder();
}

void LogPanel::showPlaceholder()
{
    m_header->setText(tr("Log"));
}

QString LogPanel::text() const
{
    return m_view->toPlainText();
}

void LogPanel::showInstance(qint64 instanceId, const QString &title)
{
    if (instanceId == m_instanceId)
        return;
    ++m_generation;
    m_instanceId = instanceId;
    m_lastSeq = 0;
    m_pending.clear();
    m_fetching = false;
    m_refetch = false;
    m_view->clear();
    m_subscriptions->setLogsOf(instanceId);
    if (instanceId == 0) {
        showPlaceholder();
        return;
    }
    m_header->setText(title.isEmpty() ? tr("Log of run #%1").arg(instanceId)
                                      : tr("Log of run #%1 (%2)").arg(instanceId).arg(title));
    m_view->setPlaceholderText(tr("Loading…"));
    fetch();
}

void LogPanel::fetch()
{
    m_fetching = true;
    const int generation = m_generation;
    const QJsonObject params{{QStringLiteral("id"), m_instanceId},
                             {QStringLiteral("afterSeq"), m_lastSeq},
                             {QStringLiteral("limit"), kPageSize}};
    m_client->call(QStringLiteral("instance.logs"), params, this,
                   [this, generation](Result<QJsonObject> reply) {
                       if (generation != m_generation)
                           return; // another run is shown now
                       if (!reply.ok()) {
                           m_fetching = false;
                           m_view->setPlaceholderText(tr("The log could not be loaded."));
                           emit failed(tr("Could not load the log of run #%1: %2")
                                           .arg(m_instanceId)
                                           .arg(reply.error()));
                           return;
                       }
                       QList<LogLine> lines;
                       const QJsonArray array = reply->value(QStringLiteral("lines")).toArray();
                       for (const QJsonValue &v : array)
                           lines << logLineFromJson(v.toObject());
                       appendLines(lines);
                       if (array.size() >= kPageSize || std::exchange(m_refetch, false)) {
                           fetch(); // more stored lines than one page, or a gap to fill
                           return;
                       }
                       m_fetching = false;
                       m_view->setPlaceholderText(tr("No output yet."));
                       // Lines that arrived meanwhile: those past what the load returned.
                       const QList<LogLine> pending = std::exchange(m_pending, {});
                       onLines(pending);
                       if (!m_fetching)
                           emit loaded(m_instanceId);
                   });
}

void LogPanel::onLines(const QList<LogLine> &lines)
{
    if (m_instanceId == 0)
        return;
    QList<LogLine> mine;
    for (const LogLine &l : lines) {
        if (l.instanceId == m_instanceId && l.seq > m_lastSeq)
            mine << l;
    }
    if (mine.isEmpty())
        return;
    if (m_fetching) {
        m_pending << mine;
        return;
    }
    std::sort(mine.begin(), mine.end(),
              [](const LogLine &a, const LogLine &b) { return a.seq < b.seq; });
    if (mine.first().seq > m_lastSeq + 1) {
        // Something between what we have and this batch is missing: load from the store,
        // which has it all (these lines included).
        qCDebug(lcUiLogs) << "log gap after" << m_lastSeq << "before" << mine.first().seq;
        m_pending = mine;
        fetch();
        return;
    }
    appendLines(mine);
}

void LogPanel::appendLines(const QList<LogLine> &lines)
{
    if (lines.isEmpty())
        return;
    QScrollBar *bar = m_view->verticalScrollBar();
    const bool follow = bar->value() == bar->maximum();

    QTextCharFormat normal;
    QTextCharFormat stderrFormat;
    stderrFormat.setForeground(QColor(0xc6, 0x28, 0x28));
    QTextCharFormat stampFormat;
    stampFormat.setForeground(palette().brush(QPalette::Disabled, QPalette::Text));
    QTextCharFormat systemFormat = stampFormat;
    systemFormat.setFontItalic(true);

    QTextCursor cursor(m_view->document());
    cursor.beginEditBlock();
    cursor.movePosition(QTextCursor::End);
    for (const LogLine &l : lines) {
        if (l.seq <= m_lastSeq)
            continue;
        m_lastSeq = l.seq;
        if (!m_view->document()->isEmpty())
            cursor.insertBlock();
        const QString stamp =
            QDateTime::fromMSecsSinceEpoch(l.timeMs).toString(QStringLiteral("HH:mm:ss.zzz"));
        cursor.insertText(stamp + u' ', stampFormat);
        const QTextCharFormat &f = l.stream == LogStream::Stderr   ? stderrFormat
                                   : l.stream == LogStream::System ? systemFormat
                                                                   : normal;
        cursor.insertText(l.text, f);
    }
    cursor.endEditBlock();
    if (follow)
        bar->setValue(bar->maximum());
}

} // namespace kairos::ui
