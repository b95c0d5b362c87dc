// kairos-exec: runs one command so that it, and everything it starts, can never outlive the
// process that launched it (a worker, or the console/server with an embedded worker).
//
//   kairos-exec [--parent-pid PID] [--grace-ms MS] [--lease-file PATH] -- COMMAND [ARGS...]
//
// Why a separate launcher: PR_SET_PDEATHSIG set on the worker's direct child only kills that
// child (not the script's background jobs), and fires when the *thread* that forked exits. So
// the launcher starts its own session/process group, asks the kernel for SIGTERM when its parent
// dies, and on SIGTERM/SIGHUP/SIGINT terminates the whole group: SIGTERM to every member, then
// SIGKILL to the group after the grace period. When the command itself exits, any member of the
// group still running (background jobs of a finished script) is SIGKILLed, so nothing outlives
// the run. The command's exit status is forwarded: the same exit code, or the same signal.
//
// With --lease-file, the run also ends when the worker's lease runs out: the file holds one
// line, the lease's expiry in CLOCK_MONOTONIC milliseconds, rewritten (atomically, by rename)
// each time the worker hears from its server. Instead of blocking in waitpid, the launcher
// waits for the command in slices of at most 250 ms and reads the file after each; once the
// clock passes the expiry it stops the group exactly as on SIGTERM. It needs nothing from the
// worker to do so, which is the point: a frozen (SIGSTOP), hung or cut-off worker cannot keep a
// run alive beside the retry the server starts elsewhere. A missing or unreadable file keeps
// the last expiry read; before any was read there is no lease yet, and nothing expires.
//
// Exit codes of its own: 125 for a usage error or a parent that died before the command could
// start, 126 when the command cannot be executed, 127 when it is not found (like a shell).
// Linux only (prctl, /proc).

#include <dirent.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <initializer_list>

namespace {

constexpr int kUsageExit = 125;
constexpr long kLeasePollMs = 250;
volatile sig_atomic_t g_terminating = 0;
long g_graceMs = 2000;

void onAlarm(int)
{
    // The grace period is over: kill the whole group, this launcher included.
    kill(0, SIGKILL);
}

void onTerminate(int)
{
    if (g_terminating)
        return; // our own forwarded SIGTERM, or a second request
    g_terminating = 1;
    const int savedErrno = errno;
    // Forward to every member once (the worker sends SIGTERM to this launcher only, so members
    // see exactly one SIGTERM), wake stopped members so they can act on it, and arm the SIGKILL.
    kill(0, SIGTERM);
    kill(0, SIGCONT);
    itimerval t{};
    t.it_value.tv_sec = g_graceMs / 1000;
    t.it_value.tv_usec = (g_graceMs % 1000) * 1000;
    if (t.it_value.tv_sec == 0 && t.it_value.tv_usec == 0)
        t.it_value.tv_usec = 1;
    setitimer(ITIMER_REAL, &t, nullptr);
    errno = savedErrno;
}

void installHandler(int sig, void (*handler)(int))
{
    struct sigaction sa {};
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, nullptr);
}

// SIGKILLs every process of our group except ourselves, until none is left (a member may fork
// between two scans). Zombies are already dead and are skipped. Bounded so a process stuck in
// uninterruptible sleep cannot hold the launcher for ever.
void killLeftovers(pid_t pgid)
{
    const pid_t self = getpid();
    for (int round = 0; round < 500; ++round) {
        DIR *proc = opendir("/proc");
        if (!proc)
            return;
        int found = 0;
        while (dirent *entry = readdir(proc)) {
            char *end = nullptr;
            const long pid = std::strtol(entry->d_name, &end, 10);
            if (pid <= 0 || *end != '\0' || pid == self)
                continue;
            char path[64];
            std::snprintf(path, sizeof path, "/proc/%ld/stat", pid);
            FILE *f = std::fopen(path, "re");
            if (!f)
                continue;
            char buf[512];
            const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
            std::fclose(f);
            buf[n] = '\0';
            // "pid (comm) S ppid pgrp ...": comm may contain spaces and parentheses.
            const char *close = std::strrchr(buf, ')');
            char state = 0;
            int ppid = 0;
            int pgrp = 0;
            if (!close || std::sscanf(close + 1, " %c %d %d", &state, &ppid, &pgrp) != 3)
                continue;
            if (pgrp == pgid && state != 'Z' && state != 'X') {
                kill(static_cast<pid_t>(pid), SIGKILL);
                ++found;
            }
        }
        closedir(proc);
        if (found == 0)
            return;
        const timespec pause{0, 2 * 1000 * 1000};
        nanosleep(&pause, nullptr);
    }
}

