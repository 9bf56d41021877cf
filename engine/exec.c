/*
** exec.c -- run a model: a plan made once, then batches through it.
**
** The scheduler only: it knows no layer kind.  Each op's family file
** (engine/ops/) plans and computes its own steps through its k2t_op_def
** (engine/op.h: flags, plan, forward, as_act).
**
** k2t_run_new() walks the graph in topological order and makes one step per
** node: the output shape (the op's infer), the layout, then the op's plan
** (geometry with TF's or the emulated padding, weights prepared, workspace),
** the NCHW fallback for ops without NCHW kernels, the softmax drop, and an
** arena offset for the node's output.  Nothing is allocated after that.
**
** Two ways to run (k2t_opts.keep), with the fusions fuse.c plans:
**  - keep: every node's output stays available, for print/step/diff.  A
**    GEMM op's output pass computes its chain (k2t_epi's post_scale, res,
**    act, in the rounding of the layers' own kernels) and stores the last
**    layer's output; the GEMM's own output and the layers between (a
**    BatchNormalization, a residual Add), a pad read through, the slices
**    a Concatenate's producers wrote, and a GEMM's own pre-activation are
**    computed when read (k2t_run_output, k2t_run_preact), into their own
**    buffers, with their own kernels: the unfused values bit for bit.  A
**    call that stops inside a chain (step) runs each layer on its own;
**  - fast: the chains are folded into the GEMM's epilogue, unary layers
**    (K2T_OPF_INPLACE) run in place, buffers are reused once their last
**    reader has run.
**
** Threads split the batch: every layer is per-sample, so each thread runs
** the whole plan on its own slice of samples with its own workspace and
** OpenBLAS single-threaded underneath.  A batch of one large image is
** split inside the layers instead (run_sliced).
*/
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "run.h"

void openblas_set_num_threads(int);
void blas_thread_shutdown_(void);

/*------------------------------------------------------- BLAS threads */

static void blas_single_once(void)
{
    struct rlimit rl;
    openblas_set_num_threads(1);
    /* Under an address-space limit (ulimit -v) a worker may be stuck
    ** retrying its buffer allocation, and the shutdown would wait for it
    ** forever: leave the workers alone then (main exits with _exit). */
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) return;
    blas_thread_shutdown_();
}

/* OpenBLAS (the pthread build) starts its worker threads when it is loaded,
** and an idle worker spins on sched_yield for about 2^28 cycles before it
** sleeps: on a 2-core machine that takes a core from the run.  k2t runs
** OpenBLAS single-threaded under its own threads, so the workers are shut
** down once, before the first run; with one thread OpenBLAS never starts
** them again. */
void k2t_blas_single(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, blas_single_once);
}

typedef k2t_step step;

/*------------------------------------------------------- buffer pool */

/* Freed run buffers are kept (up to POOL_N of them, POOL_BYTES in all) and
** handed to the next run that needs as much: a run planned again for the
** same model and shape (a new input, a diff, each layer of a compare)
** reuses pages already mapped and touched instead of faulting and
** clearing fresh ones. */
#define POOL_N 16
#define POOL_BYTES ((size_t)256 << 20)
static struct { void *p; size_t size; } pool[POOL_N];
static int pool_n;
static size_t pool_bytes;
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;

/* A buffer of at least size bytes (from the pool when one fits without
** wasting more than half of it), or NULL; *got: its real size. */
static void *pool_get(size_t size, size_t *got)
{
    if (!size) size = sizeof(float);
    pthread_mutex_lock(&pool_mu);
    int pick = -1;
    for (int i = 0; i < pool_n; i++)
        if (pool[i].size >= size && pool[i].size / 2 <= size &&
            (pick < 0 || pool[i].size < pool[pick].size)) pick = i;
    void *p = NULL;
    if (pick >= 0) {
        p = pool[pick].p;
        *got = pool[pick].size;
        pool_bytes -= pool[pick].size;
        pool[pick] = pool[--pool_n];
    }
    pthread_mutex_unlock(&pool_mu);
    if (!p) {
        /* Cache-line aligned: buffer offsets are multiples of 16 floats
        ** (assign_buffers), so kernels may store whole lines. */
        size = (size + 63) & ~(size_t)63;
        p = aligned_alloc(64, size);
        *got = size;
    }
    return p;
}

/* Give a buffer from pool_get back: kept, or freed when the pool is full
** (the oldest entries leave first). */
static void pool_put(void *p, size_t size)
{
    if (!p) return;
    if (size > POOL_BYTES) { free(p); return; }
    pthread_mutex_lock(&pool_mu);
    while (pool_n && (pool_n == POOL_N || pool_bytes + size > POOL_BYTES)) {
        free(pool[0].p);
        pool_bytes -= pool[0].size;
        memmove(pool, pool + 1, (size_t)(--pool_n) * sizeof pool[0]);
    }
    pool[pool_n].p = p;
    pool[pool_n].size = size;
    pool_n++;
    pool_bytes += size;
    pthread_mutex_unlock(&pool_mu);
}

void k2t_run_pool_clear(void)
{
    pthread_mutex_lock(&pool_mu);
    for (int i = 0; i < pool_n; i++) free(pool[i].p);
    pool_n = 0;
    pool_bytes = 0;
    pthread_mutex_unlock(&pool_mu);
}


int k2t_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static k2t_status step_fail(const k2t_model *m, const step *s, k2t_err *err, k2t_status st,
                            const char *what)
{
    return k2t_fail(err, st, "layer '%s' (%s): %s", m->nodes[s->node].name, s->L->class_name, what);
}

