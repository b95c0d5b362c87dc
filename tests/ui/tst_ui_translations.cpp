// The console's languages: the Simplified Chinese catalogue translates every message (with the
// same placeholders), English plurals read right, --lang rejects what is not shipped, and
// switching to zh_CN makes the window's actions Chinese.
#include <client/remote_client.h>
#include <ui/console_actions.h>
#include <ui/empty_state_table_view.h>
#include <ui/jobs_pane.h>
#include <ui/labels.h>
#include <ui/main_window.h>
#include <ui/translations.h>

#include <QAction>
#include <QFile>
#include <QMenuBar>
#include <QRegularExpression>
#include <QTest>
#include <QXmlStreamReader>

using namespace kairos;
using namespace kairos::ui;

namespace {

struct Message {
    QString context;
    QString source;
    QStringList translations; // one per plural form
    QString type;             // "", "unfinished", "vanished", "obsolete"
    bool numerus = false;
};

QList<Message> readTs(const QString &path, QString *error)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = file.errorString();
        return {};
    }
    QList<Message> out;
    QXmlStreamReader xml(&file);
    QString context;
    Message current;
    while (!xml.atEnd()) {
        xml.readNext();
        if (xml.isStartElement()) {
            if (xml.name() == QLatin1String("name") && current.source.isNull())
                context = xml.readElementText();
            else if (xml.name() == QLatin1String("message")) {
                current = Message{};
                current.context = context;
                current.numerus =
                    xml.attributes().value(QLatin1String("numerus")) == QLatin1String("yes");
            } else if (xml.name() == QLatin1String("source"))
                current.source = xml.readElementText();
            else if (xml.name() == QLatin1String("translation")) {
                current.type = xml.attributes().value(QLatin1String("type")).toString();
                if (!current.numerus)
                    current.translations << xml.readElementText();
            } else if (xml.name() == QLatin1String("numerusform"))
                current.translations << xml.readElementText();
        } else if (xml.isEndElement() && xml.name() == QLatin1String("message")) {
            out << current;
            current = Message{};
        }
    }
    if (xml.hasError())
        *error = xml.errorString();
    return out;
}

QStringList placeholders(const QString &text)
{
    static const QRegularExpression re(QStringLiteral("%(\\d+|n)"));
    QStringList found;
    for (auto it = re.globalMatch(text); it.hasNext();)
        found << it.next().captured(0);
    found.sort();
    found.removeDuplicates();
    return found;
}

} // namespace

class TestUiTranslations : public QObject {
    Q_OBJECT
private slots:
    void catalogueIsComplete_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<bool>("everyMessage"); // false: only plural forms need a translation
        QTest::newRow("zh_CN") << QStringLiteral("kairos_zh_CN.ts") << true;
        QTest::newRow("en") << QStringLiteral("kairos_en.ts") << false;
    }

    void catalogueIsComplete()
    {
        QFETCH(QString, file);
        QFETCH(bool, everyMessage);
        QString error;
        const QList<Message> messages =
            readTs(QStringLiteral(KAIROS_SOURCE_DIR "/translations/") + file, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QVERIFY(messages.size() > 100);
        for (const Message &m : messages) {
            if (!everyMessage && !m.numerus)
                continue;
            const QString where = m.context + QStringLiteral(": ") + m.source;
            QVERIFY2(m.type.isEmpty(), qPrintable(QStringLiteral("%1 is %2").arg(where, m.type)));
            QVERIFY2(!m.translations.isEmpty(), qPrintable(where));
            for (const QString &t : m.translations) {
                QVERIFY2(!t.trimmed().isEmpty(), qPrintable(where + QStringLiteral(" is empty")));
                // %n may be left out of a translation ("1 job" vs "%n jobs"), nothing else.
                QStringList expected = placeholders(m.source);
                QStringList got = placeholders(t);
                if (m.numerus) {
                    expected.removeAll(QStringLiteral("%n"));
                    got.removeAll(QStringLiteral("%n"));
                }
                QVERIFY2(got == expected,
                         qPrintable(QStringLiteral("%1 -> %2: placeholders %3, expected %4")
                                        .arg(where, t, got.join(u' '), expected.join(u' '))));
            }
        }
    }

    void unknownLanguageIsRefused()
    {
        const Status s = Translations::install(QStringLiteral("fr"));
        QVERIFY(!s.ok());
        QVERIFY2(s.error().startsWith(QStringLiteral("--lang:")), qPrintable(s.error()));
        QVERIFY(s.error().contains(QStringLiteral("zh_CN")));
    }

    void englishPlurals()
    {
        QVERIFY(Translations::install(QStringLiteral("en")).ok());
        QCOMPARE(QCoreApplication::translate("kairos::ui::MainWindow", "%n job(s)", nullptr, 1),
                 QStringLiteral("1 job"));
        QCOMPARE(QCoreApplication::translate("kairos::ui::MainWindow", "%n job(s)", nullptr, 3),
                 QStringLiteral("3 jobs"));
    }

    void chineseSwitchesTheWindowText()
    {
        QVERIFY(Translations::install(QStringLiteral("zh_CN")).ok());
        ConsoleActions actions;
        QCOMPARE(actions.runNow->text(), QStringLiteral("立即运行(&R)"));
        QCOMPARE(actions.newJob->text(), QStringLiteral("新建任务(&N)…"));
        QCOMPARE(Labels::status(InstanceStatus::Succeeded), QStringLiteral("成功"));
        // Every action reads Chinese: at least one CJK character, no English word left.
        for (QAction *a : {actions.newJob, actions.runNow, actions.enableJob, actions.disableJob,
                           actions.deleteJob, actions.cancelRun, actions.retryRun, actions.refresh,
                           actions.quit}) {
            const QString text = a->text();
            QVERIFY2(text.contains(QRegularExpression(QStringLiteral("[\\x{4e00}-\\x{9fff}]"))),
                     qPrintable(text));
        }

        // The window built after the switch: menus, toolbar and empty state in Chinese. (A
        // remote client that is never opened: the window needs a Client, not a server.)
        client::RemoteClient offline(client::RemoteEndpoint{});
        MainWindow window(&offline);
        QCOMPARE(window.actions()->runNow->text(), QStringLiteral("立即运行(&R)"));
        QStringList menus;
        for (QAction *menu : window.menuBar()->actions())
            menus << menu->text();
        QCOMPARE(menus.first(), QStringLiteral("文件(&F)"));
        QVERIFY2(window.jobsPane()->table()->emptyText().startsWith(QStringLiteral("还没有任务")),
                 qPrintable(window.jobsPane()->table()->emptyText()));
    }
};

QTEST_MAIN(TestUiTranslations)
#include "tst_ui_translations.moc"
