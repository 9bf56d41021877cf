/*
** h5.c -- HDF5 reads for the Keras loader.
**
** Keras files carry strings in every encoding h5py ever wrote: fixed-length
** NULLPAD ASCII (h5py 2), variable-length ASCII or UTF-8 (h5py 3), and an
** empty list stored as a float64 array of length 0.  libhdf5 converts
** neither between ASCII and UTF-8 nor between fixed and variable length,
** so every read here uses the attribute's own type as the memory type
** and branches on what it finds (KERAS-FORMAT.md 1.1).  HDF5's own error
** stack printing is switched off: errors come back as k2t_err.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "h5.h"
#include "internal.h"

hid_t h5_open(const char *path, k2t_err *err)
{
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    unsigned char buf[8];
    int found = 0;

    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    FILE *f = k2t_fopen_regular(path, err); /* no directory, FIFO or device */
    if (!f) return -1;
    /* The signature sits at 0, or at 512, 1024, ... after a user block. */
    for (long off = 0; off <= (1L << 20) && !found; off = off ? off * 2 : 512) {
        if (fseek(f, off, SEEK_SET) != 0 || fread(buf, 1, 8, f) != 8) break;
        found = memcmp(buf, sig, 8) == 0;
    }
    fclose(f);
    if (!found) {
        k2t_fail(err, K2T_EFORMAT, "'%s' is not an HDF5 file (no HDF5 signature): "
                 "k2t reads Keras .h5 files", path);
        return -1;
    }
    hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (fid < 0)
        k2t_fail(err, K2T_EFORMAT, "'%s' has an HDF5 signature but HDF5 cannot read it "
                 "(truncated or corrupt file?)", path);
    return fid;
}

int h5_has_attr(hid_t obj, const char *name)
{
    return H5Aexists(obj, name) > 0;
}

/* Link traversal that never leaves the file: an external link's callback
** refuses it, so HDF5 does not open the other file even by accident. */
static herr_t deny_elink(const char *parent_file, const char *parent_group, const char *child_file,
                         const char *child_object, unsigned *acc_flags, hid_t fapl_id, void *op_data)
{
    (void)parent_file, (void)parent_group, (void)child_file, (void)child_object;
    (void)acc_flags, (void)fapl_id, (void)op_data;
    return -1;
}

static hid_t make_plist(hid_t cls)
{
    hid_t p = H5Pcreate(cls);
    if (p >= 0) H5Pset_elink_cb(p, deny_elink, NULL);
    return p;
}

hid_t h5_lapl(void)
{
    static hid_t p = -1;
    if (p < 0) p = make_plist(H5P_LINK_ACCESS);
    return p < 0 ? H5P_DEFAULT : p;
}

hid_t h5_gapl(void)
{
    static hid_t p = -1;
    if (p < 0) p = make_plist(H5P_GROUP_ACCESS);
    return p < 0 ? H5P_DEFAULT : p;
}

static hid_t h5_dapl(void)
{
    static hid_t p = -1;
    if (p < 0) p = make_plist(H5P_DATASET_ACCESS);
    return p < 0 ? H5P_DEFAULT : p;
}

k2t_status h5_check_path(hid_t loc, const char *path, const char *what, k2t_err *err)
{
    char buf[1024];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return K2T_OK;
    memcpy(buf, path, n + 1);
    for (char *p = buf;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char c = *p;
        *p = '\0';
        if (p != buf) {
            H5L_info_t li;
            if (H5Lexists(loc, buf, h5_lapl()) <= 0 || H5Lget_info(loc, buf, &li, h5_lapl()) < 0)
                return K2T_OK; /* missing: the caller says so */
            if (li.type == H5L_TYPE_EXTERNAL)
                return k2t_fail(err, K2T_EFORMAT, "%s: '%s' is an external link to another file; k2t reads "
                                "only the file it was given", what, buf);
            if (li.type != H5L_TYPE_HARD && li.type != H5L_TYPE_SOFT)
                return k2t_fail(err, K2T_EFORMAT, "%s: '%s' is a user-defined link; k2t follows only links "
                                "inside the file", what, buf);
        }
        if (c == '\0') break;
        *p = c;
    }
    return K2T_OK;
}

