#include "store_provider.h"

#include "reporter.h"

#include <store/store_config.h>

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>

namespace kairos::bench {
namespace {

QString fixtureScript()
{
    return QStringLiteral(KAIROS_BENCH_SOURCE_DIR "/tests/support/pg-fixture.sh");
}

QString readTrimmed(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QString::fromUtf8(f.readAll()).trimmed();
}

} // namespace

Result<std::unique_ptr<StoreProvider>> StoreProvider::create(const QString &kind)
{
    std::unique_ptr<StoreProvider> p(new StoreProvider);
    p->m_kind = kind;
    if (!p->m_dir.isValid())
        return makeError(QStringLiteral("cannot create a temporary folder under /tmp: %1")
                             .arg(p->m_dir.errorString()));
    if (kind == QLatin1String("postgres")) {
        if (Status s = p->startPostgres(); !s.ok())
            return makeError(s.error());
    } else if (kind != QLatin1String("sqlite")) {
        return makeError(
            QStringLiteral("store: expected sqlite or postgres, got \"%1\"").arg(kind));
    }
    return p;
}

Status StoreProvider::startPostgres()
{
    // An existing server (for diagnostics, e.g. one with pg_stat_statements loaded).
    const QString external = qEnvironmentVariable("KAIROS_BENCH_PG_URL");
    if (!external.isEmpty()) {
        m_adminUrl = external;
        m_external = true;
        Reporter::progress(QStringLiteral("using the PostgreSQL server of KAIROS_BENCH_PG_URL"));
        return {};
    }
    Reporter::progress(QStringLiteral("starting a private PostgreSQL 15 (pg-fixture.sh)"));
    QProcess fixture;
    fixture.setProcessChannelMode(QProcess::MergedChannels);
    fixture.start(QStringLiteral("bash"),
                  {fixtureScript(), QStringLiteral("start"), m_dir.filePath(QStringLiteral("pg"))});
    if (!fixture.waitForFinished(120000) || fixture.exitCode() != 0) {
        return makeError(QStringLiteral("PostgreSQL: %1 start failed: %2")
                             .arg(fixtureScript(), QString::fromUtf8(fixture.readAll()).trimmed()));
    }
    m_adminUrl = readTrimmed(m_dir.filePath(QStringLiteral("pg/url")));
    if (m_adminUrl.isEmpty())
        return makeError(QStringLiteral("PostgreSQL: pg-fixture.sh wrote no url"));
    return {};
}

StoreProvider::~StoreProvider()
{
    if (!m_adminUrl.isEmpty()) {
        if (QSqlDatabase::contains(QStringLiteral("kairos-bench-admin")))
            QSqlDatabase::database(QStringLiteral("kairos-bench-admin"), false).close();
        QSqlDatabase::removeDatabase(QStringLiteral("kairos-bench-admin"));
    }
    if (!m_adminUrl.isEmpty() && !m_external) {
        QProcess fixture;
        fixture.start(QStringLiteral("bash"), {fixtureScript(), QStringLiteral("stop"),
                                               m_dir.filePath(QStringLiteral("pg"))});
        fixture.waitForFinished(60000);
    }
}

qint64 StoreProvider::serverPid() const
{
    if (m_adminUrl.isEmpty())
        return 0;
    if (m_external)
        return qEnvironmentVariable("KAIROS_BENCH_PG_PID").toLongLong();
    const QString base = readTrimmed(m_dir.filePath(QStringLiteral("pg/datadir")));
    const QString pidFile = readTrimmed(base + QStringLiteral("/data/postmaster.pid"));
    return pidFile.section(u'\n', 0, 0).toLongLong();
}

Status StoreProvider::adminExec(const QString &sql)
{
    const QString name = QStringLiteral("kairos-bench-admin");
    QSqlDatabase db = QSqlDatabase::contains(name)
                          ? QSqlDatabase::database(name, false)
                          : QSqlDatabase::addDatabase(QStringLiteral("QPSQL"), name);
    if (!db.isOpen()) {
        auto cfg = StoreConfig::parse(m_adminUrl);
        if (!cfg)
            return makeError(cfg.error());
        db.setHostName(cfg->host);
        db.setPort(cfg->port);
        db.setUserName(cfg->user);
        db.setPassword(cfg->password);
        db.setDatabaseName(cfg->database);
        if (!db.open())
            return makeError(
                QStringLiteral("PostgreSQL admin connection: %1").arg(db.lastError().text()));
    }
    QSqlQuery q(db);
    if (!q.exec(sql))
        return makeError(QStringLiteral("PostgreSQL: %1: %2").arg(sql, q.lastError().text()));
    return {};
}

Result<QString> StoreProvider::freshUrl(const QString &tag, const QString &dir)
{
    const QString name = QStringLiteral("bench_%1_%2").arg(tag).arg(++m_counter);
    if (m_kind == QLatin1String("sqlite")) {
        const QString folder = dir.isEmpty() ? m_dir.path() : dir;
        QDir().mkpath(folder);
        return QStringLiteral("sqlite:") + QDir(folder).filePath(name + QStringLiteral(".db"));
    }
    if (Status s = adminExec(QStringLiteral("CREATE DATABASE %1").arg(name)); !s.ok())
        return makeError(s.error());
    QString url = m_adminUrl;
    url.replace(QRegularExpression(QStringLiteral("/[^/]*$")), QLatin1Char('/') + name);
    return url;
}

void StoreProvider::release(const QString &url)
{
    if (m_kind == QLatin1String("sqlite")) {
        const QString path = url.mid(int(qstrlen("sqlite:")));
        for (const QString &suffix : {QString(), QStringLiteral("-wal"), QStringLiteral("-shm")})
            QFile::remove(path + suffix);
        return;
    }
    const QString name = url.section(u'/', -1).section(u'?', 0, 0);
    // WITH (FORCE): a connection the engine left behind must not keep the database alive.
    if (Status s = adminExec(QStringLiteral("DROP DATABASE IF EXISTS %1 WITH (FORCE)").arg(name));
        !s.ok())
        Reporter::progress(s.error());
}

} // namespace kairos::bench
