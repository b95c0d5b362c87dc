#pragma once
// Checks a file that claims to be a Kairos container, without running any of its code: the ELF
// header (a shared object for this machine), the Qt plugin metadata (read by QPluginLoader's ELF
// parser, which does not load the library), the plugin IID and SDK version, and the metadata's
// fields. The server calls it on every upload, the worker before it loads a download. Errors
// are the user-facing texts of docs/containers.md section 8 ("not a shared library: no ELF
// header", "incompatible SDK version 2: this server supports SDK version 1", ...).
//
// Plain functions, thread-safe (QPluginLoader::metaData is reentrant on distinct files).

#include <core/container_info.h>
#include <core/result.h>

#include <QString>

namespace kairos {

// The SDK version this build serves (KAIROS_SDK_VERSION of engine/sdk/kairos/container.h).
int supportedSdkVersion();

// Reads and checks the metadata of the container library at `path` (any file name). `role` is
// "server" or "worker" for the SDK error text.
Result<ContainerMetadata> readContainerMetadata(const QString &path,
                                                const QString &role = QStringLiteral("server"));

// SHA-256 of a file as 64 lowercase hex digits, read in chunks.
Result<QString> sha256OfFile(const QString &path);

// True for 64 lowercase hex digits.
bool isValidSha256(const QString &text);

} // namespace kairos
