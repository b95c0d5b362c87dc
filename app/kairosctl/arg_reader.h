#pragma once
// ArgReader: splits the words after a command into the options that command declares and its
// positional arguments, with error messages that name the offending flag. It knows GNU-style
// long options only ("--name value", "--name=value", "--" ends the options; "-h" is "--help"),
// which is all kairosctl uses. Pure functions; thread-safe.

#include <core/result.h>

#include <QHash>
#include <QList>
#include <QString>
#include <QStringList>

namespace kairos::cli {

struct OptionSpec {
    QString name;      // without the leading "--"
    QString valueName; // "FILE", "N", ...; empty for a switch that takes no value
    bool takesValue() const { return !valueName.isEmpty(); }
};

class ParsedArgs {
public:
    bool has(const QString &name) const { return m_values.contains(name); }
    QString value(const QString &name) const { return m_values.value(name); }
    // The option names given, in command-line order (for "cannot be combined" messages).
    const QStringList &given() const { return m_order; }
    const QStringList &positionals() const { return m_positionals; }

private:
    friend Result<ParsedArgs> readArgs(const QStringList &, const QList<OptionSpec> &);
    QHash<QString, QString> m_values;
    QStringList m_order;
    QStringList m_positionals;
};

// Errors: "unknown option --foo", "--name: missing value", "--name: missing value (got the
// option --cron)", "--wait: takes no value", "--name: given twice".
Result<ParsedArgs> readArgs(const QStringList &words, const QList<OptionSpec> &specs);

// "--count: expected a whole number from 1 to 100000, got \"x\"".
Result<qint64> readInteger(const QString &flag, const QString &text, qint64 min, qint64 max);

} // namespace kairos::cli
