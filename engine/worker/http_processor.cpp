#include "http_processor.h"

#include "config_fields.h"
#include "log.h"

#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QStringDecoder>

#include <limits>

namespace kairos {

namespace {

bool isToken(const QByteArray &s)
{
    if (s.isEmpty())
        return false;
    for (const char c : s) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                        || QByteArrayView("!#$%&'*+-.^_`|~").contains(c);
        if (!ok)
            return false;
    }
    return true;
}

} // namespace

Result<HttpConfig> parseHttpConfig(const QJsonObject &config)
{
    HttpConfig c;
    const auto method =
        config::optionalString(config, QStringLiteral("method"), QStringLiteral("GET"));
    if (!method)
        return makeError(method.error());
    c.method = method->toUpper().toLatin1();
    if (!isToken(c.method))
        return makeError(
            QStringLiteral("%1: expected an HTTP method such as GET or POST but got \"%2\"")
                .arg(config::fieldName(QStringLiteral("method")), *method));

    const auto url = config::requiredString(config, QStringLiteral("url"));
    if (!url)
        return makeError(url.error());
    c.url = QUrl(*url, QUrl::StrictMode);
    const QString scheme = c.url.scheme().toLower();
    if (!c.url.isValid() || (scheme != QLatin1String("http") && scheme != QLatin1String("https"))
        || c.url.host().isEmpty()) {
        return makeError(QStringLiteral("%1: expected an http:// or https:// URL but got \"%2\"")
                             .arg(config::fieldName(QStringLiteral("url")), *url));
    }

    const QJsonValue headers = config.value(QLatin1String("headers"));
    if (!headers.isUndefined() && !headers.isNull()) {
        if (!headers.isObject())
            return makeError(config::fieldName(QStringLiteral("headers"))
                             + QStringLiteral(": expected an object of header names to values"));
        const QJsonObject h = headers.toObject();
        for (auto it = h.begin(); it != h.end(); ++it) {
            const QString field = QStringLiteral("headers.") + it.key();
            if (!isToken(it.key().toLatin1()) || it.key().toLatin1() != it.key().toUtf8())
                return makeError(config::fieldName(field)
                                 + QStringLiteral(": not a valid header name"));
            if (!it.value().isString())
                return makeError(config::fieldName(field) + QStringLiteral(": expected a string"));
            const QString value = it.value().toString();
            if (value.contains(QLatin1Char('\r')) || value.contains(QLatin1Char('\n')))
                return makeError(
                    config::fieldName(field)
                    + QStringLiteral(": line breaks are not allowed in a header value"));
            c.headers.append({it.key().toLatin1(), value.toUtf8()});
        }
    }

    const auto body = config::optionalString(config, QStringLiteral("body"), QString());
    if (!body)
        return makeError(body.error());
    c.body = body->toUtf8();

    const auto expected =
        config::optionalInt(config, QStringLiteral("expectedStatus"), 0, 100, 599);
    if (!expected)
        return makeError(expected.error());
    c.expectedStatus = static_cast<int>(*expected);

    const auto timeout = config::optionalInt(config, QStringLiteral("timeoutMs"), 0, 0,
                                             std::numeric_limits<int>::max());
    if (!timeout)
        return makeError(timeout.error());
    c.timeoutMs = static_cast<int>(*timeout);
    return c;
}

HttpRun::HttpRun(const TaskSpec &spec, HttpConfig config, QNetworkAccessManager *network,
                 QObject *parent)
    : ProcessorRun(spec, parent)
    , m_config(std::move(config))
    , m_network(network ? network : new QNetworkAccessManager(this))
{
    m_requestTimer.setSingleShot(true);
    connect(&m_requestTimer, &QTimer::timeout, this, &HttpRun::onRequestTimeout);
}

HttpRun::~HttpRun()
{
    if (m_reply) {
        m_reply->disconnect(this);
        m_reply->abort();
        delete m_reply.data();
    }
}

QString HttpRun::requestSummary() const
{
    return QString::fromLatin1(m_config.method) + QLatin1Char(' ')
           + m_config.url.toDisplayString(QUrl::RemoveUserInfo);
}

