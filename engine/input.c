/*
** input.c -- what k2t feeds a model: .npy arrays, CIFAR-10 binary files,
** PNG and JPEG images, and the usual pixel preprocessing modes.
**
** Every reader checks sizes against the file before trusting them, and
** names the file in its errors.  Images are decoded with libpng's
** simplified API and libjpeg; nothing is resized.
*/
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h> /* after stdio.h: it uses FILE and size_t */
#include <png.h>
#include <string.h>
#include <sys/stat.h>
#include "internal.h"

void k2t_array_free(k2t_array *a)
{
    free(a->data);
    a->data = NULL;
}

/*-------------------------------------------------------------------- npy */

k2t_status k2t_npy_read(const char *path, k2t_array *out, k2t_err *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = k2t_fopen_regular(path, err);
    if (!f) return err ? err->status : K2T_EIO;
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return k2t_fail(err, K2T_EIO, "'%s' is not a regular file", path);
    }
    if ((uint64_t)st.st_size > (uint64_t)K2T_MAX_NUMEL * 8 + (1 << 20)) {
        fclose(f);
        return k2t_fail(err, K2T_ENOMEM, "'%s' is too large (%lld bytes)", path, (long long)st.st_size);
    }
    size_t len = (size_t)st.st_size;
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf) {
        fclose(f);
        return k2t_fail(err, K2T_ENOMEM, "'%s': cannot allocate %zu bytes", path, len);
    }
    size_t got = fread(buf, 1, len, f);
    fclose(f);
    if (got != len) {
        free(buf);
        return k2t_fail(err, K2T_EIO, "'%s': read error", path);
    }
    /* One parser for files and .npz members (npz.c). */
    char what[1100];
    snprintf(what, sizeof what, "'%s'", path);
    k2t_status rc = k2t_npy_parse(buf, len, what, out, err);
    free(buf);
    return rc;
}

typedef struct npy_out { const k2t_shape *shape; const float *data; } npy_out;

static k2t_status npy_fill(FILE *f, void *vctx, k2t_err *err)
{
    const npy_out *o = vctx;
    const k2t_shape *shape = o->shape;
    char dict[512];
    size_t n = (size_t)snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    int64_t numel = 1;
    for (int i = 0; i < shape->ndim; i++) {
        n += (size_t)snprintf(dict + n, sizeof dict - n, "%lld,%s", (long long)shape->d[i],
                              i + 1 < shape->ndim ? " " : "");
        numel *= shape->d[i];
    }
    if (shape->ndim > 1) n--; /* numpy writes (3,) but (2, 3) */
    n += (size_t)snprintf(dict + n, sizeof dict - n, "), }");
    /* Pad with spaces so the data starts on a multiple of 64; end in '\n'. */
    size_t total = 10 + n + 1;
    size_t pad = (64 - total % 64) % 64;
    unsigned short hl = (unsigned short)(n + pad + 1);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hl & 0xff),
                             (unsigned char)(hl >> 8)};
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(dict, 1, n, f) == n;
    for (size_t i = 0; ok && i < pad; i++) ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    ok = ok && fwrite(o->data, sizeof(float), (size_t)numel, f) == (size_t)numel;
    if (!ok) return k2t_fail(err, K2T_EIO, "write error: %s", strerror(errno ? errno : EIO));
    return K2T_OK;
}

k2t_status k2t_npy_save(const char *path, const k2t_shape *shape, const float *data, int force,
                        k2t_err *err)
{
    npy_out o = {shape, data};
    k2t_err e = {0};
    k2t_status st = k2t_write_file_safe(path, force, npy_fill, &o, &e);
    if (st == K2T_OK) return K2T_OK;
    if (strncmp(e.msg, "write error: ", 13) == 0)
        return k2t_fail(err, st, "cannot write '%s': %s", path, e.msg + 13);
    return k2t_fail(err, st, "%s", e.msg);
}

k2t_status k2t_npy_write(const char *path, const k2t_shape *shape, const float *data, k2t_err *err)
{
    return k2t_npy_save(path, shape, data, 0, err);
}

/*------------------------------------------------------------------ CIFAR */

const char *const k2t_cifar_names[10] = {"airplane", "automobile", "bird", "cat", "deer",
                                         "dog", "frog", "horse", "ship", "truck"};

