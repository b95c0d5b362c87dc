#include "ui_log.h"

Q_LOGGING_CATEGORY(lcUiJobs, "kairos.ui.jobs", QtWarningMsg)
Q_LOGGING_CATEGORY(lcUiInstances, "kairos.ui.instances", QtWarningMsg)
Q_LOGGING_CATEGORY(lcUiLogs, "kairos.ui.logs", QtWarningMsg)
Q_LOGGING_CATEGORY(lcUiWindow, "kairos.ui.window", QtWarningMsg)
