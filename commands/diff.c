/*
** diff.c -- profiles and the layer-by-layer diff.
**
** A profile is a named set of the emulation settings: keras (faithful),
** torch (NCHW with every fix: reproduces Keras), torch-naive (what a
** straightforward hand port does: NCHW, eps 1e-5, symmetric padding, CHW
** flatten), and the user's own.  diff runs the current input under two of
** them, maps B's tensors back to Keras's layout (flatten order included)
** and compares layer by layer, so a divergence lands on the layer whose
** computation differs; --isolated feeds each layer of B the inputs A
** produced, so each layer's own error shows without accumulation.  The
** first failing layer is named with a diagnosis from the settings that
** differ and that layer's config.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "shell.h"

/* The profile as "layout nchw, padding torch, preprocess raw". */
static char *describe(const k2t_profile *p, char *buf, size_t n)
{
    return k2t_emu_describe(&p->emu, p->with_input, buf, n);
}

/*-------------------------------------------------------------- profile */

/* "did you mean 'torch-naive'? " among the profiles. */
static char *profile_dym(const k2t_shell *sh, const char *name, char *buf, size_t n)
{
    const char *names[64];
    int k = 0;
    for (int i = 0; i < k2t_n_profile_builtins && k < 64; i++) names[k++] = k2t_profile_builtins[i].name;
    for (int i = 0; i < sh->n_profiles && k < 64; i++) names[k++] = sh->profiles[i].name;
    return k2t_did_you_mean(name, names, k, buf, n);
}

static void apply(k2t_shell *sh, const k2t_profile *p)
{
    int pre = sh->set.emu.preprocess;
    k2t_emu was = sh->set.emu;
    sh->set.emu = p->emu;
    if (!p->with_input) sh->set.emu.preprocess = pre;
    int same = !memcmp(&was, &sh->set.emu, sizeof was) && !sh->set.bn_eps_layer;
    free(sh->set.bn_eps_layer); /* per-layer epsilons give way to the profile's */
    sh->set.bn_eps_layer = NULL;
    if (!same) k2t_shell_reset(sh, "profile changed");
}

static int cmd_profile(k2t_shell *sh, int argc, char **argv)
{
    char desc[256];
    k2t_profile cur;
    k2t_profile_current(sh, &cur);
    if (argc == 1) {
        const char *match = "custom";
        for (int i = 0; i < k2t_n_profile_builtins; i++) if (k2t_profile_same(&k2t_profile_builtins[i], &cur)) match = k2t_profile_builtins[i].name;
        for (int i = 0; i < sh->n_profiles; i++) if (k2t_profile_same(&sh->profiles[i], &cur)) match = sh->profiles[i].name;
        describe(&cur, desc, sizeof desc);
        k2t_printf(sh, "profile %s: %s\n", match, desc);
        k2t_var_set(sh, "profile", "%s", match);
        return K2T_CMD_OK;
    }
    if (!strcmp(argv[1], "list")) {
        for (int i = 0; i < k2t_n_profile_builtins; i++) {
            describe(&k2t_profile_builtins[i], desc, sizeof desc);
            k2t_printf(sh, "%-12s %s%s\n", k2t_profile_builtins[i].name, desc, k2t_profile_same(&k2t_profile_builtins[i], &cur) ? "  (current)" : "");
        }
        for (int i = 0; i < sh->n_profiles; i++) {
            describe(&sh->profiles[i], desc, sizeof desc);
            k2t_printf(sh, "%-12s %s%s\n", sh->profiles[i].name, desc,
                       k2t_profile_same(&sh->profiles[i], &cur) ? "  (current)" : "");
        }
        return K2T_CMD_OK;
    }
    if (!strcmp(argv[1], "save")) {
        if (argc != 3) return k2t_error(sh, -1, "profile save: usage: profile save NAME");
        const char *name = argv[2];
        if (!strcmp(name, "list") || !strcmp(name, "save") || !strcmp(name, "current") || strlen(name) >= 32)
            return k2t_error(sh, 2, "profile save: '%s' cannot name a profile", name);
        for (int i = 0; i < k2t_n_profile_builtins; i++)
            if (!strcmp(k2t_profile_builtins[i].name, name))
                return k2t_error(sh, 2, "profile save: '%s' is a built-in profile; choose another name", name);
        k2t_profile *slot = NULL;
        for (int i = 0; i < sh->n_profiles; i++)
            if (!strcmp(sh->profiles[i].name, name)) slot = &sh->profiles[i];
        if (!slot) {
            sh->profiles = k2t_xrealloc(sh->profiles, (size_t)(sh->n_profiles + 1) * sizeof *sh->profiles);
            slot = &sh->profiles[sh->n_profiles++];
        }
        *slot = cur;
        snprintf(slot->name, sizeof slot->name, "%s", name);
        describe(slot, desc, sizeof desc);
        k2t_printf(sh, "saved profile %s: %s\n", name, desc);
        return K2T_CMD_OK;
    }
    if (argc > 2) return k2t_error(sh, 2, "profile: unexpected argument '%s'", argv[2]);
    const k2t_profile *p = k2t_profile_find(sh, argv[1]);
    char dym[96];
    if (!p) return k2t_error(sh, 1, "profile: unknown profile '%s' (%s\"profile list\" lists them)", argv[1],
                             profile_dym(sh, argv[1], dym, sizeof dym));
    apply(sh, p);
    k2t_profile_current(sh, &cur);
    describe(&cur, desc, sizeof desc);
    k2t_printf(sh, "profile %s: %s\n", p->name, desc);
    return K2T_CMD_OK;
}

