#pragma once
// Summaries of measured samples: percentiles of one repetition's samples (latencies) and the
// median/min/max of one figure over the repetitions. Percentiles use the nearest-rank rule
// (the smallest sample with at least p% of the samples at or below it), the same rule as the
// peers' harness (/work/shared/peers/node/bench/harness.mjs), so the numbers compare.
// Pure functions on values: thread-safe.

#include <QJsonArray>
#include <QJsonObject>
#include <QList>

namespace kairos::bench {

// {n, min, p50, p90, p99, max, mean} of `samples`, rounded to `decimals`; an empty object when
// there are no samples.
QJsonObject percentiles(QList<double> samples, int decimals = 3);

// The median of `values` (the mean of the two middle ones for an even count); 0 when empty.
double median(QList<double> values);

// Rounds to `decimals` places for output (keeps the JSON readable; the precision is stated in
// docs/benchmarks.md).
double rounded(double value, int decimals);

// Combines the per-repetition objects of one workload into {figure: {median, min, max}} for
// every numeric field (nested objects are combined field by field, so {"latency_ms": {"p50"}}
// becomes {"latency_ms": {"p50": {median, min, max}}}). Non-numeric fields are taken from the
// first repetition.
QJsonObject combineRepetitions(const QList<QJsonObject> &reps);

} // namespace kairos::bench
