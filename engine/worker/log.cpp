#include "log.h"

Q_LOGGING_CATEGORY(lcWorkerProcessor, "kairos.worker.processor", QtWarningMsg)
Q_LOGGING_CATEGORY(lcWorkerRunner, "kairos.worker.runner", QtWarningMsg)