static void complete_profile(k2t_shell *sh, int argi, char **argv, const char *prefix, k2t_strlist *out)
{
    (void)argv;
    if (argi != 1) return;
    k2t_complete_words("list save keras torch torch-naive", prefix, out);
    for (int i = 0; i < sh->n_profiles; i++)
        if (!strncmp(sh->profiles[i].name, prefix, strlen(prefix))) k2t_strlist_add(out, sh->profiles[i].name);
}

/*----------------------------------------------------------------- diff */

/* Each setting where A and B differ, alone: A with only that setting of B,
** measured on the current input (accuracy too when it has labels), ranked
** by what it costs, so that the fix that matters most comes first. */
static void effects(k2t_shell *sh, const k2t_profile *pa, const k2t_profile *pb)
{
    struct { k2t_pit p; k2t_measure r; double d; } e[K2T_PIT_COUNT];
    k2t_measure ma;
    int n = 0;
    for (int t = 0; t < K2T_PIT_COUNT; t++)
        if (k2t_pitfalls[t].key && !k2t_emu_same(&pa->emu, &pb->emu, (k2t_pit)t)) n++;
    if (n < 2 && !sh->in.labels) return; /* one setting: the diff above is its effect */
    if (k2t_shell_measure(sh, &pa->emu, &ma) != K2T_CMD_OK) return;
    n = 0;
    for (int t = 0; t < K2T_PIT_COUNT; t++) {
        if (!k2t_pitfalls[t].key || k2t_emu_same(&pa->emu, &pb->emu, (k2t_pit)t)) continue;
        k2t_emu one = pa->emu;
        if (t == K2T_PIT_BN_EPS) one.bn_eps = pb->emu.bn_eps;
        else *(int *)(void *)((char *)&one + k2t_pitfalls[t].field) = k2t_emu_int(&pb->emu, (k2t_pit)t);
        if (k2t_shell_measure(sh, &one, &e[n].r) != K2T_CMD_OK) break;
        e[n].p = (k2t_pit)t;
        e[n].d = k2t_measure_diff(&ma, &e[n].r);
        n++;
    }
    /* Rank: the most images lost first, then the largest move of the output. */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0; j--) {
            int lj = e[j].r.correct, lk = e[j - 1].r.correct;
            if (lj < lk || (lj == lk && e[j].d > e[j - 1].d)) {
                __typeof__(e[0]) tmp = e[j];
                e[j] = e[j - 1];
                e[j - 1] = tmp;
            } else {
                break;
            }
        }
    k2t_printf(sh, "each setting alone (A with only that setting of B), the costliest first:\n");
    for (int i = 0; i < n; i++) {
        char v[64];
        const k2t_pitfall *P = &k2t_pitfalls[e[i].p];
        k2t_emu_value(&pb->emu, e[i].p, v, sizeof v);
        k2t_printf(sh, "  %s:", P->topic);
        if (ma.labelled) k2t_printf(sh, " %d/%d -> %d/%d,", ma.correct, ma.n, e[i].r.correct, e[i].r.n);
        k2t_printf(sh, " output moved by up to %.3g (%s %s)\n", e[i].d, P->key, v);
        k2t_measure_free(&e[i].r);
    }
    if (n) k2t_var_set(sh, "costliest_setting", "%s", k2t_pitfalls[e[0].p].key);
    k2t_measure_free(&ma);
}