[[noreturn]] void forwardStatus(int status)
{
    if (WIFEXITED(status))
        std::exit(WEXITSTATUS(status));
    const int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
    // Die the same way so the worker reports "killed by signal N". No second core file: the
    // command already dumped one if its limits allowed it.
    const rlimit noCore{0, 0};
    setrlimit(RLIMIT_CORE, &noCore);
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, nullptr);
    raise(sig);
    std::_Exit(128 + sig); // a signal whose default action does not terminate
}

void usage()
{
    std::fputs("usage: kairos-exec [--parent-pid PID] [--grace-ms MS] [--lease-file PATH] -- "
               "COMMAND [ARGS...]\n",
               stderr);
}

long long monotonicMs()
{
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<long long>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

// The expiry written in the lease file, or false when the file is missing, unreadable or does
// not hold one decimal number (then the caller keeps what it read before). The worker replaces
// the file by rename, so a read never sees half a line.
bool readLease(const char *path, long long *expiryMs)
{
    FILE *f = std::fopen(path, "re");
    if (!f)
        return false;
    char buf[64];
    const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    char *end = nullptr;
    errno = 0;
    const long long v = std::strtoll(buf, &end, 10);
    if (errno != 0 || end == buf)
        return false;
    while (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t')
        ++end;
    if (*end != '\0')
        return false;
    *expiryMs = v;
    return true;
}

// Stops the group as a SIGTERM from the worker would. The terminating signals are blocked
// meanwhile so a real SIGTERM cannot run the handler in the middle of this call.
void terminateLikeSigterm()
{
    sigset_t terminating;
    sigemptyset(&terminating);
    for (int sig : {SIGTERM, SIGHUP, SIGINT})
        sigaddset(&terminating, sig);
    sigset_t previous;
    sigprocmask(SIG_BLOCK, &terminating, &previous);
    onTerminate(SIGTERM);
    sigprocmask(SIG_SETMASK, &previous, nullptr);
}

// Waits for `child` like waitpid(child, &status, 0), but wakes at least every kLeasePollMs to
// check the lease. SIGCHLD is blocked in this process (see main), so sigtimedwait returns as
// soon as the command exits, and the signal handlers for SIGTERM & co. still run meanwhile.
int waitWithLease(pid_t child, const char *leaseFile)
{
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    bool haveLease = false;
    long long expiryMs = 0;
    bool expired = false;
    for (;;) {
        int status = 0;
        const pid_t done = waitpid(child, &status, WNOHANG);
        if (done == child)
            return status;
        if (done < 0 && errno != EINTR) {
            std::fprintf(stderr, "kairos-exec: waitpid: %s\n", std::strerror(errno));
            return 0;
        }
        if (!expired && !g_terminating) {
            long long read = 0;
            if (readLease(leaseFile, &read)) {
                expiryMs = read;
                haveLease = true;
            }
            if (haveLease && monotonicMs() >= expiryMs) {
                expired = true;
                std::fputs("kairos-exec: lease expired (no word from the worker for too long): "
                           "stopping the run\n",
                           stderr);
                terminateLikeSigterm();
            }
        }
        const timespec slice{0, kLeasePollMs * 1000 * 1000};
        sigtimedwait(&chld, nullptr, &slice); // a timeout, EINTR or SIGCHLD: look again
    }
}

bool parseLong(const char *s, long min, long *out)
{
    char *end = nullptr;
    errno = 0;
    const long v = std::strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min)
        return false;
    *out = v;
    return true;
}

} // namespace

