/*
** util.c -- errors, memory and shapes: the small things every engine
** module uses.
**
** Errors are values (k2t_status + one sentence in k2t_err), never prints.
** k2t_x*alloc abort on exhaustion like Redis's zmalloc: they serve small,
** bounded, internal allocations; anything sized by a file is checked
** against K2T_MAX_NUMEL and allocated with plain malloc by its reader.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"

volatile int k2t_interrupted = 0;

k2t_status k2t_fail(k2t_err *err, k2t_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->status = status;
    }
    return status;
}

const char *k2t_status_name(k2t_status s)
{
    static const char *const names[] = {
        "ok", "I/O error", "format error", "shape error", "unsupported",
        "out of memory", "bad argument", "interrupted",
    };
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "error";
}

/*----------------------------------------------------------------- memory */

static int64_t memory_limit_mb; /* 0: the default */

int64_t k2t_memory_limit_default(void)
{
    const char *e = getenv("K2T_MEMORY_LIMIT");
    if (e && *e) {
        char *end;
        long long v = strtoll(e, &end, 10);
        if (!*end && v > 0) return v;
    }
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    int64_t ram_mb = pages > 0 && psize > 0 ? (int64_t)pages / 1024 * psize / 1024 : 0;
    return ram_mb / 2 > 1024 ? ram_mb / 2 : 1024;
}

int64_t k2t_memory_limit(void)
{
    return memory_limit_mb > 0 ? memory_limit_mb : k2t_memory_limit_default();
}

int64_t k2t_set_memory_limit(int64_t mb)
{
    int64_t old = k2t_memory_limit();
    memory_limit_mb = mb > 0 ? mb : 0;
    return old;
}

static void oom(size_t n)
{
    fprintf(stderr, "k2t: out of memory allocating %zu bytes\n", n);
    abort();
}

void *k2t_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *k2t_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size);
    return p;
}

void *k2t_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *k2t_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = k2t_xmalloc(n);
    memcpy(p, s, n);
    return p;
}

/*------------------------------------------------------------ safe write */

static const char *file_kind(mode_t m)
{
    return S_ISDIR(m) ? "a directory" : S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device"
         : S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket" : "not a regular file";
}

k2t_status k2t_check_write_target(const char *path, int force, k2t_err *err)
{
    struct stat sb;
    if (!path || !*path) return k2t_fail(err, K2T_EARG, "no file name given");
    if (path[strlen(path) - 1] == '/')
        return k2t_fail(err, K2T_EARG, "'%s' names a directory, not a file", path);
    if (lstat(path, &sb) != 0) {
        if (errno == ENOENT) return K2T_OK;
        return k2t_fail(err, K2T_EIO, "cannot write '%s': %s", path, strerror(errno));
    }
    if (S_ISLNK(sb.st_mode)) {
        /* The link is replaced, never written through; what it points to
        ** does not matter, but without --force the name is taken. */
        if (!force) return k2t_fail(err, K2T_EIO, "'%s' exists (a symbolic link; use --force to replace the link)", path);
        return K2T_OK;
    }
    if (!S_ISREG(sb.st_mode))
        return k2t_fail(err, K2T_EIO, "cannot write '%s': it is %s, not a regular file", path, file_kind(sb.st_mode));
    if (!force) return k2t_fail(err, K2T_EIO, "'%s' exists (use --force to overwrite it)", path);
    return K2T_OK;
}

