#pragma once
// The tasks of one run of a BROADCAST, MAP or MAP_REDUCE job, as the server stores them and the
// console and kairosctl show them (docs/execution-modes.md). A STANDALONE run has no task rows.
// Plain value types with their JSON shapes (admin protocol `instance.tasks` and the `tasks`
// event topic).

#include "types.h"

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QString>

#include <optional>

namespace kairos {

// One task of one instance attempt. (instanceId, attempt, taskId) is its identity; task ids are
// allocated by the server per instance attempt, starting at 1, in creation order.
struct TaskInfo {
    qint64 instanceId = 0;
    int attempt = 1; // the instance attempt this task belongs to
    qint64 taskId = 0;
    qint64 parentId = 0; // the task whose map() created it (0 = none: root, broadcast, ...)
    qint64 seq = 0;      // position among the parent's mapped items (dedup of re-runs)
    QString name;        // map(items, name)'s name; "root", "reduce", "preProcess", ...
    TaskRole role = TaskRole::Subtask;
    // WAITING_DISPATCH, DISPATCHED, RUNNING, SUCCEEDED, FAILED, TIMED_OUT or CANCELED.
    InstanceStatus status = InstanceStatus::WaitingDispatch;
    int runs = 0;       // how many times it was dispatched (1 on its first run; failovers and
                        // retries add one each) — the processor sees this as its task attempt
    QString worker;     // worker id of its latest run; for BROADCAST bound at creation, never reset
    QString address;    // that worker's advertised address, kept with it
    QString result;     // processor result text, or why it failed
    QByteArray payload; // the mapped item (opaque bytes); empty for non-subtasks. Not in JSON.
    qint64 createdAtMs = 0;
    qint64 startedAtMs = 0;
    qint64 finishedAtMs = 0;
    bool operator==(const TaskInfo &) const = default;
};

// How many tasks of one instance attempt are in each state.
struct TaskCounts {
    qint64 total = 0;
    qint64 waiting = 0; // WAITING_DISPATCH
    qint64 running = 0; // DISPATCHED or RUNNING
    qint64 succeeded = 0;
    qint64 failed = 0; // FAILED, TIMED_OUT or CANCELED
    bool operator==(const TaskCounts &) const = default;
};

// One coalesced event of the `tasks` topic: the counts of an instance attempt now, and the task
// rows that changed since the previous event of that instance — at most kMaxChangedPerEvent of
// them; `truncated` says that more changed (a console then shows counts and re-reads a page).
struct TaskProgress {
    static constexpr int kMaxChangedPerEvent = 200;
    qint64 instanceId = 0;
    int attempt = 1;
    TaskCounts counts;
    QList<TaskInfo> changed;
    bool truncated = false;
    bool operator==(const TaskProgress &) const = default;
};

// What a reduce or a broadcast postProcess sees of one finished task.
struct TaskResultEntry {
    qint64 taskId = 0;
    QString name;
    InstanceStatus status = InstanceStatus::Succeeded;
    QString result;
    QString worker;  // worker id
    QString address; // its address
    int runs = 1;
    bool operator==(const TaskResultEntry &) const = default;
};

// Filter of `instance.tasks`: keyset paging by task id.
struct TaskFilter {
    int attempt = 0;                // 0 = the instance's current attempt
    QList<InstanceStatus> statuses; // empty = any
    qint64 afterTaskId = 0;
    int limit = 100;
};

QJsonObject taskInfoToJson(const TaskInfo &t);
TaskInfo taskInfoFromJson(const QJsonObject &o);
QJsonObject taskCountsToJson(const TaskCounts &c);
TaskCounts taskCountsFromJson(const QJsonObject &o);
QJsonObject taskProgressToJson(const TaskProgress &p);
TaskProgress taskProgressFromJson(const QJsonObject &o);
QJsonObject taskResultToJson(const TaskResultEntry &r);
TaskResultEntry taskResultFromJson(const QJsonObject &o);

// Adds one task's move from `from` to `to` to the counts (from may be "none" for a new task:
// pass std::nullopt).
void countTransition(TaskCounts &counts, std::optional<InstanceStatus> from, InstanceStatus to);

} // namespace kairos
