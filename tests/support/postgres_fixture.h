#pragma once
// PostgresFixture: how a test binary reaches the private PostgreSQL 15 that ctest starts once
// per run (tests/support/pg-fixture.sh, registered as the "postgres" ctest fixture; a test opts
// in with kairos_require_postgres(<test>) in CMake). Each test case takes its own fresh
// database, so tests are independent and can run in parallel. When the server is not
// reachable the test FAILS with the reason, unless KAIROS_TEST_NO_POSTGRES=1 is set, in which
// case it is skipped with a message. Outside ctest, KAIROS_TEST_PG_URL=postgres://... points at
// any server where the user may CREATE DATABASE. Thread-safe (no shared state besides env).

#include <core/result.h>

#include <QString>
#include <QtTest>

namespace kairos::test {

class PostgresFixture {
public:
    // The URL of the server's maintenance database (postgres://postgres@127.0.0.1:PORT/postgres).
    static Result<QString> url();
    // Creates an empty database t_<random> on that server and returns its URL.
    static Result<QString> freshDatabaseUrl();
    // KAIROS_TEST_NO_POSTGRES=1: PostgreSQL cases are skipped instead of failing.
    static bool skipRequested();
};

} // namespace kairos::test

// In a test function: declares QString `var` holding a fresh database URL, or fails (or skips,
// with KAIROS_TEST_NO_POSTGRES=1) the test with the reason.
#define KAIROS_FRESH_POSTGRES_URL(var)                                                             \
    QString var;                                                                                   \
    do {                                                                                           \
        const auto kairosPgUrl_ = ::kairos::test::PostgresFixture::freshDatabaseUrl();             \
        if (!kairosPgUrl_) {                                                                       \
            if (::kairos::test::PostgresFixture::skipRequested())                                  \
                QSKIP(                                                                             \
                    qPrintable(QStringLiteral("PostgreSQL skipped (KAIROS_TEST_NO_POSTGRES=1): ")  \
                               + kairosPgUrl_.error()));                                           \
            QFAIL(qPrintable(kairosPgUrl_.error()));                                               \
        }                                                                                          \
        var = kairosPgUrl_.value();                                                                \
    } while (false)
