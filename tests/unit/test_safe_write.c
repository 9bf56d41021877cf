/*
** test_safe_write.c -- k2t_write_file_safe, the writer every command that
** writes can share (issue 14): an existing file is refused without force,
** a symbolic link is replaced and never written through, devices, FIFOs
** and directories are refused, a failed write leaves the target
** byte-identical and no temporary file behind.
*/
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../../engine/k2t.h"

static int fails, checks;
#define CHECK(cond, ...) do { checks++; if (!(cond)) { fails++; printf("not ok - "); \
    printf(__VA_ARGS__); printf("\n"); } } while (0)

static char dir[256];

static const char *P(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static k2t_status fill_text(FILE *f, void *ctx, k2t_err *err)
{
    (void)err;
    fputs((const char *)ctx, f);
    return K2T_OK;
}

static k2t_status fill_fails(FILE *f, void *ctx, k2t_err *err)
{
    fputs((const char *)ctx, f);
    return k2t_fail(err, K2T_EIO, "the data could not be produced");
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static int holds(const char *path, const char *text)
{
    char buf[256] = {0};
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    return n == strlen(text) && memcmp(buf, text, n) == 0;
}

/* Only the files the test made: no ".NAME.k2t-XXXXXX" temporary left. */
static int no_temp(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int ok = 1;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".k2t-")) ok = 0;
    if (d) closedir(d);
    return ok;
}

int main(void)
{
    k2t_err err;
    snprintf(dir, sizeof dir, "/tmp/k2t_safe_write_XXXXXX");
    if (!mkdtemp(dir)) return 1;

    memset(&err, 0, sizeof err);
    CHECK(k2t_write_file_safe(P("new.txt"), 0, fill_text, "fresh", &err) == K2T_OK && holds(P("new.txt"), "fresh"),
          "a new file is written: %s", err.msg);

    put(P("old.txt"), "precious");
    memset(&err, 0, sizeof err);
    CHECK(k2t_write_file_safe(P("old.txt"), 0, fill_text, "new", &err) == K2T_EIO && strstr(err.msg, "exists") &&
          strstr(err.msg, "--force") && holds(P("old.txt"), "precious"),
          "an existing file is refused without force and kept: %s", err.msg);
    CHECK(k2t_write_file_safe(P("old.txt"), 1, fill_text, "new", &err) == K2T_OK && holds(P("old.txt"), "new"),
          "with force it is replaced");

    put(P("keep.txt"), "precious");
    memset(&err, 0, sizeof err);
    CHECK(k2t_write_file_safe(P("keep.txt"), 1, fill_fails, "half", &err) == K2T_EIO &&
          strstr(err.msg, "could not be produced") && holds(P("keep.txt"), "precious") && no_temp(),
          "a failed write keeps the original byte-identical and leaves no temporary: %s", err.msg);

    put(P("target.txt"), "precious");
    symlink(P("target.txt"), P("link.txt"));
    memset(&err, 0, sizeof err);
    CHECK(k2t_write_file_safe(P("link.txt"), 0, fill_text, "new", &err) == K2T_EIO && holds(P("target.txt"), "precious"),
          "a symbolic link is refused without force: %s", err.msg);
    struct stat sb;
    CHECK(k2t_write_file_safe(P("link.txt"), 1, fill_text, "new", &err) == K2T_OK && holds(P("target.txt"), "precious") &&
          lstat(P("link.txt"), &sb) == 0 && S_ISREG(sb.st_mode) && holds(P("link.txt"), "new"),
          "with force the link itself is replaced, never written through");

    mkfifo(P("fifo"), 0600);
    memset(&err, 0, sizeof err);
    CHECK(k2t_write_file_safe(P("fifo"), 1, fill_text, "x", &err) == K2T_EIO && strstr(err.msg, "FIFO") &&
          lstat(P("fifo"), &sb) == 0 && S_ISFIFO(sb.st_mode), "a FIFO is refused even with force: %s", err.msg);
    mkdir(P("sub"), 0700);
    memset(&err, 0, sizeof err);
    CHECK(k2t_write_file_safe(P("sub"), 1, fill_text, "x", &err) == K2T_EIO && strstr(err.msg, "directory"),
          "a directory is refused even with force: %s", err.msg);
    if (stat("/dev/null", &sb) == 0) {
        memset(&err, 0, sizeof err);
        CHECK(k2t_write_file_safe("/dev/null", 1, fill_text, "x", &err) == K2T_EIO &&
              strstr(err.msg, "character device") && stat("/dev/null", &sb) == 0 && S_ISCHR(sb.st_mode),
              "a device is refused even with force, and left alone: %s", err.msg);
    }
    memset(&err, 0, sizeof err);
    CHECK(k2t_write_file_safe(P("no/such/dir/x.txt"), 0, fill_text, "x", &err) == K2T_EIO &&
          strstr(err.msg, "no/such/dir/x.txt"), "a missing directory is an error naming the path: %s", err.msg);
    CHECK(no_temp(), "no temporary file is left behind");

    memset(&err, 0, sizeof err);
    FILE *f = k2t_fopen_regular(P("fifo"), &err);
    CHECK(!f && strstr(err.msg, "not a regular file"), "k2t_fopen_regular refuses a FIFO without blocking: %s", err.msg);
    if (f) fclose(f);
    memset(&err, 0, sizeof err);
    f = k2t_fopen_regular(P("sub"), &err);
    CHECK(!f && strstr(err.msg, "is a directory"), "k2t_fopen_regular: 'is a directory': %s", err.msg);
    if (f) fclose(f);

    const char *names[] = {"new.txt", "old.txt", "keep.txt", "target.txt", "link.txt", "fifo"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) unlink(P(names[i]));
    rmdir(P("sub"));
    rmdir(dir);
    printf("%s - test_safe_write: %d checks\n", fails ? "not ok" : "ok", checks);
    return fails != 0;
}
