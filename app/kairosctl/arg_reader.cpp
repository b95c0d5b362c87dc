#include "arg_reader.h"

#include <QRegularExpression>

#include <limits>

namespace kairos::cli {
namespace {

const OptionSpec *findSpec(const QList<OptionSpec> &specs, const QString &name)
{
    for (const OptionSpec &s : specs) {
        if (s.name == name)
            return &s;
    }
    return nullptr;
}

} // namespace

Result<ParsedArgs> readArgs(const QStringList &words, const QList<OptionSpec> &specs)
{
    ParsedArgs out;
    bool optionsEnded = false;
    for (qsizetype i = 0; i < words.size(); ++i) {
        const QString &word = words.at(i);
        if (optionsEnded || !word.startsWith(u'-') || word == QLatin1String("-")) {
            out.m_positionals << word;
            continue;
        }
        if (word == QLatin1String("--")) {
            optionsEnded = true;
            continue;
        }
        QString name;
        QString inlineValue;
        bool hasInlineValue = false;
        if (word == QLatin1String("-h")) {
            name = QStringLiteral("help");
        } else if (word.startsWith(QLatin1String("--"))) {
            name = word.mid(2);
            const qsizetype eq = name.indexOf(u'=');
            if (eq >= 0) {
                inlineValue = name.mid(eq + 1);
                name.truncate(eq);
                hasInlineValue = true;
            }
        } else {
            // kairosctl has no short options besides -h; "-5" is a (negative) number.
            static const QRegularExpression negative(QStringLiteral("^-\\d+$"));
            if (negative.match(word).hasMatch()) {
                out.m_positionals << word;
                continue;
            }
            return makeError(QStringLiteral("unknown option %1").arg(word));
        }
        const OptionSpec *spec = findSpec(specs, name);
        if (!spec)
            return makeError(QStringLiteral("unknown option --%1").arg(name));
        if (out.m_values.contains(name))
            return makeError(QStringLiteral("--%1: given twice").arg(name));
        QString value;
        if (spec->takesValue()) {
            if (hasInlineValue) {
                value = inlineValue;
            } else {
                if (i + 1 >= words.size())
                    return makeError(QStringLiteral("--%1: missing value").arg(name));
                const QString &next = words.at(i + 1);
                // "--name --cron ..." is almost certainly a forgotten value, not a name.
                if (next.startsWith(QLatin1String("--")) && next.size() > 2
                    && findSpec(specs, next.mid(2).section(u'=', 0, 0))) {
                    return makeError(QStringLiteral("--%1: missing value (got the option %2)")
                                         .arg(name, next.section(u'=', 0, 0)));
                }
                value = next;
                ++i;
            }
        } else if (hasInlineValue) {
            return makeError(QStringLiteral("--%1: takes no value").arg(name));
        }
        out.m_values.insert(name, value);
        out.m_order << name;
    }
    return out;
}

Result<qint64> readInteger(const QString &flag, const QString &text, qint64 min, qint64 max)
{
    static const QRegularExpression number(QStringLiteral("^-?\\d{1,18}$"));
    const QString t = text.trimmed();
    bool inRange = false;
    qint64 n = 0;
    if (number.match(t).hasMatch()) {
        n = t.toLongLong();
        inRange = n >= min && n <= max;
    }
    if (inRange)
        return n;
    const QString range =
        max == std::numeric_limits<qint64>::max()
            ? (min == 0 ? QStringLiteral("0 or more") : QStringLiteral("%1 or more").arg(min))
            : QStringLiteral("from %1 to %2").arg(min).arg(max);
    return makeError(
        QStringLiteral("%1: expected a whole number %2, got \"%3\"").arg(flag, range, text));
}

} // namespace kairos::cli
