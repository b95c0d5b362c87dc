#pragma once
// Logging categories of the server components (default level: warning).

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcEngine)
Q_DECLARE_LOGGING_CATEGORY(lcBook)
Q_DECLARE_LOGGING_CATEGORY(lcDispatch)
Q_DECLARE_LOGGING_CATEGORY(lcTrigger)
Q_DECLARE_LOGGING_CATEGORY(lcAdmin)
