/*
** run.h -- a run's plan, shared by the executor (exec.c) and the fusions
** it plans (fuse.c).  Internal to the engine.
*/
#ifndef K2T_ENGINE_RUN_H
#define K2T_ENGINE_RUN_H

#include "op.h"

struct k2t_run {
    const k2t_model *m;
    k2t_opts o;
    int max_batch, batch;
    int threads;
    k2t_step *s;
    int n;
    float *arena;           /* whole-batch buffers: inputs, outputs, everything when keeping */
    int64_t arena_floats;
    size_t arena_bytes;     /* its size from the pool */
    float **local;          /* fast path: per-thread arenas of reused buffers */
    int64_t local_floats;
    size_t *local_bytes;
    int local_batch;        /* samples a thread's local arena holds */
    float **ws;             /* per thread */
    int64_t ws_floats;
    size_t *ws_bytes;
    k2t_tensor *out;        /* per node: view into arena */
    k2t_tensor *pre;
    int *ran;               /* node has been computed for the current input */
    int *stale;             /* a lazy chain member not yet computed from its head */
    int *stale_pre;         /* a pre-activation not yet computed (pre_lazy) */
    int keras_chw;          /* the model computes channels first (k2t_model_chw): layout
                            ** NCHW holds its tensors as Keras does */
};

/* The fusions (fuse.c), planned once per run.  Before the buffers:
** k2t_fold_pads (both paths), then on the fast path k2t_fuse and
** k2t_concat_direct; after them, on the keep path, k2t_keep_chains and
** k2t_concat_direct. */
void k2t_fold_pads(k2t_run *r);
void k2t_fuse(k2t_run *r);
void k2t_keep_chains(k2t_run *r);
void k2t_concat_direct(k2t_run *r);

/* Whether step s's kept pre-activation is left to be computed when read:
** a GEMM whose kernels take the chain form applies its activation in
** its output pass, as the fast path does; k2t_run_preact runs it again
** without the activation (the same sums: its pre-activation bit for bit).
** The layer's own output, the activation's, is stored. */
static inline int pre_lazy(const k2t_step *s)
{
    return s->pre_off >= 0 && s->epi_keep && !s->fallback;
}

/* The last step of chain head s (s itself when it heads nothing). */
static inline int chain_last(const k2t_step *s)
{
    for (int k = 2; k >= 0; k--)
        if (s->chain[k] >= 0) return s->chain[k];
    return s->node;
}

/* Whether step s heads a keep path chain (k2t_keep_chains): its pass
** stores only the last member's output, its own is computed when read. */
static inline int keep_chain(const k2t_step *s)
{
    return chain_last(s) != s->node;
}

/* The first step a head's pass covers: its folded pad, or itself. */
static inline int chain_first(const k2t_step *s)
{
    return s->pad_src >= 0 ? s->pad_src : s->node;
}

/* The head of the pass that writes step L's output: its chain's, or L. */
static inline int head_of(const k2t_step *L)
{
    return L->chain_head >= 0 && !L->lazy && L->node != L->chain_head ? L->chain_head : L->node;
}

#endif /* K2T_ENGINE_RUN_H */
