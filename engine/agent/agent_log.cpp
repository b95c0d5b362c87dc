#include "agent_log.h"

Q_LOGGING_CATEGORY(lcAgent, "kairos.agent.link", QtWarningMsg)
Q_LOGGING_CATEGORY(lcAgentLease, "kairos.agent.lease", QtWarningMsg)
Q_LOGGING_CATEGORY(lcAgentGate, "kairos.agent.gate", QtWarningMsg)
