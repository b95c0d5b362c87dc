#include "translations.h"

#include "ui_log.h"

#include <QLibraryInfo>
#include <QLocale>
#include <QTranslator>

namespace kairos::ui {

QStringList Translations::available()
{
    return {QStringLiteral("en"), QStringLiteral("zh_CN")};
}

QString Translations::systemDefault()
{
    const QLocale system = QLocale::system();
    if (system.language() == QLocale::Chinese)
        return QStringLiteral("zh_CN");
    return QStringLiteral("en");
}

Status Translations::install(const QString &language)
{
    if (!available().contains(language)) {
        return makeError(tr("--lang: expected one of %1 but got \"%2\"")
                             .arg(available().join(QStringLiteral(", ")), language));
    }
    auto *app = QCoreApplication::instance();
    auto *own = new QTranslator(app);
    if (!own->load(QStringLiteral(":/i18n/kairos_%1.qm").arg(language))) {
        delete own;
        return makeError(tr("--lang: the %1 translation is missing from this build").arg(language));
    }
    QCoreApplication::installTranslator(own);
    QLocale::setDefault(QLocale(language));

    // Qt's own strings (standard buttons, context menus); optional: not every system has them.
    auto *qt = new QTranslator(app);
    if (language != QLatin1String("en")
        && qt->load(QStringLiteral("qt_") + language,
                    QLibraryInfo::path(QLibraryInfo::TranslationsPath))) {
        QCoreApplication::installTranslator(qt);
    } else {
        delete qt;
        if (language != QLatin1String("en"))
            qCInfo(lcUiWindow) << "no Qt translation for" << language;
    }
    return {};
}

} // namespace kairos::ui
