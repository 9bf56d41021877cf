/*
** npz.c -- .npz archives of activations (numpy.savez, scripts/torch_dump.py),
** and the .npy parser they share with k2t_npy_read and the streamed reader
** eval uses (k2t_npy_open: the header, then rows read on demand).
**
** An .npz is a zip archive (stored or deflated) whose members are NAME.npy
** files.  k2t_npz_read opens it with libzip, parses every member from
** memory (k2t_npy_parse, the in-memory twin of k2t_npy_read) into float32,
** and puts the entries in execution order: the order the optional
** __order__ member gives (one "NAME" or "NAME<TAB>CLASS" line per entry,
** stored as a uint8 array of UTF-8 text, or as a 1-D array of strings),
** else the archive's member order, which is numpy.savez's argument order.
** Members __order__ does not list follow in archive order.
**
** Sizes read from the archive are checked before anything is allocated;
** an array k2t cannot read (a string or bool dtype, Fortran order) is kept
** as an entry with a reason, so that one odd member does not hide the rest.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include "internal.h"
#include "kernels.h"

/*---------------------------------------------------------------- .npy */

static float npz_half(uint16_t h)
{
    uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1f, m = h & 0x3ff, f;
    if (e == 0) {
        if (m == 0) f = s;
        else { /* subnormal */
            e = 127 - 15 + 1;
            while (!(m & 0x400)) { m <<= 1; e--; }
            f = s | (e << 23) | ((m & 0x3ff) << 13);
        }
    } else if (e == 31) {
        f = s | 0x7f800000u | (m << 13);
    } else {
        f = s | ((e - 15 + 127) << 23) | (m << 13);
    }
    float out;
    memcpy(&out, &f, 4);
    return out;
}

/* A parsed .npy header: the dtype as written ("<f4"), the shape, where the
** data starts, and whether the array is in Fortran order. */
typedef struct npy_head {
    char descr[16];
    k2t_shape shape;
    int64_t numel;
    size_t data_at;
    int fortran;
} npy_head;

static k2t_status npy_header(const unsigned char *b, size_t len, const char *what, npy_head *h, k2t_err *err)
{
    memset(h, 0, sizeof *h);
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return k2t_fail(err, K2T_EFORMAT, "%s is not a .npy array (no \\x93NUMPY magic)", what);
    size_t hlen, at;
    if (b[6] == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        at = 10;
    } else {
        if (len < 12) return k2t_fail(err, K2T_EFORMAT, "%s: truncated .npy header", what);
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        at = 12;
    }
    if (hlen > (1 << 20))
        return k2t_fail(err, K2T_EFORMAT, "%s: .npy header too large (%zu bytes; k2t reads headers up to 1 MiB)",
                        what, hlen);
    if (hlen > len - at)
        return k2t_fail(err, K2T_EFORMAT, "%s: truncated .npy header (%zu bytes declared, %zu present)", what,
                        hlen, len - at);
    char *hdr = k2t_xmalloc(hlen + 1);
    memcpy(hdr, b + at, hlen);
    hdr[hlen] = '\0';
    h->data_at = at + hlen;
    k2t_status rc = K2T_OK;
    /* The header is a Python dict literal: 'descr', 'fortran_order', 'shape'. */
    char *d = strstr(hdr, "'descr'"), *fo = strstr(hdr, "'fortran_order'"), *sh = strstr(hdr, "'shape'");
    if (!d || !fo || !sh) {
        rc = k2t_fail(err, K2T_EFORMAT, "%s: malformed .npy header", what);
        goto done;
    }
    d = strchr(d + 7, '\'');
    if (d) sscanf(d + 1, "%15[^']", h->descr);
    char *comma = strchr(fo, ',');
    char *tr = strstr(fo, "True");
    h->fortran = tr && (!comma || tr < comma);
    char *p = strchr(sh, '(');
    if (!p) {
        rc = k2t_fail(err, K2T_EFORMAT, "%s: malformed .npy shape", what);
        goto done;
    }
    h->numel = 1;
    for (p++; *p && *p != ')';) {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')') break;
        char *e;
        long long v = strtoll(p, &e, 10);
        if (e == p || v < 0 || h->shape.ndim == K2T_MAX_DIMS) {
            rc = k2t_fail(err, K2T_EFORMAT, "%s: bad .npy shape", what);
            goto done;
        }
        h->shape.d[h->shape.ndim++] = v;
        if (v && h->numel > K2T_MAX_NUMEL / v) {
            rc = k2t_fail(err, K2T_ENOMEM, "%s: absurd .npy shape", what);
            goto done;
        }
        h->numel *= v;
        p = e;
    }