/* Plan one node: the op's output shape, the layout, then the op's own plan
** (engine/op.h), the NCHW fallback for ops without NCHW kernels, and the
** softmax drop.  Returns an error naming the layer when it cannot be run. */
static k2t_status plan_step(k2t_run *r, step *s, k2t_err *err)
{
    const k2t_model *m = r->m;
    const k2t_node *N = &m->nodes[s->node];
    const k2t_layer *L = s->L;
    const k2t_op_def *def = s->def;
    k2t_shape in[64];
    k2t_err e = {0};
    if (L->unsupported)
        return step_fail(m, s, err, K2T_EUNSUPPORTED, L->unsupported);
    if (!def || !(def->forward || (def->flags & K2T_OPF_INPUT)))
        return step_fail(m, s, err, K2T_EUNSUPPORTED, "k2t cannot execute this layer");
    for (int j = 0; j < N->n_in; j++) in[j] = r->s[N->in[j]].shape;
    if (def->flags & K2T_OPF_INPUT) {
        /* s->shape: k2t_run_new set it from in_shapes (the data's sizes where the model says None) */
    } else if (k2t_node_infer(m, s->node, in, &s->shape, &e) != K2T_OK) {
        return step_fail(m, s, err, e.status ? e.status : K2T_ESHAPE, e.msg[0] ? e.msg :
                         "cannot infer its output shape");
    }
    s->numel = k2t_shape_numel(&s->shape);
    if (s->numel < 0)
        return step_fail(m, s, err, K2T_ESHAPE, "output shape is not fully known");
    /* A channels_first model is already in PyTorch's layout. */
    s->nchw = r->o.emu.layout == K2T_LAYOUT_NCHW && s->shape.ndim >= 2 && !r->keras_chw;
    s->epi.act = K2T_ACT_LINEAR;
    s->pre_off = -1;
    if (N->part) { /* computed by its call's node, which is planned */
        step *p = &r->s[N->in[0]];
        if (p->n_parts < K2T_MAX_PARTS) p->parts[p->n_parts++] = s->node;
        if (p->fallback) p->ws += s->numel;
        s->nshape = s->nchw ? k2t_shape_nchw(&s->shape) : s->shape;
        return K2T_OK;
    }
    if ((def->flags & K2T_OPF_KEEPS_ORDER) && s->n_in) {
        s->chw_order = k2t_step_in(s, 0)->chw_order;
        s->chw_c = k2t_step_in(s, 0)->chw_c;
    }
    int any_nchw = s->nchw;
    for (int j = 0; j < N->n_in; j++) any_nchw |= r->s[N->in[j]].nchw;
    k2t_plan_ctx c = {m, &r->o, in, N->n_in, any_nchw};
    if (def->plan && def->plan(s, &c, &e) != K2T_OK)
        return step_fail(m, s, err, e.status ? e.status : K2T_ESHAPE, e.msg[0] ? e.msg :
                         "cannot be planned");
    /* Ops without an NCHW kernel run the Keras kernel between layout
    ** conversions: Keras's semantics, the port's layout. */
    if (r->o.emu.layout == K2T_LAYOUT_NCHW && !(def->flags & K2T_OPF_NCHW))
        s->fallback = any_nchw;
    if (s->fallback) {
        int64_t tmp = 2 * s->numel; /* output and pre-activation */
        for (int j = 0; j < N->n_in; j++) tmp += r->s[N->in[j]].numel;
        s->ws += tmp;
    }
    if (r->o.emu.softmax_drop && N->is_output) {
        /* The port leaves the softmax to its loss function. */
        k2t_act a;
        if (def->as_act && def->as_act(L, &a) && a == K2T_ACT_SOFTMAX) {
            s->alias = 1;
            s->fallback = 0;
        } else if (s->epi.act == K2T_ACT_SOFTMAX) {
            s->epi.act = K2T_ACT_LINEAR;
        }
    }
    s->nshape = s->nchw ? k2t_shape_nchw(&s->shape) : s->shape;
    return K2T_OK;
}

/* Which mask each step reads and makes (k2t_mask_sources): a maker's mask
** is one float per step of its output's first axis.  Refused: a mask that
** reaches an op Keras would apply it in and k2t does not, or a merge. */
static k2t_status plan_masks(k2t_run *r, k2t_err *err)
{
    const k2t_model *m = r->m;
    int *out = k2t_xmalloc((size_t)r->n * sizeof *out), *in = k2t_xmalloc((size_t)r->n * sizeof *in);
    k2t_status st = K2T_OK;
    k2t_mask_sources(m, out, in);
    for (int i = 0; i < r->n; i++) {
        step *s = &r->s[i];
        unsigned fl = s->def->flags;
        int none = r->o.emu.mask_ignore;
        s->mask_off = -1;
        s->mask_len = s->shape.ndim && s->shape.d[0] > 0 ? s->shape.d[0] : 1;
        s->mask_src = none ? -1 : out[i];
        s->mask_in = none || !(fl & K2T_OPF_MASK_USE) ? -1 : in[i];
        if (none || in[i] < 0 || st != K2T_OK) continue;
        char why[400];
        if (fl & K2T_OPF_MASK_REFUSE) {
            snprintf(why, sizeof why, "it receives the mask of '%s' (its padding steps), which Keras applies here "
                     "and k2t does not", m->nodes[in[i]].name);
            st = step_fail(m, s, err, K2T_EUNSUPPORTED, why);
        } else if (s->n_in > 1 && !(fl & K2T_OPF_MASK_USE)) {
            snprintf(why, sizeof why, "it merges inputs that carry the mask of '%s' (its padding steps), which "
                     "k2t does not combine as Keras does", m->nodes[in[i]].name);
            st = step_fail(m, s, err, K2T_EUNSUPPORTED, why);
        }
    }
    free(out);
    free(in);
    return st;
}

/* n floats rounded up to whole cache lines. */
static int64_t line16(int64_t n)
{
    return (n + 15) & ~(int64_t)15;
}

