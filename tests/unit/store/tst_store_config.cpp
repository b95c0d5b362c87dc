// What an operator sees when writing the store URL: accepted forms and named mistakes.
#include <store/store_config.h>

#include <QtTest>

using namespace kairos;

class TstStoreConfig : public QObject {
    Q_OBJECT
private slots:
    void accepted_data()
    {
        QTest::addColumn<QString>("url");
        QTest::addColumn<int>("dialect");
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("host");
        QTest::addColumn<int>("port");
        QTest::addColumn<QString>("user");
        QTest::addColumn<QString>("password");
        QTest::addColumn<QString>("database");
        QTest::addColumn<QString>("options");

        const int sqlite = int(Dialect::Sqlite);
        const int pg = int(Dialect::Postgres);
        QTest::newRow("sqlite scheme")
            << "sqlite:/var/lib/kairos/k.db" << sqlite << "/var/lib/kairos/k.db"
            << "" << 5432 << ""
            << ""
            << ""
            << "";
        QTest::newRow("sqlite three slashes") << "sqlite:///tmp/a.db" << sqlite << "/tmp/a.db"
                                              << "" << 5432 << ""
                                              << ""
                                              << ""
                                              << "";
        QTest::newRow("plain absolute path") << "/tmp/x/../k.db" << sqlite << "/tmp/k.db"
                                             << "" << 5432 << ""
                                             << ""
                                             << ""
                                             << "";
        QTest::newRow("plain relative path")
            << "data/k.db" << sqlite << QDir::current().absoluteFilePath("data/k.db") << "" << 5432
            << ""
            << ""
            << ""
            << "";
        QTest::newRow("postgres full")
            << "postgres://kairos:s%40cret@db.example:6543/sched?sslmode=require" << pg << ""
            << "db.example" << 6543 << "kairos"
            << "s@cret"
            << "sched"
            << "sslmode=require;connect_timeout=10";
        QTest::newRow("postgresql no password, default port")
            << "postgresql://kairos@127.0.0.1/kairos" << pg << ""
            << "127.0.0.1" << 5432 << "kairos"
            << ""
            << "kairos"
            << "connect_timeout=10";
        QTest::newRow("postgres own timeout") << "postgres://u@h/db?connect_timeout=3" << pg << ""
                                              << "h" << 5432 << "u"
                                              << ""
                                              << "db"
                                              << "connect_timeout=3";
    }

    void accepted()
    {
        QFETCH(QString, url);
        QFETCH(int, dialect);
        auto parsed = StoreConfig::parse(url);
        QVERIFY2(parsed.ok(), qPrintable(parsed.error()));
        QCOMPARE(int(parsed->dialect), dialect);
        QCOMPARE(parsed->url, url);
        QTEST(parsed->sqlitePath, "path");
        if (parsed->dialect == Dialect::Postgres) {
            QTEST(parsed->host, "host");
            QTEST(parsed->port, "port");
            QTEST(parsed->user, "user");
            QTEST(parsed->password, "password");
            QTEST(parsed->database, "database");
            QTEST(parsed->connectOptions, "options");
        }
    }

    void rejected_data()
    {
        QTest::addColumn<QString>("url");
        QTest::addColumn<QString>("error");
        QTest::newRow("empty") << "  "
                               << "store url: expected sqlite:/path/to/kairos.db";
        QTest::newRow("relative after sqlite:")
            << "sqlite:k.db"
            << "store url: expected an absolute path after sqlite:";
        QTest::newRow("folder") << "/tmp/"
                                << "names a folder";
        QTest::newRow("mysql")
            << "mysql://u@h/db"
            << "store url: unsupported scheme \"mysql\"; expected sqlite: or postgres://";
        QTest::newRow("no host") << "postgres:///db"
                                 << "store url: expected a host";
        QTest::newRow("no database") << "postgres://u@h:5432"
                                     << "expected one database name";
        QTest::newRow("nested path") << "postgres://u@h/a/b"
                                     << "expected one database name";
        QTest::newRow("bad port") << "postgres://u@h:99999/db"
                                  << "store url: not a valid URL";
        QTest::newRow("odd option") << "postgres://u@h/db?ssl-mode=x"
                                    << "option \"ssl-mode\"";
        QTest::newRow("option value with space") << "postgres://u@h/db?application_name=a%20b"
                                                 << "option application_name";
    }

    void rejected()
    {
        QFETCH(QString, url);
        QFETCH(QString, error);
        const auto parsed = StoreConfig::parse(url);
        QVERIFY(!parsed.ok());
        QVERIFY2(parsed.error().contains(error), qPrintable(parsed.error()));
    }

    void passwordIsRedacted()
    {
        const auto parsed = StoreConfig::parse("postgres://kairos:topsecret@h/db");
        QVERIFY(parsed.ok());
        QVERIFY(!parsed->redactedUrl().contains("topsecret"));
        QVERIFY(parsed->redactedUrl().contains("kairos"));
    }
};

QTEST_GUILESS_MAIN(TstStoreConfig)
#include "tst_store_config.moc"
