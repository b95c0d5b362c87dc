#pragma once
// The built-in processors that need no outside resource: Echo (the no-op used by benchmarks and
// smoke tests) and Sleep (waits, then succeeds or fails as configured; handy for timeout, cancel
// and retry tests); and DefaultHookRun, the broadcast hook of a processor that has none. Same
// threading rules as ProcessorRun.

#include "processor.h"

#include <QTimer>

namespace kairos {

// Echo: {"message": "..."}; without a message it echoes the instance params, else the job
// params. start() logs the message once and finishes Succeeded with it as the result,
// synchronously, before start() returns: no timer, no allocation beyond the log line's signal.
struct EchoConfig {
    QString message;
    bool hasMessage = false;
};
Result<EchoConfig> parseEchoConfig(const QJsonObject &config);

class EchoRun final : public ProcessorRun {
    Q_OBJECT
public:
    EchoRun(const TaskSpec &spec, EchoConfig config, QObject *parent = nullptr);
    void start() override;
    void cancel(const QString &reason) override;

private:
    EchoConfig m_config;
};

// Sleep: {"ms": 1000, "exitCode": 0, "fail": false, "failAttempts": 0}. Waits ms, then:
// Failed "exit code N" when exitCode is non-zero, when fail is true (N = exitCode or 1), or when
// the attempt number is <= failAttempts (fails the first attempts, then succeeds: retries);
// otherwise Succeeded "slept 1000 ms". cancel/timeout stop the timer at once.
struct SleepConfig {
    qint64 ms = 0;
    int exitCode = 0;
    bool fail = false;
    int failAttempts = 0;
};
Result<SleepConfig> parseSleepConfig(const QJsonObject &config);

class SleepRun final : public ProcessorRun {
    Q_OBJECT
public:
    SleepRun(const TaskSpec &spec, SleepConfig config, QObject *parent = nullptr);
    void start() override;
    void cancel(const QString &reason) override;

private:
    void onElapsed();

    SleepConfig m_config;
    qint64 m_remainingMs = 0;
    QTimer m_timer{this}; // a child moves with the run to its thread
};

// A PreProcess / PostProcess task for a processor that lacks that hook (a Shell job without
// "preScript"/"postScript", Echo, Sleep, Http: broadcastHooksOf says none, but a server may send
// one anyway). It does what the SDK's BroadcastProcessor does by default: PreProcess succeeds;
// PostProcess succeeds with "N of M workers succeeded" when every result in the spec succeeded,
// else fails with that text. Finishes inside start().
class DefaultHookRun final : public ProcessorRun {
    Q_OBJECT
public:
    explicit DefaultHookRun(const TaskSpec &spec, QObject *parent = nullptr);
    void start() override;
    void cancel(const QString &reason) override;
};

} // namespace kairos