/* Where each step's output lives.  keep: a buffer per step.  fast: reuse a
** buffer once the last reader of its value has run. */
static void assign_buffers(k2t_run *r)
{
    const k2t_model *m = r->m;
    int64_t B = r->max_batch;
    int64_t top = 0;
    /* root[i]: the step whose buffer holds step i's output (through views). */
    int *root = k2t_xmalloc((size_t)r->n * sizeof *root);
    for (int i = 0; i < r->n; i++) {
        step *s = &r->s[i];
        root[i] = (s->alias || s->inplace) && m->nodes[i].n_in ? root[m->nodes[i].in[s->alias_in]] : i;
    }
    if (r->o.keep) {
        for (int i = 0; i < r->n; i++) {
            step *s = &r->s[i];
            if (root[i] == i) { s->out_off = top; top += line16(B * s->numel); }
            if (s->epi.act != K2T_ACT_LINEAR && !s->folded) {
                s->pre_off = top;
                top += line16(B * s->numel);
            }
        }
        for (int i = 0; i < r->n; i++) r->s[i].out_off = r->s[root[i]].out_off;
    } else {
        /* Inputs and outputs live in the shared arena for the whole batch.
        ** Everything else is reused once its last reader has run, in
        ** per-thread arenas: threads run the plan independently, so a
        ** buffer one thread reuses must not be one another still reads. */
        int *last = k2t_xmalloc((size_t)r->n * sizeof *last);
        int *shared = k2t_xcalloc((size_t)r->n, sizeof *shared);
        for (int i = 0; i < r->n; i++) {
            last[i] = i;
            /* a part is written by its call's node: live from there on */
            if (m->nodes[i].is_output || m->nodes[i].part || (r->s[i].def->flags & K2T_OPF_INPUT))
                shared[root[i]] = 1;
        }
        for (int i = 0; i < r->n; i++) {
            for (int j = 0; j < r->s[i].n_in; j++) { /* s->in: a folded pad's reader reads its input */
                int b = root[r->s[i].in[j]];
                if (last[b] < i) last[b] = i;
            }
            if (last[root[i]] < i) last[root[i]] = i;
        }
        int64_t Bt = (B + r->threads - 1) / r->threads, ltop = 0;
        r->local_batch = (int)Bt;
        typedef struct { int64_t off, size; int free_after; } slot;
        slot *slots = k2t_xmalloc((size_t)r->n * sizeof *slots);
        int n_slots = 0;
        /* Buffers in the order they are first written: a Concatenate whose
        ** producers write into it (concat_direct) from its first producer. */
        int *order = k2t_xmalloc((size_t)r->n * 3 * sizeof *order), n_order = 0;
        int *born_head = order + r->n, *born_next = order + 2 * r->n;
        for (int i = 0; i < r->n; i++) born_head[i] = -1;
        for (int k = r->n - 1; k >= 0; k--)
            if (r->s[k].cat_direct) {
                born_next[k] = born_head[r->s[k].cat_first];
                born_head[r->s[k].cat_first] = k;
            }
        for (int i = 0; i < r->n; i++) {
            for (int k = born_head[i]; k >= 0; k = born_next[k]) order[n_order++] = k;
            if (!r->s[i].cat_direct) order[n_order++] = i;
        }
        for (int oi = 0; oi < n_order; oi++) {
            int i = order[oi];
            step *s = &r->s[i];
            if (root[i] != i) continue;
            int born = s->cat_direct ? s->cat_first : i;
            if (shared[i]) { s->out_off = top; top += line16(B * s->numel); continue; }
            int64_t need = line16(Bt * s->numel);
            int pick = -1;
            for (int k = 0; k < n_slots; k++)
                if (slots[k].free_after < born && slots[k].size >= need &&
                    (pick < 0 || slots[k].size < slots[pick].size)) pick = k;
            if (pick < 0) {
                slots[n_slots] = (slot){ltop, need, 0};
                ltop += need;
                pick = n_slots++;
            }
            slots[pick].free_after = last[i];
            s->out_off = slots[pick].off;
            s->local = 1;
        }
        for (int i = 0; i < r->n; i++) {
            r->s[i].out_off = r->s[root[i]].out_off;
            r->s[i].local = r->s[root[i]].local;
        }
        r->local_floats = ltop;
        free(order);
        free(slots);
        free(last);
        free(shared);
    }
    free(root);
    for (int i = 0; i < r->n; i++) /* masks: small, kept for the whole batch */
        if (r->s[i].mask_src == i) {
            r->s[i].mask_off = top;
            top += B * r->s[i].mask_len;
        }
    r->arena_floats = top;
}

