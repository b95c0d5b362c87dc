// What the server says about an uploaded file and what a worker checks before it loads a
// download (docs/containers.md sections 1 and 8): every test fixture gives its exact error or its
// metadata, any file name works, no code of the library runs while its metadata is read, and
// the SHA-256 that names a version is the file's.
#include <worker/container_file.h>

#include <QCryptographicHash>
#include <QFile>
#include <QLibrary>
#include <QLibraryInfo>
#include <QTemporaryDir>
#include <QTest>

using namespace kairos;

namespace {

QString fixture(const QString &file)
{
    return QStringLiteral(KAIROS_BIN_DIR "/containers/") + file;
}

QByteArray readAll(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return f.readAll();
}

bool writeFile(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

// A copy of hello-v1.so with two bytes of its ELF header replaced (little-endian value).
QByteArray patchedHello(int offset, quint16 value)
{
    QByteArray bytes = readAll(fixture(QStringLiteral("hello-v1.so")));
    if (bytes.size() > offset + 1) {
        bytes[offset] = char(value & 0xff);
        bytes[offset + 1] = char(value >> 8);
    }
    return bytes;
}

constexpr int kElfTypeOffset = 16;
constexpr int kElfMachineOffset = 18;

} // namespace

class TestContainerFile : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;

    QString tempFile(const QString &name, const QByteArray &bytes)
    {
        const QString path = m_dir.filePath(name);
        if (!writeFile(path, bytes))
            qFatal("cannot write %s", qPrintable(path));
        return path;
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        for (const char *name :
             {"hello-v1.so", "hello-v2.so", "crashy.so", "mapsum.so", "big.so", "notmeta.so",
              "wrongsdk.so", "badshape.so", "missingproc.so", "notalib.so"})
            QVERIFY2(QFile::exists(fixture(QString::fromLatin1(name))),
                     qPrintable(fixture(QString::fromLatin1(name))
                                + " is missing: build kairos_test_containers"));
    }

    void sdkVersion() { QCOMPARE(supportedSdkVersion(), 1); }