static void index_str(const k2t_shape *s, int64_t flat, char *buf, size_t n)
{
    int64_t idx[K2T_MAX_DIMS];
    for (int d = s->ndim - 1; d >= 0; d--) {
        idx[d] = s->d[d] ? flat % s->d[d] : 0;
        flat = s->d[d] ? flat / s->d[d] : 0;
    }
    size_t w = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < s->ndim && w < n; d++) w += (size_t)snprintf(buf + w, n - w, "%s%lld", d ? "," : "", (long long)idx[d]);
    if (w < n) snprintf(buf + w, n - w, "]");
}

static int cmd_diff(k2t_shell *sh, int argc, char **argv)
{
    const k2t_model *m = sh->model;
    k2t_err err = {0};
    int isolated = 0;
    const char *names[2] = {NULL, NULL};
    int nn = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--isolated")) isolated = 1;
        else if (argv[i][0] == '-') return k2t_error(sh, i, "diff: unknown option '%s' (--isolated)", argv[i]);
        else if (nn < 2) names[nn++] = argv[i];
        else return k2t_error(sh, i, "diff: at most two profiles");
    }
    k2t_profile pa, pb, cur;
    k2t_profile_current(sh, &cur);
    const k2t_profile *fa = names[0] ? k2t_profile_find(sh, names[0]) : k2t_profile_find(sh, "keras");
    if (names[0] && !strcmp(names[0], "current")) fa = &cur;
    char dym[96];
    if (!fa) return k2t_error(sh, 1, "diff: unknown profile '%s' (%s\"profile list\" lists them)", names[0],
                              profile_dym(sh, names[0], dym, sizeof dym));
    const k2t_profile *fb = names[1] && strcmp(names[1], "current") ? k2t_profile_find(sh, names[1]) : &cur;
    if (!fb) return k2t_error(sh, 2, "diff: unknown profile '%s' (%s\"profile list\" lists them)", names[1],
                              profile_dym(sh, names[1], dym, sizeof dym));
    pa = *fa, pb = *fb;
    if (!pa.with_input) pa.emu.preprocess = sh->set.emu.preprocess;
    if (!pb.with_input) pb.emu.preprocess = sh->set.emu.preprocess;
    if (sh->in.n == 0)
        return k2t_error(sh, -1, "diff: no input (use \"input cifar FILE 0:4\", \"input random\" ...)");

    /* Both runs, on the same samples, each with its own preprocessing. */
    k2t_run *ra = NULL, *rb = NULL;
    k2t_opts oa, ob;
    k2t_profile_opts(sh, &pa, &oa, 1);
    k2t_profile_opts(sh, &pb, &ob, 1);
    k2t_shape *per = k2t_xmalloc((size_t)(m->n_inputs + 1) * sizeof *per);
    int rc = K2T_CMD_OK;
    if (k2t_shell_input_shapes(sh, "diff", per) != K2T_CMD_OK) {
        free(per);
        return K2T_CMD_ERR;
    }
    ra = k2t_run_new(m, &oa, per, sh->in.n, &err);
    if (ra) rb = k2t_run_new(m, &ob, per, sh->in.n, &err);
    free(per);
    if (!ra || !rb) { rc = k2t_error(sh, -1, "diff: %s", err.msg); goto done; }
    if (k2t_shell_feed(sh, "diff", ra, &pa.emu) != K2T_CMD_OK || k2t_shell_feed(sh, "diff", rb, &pb.emu) != K2T_CMD_OK) {
        rc = K2T_CMD_ERR;
        goto done;
    }
    if (k2t_run_nodes(ra, 0, m->n_nodes, &err) != K2T_OK ||
        (!isolated && k2t_run_nodes(rb, 0, m->n_nodes, &err) != K2T_OK)) {
        rc = k2t_error(sh, -1, "diff: %s", err.msg);
        goto done;
    }

    char da[256], db[256];
    describe(&pa, da, sizeof da);
    describe(&pb, db, sizeof db);
    int tab = k2t_format_table(sh);
    if (tab) {
        char line[700];
        snprintf(line, sizeof line, "diff%s: A = %s (%s)", isolated ? " --isolated" : "", names[0] ? names[0] : "keras", da);
        k2t_print_wrapped(sh, line, 0, 10, 0);
        snprintf(line, sizeof line, "      B = %s (%s)", names[1] ? names[1] : "current", db);
        k2t_print_wrapped(sh, line, 0, 10, 0);
        snprintf(line, sizeof line, "      %d sample%s; pass when max|a-b| <= %g + %g*max|a|", sh->in.n,
                 sh->in.n == 1 ? "" : "s", sh->set.diff_atol, sh->set.diff_rtol);
        k2t_print_wrapped(sh, line, 0, 10, 0);
    }
    int wn = 5;
    for (int i = 0; i < m->n_nodes; i++)
        if ((int)strlen(m->nodes[i].name) > wn) wn = (int)strlen(m->nodes[i].name);
    k2t_table t;
    k2t_table_init(&t, sh, 7);
    k2t_table_col(&t, 0, "#", K2T_COL_RIGHT, 4, 0);
    k2t_table_col(&t, 1, "layer", 0, wn, 12);
    k2t_table_col(&t, 2, "class", 0, 20, 10);
    k2t_table_col(&t, 3, "max|a-b|", K2T_COL_RIGHT, 11, 0);
    k2t_table_col(&t, 4, "max rel", K2T_COL_RIGHT, 11, 0);
    k2t_table_col(&t, 5, "worst at", K2T_COL_LATE, 16, 8);
    k2t_table_col(&t, 6, "", 0, 0, 4);
    char num[24], c3[160], c4[32];
    int first = -1, n_fail = 0;
    double out_diff = 0;
    int64_t maxn = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        int64_t q = k2t_shape_numel(k2t_run_keras_shape(ra, i));
        int64_t q2 = k2t_shape_numel(k2t_run_keras_shape(rb, i));
        if (q > maxn) maxn = q;
        if (q2 > maxn) maxn = q2;
    }
    float *ka = k2t_xmalloc((size_t)(maxn * sh->in.n + 1) * sizeof(float));
    float *kb = k2t_xmalloc((size_t)(maxn * sh->in.n + 1) * sizeof(float));
    int shapes_diverged = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const k2t_layer *L = k2t_node_layer(m, i);
        const k2t_shape *sa = k2t_run_keras_shape(ra, i), *sb = k2t_run_keras_shape(rb, i);
        int same_shape = sa->ndim == sb->ndim;
        for (int d = 0; same_shape && d < sa->ndim; d++) same_shape = sa->d[d] == sb->d[d];
        if (isolated && same_shape && !shapes_diverged) {
            /* Feed B this layer's inputs as A computed them, then run it alone. */
            const k2t_node *N = &m->nodes[i];
            int ok = 1;
            for (int j = 0; j < N->n_in && ok; j++) {
                k2t_run_keras(ra, N->in[j], 0, ka, &err);
                ok = k2t_run_inject(rb, N->in[j], ka, &err) == K2T_OK;
            }
            if (L->op != K2T_OP_INPUT && (!ok || k2t_run_nodes(rb, i, i + 1, &err) != K2T_OK)) {
                rc = k2t_error(sh, -1, "diff: %s", err.msg);
                break;
            }
        }
        char s1[64], s2[64];
        if (!same_shape) {
            k2t_shape fa_ = *sa, fb_ = *sb;
            snprintf(num, sizeof num, "%d", i);
            snprintf(c3, sizeof c3, "shape %s vs %s", k2t_shape_str(&fa_, 0, s1, sizeof s1), k2t_shape_str(&fb_, 0, s2, sizeof s2));
            const char *cells[7] = {num, m->nodes[i].name, L->class_name, c3, "", "", "FAIL"};
            k2t_table_row(&t, cells);
            n_fail++;
            if (first < 0) first = i;
            shapes_diverged = 1;
            continue;
        }
        if ((isolated && shapes_diverged) || k2t_run_keras(ra, i, 0, ka, &err) != K2T_OK ||
            k2t_run_keras(rb, i, 0, kb, &err) != K2T_OK) {
            snprintf(num, sizeof num, "%d", i);
            const char *cells[7] = {num, m->nodes[i].name, L->class_name, "(not compared)", "", "", ""};
            k2t_table_row(&t, cells);
            continue;
        }
        int64_t cnt = k2t_shape_numel(sa) * sh->in.n, worst = 0;
        double mad = 0, ref = 0;
        for (int64_t k = 0; k < cnt; k++) {
            double d = fabs((double)ka[k] - (double)kb[k]);
            if (!(d <= mad)) { mad = d; worst = k; } /* NaN counts as worst */
            if (fabs(ka[k]) > ref) ref = fabs(ka[k]);
        }
        int pass = mad <= sh->set.diff_atol + sh->set.diff_rtol * ref;
        k2t_shape full = *sa;
        for (int d = full.ndim; d > 0; d--) full.d[d] = full.d[d - 1];
        full.d[0] = sh->in.n;
        full.ndim++;
        char where[64];
        index_str(&full, worst, where, sizeof where);
        char st[48];
        snprintf(num, sizeof num, "%d", i);
        snprintf(c3, sizeof c3, "%.4g", mad);
        snprintf(c4, sizeof c4, "%.4g", ref > 0 ? mad / ref : mad);
        snprintf(st, sizeof st, "%s%s%s", pass ? "" : k2t_c_warn(sh), pass ? "ok" : "FAIL", pass ? "" : k2t_c_off(sh));
        const char *cells[7] = {num, m->nodes[i].name, L->class_name, c3, c4, mad > 0 ? where : "-", st};
        k2t_table_row(&t, cells);
        if (!pass) {
            n_fail++;
            if (first < 0) first = i;
        }
        if (m->nodes[i].is_output && mad > out_diff) out_diff = mad;
    }
    free(ka);
    free(kb);
    k2t_table_print(&t);
    if (rc != K2T_CMD_OK) goto done;
    k2t_var_num(sh, "max_abs_diff", out_diff);
    k2t_var_num(sh, "failed_layers", n_fail);
    if (first < 0) {
        if (tab) k2t_printf(sh, "no divergence: every layer within tolerance (max |a-b| at the output %g)\n", out_diff);
        k2t_var_set(sh, "first_divergence", "none");
    } else {
        const k2t_layer *L = k2t_node_layer(m, first);
        k2t_var_set(sh, "first_divergence", "%s", m->nodes[first].name);
        if (!tab) goto done;
        k2t_printf(sh, "%sfirst divergence: %s (%s)%s\n", k2t_c_bold(sh), m->nodes[first].name, L->class_name,
                   k2t_c_off(sh));
        k2t_emu ea = pa.emu, eb = pb.emu;
        k2t_shell_layer_emu(sh, &pa, first, &ea);
        k2t_shell_layer_emu(sh, &pb, first, &eb);
        if (!k2t_shell_why(sh, first, &ea, &eb))
            k2t_printf(sh, "  why: no setting explains it (the settings that differ: A %s; B %s)\n", da, db);
        k2t_printf(sh, "%d layer%s out of tolerance; max |a-b| at the output %g\n", n_fail, n_fail == 1 ? "" : "s",
                   out_diff);
        k2t_var_set(sh, "first_divergence", "%s", m->nodes[first].name);
        effects(sh, &pa, &pb);
    }
