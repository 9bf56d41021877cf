/*
** debug.c -- gdb's execution control over the layers: step, next, continue,
** start, break, tbreak, delete, disable, enable, condition, where, restart,
** display, and the residual-block view:
** blocks, step block, shapes.
**
** The stepping run is the shell's kept run (sh->run, planned and fed by
** k2t_shell_prepare); sh->cursor is the next node of the topological order
** to execute, sh->model->n_nodes once everything ran.  Nothing is cached
** here: the blocks are found again by each command (a graph walk, cheap
** next to a layer), so a new model or input can never leave them stale.
** A run that was dropped (new model or settings) or whose input was
** replaced (it keeps its plan and buffers, k2t_run_reset) means the cursor
** is back at 0.
**
** A breakpoint stops before the layers it names; one with a condition
** (nan, diff > X) is checked after each layer runs, so with one enabled,
** continue, start and step go one layer at a time.  "diff" compares with a
** twin run under Keras's semantics (sh->twin) executed alongside, up to the
** node being checked, and dropped whenever the kept run is.
**
** Shapes are printed with the batch first, in the run's layout (NCHW
** after "set layout nchw"), as "(1, 32, 32, 16)" everywhere in this file.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "shell.h"

/*---------------------------------------------------------------- helpers */

/* "(1, 32, 32, 16)"; a 1-tuple as Python writes it, "(10,)". */
static char *shape_str(const k2t_shape *s, char *buf, size_t n)
{
    size_t w = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < s->ndim && w < n; i++) {
        if (s->d[i] < 0) w += (size_t)snprintf(buf + w, n - w, "%sNone", i ? ", " : "");
        else w += (size_t)snprintf(buf + w, n - w, "%s%lld", i ? ", " : "", (long long)s->d[i]);
    }
    if (w < n) snprintf(buf + w, n - w, "%s)", s->ndim == 1 ? "," : "");
    return buf;
}

/* The cursor that holds: 0 when there is no run (never started, or the run
** was dropped since). */
static int cursor_of(const k2t_shell *sh)
{
    if (!k2t_shell_has_run(sh)) return 0; /* dropped, or its input replaced */
    if (sh->cursor < 0) return 0;
    return sh->cursor > sh->model->n_nodes ? sh->model->n_nodes : sh->cursor;
}

/* Node i's output, or NULL when it has not run. */
static const k2t_tensor *output_of(const k2t_shell *sh, int node)
{
    if (!sh->run || node < 0 || node >= sh->model->n_nodes) return NULL;
    return k2t_run_output(sh->run, node);
}

/* "conv2d_3 (Conv2D)  (1, 32, 16, 16)  min -1.2 max 3.4 mean 0.1 std 0.5": node
** i's output shape and, with 'stats', its statistics over the whole batch. */
static void print_tensor(k2t_shell *sh, int node, int stats)
{
    const k2t_model *m = sh->model;
    const k2t_tensor *t = output_of(sh, node);
    char s1[160];
    k2t_printf(sh, "%s (%s)", m->nodes[node].name, k2t_node_layer(m, node)->class_name);
    if (!t) {
        k2t_printf(sh, "  (not kept)\n");
        return;
    }
    k2t_printf(sh, "  %s", shape_str(&t->shape, s1, sizeof s1));
    if (stats) {
        int64_t n = k2t_shape_numel(&t->shape), bad = 0, good = 0;
        double mn = INFINITY, mx = -INFINITY, sum = 0, sq = 0;
        for (int64_t i = 0; i < n; i++) {
            double v = t->data[i];
            if (!isfinite(v)) { bad++; continue; }
            if (v < mn) mn = v;
            if (v > mx) mx = v;
            sum += v;
            good++;
        }
        double mean = good ? sum / (double)good : 0;
        for (int64_t i = 0; i < n; i++) {
            double v = t->data[i];
            if (isfinite(v)) sq += (v - mean) * (v - mean);
        }
        if (good)
            k2t_printf(sh, "  min %g max %g mean %g std %g", mn, mx, mean, sqrt(sq / (double)good));
        if (bad) k2t_printf(sh, "  nan/inf %lld", (long long)bad);
    }
    k2t_printf(sh, "\n");
}

/* One executed layer: "  11  conv2d_3 (Conv2D)  (1, 32, 16, 16)  min ..." */
static void print_layer(k2t_shell *sh, int node)
{
    k2t_printf(sh, "%4d  ", node);
    print_tensor(sh, node, 1);
}

/*----------------------------------------------------------------- blocks */

typedef struct blocks {
    k2t_block *b;
    int n;
    int stem_end;   /* first node of the earliest block (n_nodes without blocks) */
    int head_start; /* one past the last node of the latest block (n_nodes without blocks) */
} blocks;

static void blocks_find(const k2t_model *m, blocks *B)
{
    B->n = k2t_find_blocks(m, &B->b);
    B->stem_end = B->head_start = m->n_nodes;
    if (B->n) {
        B->stem_end = B->b[0].first;
        B->head_start = 0;
        for (int k = 0; k < B->n; k++) {
            if (B->b[k].first < B->stem_end) B->stem_end = B->b[k].first;
            if (B->b[k].last + 1 > B->head_start) B->head_start = B->b[k].last + 1;
        }
    }
}

static void blocks_free(blocks *B)
{
    k2t_blocks_free(B->b, B->n);
    B->b = NULL;
    B->n = 0;
}

/* Position of 'node' within block k (1-based), or 0. */
static int index_in_block(const k2t_block *b, int node)
{
    for (int i = 0; i < b->n_nodes; i++)
        if (b->nodes[i] == node) return i + 1;
    return 0;
}

/* Where node i sits: "stem (layer 2 of 4)", "block 2 (layer 1 of 8)",
** "head (layer 1 of 3)", "between blocks 1 and 2". */
static char *section_str(const k2t_model *m, const blocks *B, int node, char *buf, size_t n)
{
    if (B->n == 0) {
        snprintf(buf, n, "no residual blocks (layer %d of %d)", node + 1, m->n_nodes);
        return buf;
    }
    int k = k2t_block_of(B->b, B->n, node);
    if (k >= 0)
        snprintf(buf, n, "block %d (layer %d of %d)", k + 1, index_in_block(&B->b[k], node), B->b[k].n_nodes);
    else if (node < B->stem_end)
        snprintf(buf, n, "stem (layer %d of %d)", node + 1, B->stem_end);
    else if (node >= B->head_start)
        snprintf(buf, n, "head (layer %d of %d)", node - B->head_start + 1, m->n_nodes - B->head_start);
    else {
        /* Outside every block, between the stem and the head. */
        int before = 0;
        for (int j = 0; j < B->n; j++)
            if (B->b[j].last < node && j + 1 > before) before = j + 1;
        if (before < B->n) snprintf(buf, n, "between blocks %d and %d", before, before + 1);
        else snprintf(buf, n, "after block %d", before);
    }
    return buf;
}