k2t_status k2t_cifar_count(const char *path, int64_t *n, k2t_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0) return k2t_fail(err, K2T_EIO, "cannot open '%s': %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return k2t_fail(err, K2T_EIO, "'%s' is not a regular file", path);
    if (st.st_size == 0 || st.st_size % 3073 != 0)
        return k2t_fail(err, K2T_EFORMAT, "'%s' is not a CIFAR-10 binary file: its size %lld is not "
                        "a multiple of 3073 (1 label byte + 3072 pixel bytes per image)", path,
                        (long long)st.st_size);
    *n = st.st_size / 3073;
    return K2T_OK;
}

k2t_status k2t_cifar_read(const char *path, int64_t first, int count, float *x,
                          unsigned char *labels, k2t_err *err)
{
    FILE *f = k2t_fopen_regular(path, err);
    unsigned char rec[3073];
    if (!f) return err ? err->status : K2T_EIO;
    if (fseeko(f, (off_t)first * 3073, SEEK_SET) != 0) {
        fclose(f);
        return k2t_fail(err, K2T_EIO, "'%s': cannot seek to image %lld", path, (long long)first);
    }
    for (int i = 0; i < count; i++) {
        if (fread(rec, 1, 3073, f) != 3073) {
            fclose(f);
            return k2t_fail(err, K2T_EFORMAT, "'%s': image %lld is truncated", path,
                            (long long)(first + i));
        }
        if (rec[0] >= 10) {
            fclose(f);
            return k2t_fail(err, K2T_EFORMAT, "'%s': image %lld has label %d; CIFAR-10 labels are 0..9",
                            path, (long long)(first + i), rec[0]);
        }
        if (labels) labels[i] = rec[0];
        float *o = x + (int64_t)i * 3072;
        /* CHW bytes -> HWC floats. */
        for (int p = 0; p < 1024; p++) {
            o[p * 3 + 0] = rec[1 + p];
            o[p * 3 + 1] = rec[1 + 1024 + p];
            o[p * 3 + 2] = rec[1 + 2048 + p];
        }
    }
    fclose(f);
    return K2T_OK;
}

/*----------------------------------------------------------------- images */

struct jerr { struct jpeg_error_mgr pub; jmp_buf jb; char msg[JMSG_LENGTH_MAX]; };

static void jpeg_fail(j_common_ptr c)
{
    struct jerr *e = (struct jerr *)c->err;
    (*c->err->format_message)(c, e->msg);
    longjmp(e->jb, 1);
}

static k2t_status read_jpeg(const char *path, FILE *f, int *w, int *h, unsigned char **rgb, k2t_err *err)
{
    struct jpeg_decompress_struct c;
    struct jerr je;
    unsigned char *volatile buf = NULL;
    c.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = jpeg_fail;
    je.msg[0] = '\0';
    if (setjmp(je.jb)) {
        jpeg_destroy_decompress(&c);
        free(buf);
        return k2t_fail(err, K2T_EFORMAT, "'%s': cannot decode JPEG: %s", path, je.msg);
    }
    jpeg_create_decompress(&c);
    jpeg_stdio_src(&c, f);
    jpeg_read_header(&c, TRUE);
    /* The size is checked before the decoder allocates anything for it. */
    if (c.image_width > 16384 || c.image_height > 16384) {
        snprintf(je.msg, sizeof je.msg, "image of %ux%u is too large (k2t reads up to 16384x16384)",
                 (unsigned)c.image_width, (unsigned)c.image_height);
        longjmp(je.jb, 1);
    }
    c.out_color_space = JCS_RGB;
    jpeg_start_decompress(&c);
    if (c.output_width > 16384 || c.output_height > 16384) {
        snprintf(je.msg, sizeof je.msg, "image of %ux%u is too large", (unsigned)c.output_width,
                 (unsigned)c.output_height);
        longjmp(je.jb, 1);
    }
    *w = (int)c.output_width, *h = (int)c.output_height;
    buf = k2t_xmalloc((size_t)*w * (size_t)*h * 3);
    while (c.output_scanline < c.output_height) {
        unsigned char *row = buf + (size_t)c.output_scanline * (size_t)*w * 3;
        jpeg_read_scanlines(&c, &row, 1);
    }
    jpeg_finish_decompress(&c);
    jpeg_destroy_decompress(&c);
    *rgb = buf;
    return K2T_OK;
}

