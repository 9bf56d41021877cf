/*
** keras3.c -- the Keras 3 (and Keras 2.13-2.15) .keras zip archive.
**
** A .keras file is a zip (KERAS-FORMAT.md 5) holding metadata.json,
** config.json and model.weights.h5.  This module reads the archive with
** libzip, refusing hostile members (a '..' or absolute name, an encrypted
** member, a size the archive cannot hold), and opens model.weights.h5
** from memory through HDF5's core driver: nothing is ever written to disk,
** so a load that fails (or a forked probe that dies) leaves nothing behind.
**
** The weights are positional: layers/<snake_case class>[_N]/vars/<i>.
** k2t_keras3_index lists every dataset and group of the weights file by a
** normalized path ('\' -> '/', as Windows-written archives have flat
** names; Keras 2's _layer_checkpoint_dependencies -> layers), and
** k2t_keras3_group_vars lists a layer's datasets in Keras's order: its own
** vars/0..n-1 numerically, then its sub-objects by name, recursively.
** The loader (load.c) walks the config and asks for each layer's group.
*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>
#include "h5.h"
#include "internal.h"

int k2t_is_zip(const char *path)
{
    unsigned char b[4];
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) return 0; /* a FIFO would block fopen */
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    int ok = fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && fread(b, 1, 4, f) == 4 &&
             b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4;
    fclose(f);
    return ok;
}

void k2t_snake_case(const char *cls, char *out, size_t n)
{
    size_t len = strlen(cls);
    char *a = k2t_xmalloc(len + 1), *b = k2t_xmalloc(2 * len + 1), *c = k2t_xmalloc(4 * len + 1);
    size_t na = 0, nb = 0, nc = 0;
    /* re.sub(r"\W+", "", name) */
    for (size_t i = 0; i < len; i++)
        if (isalnum((unsigned char)cls[i]) || cls[i] == '_') a[na++] = cls[i];
    /* re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name) */
    for (size_t i = 0; i < na;) {
        if (i + 2 < na && isupper((unsigned char)a[i + 1]) && islower((unsigned char)a[i + 2])) {
            b[nb++] = a[i], b[nb++] = '_', b[nb++] = a[i + 1];
            size_t j = i + 2;
            while (j < na && islower((unsigned char)a[j])) b[nb++] = a[j++];
            i = j;
        } else {
            b[nb++] = a[i++];
        }
    }
    /* re.sub("([a-z])([A-Z])", r"\1_\2", name), then lower() */
    for (size_t i = 0; i < nb;) {
        if (i + 1 < nb && islower((unsigned char)b[i]) && isupper((unsigned char)b[i + 1])) {
            c[nc++] = b[i], c[nc++] = '_', c[nc++] = b[i + 1];
            i += 2;
        } else {
            c[nc++] = b[i++];
        }
    }
    for (size_t i = 0; i < nc; i++) c[i] = (char)tolower((unsigned char)c[i]);
    c[nc] = '\0';
    snprintf(out, n, "%s", c);
    free(a), free(b), free(c);
}

/*------------------------------------------------------------- the zip */

/* A member name that would escape a directory if anyone extracted it. */
static int hostile_name(const char *name)
{
    if (name[0] == '/' || name[0] == '\\') return 1;
    if (isalpha((unsigned char)name[0]) && name[1] == ':') return 1; /* C:\... */
    for (const char *p = name; *p;) {
        size_t l = strcspn(p, "/\\");
        if (l == 2 && p[0] == '.' && p[1] == '.') return 1;
        p += l;
        if (*p) p++;
    }
    return 0;
}