/* "cursor: node 11 conv2d_3 (Conv2D), block 2 (layer 1 of 8)", or the end. */
static void print_cursor(k2t_shell *sh, const blocks *B)
{
    const k2t_model *m = sh->model;
    int c = cursor_of(sh);
    char sec[96];
    if (c >= m->n_nodes) {
        k2t_printf(sh, "end of the model: %d of %d layers ran\n", m->n_nodes, m->n_nodes);
    } else {
        k2t_printf(sh, "cursor: node %d %s (%s), %s\n", c, m->nodes[c].name, k2t_node_layer(m, c)->class_name,
                   section_str(m, B, c, sec, sizeof sec));
    }
    k2t_var_num(sh, "cursor", c);
}

/* At every stop: what "display" asks for, about the last executed layer. */
static void print_display(k2t_shell *sh)
{
    int last = cursor_of(sh) - 1;
    if (!sh->display || last < 0) return;
    k2t_printf(sh, "display: ");
    print_tensor(sh, last, sh->display == 2);
}

/* Make sure the stepping run exists: plan and feed it when there is none or
** the cursor is back at 0.  Returns K2T_CMD_*. */
static int ready(k2t_shell *sh, const char *cmd)
{
    if (k2t_shell_has_run(sh) && sh->cursor > 0) return K2T_CMD_OK;
    int was = sh->cursor;
    int rc = k2t_shell_prepare(sh, cmd);
    if (rc != K2T_CMD_OK) return rc;
    if (was > 0 && was < sh->model->n_nodes)
        k2t_printf(sh, "note: the model, input or settings changed: the kept run is dropped; stepping restarts "
                   "at node 0 (the cursor was at node %d)\n", was);
    return K2T_CMD_OK;
}

/* Execute nodes [from, to); on failure the cursor goes back to 0 (the run's
** state is no longer one the cursor describes). */
static int exec_range(k2t_shell *sh, const char *cmd, int from, int to)
{
    k2t_err err = {0};
    if (from >= to) return K2T_CMD_OK;
    if (k2t_run_nodes(sh->run, from, to, &err) != K2T_OK) {
        sh->cursor = 0;
        k2t_var_num(sh, "cursor", 0);
        return k2t_error(sh, -1, "%s: %s (the cursor is back at node 0)", cmd, err.msg);
    }
    sh->cursor = to;
    return K2T_CMD_OK;
}

/* "1 layer (node 24)", "7 layers (nodes 4..10)" for [from, to). */
static char *ran_str(int from, int to, char *buf, size_t n)
{
    if (to - from == 1) snprintf(buf, n, "1 layer (node %d)", from);
    else snprintf(buf, n, "%d layers (nodes %d..%d)", to - from, from, to - 1);
    return buf;
}

static int at_end_error(k2t_shell *sh, const char *cmd)
{
    return k2t_error(sh, -1, "%s: at the end of the model (all %d layers ran); \"restart\" starts over",
                     cmd, sh->model->n_nodes);
}

/*------------------------------------------------------------------- step */

/* "  before add_1: conv2d_5 (1, 16, 16, 32) + batch_normalization_4 (1, 16, 16, 32)" */
static void print_operands(k2t_shell *sh, int merge)
{
    const k2t_model *m = sh->model;
    const k2t_node *M = &m->nodes[merge];
    char s1[160];
    int ran;
    k2t_printf(sh, "  before %s:", M->name);
    for (int j = 0; j < M->n_in; j++) {
        k2t_shape s = k2t_shell_node_shape(sh, M->in[j], &ran);
        k2t_printf(sh, "%s %s %s", j ? " +" : "", m->nodes[M->in[j]].name, shape_str(&s, s1, sizeof s1));
    }
    k2t_printf(sh, "\n");
}

/*------------------------------------------------------ conditions */

/* Any enabled breakpoint with a condition? (Then execution goes one layer
** at a time and each layer's output is looked at.) */
static int any_cond(const k2t_shell *sh)
{
    for (int j = 0; j < sh->n_breaks; j++)
        if (!sh->breaks[j].disabled && sh->breaks[j].cond != K2T_COND_NONE) return 1;
    return 0;
}

/* Run the Keras-semantics twin (the profile keras, the current input and
** preprocessing: what diff compares with by default) up to node 'to'. */
static int twin_to(k2t_shell *sh, const char *cmd, int to)
{
    const k2t_model *m = sh->model;
    k2t_err err = {0};
    if (!sh->twin) {
        k2t_profile pa = *k2t_profile_find(sh, "keras");
        if (!pa.with_input) pa.emu.preprocess = sh->set.emu.preprocess;
        k2t_shape *per = k2t_xmalloc((size_t)(m->n_inputs + 1) * sizeof *per);
        if (k2t_shell_input_shapes(sh, cmd, per) != K2T_CMD_OK) {
            free(per);
            return K2T_CMD_ERR;
        }
        k2t_opts o;
        k2t_profile_opts(sh, &pa, &o, 1);
        sh->twin = k2t_run_new(m, &o, per, sh->in.n, &err);
        free(per);
        if (!sh->twin) return k2t_error(sh, -1, "%s: break diff: %s", cmd, err.msg);
        if (k2t_shell_feed(sh, cmd, sh->twin, &pa.emu) != K2T_CMD_OK) {
            k2t_run_free(sh->twin);
            sh->twin = NULL;
            return K2T_CMD_ERR;
        }
        sh->twin_cursor = 0;
    }
    if (sh->twin_cursor < to) {
        if (k2t_run_nodes(sh->twin, sh->twin_cursor, to, &err) != K2T_OK)
            return k2t_error(sh, -1, "%s: break diff: the Keras run: %s", cmd, err.msg);
        sh->twin_cursor = to;
    }
    return K2T_CMD_OK;
}

/* max |keras - current| at node i over the whole batch, in Keras's layout
** (as diff computes it: a NaN counts as the worst, a shape that differs as
** infinite).  K2T_CMD_*. */
static int node_diff(k2t_shell *sh, const char *cmd, int node, double *mad)
{
    int rc = twin_to(sh, cmd, node + 1);
    if (rc != K2T_CMD_OK) return rc;
    const k2t_shape *sa = k2t_run_keras_shape(sh->twin, node), *sb = k2t_run_keras_shape(sh->run, node);
    int same = sa->ndim == sb->ndim;
    for (int k = 0; same && k < sa->ndim; k++) same = sa->d[k] == sb->d[k];
    *mad = INFINITY;
    if (!same) return K2T_CMD_OK;
    int64_t cnt = k2t_shape_numel(sa) * sh->in.n;
    float *ka = k2t_xmalloc((size_t)(cnt + 1) * sizeof(float)), *kb = k2t_xmalloc((size_t)(cnt + 1) * sizeof(float));
    k2t_err err = {0};
    if (k2t_run_keras(sh->twin, node, 0, ka, &err) != K2T_OK || k2t_run_keras(sh->run, node, 0, kb, &err) != K2T_OK) {
        free(ka);
        free(kb);
        return k2t_error(sh, -1, "%s: break diff: %s", cmd, err.msg);
    }
    double d = 0;
    for (int64_t k = 0; k < cnt; k++) {
        double v = fabs((double)ka[k] - (double)kb[k]);
        if (!(v <= d)) d = v;
    }
    free(ka);
    free(kb);
    *mad = d;
    return K2T_CMD_OK;
}

