#pragma once
// One logging category per component (default level: warning). Operators enable more with
// QT_LOGGING_RULES="kairos.server.*=true".

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcCore)