/* Read member 'name' whole into *out (NUL-terminated, *n bytes). */
static k2t_status read_member(zip_t *za, const char *path, const char *name, zip_uint64_t archive,
                              zip_uint64_t limit, unsigned char **out, size_t *n, k2t_err *err)
{
    zip_stat_t st;
    *out = NULL;
    zip_int64_t i = zip_name_locate(za, name, 0);
    if (i < 0 || zip_stat_index(za, (zip_uint64_t)i, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
        return k2t_fail(err, K2T_EFORMAT, "%s: member '%s' is unreadable", path, name);
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
        return k2t_fail(err, K2T_EUNSUPPORTED, "%s: member '%s' is encrypted; k2t reads only unencrypted "
                        ".keras archives", path, name);
    int stored = (st.valid & ZIP_STAT_COMP_METHOD) && st.comp_method == ZIP_CM_STORE;
    zip_uint64_t comp = (st.valid & ZIP_STAT_COMP_SIZE) ? st.comp_size : archive;
    /* The sizes in the zip directory are numbers the file declares:
    ** nothing is allocated for more than the archive can hold. */
    if (comp > archive || st.size > (stored ? archive : archive * 8 + (1u << 20)))
        return k2t_fail(err, K2T_EFORMAT, "%s: member '%s' declares %llu bytes, more than the %llu-byte "
                        "archive can hold%s (a corrupt or hostile archive)", path, name,
                        (unsigned long long)st.size, (unsigned long long)archive,
                        stored ? "" : " compressed");
    if (st.size > limit)
        return k2t_fail(err, K2T_ENOMEM, "%s: member '%s' is %llu bytes, more than the %llu MB k2t may "
                        "use (set memory.limit, K2T_MEMORY_LIMIT)", path, name, (unsigned long long)st.size,
                        (unsigned long long)(limit >> 20));
    unsigned char *buf = malloc((size_t)st.size + 1);
    if (!buf)
        return k2t_fail(err, K2T_ENOMEM, "%s: member '%s': cannot allocate %llu bytes", path, name,
                        (unsigned long long)st.size);
    zip_file_t *f = zip_fopen_index(za, (zip_uint64_t)i, 0);
    zip_uint64_t got = 0;
    int bad = !f;
    while (!bad && got < st.size) {
        zip_int64_t r = zip_fread(f, buf + got, st.size - got);
        if (r <= 0) bad = 1;
        else got += (zip_uint64_t)r;
    }
    if (!bad && f) {
        char extra;
        if (zip_fread(f, &extra, 1) != 0) bad = 1; /* CRC checked at the end; no more data */
    }
    if (bad) {
        k2t_fail(err, K2T_EFORMAT, "%s: member '%s' cannot be read (%s): the archive is truncated or corrupt",
                 path, name, f ? zip_file_strerror(f) : zip_strerror(za));
        if (f) zip_fclose(f);
        free(buf);
        return K2T_EFORMAT;
    }
    zip_fclose(f);
    buf[st.size] = '\0';
    *out = buf;
    *n = (size_t)st.size;
    return K2T_OK;
}

k2t_status k2t_keras3_open(const char *path, k2t_k3file *a, k2t_err *err)
{
    memset(a, 0, sizeof *a);
    a->fid = -1;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return k2t_fail(err, K2T_EIO, "cannot read '%s'", path);
    zip_uint64_t archive = (zip_uint64_t)sb.st_size;
    /* No member may be larger than the memory budget (set memory.limit). */
    int64_t mb = k2t_memory_limit();
    zip_uint64_t limit = mb > 0 ? (zip_uint64_t)mb << 20 : 4ull << 30;
    int zerr = 0;
    zip_t *za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
    if (!za && zerr == ZIP_ER_EXISTS)
        return k2t_fail(err, K2T_EFORMAT, "%s: two zip members have the same name; k2t refuses an archive whose "
                        "members are ambiguous", path);
    if (!za) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        k2t_fail(err, K2T_EFORMAT, "%s: starts like a zip archive (.keras) but libzip cannot read it (%s): "
                 "truncated or corrupt", path, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return K2T_EFORMAT;
    }
    k2t_status st = K2T_OK;
    unsigned char *meta = NULL, *h5 = NULL;
    size_t n_meta = 0, n_h5 = 0;
    int has_cfg = 0, has_meta = 0, has_h5 = 0, has_npz = 0;
    zip_int64_t n = zip_get_num_entries(za, 0);
    if (n < 0 || n > 1000000) {
        st = k2t_fail(err, K2T_EFORMAT, "%s: unreadable zip directory", path);
        goto done;
    }
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name(za, (zip_uint64_t)i, 0);
        if (!name) {
            st = k2t_fail(err, K2T_EFORMAT, "%s: zip member %lld has an unreadable name", path, (long long)i);
            goto done;
        }
        if (hostile_name(name)) {
            st = k2t_fail(err, K2T_EFORMAT, "%s: member '%s' has an absolute path or a '..' component; "
                          "k2t refuses such archives (nothing was extracted)", path, name);
            goto done;
        }
        has_cfg |= !strcmp(name, "config.json");
        has_meta |= !strcmp(name, "metadata.json");
        has_h5 |= !strcmp(name, "model.weights.h5");
        has_npz |= !strcmp(name, "model.weights.npz");
    }
    if (!has_cfg) {
        st = k2t_fail(err, K2T_EFORMAT, "%s: a zip archive without member 'config.json': not a .keras model "
                      "archive", path);
        goto done;
    }
    if (!has_h5) {
        if (has_npz)
            st = k2t_fail(err, K2T_EUNSUPPORTED, "%s: its weights are in member 'model.weights.npz' "
                          "(weights_format=\"npz\"), which k2t does not read yet; save with the default "
                          "model.weights.h5", path);
        else
            st = k2t_fail(err, K2T_EFORMAT, "%s: a .keras archive without member 'model.weights.h5'", path);
        goto done;
    }
    size_t n_cfg = 0;
    if ((st = read_member(za, path, "config.json", archive, limit, (unsigned char **)&a->config, &n_cfg,
                          err)) != K2T_OK)
        goto done;
    if (strlen(a->config) != n_cfg) {
        st = k2t_fail(err, K2T_EFORMAT, "%s: member 'config.json' holds a NUL byte: not JSON text", path);
        goto done;
    }
    if (has_meta) {
        if ((st = read_member(za, path, "metadata.json", archive, limit, &meta, &n_meta, err)) != K2T_OK)
            goto done;
        json_error_t je;
        json_t *mj = json_loadb((const char *)meta, n_meta, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        if (!mj) {
            st = k2t_fail(err, K2T_EFORMAT, "%s: member 'metadata.json' is not valid JSON (line %d, column %d: "
                          "%s)", path, je.line, je.column, je.text);
            goto done;
        }
        json_t *kv = json_object_get(mj, "keras_version");
        if (json_is_string(kv)) a->keras_version = k2t_xstrdup(json_string_value(kv));
        json_decref(mj);
    }
    if ((st = read_member(za, path, "model.weights.h5", archive, limit, &h5, &n_h5, err)) != K2T_OK)
        goto done;
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    if (n_h5 < 8 || memcmp(h5, sig, 8) != 0) {
        st = k2t_fail(err, K2T_EFORMAT, "%s: member 'model.weights.h5' is not an HDF5 file (no HDF5 "
                      "signature)", path);
        goto done;
    }
    /* Opened from memory: the core driver with the image as the file,
    ** no backing store. */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_fapl_core(fapl, 1 << 20, 0) < 0 || H5Pset_file_image(fapl, h5, n_h5) < 0) {
        if (fapl >= 0) H5Pclose(fapl);
        st = k2t_fail(err, K2T_ENOMEM, "%s: member 'model.weights.h5': HDF5 cannot take it as a file image",
                      path);
        goto done;
    }
    a->fid = H5Fopen("model.weights.h5", H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (a->fid < 0)
        st = k2t_fail(err, K2T_EFORMAT, "%s: member 'model.weights.h5' has an HDF5 signature but HDF5 cannot "
                      "read it (truncated or corrupt)", path);
done:
    free(meta);
    free(h5); /* H5Pset_file_image copied it */
    zip_discard(za);
    if (st != K2T_OK) k2t_keras3_close(a);
    return st;
}

void k2t_keras3_close(k2t_k3file *a)
{
    free(a->config);
    free(a->keras_version);
    if (a->fid >= 0) H5Fclose(a->fid);
    memset(a, 0, sizeof *a);
    a->fid = -1;
}

/*----------------------------------------------------- the weights index */

typedef struct k3ent {
    char *norm;   /* "layers/dense/vars/0" */
    char *real;   /* the path in the file: "layers\dense\vars/0" on Windows */
    int group;
} k3ent;

struct k2t_k3index {
    k3ent *e;
    int n, cap;
    int legacy;   /* tf.keras 2.13-2.15: under _layer_checkpoint_dependencies */
};

static char *normalize(const char *p)
{
    k2t_buf b = {0};
    k2t_buf_printf(&b, "%s", "");
    for (const char *s = p; *s;) {
        while (*s == '/' || *s == '\\') s++;
        if (!*s) break;
        size_t l = strcspn(s, "/\\");
        if (l == 30 && !strncmp(s, "_layer_checkpoint_dependencies", 30))
            k2t_buf_printf(&b, "%slayers", b.len ? "/" : "");
        else
            k2t_buf_printf(&b, "%s%.*s", b.len ? "/" : "", (int)l, s);
        s += l;
    }
    return b.p;
}

static herr_t visit(hid_t obj, const char *name, const H5O_info_t *info, void *data)
{
    k2t_k3index *ix = data;
    (void)obj;
    if (!strcmp(name, ".")) return 0;
    if (info->type != H5O_TYPE_GROUP && info->type != H5O_TYPE_DATASET) return 0;
    if (ix->n >= 4000000) return -1;
    if (ix->n == ix->cap) {
        ix->cap = ix->cap ? ix->cap * 2 : 64;
        ix->e = k2t_xrealloc(ix->e, (size_t)ix->cap * sizeof *ix->e);
    }
    if (strstr(name, "_layer_checkpoint_dependencies")) ix->legacy = 1;
    ix->e[ix->n].norm = normalize(name);
    ix->e[ix->n].real = k2t_xstrdup(name);
    ix->e[ix->n].group = info->type == H5O_TYPE_GROUP;
    ix->n++;
    return 0;
}

static int cmp_norm(const void *a, const void *b)
{
    return strcmp(((const k3ent *)a)->norm, ((const k3ent *)b)->norm);
}

_Static_assert(sizeof(hid_t) == sizeof(int64_t), "hid_t is 64-bit since HDF5 1.10");

k2t_k3index *k2t_keras3_index(int64_t fid, const char *path, k2t_err *err)
{
    k2t_k3index *ix = k2t_xcalloc(1, sizeof *ix);
    if (H5Ovisit2(fid, H5_INDEX_NAME, H5_ITER_INC, visit, ix, H5O_INFO_BASIC) < 0) {
        k2t_keras3_index_free(ix);
        k2t_fail(err, K2T_EFORMAT, "%s: member 'model.weights.h5': its groups cannot be listed (corrupt, or "
                 "more than 4,000,000 objects)", path);
        return NULL;
    }
    if (ix->n) qsort(ix->e, (size_t)ix->n, sizeof *ix->e, cmp_norm);
    return ix;
}

void k2t_keras3_index_free(k2t_k3index *ix)
{
    if (!ix) return;
    for (int i = 0; i < ix->n; i++) free(ix->e[i].norm), free(ix->e[i].real);
    free(ix->e);
    free(ix);
}

/* First entry whose normalized path is >= key. */
static int lower_bound(const k2t_k3index *ix, const char *key)
{
    int lo = 0, hi = ix->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (strcmp(ix->e[mid].norm, key) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

const char *k2t_keras3_find(const k2t_k3index *ix, const char *norm, int group)
{
    int i = lower_bound(ix, norm);
    for (; i < ix->n && !strcmp(ix->e[i].norm, norm); i++)
        if (ix->e[i].group == group) return ix->e[i].real;
    return NULL;
}

int k2t_keras3_legacy(const k2t_k3index *ix)
{
    return ix->legacy;
}

int k2t_keras3_has_data(const k2t_k3index *ix, const char *group)
{
    size_t gl = strlen(group);
    char *pre = k2t_xmalloc(gl + 2);
    memcpy(pre, group, gl);
    pre[gl] = '/', pre[gl + 1] = '\0';
    int found = 0;
    for (int i = lower_bound(ix, pre); i < ix->n && !found && !strncmp(ix->e[i].norm, pre, gl + 1); i++)
        found = !ix->e[i].group;
    free(pre);
    return found;
}

static int all_digits(const char *s, size_t n)
{
    if (!n) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i])) return 0;
    return 1;
}

/* Keras's order within a saveable: its own 'vars' first, numbers
** numerically ("10" after "9"), other names in byte order. */
static int cmp_rel(const void *pa, const void *pb)
{
    const char *a = ((const k3ent *)pa)->norm, *b = ((const k3ent *)pb)->norm;
    for (;;) {
        size_t la = strcspn(a, "/"), lb = strcspn(b, "/");
        int va = la == 4 && !strncmp(a, "vars", 4), vb = lb == 4 && !strncmp(b, "vars", 4);
        if (va != vb) return vb - va;
        int c;
        if (all_digits(a, la) && all_digits(b, lb)) {
            while (la > 1 && *a == '0') a++, la--;
            while (lb > 1 && *b == '0') b++, lb--;
            c = la != lb ? (la < lb ? -1 : 1) : strncmp(a, b, la);
        } else {
            size_t l = la < lb ? la : lb;
            c = strncmp(a, b, l);
            if (!c && la != lb) c = la < lb ? -1 : 1;
        }
        if (c) return c;
        a += la, b += lb;
        if (!*a || !*b) return (*a != 0) - (*b != 0);
        a++, b++;
    }
}

int k2t_keras3_group_vars(const k2t_k3index *ix, const char *group, char ***real, char ***rel)
{
    size_t gl = strlen(group);
    char *pre = k2t_xmalloc(gl + 2);
    memcpy(pre, group, gl);
    pre[gl] = '/', pre[gl + 1] = '\0';
    int n = 0;
    k3ent *v = NULL;
    for (int i = lower_bound(ix, pre); i < ix->n && !strncmp(ix->e[i].norm, pre, gl + 1); i++) {
        if (ix->e[i].group) continue;
        v = k2t_xrealloc(v, (size_t)(n + 1) * sizeof *v);
        v[n].norm = ix->e[i].norm + gl + 1; /* relative; not owned */
        v[n].real = ix->e[i].real;
        n++;
    }
    free(pre);
    if (n) qsort(v, (size_t)n, sizeof *v, cmp_rel);
    *real = k2t_xcalloc((size_t)n + 1, sizeof **real);
    *rel = k2t_xcalloc((size_t)n + 1, sizeof **rel);
    for (int i = 0; i < n; i++) {
        (*real)[i] = k2t_xstrdup(v[i].real);
        (*rel)[i] = k2t_xstrdup(v[i].norm);
    }
    free(v);
    return n;
}