int h5_exists(hid_t loc, const char *path)
{
    /* H5Lexists fails on a missing intermediate group: walk component by
    ** component. */
    char buf[1024];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return 0;
    memcpy(buf, path, n + 1);
    for (char *p = buf; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (p != buf && H5Lexists(loc, buf, h5_lapl()) <= 0) return 0;
            if (c == '\0') return 1;
            *p = c;
        }
    }
}

/* Read every string of an open attribute; appends to v and n. */
static k2t_status read_str_attr(hid_t attr, const char *name, char ***v, int *n,
                                int *cap, k2t_err *err)
{
    k2t_status st = K2T_OK;
    hid_t type = H5Aget_type(attr);
    hid_t space = H5Aget_space(attr);
    hssize_t npoints = H5Sget_simple_extent_npoints(space);
    H5T_class_t cls = H5Tget_class(type);

    if (npoints < 0 || npoints > (1 << 24)) {
        st = k2t_fail(err, K2T_EFORMAT, "attribute '%s' has an absurd size", name);
        goto done;
    }
    if (cls != H5T_STRING) {
        /* np.asarray([]) is float64: an empty list.  Anything else is wrong. */
        if (npoints != 0)
            st = k2t_fail(err, K2T_EFORMAT, "attribute '%s' is not a list of strings", name);
        goto done;
    }
    if (*n + npoints > *cap) {
        *cap = (int)(*n + npoints) * 2 + 8;
        *v = k2t_xrealloc(*v, (size_t)*cap * sizeof **v);
    }
    if (H5Tis_variable_str(type) > 0) {
        char **tmp = k2t_xcalloc((size_t)npoints + 1, sizeof *tmp);
        hid_t mem = H5Tcopy(type);
        if (H5Aread(attr, mem, tmp) < 0) {
            st = k2t_fail(err, K2T_EFORMAT, "cannot read attribute '%s'", name);
        } else {
            for (hssize_t i = 0; i < npoints; i++)
                (*v)[(*n)++] = k2t_xstrdup(tmp[i] ? tmp[i] : "");
            H5Dvlen_reclaim(mem, space, H5P_DEFAULT, tmp);
        }
        H5Tclose(mem);
        free(tmp);
    } else {
        size_t size = H5Tget_size(type);
        if (size == 0 || size > (1 << 20)) {
            st = k2t_fail(err, K2T_EFORMAT, "attribute '%s' has an absurd string size", name);
            goto done;
        }
        char *raw = k2t_xcalloc((size_t)npoints ? (size_t)npoints : 1, size);
        hid_t mem = H5Tcopy(type);
        if (H5Aread(attr, mem, raw) < 0) {
            st = k2t_fail(err, K2T_EFORMAT, "cannot read attribute '%s'", name);
        } else {
            for (hssize_t i = 0; i < npoints; i++) {
                const char *p = raw + (size_t)i * size;
                size_t len = strnlen(p, size); /* NULLPAD: no terminator when full */
                char *s = k2t_xmalloc(len + 1);
                memcpy(s, p, len);
                s[len] = '\0';
                (*v)[(*n)++] = s;
            }
        }
        H5Tclose(mem);
        free(raw);
    }
done:
    H5Sclose(space);
    H5Tclose(type);
    return st;
}

k2t_status h5_attr_string(hid_t obj, const char *name, char **out, k2t_err *err)
{
    *out = NULL;
    if (!h5_has_attr(obj, name)) return K2T_OK;
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    if (attr < 0) return k2t_fail(err, K2T_EFORMAT, "cannot open attribute '%s'", name);
    char **v = NULL;
    int n = 0, cap = 0;
    k2t_status st = read_str_attr(attr, name, &v, &n, &cap, err);
    H5Aclose(attr);
    if (st == K2T_OK) {
        if (n >= 1) {
            *out = v[0];
            for (int i = 1; i < n; i++) free(v[i]);
        } else {
            st = k2t_fail(err, K2T_EFORMAT, "attribute '%s' is not a string", name);
        }
    } else {
        h5_strings_free(v, n);
        v = NULL;
    }
    free(v);
    return st;
}

