#include "usage.h"

namespace kairos::cli {
namespace {

struct CommandHelp {
    const char *path;
    const char *synopsis; // after "kairosctl [GLOBAL OPTIONS] <path> "
    const char *summary;
    const char *details; // option lines, may be empty
};

const char kJobOptions[] =
    "Job options (create: --name, one timing and one processor are required unless --file is\n"
    "given; update: only the options given are changed):\n"
    "  --name NAME            unique job name\n"
    "  --description TEXT     free text\n"
    "  --cron EXPR            CRON timing: Unix 5-field or Quartz 6/7-field expression\n"
    "  --rate DUR             FIXED_RATE timing: every DUR (1500, 250ms, 30s, 5m, 2h, 1d)\n"
    "  --delay DUR            FIXED_DELAY timing: DUR after the previous run ended\n"
    "  --at TIME              ONE_SHOT timing: ISO-8601 date-time or epoch milliseconds\n"
    "  --api                  API timing: runs only when asked (job run)\n"
    "  --tz ZONE              IANA time zone of the timing (default: the server's zone)\n"
    "  --misfire POLICY       fire-once (default), skip or fire-all\n"
    "  --shell SCRIPT         SHELL processor: run SCRIPT with /bin/bash\n"
    "  --http URL             HTTP processor: request URL (2xx = success)\n"
    "  --method M             HTTP method with --http (default GET)\n"
    "  --echo MSG             ECHO processor: log MSG and succeed\n"
    "  --sleep MS             SLEEP processor: wait MS milliseconds and succeed\n"
    "  --container REF        CONTAINER processor: run processor P of an uploaded container C,\n"
    "                         REF = C#P (hello#greet; see kairosctl container --help)\n"
    "  --params P             job parameters handed to every run (JSON recommended)\n"
    "  --timeout MS           fail an attempt after MS milliseconds (0 = no timeout)\n"
    "  --retries N            extra attempts after a failure (default 0)\n"
    "  --retry-backoff MS     delay before the first retry, doubled per retry (default 1000)\n"
    "  --max-instances N      runs of the job at the same time (0 = unlimited); a run\n"
    "                         started at the limit is recorded as SKIPPED\n"
    "  --disabled             create the job disabled / disable it\n"
    "  --mode MODE            standalone (default), broadcast (once on every live worker),\n"
    "                         map or map-reduce (an SDK processor splits the run into tasks);\n"
    "                         see docs/execution-modes.md\n"
    "  --max-workers N        broadcast / map: at most N workers (0 = every one that fits)\n"
    "  --task-retries N       broadcast / map: extra runs of a task whose processor failed\n"
    "                         (0 to 100, default 0)\n";

const CommandHelp kCommands[] = {
    {"job create", "(--file F | --name N TIMING PROCESSOR [OPTIONS])",
     "create a job from a JSON file (- for stdin) or from options; prints the job",
     "  --file F               a job JSON file, e.g. one exported with `job show --json`;\n"
     "                         options given as well override its fields\n"},
    {"job update", "ID|NAME (--file F | OPTIONS)",
     "change the fields given in a JSON patch file or as options; prints the job",
     "  --file F               a JSON object with only the fields to change; a \"version\"\n"
     "                         field makes the update fail if the job changed since then\n"},
    {"job list", "", "list every job with its next fire time", ""},
    {"job show", "ID|NAME", "show one job (with --json: the exportable job document)", ""},
    {"job enable", "ID|NAME", "enable a job: its timing fires again", ""},
    {"job disable", "ID|NAME", "disable a job: no scheduled fires (job run still works)", ""},
    {"job delete", "ID|NAME", "delete a job (its history is kept until purged)", ""},
    {"job run", "ID|NAME [--params P] [--count N] [--wait [--timeout-s S]]",
     "run a job now; prints the instance ids",
     "  --params P             instance parameters of the run(s)\n"
     "  --count N              start N runs (default 1)\n"
     "  --wait                 wait until every run has ended; the exit code is 4 if one did\n"
     "                         not succeed\n"
     "  --timeout-s S          with --wait: give up after S seconds (exit code 5)\n"},
    {"instance list", "[--job ID|NAME] [--status S[,S]] [--worker W] [--limit N] [--before ID]",
     "list runs, newest first",
     "  --job ID|NAME          only runs of this job\n"
     "  --status S[,S]         only these states (WAITING_DISPATCH, WAITING_WORKER, DISPATCHED,\n"
     "                         RUNNING, SUCCEEDED, FAILED, TIMED_OUT, CANCELED, SKIPPED)\n"
     "  --worker W             only runs on this worker\n"
     "  --limit N              at most N runs (default 100, at most 10000)\n"
     "  --before ID            only runs with a smaller id (the next page)\n"},
    {"instance show", "ID", "show one run and its attempts", ""},
    {"instance logs", "ID [--follow]", "print the log lines of a run",
     "  --follow               keep printing new lines until the run has ended\n"},
    {"instance tasks", "ID [--status S[,S]] [--after K] [--limit N] [--all]",
     "list the tasks of a BROADCAST, MAP or MAP_REDUCE run, by task id",
     "  --status S[,S]         only tasks in these states (WAITING_DISPATCH, DISPATCHED,\n"
     "                         RUNNING, SUCCEEDED, FAILED, TIMED_OUT, CANCELED)\n"
     "  --after K              only tasks with an id above K (the next page)\n"
     "  --limit N              at most N tasks per page (default 100, at most 1000)\n"
     "  --all                  every page, one after the other (pages of 1000 unless --limit)\n"
     "Columns: RUNS is how often the task was sent to a worker (failovers and retries add\n"
     "one each); WORKER and ADDRESS are where it ran last (a broadcast task keeps its worker\n"
     "for ever); RESULT is the first line of its result or of why it failed. A STANDALONE run\n"
     "has no tasks. See docs/execution-modes.md.\n"},
    {"instance cancel", "ID", "cancel a run that has not ended", ""},
    {"instance retry", "ID", "run a FAILED, TIMED_OUT or CANCELED run again (a new attempt)", ""},
    {"container upload", "FILE",
     "upload a container library (built with kairos_add_container); prints the version",
     "  FILE                   the .so file; it is checked by the server (ELF, plugin metadata,\n"
     "                         SDK version) and stored under its SHA-256. Uploading the same\n"
     "                         file again changes nothing and prints the stored version.\n"
     "Progress goes to stderr. See docs/containers.md.\n"},
    {"container list", "",
     "list the containers: default version, isolation, versions, pinned workers, jobs", ""},
    {"container versions", "NAME",
     "list the versions of a container, newest first, with where each is deployed",
     "Columns: DEPLOYED TO is \"*\" for the default version (every worker) or the workers it\n"
     "is pinned to; MISSING names processors that jobs of this container use but this\n"
     "version lacks (deploying it would fail their runs).\n"},
    {"container deploy",
     "NAME [--version V] [--workers W[,W]] [--isolation process|inprocess] [--follow "
     "[--timeout S]]",
     "make a version the active one of a container on the workers",
     "  --version V            a SHA-256, a prefix of at least 8 of its hex digits, or a\n"
     "                         version label (default: the newest upload)\n"
     "  --workers W[,W]        only these connected workers (the version is pinned for\n"
     "                         them); default: every worker, now and when they connect (the\n"
     "                         container's default version)\n"
     "  --isolation MODE       process (default: each version in its own host process) or\n"
     "                         inprocess (loaded into the worker: faster, but a crash takes\n"
     "                         the worker down)\n"
     "  --follow               print one line per stage change of each target worker (QUEUED,\n"
     "                         DOWNLOADING, VERIFYING, LOADING, READY, FAILED) until every one\n"
     "                         is READY or FAILED; exit code 0 when all are READY, 1 when one\n"
     "                         FAILED, 2 on timeout\n"
     "  --timeout S            with --follow: give up after S seconds (default 120)\n"},
    {"container status", "[NAME]",
     "show each worker's version and latest deploy stage per container",
     "Columns: ACTIVE is the version the worker runs now, DESIRED the one the deployments say\n"
     "it should run; CURRENT is NO where they differ (a deploy in progress or failed).\n"},
    {"app create", "NAME",
     "create an app (the workers of one group log in as it); prints its secret",
     "  NAME                   1 to 64 characters of A-Z a-z 0-9 . _ -\n"
     "The secret alone goes to stdout, shown only this once (the server keeps only a\n"
     "verifier): kairosctl app create billing > billing.secret\n"},
    {"app list", "", "list the apps and how many live workers each has", ""},
    {"app rotate-secret", "NAME", "give an app a new secret; prints it",
     "The new secret alone goes to stdout. Connected workers stay connected; new logins\n"
     "need the new secret.\n"},
    {"worker list", "",
     "list the workers: live, draining and (for one hour) dead, with their last heartbeat",
     "Columns: LOAD is the 1-minute load average / CPUs, RUNNING is tasks running /\n"
     "capacity; \"-\" where a worker reports no figure (the server's own worker).\n"},
    {"cron next", "EXPR [--tz ZONE] [--from EPOCH_MS] [--count N] | --batch [--count N]",
     "print the next fire times of a cron expression (no server needed)",
     "  --tz ZONE              IANA time zone (default: this machine's zone)\n"
     "  --from EPOCH_MS        start after this instant (default: now)\n"
     "  --count N              how many fire times (default 10)\n"
     "  --batch                read EXPR<TAB>ZONE<TAB>FROM_EPOCH_MS lines on stdin; print per\n"
     "                         line the fire times separated by tabs, or INVALID<TAB>reason\n"
     "Output: one line per fire time, <epoch ms><TAB><ISO local time>.\n"},
    {"server info", "", "show the server's id, version, time, zone and counts", ""},
};

const char kGlobalOptions[] =
    "Global options (before or after the command):\n"
    "  --server HOST:PORT     the kairosd to talk to (env KAIROS_SERVER, default 127.0.0.1:7070)\n"
    "  --user NAME            administrator name (env KAIROS_USER, default admin)\n"
    "  --password-file F      file whose first line is the password (env KAIROS_PASSWORD_FILE;\n"
    "                         kairosd writes DATA/admin.password on its first start)\n"
    "  --tls                  connect with TLS, verifying the server against the system CAs\n"
    "  --tls-ca FILE          connect with TLS, verifying the server against this PEM file\n"
    "  --json                 machine output: one JSON document on stdout\n"
    "  -h, --help             show help (of a command: kairosctl job run --help)\n"
    "  --version              show the version\n";

const char kExitCodes[] =
    "Exit codes:\n"
    "  0  done\n"
    "  1  the server (or the cron engine, for cron next) answered with an error; container\n"
    "     deploy --follow: the deploy FAILED on a worker\n"
    "  2  usage error: a bad or missing option or argument; container deploy --follow: a\n"
    "     target worker had not finished within --timeout\n"
    "  3  cannot connect or authenticate, or the connection was lost\n"
    "  4  job run --wait: a run did not succeed\n"
    "  5  job run --wait --timeout-s: a run had not ended in time\n";

const CommandHelp *find(const QString &path)
{
    for (const CommandHelp &c : kCommands) {
        if (path == QLatin1String(c.path))
            return &c;
    }
    return nullptr;
}

QString synopsisLine(const CommandHelp &c)
{
    QString line = QStringLiteral("kairosctl [GLOBAL OPTIONS] ") + QLatin1String(c.path);
    if (*c.synopsis)
        line += u' ' + QLatin1String(c.synopsis);
    return line;
}

QString commandIndex(const QString &group)
{
    QString out;
    for (const CommandHelp &c : kCommands) {
        const QString path = QLatin1String(c.path);
        if (!group.isEmpty() && path.section(u' ', 0, 0) != group)
            continue;
        QString left = path;
        if (*c.synopsis)
            left += u' ' + QLatin1String(c.synopsis);
        out += QStringLiteral("  ") + left + QStringLiteral("\n      ") + QLatin1String(c.summary)
               + u'\n';
    }
    return out;
}

} // namespace

QStringList commandPaths()
{
    QStringList out;
    for (const CommandHelp &c : kCommands)
        out << QLatin1String(c.path);
    return out;
}

QStringList commandsOfGroup(const QString &group)
{
    QStringList out;
    for (const QString &path : commandPaths()) {
        if (path.section(u' ', 0, 0) == group)
            out << path;
    }
    return out;
}

QString generalHelp()
{
    return QStringLiteral("kairosctl: the command-line client of a Kairos server (kairosd).\n\n"
                          "Usage: kairosctl [GLOBAL OPTIONS] <command> [ARGS]\n\n")
           + QLatin1String(kGlobalOptions)
           + QStringLiteral("\nCommands (ID|NAME: a job by numeric id or by name):\n")
           + commandIndex(QString()) + u'\n' + QLatin1String(kExitCodes);
}

QString usageFor(const QString &commandPath)
{
    if (const CommandHelp *c = find(commandPath)) {
        QString out = QStringLiteral("Usage: ") + synopsisLine(*c) + QStringLiteral("\n  ")
                      + QLatin1String(c->summary) + u'\n';
        if (*c->details)
            out += u'\n' + QLatin1String(c->details);
        if (commandPath == QLatin1String("job create")
            || commandPath == QLatin1String("job update"))
            out += u'\n' + QLatin1String(kJobOptions);
        out += QStringLiteral("\nGlobal options: see kairosctl --help\n");
        return out;
    }
    if (!commandsOfGroup(commandPath).isEmpty()) {
        return QStringLiteral("Usage: kairosctl [GLOBAL OPTIONS] %1 <command> [ARGS]\n\n"
                              "Commands:\n")
                   .arg(commandPath)
               + commandIndex(commandPath);
    }
    return generalHelp();
}

} // namespace kairos::cli