k2t_run *k2t_run_new(const k2t_model *m, const k2t_opts *o, const k2t_shape *in_shapes,
                     int max_batch, k2t_err *err)
{
    if (!m->has_arch) {
        k2t_fail(err, K2T_EUNSUPPORTED, "%s is a weights-only file: there is no architecture to run",
                 m->path);
        return NULL;
    }
    /* Refuse before computing anything: name the first layer k2t cannot run. */
    for (int i = 0; i < m->n_nodes; i++) {
        const k2t_layer *L = k2t_node_layer(m, i);
        const k2t_op_def *def = k2t_op_def_of(L->op);
        if (!def || !(def->forward || (def->flags & K2T_OPF_INPUT)) || L->unsupported) {
            k2t_fail(err, K2T_EUNSUPPORTED, "cannot run: layer '%s' (%s) is not supported: %s",
                     m->nodes[i].name, L->class_name, L->unsupported ? L->unsupported : "");
            return NULL;
        }
    }
    k2t_run *r = k2t_xcalloc(1, sizeof *r);
    r->m = m;
    r->o = *o;
    r->max_batch = max_batch < 1 ? 1 : max_batch;
    r->threads = o->threads > 0 ? o->threads : k2t_cores();
    if (r->threads > 64) r->threads = 64;
    if (o->emu.bn_train) r->threads = 1; /* batch statistics need the whole batch */
    r->n = m->n_nodes;
    r->keras_chw = k2t_model_chw(m);
    r->s = k2t_xcalloc((size_t)r->n, sizeof *r->s);
    for (int i = 0; i < r->n; i++) {
        step *s = &r->s[i];
        s->node = i;
        s->L = k2t_node_layer(m, i);
        s->def = k2t_op_def_of(s->L->op);
        s->all = r->s;
        s->in = m->nodes[i].in;
        s->n_in = m->nodes[i].n_in;
        s->chain[0] = s->chain[1] = s->chain[2] = s->chain_head = s->pad_src = s->res_node = -1;
        s->cat = s->view_cat = -1;
        if (s->def->flags & K2T_OPF_INPUT) {
            int k = 0;
            for (int j = 0; j < m->n_inputs; j++) if (m->inputs[j] == i) k = j;
            s->shape = in_shapes ? in_shapes[k] : m->nodes[i].shape;
            /* The given shape must be the model's, None matching anything. */
            const k2t_shape *want = &m->nodes[i].shape;
            if (want->ndim >= 0 && !k2t_shape_fits(want, &s->shape)) {
                char a[96], b[96];
                k2t_fail(err, K2T_ESHAPE, "input '%s' takes %s, not %s", m->nodes[i].name,
                         k2t_shape_str(want, 1, a, sizeof a), k2t_shape_str(&s->shape, 0, b, sizeof b));
                k2t_run_free(r);
                return NULL;
            }
        }
        if (plan_step(r, s, err) != K2T_OK) {
            k2t_run_free(r);
            return NULL;
        }
        int64_t per = (int64_t)r->max_batch * s->numel;
        if (per > K2T_MAX_NUMEL) {
            step_fail(m, s, err, K2T_ENOMEM, "the batch's output is too large");
            k2t_run_free(r);
            return NULL;
        }
    }
    if (plan_masks(r, err) != K2T_OK) {
        k2t_run_free(r);
        return NULL;
    }
    k2t_fold_pads(r);
    if (!o->keep) {
        k2t_fuse(r);
        k2t_concat_direct(r); /* before the buffers: a Concatenate's lives from its first producer */
    }
    assign_buffers(r);
    if (o->keep) {
        k2t_keep_chains(r);
        k2t_concat_direct(r);
    }
    for (int i = 0; i < r->n; i++) {
        step *s = &r->s[i];
        s->skip = (s->def->flags & K2T_OPF_INPUT) || s->alias || s->folded || m->nodes[i].part;
        if (s->ws > r->ws_floats) r->ws_floats = s->ws;
    }
    int64_t need_mb = (r->arena_floats + (int64_t)r->threads * (r->ws_floats + r->local_floats)) * 4 >> 20;
    if (need_mb > k2t_memory_limit()) {
        k2t_fail(err, K2T_ENOMEM, "a batch of %d needs %lld MB, over the memory limit of %lld MB (set memory.limit)",
                 r->max_batch, (long long)need_mb, (long long)k2t_memory_limit());
        k2t_run_free(r);
        return NULL;
    }
    r->arena = pool_get((size_t)(r->arena_floats ? r->arena_floats : 1) * sizeof(float), &r->arena_bytes);
    if (!r->arena) {
        k2t_fail(err, K2T_ENOMEM, "cannot allocate %lld MB for a batch of %d",
                 (long long)(r->arena_floats * 4 >> 20), r->max_batch);
        k2t_run_free(r);
        return NULL;
    }
    r->ws = k2t_xcalloc((size_t)r->threads, sizeof *r->ws);
    r->local = k2t_xcalloc((size_t)r->threads, sizeof *r->local);
    r->ws_bytes = k2t_xcalloc((size_t)r->threads, sizeof *r->ws_bytes);
    r->local_bytes = k2t_xcalloc((size_t)r->threads, sizeof *r->local_bytes);
    for (int t = 0; t < r->threads; t++) {
        r->ws[t] = pool_get((size_t)(r->ws_floats ? r->ws_floats : 1) * sizeof(float), &r->ws_bytes[t]);
        r->local[t] = pool_get((size_t)(r->local_floats ? r->local_floats : 1) * sizeof(float),
                               &r->local_bytes[t]);
        if (!r->ws[t] || !r->local[t]) {
            k2t_fail(err, K2T_ENOMEM, "cannot allocate the workspace of thread %d", t);
            k2t_run_free(r);
            return NULL;
        }
    }
    r->out = k2t_xcalloc((size_t)r->n, sizeof *r->out);
    r->pre = k2t_xcalloc((size_t)r->n, sizeof *r->pre);
    r->ran = k2t_xcalloc((size_t)r->n, sizeof *r->ran);
    r->stale = k2t_xcalloc((size_t)r->n, sizeof *r->stale);
    r->stale_pre = k2t_xcalloc((size_t)r->n, sizeof *r->stale_pre);
    k2t_blas_single();
    return r;
}

void k2t_run_free(k2t_run *r)
{
    if (!r) return;
    for (int i = 0; i < r->n; i++) k2t_step_free_owned(&r->s[i]);
    for (int t = 0; r->ws && t < r->threads; t++) pool_put(r->ws[t], r->ws_bytes[t]);
    for (int t = 0; r->local && t < r->threads; t++) pool_put(r->local[t], r->local_bytes[t]);
    free(r->ws);
    free(r->local);
    free(r->ws_bytes);
    free(r->local_bytes);
    free(r->s);
    pool_put(r->arena, r->arena_bytes);
    free(r->out);
    free(r->pre);
    free(r->ran);
    free(r->stale);
    free(r->stale_pre);
    free(r);
}

int k2t_run_batch(const k2t_run *r) { return r->batch; }

const k2t_shape *k2t_run_shape(const k2t_run *r, int node) { return &r->s[node].nshape; }

const k2t_shape *k2t_run_keras_shape(const k2t_run *r, int node) { return &r->s[node].shape; }

