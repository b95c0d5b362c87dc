#include "store_config.h"

#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>
#include <QUrl>
#include <QUrlQuery>

namespace kairos {
namespace {

Error urlError(const QString &what)
{
    return makeError(QStringLiteral("store url: ") + what);
}

Result<StoreConfig> parsePostgres(const QString &text)
{
    const QUrl url(text, QUrl::StrictMode);
    if (!url.isValid())
        return urlError(QStringLiteral("not a valid URL (%1); expected "
                                       "postgres://user:password@host:port/database")
                            .arg(url.errorString()));
    StoreConfig config;
    config.url = text;
    config.dialect = Dialect::Postgres;
    config.host = url.host(QUrl::FullyDecoded);
    if (config.host.isEmpty())
        return urlError(
            QStringLiteral("expected a host, as in postgres://kairos@127.0.0.1:5432/kairos"));
    config.port = url.port(5432);
    if (config.port <= 0 || config.port > 65535)
        return urlError(QStringLiteral("port: expected 1-65535"));
    config.user = url.userName(QUrl::FullyDecoded);
    config.password = url.password(QUrl::FullyDecoded);
    QString path = url.path(QUrl::FullyDecoded);
    if (path.startsWith(u'/'))
        path.remove(0, 1);
    if (path.isEmpty() || path.contains(u'/'))
        return urlError(QStringLiteral("expected one database name after the host, as in "
                                       "postgres://kairos@127.0.0.1/kairos"));
    config.database = path;

    // Query items are libpq connection options (sslmode, connect_timeout, application_name...).
    // QPSQL joins them into a libpq conninfo string, so values must not need quoting there.
    static const QRegularExpression keyRe(QStringLiteral("^[a-z_]+$"));
    static const QRegularExpression valueRe(QStringLiteral("^[A-Za-z0-9_.:/@+-]*$"));
    QStringList options;
    const auto items = QUrlQuery(url).queryItems(QUrl::FullyDecoded);
    for (const auto &[key, value] : items) {
        if (!keyRe.match(key).hasMatch())
            return urlError(QStringLiteral("option \"%1\": expected a libpq option name such as "
                                           "sslmode or connect_timeout")
                                .arg(key));
        if (!valueRe.match(value).hasMatch())
            return urlError(QStringLiteral("option %1: the value may only hold letters, digits "
                                           "and _.:/@+-")
                                .arg(key));
        options << key + u'=' + value;
    }
    // A server that does not answer must not hang start-up for libpq's default of forever.
    if (!QUrlQuery(url).hasQueryItem(QStringLiteral("connect_timeout")))
        options << QStringLiteral("connect_timeout=10");
    config.connectOptions = options.join(u';');
    return config;
}

Result<StoreConfig> parseSqlite(const QString &text, QString path, bool explicitScheme)
{
    if (path.startsWith(QLatin1String("~/")))
        path = QDir::homePath() + path.mid(1);
    if (explicitScheme && !QDir::isAbsolutePath(path))
        return urlError(QStringLiteral("expected an absolute path after sqlite:, as in "
                                       "sqlite:/var/lib/kairos/kairos.db"));
    if (path.isEmpty())
        return urlError(QStringLiteral("expected a database file path"));
    if (path.endsWith(u'/'))
        return urlError(
            QStringLiteral("\"%1\" names a folder; expected a database file path").arg(path));
    StoreConfig config;
    config.url = text;
    config.dialect = Dialect::Sqlite;
    config.sqlitePath = QDir::cleanPath(QFileInfo(path).absoluteFilePath());
    return config;
}

} // namespace

QString toString(Dialect d)
{
    return d == Dialect::Sqlite ? QStringLiteral("SQLite") : QStringLiteral("PostgreSQL");
}

Result<StoreConfig> StoreConfig::parse(const QString &input)
{
    const QString text = input.trimmed();
    if (text.isEmpty())
        return urlError(QStringLiteral("expected sqlite:/path/to/kairos.db, a file path, or "
                                       "postgres://user@host:port/database"));
    if (text.startsWith(QLatin1String("postgres://"), Qt::CaseInsensitive)
        || text.startsWith(QLatin1String("postgresql://"), Qt::CaseInsensitive))
        return parsePostgres(text);
    if (text.startsWith(QLatin1String("sqlite:"), Qt::CaseInsensitive)) {
        QString path = text.mid(7);
        if (path.startsWith(QLatin1String("//")))
            path = path.mid(2); // sqlite:///abs/path
        return parseSqlite(text, path, true);
    }
    static const QRegularExpression schemeRe(QStringLiteral("^([A-Za-z][A-Za-z0-9+.-]*)://"));
    if (const auto m = schemeRe.match(text); m.hasMatch())
        return urlError(QStringLiteral("unsupported scheme \"%1\"; expected sqlite: or postgres://")
                            .arg(m.captured(1)));
    return parseSqlite(text, text, false);
}

QString StoreConfig::redactedUrl() const
{
    if (dialect == Dialect::Sqlite)
        return url;
    QUrl u(url);
    if (!u.password().isEmpty())
        u.setPassword(QStringLiteral("***"));
    return u.toString();
}

} // namespace kairos
