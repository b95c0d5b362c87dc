#pragma once
// Logging categories of the store (default level: warning). Turn them on with
// QT_LOGGING_RULES="kairos.store.*=true".

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcStoreDb)
Q_DECLARE_LOGGING_CATEGORY(lcStoreThread)
