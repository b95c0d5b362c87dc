#include "container_file.h"

#include <kairos/container.h>

#include <QCryptographicHash>
#include <QFile>
#include <QFileInfo>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QPluginLoader>

#include <cstring>
#include <optional>

namespace kairos {

namespace {

// File-local: this file is also compiled into tests on its own.
Q_LOGGING_CATEGORY(lcContainerFile, "kairos.worker.containerfile", QtWarningMsg)

// The fields of an ELF header this reader needs (the identification bytes are the same for
// 32- and 64-bit files; e_type and e_machine sit at the same offsets in both).
constexpr int kElfIdentSize = 16;
constexpr int kEiClass = 4;
constexpr int kEiData = 5;
constexpr unsigned char kElfClass64 = 2;
constexpr quint16 kElfTypeShared = 3; // ET_DYN
constexpr int kHeaderBytes = 20;      // e_ident, e_type (2), e_machine (2)

struct ElfIdentity {
    unsigned char elfClass = 0;
    unsigned char data = 0; // 1: little endian, 2: big endian
    quint16 type = 0;
    quint16 machine = 0;
};

quint16 read16(const char *p, unsigned char data)
{
    const auto b0 = quint16(static_cast<unsigned char>(p[0]));
    const auto b1 = quint16(static_cast<unsigned char>(p[1]));
    return data == 2 ? quint16((b0 << 8) | b1) : quint16((b1 << 8) | b0);
}

// Reads the ELF identity of `path`; an empty optional when the file is not ELF at all.
Result<std::optional<ElfIdentity>> readElfIdentity(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return makeError(QStringLiteral("cannot read %1: %2").arg(path, file.errorString()));
    const QByteArray header = file.read(kHeaderBytes);
    if (header.size() < kHeaderBytes
        || std::memcmp(header.constData(),
                       "\x7f"
                       "ELF",
                       4)
               != 0)
        return std::optional<ElfIdentity>();
    ElfIdentity id;
    id.elfClass = static_cast<unsigned char>(header[kEiClass]);
    id.data = static_cast<unsigned char>(header[kEiData]);
    id.type = read16(header.constData() + kElfIdentSize, id.data);
    id.machine = read16(header.constData() + kElfIdentSize + 2, id.data);
    return std::optional<ElfIdentity>(id);
}

// The running process's own ELF identity (/proc/self/exe), so "this machine" is whatever this
// binary was built for, read once.
const std::optional<ElfIdentity> &ownIdentity()
{
    static const std::optional<ElfIdentity> own = [] {
        const auto id = readElfIdentity(QStringLiteral("/proc/self/exe"));
        if (!id || !id->has_value()) {
            qCWarning(lcContainerFile,
                      "cannot read this process's ELF header (%s): machine check disabled",
                      qPrintable(id.error()));
            return std::optional<ElfIdentity>();
        }
        return *id;
    }();
    return own;
}

QString roleText(const QString &role)
{
    return role == QLatin1String("worker") ? QStringLiteral("worker") : QStringLiteral("server");
}

Error sdkError(qint64 found, const QString &role)
{
    return makeError(QStringLiteral("incompatible SDK version %1: this %2 supports SDK version %3")
                         .arg(found)
                         .arg(roleText(role))
                         .arg(supportedSdkVersion()));
}

} // namespace

int supportedSdkVersion()
{
    return KAIROS_SDK_VERSION;
}

Result<ContainerMetadata> readContainerMetadata(const QString &path, const QString &role)
{
    const QFileInfo info(path);
    if (!info.exists())
        return makeError(QStringLiteral("cannot read %1: no such file").arg(path));
    if (!info.isFile())
        return makeError(QStringLiteral("cannot read %1: not a regular file").arg(path));

    // Our own ELF check first: Qt's parser would refuse the same files, but with texts meant
    // for developers, and the machine check must name both machines.
    const auto elf = readElfIdentity(path);
    if (!elf)
        return makeError(elf.error());
    if (!elf->has_value())
        return makeError(QStringLiteral("not a shared library: no ELF header"));
    const ElfIdentity &id = **elf;
    if (const auto &own = ownIdentity(); own.has_value()) {
        if (id.elfClass != own->elfClass || id.data != own->data)
            return makeError(QStringLiteral("not a shared library for this machine: ELF class %1, "
                                            "byte order %2, expected class %3, byte order %4")
                                 .arg(id.elfClass)
                                 .arg(id.data)
                                 .arg(own->elfClass)
                                 .arg(own->data));
        if (id.machine != own->machine)
            return makeError(
                QStringLiteral("not a shared library for this machine: ELF machine %1, expected %2")
                    .arg(id.machine)
                    .arg(own->machine));
    } else if (id.elfClass != kElfClass64) {
        return makeError(QStringLiteral("not a shared library for this machine: ELF class %1, "
                                        "expected %2 (64-bit)")
                             .arg(id.elfClass)
                             .arg(kElfClass64));
    }
    if (id.type != kElfTypeShared)
        return makeError(QStringLiteral("not a shared library: ELF type %1, expected %2 (a shared "
                                        "object)")
                             .arg(id.type)
                             .arg(kElfTypeShared));

    // QPluginLoader reads the metadata section with Qt's own ELF parser and does not load the
    // library (as long as nothing in this process has loaded that exact file; then it asks the
    // loaded copy, which runs no new code either). Qt 6.4 takes any file name here — no ".so"
    // suffix is needed — but resolves relative names against the plugin search path, hence the
    // absolute path. The loader is destroyed at once so Qt's cache of the file's metadata
    // (keyed by path) cannot outlive this call and go stale when the file is replaced.
    QJsonObject plugin;
    QString loaderError;
    {
        QPluginLoader loader(info.absoluteFilePath());
        plugin = loader.metaData();
        loaderError = loader.errorString();
    }
    if (plugin.isEmpty()) {
        qCDebug(lcContainerFile, "%s: %s", qPrintable(path), qPrintable(loaderError));
        // A plugin built against a newer Qt is still a container: say why it cannot be used.
        if (loaderError.contains(QLatin1String("incompatible Qt library")))
            return makeError(QStringLiteral("not a usable Kairos container: %1").arg(loaderError));
        return makeError(QStringLiteral(
            "not a Kairos container: no plugin metadata (build it with kairos_add_container)"));
    }

    const QString iid = plugin.value(QLatin1String("IID")).toString();
    const QString expectedIid = QStringLiteral(KAIROS_CONTAINER_IID);
    if (iid != expectedIid) {
        // The IID carries the SDK version: a container of another SDK is named as such.
        static const QString prefix = QStringLiteral("io.kairos.Container/");
        if (iid.startsWith(prefix)) {
            bool isNumber = false;
            const qint64 sdk = iid.mid(prefix.size()).toLongLong(&isNumber);
            if (isNumber)
                return sdkError(sdk, role);
        }
        return makeError(QStringLiteral("not a Kairos container: plugin IID '%1', expected '%2'")
                             .arg(iid, expectedIid));
    }

    const QJsonValue metaData = plugin.value(QLatin1String("MetaData"));
    if (!metaData.isObject() || metaData.toObject().isEmpty())
        return makeError(QStringLiteral("not a Kairos container: no plugin metadata (build it "
                                        "with kairos_add_container)"));
    const QJsonObject json = metaData.toObject();
    // The SDK first: metadata of another SDK may legitimately have other fields.
    if (const QJsonValue sdk = json.value(QLatin1String("sdk"));
        sdk.isDouble() && sdk.toDouble() != supportedSdkVersion())
        return sdkError(qint64(sdk.toDouble()), role);
    return ContainerMetadata::fromJson(json);
}

Result<QString> sha256OfFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return makeError(QStringLiteral("cannot read %1: %2").arg(path, file.errorString()));
    QCryptographicHash hash(QCryptographicHash::Sha256);
    QByteArray buffer(256 * 1024, Qt::Uninitialized); // on the heap: any thread may call this
    for (;;) {
        const qint64 n = file.read(buffer.data(), buffer.size());
        if (n < 0)
            return makeError(QStringLiteral("cannot read %1: %2").arg(path, file.errorString()));
        if (n == 0)
            break;
        hash.addData(QByteArrayView(buffer.data(), n));
    }
    return QString::fromLatin1(hash.result().toHex());
}

bool isValidSha256(const QString &text)
{
    if (text.size() != 64)
        return false;
    for (const QChar c : text) {
        if (!((c >= u'0' && c <= u'9') || (c >= u'a' && c <= u'f')))
            return false;
    }
    return true;
}

} // namespace kairos
