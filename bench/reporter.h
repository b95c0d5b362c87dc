#pragma once
// Reporter: writes the benchmark results, one JSON object per line, to stdout (and appends them
// to --out FILE), and human progress to stderr. Every line carries the same header: bench,
// store, machine (nproc, cpu model, memory, load average when the line's workload started), git
// (commit, dirty) and timestamp; workloads add their figures. It also waits for a quiet machine
// before a repetition, since this box is shared.
//
// Main thread only.

#include <QFile>
#include <QJsonObject>
#include <QString>

namespace kairos::bench {

class Reporter {
public:
    explicit Reporter(const QString &outFile);

    // The header fields, taken now (load average, timestamp).
    QJsonObject header(const QString &bench, const QString &store) const;
    // Prints `line` on stdout (one line, compact) and appends it to the --out file.
    void emitLine(const QJsonObject &line);
    // A progress line on stderr, prefixed with the time.
    static void progress(const QString &text);
    // Waits (at most maxS seconds) until other processes use less than `cores` CPU over 2 s;
    // returns the busy cores measured last.
    static double waitQuiet(double cores, int maxS);

    static QJsonObject machine();
    static QJsonObject git();

private:
    QFile m_out;
    QJsonObject m_machine;
    QJsonObject m_git;
};

} // namespace kairos::bench
