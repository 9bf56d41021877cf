/*
** contain.c -- every model load runs first in a forked child under limits
** (engine/load.c parses; this file contains the parsing): a crash, an
** abort or a hang of libhdf5 or libzip on a hostile file becomes one
** error naming the file, and the session goes on.
*/
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "h5.h"
#include "internal.h"

/*------------------------------------------------------------ containment */

/*
** libhdf5 crashes (SIGSEGV in H5HG_read, heap overflows in H5Aexists) and
** loops forever on some corrupt files, and a small file can make it
** allocate gigabytes.  The library cannot be fixed here, so the whole load
** is first done in a forked child under limits: no core file, CPU time,
** address space (the current size plus a budget), and a wall-clock
** deadline.  Only when the child loaded the file cleanly does the shell's
** own process load it; a normal load error comes back through a pipe as
** the k2t_err, and a crash, an abort or a timeout becomes one sentence
** naming the file.  The child leaves with _exit(): it never flushes the
** parent's stdio buffers or runs its atexit handlers.
**
** Environment: K2T_LOAD_TIMEOUT (seconds, default 10 plus 1 per 20 MB of
** file), K2T_MEMORY_LIMIT (MB the child may add, default half the RAM, at
** least 1024), K2T_NO_FORK=1 (load in-process, for debuggers).
** K2T_TEST_LOAD_CRASH=1 makes the child crash (fault injection for tests).
*/

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long long env_ll(const char *name, long long def)
{
    const char *v = getenv(name);
    if (!v || !*v) return def;
    char *e;
    long long x = strtoll(v, &e, 10);
    return *e || x < 0 ? def : x;
}

#if defined(__SANITIZE_ADDRESS__)
#define K2T_ASAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define K2T_ASAN_BUILD 1
#endif
#endif

static void child_limits(double timeout, long long budget_mb)
{
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
    rl.rlim_cur = rl.rlim_max = (rlim_t)timeout + 2;
    setrlimit(RLIMIT_CPU, &rl);
#ifndef K2T_ASAN_BUILD /* ASan reserves terabytes of address space */
    unsigned long long vm_pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%llu", &vm_pages) != 1) vm_pages = 0;
        fclose(f);
    }
    if (vm_pages) {
        rl.rlim_cur = rl.rlim_max = (rlim_t)(vm_pages * (unsigned long long)sysconf(_SC_PAGESIZE) +
                                             (unsigned long long)budget_mb * 1024 * 1024);
        setrlimit(RLIMIT_AS, &rl);
    }
#else
    (void)budget_mb;
#endif
}

/* K2T_OK when 'path' loads cleanly in a child; otherwise the error. */
static k2t_status probe_in_child(const char *path, k2t_err *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) return K2T_OK; /* k2t_model_load_here names it */
    long long t_env = env_ll("K2T_LOAD_TIMEOUT", -1);
    double timeout = t_env >= 0 ? (double)t_env : 10.0 + (double)sb.st_size / (20.0 * 1024 * 1024);
    long long budget = (long long)k2t_memory_limit();
    int pfd[2];
    if (pipe(pfd) != 0) return K2T_OK; /* no containment possible: load in-process */
    fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
    fcntl(pfd[1], F_SETFD, FD_CLOEXEC);
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return K2T_OK;
    }
    if (pid == 0) {
        close(pfd[0]);
        signal(SIGINT, SIG_DFL);
        child_limits(timeout, budget);
        const char *crash = getenv("K2T_TEST_LOAD_CRASH");
        if (crash && *crash == '1') raise(SIGSEGV);
        k2t_err e;
        memset(&e, 0, sizeof e);
        if (k2t_model_load_here(path, &e)) _exit(0);
        ssize_t w = write(pfd[1], &e, sizeof e);
        _exit(w == (ssize_t)sizeof e ? 1 : 2);
    }
    close(pfd[1]);
    k2t_err e;
    memset(&e, 0, sizeof e);
    size_t got = 0;
    int timed_out = 0, interrupted = 0;
    double deadline = mono_now() + timeout;
    for (;;) {
        double left = deadline - mono_now();
        if (left <= 0) { timed_out = 1; break; }
        struct pollfd p = {pfd[0], POLLIN, 0};
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR) {
            if (k2t_interrupted) { interrupted = 1; break; }
            continue;
        }
        if (r == 0) continue; /* the deadline is checked above */
        if (r < 0) break;
        ssize_t n = read(pfd[0], (char *)&e + got, sizeof e - got);
        if (n <= 0) break; /* EOF: the child has exited (or closed the pipe) */
        got += (size_t)n;
        if (got == sizeof e) break;
    }
    if (timed_out || interrupted) kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    close(pfd[0]);
    if (interrupted || (WIFSIGNALED(status) && WTERMSIG(status) == SIGINT))
        return k2t_fail(err, K2T_EINTERRUPTED, "%s: loading was interrupted", path);
    if (timed_out)
        return k2t_fail(err, K2T_EFORMAT, "%s: reading it did not finish within %.0f s (the HDF5 library "
                        "loops on some corrupt files; K2T_LOAD_TIMEOUT sets the limit)", path, timeout);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return K2T_OK;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 1 && got == sizeof e) {
        e.msg[sizeof e.msg - 1] = '\0';
        return k2t_fail(err, e.status ? e.status : K2T_EFORMAT, "%s", e.msg);
    }
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU)
        return k2t_fail(err, K2T_EFORMAT, "%s: reading it used more than %.0f s of CPU time (the HDF5 "
                        "library loops on some corrupt files)", path, timeout + 2);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) {
        struct rlimit rl;
        if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
            return k2t_fail(err, K2T_ENOMEM, "%s: reading it aborted: out of memory under the address-space "
                            "limit of %llu MB (ulimit -v), or the HDF5 library failed (the file is corrupt)", path,
                            (unsigned long long)(rl.rlim_cur >> 20));
        return k2t_fail(err, K2T_ENOMEM, "%s: reading it aborted: out of memory within the %lld MB budget "
                        "(set memory.limit), or the HDF5 library failed (the file is corrupt)", path, budget);
    }
    if (WIFSIGNALED(status))
        return k2t_fail(err, K2T_EFORMAT, "%s: the HDF5 library crashed reading it (%s): the file is corrupt",
                        path, strsignal(WTERMSIG(status)));
    return k2t_fail(err, K2T_EFORMAT, "%s: the HDF5 library crashed reading it (exit status %d): the file is "
                    "corrupt", path, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* Every load is probed in a child first (see above); the contract is
** k2t.h's: a model, or NULL with err naming the file and the fault. */
k2t_model *k2t_model_load(const char *path, k2t_err *err)
{
    k2t_err local;
    if (!err) err = &local;
    const char *nf = getenv("K2T_NO_FORK");
    if (!(nf && *nf && strcmp(nf, "0") != 0)) {
        k2t_status st = probe_in_child(path, err);
        if (st != K2T_OK) return NULL;
    }
    return k2t_model_load_here(path, err);
}

