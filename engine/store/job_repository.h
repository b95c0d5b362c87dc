#pragma once
// JobRepository: stores job definitions with optimistic locking. Every update is
// `UPDATE ... WHERE id = ? AND version = ?`; a lost race is an ordinary result whose error text
// starts with "conflict:" (see isConflict), never an exception. Synchronous and not
// thread-safe: use it on the thread that owns the Database (the StoreThread in the engine).
// Cheap to construct; prepared statements live in the Database.

#include "database.h"

#include <core/job.h>

#include <QList>

#include <optional>

namespace kairos {

// Whether an error from a repository means "someone else changed it first" (reload and retry
// or tell the user), as opposed to a real failure.
bool isConflict(const QString &error);
template<typename T> bool isConflict(const Result<T> &r)
{
    return !r.ok() && isConflict(r.error());
}

class JobRepository {
public:
    explicit JobRepository(Database &db)
        : m_db(db)
    {}

    // Stores a new job: assigns id, version = 1 and created/updated times. A taken name fails
    // with "name: a job named \"x\" already exists".
    Result<Job> insert(Job job);
    // Writes every field of `job` if the stored version still equals job.version, and returns
    // the stored job (version + 1, new updated time). A lost race fails with
    // "conflict: job N was changed by someone else ..."; a removed job with "job N: not found".
    Result<Job> update(const Job &job);
    std::optional<Job> get(qint64 id);
    std::optional<Job> findByName(const QString &name);
    QList<Job> list(); // ordered by id
    // Deletes the job (its lease goes with it). Its instances stay, keeping the job's name.
    Status remove(qint64 id);

private:
    Database &m_db;
};

} // namespace kairos
