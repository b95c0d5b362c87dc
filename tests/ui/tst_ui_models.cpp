// The console's table models without an engine: InstanceListModel's live updates (in place,
// new at the top, the cap, late events) and colours, JobListModel's upserts and removal.
#include <ui/instance_list_model.h>
#include <ui/job_list_model.h>
#include <ui/labels.h>

#include <QJsonObject>
#include <QSignalSpy>
#include <QTest>

using namespace kairos;
using namespace kairos::ui;

namespace {

Instance run(qint64 id, InstanceStatus status = InstanceStatus::Running, qint64 version = 1)
{
    Instance i;
    i.id = id;
    i.jobId = 7;
    i.jobName = QStringLiteral("backup");
    i.status = status;
    i.version = version;
    i.createdAtMs = 1700000000000 + id;
    return i;
}

QList<qint64> idsOf(const InstanceListModel &m)
{
    QList<qint64> ids;
    for (int r = 0; r < m.rowCount(); ++r)
        ids << m.index(r, 0).data(InstanceListModel::InstanceIdRole).toLongLong();
    return ids;
}

QString cell(const QAbstractItemModel &m, int row, int column)
{
    return m.index(row, column).data().toString();
}

Job job(qint64 id, const QString &name, qint64 version = 1)
{
    Job j;
    j.id = id;
    j.name = name;
    j.version = version;
    j.timingType = TimingType::Cron;
    j.timingExpression = QStringLiteral("*/5 * * * *");
    j.processor = ProcessorKind::Shell;
    j.processorConfig = {{QStringLiteral("script"), QStringLiteral("echo hi\necho more")}};
    return j;
}

} // namespace

class TestUiModels : public QObject {
    Q_OBJECT
private slots:
    void resetShowsNewestFirstAndCaps()
    {
        InstanceListModel m;
        m.setMaxRows(3);
        m.reset({run(1), run(4), run(2), run(3)});
        QCOMPARE(idsOf(m), (QList<qint64>{4, 3, 2}));
    }

    void changedRunIsUpdatedInPlace()
    {
        InstanceListModel m;
        m.reset({run(3), run(2), run(1)});
        QSignalSpy changed(&m, &QAbstractItemModel::dataChanged);
        QSignalSpy inserted(&m, &QAbstractItemModel::rowsInserted);
        Instance done = run(2, InstanceStatus::Succeeded, 2);
        done.finishedAtMs = 1700000005000;
        m.apply({done});
        QCOMPARE(idsOf(m), (QList<qint64>{3, 2, 1}));
        QCOMPARE(inserted.count(), 0);
        QCOMPARE(changed.count(), 1);
        QCOMPARE(changed.first().at(0).toModelIndex().row(), 1);
        QCOMPARE(cell(m, 1, InstanceListModel::StatusColumn),
                 Labels::status(InstanceStatus::Succeeded));
        QCOMPARE(m.index(1, 0).data(InstanceListModel::StatusRole).toInt(),
                 int(InstanceStatus::Succeeded));
        QVERIFY(!cell(m, 1, InstanceListModel::FinishedColumn).isEmpty());
    }

    void lateEventDoesNotUndoNewerState()
    {
        InstanceListModel m;
        m.reset({run(5, InstanceStatus::Succeeded, 4)});
        m.apply({run(5, InstanceStatus::Running, 3)});
        QCOMPARE(toString(m.find(5)->status), toString(InstanceStatus::Succeeded));
    }

    void updateWithoutJobNameKeepsTheName()
    {
        InstanceListModel m;
        m.reset({run(5)});
        Instance update = run(5, InstanceStatus::Failed, 2);
        update.jobName.clear();
        m.apply({update});
        QCOMPARE(cell(m, 0, InstanceListModel::JobColumn), QStringLiteral("backup"));
    }

    void unnamedNewRunIsNamedByLookup()
    {
        InstanceListModel m;
        m.setJobNameLookup(
            [](qint64 id) { return id == 7 ? QStringLiteral("nightly") : QString(); });
        Instance fresh = run(9);
        fresh.jobName.clear();
        m.apply({fresh});
        QCOMPARE(cell(m, 0, InstanceListModel::JobColumn), QStringLiteral("nightly"));
    }

    void newRunsAppearAtTheTop()
    {
        InstanceListModel m;
        m.reset({run(3), run(2), run(1)});
        QSignalSpy inserted(&m, &QAbstractItemModel::rowsInserted);
        // One batch with two new runs, one of them in two versions.
        m.apply({run(4, InstanceStatus::WaitingDispatch, 1), run(5),
                 run(4, InstanceStatus::Running, 2)});
        QCOMPARE(idsOf(m), (QList<qint64>{5, 4, 3, 2, 1}));
        QCOMPARE(inserted.count(), 1);
        QCOMPARE(inserted.first().at(1).toInt(), 0);
        QCOMPARE(inserted.first().at(2).toInt(), 1);
        QCOMPARE(toString(m.find(4)->status), toString(InstanceStatus::Running));
    }