/* Does breakpoint b's condition hold after node i ran?  *value: the count
** of NaN/Inf values, or max|diff|. */
static int cond_holds(k2t_shell *sh, const char *cmd, const k2t_break *b, int node, double *value, int *rc)
{
    *rc = K2T_CMD_OK;
    if (b->cond == K2T_COND_NAN) {
        const k2t_tensor *t = output_of(sh, node);
        int64_t n = t ? k2t_shape_numel(&t->shape) : 0, bad = 0;
        for (int64_t k = 0; k < n; k++) bad += !isfinite(t->data[k]);
        *value = (double)bad;
        return bad > 0;
    }
    *rc = node_diff(sh, cmd, node, value);
    return *rc == K2T_CMD_OK && !(*value <= b->cond_value);
}

/* Delete breakpoint j (index into sh->breaks). */
static void break_remove(k2t_shell *sh, int j)
{
    memmove(&sh->breaks[j], &sh->breaks[j + 1], (size_t)(sh->n_breaks - j - 1) * sizeof *sh->breaks);
    sh->n_breaks--;
}

/* A stop: count a hit on every enabled breakpoint in 'hit' (marked), and
** delete the temporary ones among them. */
static void count_hits(k2t_shell *sh, const char *hit)
{
    for (int j = 0; j < sh->n_breaks; j++)
        if (hit[j]) sh->breaks[j].hits++;
    for (int j = sh->n_breaks - 1; j >= 0; j--)
        if (hit[j] && sh->breaks[j].temporary) break_remove(sh, j);
}

/* "breakpoint 2 (diff > 0.001) at conv2d_3 (Conv2D), node 11: max|diff| 0.0213" */
static void report_cond(k2t_shell *sh, const k2t_break *b, int node, double value)
{
    const k2t_model *m = sh->model;
    char cond[64];
    k2t_break_cond_str(b, cond, sizeof cond);
    k2t_printf(sh, "%sbreakpoint %d (%s%s%s) at %s (%s), node %d: ", b->temporary ? "temporary " : "", b->id,
               b->what[0] ? b->what : "", b->what[0] ? " if " : "", cond, m->nodes[node].name,
               k2t_node_layer(m, node)->class_name, node);
    if (b->cond == K2T_COND_NAN) {
        const k2t_tensor *t = output_of(sh, node);
        k2t_printf(sh, "%.0f of %lld output values are NaN or Inf\n", value,
                   (long long)(t ? k2t_shape_numel(&t->shape) : 0));
    } else {
        k2t_printf(sh, "max|diff| %.4g\n", value);
    }
    k2t_var_num(sh, "break_value", value);
    k2t_var_set(sh, "break_layer", "%s", m->nodes[node].name);
}

/* Does an enabled unconditional breakpoint stop before node i? */
static int loc_stop(const k2t_shell *sh, int node)
{
    for (int j = 0; j < sh->n_breaks; j++) {
        const k2t_break *b = &sh->breaks[j];
        if (!b->disabled && b->cond == K2T_COND_NONE && k2t_break_matches(sh->model, b, node)) return 1;
    }
    return 0;
}

/* What stopped an advance. */
typedef struct stop_info {
    int before, after;      /* the node a breakpoint stopped before / a condition after; -1: none */
    k2t_break b;            /* the condition's breakpoint (a copy: a tbreak is deleted) */
    double value;           /* what its condition measured */
} stop_info;

/* Execute from the cursor toward node 'to', one layer at a time when a
** condition has to look at each output.  'show': print each layer (step);
** 'locs': stop before a layer an unconditional breakpoint names (not the
** one at the cursor: repeated continues go from stop to stop); every
** enabled condition is checked after each layer.  Before 'merge' (or
** never, -1) print its operands.  What stopped it goes to *st. */
static int advance(k2t_shell *sh, const char *cmd, int to, int merge, int show, int locs, stop_info *st)
{
    const k2t_model *m = sh->model;
    int c = cursor_of(sh), conds = any_cond(sh);
    st->before = st->after = -1;
    for (int i = c; i < to; i++) {
        if (locs && i > c && loc_stop(sh, i)) {
            st->before = i;
            return K2T_CMD_OK;
        }
        if (i == merge) print_operands(sh, i);
        /* Without conditions or output, one call runs up to the next stop. */
        int end = i + 1;
        if (!conds && !show) {
            end = to;
            for (int k = i + 1; locs && k < end; k++)
                if (loc_stop(sh, k)) end = k;
        }
        int rc = exec_range(sh, cmd, i, end);
        if (rc != K2T_CMD_OK) return rc;
        if (show) print_layer(sh, i);
        i = end - 1;
        if (!conds) continue;
        char *hit = k2t_xcalloc((size_t)sh->n_breaks + 1, 1);
        int first = -1;
        double first_v = 0;
        for (int j = 0; j < sh->n_breaks; j++) {
            const k2t_break *b = &sh->breaks[j];
            if (b->disabled || b->cond == K2T_COND_NONE || !k2t_break_matches(m, b, i)) continue;
            double v;
            int crc;
            hit[j] = (char)cond_holds(sh, cmd, b, i, &v, &crc);
            if (crc != K2T_CMD_OK) {
                free(hit);
                return crc;
            }
            if (hit[j] && first < 0) first = j, first_v = v;
        }
        if (first >= 0) {
            st->b = sh->breaks[first];
            st->value = first_v;
            count_hits(sh, hit);
            free(hit);
            st->after = i;
            return K2T_CMD_OK;
        }
        free(hit);
    }
    return K2T_CMD_OK;
}

/* Step one layer at a time through [cursor, to), printing each; before
** 'merge' (or never, -1) print its operands.  A condition that holds stops
** it early, and says so. */
static int step_to(k2t_shell *sh, const char *cmd, int to, int merge)
{
    stop_info st;
    int rc = advance(sh, cmd, to, merge, 1, 0, &st);
    if (rc == K2T_CMD_OK && st.after >= 0) report_cond(sh, &st.b, st.after, st.value);
    return rc;
}