k2t_status k2t_run_set_input(k2t_run *r, int i, const float *x, int n, k2t_err *err)
{
    if (i < 0 || i >= r->m->n_inputs)
        return k2t_fail(err, K2T_EARG, "the model has %d input%s", r->m->n_inputs,
                        r->m->n_inputs == 1 ? "" : "s");
    if (n < 1 || n > r->max_batch)
        return k2t_fail(err, K2T_EARG, "batch of %d, the plan holds 1 to %d", n, r->max_batch);
    step *s = &r->s[r->m->inputs[i]];
    if (s->nchw) {
        int c = (int)s->shape.d[s->shape.ndim - 1];
        kern_to_nchw(x, n, s->numel / c, c, r->arena + s->out_off);
    } else {
        memcpy(r->arena + s->out_off, x, (size_t)n * (size_t)s->numel * sizeof(float));
    }
    r->batch = n;
    memset(r->ran, 0, (size_t)r->n * sizeof *r->ran);
    r->ran[s->node] = 1;
    return K2T_OK;
}

/*--------------------------------------------------------------- running */

/* Where step s's samples [n0, ...) live for thread t. */
static float *buf(const k2t_run *r, const step *s, int n0, int t)
{
    if (s->local) return r->local[t] + s->out_off;
    return r->arena + s->out_off + (int64_t)n0 * s->numel;
}

/* Compute step s for n samples: xs are its inputs, y its output, g where
** a GEMM writes before a kept activation (y when none), ws scratch.
** nhwc forces the Keras-layout kernels (the NCHW fallback). */
/* Step s's masks for samples from n0 on: input 0's and its own (a maker's). */
static const float *mask_at(const k2t_run *r, const step *s, int n0, float **out)
{
    *out = s->mask_off >= 0 ? r->arena + s->mask_off + (int64_t)n0 * s->mask_len : NULL;
    if (s->mask_in < 0) return NULL;
    const step *p = &r->s[s->mask_in];
    return r->arena + p->mask_off + (int64_t)n0 * p->mask_len;
}

static void exec_op(const step *s, const float *const *xs, int n, float *y, float *g, float *ws,
                    int nhwc, const float *mask, float *mask_out, float *const *parts, const float *res,
                    int64_t ldy)
{
    k2t_epi e = s->epi;
    e.ldy = ldy;
    if (g != y) e.act = K2T_ACT_LINEAR;
    /* A folded residual Add: its other input, as a distance from g (the
    ** buffers may be different allocations: the fast path's are). */
    if (res) e.res = (int64_t)(((intptr_t)res - (intptr_t)g) / (intptr_t)sizeof(float));
    k2t_fwd f = {xs, n, y, g, ws, &e, s->nchw && !nhwc, nhwc, mask, mask_out, parts};
    s->def->forward(s, &f);
    if (g != y) {
        /* The activation after a kept pre-activation. */
        int64_t total = (int64_t)n * s->numel;
        int C = s->shape.ndim ? (int)s->shape.d[s->shape.ndim - 1] : 1;
        int64_t hw = C ? s->numel / C : 0;
        k2t_epi a = {0};
        a.act = s->epi.act;
        if (a.act != K2T_ACT_SOFTMAX) {
            kern_act_from(y, g, total, a.act);
            return;
        }
        memcpy(y, g, (size_t)total * sizeof(float));
        if (f.nchw) kern_epilogue_nchw(y, n, C, hw, &a);
        else kern_epilogue(y, total / C, C, &a);
    }
}

/* An NCHW step without an NCHW kernel: each sample's inputs converted to
** Keras's layout, the Keras kernel, the output converted back. */
static void run_fallback(const k2t_run *r, const step *s, int n0, int n1, int t)
{
    /* ws: [kernel scratch][inputs, Keras layout][output][pre-activation] */
    float *ws = r->ws[t];
    int64_t kws = s->ws - 2 * s->numel;
    const float *xs[64];
    float *parts[K2T_MAX_PARTS];
    for (int j = 0; j < s->n_in && j < 64; j++) kws -= r->s[s->in[j]].numel;
    for (int j = 0; j < s->n_parts; j++) kws -= r->s[s->parts[j]].numel;
    float *cur = ws + kws;
    for (int j = 0; j < s->n_parts; j++) { /* Keras's layout, moved after */
        parts[j] = cur;
        cur += r->s[s->parts[j]].numel;
    }
    float *ins[64];
    for (int j = 0; j < s->n_in && j < 64; j++) {
        ins[j] = cur;
        cur += r->s[s->in[j]].numel;
    }
    float *o = cur, *pg = s->pre_off >= 0 ? cur + s->numel : o;
    int c = (int)s->shape.d[s->shape.ndim - 1];
    for (int i = n0; i < n1; i++) {
        for (int j = 0; j < s->n_in && j < 64; j++) {
            const step *q = &r->s[s->in[j]];
            const float *xq = buf(r, q, n0, t) + (int64_t)(i - n0) * q->numel;
            if (q->nchw) {
                int qc = (int)q->shape.d[q->shape.ndim - 1];
                kern_to_nhwc(xq, 1, qc, q->numel / qc, ins[j]);
                xs[j] = ins[j];
            } else {
                xs[j] = xq;
            }
        }
        float *mo;
        const float *mi = mask_at(r, s, i, &mo);
        exec_op(s, xs, 1, o, pg, ws, 1, mi, mo, parts, NULL, 0);
        for (int j = 0; j < s->n_parts; j++) {
            const step *p = &r->s[s->parts[j]];
            float *py = buf(r, p, n0, t) + (int64_t)(i - n0) * p->numel;
            int pc = p->shape.ndim ? (int)p->shape.d[p->shape.ndim - 1] : 1;
            if (p->nchw) kern_to_nchw(parts[j], 1, p->numel / pc, pc, py);
            else memcpy(py, parts[j], (size_t)p->numel * sizeof(float));
        }
        float *y = buf(r, s, n0, t) + (int64_t)(i - n0) * s->numel;
        float *yp = s->pre_off >= 0 ? r->arena + s->pre_off + (int64_t)i * s->numel : NULL;
        if (s->nchw) {
            kern_to_nchw(o, 1, s->numel / c, c, y);
            if (yp) kern_to_nchw(pg, 1, s->numel / c, c, yp);
        } else {
            memcpy(y, o, (size_t)s->numel * sizeof(float));
            if (yp) memcpy(yp, pg, (size_t)s->numel * sizeof(float));
        }
    }
}