int main(int argc, char **argv)
{
    long parentPid = 0;
    const char *leaseFile = nullptr;
    int i = 1;
    for (; i < argc; ++i) {
        if (std::strcmp(argv[i], "--") == 0) {
            ++i;
            break;
        }
        if (std::strcmp(argv[i], "--parent-pid") == 0 && i + 1 < argc) {
            if (!parseLong(argv[++i], 1, &parentPid)) {
                std::fprintf(stderr,
                             "kairos-exec: --parent-pid: expected a process id but got \"%s\"\n",
                             argv[i]);
                return kUsageExit;
            }
        } else if (std::strcmp(argv[i], "--grace-ms") == 0 && i + 1 < argc) {
            if (!parseLong(argv[++i], 0, &g_graceMs)) {
                std::fprintf(stderr,
                             "kairos-exec: --grace-ms: expected milliseconds >= 0 but got \"%s\"\n",
                             argv[i]);
                return kUsageExit;
            }
        } else if (std::strcmp(argv[i], "--lease-file") == 0 && i + 1 < argc) {
            leaseFile = argv[++i];
            if (*leaseFile == '\0') {
                std::fputs("kairos-exec: --lease-file: expected a file path but got \"\"\n",
                           stderr);
                return kUsageExit;
            }
        } else {
            break; // the command starts here (the "--" is optional)
        }
    }
    if (i >= argc) {
        usage();
        return kUsageExit;
    }

    // Our own session and process group (pgid == our pid), so the worker can signal all of it.
    // setsid() fails only if we already lead a group, which is just as good.
    setsid();
    const pid_t pgid = getpgrp();

    // Block the terminating signals until the handlers are in place and the child has reset them,
    // so no signal is lost or handled by the wrong process.
    sigset_t terminating;
    sigemptyset(&terminating);
    for (int sig : {SIGTERM, SIGHUP, SIGINT, SIGALRM})
        sigaddset(&terminating, sig);
    if (leaseFile) {
        // Waiting with a lease takes the command's SIGCHLD with sigtimedwait: blocked from
        // before the fork so it cannot be missed, and at its default action (an inherited
        // SIG_IGN would make the kernel reap the command before waitpid could see its status).
        signal(SIGCHLD, SIG_DFL);
        sigaddset(&terminating, SIGCHLD);
    }
    sigset_t previous;
    sigprocmask(SIG_BLOCK, &terminating, &previous);
    installHandler(SIGTERM, onTerminate);
    installHandler(SIGHUP, onTerminate);
    installHandler(SIGINT, onTerminate);
    installHandler(SIGALRM, onAlarm);

    prctl(PR_SET_PDEATHSIG, SIGTERM);
    // The parent may have died before prctl took effect: then nobody would ever signal us.
    if (parentPid != 0 && getppid() != static_cast<pid_t>(parentPid)) {
        std::fputs("kairos-exec: the launching process exited before the command started\n",
                   stderr);
        return kUsageExit;
    }

    const pid_t child = fork();
    if (child < 0) {
        std::fprintf(stderr, "kairos-exec: cannot fork: %s\n", std::strerror(errno));
        return kUsageExit;
    }
    if (child == 0) {
        // The command gets pristine signal handling: nothing ignored (a worker typically
        // ignores SIGPIPE, which would break pipelines like `yes | head`), nothing blocked.
        for (int sig = 1; sig < NSIG; ++sig) {
            if (sig != SIGKILL && sig != SIGSTOP)
                signal(sig, SIG_DFL);
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        execvp(argv[i], argv + i);
        const int err = errno;
        std::fprintf(stderr, "kairos-exec: cannot run %s: %s\n", argv[i], std::strerror(err));
        _exit(err == ENOENT ? 127 : 126);
    }
    int status = 0;
    if (leaseFile) {
        sigset_t chldOnly = previous;
        sigaddset(&chldOnly, SIGCHLD);
        sigprocmask(SIG_SETMASK, &chldOnly, nullptr);
        status = waitWithLease(child, leaseFile);
    } else {
        sigprocmask(SIG_SETMASK, &previous, nullptr);
        while (waitpid(child, &status, 0) < 0) {
            if (errno != EINTR) {
                std::fprintf(stderr, "kairos-exec: waitpid: %s\n", std::strerror(errno));
                status = 0;
                break;
            }
        }
    }
    // The command is done: leftovers get SIGKILL now, so a pending grace timer is not needed (and
    // must not kill us before the command's status is forwarded).
    const itimerval off{};
    setitimer(ITIMER_REAL, &off, nullptr);
    killLeftovers(pgid);
    forwardStatus(status);
}
