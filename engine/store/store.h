#pragma once
// The public face of engine/store: include this to get the configuration, the Database, every
// repository and the StoreThread. See docs/storage.md for the schema and the guarantees.

#include "cluster_repository.h"
#include "credential_repository.h"
#include "database.h"
#include "instance_repository.h"
#include "job_repository.h"
#include "log_repository.h"
#include "meta_repository.h"
#include "store_config.h"
#include "store_thread.h"
#include "task_repository.h"