    void olderRunGoesToItsPlaceNotTheTop()
    {
        InstanceListModel m;
        m.reset({run(10), run(5)});
        m.apply({run(7)});
        QCOMPARE(idsOf(m), (QList<qint64>{10, 7, 5}));
    }

    void capDropsTheOldest()
    {
        InstanceListModel m;
        m.setMaxRows(3);
        m.reset({run(3), run(2), run(1)});
        QSignalSpy removed(&m, &QAbstractItemModel::rowsRemoved);
        m.apply({run(4), run(5)});
        QCOMPARE(idsOf(m), (QList<qint64>{5, 4, 3}));
        QCOMPARE(removed.count(), 1);
        QCOMPARE(m.rowOf(1), -1);
        QCOMPARE(m.rowOf(3), 2);
        // Updating a run that stayed still works after rows were dropped.
        m.apply({run(3, InstanceStatus::Failed, 2)});
        QCOMPARE(toString(m.find(3)->status), toString(InstanceStatus::Failed));
    }

    void statusColour_data()
    {
        QTest::addColumn<int>("status");
        QTest::addColumn<QString>("expected"); // the hue family a user would name
        QTest::newRow("succeeded") << int(InstanceStatus::Succeeded) << "green";
        QTest::newRow("failed") << int(InstanceStatus::Failed) << "red";
        QTest::newRow("timed out") << int(InstanceStatus::TimedOut) << "red";
        QTest::newRow("running") << int(InstanceStatus::Running) << "blue";
        QTest::newRow("skipped") << int(InstanceStatus::Skipped) << "grey";
    }

    void statusColour()
    {
        QFETCH(int, status);
        QFETCH(QString, expected);
        InstanceListModel m;
        m.reset({run(1, InstanceStatus(status))});
        const QColor c =
            m.index(0, InstanceListModel::StatusColumn).data(Qt::ForegroundRole).value<QColor>();
        QVERIFY(c.isValid());
        QString family;
        if (c.hsvSaturation() < 40)
            family = QStringLiteral("grey");
        else if (c.hsvHue() < 20 || c.hsvHue() > 340)
            family = QStringLiteral("red");
        else if (c.hsvHue() > 90 && c.hsvHue() < 160)
            family = QStringLiteral("green");
        else if (c.hsvHue() > 190 && c.hsvHue() < 250)
            family = QStringLiteral("blue");
        QCOMPARE(family, expected);
        // Other columns keep the view's colour.
        QVERIFY(!m.index(0, InstanceListModel::JobColumn).data(Qt::ForegroundRole).isValid());
    }

    void jobUpsertUpdatesAndIgnoresOlderVersions()
    {
        JobListModel m;
        m.reset({JobRow{job(1, QStringLiteral("a")), 1800000000000}});
        QSignalSpy inserted(&m, &QAbstractItemModel::rowsInserted);
        m.upsert(job(2, QStringLiteral("b")));
        QCOMPARE(m.rowCount(), 2);
        QCOMPARE(inserted.count(), 1);

        Job renamed = job(1, QStringLiteral("a2"), 2);
        renamed.enabled = false;
        m.upsert(renamed);
        QCOMPARE(cell(m, m.rowOf(1), JobListModel::NameColumn), QStringLiteral("a2"));
        QCOMPARE(m.find(1)->nextFireMs, 1800000000000); // kept: events carry no plan
        QCOMPARE(m.index(m.rowOf(1), 0).data(JobListModel::EnabledRole).toBool(), false);
        m.upsert(job(1, QStringLiteral("stale"), 1));
        QCOMPARE(m.nameOf(1), QStringLiteral("a2"));

        m.remove(1);
        QCOMPARE(m.rowCount(), 1);
        QCOMPARE(m.rowOf(2), 0);
        QCOMPARE(m.rowOf(1), -1);
    }

    void jobCellsSayWhatRuns()
    {
        JobListModel m;
        m.upsert(job(1, QStringLiteral("a")), 0);
        QVERIFY(cell(m, 0, JobListModel::TimingColumn).contains(QStringLiteral("*/5 * * * *")));
        // First line of the script only.
        QVERIFY(cell(m, 0, JobListModel::ProcessorColumn).endsWith(QStringLiteral("echo hi")));
        QCOMPARE(m.index(0, JobListModel::VersionColumn).data().toLongLong(), 1);
    }

    void jobRowFromServerJson()
    {
        QJsonObject o = jobToJson(job(4, QStringLiteral("x"), 3));
        o[QStringLiteral("nextFireMs")] = qint64(1800000000000);
        const auto row = JobListModel::rowFromJson(o);
        QVERIFY(row.has_value());
        QCOMPARE(row->job.id, 4);
        QCOMPARE(row->job.version, 3);
        QCOMPARE(row->nextFireMs, 1800000000000);
    }
};

QTEST_MAIN(TestUiModels)
#include "tst_ui_models.moc"