static k2t_status read_png(const char *path, int *w, int *h, unsigned char **rgb, k2t_err *err)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&im, path))
        return k2t_fail(err, K2T_EFORMAT, "'%s': cannot decode PNG: %s", path, im.message);
    if (im.width > 16384 || im.height > 16384) {
        png_image_free(&im);
        return k2t_fail(err, K2T_EFORMAT, "'%s': image of %ux%u is too large", path, im.width, im.height);
    }
    im.format = PNG_FORMAT_RGB;
    unsigned char *buf = k2t_xmalloc(PNG_IMAGE_SIZE(im));
    if (!png_image_finish_read(&im, NULL, buf, 0, NULL)) {
        free(buf);
        return k2t_fail(err, K2T_EFORMAT, "'%s': cannot decode PNG: %s", path, im.message);
    }
    *w = (int)im.width, *h = (int)im.height;
    *rgb = buf;
    return K2T_OK;
}

k2t_status k2t_image_read(const char *path, int want_h, int want_w, int want_c, k2t_array *out,
                          k2t_err *err)
{
    unsigned char magic[8] = {0}, *rgb = NULL;
    int w = 0, h = 0;
    k2t_status rc;
    memset(out, 0, sizeof *out);
    FILE *f = k2t_fopen_regular(path, err);
    if (!f) return err ? err->status : K2T_EIO;
    size_t got = fread(magic, 1, 8, f);
    if (got >= 8 && memcmp(magic, "\x89PNG\r\n\x1a\n", 8) == 0) {
        fclose(f);
        rc = read_png(path, &w, &h, &rgb, err);
    } else if (got >= 3 && magic[0] == 0xff && magic[1] == 0xd8 && magic[2] == 0xff) {
        rewind(f);
        rc = read_jpeg(path, f, &w, &h, &rgb, err);
        fclose(f);
    } else {
        fclose(f);
        return k2t_fail(err, K2T_EFORMAT, "'%s' is neither a PNG nor a JPEG image", path);
    }
    if (rc != K2T_OK) return rc;
    if ((want_h > 0 && h != want_h) || (want_w > 0 && w != want_w)) {
        free(rgb);
        return k2t_fail(err, K2T_ESHAPE, "'%s' is %dx%d (width x height) but the model takes "
                        "%dx%d images; k2t does not resize", path, w, h, want_w, want_h);
    }
    int c = want_c == 1 ? 1 : 3;
    out->shape.ndim = 4;
    out->shape.d[0] = 1, out->shape.d[1] = h, out->shape.d[2] = w, out->shape.d[3] = c;
    out->data = k2t_xmalloc((size_t)w * (size_t)h * (size_t)c * sizeof(float));
    out->pixels = 1;
    snprintf(out->dtype, sizeof out->dtype, "uint8");
    for (int64_t i = 0; i < (int64_t)w * h; i++) {
        if (c == 3) {
            for (int k = 0; k < 3; k++) out->data[i * 3 + k] = rgb[i * 3 + k];
        } else {
            /* ITU-R 601 luma, as PIL's convert('L') */
            out->data[i] = (float)(rgb[i * 3] * 299 + rgb[i * 3 + 1] * 587 + rgb[i * 3 + 2] * 114) / 1000.0f;
        }
    }
    free(rgb);
    return K2T_OK;
}

/*------------------------------------------------------------ preprocess */

const char *const k2t_pre_names[5] = {"raw", "unit", "symmetric", "torch", "caffe"};

k2t_status k2t_preprocess(float *x, int64_t n, int c, k2t_pre mode, k2t_err *err)
{
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
    static const float bgr_mean[3] = {103.939f, 116.779f, 123.68f};
    if ((mode == K2T_PRE_TORCH || mode == K2T_PRE_CAFFE) && c != 3)
        return k2t_fail(err, K2T_EARG, "preprocess %s needs 3 channels (RGB), the input has %d",
                        k2t_pre_names[mode], c);
    switch (mode) {
    case K2T_PRE_RAW:
        break;
    case K2T_PRE_UNIT:
        for (int64_t i = 0; i < n; i++) x[i] /= 255.0f;
        break;
    case K2T_PRE_SYMMETRIC:
        for (int64_t i = 0; i < n; i++) x[i] = x[i] / 127.5f - 1.0f;
        break;
    case K2T_PRE_TORCH:
        for (int64_t i = 0; i < n; i++) x[i] = (x[i] / 255.0f - mean[i % 3]) / sd[i % 3];
        break;
    case K2T_PRE_CAFFE:
        for (int64_t i = 0; i < n; i += 3) {
            float r = x[i], b = x[i + 2];
            x[i] = b - bgr_mean[0];
            x[i + 1] -= bgr_mean[1];
            x[i + 2] = r - bgr_mean[2];
        }
        break;
    }
    return K2T_OK;
}
