#pragma once
// Reads an app secret from the file given to --secret-file. The secret is the file's content
// with one trailing line break removed (so `echo SECRET > file` and editors that add a final
// newline both work). A file other users can read is accepted with a warning: refusing it would
// break containers that mount secrets with loose modes, but the operator should know.
//
// Plain function: thread-safe.

#include <core/result.h>

#include <QString>

namespace kairos::agent {

struct SecretFile {
    QString secret;
    QString warning; // set when the file is readable by every user
};

// Errors name the file and what is wrong: "--secret-file /x: the file does not exist",
// "--secret-file /x: the file is empty; it must hold the app's secret".
Result<SecretFile> readSecretFile(const QString &path);

} // namespace kairos::agent