k2t_status h5_attr_strings(hid_t obj, const char *name, char ***out, int *n,
                           int *present, k2t_err *err)
{
    char **v = NULL;
    int cap = 0;
    k2t_status st = K2T_OK;
    *n = 0;
    *present = 0;
    if (h5_has_attr(obj, name)) {
        hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
        *present = 1;
        st = attr < 0 ? k2t_fail(err, K2T_EFORMAT, "cannot open attribute '%s'", name)
                      : read_str_attr(attr, name, &v, n, &cap, err);
        if (attr >= 0) H5Aclose(attr);
    } else {
        /* Chunked: name0, name1, ... probed by number (iteration order is
        ** alphanumeric, name10 before name2). */
        char part[256];
        for (int i = 0; st == K2T_OK; i++) {
            snprintf(part, sizeof part, "%s%d", name, i);
            if (!h5_has_attr(obj, part)) break;
            *present = 1;
            hid_t attr = H5Aopen(obj, part, H5P_DEFAULT);
            st = attr < 0 ? k2t_fail(err, K2T_EFORMAT, "cannot open attribute '%s'", part)
                          : read_str_attr(attr, part, &v, n, &cap, err);
            if (attr >= 0) H5Aclose(attr);
        }
    }
    if (st != K2T_OK) {
        h5_strings_free(v, *n);
        v = NULL;
        *n = 0;
    }
    *out = v;
    return st;
}

