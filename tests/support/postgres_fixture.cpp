#include "postgres_fixture.h"

#include <QAtomicInteger>
#include <QFile>
#include <QRandomGenerator>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QUrl>

namespace kairos::test {
namespace {

Error fixtureError(const QString &what)
{
    return makeError(QStringLiteral("PostgreSQL for tests: ") + what);
}

} // namespace

bool PostgresFixture::skipRequested()
{
    return qEnvironmentVariable("KAIROS_TEST_NO_POSTGRES") == QLatin1String("1");
}

Result<QString> PostgresFixture::url()
{
    const QString direct = qEnvironmentVariable("KAIROS_TEST_PG_URL");
    if (!direct.isEmpty())
        return direct;
    const QString file = qEnvironmentVariable("KAIROS_TEST_PG_URL_FILE");
    if (file.isEmpty())
        return fixtureError(QStringLiteral(
            "KAIROS_TEST_PG_URL_FILE is not set. Run this test through ctest (the pg_fixture_start "
            "test starts a private server), set KAIROS_TEST_PG_URL=postgres://user@host:port/db, "
            "or set KAIROS_TEST_NO_POSTGRES=1 to skip the PostgreSQL cases"));
    QFile f(file);
    if (!f.open(QIODevice::ReadOnly))
        return fixtureError(QStringLiteral("cannot read %1 (%2); did the pg_fixture_start test "
                                           "fail? Its output names the reason")
                                .arg(file, f.errorString()));
    const QString url = QString::fromUtf8(f.readAll()).trimmed();
    if (url.isEmpty())
        return fixtureError(QStringLiteral("%1 is empty").arg(file));
    return url;
}

Result<QString> PostgresFixture::freshDatabaseUrl()
{
    const auto admin = url();
    if (!admin)
        return makeError(admin.error());
    const QUrl u(admin.value());
    if (!u.isValid() || u.host().isEmpty())
        return fixtureError(QStringLiteral("not a postgres:// URL: %1").arg(admin.value()));

    static QAtomicInteger<quint64> counter;
    const QString connection =
        QStringLiteral("kairos-test-admin-%1").arg(counter.fetchAndAddRelaxed(1));
    const QString name = QStringLiteral("t_%1_%2")
                             .arg(QRandomGenerator::global()->generate64(), 0, 16)
                             .arg(counter.loadRelaxed());
    QString error;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QPSQL"), connection);
        db.setHostName(u.host());
        db.setPort(u.port(5432));
        db.setUserName(u.userName());
        db.setPassword(u.password());
        QString adminDb = u.path().mid(1);
        db.setDatabaseName(adminDb.isEmpty() ? QStringLiteral("postgres") : adminDb);
        db.setConnectOptions(QStringLiteral("connect_timeout=5"));
        if (!db.open()) {
            error = QStringLiteral("cannot connect to %1: %2")
                        .arg(admin.value(), db.lastError().text());
        } else {
            QSqlQuery q(db);
            if (!q.exec(QStringLiteral("CREATE DATABASE ") + name))
                error =
                    QStringLiteral("CREATE DATABASE %1 failed: %2").arg(name, q.lastError().text());
        }
        db.close();
    }
    QSqlDatabase::removeDatabase(connection);
    if (!error.isEmpty())
        return fixtureError(error);
    QUrl fresh(u);
    fresh.setPath(u'/' + name);
    return fresh.toString();
}

} // namespace kairos::test
