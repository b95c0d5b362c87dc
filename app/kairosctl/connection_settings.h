#pragma once
// Where kairosctl connects and as whom: the global options first, then the environment
// (KAIROS_SERVER, KAIROS_USER, KAIROS_PASSWORD_FILE), then the defaults (127.0.0.1:7070,
// admin; the password has none). The password is the first line of the password file. Errors
// say which flag or variable to set or fix. Pure apart from reading the password file;
// thread-safe.

#include "invocation.h"

#include <client/remote_client.h>
#include <core/result.h>

namespace kairos::cli {

struct ConnectionEnvironment {
    QString server;       // KAIROS_SERVER
    QString user;         // KAIROS_USER
    QString passwordFile; // KAIROS_PASSWORD_FILE
    static ConnectionEnvironment fromProcess();
};

Result<client::RemoteEndpoint> resolveEndpoint(const GlobalOptions &options,
                                               const ConnectionEnvironment &env);

// The password: the first line of `path`, its line ending removed. `source` names where the
// path came from ("--password-file" or "KAIROS_PASSWORD_FILE") in errors.
Result<QString> readPasswordFile(const QString &path, const QString &source);

} // namespace kairos::cli