void h5_strings_free(char **v, int n)
{
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

static k2t_status read_weight(hid_t loc, const char *path, k2t_weight *w, const char *what, k2t_err *err,
                              int with_data);

k2t_status h5_read_weight(hid_t loc, const char *path, k2t_weight *w,
                          const char *what, k2t_err *err)
{
    return read_weight(loc, path, w, what, err, 1);
}

k2t_status h5_read_weight_meta(hid_t loc, const char *path, k2t_weight *w, const char *what, k2t_err *err)
{
    return read_weight(loc, path, w, what, err, 0);
}

static k2t_status read_weight(hid_t loc, const char *path, k2t_weight *w, const char *what, k2t_err *err,
                              int with_data)
{
    k2t_status st = K2T_OK;
    hid_t ds = -1, type = -1, space = -1;
    hsize_t dims[H5S_MAX_RANK];

    if ((st = h5_check_path(loc, path, what, err)) != K2T_OK) return st;
    if (!h5_exists(loc, path))
        return k2t_fail(err, K2T_EFORMAT, "%s is missing (no dataset '%s')", what, path);
    ds = H5Dopen2(loc, path, h5_dapl());
    if (ds < 0)
        return k2t_fail(err, K2T_EFORMAT, "%s: '%s' is not a dataset", what, path);
    /* Storage outside this file is refused before anything is read: a
    ** dataset's bytes may live in other files (external storage, which can
    ** name /etc/passwd) or be mapped from other datasets (virtual). */
    {
        hid_t dcpl = H5Dget_create_plist(ds);
        int next = dcpl >= 0 ? H5Pget_external_count(dcpl) : 0;
        H5D_layout_t lay = dcpl >= 0 ? H5Pget_layout(dcpl) : H5D_LAYOUT_ERROR;
        if (dcpl >= 0) H5Pclose(dcpl);
        if (next > 0 || lay == H5D_LAYOUT_ERROR || lay == H5D_VIRTUAL) {
            H5Dclose(ds);
            if (lay == H5D_VIRTUAL)
                return k2t_fail(err, K2T_EFORMAT, "%s: dataset '%s' is a virtual dataset (its data is mapped "
                                "from other datasets or files); k2t reads only data stored in the file", what, path);
            if (next > 0)
                return k2t_fail(err, K2T_EFORMAT, "%s: dataset '%s' keeps its data in %d external file%s; k2t "
                                "reads only data stored in the file itself", what, path, next, next == 1 ? "" : "s");
            return k2t_fail(err, K2T_EFORMAT, "%s: dataset '%s' has an unreadable storage layout", what, path);
        }
    }
    type = H5Dget_type(ds);
    space = H5Dget_space(ds);
    int ndim = H5Sget_simple_extent_ndims(space);
    if (ndim < 0 || ndim > K2T_MAX_DIMS) {
        st = k2t_fail(err, K2T_EFORMAT, "%s: dataset '%s' has %d dimensions", what, path, ndim);
        goto done;
    }
    H5Sget_simple_extent_dims(space, dims, NULL);
    if (H5Tget_class(type) != H5T_FLOAT) {
        const char *cls = H5Tget_class(type) == H5T_INTEGER ? "integer"
                        : H5Tget_class(type) == H5T_STRING ? "string" : "non-float";
        st = k2t_fail(err, K2T_EFORMAT, "%s holds %s data (dataset '%s'); weights must be "
                      "floating point", what, cls, path);
        goto done;
    }
    size_t esize = H5Tget_size(type);
    snprintf(w->dtype, sizeof w->dtype, "float%zu", esize * 8);
    w->shape.ndim = ndim;
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        w->shape.d[i] = (int64_t)dims[i];
        if (dims[i] > (hsize_t)K2T_MAX_NUMEL || (dims[i] && numel > K2T_MAX_NUMEL / (int64_t)dims[i])) {
            st = k2t_fail(err, K2T_ENOMEM, "%s: dataset '%s' declares an absurd size", what, path);
            goto done;
        }
        numel *= (int64_t)dims[i];
    }
    if (numel > K2T_MAX_NUMEL) {
        st = k2t_fail(err, K2T_ENOMEM, "%s: dataset '%s' declares %lld elements, more than "
                      "k2t accepts", what, path, (long long)numel);
        goto done;
    }
    /* A contiguous dataset declared but never written holds no data:
    ** reading it would hand back fill values as if they were weights. */
    hid_t dcpl = H5Dget_create_plist(ds);
    H5D_layout_t layout = H5Pget_layout(dcpl);
    H5Pclose(dcpl);
    if (numel > 0 && layout == H5D_CONTIGUOUS &&
        H5Dget_storage_size(ds) < (hsize_t)numel * esize) {
        st = k2t_fail(err, K2T_EFORMAT, "%s: dataset '%s' holds no data (declared %lld "
                      "elements, stored %llu bytes)", what, path, (long long)numel,
                      (unsigned long long)H5Dget_storage_size(ds));
        goto done;
    }
    /* A chunked dataset with chunks never written (sparse) would be read
    ** back as fill values, and can declare gigabytes in a small file:
    ** every chunk must exist before anything is allocated for it. */
    H5D_space_status_t sst;
    if (numel > 0 && layout == H5D_CHUNKED && H5Dget_space_status(ds, &sst) >= 0 &&
        sst != H5D_SPACE_STATUS_ALLOCATED) {
        st = k2t_fail(err, K2T_EFORMAT, "%s: dataset '%s' is %s: declared %lld elements, but %s of its chunks "
                      "were ever written (stored %llu bytes)", what, path,
                      sst == H5D_SPACE_STATUS_NOT_ALLOCATED ? "empty" : "sparse", (long long)numel,
                      sst == H5D_SPACE_STATUS_NOT_ALLOCATED ? "none" : "only some",
                      (unsigned long long)H5Dget_storage_size(ds));
        goto done;
    }
    w->size = numel;
    if (!with_data) goto done;
    w->data = malloc((size_t)(numel ? numel : 1) * sizeof(float));
    if (!w->data) {
        st = k2t_fail(err, K2T_ENOMEM, "%s: cannot allocate %lld floats", what, (long long)numel);
        goto done;
    }
    if (numel > 0 && H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w->data) < 0) {
        st = k2t_fail(err, K2T_EFORMAT, "%s: cannot read dataset '%s' (truncated file?)",
                      what, path);
        free(w->data);
        w->data = NULL;
    }
done:
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    if (ds >= 0) H5Dclose(ds);
    return st;
}
