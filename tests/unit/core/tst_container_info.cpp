// Container value types as the admin protocol, the store and the tools carry them
// (docs/containers.md): the metadata a library embeds is checked field by field with errors that
// name the field, and every type survives a JSON round trip unchanged.
#include <core/container_info.h>

#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>

using namespace kairos;

namespace {

// JSON written with single quotes, so the fixtures stay readable without escapes.
QString q(const char *singleQuoted)
{
    return QString::fromUtf8(singleQuoted).replace(QLatin1Char('\''), QLatin1Char('"'));
}

QJsonObject parse(const QString &json)
{
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(json.toUtf8(), &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject())
        qFatal("bad JSON in test: %s (%s)", qPrintable(json), qPrintable(error.errorString()));
    return doc.object();
}

ContainerMetadata sampleMetadata()
{
    ContainerMetadata m;
    m.name = QStringLiteral("hello");
    m.version = QStringLiteral("2.0 (build 7)");
    m.sdkVersion = 1;
    m.processors = {
        {QStringLiteral("greet"), ProcessorShape::Standalone, QStringLiteral("Says hello")},
        {QStringLiteral("fan"), ProcessorShape::Broadcast, QString()},
        {QStringLiteral("split.v2"), ProcessorShape::Map, QStringLiteral("Splits")},
        {QStringLiteral("sum_all"), ProcessorShape::MapReduce, QStringLiteral("Ünïcode ✓")}};
    return m;
}

const QString kSha =
    QStringLiteral("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");

} // namespace

