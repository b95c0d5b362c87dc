#pragma once
// LogRepository: the log lines of instances. Lines get a per-instance sequence number (seq)
// that increases by one per line, across batches, restarts and attempts, so a reader can follow
// a log with "everything after seq N" and notice nothing is missing. The next seq per instance
// is cached on the connection (initialised from MAX(seq) on first use, dropped after any
// rollback), so appending costs one multi-row INSERT per batch. Synchronous and not
// thread-safe: use it on the thread that owns the Database.

#include "database.h"

#include <core/instance.h>

#include <QList>

namespace kairos {

class LogRepository {
public:
    explicit LogRepository(Database &db)
        : m_db(db)
    {}

    // Assigns `seq` to every line (in list order per instance) and stores them atomically. If
    // another connection appended to the same instance meanwhile (PostgreSQL with several
    // servers), the cached numbers are refreshed and the batch retried once.
    Status append(QList<LogLine> &lines);
    // Lines of an instance with seq > afterSeq, in seq order, at most `limit`.
    QList<LogLine> read(qint64 instanceId, qint64 afterSeq, int limit);

private:
    Status appendOnce(QList<LogLine> &lines, bool *duplicate);
    Status loadNextSeq(const QList<qint64> &instanceIds);

    Database &m_db;
};

} // namespace kairos
