#pragma once
// Logging categories of the console, one per component (default level: warning). Turn them on
// with QT_LOGGING_RULES="kairos.ui.*=true".

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcUiJobs)
Q_DECLARE_LOGGING_CATEGORY(lcUiInstances)
Q_DECLARE_LOGGING_CATEGORY(lcUiLogs)
Q_DECLARE_LOGGING_CATEGORY(lcUiWindow)
