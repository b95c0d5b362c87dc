#pragma once
// Logging category of the timing module; operators enable it with
// QT_LOGGING_RULES="kairos.timing.*=true".

#include <QLoggingCategory>

namespace kairos::timing {
Q_DECLARE_LOGGING_CATEGORY(lcCron)
} // namespace kairos::timing