static int step_block(k2t_shell *sh, int argc, char **argv)
{
    const k2t_model *m = sh->model;
    if (argc != 3) return k2t_error(sh, -1, "step block: which block? Usage: step block N");
    char *end;
    long k = strtol(argv[2], &end, 10);
    if (!*argv[2] || *end || k < 1)
        return k2t_error(sh, 2, "step block: N must be a block number from 1, got '%s'", argv[2]);
    blocks B;
    blocks_find(m, &B);
    if (k > B.n) {
        int n = B.n;
        blocks_free(&B);
        return k2t_error(sh, 2, "step block %s: the model has %d residual block%s", argv[2], n, n == 1 ? "" : "s");
    }
    const k2t_block *b = &B.b[k - 1];
    int c = cursor_of(sh);
    if (c > b->last) {
        int rc = k2t_error(sh, 2, "step block %ld: the cursor (node %d%s%s) is already past block %ld "
                           "(nodes %d..%d); \"restart\" starts over", k, c, c < m->n_nodes ? " " : ", the end",
                           c < m->n_nodes ? m->nodes[c].name : "", k, b->first, b->last);
        blocks_free(&B);
        return rc;
    }
    int rc = ready(sh, "step");
    if (rc == K2T_CMD_OK) rc = step_to(sh, "step", b->last + 1, b->merge);
    if (rc == K2T_CMD_OK) {
        print_cursor(sh, &B);
        print_display(sh);
    }
    blocks_free(&B);
    return rc;
}

static int cmd_step(k2t_shell *sh, int argc, char **argv)
{
    const k2t_model *m = sh->model;
    if (argc > 1 && !strcmp(argv[1], "block")) return step_block(sh, argc, argv);
    if (argc > 2) return k2t_error(sh, 2, "step: unexpected argument '%s' (step [N] | step block N)", argv[2]);
    long n = 1;
    if (argc > 1) {
        char *end;
        n = strtol(argv[1], &end, 10);
        if (!*argv[1] || *end || n < 1)
            return k2t_error(sh, 1, "step: N must be a whole number from 1, got '%s' (or: step block N)", argv[1]);
    }
    int rc = ready(sh, "step");
    if (rc != K2T_CMD_OK) return rc;
    int c = cursor_of(sh);
    if (c >= m->n_nodes) return at_end_error(sh, "step");
    int to = n > m->n_nodes - c ? m->n_nodes : c + (int)n;
    rc = step_to(sh, "step", to, -1);
    if (rc != K2T_CMD_OK) return rc;
    blocks B;
    blocks_find(m, &B);
    print_cursor(sh, &B);
    print_display(sh);
    blocks_free(&B);
    return K2T_CMD_OK;
}

static void complete_step(k2t_shell *sh, int argi, char **argv, const char *prefix, k2t_strlist *out)
{
    if (argi == 1) {
        k2t_complete_words("block", prefix, out);
    } else if (argi == 2 && !strcmp(argv[1], "block") && sh->model && sh->model->has_arch) {
        blocks B;
        blocks_find(sh->model, &B);
        for (int k = 1; k <= B.n; k++) {
            char num[16];
            snprintf(num, sizeof num, "%d", k);
            if (!strncmp(num, prefix, strlen(prefix))) k2t_strlist_add(out, num);
        }
        blocks_free(&B);
    }
}

/*------------------------------------------------------------------- next */

static int cmd_next(k2t_shell *sh, int argc, char **argv)
{
    (void)argc, (void)argv;
    const k2t_model *m = sh->model;
    int rc = ready(sh, "next");
    if (rc != K2T_CMD_OK) return rc;
    int c = cursor_of(sh);
    if (c >= m->n_nodes) return at_end_error(sh, "next");
    blocks B;
    blocks_find(m, &B);
    char what[64];
    int to, k = B.n ? k2t_block_of(B.b, B.n, c) : -1;
    if (B.n == 0) {
        to = m->n_nodes;
        snprintf(what, sizeof what, "the model (no residual blocks)");
    } else if (k >= 0) {
        to = B.b[k].last + 1;
        snprintf(what, sizeof what, "%sblock %d", c > B.b[k].first ? "the rest of " : "", k + 1);
    } else if (c < B.stem_end) {
        to = B.stem_end;
        snprintf(what, sizeof what, "%sthe stem", c > 0 ? "the rest of " : "");
    } else if (c >= B.head_start) {
        to = m->n_nodes;
        snprintf(what, sizeof what, "%sthe head", c > B.head_start ? "the rest of " : "");
    } else {
        /* Between blocks: up to the next block that starts after the cursor. */
        to = m->n_nodes;
        for (int j = 0; j < B.n; j++)
            if (B.b[j].first > c && B.b[j].first < to) to = B.b[j].first;
        snprintf(what, sizeof what, "the layers up to the next block");
    }
    rc = exec_range(sh, "next", c, to);
    if (rc == K2T_CMD_OK) {
        char r[64];
        k2t_printf(sh, "ran %s: %s\n", what, ran_str(c, to, r, sizeof r));
        print_cursor(sh, &B);
        print_display(sh);
    }
    blocks_free(&B);
    return rc;
}

/*------------------------------------------------------------ breakpoints */

/* A location: a layer or node name, a Keras class of the model (any case:
** the model's spelling is kept), or "add".  0, or -1 reported. */
static int parse_where(k2t_shell *sh, const char *cmd, int argi, const char *name, char *what, size_t n)
{
    const k2t_model *m = sh->model;
    if (strlen(name) >= n) return k2t_error(sh, argi, "%s: name too long: '%.40s...'", cmd, name), -1;
    snprintf(what, n, "%s", name);
    if (!strcmp(what, "add") || k2t_find_node(m, what) >= 0 || k2t_find_layer(m, what) >= 0) return 0;
    for (int i = 0; i < m->n_layers; i++)
        if (!strcasecmp(m->layers[i].class_name, what)) {
            snprintf(what, n, "%s", m->layers[i].class_name);
            return 0;
        }
    if (k2t_arg_layer(sh, argi, what) < 0) return -1;
    return k2t_error(sh, argi, "%s: '%s' is not a layer, a class of the model, or add", cmd, what), -1;
}

/* Does argument 'w' start a condition (nan, inf, diff...)? */
static int is_cond_word(const char *w)
{
    return !strcasecmp(w, "nan") || !strcasecmp(w, "inf") || !strncasecmp(w, "diff", 4);
}

