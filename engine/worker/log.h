#pragma once
// Logging categories of the worker module (default level: warning). Enable with
// QT_LOGGING_RULES="kairos.worker.*=true".

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcWorkerProcessor)
Q_DECLARE_LOGGING_CATEGORY(lcWorkerRunner)