/* Whether head s's fused pass runs in a call of steps [from, to): the
** whole chain, a folded pad to the last member, is in it (a call that
** stops inside a chain, as step does, runs each layer on its own). */
static int chain_runs(const step *s, int from, int to)
{
    return (keep_chain(s) || s->pad_src >= 0) && chain_first(s) >= from && chain_last(s) < to;
}

/* Whether Concatenate c's producers write into it in a call of [from,
** to): all their chains and c are in it. */
static int cat_runs(const step *c, int from, int to)
{
    return c->cat_direct && c->cat_first >= from && c->node < to;
}

/* Step s was computed (or is left lazy) by another step's pass in this
** call: its chain head's, or its producers' (a Concatenate). */
static int chain_done(const k2t_run *r, const step *s, int from, int to)
{
    return (s->chain_head >= 0 && chain_runs(&r->s[s->chain_head], from, to)) || cat_runs(s, from, to);
}

/* How head s runs in a call of [from, to): 1 its chain's pass, 2 into a
** Concatenate's output, or both. */
static int pass_of(const k2t_run *r, const step *s, int from, int to)
{
    return chain_runs(s, from, to) | (s->cat >= 0 && cat_runs(&r->s[s->cat], from, to) ? 2 : 0);
}

/* Run step s on samples [n0, n1) for thread t (buffers) with thread tw's
** workspace; fused: pass_of's. */
static void run_step_on(const k2t_run *r, const step *s, int n0, int n1, int t, int tw, int fused)
{
    int n = n1 - n0;
    if (n <= 0 || s->skip) return;
    if (s->fallback) {
        run_fallback(r, s, n0, n1, t);
        return;
    }
    float *ws = r->ws[tw];
    const float *xs[64];
    for (int j = 0; j < s->n_in && j < 64; j++) xs[j] = buf(r, &r->s[s->in[j]], n0, t);
    if (fused) {
        /* A folded pad: s reads the pad's input through win_fold. */
        step fs = *s;
        if ((fused & 1) && s->pad_src >= 0) {
            fs.win = s->win_fold;
            fs.in = r->s[s->pad_src].in;
            xs[0] = buf(r, &r->s[fs.in[0]], n0, t);
        }
        /* Into the chain's last buffer, or its channels of the
        ** Concatenate's. */
        int64_t ldy = 0;
        float *y = buf(r, &r->s[chain_last(s)], n0, t);
        if (fused & 2) {
            const step *c = &r->s[s->cat];
            y = buf(r, c, n0, t) + s->cat_off;
            ldy = c->shape.d[c->shape.ndim - 1];
        }
        if ((fused & 1) && keep_chain(s)) {
            k2t_epi e = s->kepi;
            e.ldy = ldy;
            k2t_fwd f = {xs, n, y, y, ws, &e, 0, 0, NULL, NULL, NULL};
            s->def->forward(&fs, &f);
            return;
        }
        float *g = s->pre_off >= 0 && !pre_lazy(s) ? r->arena + s->pre_off + (int64_t)n0 * s->numel : y;
        exec_op(&fs, xs, n, y, g, ws, 0, NULL, NULL, NULL, NULL, ldy);
        return;
    }
    float *y = buf(r, s, n0, t);
    /* With a kept pre-activation, the GEMM writes there and the activation
    ** goes from there to y. */
    float *g = s->pre_off >= 0 && !pre_lazy(s) ? r->arena + s->pre_off + (int64_t)n0 * s->numel : y;
    float *mo, *parts[K2T_MAX_PARTS];
    const float *mi = mask_at(r, s, n0, &mo);
    for (int j = 0; j < s->n_parts; j++) parts[j] = buf(r, &r->s[s->parts[j]], n0, t);
    const float *res = s->res_node >= 0 ? buf(r, &r->s[s->res_node], n0, t) : NULL;
    exec_op(s, xs, n, y, g, ws, 0, mi, mo, parts, res, 0);
}

/* Run step s on samples [n0, n1) for thread t (its buffers and
** workspace); fused: its chain's pass. */
static void run_step(const k2t_run *r, const step *s, int n0, int n1, int t, int fused)
{
    run_step_on(r, s, n0, n1, t, t, fused);
}

typedef struct job {
    const k2t_run *r;
    int from, to, n0, n1, t;
    int stopped;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    for (int i = j->from; i < j->to; i++) {
        if (k2t_interrupted) { j->stopped = 1; break; }
        const step *s = &j->r->s[i];
        if (chain_done(j->r, s, j->from, j->to)) continue;
        run_step(j->r, s, j->n0, j->n1, j->t, pass_of(j->r, s, j->from, j->to));
    }
    return NULL;
}

/*--------------------------------------------- one image, several threads */

/* A batch of one on several threads: the steps whose kernels split an
** image (s->slice_ok, kern_slice) run on every thread, each computing its
** share of the output into the same buffers (thread 0's) with its own
** workspace, then wait for the others; the other steps run on thread 0
** alone.  The threads live for one k2t_run_nodes call and wait for each
** other spinning (a layer lasts microseconds), yielding the core after a
** while. */
typedef struct slicer {
    const k2t_run *r;
    int from, to, T;
    atomic_int arrived, gen, stop, go;
} slicer;

typedef struct slice_job {
    slicer *S;
    int t;
} slice_job;

static void slice_barrier(slicer *S)
{
    int g = atomic_load_explicit(&S->gen, memory_order_acquire);
    if (atomic_fetch_add_explicit(&S->arrived, 1, memory_order_acq_rel) == S->T - 1) {
        atomic_store_explicit(&S->arrived, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&S->gen, 1, memory_order_release);
        return;
    }
    for (long spin = 0; atomic_load_explicit(&S->gen, memory_order_acquire) == g; spin++)
        if (spin > 4096) sched_yield();
}