/* The condition in argv[a0..argc): "nan" (or "inf": a NaN or an Inf in the
** layer's output) or "diff > VALUE", spaces optional.  0, or -1 reported. */
static int parse_cond(k2t_shell *sh, const char *cmd, int argc, char **argv, int a0, k2t_break *b)
{
    char text[160] = "";
    size_t w = 0;
    for (int a = a0; a < argc && w < sizeof text; a++) w += (size_t)snprintf(text + w, sizeof text - w, "%s", argv[a]);
    if (!strcasecmp(text, "nan") || !strcasecmp(text, "inf")) {
        b->cond = K2T_COND_NAN;
        return 0;
    }
    if (!strncasecmp(text, "diff>", 5) && text[5]) {
        char *end;
        double v = strtod(text + 5, &end);
        if (!*end && isfinite(v) && v >= 0) {
            b->cond = K2T_COND_DIFF;
            b->cond_value = v;
            return 0;
        }
        return k2t_error(sh, a0, "%s: diff > VALUE takes a number from 0, got '%s'", cmd, text + 5), -1;
    }
    return k2t_error(sh, a0, "%s: unknown condition '%s' (nan, or diff > VALUE: max|keras - current|)", cmd, text), -1;
}

/* "if its output has a NaN or Inf", for messages. */
static void describe_cond(k2t_shell *sh, const k2t_break *b)
{
    if (b->cond == K2T_COND_NAN) k2t_printf(sh, "if its output has a NaN or Inf");
    else k2t_printf(sh, "if max|keras - current| > %g there (a Keras run goes alongside)", b->cond_value);
}

/* break and tbreak: "break LOCATION", "break COND", "break LOCATION if COND". */
static int set_break(k2t_shell *sh, int argc, char **argv, int temporary)
{
    const k2t_model *m = sh->model;
    const char *cmd = argv[0];
    k2t_break nb;
    memset(&nb, 0, sizeof nb);
    nb.temporary = temporary;
    int ifi = 0;
    for (int a = 2; a < argc && !ifi; a++)
        if (!strcmp(argv[a], "if")) ifi = a;
    if (ifi) {
        if (ifi != 2) return k2t_error(sh, 2, "%s: one layer, class or add before 'if', got '%s'", cmd, argv[2]);
        if (ifi + 1 >= argc) return k2t_error(sh, ifi, "%s: 'if' needs a condition (nan, or diff > VALUE)", cmd);
        if (parse_where(sh, cmd, 1, argv[1], nb.what, sizeof nb.what) < 0) return K2T_CMD_ERR;
        if (parse_cond(sh, cmd, argc, argv, ifi + 1, &nb) < 0) return K2T_CMD_ERR;
    } else if (argc == 2 && !(is_cond_word(argv[1]) && k2t_find_node(m, argv[1]) < 0 && k2t_find_layer(m, argv[1]) < 0)) {
        if (parse_where(sh, cmd, 1, argv[1], nb.what, sizeof nb.what) < 0) return K2T_CMD_ERR;
    } else {
        if (parse_cond(sh, cmd, argc, argv, 1, &nb) < 0) return K2T_CMD_ERR;
    }
    sh->breaks = k2t_xrealloc(sh->breaks, (size_t)(sh->n_breaks + 1) * sizeof *sh->breaks);
    k2t_break *b = &sh->breaks[sh->n_breaks++];
    *b = nb;
    b->id = ++sh->next_break_id;
    int n = k2t_break_count(m, b), first = -1;
    for (int i = 0; i < m->n_nodes && first < 0; i++)
        if (k2t_break_matches(m, b, i)) first = i;
    const char *kind = k2t_break_kind(m, b);
    k2t_printf(sh, "%sbreakpoint %d: ", temporary ? "temporary " : "", b->id);
    if (b->cond != K2T_COND_NONE) {
        if (!b->what[0]) k2t_printf(sh, "after any layer ");
        else if (n == 1) k2t_printf(sh, "after %s (%s), node %d, ", m->nodes[first].name,
                                    k2t_node_layer(m, first)->class_name, first);
        else k2t_printf(sh, "after every %s (%d layers), ",
                        !strcmp(kind, "class") ? b->what : !strcmp(kind, "layer") ? "call" : "merge", n);
        describe_cond(sh, b);
        k2t_printf(sh, "\n");
    } else if (n == 1)
        k2t_printf(sh, "before %s (%s), node %d\n", m->nodes[first].name, k2t_node_layer(m, first)->class_name, first);
    else if (!strcmp(kind, "layer"))
        k2t_printf(sh, "before every call of %s (%d nodes, the first node %d)\n", b->what, n, first);
    else
        k2t_printf(sh, "before every %s (%d layers, the first node %d)\n", !strcmp(kind, "class") ? b->what : "merge",
                   n, first);
    k2t_var_num(sh, "breakpoint", b->id);
    return K2T_CMD_OK;
}

static int cmd_break(k2t_shell *sh, int argc, char **argv)
{
    return set_break(sh, argc, argv, 0);
}

static int cmd_tbreak(k2t_shell *sh, int argc, char **argv)
{
    return set_break(sh, argc, argv, 1);
}

/* The index of breakpoint number argv[a] in sh->breaks, or -1 reported. */
static int break_arg(k2t_shell *sh, const char *cmd, int a, const char *arg)
{
    char *end;
    long id = strtol(arg, &end, 10);
    if (!*arg || *end || id < 1) return k2t_error(sh, a, "%s: N must be a breakpoint number, got '%s'", cmd, arg), -1;
    for (int i = 0; i < sh->n_breaks; i++)
        if (sh->breaks[i].id == id) return i;
    return k2t_error(sh, a, "%s: no breakpoint %s (\"info breakpoints\" lists them)", cmd, arg), -1;
}

/* disable and enable, gdb's way: no argument means every breakpoint. */
static int set_enabled(k2t_shell *sh, int argc, char **argv, int disabled)
{
    const char *verb = disabled ? "disabled" : "enabled";
    if (argc == 1) {
        for (int i = 0; i < sh->n_breaks; i++) sh->breaks[i].disabled = disabled;
        k2t_printf(sh, "%s %d breakpoint%s\n", verb, sh->n_breaks, sh->n_breaks == 1 ? "" : "s");
        return K2T_CMD_OK;
    }
    for (int a = 1; a < argc; a++) /* check every argument before changing any */
        if (break_arg(sh, argv[0], a, argv[a]) < 0) return K2T_CMD_ERR;
    for (int a = 1; a < argc; a++) {
        k2t_break *b = &sh->breaks[break_arg(sh, argv[0], a, argv[a])];
        b->disabled = disabled;
        k2t_printf(sh, "%s breakpoint %d\n", verb, b->id);
    }
    return K2T_CMD_OK;
}

static int cmd_disable(k2t_shell *sh, int argc, char **argv)
{
    return set_enabled(sh, argc, argv, 1);
}

static int cmd_enable(k2t_shell *sh, int argc, char **argv)
{
    return set_enabled(sh, argc, argv, 0);
}

