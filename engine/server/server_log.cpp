#include "server_log.h"

Q_LOGGING_CATEGORY(lcEngine, "kairos.server.engine", QtWarningMsg)
Q_LOGGING_CATEGORY(lcBook, "kairos.server.book", QtWarningMsg)
Q_LOGGING_CATEGORY(lcDispatch, "kairos.server.dispatch", QtWarningMsg)
Q_LOGGING_CATEGORY(lcTrigger, "kairos.server.trigger", QtWarningMsg)
Q_LOGGING_CATEGORY(lcAdmin, "kairos.server.admin", QtWarningMsg)