/* Splitting pays for the threads' start and waits only on large images
** (make bench: a 32x32 ResNet8 or a 96x96 MobileNet run slower on two
** threads, 224x224 ones faster): a call splits when its splittable layers
** write SLICE_CALL floats or more, and a layer when it writes SLICE_STEP. */
#define SLICE_CALL ((int64_t)1 << 21)
#define SLICE_STEP ((int64_t)1 << 14)

/* Whether step s splits between threads in this call. */
static int sliced(const step *s, int fused)
{
    if (!s->slice_ok || s->skip || s->fallback || (s->pre_off >= 0 && !pre_lazy(s)) ||
        s->numel < SLICE_STEP)
        return 0;
    if (s->slice_ok == 2) return 1; /* by rows: the kernel's epilogue is per row */
    k2t_act a = (fused & 1) && keep_chain(s) ? s->kepi.act : s->epi.act;
    return a == K2T_ACT_LINEAR || a == K2T_ACT_RELU || a == K2T_ACT_RELU6;
}

static void *slice_worker(void *arg)
{
    slice_job *j = arg;
    slicer *S = j->S;
    const k2t_run *r = S->r;
    int go, pending = 0, quit = 0;
    while ((go = atomic_load_explicit(&S->go, memory_order_acquire)) == 0) sched_yield();
    if (go < 0) return NULL;
    for (int i = S->from; i < S->to; i++) {
        const step *s = &r->s[i];
        if (chain_done(r, s, S->from, S->to)) continue;
        int fused = pass_of(r, s, S->from, S->to);
        if (!sliced(s, fused)) {
            if (j->t == 0 && !quit) {
                if (k2t_interrupted) {
                    atomic_store(&S->stop, 1);
                    quit = 1;
                } else {
                    run_step(r, s, 0, r->batch, 0, fused);
                }
            }
            pending = 1;
            continue;
        }
        if (pending) { /* thread 0's steps since the last wait are read here */
            slice_barrier(S);
            pending = 0;
            if (atomic_load(&S->stop)) break;
        }
        if (j->t == 0 && k2t_interrupted) atomic_store(&S->stop, 1);
        kern_slice(j->t, S->T);
        run_step_on(r, s, 0, r->batch, 0, j->t, fused);
        kern_slice(0, 1);
        slice_barrier(S);
        if (atomic_load(&S->stop)) break;
    }
    return NULL;
}

/* Run [from, to) on r->threads threads for a batch of one; 0 when threads
** could not be started (nothing has run), 1 when done (*stopped: by an
** interrupt). */
static int run_sliced(const k2t_run *r, int from, int to, int *stopped)
{
    int T = r->threads > 64 ? 64 : r->threads;
    slicer S = {.r = r, .from = from, .to = to, .T = T};
    slice_job jobs[64];
    pthread_t tid[64];
    int made = 1;
    for (int t = 0; t < T; t++) jobs[t] = (slice_job){&S, t};
    for (int t = 1; t < T && made == t; t++)
        if (pthread_create(&tid[t], NULL, slice_worker, &jobs[t]) == 0) made++;
    atomic_store_explicit(&S.go, made == T ? 1 : -1, memory_order_release);
    if (made == T) slice_worker(&jobs[0]);
    for (int t = 1; t < made; t++) pthread_join(tid[t], NULL);
    *stopped = atomic_load(&S.stop);
    return made == T;
}

/* Compute lazy step i from what it reads, lazy members before it first
** (a residual Add reads its BatchNormalization), on one thread: each is
** one elementwise pass over memory. */
static void materialize(const k2t_run *r, int i)
{
    if (!r->stale || !r->stale[i]) return;
    const step *s = &r->s[i];
    if (s->view_cat >= 0) { /* its channels of the Concatenate's output */
        const step *c = &r->s[s->view_cat], *h = &r->s[head_of(s)]; /* h holds the offset */
        int64_t cs = s->shape.d[s->shape.ndim - 1], cc = c->shape.d[c->shape.ndim - 1];
        int64_t pix = (int64_t)r->batch * s->numel / cs;
        const float *src = r->arena + c->out_off + h->cat_off;
        float *dst = r->arena + s->out_off;
        for (int64_t p = 0; p < pix; p++) memcpy(dst + p * cs, src + p * cc, (size_t)cs * sizeof(float));
        r->stale[i] = 0;
        return;
    }
    for (int j = 0; j < r->s[i].n_in; j++) materialize(r, r->s[i].in[j]);
    run_step(r, &r->s[i], 0, r->batch, 0, 0);
    r->stale[i] = 0;
}

k2t_status k2t_run_nodes(k2t_run *r, int from, int to, k2t_err *err)
{
    if (r->batch < 1) return k2t_fail(err, K2T_EARG, "no input has been set");
    if (from < 0) from = 0;
    if (to > r->n) to = r->n;
    for (int i = from; i < to; i++)
        for (int j = 0; j < r->s[i].n_in; j++)
            if (r->s[i].in[j] < from && !r->ran[r->s[i].in[j]])
                return k2t_fail(err, K2T_EARG, "layer '%s' needs '%s', which has not run",
                                r->m->nodes[i].name, r->m->nodes[r->s[i].in[j]].name);
    /* What this call reads from earlier calls must be there. */
    for (int i = from; i < to; i++)
        if (!chain_done(r, &r->s[i], from, to))
            for (int j = 0; j < r->s[i].n_in; j++)
                if (r->s[i].in[j] < from) materialize(r, r->s[i].in[j]);
    int T = r->threads < r->batch ? r->threads : r->batch;
    job jobs[64];
    pthread_t tid[64];
    int started[64] = {0}, stopped = 0;
    int64_t split = 0; /* floats the splittable layers write */
    for (int i = from; i < to; i++) split += r->s[i].slice_ok ? r->s[i].numel : 0;
    if (r->batch == 1 && r->threads > 1 && split >= SLICE_CALL && run_sliced(r, from, to, &stopped)) T = 0;
    for (int t = 0; t < T; t++) {
        jobs[t] = (job){r, from, to, (int)((int64_t)r->batch * t / T),
                        (int)((int64_t)r->batch * (t + 1) / T), t, 0};
        if (t > 0) started[t] = pthread_create(&tid[t], NULL, worker, &jobs[t]) == 0;
    }
    if (T) worker(&jobs[0]);
    for (int t = 1; t < T; t++) {
        if (started[t]) pthread_join(tid[t], NULL);
        else worker(&jobs[t]); /* no thread: do its share here */
    }
    for (int t = 0; t < T; t++) stopped |= jobs[t].stopped;
    if (stopped) {
        memset(r->ran, 0, (size_t)r->n * sizeof *r->ran);
        memset(r->stale, 0, (size_t)r->n * sizeof *r->stale);
        memset(r->stale_pre, 0, (size_t)r->n * sizeof *r->stale_pre);
        return k2t_fail(err, K2T_EINTERRUPTED, "interrupted");
    }
    for (int i = from; i < to; i++) {
        r->ran[i] = 1;
        r->stale[i] = (r->s[i].lazy && chain_done(r, &r->s[i], from, to)) ||
                      (keep_chain(&r->s[i]) && chain_runs(&r->s[i], from, to)) ||
                      (r->s[i].view_cat >= 0 && cat_runs(&r->s[r->s[i].view_cat], from, to));
        r->stale_pre[i] = pre_lazy(&r->s[i]);
    }
    return K2T_OK;
}

