#pragma once
// Views: the human-readable forms of the admin replies kairosctl prints — job and instance
// tables, one job or one instance field by field, log lines, server info. They read the JSON
// shapes of jobToJson()/instanceToJson()/attemptToJson()/logLineToJson() as the server sends
// them, and show times as local ISO-8601 in the zone given (the machine's zone in kairosctl,
// a fixed zone in tests). Pure functions; thread-safe.

#include <QJsonArray>
#include <QJsonObject>
#include <QString>
#include <QTimeZone>

namespace kairos::cli {

// Local ISO-8601 with offset ("2026-03-08T03:00:00-04:00"); "-" for 0 or less (not yet /
// never).
QString formatTime(qint64 epochMs, const QTimeZone &zone);

// "CRON 0 0 2 * * ?", "FIXED_RATE 30s", "API".
QString timingSummary(const QJsonObject &job);

// One job, a field per line (job create / update / show).
QString jobDetail(const QJsonObject &job, const QTimeZone &zone);
// ID NAME ENABLED TIMING ZONE NEXT FIRE PROCESSOR (job list).
QString jobTable(const QJsonArray &jobs, const QTimeZone &zone);
// "job 7 (nightly) enabled; next fire 2026-..." (job enable / disable).
QString jobStateLine(const QJsonObject &job, const QTimeZone &zone);

// ID JOB STATUS TRIGGER ATTEMPT WORKER CREATED FINISHED REASON (instance list, job run --wait).
QString instanceTable(const QJsonArray &instances, const QTimeZone &zone);
// An instance.get reply ({instance, attempts}): the fields, then the attempts table.
QString instanceDetail(const QJsonObject &reply, const QTimeZone &zone);

// "<local time> <OUT|ERR|SYS> <text>" (instance logs); a line a task of a broadcast or map run
// logged reads "<local time> <stream> [task N] <text>".
QString logLineText(const QJsonObject &line, const QTimeZone &zone);

// TASK NAME ROLE STATUS RUNS WORKER ADDRESS RESULT (instance tasks), the task JSON of
// taskInfoToJson(); RESULT is the result's first line, at most kTaskResultWidth characters.
constexpr int kTaskResultWidth = 60;
QString taskTable(const QJsonArray &tasks);
// The same table a page at a time (instance tasks --all, which may list a million tasks without
// holding them): `widths` is empty before the first page, which prints the header, and carries
// the column widths on to the next page.
QString taskTablePage(const QJsonArray &tasks, QList<qsizetype> &widths);
// A result text as one table cell: its first line, cut to `maxChars` with "..." when longer or
// when more lines follow.
QString firstLine(const QString &text, int maxChars);

QString serverInfo(const QJsonObject &info, const QTimeZone &zone);

// How long ago `thenMs` was, seen at `nowMs`: "0.8 s ago", "42 s ago", "5 min ago", "3 h ago",
// "2 d ago"; "-" for 0 (never). A time slightly ahead (clocks of two machines) reads "0.0 s ago".
QString ageText(qint64 thenMs, qint64 nowMs);
// Megabytes for a reader: "512 MB", "1.5 GB", "2.0 TB".
QString sizeText(qint64 mb);

// NAME ALIVE WORKERS (app list).
QString appTable(const QJsonArray &apps);
// The lines on stderr after `app create` / `app rotate-secret`, whose stdout is the secret alone
// (so `kairosctl app create billing > billing.secret` writes a usable secret file).
QString appSecretNote(const QJsonObject &reply, bool created);
// ID APP ADDRESS STATE LAST HEARTBEAT LOAD MEM FREE DISK FREE RUNNING TAGS (worker list), ages
// seen at `nowMs`. Metrics a worker does not report (the local worker) show as "-".
QString workerTable(const QJsonArray &workers, qint64 nowMs);

} // namespace kairos::cli
