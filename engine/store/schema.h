#pragma once
// Schema: the versioned table layout of the store and the steps that build it, for both
// dialects. Step N turns version N-1 into version N; createDB() runs every step on an empty
// database and updateDB(from) runs the steps after `from`, so a fresh database and an upgraded
// one are built by the same statements and cannot drift apart. Internal to engine/store; called
// by Database::migrate() inside its transaction, on the Database's thread.

#include "database.h"

namespace kairos::schema {

constexpr int kLatestVersion = 4;

// PostgreSQL fillfactor of instance_tasks: every row is written twice (insert, then its final
// state), and the free space lets that update stay on the row's page as a HOT update, which
// leaves the primary key index alone (docs/storage.md).
constexpr int kTaskFillFactor = 50;

Status createDB(Database &db, int targetVersion);
Status updateDB(Database &db, int fromVersion, int targetVersion);

} // namespace kairos::schema
