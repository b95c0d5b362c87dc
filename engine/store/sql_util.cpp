#include "sql_util.h"

namespace kairos::sql {

QString errorText(const QSqlError &e)
{
    QString text = e.databaseText().trimmed();
    if (text.isEmpty())
        text = e.driverText().trimmed();
    if (text.startsWith(QLatin1String("ERROR:")))
        text = text.mid(6).trimmed();
    if (text.isEmpty())
        text = QStringLiteral("unknown database error");
    return text;
}

Error error(const QString &what, const QSqlError &e)
{
    return makeError(QStringLiteral("store: %1: %2").arg(what, errorText(e)));
}

bool isUniqueViolation(const QSqlError &e)
{
    const QString code = e.nativeErrorCode();
    if (code == QLatin1String("23505") || code == QLatin1String("2067")
        || code == QLatin1String("1555"))
        return true;
    const QString text = e.databaseText();
    return text.contains(QLatin1String("UNIQUE constraint failed"))
           || text.contains(QLatin1String("duplicate key value"));
}

QString valuesList(int columns)
{
    QStringList marks;
    for (int c = 0; c < columns; ++c)
        marks << QStringLiteral("?");
    return u'(' + marks.join(QStringLiteral(", ")) + u')';
}

QString quotedList(const QStringList &names)
{
    QStringList quoted;
    quoted.reserve(names.size());
    for (const QString &n : names)
        quoted << u'\'' + n + u'\'';
    return quoted.join(QLatin1String(", "));
}

} // namespace kairos::sql
