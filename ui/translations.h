#pragma once
// Translations: which languages the console ships (English and Simplified Chinese) and how
// they are switched on — the console's own catalogue (embedded as :/i18n/kairos_<lang>.qm)
// plus Qt's catalogue for standard dialogs, when the system has it.
//
// Call from the main thread, before any window is created.

#include <core/result.h>

#include <QCoreApplication>
#include <QStringList>

namespace kairos::ui {

class Translations {
    Q_DECLARE_TR_FUNCTIONS(kairos::ui::Translations)

public:
    static QStringList available(); // {"en", "zh_CN"}
    // The system locale's language when it is shipped (any Chinese locale gets zh_CN),
    // otherwise English.
    static QString systemDefault();
    // Installs the translators for `language` (one of available()) on the application. The
    // error names what was given and what was expected.
    static Status install(const QString &language);
};

} // namespace kairos::ui