/* condition N [COND]: set breakpoint N's condition, or clear it. */
static int cmd_condition(k2t_shell *sh, int argc, char **argv)
{
    int j = break_arg(sh, "condition", 1, argv[1]);
    if (j < 0) return K2T_CMD_ERR;
    k2t_break *b = &sh->breaks[j];
    if (argc == 2) {
        if (!b->what[0])
            return k2t_error(sh, 1, "condition: breakpoint %d names no layer, only its condition; \"delete %d\" "
                             "removes it", b->id, b->id);
        b->cond = K2T_COND_NONE;
        b->cond_value = 0;
        k2t_printf(sh, "breakpoint %d now unconditional: before %s\n", b->id, b->what);
        return K2T_CMD_OK;
    }
    k2t_break nb = *b;
    if (parse_cond(sh, "condition", argc, argv, 2, &nb) < 0) return K2T_CMD_ERR;
    *b = nb;
    char cond[64];
    k2t_printf(sh, "breakpoint %d: after %s if %s\n", b->id, b->what[0] ? b->what : "any layer",
               k2t_break_cond_str(b, cond, sizeof cond));
    return K2T_CMD_OK;
}

static void complete_classes(k2t_shell *sh, const char *prefix, k2t_strlist *out)
{
    const k2t_model *m = sh->model;
    size_t len = strlen(prefix);
    for (int i = 0; m && i < m->n_layers; i++)
        if (!strncmp(m->layers[i].class_name, prefix, len)) k2t_strlist_add(out, m->layers[i].class_name);
}

static void complete_break(k2t_shell *sh, int argi, char **argv, const char *prefix, k2t_strlist *out)
{
    if (argi == 1) {
        k2t_complete_words("add nan diff", prefix, out);
        k2t_complete_layers(sh, prefix, out);
        complete_classes(sh, prefix, out);
    } else if (argi == 2 && strcasecmp(argv[1], "diff") != 0 && strcasecmp(argv[1], "nan") != 0) {
        k2t_complete_words("if", prefix, out);
    } else if (argi == 3 && !strcmp(argv[2], "if")) {
        k2t_complete_words("nan diff", prefix, out);
    }
}

static int cmd_delete(k2t_shell *sh, int argc, char **argv)
{
    if (argc == 1) {
        int n = sh->n_breaks;
        sh->n_breaks = 0;
        k2t_printf(sh, "deleted %d breakpoint%s\n", n, n == 1 ? "" : "s");
        return K2T_CMD_OK;
    }
    for (int a = 1; a < argc; a++) /* check every argument before deleting any */
        if (break_arg(sh, "delete", a, argv[a]) < 0) return K2T_CMD_ERR;
    for (int a = 1; a < argc; a++) {
        long id = strtol(argv[a], NULL, 10);
        for (int i = 0; i < sh->n_breaks; i++)
            if (sh->breaks[i].id == id) {
                break_remove(sh, i);
                k2t_printf(sh, "deleted breakpoint %ld\n", id);
                break;
            }
    }
    return K2T_CMD_OK;
}

static void complete_delete(k2t_shell *sh, int argi, char **argv, const char *prefix, k2t_strlist *out)
{
    (void)argi, (void)argv;
    for (int i = 0; i < sh->n_breaks; i++) {
        char num[16];
        snprintf(num, sizeof num, "%d", sh->breaks[i].id);
        if (!strncmp(num, prefix, strlen(prefix))) k2t_strlist_add(out, num);
    }
}

static void complete_condition(k2t_shell *sh, int argi, char **argv, const char *prefix, k2t_strlist *out)
{
    if (argi == 1) complete_delete(sh, argi, argv, prefix, out);
    else if (argi == 2) k2t_complete_words("nan diff", prefix, out);
}

/*--------------------------------------------------------------- continue */

/* continue (and start, from node 0): to the next breakpoint or the end. */
static int cont(k2t_shell *sh, const char *cmd)
{
    const k2t_model *m = sh->model;
    int c = cursor_of(sh);
    if (c >= m->n_nodes) return at_end_error(sh, cmd);
    /* The node at the cursor runs even when a breakpoint names it. */
    stop_info st;
    int rc = advance(sh, cmd, m->n_nodes, -1, 0, 1, &st);
    if (rc != K2T_CMD_OK) return rc;
    char r[64];
    int stop = cursor_of(sh);
    k2t_printf(sh, "ran %s\n", ran_str(c, stop, r, sizeof r));
    blocks B;
    blocks_find(m, &B);
    if (st.after >= 0) {
        report_cond(sh, &st.b, st.after, st.value);
        print_cursor(sh, &B);
    } else if (st.before >= 0) {
        char sec[96], *hit = k2t_xcalloc((size_t)sh->n_breaks + 1, 1);
        int first = -1;
        for (int j = 0; j < sh->n_breaks; j++) {
            const k2t_break *b = &sh->breaks[j];
            hit[j] = !b->disabled && b->cond == K2T_COND_NONE && k2t_break_matches(m, b, stop);
            if (hit[j] && first < 0) first = j;
        }
        k2t_break shown = sh->breaks[first];
        count_hits(sh, hit);
        free(hit);
        k2t_printf(sh, "%sbreakpoint %d (%s), before node %d %s (%s), %s%s\n", shown.temporary ? "temporary " : "",
                   shown.id, shown.what, stop, m->nodes[stop].name, k2t_node_layer(m, stop)->class_name,
                   section_str(m, &B, stop, sec, sizeof sec), shown.temporary ? " (deleted)" : "");
        k2t_var_num(sh, "cursor", stop);
    } else {
        print_cursor(sh, &B);
    }
    print_display(sh);
    blocks_free(&B);
    return K2T_CMD_OK;
}

static int cmd_continue(k2t_shell *sh, int argc, char **argv)
{
    (void)argc, (void)argv;
    int rc = ready(sh, "continue");
    return rc != K2T_CMD_OK ? rc : cont(sh, "continue");
}

/* gdb's start: from the first layer again, to the first breakpoint. */
static int cmd_start(k2t_shell *sh, int argc, char **argv)
{
    (void)argc, (void)argv;
    int rc = k2t_shell_prepare(sh, "start");
    return rc != K2T_CMD_OK ? rc : cont(sh, "start");
}

/*------------------------------------------------------- where, restart */

static int cmd_where(k2t_shell *sh, int argc, char **argv)
{
    (void)argc, (void)argv;
    const k2t_model *m = sh->model;
    blocks B;
    blocks_find(m, &B);
    print_cursor(sh, &B);
    int last = cursor_of(sh) - 1;
    if (last < 0 || !output_of(sh, last)) {
        k2t_printf(sh, "nothing has run yet (step, next and continue start here)\n");
    } else {
        char sec[96], s1[160];
        int ran;
        k2t_shape s = k2t_shell_node_shape(sh, last, &ran);
        k2t_printf(sh, "last ran: node %d %s (%s), %s, output %s\n", last, m->nodes[last].name,
                   k2t_node_layer(m, last)->class_name, section_str(m, &B, last, sec, sizeof sec),
                   shape_str(&s, s1, sizeof s1));
    }
    blocks_free(&B);
    return K2T_CMD_OK;
}

