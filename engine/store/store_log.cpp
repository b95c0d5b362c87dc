#include "store_log.h"

Q_LOGGING_CATEGORY(lcStoreDb, "kairos.store.db", QtWarningMsg)
Q_LOGGING_CATEGORY(lcStoreThread, "kairos.store.thread", QtWarningMsg)
