#pragma once
// Schema: the versioned table layout of the store and the steps that build it, for both
// dialects. Step N turns version N-1 into version N; createDB() runs every step on an empty
// database and updateDB(from) runs the steps after `from`, so a fresh database and an upgraded
// one are built by the same statements and cannot drift apart. Internal to engine/store; called
// by Database::migrate() inside its transaction, on the Database's thread.

#include "database.h"

namespace kairos::schema {

constexpr int kLatestVersion = 2;

Status createDB(Database &db, int targetVersion);
Status updateDB(Database &db, int fromVersion, int targetVersion);

} // namespace kairos::schema