FILE *k2t_fopen_regular(const char *path, k2t_err *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        k2t_fail(err, K2T_EIO, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    if (S_ISDIR(sb.st_mode)) {
        k2t_fail(err, K2T_EIO, "'%s' is a directory, not a file", path);
        return NULL;
    }
    if (!S_ISREG(sb.st_mode)) {
        k2t_fail(err, K2T_EIO, "'%s' is not a regular file (it is %s)", path, file_kind(sb.st_mode));
        return NULL;
    }
    /* Non-blocking, then checked again: the name may have changed since. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        k2t_fail(err, K2T_EIO, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        k2t_fail(err, K2T_EIO, "'%s' is not a regular file", path);
        return NULL;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        k2t_fail(err, K2T_EIO, "cannot open '%s': %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

static void sync_parent(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

k2t_status k2t_write_file_safe(const char *path, int force, k2t_fill_fn fill, void *ctx, k2t_err *err)
{
    k2t_status st = k2t_check_write_target(path, force, err);
    if (st != K2T_OK) return st;
    /* The temporary file lives beside the target, so rename(2) is atomic. */
    char dir[4096], tmp[4200];
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) >= sizeof dir) return k2t_fail(err, K2T_EARG, "the file name '%.200s...' is too long", path);
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (snprintf(tmp, sizeof tmp, "%s/.%.200s.k2t-XXXXXX", dir, base) >= (int)sizeof tmp)
        return k2t_fail(err, K2T_EARG, "the file name '%.200s...' is too long", path);
    int fd = mkstemp(tmp);
    if (fd < 0) return k2t_fail(err, K2T_EIO, "cannot write '%s': %s", path, strerror(errno));
    /* mkstemp makes 0600: give the file what open(2) with 0666 would. */
    mode_t um = umask(0);
    umask(um);
    struct stat old;
    fchmod(fd, stat(path, &old) == 0 && S_ISREG(old.st_mode) ? (old.st_mode & 07777) : (0666 & ~um));
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return k2t_fail(err, K2T_EIO, "cannot write '%s': %s", path, strerror(e));
    }
    errno = 0;
    st = fill(f, ctx, err);
    if (st == K2T_OK && (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0))
        st = k2t_fail(err, K2T_EIO, "cannot write '%s': %s", path, strerror(errno ? errno : EIO));
    if (fclose(f) != 0 && st == K2T_OK)
        st = k2t_fail(err, K2T_EIO, "cannot write '%s': %s", path, strerror(errno));
    if (st != K2T_OK) {
        unlink(tmp); /* ours; the target was never touched */
        return st;
    }
    int rc;
    if (force) {
        rc = rename(tmp, path);
    } else {
        /* link(2) fails on an existing name: no window where another
        ** process's new file is overwritten. */
        rc = link(tmp, path);
        if (rc == 0) unlink(tmp);
        else if (errno != EEXIST) {
            struct stat sb;
            rc = lstat(path, &sb) == 0 ? (errno = EEXIST, -1) : rename(tmp, path);
        }
    }
    if (rc != 0) {
        int e = errno;
        unlink(tmp);
        if (e == EEXIST) return k2t_fail(err, K2T_EIO, "'%s' exists (use --force to overwrite it)", path);
        return k2t_fail(err, K2T_EIO, "cannot write '%s': %s", path, strerror(e));
    }
    sync_parent(dir);
    return K2T_OK;
}

/*---------------------------------------------------------- string buffer */

void k2t_buf_vprintf(k2t_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int need = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (need < 0) return;
    if (b->len + (size_t)need + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + (size_t)need + 1) cap *= 2;
        b->p = k2t_xrealloc(b->p, cap);
        b->cap = cap;
    }
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    b->len += (size_t)need;
}

void k2t_buf_printf(k2t_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    k2t_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

/*----------------------------------------------------------------- shapes */

int k2t_shape_fits(const k2t_shape *want, const k2t_shape *got)
{
    if (want->ndim != got->ndim) return 0;
    for (int i = 0; i < want->ndim; i++)
        if (want->d[i] >= 0 && want->d[i] != got->d[i]) return 0;
    return 1;
}

int64_t k2t_shape_numel(const k2t_shape *s)
{
    int64_t n = 1;
    if (s->ndim < 0) return -1;
    for (int i = 0; i < s->ndim; i++) {
        if (s->d[i] < 0) return -1;
        n *= s->d[i];
    }
    return n;
}

k2t_shape k2t_shape_nchw(const k2t_shape *s)
{
    k2t_shape t = *s;
    if (s->ndim >= 2) {
        t.d[0] = s->d[s->ndim - 1];
        for (int i = 1; i < s->ndim; i++) t.d[i] = s->d[i - 1];
    }
    return t;
}

char *k2t_shape_str(const k2t_shape *s, int with_batch, char *buf, size_t n)
{
    size_t len = 0;
    if (n == 0) return buf;
    buf[0] = '\0';
    if (s->ndim < 0) {
        snprintf(buf, n, "?");
        return buf;
    }
#define PUT(...) do { int w_ = snprintf(buf + len, len < n ? n - len : 0, __VA_ARGS__); \
                      if (w_ > 0) len += (size_t)w_; } while (0)
    PUT("(");
    if (with_batch) PUT("None%s", s->ndim ? ", " : "");
    for (int i = 0; i < s->ndim; i++) {
        if (s->d[i] < 0) PUT("None");
        else PUT("%lld", (long long)s->d[i]);
        if (i + 1 < s->ndim) PUT(with_batch ? ", " : ",");
    }
    if (!with_batch && s->ndim == 1) PUT(",");
    PUT(")");
#undef PUT
    if (len >= n) buf[n - 1] = '\0';
    return buf;
}