void HttpRun::start()
{
    QNetworkRequest request(m_config.url);
    bool hasContentType = false;
    for (const auto &[name, value] : std::as_const(m_config.headers)) {
        request.setRawHeader(name, value);
        hasContentType = hasContentType || name.compare("content-type", Qt::CaseInsensitive) == 0;
    }
    if (!m_config.body.isEmpty() && !hasContentType) {
        // Without a type Qt guesses form encoding (and warns); JSON bodies are the common case.
        const bool json = !QJsonDocument::fromJson(m_config.body).isNull();
        request.setHeader(QNetworkRequest::ContentTypeHeader,
                          json ? QByteArrayLiteral("application/json")
                               : QByteArrayLiteral("text/plain; charset=utf-8"));
    }
    log(LogStream::System,
        m_config.body.isEmpty()
            ? requestSummary()
            : QStringLiteral("%1 (%2 bytes)").arg(requestSummary()).arg(m_config.body.size()));
    m_elapsed.start();
    m_reply = m_network->sendCustomRequest(request, m_config.method, m_config.body);
    connect(m_reply, &QNetworkReply::readyRead, this, &HttpRun::onReadyRead);
    connect(m_reply, &QNetworkReply::finished, this, &HttpRun::onFinished);
    if (m_config.timeoutMs > 0)
        m_requestTimer.start(m_config.timeoutMs);
}

void HttpRun::onReadyRead()
{
    // Keep the first 4 KiB for the result and count (but drop) the rest, so a large download
    // costs no memory.
    while (m_reply && m_reply->bytesAvailable() > 0) {
        const QByteArray chunk = m_reply->read(64 * 1024);
        if (chunk.isEmpty())
            break;
        m_bodyBytes += chunk.size();
        if (m_bodyStart.size() < kMaxBodyBytes)
            m_bodyStart.append(chunk.left(kMaxBodyBytes - m_bodyStart.size()));
    }
}

void HttpRun::onRequestTimeout()
{
    if (!m_reply || isFinished())
        return;
    m_requestTimedOut = true;
    m_reply->abort(); // finished() follows synchronously
}

void HttpRun::onFinished()
{
    m_requestTimer.stop();
    if (!m_reply)
        return;
    onReadyRead();
    QNetworkReply *reply = m_reply;
    m_reply = nullptr;
    reply->deleteLater();

    if (isStopping()) {
        finish(InstanceStatus::Canceled, m_stopReason);
        return;
    }
    if (m_requestTimedOut) {
        finish(InstanceStatus::TimedOut,
               QStringLiteral("HTTP request timed out after %1 ms").arg(m_config.timeoutMs));
        return;
    }
    const QVariant statusAttr = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute);
    if (!statusAttr.isValid()) {
        finish(InstanceStatus::Failed,
               QStringLiteral("%1: %2").arg(requestSummary(), reply->errorString()));
        return;
    }
    const int status = statusAttr.toInt();
    const QString reason = reply->attribute(QNetworkRequest::HttpReasonPhraseAttribute).toString();
    const bool http2 = reply->attribute(QNetworkRequest::Http2WasUsedAttribute).toBool();
    QString statusLine =
        (http2 ? QStringLiteral("HTTP/2 ") : QStringLiteral("HTTP/1.1 ")) + QString::number(status);
    if (!reason.isEmpty())
        statusLine += QLatin1Char(' ') + reason;

    log(LogStream::System, QStringLiteral("%1, %2 bytes in %3 ms")
                               .arg(statusLine)
                               .arg(m_bodyBytes)
                               .arg(m_elapsed.elapsed()));
    // A stateful decoder holds back a character cut in half at the 4 KiB mark.
    QStringDecoder decoder(QStringDecoder::Utf8);
    const QString body = decoder(m_bodyStart);
    if (!body.isEmpty()) {
        const QStringList lines = body.split(QLatin1Char('\n'));
        for (const QString &line : lines)
            log(LogStream::Stdout, line.endsWith(QLatin1Char('\r')) ? line.chopped(1) : line);
    }

    const bool expected = m_config.expectedStatus != 0 ? status == m_config.expectedStatus
                                                       : status >= 200 && status <= 299;
    if (!expected) {
        finish(InstanceStatus::Failed,
               m_config.expectedStatus != 0
                   ? QStringLiteral("expected status %1 but got %2")
                         .arg(m_config.expectedStatus)
                         .arg(status)
                   : QStringLiteral("expected a 2xx status but got %1").arg(status));
        return;
    }
    finish(InstanceStatus::Succeeded,
           body.isEmpty() ? statusLine : statusLine + QLatin1Char('\n') + body);
}

void HttpRun::cancel(const QString &reason)
{
    if (!beginStop())
        return;
    m_stopReason = reason;
    m_requestTimer.stop();
    if (m_reply)
        m_reply->abort(); // finished() follows and reports Canceled
    else
        finish(InstanceStatus::Canceled, reason);
}

} // namespace kairos
