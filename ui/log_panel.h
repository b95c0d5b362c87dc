#pragma once
// LogPanel: the log of one run. Showing a run loads its stored lines (`instance.logs`, in
// pages) and then follows the lines the engine appends; lines are kept in sequence order and
// never shown twice, whether they came from the load or from an event. A gap in the sequence
// (an event lost or a line stored before the subscription) is filled by loading again.
//
// GUI thread only. Replies for a run that is no longer shown are dropped.

#include <core/instance.h>

#include <QWidget>

class QLabel;
class QPlainTextEdit;

namespace kairos::client {
class Client;
}

namespace kairos::ui {

class EventSubscriptions;

class LogPanel : public QWidget {
    Q_OBJECT
public:
    static constexpr int kPageSize = 1000;
    static constexpr int kMaxLines = 50000; // oldest lines scroll out beyond this

    LogPanel(client::Client *client, EventSubscriptions *subscriptions, QWidget *parent = nullptr);

    // Shows the log of `instanceId` (0: none). `title` names the run in the header.
    void showInstance(qint64 instanceId, const QString &title = {});
    qint64 instanceId() const { return m_instanceId; }
    // The text as shown (tests, copy).
    QString text() const;

signals:
    // The stored lines of the shown run are on screen (following continues).
    void loaded(qint64 instanceId);
    void failed(const QString &message);

private:
    void fetch();
    void onLines(const QList<kairos::LogLine> &lines);
    void appendLines(const QList<kairos::LogLine> &lines);
    void showPlaceholder();

    client::Client *m_client;
    EventSubscriptions *m_subscriptions;
    QLabel *m_header;
    QPlainTextEdit *m_view;
    qint64 m_instanceId = 0;
    qint64 m_lastSeq = 0;
    int m_generation = 0;
    bool m_fetching = false;
    bool m_refetch = false;   // a gap was seen while fetching: load again afterwards
    QList<LogLine> m_pending; // live lines that arrived while fetching
};

} // namespace kairos::ui
