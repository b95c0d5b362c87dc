#pragma once
// Http processor: one HTTP(S) request through QNetworkAccessManager.
// Config: {"method": "GET", "url": "http://...", "headers": {"Name": "value"}, "body": "...",
//          "expectedStatus": 200, "timeoutMs": 0}
// Succeeded when the status is expectedStatus (default: any 2xx); the result is the status line
// plus the first 4 KiB of the body. Otherwise Failed "expected status 200 but got 500" (or
// "expected a 2xx status but got 500"), or the network error ("GET http://...: Connection
// refused"). timeoutMs bounds the request alone: TimedOut "HTTP request timed out after N ms".
// Log lines: the request summary, the response summary, and the start of the body.
// Same threading rules as ProcessorRun; the QNetworkAccessManager must live on the same thread.

#include "processor.h"

#include <QByteArray>
#include <QElapsedTimer>
#include <QList>
#include <QPair>
#include <QPointer>
#include <QTimer>
#include <QUrl>

class QNetworkReply;

namespace kairos {

struct HttpConfig {
    QByteArray method = "GET";
    QUrl url;
    QList<QPair<QByteArray, QByteArray>> headers;
    QByteArray body;
    int expectedStatus = 0; // 0 = any 2xx
    int timeoutMs = 0;      // 0 = only the task's timeout applies
};
Result<HttpConfig> parseHttpConfig(const QJsonObject &config);

class HttpRun final : public ProcessorRun {
    Q_OBJECT
public:
    static constexpr qsizetype kMaxBodyBytes = 4096;

    // `network` may be null: the run then uses a QNetworkAccessManager of its own.
    HttpRun(const TaskSpec &spec, HttpConfig config, QNetworkAccessManager *network,
            QObject *parent = nullptr);
    ~HttpRun() override;

    void start() override;
    void cancel(const QString &reason) override;

private:
    void onReadyRead();
    void onFinished();
    void onRequestTimeout();
    QString requestSummary() const;

    HttpConfig m_config;
    QNetworkAccessManager *m_network = nullptr;
    QPointer<QNetworkReply> m_reply;
    QTimer m_requestTimer{this}; // children move with the run to its thread
    QElapsedTimer m_elapsed;
    QByteArray m_bodyStart;
    qint64 m_bodyBytes = 0;
    QString m_stopReason;
    bool m_requestTimedOut = false;
};

} // namespace kairos