class TestContainerInfo : public QObject {
    Q_OBJECT

private slots:
    void enumNames_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("canonical");
        QTest::newRow("standalone") << "standalone"
                                    << "standalone";
        QTest::newRow("mapReduce") << "mapReduce"
                                   << "mapReduce";
        QTest::newRow("map_reduce typed") << "MAP_REDUCE"
                                          << "mapReduce";
        QTest::newRow("broadcast") << "Broadcast"
                                   << "broadcast";
        QTest::newRow("map") << "map"
                             << "map";
    }
    void enumNames()
    {
        QFETCH(QString, text);
        QFETCH(QString, canonical);
        const Result<ProcessorShape> shape = processorShapeFromString(text);
        QVERIFY2(shape.ok(), qPrintable(shape.error()));
        QCOMPARE(toString(*shape), canonical);
    }

    void everyEnumRoundTrips()
    {
        for (auto s : {ProcessorShape::Standalone, ProcessorShape::Broadcast, ProcessorShape::Map,
                       ProcessorShape::MapReduce})
            QVERIFY(*processorShapeFromString(toString(s)) == s);
        for (auto i : {ContainerIsolation::Process, ContainerIsolation::InProcess})
            QVERIFY(*containerIsolationFromString(toString(i)) == i);
        QVERIFY(*containerIsolationFromString(QStringLiteral("in-process"))
                == ContainerIsolation::InProcess);
        const QStringList stages{"QUEUED",  "DOWNLOADING", "VERIFYING",
                                 "LOADING", "READY",       "FAILED"};
        for (const QString &name : stages) {
            const Result<DeployStageName> s = deployStageFromString(name);
            QVERIFY2(s.ok(), qPrintable(s.error()));
            QCOMPARE(toString(*s), name);
            QCOMPARE(isFinal(*s), name == "READY" || name == "FAILED");
        }
        QVERIFY(*deployStageFromString(QStringLiteral("ready")) == DeployStageName::Ready);
    }

    void unknownEnumNamesListTheChoices()
    {
        const Result<ContainerIsolation> iso = containerIsolationFromString(QStringLiteral("vm"));
        QVERIFY(!iso.ok());
        QCOMPARE(iso.error(),
                 QStringLiteral(
                     "'vm' is not a container isolation; expected one of process, inprocess"));
        const Result<ProcessorShape> shape = processorShapeFromString(QString());
        QVERIFY(!shape.ok());
        QVERIFY2(shape.error().contains("standalone, broadcast, map, mapReduce"),
                 qPrintable(shape.error()));
        QVERIFY(!deployStageFromString(QStringLiteral("DONE")).ok());
    }

    void metadataRoundTrip()
    {
        const ContainerMetadata m = sampleMetadata();
        const QJsonObject json = m.toJson();
        QCOMPARE(json.value("name").toString(), QStringLiteral("hello"));
        QCOMPARE(json.value("sdk").toInt(), 1);
        QCOMPARE(json.value("processors").toArray().at(3).toObject().value("shape").toString(),
                 QStringLiteral("mapReduce"));
        // Through text too, as the plugin metadata and the admin protocol carry it.
        const QJsonObject reparsed = QJsonDocument::fromJson(QJsonDocument(json).toJson()).object();
        const Result<ContainerMetadata> back = ContainerMetadata::fromJson(reparsed);
        QVERIFY2(back.ok(), qPrintable(back.error()));
        QCOMPARE(*back, m);
    }

    void metadataSpecExample()
    {
        // The example of docs/containers.md section 1, as kairos_add_container writes it.
        const Result<ContainerMetadata> m =
            ContainerMetadata::fromJson(parse(q("{ 'name': 'hello', 'version': '2.0', 'sdk': 1, "
                                                "'processors': [ { 'name': 'greet', "
                                                "'shape': 'standalone', "
                                                "'description': 'Says hello' } ] }")));
        QVERIFY2(m.ok(), qPrintable(m.error()));
        QCOMPARE(m->name, QStringLiteral("hello"));
        QCOMPARE(m->version, QStringLiteral("2.0"));
        QCOMPARE(m->sdkVersion, 1);
        QCOMPARE(m->processorNames(), QStringList{QStringLiteral("greet")});
        QVERIFY(m->processor(QStringLiteral("greet")) != nullptr);
        QCOMPARE(m->processor(QStringLiteral("greet"))->description, QStringLiteral("Says hello"));
        QVERIFY(m->processor(QStringLiteral("nope")) == nullptr);
    }

    void metadataSdkValueIsNotJudgedHere()
    {
        // The SDK version's value is the reader's business (container_file): it names the
        // running build's version in its error.
        const Result<ContainerMetadata> m = ContainerMetadata::fromJson(parse(
            q("{'name':'x','version':'','sdk':99,'processors':[{'name':'p','shape':'map'}]}")));
        QVERIFY2(m.ok(), qPrintable(m.error()));
        QCOMPARE(m->sdkVersion, 99);
        QCOMPARE(m->processors.at(0).description, QString());
    }

    void badMetadata_data()
    {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("error");
        const QString ok1 = q("{'name':'greet','shape':'standalone'}");
        auto with = [](const QString &fields) { return QStringLiteral("{%1}").arg(fields); };
        const QString procs = q("'processors':[%1]").arg(ok1);

        QTest::newRow("shape")
            << with(q("'name':'h','version':'1','sdk':1,'processors':[") + ok1
                    + q(",{'name':'b','shape':'weird'}]"))
            << "metadata: field 'processors[1].shape' must be one of standalone, broadcast, map, "
               "mapReduce";
        QTest::newRow("shape missing")
            << with(q("'name':'h','version':'1','sdk':1,'processors':[{'name':'b'}]"))
            << "metadata: field 'processors[0].shape' is missing; expected one of standalone, "
               "broadcast, map, mapReduce";
        QTest::newRow("shape not a string")
            << with(q("'name':'h','version':'1','sdk':1,'processors':[{'name':'b','shape':3}]"))
            << "metadata: field 'processors[0].shape' must be a string, got 3";
        QTest::newRow("name missing") << with(q("'version':'1','sdk':1,") + procs)
                                      << "metadata: field 'name' is missing; expected a string";
        QTest::newRow("name bad chars")
            << with(q("'name':'he llo','version':'1','sdk':1,") + procs)
            << "metadata: field 'name' must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}, got \"he llo\"";
        QTest::newRow("name leading dot")
            << with(q("'name':'.h','version':'1','sdk':1,") + procs)
            << "metadata: field 'name' must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}, got \".h\"";
        QTest::newRow("name too long")
            << with(q("'name':'%1','version':'1','sdk':1,").arg(QString(65, 'a')) + procs)
            << QStringLiteral("metadata: field 'name' must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}, "
                              "got \"%1\"")
                   .arg(QString(65, 'a'));
        QTest::newRow("name number") << with(q("'name':7,'version':'1','sdk':1,") + procs)
                                     << "metadata: field 'name' must be a string, got 7";
        QTest::newRow("version missing")
            << with(q("'name':'h','sdk':1,") + procs)
            << "metadata: field 'version' is missing; expected a string";
        QTest::newRow("version too long")
            << with(q("'name':'h','version':'%1','sdk':1,").arg(QString(65, 'v')) + procs)
            << "metadata: field 'version' must be at most 64 characters, got 65";
        QTest::newRow("sdk missing") << with(q("'name':'h','version':'1',") + procs)
                                     << "metadata: field 'sdk' is missing; expected a whole number";
        QTest::newRow("sdk text") << with(q("'name':'h','version':'1','sdk':'1',") + procs)
                                  << "metadata: field 'sdk' must be a whole number, got \"1\"";
        QTest::newRow("sdk fraction") << with(q("'name':'h','version':'1','sdk':1.5,") + procs)
                                      << "metadata: field 'sdk' must be a whole number, got 1.5";
        QTest::newRow("processors missing")
            << with(q("'name':'h','version':'1','sdk':1"))
            << "metadata: field 'processors' must be a list of processors, got nothing";
        QTest::newRow("processors empty")
            << with(q("'name':'h','version':'1','sdk':1,'processors':[]"))
            << "metadata: field 'processors' must list at least one processor";
        QTest::newRow("processor not object")
            << with(q("'name':'h','version':'1','sdk':1,'processors':['greet']"))
            << "metadata: field 'processors[0]' must be an object {name, shape, description}, got "
               "\"greet\"";
        QTest::newRow("processor name bad") << with(
            q("'name':'h','version':'1','sdk':1,'processors':[{'name':'a#b','shape':'map'}]"))
                                            << "metadata: field 'processors[0].name' must match "
                                               "[A-Za-z0-9][A-Za-z0-9._-]{0,63}, "
                                               "got \"a#b\"";
        QTest::newRow("processor name repeated")
            << with(q("'name':'h','version':'1','sdk':1,'processors':[") + ok1 + ","
                    + q("{'name':'x','shape':'map'},{'name':'greet','shape':'map'}]"))
            << "metadata: field 'processors[2].name' repeats processor name 'greet'; names must be "
               "unique";
        QTest::newRow("description number")
            << with(q("'name':'h','version':'1','sdk':1,'processors':[{"
                      "'name':'p','shape':'map','description':1}]"))
            << "metadata: field 'processors[0].description' must "
               "be a string, got 1";
    }
    void badMetadata()
    {
        QFETCH(QString, json);
        QFETCH(QString, error);
        QJsonParseError parseError;
        const QJsonDocument doc = QJsonDocument::fromJson(json.toUtf8(), &parseError);
        QVERIFY2(doc.isObject(), qPrintable(parseError.errorString() + ": " + json));
        const Result<ContainerMetadata> m = ContainerMetadata::fromJson(doc.object());
        QVERIFY2(!m.ok(), qPrintable(json));
        QCOMPARE(m.error(), error);
    }

    void names_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<bool>("valid");
        QTest::newRow("plain") << "hello" << true;
        QTest::newRow("one char") << "h" << true;
        QTest::newRow("digit first") << "9lives" << true;
        QTest::newRow("dots dashes underscores") << "a.b-c_d" << true;
        QTest::newRow("64 chars") << QString(64, 'x') << true;
        QTest::newRow("65 chars") << QString(65, 'x') << false;
        QTest::newRow("empty") << "" << false;
        QTest::newRow("dash first") << "-x" << false;
        QTest::newRow("underscore first") << "_x" << false;
        QTest::newRow("space") << "a b" << false;
        QTest::newRow("hash") << "a#b" << false;
        QTest::newRow("slash") << "a/b" << false;
        QTest::newRow("non-ascii") << "héllo" << false;
    }
    void names()
    {
        QFETCH(QString, name);
        QFETCH(bool, valid);
        QCOMPARE(isValidContainerName(name), valid);
    }

    void refs_data()
    {
        QTest::addColumn<QString>("ref");
        QTest::addColumn<QString>("container");
        QTest::addColumn<QString>("processor");
        QTest::addColumn<QString>("error");
        QTest::newRow("good") << "hello#greet"
                              << "hello"
                              << "greet"
                              << "";
        QTest::newRow("dotted") << "my.pkg#sum_all"
                                << "my.pkg"
                                << "sum_all"
                                << "";
        QTest::newRow("no hash") << "hello"
                                 << ""
                                 << ""
                                 << "processor.ref: expected CONTAINER#PROCESSOR, got 'hello'";
        QTest::newRow("two hashes") << "a#b#c"
                                    << ""
                                    << ""
                                    << "processor.ref: expected CONTAINER#PROCESSOR, got 'a#b#c'";
        QTest::newRow("no processor")
            << "hello#"
            << ""
            << ""
            << "processor.ref: expected CONTAINER#PROCESSOR, got 'hello#'";
        QTest::newRow("empty") << ""
                               << ""
                               << ""
                               << "processor.ref: expected CONTAINER#PROCESSOR, got ''";
        QTest::newRow("bad container")
            << "he llo#greet"
            << ""
            << ""
            << "processor.ref: 'he llo' in 'he llo#greet' is not a valid name; expected "
               "[A-Za-z0-9][A-Za-z0-9._-]{0,63}";
    }
    void refs()
    {
        QFETCH(QString, ref);
        QFETCH(QString, container);
        QFETCH(QString, processor);
        QFETCH(QString, error);
        const auto split = splitContainerRef(ref);
        QCOMPARE(split.error(), error);
        if (error.isEmpty()) {
            QCOMPARE(split->first, container);
            QCOMPARE(split->second, processor);
        }
    }

    void refErrorNamesTheGivenField()
    {
        const auto split = splitContainerRef(QStringLiteral("x"), QStringLiteral("config.ref"));
        QCOMPARE(split.error(),
                 QStringLiteral("config.ref: expected CONTAINER#PROCESSOR, got 'x'"));
    }

    void versionRoundTrip()
    {
        ContainerVersion v;
        v.sha256 = kSha;
        v.metadata = sampleMetadata();
        v.sizeBytes = 5 * 1024 * 1024 + 3;
        v.uploadedAtMs = 1700000000123;
        v.uploadedBy = QStringLiteral("alice");
        const QJsonObject json = v.toJson();
        // The metadata is flattened beside the version's own fields.
        QCOMPARE(json.value("name").toString(), QStringLiteral("hello"));
        QCOMPARE(json.value("version").toString(), v.metadata.version);
        QCOMPARE(json.value("sha256").toString(), kSha);
        QCOMPARE(json.value("sizeBytes").toInteger(), v.sizeBytes);
        QVERIFY(!json.contains("metadata"));
        const Result<ContainerVersion> back = ContainerVersion::fromJson(
            QJsonDocument::fromJson(QJsonDocument(json).toJson()).object());
        QVERIFY2(back.ok(), qPrintable(back.error()));
        QCOMPARE(*back, v);
    }

    void badVersion_data()
    {
        QTest::addColumn<QString>("field");
        QTest::addColumn<QJsonValue>("value");
        QTest::addColumn<QString>("error");
        QTest::newRow("sha upper case")
            << "sha256" << QJsonValue(kSha.toUpper())
            << QStringLiteral("field 'sha256' must be 64 lowercase hex digits, got \"%1\"")
                   .arg(kSha.toUpper());
        QTest::newRow("sha short") << "sha256" << QJsonValue("abc")
                                   << "field 'sha256' must be 64 lowercase hex digits, got \"abc\"";
        QTest::newRow("sha missing") << "sha256" << QJsonValue(QJsonValue::Undefined)
                                     << "field 'sha256' is missing; expected a string";
        QTest::newRow("size negative") << "sizeBytes" << QJsonValue(-1)
                                       << "field 'sizeBytes' must be between 0 and "
                                          "9223372036854775807, got -1";
        QTest::newRow("metadata field") << "processors" << QJsonValue(QJsonArray())
                                        << "metadata: field 'processors' must list at least one "
                                           "processor";
    }
    void badVersion()
    {
        QFETCH(QString, field);
        QFETCH(QJsonValue, value);
        QFETCH(QString, error);
        ContainerVersion v;
        v.sha256 = kSha;
        v.metadata = sampleMetadata();
        QJsonObject json = v.toJson();
        if (value.isUndefined())
            json.remove(field);
        else
            json.insert(field, value);
        const Result<ContainerVersion> back = ContainerVersion::fromJson(json);
        QVERIFY(!back.ok());
        QCOMPARE(back.error(), error);
    }

    void deploymentRoundTrip_data()
    {
        QTest::addColumn<QString>("target");
        QTest::addColumn<int>("isolation");
        QTest::newRow("default, process")
            << ContainerDeployment::kAllWorkers << int(ContainerIsolation::Process);
        QTest::newRow("pin, inprocess") << "w-7" << int(ContainerIsolation::InProcess);
    }
    void deploymentRoundTrip()
    {
        QFETCH(QString, target);
        QFETCH(int, isolation);
        ContainerDeployment d;
        d.container = QStringLiteral("hello");
        d.target = target;
        d.sha256 = kSha;
        d.isolation = ContainerIsolation(isolation);
        d.deployId = 12;
        d.deployedAtMs = 1700000000999;
        d.deployedBy = QStringLiteral("ops");
        const QJsonObject json = d.toJson();
        QCOMPARE(json.value("isolation").toString(), toString(d.isolation));
        QCOMPARE(json.value("target").toString(), target);
        const Result<ContainerDeployment> back = ContainerDeployment::fromJson(json);
        QVERIFY2(back.ok(), qPrintable(back.error()));
        QCOMPARE(*back, d);
    }

    void badDeployment()
    {
        ContainerDeployment d;
        d.container = QStringLiteral("hello");
        d.sha256 = kSha;
        QJsonObject json = d.toJson();
        json.insert("isolation", "container");
        QCOMPARE(ContainerDeployment::fromJson(json).error(),
                 QStringLiteral("field 'isolation' must be one of process, inprocess"));
        json = d.toJson();
        json.insert("sha256", "");
        QCOMPARE(ContainerDeployment::fromJson(json).error(),
                 QStringLiteral("field 'sha256' must be 64 lowercase hex digits, got \"\""));
        json = d.toJson();
        json.insert("target", "");
        QCOMPARE(ContainerDeployment::fromJson(json).error(),
                 QStringLiteral("field 'target' must be \"*\" or a worker id, got \"\""));
    }

    void stageRoundTrip_data()
    {
        QTest::addColumn<int>("stage");
        QTest::addColumn<QString>("sha");
        QTest::addColumn<QString>("reason");
        QTest::newRow("downloading") << int(DeployStageName::Downloading) << kSha << "";
        QTest::newRow("ready") << int(DeployStageName::Ready) << kSha << "";
        QTest::newRow("failed with reason")
            << int(DeployStageName::Failed) << kSha << "digest mismatch: expected a, got b";
        QTest::newRow("failed, no version") << int(DeployStageName::Failed) << ""
                                            << "container 'hello' has no deployed version";
    }
    void stageRoundTrip()
    {
        QFETCH(int, stage);
        QFETCH(QString, sha);
        QFETCH(QString, reason);
        DeployStage s;
        s.deployId = 3;
        s.worker = QStringLiteral("host:42");
        s.container = QStringLiteral("hello");
        s.sha256 = sha;
        s.stage = DeployStageName(stage);
        s.bytes = 1048576;
        s.total = 5242880;
        s.reason = reason;
        s.atMs = 1700000001000;
        const QJsonObject json = s.toJson();
        QCOMPARE(json.value("stage").toString(), toString(s.stage));
        QCOMPARE(json.contains("reason"), !reason.isEmpty());
        const Result<DeployStage> back = DeployStage::fromJson(json);
        QVERIFY2(back.ok(), qPrintable(back.error()));
        QCOMPARE(*back, s);
    }

    void badStage()
    {
        DeployStage s;
        s.container = QStringLiteral("hello");
        QJsonObject json = s.toJson();
        json.insert("stage", "DONE");
        QCOMPARE(DeployStage::fromJson(json).error(),
                 QStringLiteral("field 'stage' must be one of QUEUED, DOWNLOADING, VERIFYING, "
                                "LOADING, READY, FAILED"));
        json = s.toJson();
        json.insert("bytes", "many");
        QCOMPARE(DeployStage::fromJson(json).error(),
                 QStringLiteral("field 'bytes' must be a whole number, got \"many\""));
        json = s.toJson();
        json.remove("container");
        QCOMPARE(DeployStage::fromJson(json).error(),
                 QStringLiteral("field 'container' is missing; expected a string"));
    }

    void limits()
    {
        QCOMPARE(kMaxContainerBytes, qint64(268435456));
        QCOMPARE(kMaxFetchBytes, qint64(1048576));
        QCOMPARE(kFetchWindow, 4);
    }
};

QTEST_GUILESS_MAIN(TestContainerInfo)
#include "tst_container_info.moc"
