/*
** paths.c -- files a command reads: the script's directory, the current
** directory, k2t's data directory (paths.h states the rule).
*/
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "paths.h"

#ifndef K2T_DATADIR
#define K2T_DATADIR "/usr/local/share/k2t"
#endif

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* dir + "/" + tail into buf; 0 when it fits and exists. */
static int try_join(char *buf, size_t n, const char *dir, const char *tail)
{
    int w = snprintf(buf, n, "%s/%s", dir, tail);
    return w > 0 && (size_t)w < n && exists(buf) ? 0 : -1;
}

/* Keep 'path' (made canonical when it can be) as the data directory. */
static int keep(char *dir, size_t n, const char *path)
{
    char real[PATH_MAX];
    if (!exists(path)) return -1;
    snprintf(dir, n, "%s", realpath(path, real) ? real : path);
    return 0;
}

const char *k2t_data_dir(void)
{
    static char dir[PATH_MAX + 64];
    static int done;
    if (done) return dir[0] ? dir : NULL;
    done = 1;
    const char *env = getenv("K2T_DATA");
    if (env && *env) return keep(dir, sizeof dir, env) == 0 ? dir : NULL;

    char exe[PATH_MAX], probe[PATH_MAX + 64];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            /* a source tree: the binary is built at its top */
            if (try_join(probe, sizeof probe, exe, "demo/demo.h5") == 0 ||
                try_join(probe, sizeof probe, exe, "scripts/lessons") == 0)
                if (keep(dir, sizeof dir, exe) == 0) return dir;
            /* an installation: <prefix>/bin/k2t and <prefix>/share/k2t */
            if (try_join(probe, sizeof probe, exe, "../share/k2t") == 0 && keep(dir, sizeof dir, probe) == 0)
                return dir;
        }
    }
    if (keep(dir, sizeof dir, K2T_DATADIR) == 0) return dir;
    dir[0] = '\0';
    return NULL;
}

const char *k2t_lessons_dir(void)
{
    static char dir[PATH_MAX + 32];
    const char *data = k2t_data_dir();
    if (!data) return NULL;
    if (try_join(dir, sizeof dir, data, "lessons") == 0) return dir;
    if (try_join(dir, sizeof dir, data, "scripts/lessons") == 0) return dir;
    return NULL;
}

const char *k2t_shell_path(const k2t_shell *sh, const char *arg, char *buf, size_t n)
{
    /* buf NULL: one of a few buffers of our own, reused in turn, so that a
    ** command can resolve its arguments in place (commands run one at a
    ** time, on the main thread) */
    static char ring[4][PATH_MAX + 32];
    static int next;
    if (!buf) {
        buf = ring[next];
        n = sizeof ring[next];
        next = (next + 1) % 4;
    }
    if (!arg || !arg[0] || arg[0] == '/') return arg;
    /* 1. beside the running script (not -c, not the terminal) */
    const char *src = sh ? sh->src_name : NULL;
    const char *slash = src ? strrchr(src, '/') : NULL;
    if (slash) {
        int w = snprintf(buf, n, "%.*s/%s", (int)(slash - src), src, arg);
        if (w > 0 && (size_t)w < n && exists(buf)) return buf;
    }
    /* 2. the current directory */
    if (exists(arg)) return arg;
    /* 3. the data directory: the demo and the lessons from anywhere */
    const char *data = k2t_data_dir();
    if (data && try_join(buf, n, data, arg) == 0) return buf;
    return arg;
}
