#pragma once
// Logging categories of the worker daemon (default level: warning). Operators enable more with
// QT_LOGGING_RULES="kairos.agent.*=true".

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcAgent)      // kairos.agent.link: connection, registration, messages
Q_DECLARE_LOGGING_CATEGORY(lcAgentLease) // kairos.agent.lease
Q_DECLARE_LOGGING_CATEGORY(lcAgentGate)  // kairos.agent.gate: the task queue in front of the runner
