/*
** align.h -- a PyTorch port's dumped activations paired with the Keras layers (align.c).
*/
#ifndef K2T_ENGINE_ALIGN_H
#define K2T_ENGINE_ALIGN_H

#include "k2t.h"

/* What an array was paired with.  STATE: a recurrent module's final state
** (h_n, c_n: (D*layers, N, units)), checked against its Keras layer's last
** state when it can be (mad, pass), otherwise only named. */
enum { K2T_ENT_UNMATCHED, K2T_ENT_MATCHED, K2T_ENT_REPEAT, K2T_ENT_STATE };

/* One array of the dump and what it was paired with. */
typedef struct k2t_align_entry {
    const k2t_npz_entry *z;
    int nv;               /* views of the data in Keras layout: converted, then as stored */
    k2t_shape vs[2];      /* per-sample shape of each view */
    const float *vd[2];   /* each view's data, batch first */
    float *conv;          /* the converted view (owned) */
    int state;            /* K2T_ENT_* */
    int node, pre, chw;   /* the match: node, its pre-activation, a Flatten read in CHW order */
    int view;
    double mad, ref;      /* max|torch - keras|, max|keras| */
    int pass;
    int map_node;         /* -1, -2 (skip), or the node --map pairs it with */
    int map_line;
    int repeat_of;        /* REPEAT: the earlier array with the same tensor */
    char why[300];        /* UNMATCHED: why; STATE: "h_n" or "c_n" */
    const k2t_npz_entry *in; /* the module's recorded input (NAME.in), or NULL */
    int loc;              /* the module on its own input: 0 not checked, 1 ok, 2 out of tolerance */
    double lmad;          /* max|diff| of that check */
    int lview;            /* the reading of its input that fits (k2t_align_in_view) */
    int bug;              /* the caller's: index of its finding, or -1 */
    int hn;               /* an h_n standing in for its module's output (k2t_align_stand_in) */
} k2t_align_entry;

/* The pairing's state.  The caller fills the first block (runs, buffers,
** entries: it owns them); k2t_align_all fills the rest, freed by
** k2t_align_free. */
typedef struct k2t_align {
    const k2t_model *m;
    k2t_run *rk;          /* the Keras run: every activation kept */
    k2t_run *rl;          /* a Keras run fed a module's own input */
    int n;                /* samples */
    float *scratch;       /* max_numel * n floats: a node's reference in CHW order, an emulated output */
    float *scratch2;      /* as many: a layer run on a module's own input */
    float *inbuf;         /* as many: a module's input in Keras layout */
    int64_t max_numel;    /* largest per-sample activation */
    k2t_align_entry *es;  /* the dump's arrays, in execution order */
    int ne;
    double atol, rtol;    /* within tolerance: max|diff| <= atol + rtol * max|keras| */
    k2t_block *blocks;    /* residual blocks (k2t_find_blocks) */
    int n_blocks;
    int *block_of;        /* per node */
    int *done;            /* per node: 0 free, 1 pre-activation matched, 2 output matched */
    char *anc;            /* per node: feeds a matched node (already computed) */
    char *reserved;       /* per node: --map pairs an array with it */
    int P;                /* the furthest position matched (-1: none; start there) */
} k2t_align;

/* e's data read in Keras layout: (N,C,H,W) as (N,H,W,C), (N,C,L) as
** (N,L,C), then as stored; the batch axis comes off (e->conv allocated). */
void k2t_align_views(k2t_align_entry *e);
/* Is e a recurrent module's final state (NAME.1, NAME.1.0, NAME.1.1 of an
** LSTM/GRU/RNN)?  Then it is marked STATE and 1 returned. */
int k2t_align_is_state(k2t_align *c, k2t_align_entry *e);
/* Pair every array with a layer (e->map_node first, then by order, shape,
** value and structure); returns the index of the first divergent array,
** or -1. */
int k2t_align_all(k2t_align *c);
/* Check each h_n against its Keras layer's last state. */
void k2t_align_states(k2t_align *c);
/* A recurrent layer without return_sequences outputs its last state: an
** h_n checked by k2t_align_states and paired with nothing else becomes its
** module's matched array (e->hn), so that it is checked on the module's own
** input and diagnosed; *first moves to it when it is earlier and fails. */
void k2t_align_stand_in(k2t_align *c, int *first);
/* Check a matched e on its module's own input (e->loc, lmad, lview). */
void k2t_align_local_check(k2t_align *c, k2t_align_entry *e);
/* Free what k2t_align_all allocated. */
void k2t_align_free(k2t_align *c);

/* Helpers the diagnosis shares.  Equal shapes once axes of size 1 are dropped. */
int k2t_align_shape_fits(const k2t_shape *a, const k2t_shape *b);
/* max|a-b| (NaN counts as worst) and max|b| over cnt values. */
void k2t_align_measure(const float *a, const float *b, int64_t cnt, double *mad, double *ref);
int k2t_align_within(const k2t_align *c, double mad, double ref);
/* A Flatten of a spatial map (a port may flatten it in CHW order): its input node, or -1. */
int k2t_align_spatial_flatten(const k2t_model *m, int node);
/* Is a module of class cls the activation that node fuses? */
int k2t_align_fused_act(const k2t_align *c, const char *cls, int node, int pre);
/* The recorded input 'in' read as node src's output in reading v (0 NCHW,
** 1 as stored, 2 a CHW-ordered flat vector, 3 a reversed sequence) into
** out; 0 when that reading does not fit. */
int k2t_align_in_view(k2t_align *c, const k2t_npz_entry *in, int src, int v, float *out);
/* Keras's node (pre-activation with pre) run on 'in' read as v, into c->scratch2; 0 when it cannot. */
int k2t_align_local_run(k2t_align *c, const k2t_npz_entry *in, int node, int pre, int v);
/* node's fused activation applied to 'in', into c->scratch2 (*lv: the reading); 0 when it does not fit. */
int k2t_align_local_act(k2t_align *c, const k2t_npz_entry *in, int node, k2t_act act, int *lv);

#endif
