/*
** lambda.c -- what a Lambda layer holds, decoded for "info".
**
** k2t never runs a Lambda, but a port has to rewrite it, so "info" shows
** what it was.  Keras 2 stores config.function as [code, defaults,
** closure] with function_type "lambda" (code: base64 of marshal.dumps of
** the code object; Keras 2.0.7 kept the raw marshal bytes, one JSON
** character per byte, NULs included as \u0000), or a name with
** function_type "function" and config.module.  Keras 3 stores
** {"class_name": "__lambda__", "config": {"code": ...}} or
** {"class_name": "function", "config": NAME, "module": ...}.
**
** Marshalled bytecode is only scanned, never executed or fully parsed:
** its short strings (types 'z'/'Z' with a 1-byte length, 'a'/'A'/'u'/'t'
** with a 4-byte one) that look like identifiers are the names the function
** uses (co_names, co_varnames).  Every read is bounds-checked.
*/
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

/* A JSON string's characters as bytes when every one is below 256 (raw
** marshal kept as Latin-1 text); NULL otherwise.  *n gets the length. */
static unsigned char *latin1_bytes(const char *s, size_t len, size_t *n)
{
    unsigned char *out = k2t_xmalloc(len + 1);
    size_t w = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            out[w++] = c, i++;
        } else if ((c & 0xE0) == 0xC0 && i + 1 < len && c <= 0xC3) {
            out[w++] = (unsigned char)(((c & 0x1F) << 6) | ((unsigned char)s[i + 1] & 0x3F));
            i += 2;
        } else {
            free(out);
            return NULL;
        }
    }
    *n = w;
    return out;
}

static int b64_val(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Base64 (with line breaks, as base64.encodebytes writes) or NULL. */
static unsigned char *b64_decode(const char *s, size_t len, size_t *n)
{
    unsigned char *out = k2t_xmalloc(len / 4 * 3 + 4);
    size_t w = 0, k = 0, pad = 0;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (c == '\n' || c == '\r') continue;
        if (c == '=') { pad++; continue; }
        int d = b64_val(c);
        if (d < 0 || pad) { free(out); return NULL; }
        v = (v << 6) | (unsigned)d;
        if (++k == 4) {
            out[w++] = (unsigned char)(v >> 16), out[w++] = (unsigned char)(v >> 8), out[w++] = (unsigned char)v;
            k = 0, v = 0;
        }
    }
    if (k == 1 || pad > 2) { free(out); return NULL; }
    if (k == 2) out[w++] = (unsigned char)(v >> 4);
    if (k == 3) out[w++] = (unsigned char)(v >> 10), out[w++] = (unsigned char)(v >> 2);
    *n = w;
    return out;
}

static int is_ident(const unsigned char *p, size_t n)
{
    if (n == 0 || n > 128 || !(isalpha(p[0]) || p[0] == '_')) return 0;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum(p[i]) || p[i] == '_')) return 0;
    return 1;
}

static void add_name(k2t_lambda_info *li, const unsigned char *p, size_t n)
{
    for (int i = 0; i < li->n_names; i++)
        if (strlen(li->names[i]) == n && !memcmp(li->names[i], p, n)) return;
    if (li->n_names >= 256) return;
    li->names = k2t_xrealloc(li->names, (size_t)(li->n_names + 1) * sizeof *li->names);
    char *s = k2t_xmalloc(n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    li->names[li->n_names++] = s;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Marshal's string objects that are identifiers, in order of appearance. */
static void scan_marshal(const unsigned char *b, size_t n, k2t_lambda_info *li)
{
    for (size_t i = 0; i < n;) {
        int t = b[i] & 0x7F; /* FLAG_REF is 0x80 */
        if ((t == 'z' || t == 'Z') && i + 1 < n) {
            size_t len = b[i + 1];
            if (len <= n - i - 2 && is_ident(b + i + 2, len)) {
                add_name(li, b + i + 2, len);
                i += 2 + len;
                continue;
            }
        } else if ((t == 'a' || t == 'A' || t == 'u' || t == 't') && n - i >= 5) {
            uint32_t len = le32(b + i + 1);
            if (len <= n - i - 5 && is_ident(b + i + 5, len)) {
                add_name(li, b + i + 5, len);
                i += 5 + len;
                continue;
            }
        } else if (t == 's' && n - i >= 5) {
            uint32_t len = le32(b + i + 1); /* co_code and friends: bytes, skipped */
            if (len > 0 && len <= n - i - 5) {
                i += 5 + len;
                continue;
            }
        }
        i++;
    }
}

static int printable_text(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') return 0;
    }
    return 1;
}

/* Decode one code value (a JSON string) into li. */
static void describe_code(json_t *code, k2t_lambda_info *li)
{
    if (!json_is_string(code)) return;
    const char *s = json_string_value(code);
    size_t len = json_string_length(code);
    if (printable_text(s, len) && (strstr(s, "lambda") || strstr(s, "def ")) && len == strlen(s)) {
        li->kind = K2T_LAMBDA_SOURCE;
        li->text = k2t_xstrdup(s);
        return;
    }
    size_t n = 0;
    unsigned char *b = b64_decode(s, len, &n);
    if (!b) b = latin1_bytes(s, len, &n);
    if (!b) {
        li->kind = K2T_LAMBDA_UNKNOWN;
        return;
    }
    li->kind = K2T_LAMBDA_BYTECODE;
    li->code_bytes = n;
    scan_marshal(b, n, li);
    free(b);
}

int k2t_lambda_describe(const k2t_layer *L, k2t_lambda_info *li)
{
    memset(li, 0, sizeof *li);
    if (strcmp(L->class_name, "Lambda") != 0 || !L->config_json) return 0;
    json_t *cfg = json_loads(L->config_json, JSON_ALLOW_NUL | JSON_DECODE_ANY, NULL);
    if (!cfg) return 0;
    json_t *fn = json_object_get(cfg, "function");
    json_t *ft = json_object_get(cfg, "function_type");
    json_t *mod = json_object_get(cfg, "module");
    li->kind = K2T_LAMBDA_UNKNOWN;
    if (json_is_object(fn)) {
        /* Keras 3: {"class_name": "__lambda__" | "function", "config": ...} */
        const char *cn = json_string_value(json_object_get(fn, "class_name"));
        json_t *fc = json_object_get(fn, "config");
        if (cn && !strcmp(cn, "__lambda__")) {
            describe_code(json_is_object(fc) ? json_object_get(fc, "code") : fc, li);
        } else if (json_is_string(fc)) {
            json_t *fm = json_object_get(fn, "module");
            li->kind = K2T_LAMBDA_FUNCTION;
            li->text = k2t_xstrdup(json_string_value(fc));
            if (json_is_string(fm)) li->module = k2t_xstrdup(json_string_value(fm));
        }
    } else if (json_is_string(ft) && !strcmp(json_string_value(ft), "function") && json_is_string(fn)) {
        li->kind = K2T_LAMBDA_FUNCTION;
        li->text = k2t_xstrdup(json_string_value(fn));
        if (json_is_string(mod)) li->module = k2t_xstrdup(json_string_value(mod));
    } else if (json_is_array(fn)) {
        describe_code(json_array_get(fn, 0), li);
    } else if (json_is_string(fn)) {
        describe_code(fn, li);
    }
    json_decref(cfg);
    return 1;
}

void k2t_lambda_info_free(k2t_lambda_info *li)
{
    for (int i = 0; i < li->n_names; i++) free(li->names[i]);
    free(li->names);
    free(li->text);
    free(li->module);
    memset(li, 0, sizeof *li);
}
