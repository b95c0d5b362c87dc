#include "log.h"

Q_LOGGING_CATEGORY(lcCore, "kairos.core", QtWarningMsg)