done:
    k2t_run_free(ra);
    k2t_run_free(rb);
    return rc;
}

static void complete_diff(k2t_shell *sh, int argi, char **argv, const char *prefix, k2t_strlist *out)
{
    (void)argv;
    if (argi > 3) return;
    k2t_complete_words("keras torch torch-naive current --isolated", prefix, out);
    for (int i = 0; i < sh->n_profiles; i++)
        if (!strncmp(sh->profiles[i].name, prefix, strlen(prefix))) k2t_strlist_add(out, sh->profiles[i].name);
}

const k2t_command k2t_cmd_profile = {
    .name = "profile", .group = "debug", .min_args = 0, .max_args = 2,
    .usage = "profile [NAME | save NAME | list]",
    .summary = "Switch the emulation settings to a named profile, save the current ones, or list them.",
    .help = "keras: faithful Keras semantics (the default).  torch: NCHW with PyTorch-layout weights and\n"
            "every fix (reproduces Keras).  torch-naive: NCHW, BN epsilon 1e-5, symmetric padding,\n"
            "CHW flatten: what a straightforward hand port computes.  Without NAME: which profile the\n"
            "current settings match.",
    .complete = complete_profile, .fn = cmd_profile,
};

const k2t_command k2t_cmd_diff = {
    .name = "diff", .group = "debug", .min_args = 0, .max_args = 3, .flags = K2T_NEEDS_MODEL | K2T_NEEDS_ARCH,
    .usage = "diff [A [B]] [--isolated]",
    .summary = "Run the input under two profiles and compare layer by layer, naming the first divergent layer and why.",
    .help = "A defaults to keras, B to the current settings (\"current\").  Per layer: max |a-b|,\n"
            "max relative difference, the worst element's index, and ok/FAIL against\n"
            "diff.atol + diff.rtol * max|a|.  B's tensors are mapped back to Keras's layout (flatten\n"
            "order included), so the divergence lands on the layer whose computation differs.\n"
            "--isolated feeds every layer of B the inputs A produced: each layer's own error,\n"
            "without accumulation.  When A and B differ in several settings (or the input has\n"
            "labels), each setting's own effect follows, the costliest first: the accuracy it\n"
            "costs on a labelled input (input cifar FILE) and how far it moves the output.\n"
            "Publishes $first_divergence, $max_abs_diff, $failed_layers, $costliest_setting.",
    .complete = complete_diff, .fn = cmd_diff,
};