void k2t_run_reset(k2t_run *r)
{
    if (!r) return;
    r->batch = 0;
    memset(r->ran, 0, (size_t)r->n * sizeof *r->ran);
    memset(r->stale, 0, (size_t)r->n * sizeof *r->stale);
    memset(r->stale_pre, 0, (size_t)r->n * sizeof *r->stale_pre);
}

const k2t_tensor *k2t_run_output(const k2t_run *r, int node)
{
    if (node < 0 || node >= r->n || !r->ran[node]) return NULL;
    const step *s = &r->s[node];
    k2t_run *w = (k2t_run *)r;
    if (!r->o.keep && !r->m->nodes[node].is_output && !(s->def->flags & K2T_OPF_INPUT))
        return NULL;
    materialize(r, node);
    k2t_tensor *t = &w->out[node];
    t->shape.ndim = s->nshape.ndim + 1;
    t->shape.d[0] = r->batch;
    for (int i = 0; i < s->nshape.ndim; i++) t->shape.d[i + 1] = s->nshape.d[i];
    t->data = r->arena + s->out_off;
    return t;
}

/* Compute step i's pre-activation (pre_lazy): its forward again on its
** inputs, without the activation, into its pre-activation buffer. */
static void materialize_pre(const k2t_run *r, int i)
{
    if (!r->stale_pre[i]) return;
    const step *s = &r->s[i];
    const float *xs[64];
    for (int j = 0; j < s->n_in && j < 64; j++) {
        materialize(r, s->in[j]);
        xs[j] = buf(r, &r->s[s->in[j]], 0, 0);
    }
    float *pre = r->arena + s->pre_off, *mo;
    step fs = *s;
    fs.epi.act = K2T_ACT_LINEAR;
    exec_op(&fs, xs, r->batch, pre, pre, r->ws[0], 0, mask_at(r, s, 0, &mo), NULL, NULL, NULL, 0);
    r->stale_pre[i] = 0;
}

const k2t_tensor *k2t_run_preact(const k2t_run *r, int node)
{
    if (node < 0 || node >= r->n || !r->ran[node] || r->s[node].pre_off < 0) return NULL;
    const step *s = &r->s[node];
    materialize_pre(r, node);
    k2t_tensor *t = &((k2t_run *)r)->pre[node];
    t->shape.ndim = s->nshape.ndim + 1;
    t->shape.d[0] = r->batch;
    for (int i = 0; i < s->nshape.ndim; i++) t->shape.d[i + 1] = s->nshape.d[i];
    t->data = r->arena + s->pre_off;
    return t;
}

const k2t_opts *k2t_run_opts(const k2t_run *r) { return &r->o; }

k2t_status k2t_run_keras(const k2t_run *r, int node, int preact, float *dst, k2t_err *err)
{
    const k2t_tensor *t = preact ? k2t_run_preact(r, node) : k2t_run_output(r, node);
    if (!t) return k2t_fail(err, K2T_EARG, "layer '%s' has not been computed", r->m->nodes[node].name);
    const step *s = &r->s[node];
    int n = r->batch;
    if (s->nchw) {
        int c = (int)s->shape.d[s->shape.ndim - 1];
        kern_to_nhwc(t->data, n, c, s->numel / c, dst);
    } else if (s->chw_order) {
        int c = s->chw_c ? s->chw_c : 1;
        kern_to_nhwc(t->data, n, c, s->numel / c, dst);
    } else {
        memcpy(dst, t->data, (size_t)n * (size_t)s->numel * sizeof(float));
    }
    return K2T_OK;
}

k2t_status k2t_run_inject(k2t_run *r, int node, const float *src, k2t_err *err)
{
    if (node < 0 || node >= r->n) return k2t_fail(err, K2T_EARG, "no node %d", node);
    if (r->batch < 1) return k2t_fail(err, K2T_EARG, "no input has been set");
    const step *s = &r->s[node];
    if (s->local) return k2t_fail(err, K2T_EARG, "the fast path keeps no buffer for '%s'", r->m->nodes[node].name);
    float *y = r->arena + s->out_off;
    int n = r->batch;
    if (s->nchw) {
        int c = (int)s->shape.d[s->shape.ndim - 1];
        kern_to_nchw(src, n, s->numel / c, c, y);
    } else if (s->chw_order) {
        int c = s->chw_c ? s->chw_c : 1;
        kern_to_nchw(src, n, s->numel / c, c, y);
    } else {
        memcpy(y, src, (size_t)n * (size_t)s->numel * sizeof(float));
    }
    r->ran[node] = 1;
    r->stale[node] = 0;
    return K2T_OK;
}