static int cmd_restart(k2t_shell *sh, int argc, char **argv)
{
    (void)argc, (void)argv;
    int rc = k2t_shell_prepare(sh, "restart");
    if (rc != K2T_CMD_OK) return rc;
    k2t_printf(sh, "input fed again: %s\n", sh->in.desc);
    blocks B;
    blocks_find(sh->model, &B);
    print_cursor(sh, &B);
    blocks_free(&B);
    return K2T_CMD_OK;
}

/*---------------------------------------------------------------- display */

static int cmd_display(k2t_shell *sh, int argc, char **argv)
{
    static const char *const modes[] = {"off", "shapes", "stats"};
    if (argc > 1) {
        int i = 0;
        while (i < 3 && strcmp(argv[1], modes[i]) != 0) i++;
        if (i == 3) return k2t_error(sh, 1, "display: expected shapes, stats or off, got '%s'", argv[1]);
        sh->display = i;
    }
    k2t_printf(sh, "display: %s\n", modes[sh->display >= 0 && sh->display <= 2 ? sh->display : 0]);
    return K2T_CMD_OK;
}

static void complete_display(k2t_shell *sh, int argi, char **argv, const char *prefix, k2t_strlist *out)
{
    (void)sh, (void)argv;
    if (argi == 1) k2t_complete_words("shapes stats off", prefix, out);
}

/*---------------------------------------------------------- blocks, shapes */

/* "name, name, name" for nodes [from, to) that are in no block. */
static void print_names(k2t_shell *sh, const blocks *B, int from, int to)
{
    int k = 0;
    for (int i = from; i < to; i++)
        if (k2t_block_of(B->b, B->n, i) < 0) k2t_printf(sh, "%s%s", k++ ? ", " : "", sh->model->nodes[i].name);
    if (!k) k2t_printf(sh, "(none)");
    k2t_printf(sh, "\n");
}

static int cmd_blocks(k2t_shell *sh, int argc, char **argv)
{
    (void)argc, (void)argv;
    const k2t_model *m = sh->model;
    blocks B;
    blocks_find(m, &B);
    k2t_var_num(sh, "blocks", B.n);
    if (!B.n) {
        k2t_printf(sh, "no residual blocks (no merge whose branches fork from one layer)\n");
        blocks_free(&B);
        return K2T_CMD_OK;
    }
    k2t_printf(sh, "stem: ");
    print_names(sh, &B, 0, B.stem_end);
    for (int k = 0; k < B.n; k++) {
        const k2t_block *b = &B.b[k];
        k2t_printf(sh, "block %d: ", k + 1);
        for (int i = 0; i < b->n_nodes; i++) k2t_printf(sh, "%s%s", i ? ", " : "", m->nodes[b->nodes[i]].name);
        if (b->shortcut < 0) k2t_printf(sh, " (shortcut: identity)\n");
        else k2t_printf(sh, " (shortcut: projection %s)\n", m->nodes[b->shortcut].name);
    }
    /* Layers between the stem and the head that no block holds. */
    int others = 0;
    for (int i = B.stem_end; i < B.head_start; i++) others += k2t_block_of(B.b, B.n, i) < 0;
    if (others) {
        k2t_printf(sh, "outside the blocks: ");
        print_names(sh, &B, B.stem_end, B.head_start);
    }
    k2t_printf(sh, "head: ");
    print_names(sh, &B, B.head_start, m->n_nodes);
    k2t_printf(sh, "%d residual block%s\n", B.n, B.n == 1 ? "" : "s");
    blocks_free(&B);
    return K2T_CMD_OK;
}

static int same_shape(const k2t_shape *a, const k2t_shape *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->d[i] != b->d[i]) return 0;
    return 1;
}

static int cmd_shapes(k2t_shell *sh, int argc, char **argv)
{
    (void)argc, (void)argv;
    const k2t_model *m = sh->model;
    blocks B;
    blocks_find(m, &B);
    k2t_var_num(sh, "blocks", B.n);
    if (!B.n) {
        k2t_printf(sh, "no residual blocks: no residual additions to check\n");
        k2t_var_num(sh, "mismatches", 0);
        blocks_free(&B);
        return K2T_CMD_OK;
    }
    int bad = 0;
    char s1[160];
    k2t_printf(sh, "residual additions (%s, batch first):\n", sh->set.emu.layout == K2T_LAYOUT_NCHW ? "NCHW" : "NHWC");
    for (int k = 0; k < B.n; k++) {
        const k2t_node *M = &m->nodes[B.b[k].merge];
        const k2t_layer *L = &m->layers[M->layer];
        k2t_shape first = {0};
        int ran_all = 1, mismatch = 0, ran;
        k2t_printf(sh, "  block %d %s:", k + 1, M->name);
        for (int j = 0; j < M->n_in; j++) {
            k2t_shape s = k2t_shell_node_shape(sh, M->in[j], &ran);
            ran_all &= ran;
            if (j == 0) first = s;
            else if (!k2t_op_is_concat(L->op) && !same_shape(&first, &s)) mismatch = 1;
            k2t_printf(sh, "%s %s %s", j ? " +" : "", m->nodes[M->in[j]].name, shape_str(&s, s1, sizeof s1));
        }
        k2t_printf(sh, "  %s", ran_all ? "(ran)" : "(inferred)");
        if (mismatch) k2t_printf(sh, "  %sMISMATCH%s", k2t_c_warn(sh), k2t_c_off(sh));
        k2t_printf(sh, "\n");
        bad += mismatch;
    }
    if (bad) k2t_printf(sh, "%d of %d residual additions have operands of different shapes\n", bad, B.n);
    k2t_var_num(sh, "mismatches", bad);
    blocks_free(&B);
    return K2T_CMD_OK;
}

/*------------------------------------------------------------------ table */

#define DEBUG_FLAGS (K2T_NEEDS_MODEL | K2T_NEEDS_ARCH)

const k2t_command k2t_cmd_step = {
    .name = "step", .aliases = "s", .group = "debug", .min_args = 0, .max_args = 2, .flags = DEBUG_FLAGS,
    .usage = "step [N] | step block N",
    .summary = "Execute the next N layers (default 1), printing each one's output shape and statistics.",
    .help = "Each executed layer prints one line: node index, name (class), output shape in the\n"
            "run's layout with the batch first, and min, max, mean and std over the whole batch.\n"
            "The first step plans the run and feeds the current input.  step block N runs from the\n"
            "cursor to the end of residual block N (\"blocks\" numbers them), and just before the\n"
            "block's residual addition prints both operands with their shapes.  A breakpoint's\n"
            "condition that holds after a layer stops it early.",
    .complete = complete_step, .fn = cmd_step,
};