    void fixtureErrors_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("role");
        QTest::addColumn<QString>("error");
        const QString noMeta = QStringLiteral(
            "not a Kairos container: no plugin metadata (build it with kairos_add_container)");
        QTest::newRow("text file") << fixture("notalib.so") << "server"
                                   << "not a shared library: no ELF header";
        QTest::newRow("plain shared library") << fixture("notmeta.so") << "server" << noMeta;
        QTest::newRow("other SDK, server")
            << fixture("wrongsdk.so") << "server"
            << "incompatible SDK version 99: this server supports SDK version 1";
        QTest::newRow("other SDK, worker")
            << fixture("wrongsdk.so") << "worker"
            << "incompatible SDK version 99: this worker supports SDK version 1";
        QTest::newRow("bad shape") << fixture("badshape.so") << "server"
                                   << "metadata: field 'processors[1].shape' must be one of "
                                      "standalone, broadcast, map, mapReduce";
        QTest::newRow("missing file") << fixture("nothere.so") << "server"
                                      << "cannot read " + fixture("nothere.so") + ": no such file";
    }
    void fixtureErrors()
    {
        QFETCH(QString, path);
        QFETCH(QString, role);
        QFETCH(QString, error);
        const Result<ContainerMetadata> m = readContainerMetadata(path, role);
        QVERIFY2(!m.ok(), qPrintable(path + " was accepted"));
        QCOMPARE(m.error(), error);
    }

    void craftedErrors_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("error");
        // 183 is EM_AARCH64: an ARM build of a container uploaded to an x86-64 server.
        QTest::newRow("other machine")
            << patchedHello(kElfMachineOffset, 183)
            << "not a shared library for this machine: ELF machine 183, expected 62";
        QTest::newRow("executable, not a library")
            << patchedHello(kElfTypeOffset, 2)
            << "not a shared library: ELF type 2, expected 3 (a shared object)";
        QTest::newRow("empty file") << QByteArray() << "not a shared library: no ELF header";
        QTest::newRow("truncated header") << QByteArray("\x7f"
                                                        "ELF\x02\x01",
                                                        6)
                                          << "not a shared library: no ELF header";
        QTest::newRow("ELF header only")
            << readAll(fixture("hello-v1.so")).left(64)
            << "not a Kairos container: no plugin metadata (build it with kairos_add_container)";
    }
    void craftedErrors()
    {
#if !defined(__x86_64__)
        QSKIP("the expected machine numbers are x86-64's");
#endif
        QFETCH(QByteArray, bytes);
        QFETCH(QString, error);
        const QString path =
            tempFile(QStringLiteral("crafted-%1.so").arg(QTest::currentDataTag()), bytes);
        QCOMPARE(readContainerMetadata(path).error(), error);
    }

    void foreignPluginIid()
    {
        // A real Qt plugin of another interface: Qt's own SQLite driver.
        const QString plugin = QLibraryInfo::path(QLibraryInfo::PluginsPath)
                               + QStringLiteral("/sqldrivers/libqsqlite.so");
        if (!QFile::exists(plugin))
            QSKIP("Qt's SQLite driver plugin is not installed");
        QCOMPARE(readContainerMetadata(plugin).error(),
                 QStringLiteral("not a Kairos container: plugin IID "
                                "'org.qt-project.Qt.QSqlDriverFactoryInterface', expected "
                                "'io.kairos.Container/1'"));
    }

    void goodFixtures_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("version");
        QTest::addColumn<QStringList>("processors");
        QTest::addColumn<QStringList>("shapes");
        QTest::newRow("hello v1") << "hello-v1.so"
                                  << "hello"
                                  << "1.0" << QStringList{"greet", "noop"}
                                  << QStringList{"standalone", "standalone"};
        QTest::newRow("hello v2") << "hello-v2.so"
                                  << "hello"
                                  << "2.0" << QStringList{"greet", "noop"}
                                  << QStringList{"standalone", "standalone"};
        QTest::newRow("crashy") << "crashy.so"
                                << "crashy"
                                << "1.0" << QStringList{"segv", "abort", "hang", "ok"}
                                << QStringList(4, "standalone");
        QTest::newRow("mapsum") << "mapsum.so"
                                << "mapsum"
                                << "1.0" << QStringList{"sum"} << QStringList{"mapReduce"};
        QTest::newRow("big") << "big.so"
                             << "big"
                             << "1.0" << QStringList{"noop"} << QStringList{"standalone"};
        // Reading succeeds: that `ghost` is not offered shows only when the library is loaded.
        QTest::newRow("missingproc")
            << "missingproc.so"
            << "missingproc"
            << "1.0" << QStringList{"greet", "ghost"} << QStringList{"standalone", "standalone"};
    }
    void goodFixtures()
    {
        QFETCH(QString, file);
        QFETCH(QString, name);
        QFETCH(QString, version);
        QFETCH(QStringList, processors);
        QFETCH(QStringList, shapes);
        const Result<ContainerMetadata> m = readContainerMetadata(fixture(file), "worker");
        QVERIFY2(m.ok(), qPrintable(m.error()));
        QCOMPARE(m->name, name);
        QCOMPARE(m->version, version);
        QCOMPARE(m->sdkVersion, 1);
        QCOMPARE(m->processorNames(), processors);
        QStringList gotShapes;
        for (const ContainerProcessorInfo &p : m->processors)
            gotShapes << toString(p.shape);
        QCOMPARE(gotShapes, shapes);
    }

    void descriptionsComeFromTheCMakeCall()
    {
        const Result<ContainerMetadata> m = readContainerMetadata(fixture("mapsum.so"));
        QVERIFY2(m.ok(), qPrintable(m.error()));
        QCOMPARE(m->processor("sum")->description, QStringLiteral("Sums 1..count"));
        const Result<ContainerMetadata> hello = readContainerMetadata(fixture("hello-v2.so"));
        QVERIFY2(hello.ok(), qPrintable(hello.error()));
        QCOMPARE(hello->processor("greet")->description, QStringLiteral("Says hello"));
    }

    void anyFileName_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<bool>("symlink");
        QTest::newRow("no suffix") << "upload-17.part" << false;
        QTest::newRow("bare sha") << QString(64, 'a') << false;
        QTest::newRow("symlink without suffix") << "link-to-v2" << true;
        QTest::newRow("dots and spaces") << "my container.v2.bin" << false;
    }
    void anyFileName()
    {
        QFETCH(QString, name);
        QFETCH(bool, symlink);
        const QString path = m_dir.filePath(name);
        QFile::remove(path);
        if (symlink)
            QVERIFY(QFile::link(fixture("hello-v2.so"), path));
        else
            QVERIFY(QFile::copy(fixture("hello-v2.so"), path));
        const Result<ContainerMetadata> m = readContainerMetadata(path);
        QVERIFY2(m.ok(), qPrintable(m.error()));
        QCOMPARE(m->name, QStringLiteral("hello"));
        QCOMPARE(m->version, QStringLiteral("2.0"));
    }

    void replacedFileIsReadAfresh()
    {
        // The server may check several uploads at one temporary path in turn: each read must
        // see the file as it is now, not what Qt saw there before.
        const QString path = m_dir.filePath("reused.part");
        QFile::remove(path);
        QVERIFY(QFile::copy(fixture("hello-v1.so"), path));
        QCOMPARE(readContainerMetadata(path)->version, QStringLiteral("1.0"));
        QVERIFY(QFile::remove(path));
        QVERIFY(QFile::copy(fixture("mapsum.so"), path));
        const Result<ContainerMetadata> m = readContainerMetadata(path);
        QVERIFY2(m.ok(), qPrintable(m.error()));
        QCOMPARE(m->name, QStringLiteral("mapsum"));
        QVERIFY(QFile::remove(path));
        QVERIFY(writeFile(path, "text"));
        QCOMPARE(readContainerMetadata(path).error(),
                 QStringLiteral("not a shared library: no ELF header"));
    }

    void readingRunsNoCodeOfTheLibrary()
    {
        // hello's global constructor appends its label to the file KAIROS_TEST_CTOR_MARKER
        // names whenever the library is loaded.
        const QString marker = m_dir.filePath("ctor-marker");
        QFile::remove(marker);
        qputenv("KAIROS_TEST_CTOR_MARKER", QFile::encodeName(marker));
        const auto unset = qScopeGuard([] { qunsetenv("KAIROS_TEST_CTOR_MARKER"); });

        for (const char *file : {"hello-v1.so", "hello-v2.so"}) {
            const Result<ContainerMetadata> m = readContainerMetadata(fixture(file));
            QVERIFY2(m.ok(), qPrintable(m.error()));
        }
        QVERIFY2(!QFile::exists(marker), "reading the metadata ran the library's constructor");

        // The control: loading a copy (not the read path, which Qt would then answer from the
        // loaded library) does run the constructor, so the check above can fail.
        const QString copy = m_dir.filePath("loaded-copy.so");
        QFile::remove(copy);
        QVERIFY(QFile::copy(fixture("hello-v1.so"), copy));
        QLibrary library(copy);
        QVERIFY2(library.load(), qPrintable(library.errorString()));
        QCOMPARE(readAll(marker), QByteArray("v1\n"));
        library.unload();
    }

    void sha256_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("digest");
        QTest::newRow("empty")
            << QByteArray() << "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        QTest::newRow("abc") << QByteArray("abc")
                             << "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        // 1,000,000 x 'a' spans several read chunks (FIPS 180-2 test vector).
        QTest::newRow("million a")
            << QByteArray(1000000, 'a')
            << "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    }
    void sha256()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, digest);
        const QString path = tempFile(QStringLiteral("sha-%1").arg(QTest::currentDataTag()), bytes);
        const Result<QString> sha = sha256OfFile(path);
        QVERIFY2(sha.ok(), qPrintable(sha.error()));
        QCOMPARE(*sha, digest);
        QVERIFY(isValidSha256(*sha));
    }

    void sha256OfFixtures()
    {
        QStringList digests;
        for (const char *file : {"hello-v1.so", "hello-v2.so", "big.so"}) {
            const Result<QString> sha = sha256OfFile(fixture(file));
            QVERIFY2(sha.ok(), qPrintable(sha.error()));
            QCOMPARE(*sha, QString::fromLatin1(QCryptographicHash::hash(readAll(fixture(file)),
                                                                        QCryptographicHash::Sha256)
                                                   .toHex()));
            digests << *sha;
        }
        // The two hello builds are two versions.
        QVERIFY(digests[0] != digests[1]);
    }

    void bigIsBigAndIncompressible()
    {
        const QByteArray bytes = readAll(fixture("big.so"));
        QVERIFY2(bytes.size() > 5 * 1024 * 1024, qPrintable(QString::number(bytes.size())));
        // zlib at its fastest level: random data does not shrink below 5 MiB.
        QVERIFY(qCompress(bytes, 1).size() > 5 * 1024 * 1024);
    }

    void sha256OfMissingFile()
    {
        const Result<QString> sha = sha256OfFile(m_dir.filePath("nothere"));
        QVERIFY(!sha.ok());
        QVERIFY2(sha.error().startsWith("cannot read " + m_dir.filePath("nothere") + ": "),
                 qPrintable(sha.error()));
    }

    void validSha_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<bool>("valid");
        QTest::newRow("lower hex") << QString(64, 'a') << true;
        QTest::newRow("digits") << QString(64, '7') << true;
        QTest::newRow("upper hex") << QString(64, 'A') << false;
        QTest::newRow("63 digits") << QString(63, 'a') << false;
        QTest::newRow("65 digits") << QString(65, 'a') << false;
        QTest::newRow("not hex") << QString(63, 'a') + 'g' << false;
        QTest::newRow("empty") << QString() << false;
    }
    void validSha()
    {
        QFETCH(QString, text);
        QFETCH(bool, valid);
        QCOMPARE(isValidSha256(text), valid);
    }
};

QTEST_GUILESS_MAIN(TestContainerFile)
#include "tst_container_file.moc"
