#include "timinglog.h"

namespace kairos::timing {
Q_LOGGING_CATEGORY(lcCron, "kairos.timing.cron", QtWarningMsg)
} // namespace kairos::timing