done:
    free(hdr);
    return rc;
}

/* The element size of a numeric dtype k2t reads, or 0. */
static size_t numeric_size(const char *descr)
{
    int little = descr[0] == '<' || descr[0] == '|' || descr[0] == '=';
    const char *t = descr + 1;
    size_t isz = 0;
    if (!strcmp(t, "f4") || !strcmp(t, "i4")) isz = 4;
    else if (!strcmp(t, "f8") || !strcmp(t, "i8")) isz = 8;
    else if (!strcmp(t, "f2") || !strcmp(t, "i2")) isz = 2;
    else if (!strcmp(t, "u1") || !strcmp(t, "i1")) isz = 1;
    return little || isz == 1 ? isz : 0;
}

static const char *dtype_name(const char *t)
{
    static const char *const names[][2] = {{"f4", "float32"}, {"f8", "float64"}, {"f2", "float16"},
                                           {"u1", "uint8"},   {"i1", "int8"},    {"i2", "int16"},
                                           {"i4", "int32"},   {"i8", "int64"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(t, names[i][0])) return names[i][1];
    return "?";
}

/* Convert n elements of numeric dtype t ("f4", "u1", ...) at q to floats. */
/* n elements of numpy type t (little-endian) to float: the type is looked
** at once, each loop is one conversion (uint8 pixels are most of eval's
** input, and vectorize). */
static void npy_convert(const char *t, size_t isz, const unsigned char *q, int64_t n, float *out)
{
    (void)isz;
    if (!strcmp(t, "f4")) {
        memcpy(out, q, (size_t)n * 4);
    } else if (!strcmp(t, "u1")) {
        kern_u8_to_float(q, n, out);
    } else if (!strcmp(t, "f8")) {
        for (int64_t i = 0; i < n; i++) { double dv; memcpy(&dv, q + 8 * i, 8); out[i] = (float)dv; }
    } else if (!strcmp(t, "f2")) {
        for (int64_t i = 0; i < n; i++) { uint16_t x; memcpy(&x, q + 2 * i, 2); out[i] = npz_half(x); }
    } else if (!strcmp(t, "i1")) {
        for (int64_t i = 0; i < n; i++) out[i] = (signed char)q[i];
    } else if (!strcmp(t, "i2")) {
        for (int64_t i = 0; i < n; i++) { int16_t x; memcpy(&x, q + 2 * i, 2); out[i] = x; }
    } else if (!strcmp(t, "i4")) {
        for (int64_t i = 0; i < n; i++) { int32_t x; memcpy(&x, q + 4 * i, 4); out[i] = (float)x; }
    } else {
        for (int64_t i = 0; i < n; i++) { int64_t x; memcpy(&x, q + 8 * i, 8); out[i] = (float)x; }
    }
}

k2t_status k2t_npy_parse(const void *buf, size_t len, const char *what, k2t_array *out, k2t_err *err)
{
    const unsigned char *b = buf;
    npy_head h;
    memset(out, 0, sizeof *out);
    k2t_status rc = npy_header(b, len, what, &h, err);
    if (rc != K2T_OK) return rc;
    size_t isz = numeric_size(h.descr);
    if (!isz)
        return k2t_fail(err, K2T_EUNSUPPORTED, "%s: dtype '%s' is not supported (float32, float64, "
                        "float16, uint8 or int arrays)", what, h.descr);
    if (h.fortran)
        return k2t_fail(err, K2T_EUNSUPPORTED, "%s: Fortran-order arrays are not supported "
                        "(save it with np.ascontiguousarray)", what);
    if ((uint64_t)(len - h.data_at) < (uint64_t)h.numel * isz)
        return k2t_fail(err, K2T_EFORMAT, "%s is truncated: its header declares %lld elements "
                        "(%lld bytes) but %lld bytes follow", what, (long long)h.numel,
                        (long long)(h.numel * (int64_t)isz), (long long)(len - h.data_at));
    out->shape = h.shape;
    out->data = malloc((size_t)(h.numel ? h.numel : 1) * sizeof(float));
    if (!out->data)
        return k2t_fail(err, K2T_ENOMEM, "%s: cannot allocate %lld elements", what, (long long)h.numel);
    const char *t = h.descr + 1;
    snprintf(out->dtype, sizeof out->dtype, "%s", dtype_name(t));
    npy_convert(t, isz, b + h.data_at, h.numel, out->data);
    out->pixels = !strcmp(t, "u1");
    return K2T_OK;
}

/*--------------------------------------------------------- streamed .npy */

k2t_npy_stream *k2t_npy_open(const char *path, k2t_err *err)
{
    FILE *f = k2t_fopen_regular(path, err);
    if (!f) return NULL;
    char what[1100];
    snprintf(what, sizeof what, "'%s'", path);
    /* The header's length is in its first 12 bytes; then the header alone. */
    unsigned char pre[12];
    size_t got = fread(pre, 1, sizeof pre, f);
    struct stat st;
    npy_head h;
    unsigned char *buf = NULL;
    k2t_status rc;
    if (fstat(fileno(f), &st) != 0) {
        rc = k2t_fail(err, K2T_EIO, "%s: cannot stat: %s", what, strerror(errno));
        goto fail;
    }
    size_t want = got;
    if (got >= 10 && pre[6] == 1) want = 10 + ((size_t)pre[8] | (size_t)pre[9] << 8);
    else if (got >= 12) want = 12 + ((size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 |
                                     (size_t)pre[11] << 24);
    if (want > (1 << 20) + 12) want = (1 << 20) + 13; /* npy_header refuses it */
    if ((uint64_t)want > (uint64_t)st.st_size) want = (size_t)st.st_size;
    if (want < got) want = got;
    buf = k2t_xmalloc(want ? want : 1);
    memcpy(buf, pre, got);
    if (want > got && fread(buf + got, 1, want - got, f) != want - got) {
        rc = k2t_fail(err, K2T_EIO, "%s: read error", what);
        goto fail;
    }
    rc = npy_header(buf, want, what, &h, err);
    if (rc != K2T_OK) goto fail;
    size_t isz = numeric_size(h.descr);
    if (!isz) {
        rc = k2t_fail(err, K2T_EUNSUPPORTED, "%s: dtype '%s' is not supported (float32, float64, "
                      "float16, uint8 or int arrays)", what, h.descr);
        goto fail;
    }
    if (h.fortran) {
        rc = k2t_fail(err, K2T_EUNSUPPORTED, "%s: Fortran-order arrays are not supported "
                      "(save it with np.ascontiguousarray)", what);
        goto fail;
    }
    if ((uint64_t)st.st_size - h.data_at < (uint64_t)h.numel * isz) {
        rc = k2t_fail(err, K2T_EFORMAT, "%s is truncated: its header declares %lld elements "
                      "(%lld bytes) but %lld bytes follow", what, (long long)h.numel,
                      (long long)(h.numel * (int64_t)isz), (long long)((uint64_t)st.st_size - h.data_at));
        goto fail;
    }
    if (h.shape.ndim < 1) {
        rc = k2t_fail(err, K2T_ESHAPE, "%s holds a scalar, not samples (batch first)", what);
        goto fail;
    }
    free(buf);
    k2t_npy_stream *s = k2t_xmalloc(sizeof *s);
    memset(s, 0, sizeof *s);
    s->f = f;
    s->shape = h.shape;
    s->row = 1;
    for (int i = 1; i < h.shape.ndim; i++) s->row *= h.shape.d[i];
    const char *t = h.descr + 1;
    snprintf(s->dtype, sizeof s->dtype, "%s", dtype_name(t));
    snprintf(s->descr, sizeof s->descr, "%.7s", t); /* "f4": numeric_size checked it */
    s->pixels = !strcmp(t, "u1");
    s->integer = t[0] == 'i' || t[0] == 'u';
    s->isz = isz;
    s->data_at = (int64_t)h.data_at;
    snprintf(s->path, sizeof s->path, "%s", path);
    return s;
fail:
    free(buf);
    fclose(f);
    return NULL;
}

k2t_status k2t_npy_stream_read(k2t_npy_stream *s, int64_t first, int64_t count, float *out, k2t_err *err)
{
    if (first < 0 || count < 0 || first > s->shape.d[0] || count > s->shape.d[0] - first)
        return k2t_fail(err, K2T_EARG, "'%s': rows %lld..%lld are past its %lld", s->path, (long long)first,
                        (long long)(first + count - 1), (long long)s->shape.d[0]);
    size_t n = (size_t)(count * s->row), bytes = n * s->isz;
    unsigned char *raw = k2t_xmalloc(bytes ? bytes : 1);
    off_t at = (off_t)(s->data_at + first * s->row * (int64_t)s->isz);
    /* pread: threads share the stream without a lock on its position. */
    size_t done = 0;
    while (done < bytes) {
        ssize_t r = pread(fileno(s->f), raw + done, bytes - done, at + (off_t)done);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            free(raw);
            return k2t_fail(err, K2T_EIO, "'%s': cannot read rows %lld..%lld: %s", s->path, (long long)first,
                            (long long)(first + count - 1), r < 0 ? strerror(errno) : "the file got shorter");
        }
        done += (size_t)r;
    }
    npy_convert(s->descr, s->isz, raw, (int64_t)n, out);
    free(raw);
    return K2T_OK;
}

void k2t_npy_close(k2t_npy_stream *s)
{
    if (!s) return;
    fclose(s->f);
    free(s);
}

/*---------------------------------------------------------------- .npz */

void k2t_npz_free(k2t_npz *z)
{
    for (int i = 0; i < z->n; i++) {
        free(z->e[i].name);
        free(z->e[i].cls);
        free(z->e[i].skip);
        k2t_array_free(&z->e[i].a);
    }
    free(z->e);
    memset(z, 0, sizeof *z);
}

/* The __order__ member as text, one line per entry: from a uint8 array
** (UTF-8), or from a 1-D array of strings ('<U' UTF-32, '|S' bytes), whose
** elements become lines.  Returns a malloc'ed string or NULL with err. */
static char *order_text(const unsigned char *b, size_t len, const char *what, k2t_err *err)
{
    npy_head h;
    if (npy_header(b, len, what, &h, err) != K2T_OK) return NULL;
    const char *t = h.descr + 1;
    size_t item = 0, avail = len - h.data_at;
    int utf32 = 0;
    /* The width of a string dtype is a number from the file: parsed with
    ** overflow checks and bounded by the bytes that follow the header. */
    unsigned long long width = 0;
    if ((t[0] == 'U' || t[0] == 'S') && t[1] >= '0' && t[1] <= '9') {
        char *e;
        errno = 0;
        width = strtoull(t + 1, &e, 10);
        if (*e || errno == ERANGE || width == 0 || width > avail) {
            k2t_fail(err, K2T_EFORMAT, "%s: string width %s in dtype '%s' is larger than the %zu bytes "
                     "that follow its header", what, t + 1, h.descr, avail);
            return NULL;
        }
    }
    if (!strcmp(t, "u1") || !strcmp(t, "i1")) item = 1;
    else if (t[0] == 'U' && h.descr[0] != '>') utf32 = 1, item = 4 * (size_t)width;
    else if (t[0] == 'S') item = (size_t)width;
    if (!item || h.fortran || h.shape.ndim > 1) {
        k2t_fail(err, K2T_EFORMAT, "%s: expected a uint8 array of text lines or a 1-D array of names, "
                 "got dtype '%s'", what, h.descr);
        return NULL;
    }
    if (item > avail || (uint64_t)h.numel > (uint64_t)(avail / item)) {
        k2t_fail(err, K2T_EFORMAT, "%s is truncated: %lld elements of %zu bytes declared, %zu bytes follow",
                 what, (long long)h.numel, item, avail);
        return NULL;
    }
    const unsigned char *q = b + h.data_at;
    if (item == 1 && !(t[0] == 'S')) {
        char *s = k2t_xmalloc((size_t)h.numel + 1);
        memcpy(s, q, (size_t)h.numel);
        s[h.numel] = '\0';
        return s;
    }
    /* An array of strings: each element (NUL padded) becomes one line. */
    size_t cap = (size_t)h.numel * (item + 2) + 1, w = 0;
    char *s = k2t_xmalloc(cap);
    for (int64_t i = 0; i < h.numel; i++, q += item) {
        if (!utf32) {
            for (size_t k = 0; k < item && q[k]; k++) s[w++] = (char)q[k];
        } else {
            for (size_t k = 0; k + 4 <= item; k += 4) {
                uint32_t c = (uint32_t)q[k] | (uint32_t)q[k + 1] << 8 | (uint32_t)q[k + 2] << 16 |
                             (uint32_t)q[k + 3] << 24;
                if (!c) break;
                /* UTF-8; a code point takes at most as many bytes as its 4 in the file */
                if (c < 0x80) s[w++] = (char)c;
                else if (c < 0x800) s[w++] = (char)(0xc0 | c >> 6), s[w++] = (char)(0x80 | (c & 0x3f));
                else if (c < 0x10000)
                    s[w++] = (char)(0xe0 | c >> 12), s[w++] = (char)(0x80 | ((c >> 6) & 0x3f)),
                    s[w++] = (char)(0x80 | (c & 0x3f));
                else
                    s[w++] = (char)(0xf0 | (c >> 18 & 7)), s[w++] = (char)(0x80 | ((c >> 12) & 0x3f)),
                    s[w++] = (char)(0x80 | ((c >> 6) & 0x3f)), s[w++] = (char)(0x80 | (c & 0x3f));
            }
        }
        s[w++] = '\n';
    }
    s[w] = '\0';
    return s;
}

static int find_entry(const k2t_npz *z, const char *name)
{
    for (int i = 0; i < z->n; i++)
        if (!strcmp(z->e[i].name, name)) return i;
    return -1;
}

/* Reorder z->e by the __order__ text: listed entries first, in its order,
** then the rest in archive order.  Classes after a tab are kept. */
static k2t_status apply_order(k2t_npz *z, char *text, const char *path, k2t_err *err)
{
    k2t_npz_entry *sorted = k2t_xcalloc((size_t)(z->n ? z->n : 1), sizeof *sorted);
    char *used = k2t_xcalloc((size_t)(z->n ? z->n : 1), 1);
    int w = 0, line = 0;
    k2t_status rc = K2T_OK;
    for (char *s = text, *next; s && *s; s = next) {
        next = strchr(s, '\n');
        if (next) *next++ = '\0';
        line++;
        size_t l = strlen(s);
        if (l && s[l - 1] == '\r') s[--l] = '\0';
        if (!l) continue;
        char *tab = strchr(s, '\t');
        if (tab) *tab++ = '\0';
        int i = find_entry(z, s);
        if (i < 0) {
            rc = k2t_fail(err, K2T_EFORMAT, "'%s': __order__ line %d names '%s', which is not an array of the "
                          "archive", path, line, s);
            break;
        }
        if (used[i]) {
            rc = k2t_fail(err, K2T_EFORMAT, "'%s': __order__ line %d names '%s' a second time", path, line, s);
            break;
        }
        used[i] = 1;
        if (tab && *tab) {
            free(z->e[i].cls);
            z->e[i].cls = k2t_xstrdup(tab);
        }
        sorted[w++] = z->e[i];
    }
    if (rc == K2T_OK) {
        for (int i = 0; i < z->n; i++)
            if (!used[i]) sorted[w++] = z->e[i];
        free(z->e);
        z->e = sorted;
        z->ordered = 1;
    } else {
        free(sorted);
    }
    free(used);
    return rc;
}

k2t_status k2t_npz_read(const char *path, k2t_npz *out, k2t_err *err)
{
    memset(out, 0, sizeof *out);
    /* The system's reason, as other readers give it; no FIFO or directory. */
    FILE *probe = k2t_fopen_regular(path, err);
    if (!probe) return err ? err->status : K2T_EIO;
    struct stat fst;
    zip_uint64_t file_size = fstat(fileno(probe), &fst) == 0 ? (zip_uint64_t)fst.st_size : UINT64_MAX;
    fclose(probe);
    int zerr = 0;
    zip_t *za = zip_open(path, ZIP_RDONLY, &zerr);
    if (!za) {
        if (zerr == ZIP_ER_NOENT || zerr == ZIP_ER_OPEN || zerr == ZIP_ER_READ) {
            zip_error_t ze;
            zip_error_init_with_code(&ze, zerr);
            k2t_fail(err, K2T_EIO, "cannot read '%s': %s", path, zip_error_strerror(&ze));
            zip_error_fini(&ze);
            return K2T_EIO;
        }
        return k2t_fail(err, K2T_EFORMAT, "'%s' is not an .npz file: not a zip archive (write it with "
                        "numpy.savez or scripts/torch_dump.py)", path);
    }
    k2t_status rc = K2T_OK;
    char *order = NULL;
    unsigned char *buf = NULL;
    char what[600];
    zip_int64_t n = zip_get_num_entries(za, 0);
    if (n < 0 || n > 1000000) {
        rc = k2t_fail(err, K2T_EFORMAT, "'%s': unreadable zip directory", path);
        goto done;
    }
    out->e = k2t_xcalloc((size_t)(n ? n : 1), sizeof *out->e);
    for (zip_int64_t i = 0; i < n; i++) {
        zip_stat_t st;
        const char *name = zip_get_name(za, (zip_uint64_t)i, 0);
        if (!name || zip_stat_index(za, (zip_uint64_t)i, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE)) {
            rc = k2t_fail(err, K2T_EFORMAT, "'%s': unreadable member %lld", path, (long long)i);
            goto done;
        }
        size_t nl = strlen(name);
        if (nl && name[nl - 1] == '/') continue; /* a directory */
        if (nl < 5 || strcmp(name + nl - 4, ".npy") != 0) {
            rc = k2t_fail(err, K2T_EFORMAT, "'%s' is a zip archive but not an .npz: member '%s' is not a .npy "
                          "array", path, name);
            goto done;
        }
        snprintf(what, sizeof what, "'%s' member '%s'", path, name);
        if (st.size > (zip_uint64_t)K2T_MAX_NUMEL * 8 + (1 << 20)) {
            rc = k2t_fail(err, K2T_ENOMEM, "%s is too large (%llu bytes)", what, (unsigned long long)st.size);
            goto done;
        }
        /* The sizes in the zip directory are numbers the file declares:
        ** nothing is allocated for more than its bytes can hold (deflate
        ** expands at most 1032:1; a stored member is as large as its data). */
        {
            zip_uint64_t comp = (st.valid & ZIP_STAT_COMP_SIZE) ? st.comp_size : file_size;
            int stored = (st.valid & ZIP_STAT_COMP_METHOD) && st.comp_method == ZIP_CM_STORE;
            if (comp > file_size || st.size > (stored ? comp : comp * 1032 + 1024)) {
                rc = k2t_fail(err, K2T_EFORMAT, "%s declares %llu bytes from %llu bytes in the archive, more "
                              "than %s can give (a corrupt archive)", what, (unsigned long long)st.size,
                              (unsigned long long)comp, stored ? "a stored member" : "compression");
                goto done;
            }
        }
        buf = malloc((size_t)st.size + 1);
        if (!buf) {
            rc = k2t_fail(err, K2T_ENOMEM, "%s: cannot allocate %llu bytes", what, (unsigned long long)st.size);
            goto done;
        }
        zip_file_t *f = zip_fopen_index(za, (zip_uint64_t)i, 0);
        zip_int64_t got = f ? zip_fread(f, buf, st.size) : -1;
        if (f) zip_fclose(f);
        if (got < 0 || (zip_uint64_t)got != st.size) {
            rc = k2t_fail(err, K2T_EFORMAT, "%s: cannot read it (%s)", what,
                          f ? "truncated or corrupt" : zip_strerror(za));
            goto done;
        }
        char *base = k2t_xstrdup(name);
        base[nl - 4] = '\0';
        if (!strcmp(base, "__order__")) {
            free(base);
            if (order) {
                rc = k2t_fail(err, K2T_EFORMAT, "'%s': two __order__ members", path);
                goto done;
            }
            order = order_text(buf, (size_t)st.size, what, err);
            if (!order) {
                rc = err ? err->status : K2T_EFORMAT;
                goto done;
            }
        } else {
            k2t_npz_entry *e = &out->e[out->n++];
            e->name = base;
            k2t_err e2 = {0};
            k2t_status s = k2t_npy_parse(buf, (size_t)st.size, what, &e->a, &e2);
            if (s == K2T_EUNSUPPORTED) {
                e->skip = k2t_xstrdup(e2.msg);
            } else if (s != K2T_OK) {
                rc = k2t_fail(err, s, "%s", e2.msg);
                goto done;
            }
        }
        free(buf);
        buf = NULL;
    }
    if (out->n == 0) {
        rc = k2t_fail(err, K2T_EFORMAT, "'%s' holds no arrays", path);
        goto done;
    }
    if (order) rc = apply_order(out, order, path, err);
done:
    free(buf);
    free(order);
    zip_discard(za);
    if (rc != K2T_OK) k2t_npz_free(out);
    return rc;
}