const k2t_command k2t_cmd_next = {
    .name = "next", .aliases = "n", .group = "debug", .min_args = 0, .max_args = 0, .flags = DEBUG_FLAGS,
    .usage = "next",
    .summary = "Execute to the end of the current section: the residual block at the cursor, the stem, or the head.",
    .help = "In a block: to its last layer (the activation after its addition).  In the stem: to\n"
            "the start of block 1.  In the head: to the end.  Breakpoints do not stop next.",
    .fn = cmd_next,
};

const k2t_command k2t_cmd_continue = {
    .name = "continue", .aliases = "c", .group = "debug", .min_args = 0, .max_args = 0, .flags = DEBUG_FLAGS,
    .usage = "continue",
    .summary = "Execute until just before a layer a breakpoint names, or to the end.",
    .help = "The layer at the cursor runs even when a breakpoint names it, so repeated continues\n"
            "go from one stop to the next.  A breakpoint with a condition (break nan, break diff > X)\n"
            "stops just after the first layer where it holds.",
    .fn = cmd_continue,
};

const k2t_command k2t_cmd_start = {
    .name = "start", .group = "debug", .min_args = 0, .max_args = 0, .flags = DEBUG_FLAGS,
    .usage = "start",
    .summary = "Feed the input again and execute from the first layer to the first breakpoint, or to the end.",
    .help = "gdb's start: restart then continue.  run, by contrast, executes every layer and\n"
            "ignores breakpoints.",
    .fn = cmd_start,
};

const k2t_command k2t_cmd_break = {
    .name = "break", .aliases = "b", .group = "debug", .min_args = 1, .max_args = -1, .flags = DEBUG_FLAGS,
    .usage = "break LAYER|CLASS|add [if COND] | break COND",
    .summary = "Set a breakpoint before a layer, a Keras class or every merge, or on a condition of a layer's output.",
    .help = "Examples: break conv2d_3, break BatchNormalization, break add (every Add, Concatenate\n"
            "and other merge).  continue stops before the first such layer after the cursor.\n"
            "A condition is checked after each layer runs (continue and step): break nan stops after\n"
            "the first layer whose output has a NaN or Inf; break diff > 1e-3 after the first layer\n"
            "whose max|keras - current settings| exceeds 1e-3 (a Keras run goes alongside, as diff\n"
            "compares); break conv2d_3 if nan only there.  The stop names the layer and the value\n"
            "($break_layer, $break_value).  \"info breakpoints\" lists them; delete, disable, enable\n"
            "and condition change them; run ignores them.",
    .complete = complete_break, .fn = cmd_break,
};

const k2t_command k2t_cmd_tbreak = {
    .name = "tbreak", .group = "debug", .min_args = 1, .max_args = -1, .flags = DEBUG_FLAGS,
    .usage = "tbreak LAYER|CLASS|add [if COND] | tbreak COND",
    .summary = "Set a temporary breakpoint: as break, deleted at its first stop.",
    .complete = complete_break, .fn = cmd_tbreak,
};

const k2t_command k2t_cmd_delete = {
    .name = "delete", .aliases = "d", .group = "debug", .min_args = 0, .max_args = -1, .flags = DEBUG_FLAGS,
    .usage = "delete [N...]",
    .summary = "Delete breakpoints by number, or all of them.",
    .complete = complete_delete, .fn = cmd_delete,
};

const k2t_command k2t_cmd_disable = {
    .name = "disable", .group = "debug", .min_args = 0, .max_args = -1, .flags = DEBUG_FLAGS,
    .usage = "disable [N...]",
    .summary = "Disable breakpoints by number, or all of them: kept, but they no longer stop.",
    .complete = complete_delete, .fn = cmd_disable,
};

const k2t_command k2t_cmd_enable = {
    .name = "enable", .group = "debug", .min_args = 0, .max_args = -1, .flags = DEBUG_FLAGS,
    .usage = "enable [N...]",
    .summary = "Enable disabled breakpoints by number, or all of them.",
    .complete = complete_delete, .fn = cmd_enable,
};

const k2t_command k2t_cmd_condition = {
    .name = "condition", .group = "debug", .min_args = 1, .max_args = -1, .flags = DEBUG_FLAGS,
    .usage = "condition N [COND]",
    .summary = "Give breakpoint N a condition (nan, or diff > VALUE), or without COND remove it.",
    .help = "With a condition the breakpoint stops after a layer it names whose output meets it,\n"
            "instead of before the layer.",
    .complete = complete_condition, .fn = cmd_condition,
};

const k2t_command k2t_cmd_where = {
    .name = "where", .aliases = "bt backtrace", .group = "debug", .min_args = 0, .max_args = 0, .flags = DEBUG_FLAGS,
    .usage = "where",
    .summary = "Show the stepping cursor: the next layer, its section (stem, block N, head) and what ran last.",
    .fn = cmd_where,
};

const k2t_command k2t_cmd_restart = {
    .name = "restart", .group = "debug", .min_args = 0, .max_args = 0, .flags = DEBUG_FLAGS,
    .usage = "restart",
    .summary = "Put the stepping cursor back at the first layer and feed the input again.",
    .fn = cmd_restart,
};

const k2t_command k2t_cmd_display = {
    .name = "display", .group = "debug", .min_args = 0, .max_args = 1, .flags = DEBUG_FLAGS,
    .usage = "display [shapes|stats|off]",
    .summary = "Choose what every stop of step, next and continue shows about the last executed layer.",
    .help = "shapes: its output shape; stats: the shape with min, max, mean and std; off: nothing.\n"
            "Without an argument, shows the current choice.",
    .complete = complete_display, .fn = cmd_display,
};

const k2t_command k2t_cmd_blocks = {
    .name = "blocks", .group = "debug", .min_args = 0, .max_args = 0, .flags = DEBUG_FLAGS,
    .usage = "blocks",
    .summary = "List the residual blocks with their layers and shortcuts, between the stem and the head.",
    .help = "A block is a fork whose branches meet again at a merge (Add, ...), with the activation\n"
            "that follows the merge.  Shortcut: identity, or projection through its first layer.\n"
            "Blocks are numbered from 1 in execution order; publishes $blocks.",
    .fn = cmd_blocks,
};

const k2t_command k2t_cmd_shapes = {
    .name = "shapes", .group = "debug", .min_args = 0, .max_args = 0, .flags = DEBUG_FLAGS,
    .usage = "shapes",
    .summary = "Show the operand shapes of every residual addition in the current layout, flagging mismatches.",
    .help = "From the run for additions it has reached, else from shape inference with the\n"
            "input's batch (1 without an input).  A line ending in MISMATCH has operands of\n"
            "different shapes.  Publishes $mismatches.",
    .fn = cmd_shapes,
};
