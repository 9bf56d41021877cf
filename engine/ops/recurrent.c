/*
** recurrent.c -- sequences: SimpleRNN, LSTM, GRU and Bidirectional (the
** layers that make masks, Embedding and Masking, are in embedding.c).
**
** A recurrent layer reads (T, F) per sample and keeps a state of 'units'
** values (LSTM: h and c).  Keras's weights (KERAS-FORMAT 3): kernel (F,
** k*units), recurrent_kernel (units, k*units) and bias, with the gate
** blocks in Keras's order -- LSTM i, f, c, o; GRU z, r, h -- and GRU's
** bias (2, 3*units) when reset_after (row 0 for the input, row 1 for the
** recurrent product), (3*units,) otherwise.  Per step t:
**
**   SimpleRNN  h = act(x W + h U + b)
**   LSTM       z = x W + h U + b; i, f, o = rec(z_i, z_f, z_o);
**              c = f*c + i*act(z_c); h = o*act(c)
**   GRU        reset_after: gx = x W + b_in, gh = h U + b_rec;
**                z, r = rec(gx + gh); n = act(gx_h + r*gh_h)
**              else: z, r = rec(x W + h U + b); n = act(x W_h + (r*h) U_h + b_h)
**              h = z*h + (1-z)*n
**
** rec is recurrent_activation (sigmoid, or hard_sigmoid with the Keras
** version's formula), act is activation (tanh).  go_backwards reads the
** steps last to first and returns the outputs in that order, as Keras
** does.  Dropout is ignored (inference).  A masked step (Masking,
** Embedding mask_zero) keeps the state.  return_state makes the call
** return [output, h(, c)] (Bidirectional: its output(s), then the
** forward half's states, then the backward half's): the loader gives each
** later tensor a node "name:j" that forward() fills through f->parts.
** stateful and time_major layers are kept inspectable but not executed.
**
** PyTorch's nn.LSTM orders its gates i, f, g, o as Keras does, but splits
** the bias in two; nn.GRU orders them r, z, n and has no reset_after=False.
** Those are their hazards here.  Export writes nn.RNN/LSTM/GRU where they
** compute the layer (Keras's default activations), else the file's own
** KerasRNN (GRU reset_after=False, hard_sigmoid in either Keras's formula,
** any other activation), with nn's parameter names and gate order.  A
** layer a mask reaches runs through the file's keras_rnn(): the mask is
** computed in forward() by its maker (Embedding mask_zero from the ids,
** Masking from the features) and handed on as the executor does; the
** batch runs packed (pack_padded_sequence) when every row's mask is a
** prefix, else step by step with torch.where keeping the state, so right
** and left padding are both exact.  Export still refuses mask_zero on ids
** of more than one axis.
*/
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../op.h"
#include "../py.h"

/*--------------------------------------------------------------- parse */

/* The cell's kind: the layer's own, or the one a Bidirectional wraps. */
static k2t_op cell_op(const k2t_layer *L)
{
    return L->op == K2T_OP_BIDIRECTIONAL ? (k2t_op)L->cfg.inner_op : L->op;
}

static int n_gates(const k2t_layer *L)
{
    return cell_op(L) == K2T_OP_LSTM ? 4 : cell_op(L) == K2T_OP_GRU ? 3 : 1;
}

static k2t_status rnn_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    k2t_cfg *g = &L->cfg;
    int major = m ? m->keras_major : 2, stateful = 0, time_major = 0;
    k2t_status st;
    g->rec_act = K2T_ACT_SIGMOID;
    if ((st = cfg_require(c, "units", err)) || (st = cfg_int(c, "units", 0, &g->units, err)) ||
        (st = cfg_bool(c, "use_bias", 1, &g->use_bias, err)) ||
        (st = cfg_bool(c, "return_sequences", 0, &g->return_sequences, err)) ||
        (st = cfg_bool(c, "return_state", 0, &g->return_state, err)) ||
        (st = cfg_bool(c, "go_backwards", 0, &g->go_backwards, err)) ||
        (st = cfg_bool(c, "stateful", 0, &stateful, err)) ||
        (st = cfg_bool(c, "time_major", 0, &time_major, err)) ||
        (st = cfg_bool(c, "zero_output_for_mask", 0, &g->zero_output, err)) ||
        /* absent: Keras 3 and tf.keras write it; standalone Keras <= 2.3 had the v1 GRU */
        (st = cfg_bool(c, "reset_after", major >= 3, &g->reset_after, err)) ||
        (st = cfg_activation(c, "activation", major, &g->act, &L->unsupported, err)))
        return st;
    if (!json_object_get(c, "activation")) g->act = K2T_ACT_TANH;
    if (cell_op(L) != K2T_OP_SIMPLE_RNN &&
        (st = cfg_activation(c, "recurrent_activation", major, &g->rec_act, &L->unsupported, err)))
        return st;
    if (cell_op(L) != K2T_OP_SIMPLE_RNN && !json_object_get(c, "recurrent_activation")) g->rec_act = K2T_ACT_SIGMOID;
    if (g->units <= 0) return k2t_fail(err, K2T_EFORMAT, "config key 'units' must be positive, got %d", g->units);
    if (stateful) k2t_set_unsupported(L, "stateful recurrent layers are not supported");
    if (time_major) k2t_set_unsupported(L, "time_major=True is not supported");
    cfg_initializer(c, "kernel_initializer", g->initializer, sizeof g->initializer);
    return K2T_OK;
}

/* Its states per direction: h (and c for an LSTM). */
static int n_state(const k2t_layer *L)
{
    return cell_op(L) == K2T_OP_LSTM ? 2 : 1;
}

/* The nn module of its kind: "LSTM", "GRU" or "RNN". */
static const char *rnn_kind(const k2t_layer *L)
{
    return cell_op(L) == K2T_OP_LSTM ? "LSTM" : cell_op(L) == K2T_OP_GRU ? "GRU" : "RNN";
}

/* The sequence, then initial_state (h[, c] per direction, forward first):
** each (units). */
static k2t_status rnn_infer(const k2t_layer *L, const k2t_shape *in, int n_in, k2t_shape *out, k2t_err *err)
{
    int dirs = L->op == K2T_OP_BIDIRECTIONAL ? 2 : 1;
    if (n_in != 1 && n_in != 1 + dirs * n_state(L))
        return k2t_fail(err, K2T_ESHAPE, "expects a sequence%s, got %d inputs", n_state(L) == 2 ?
                        (dirs == 2 ? " and maybe its 4 initial states" : " and maybe its initial states h, c") :
                        (dirs == 2 ? " and maybe its 2 initial states" : " and maybe its initial state h"), n_in);
    for (int j = 1; j < n_in; j++)
        if (in[j].ndim != 1 || (in[j].d[0] >= 0 && in[j].d[0] != L->cfg.units))
            return k2t_fail(err, K2T_ESHAPE, "initial state %d must be (%d,) per sample", j - 1, L->cfg.units);
    if (in->ndim != 2)
        return k2t_fail(err, K2T_ESHAPE, "expects a sequence (T, F) per sample, got %d dimensions", in->ndim);
    if (L->cfg.return_sequences) *out = (k2t_shape){.ndim = 2, .d = {in->d[0], L->cfg.units}};
    else *out = (k2t_shape){.ndim = 1, .d = {L->cfg.units}};
    return K2T_OK;
}

/* return_state: Keras returns [output, h] (SimpleRNN, GRU) or [output,
** h, c] (LSTM); each state is (units). */
static int n_states(const k2t_layer *L)
{
    return L->cfg.return_state ? n_state(L) : 0;
}

static int rnn_parts(const k2t_layer *L, const k2t_shape *first, int j, k2t_shape *out)
{
    (void)first;
    if (out && j >= 1 && j <= n_states(L)) *out = (k2t_shape){.ndim = 1, .d = {L->cfg.units}};
    return n_states(L);
}

static int rnn_weights(const k2t_layer *L, const k2t_shape *in, k2t_wspec *spec)
{
    int64_t u = L->cfg.units, k = n_gates(L) * u, f = in && in->ndim == 2 ? in->d[1] : -1;
    spec[0] = (k2t_wspec){.name = "kernel", .trainable = 1, .shape = {.ndim = 2, .d = {f, k}}};
    spec[1] = (k2t_wspec){.name = "recurrent_kernel", .trainable = 1, .shape = {.ndim = 2, .d = {u, k}}};
    if (!L->cfg.use_bias) return 2;
    if (cell_op(L) == K2T_OP_GRU && L->cfg.reset_after)
        spec[2] = (k2t_wspec){.name = "bias", .trainable = 1, .shape = {.ndim = 2, .d = {2, k}}};
    else
        spec[2] = (k2t_wspec){.name = "bias", .trainable = 1, .shape = {.ndim = 1, .d = {k}}};
    return 3;
}

static void rnn_describe(const k2t_layer *L, k2t_buf *b)
{
    const k2t_cfg *g = &L->cfg;
    k2t_buf_printf(b, "units=%d, activation=%s", g->units, k2t_act_name(g->act));
    if (cell_op(L) != K2T_OP_SIMPLE_RNN) k2t_buf_printf(b, ", recurrent_activation=%s", k2t_act_name(g->rec_act));
    if (cell_op(L) == K2T_OP_GRU) k2t_buf_printf(b, ", reset_after=%d", g->reset_after);
    k2t_buf_printf(b, ", return_sequences=%d, go_backwards=%d, use_bias=%d", g->return_sequences,
                   g->go_backwards, g->use_bias);
    if (g->return_state) k2t_buf_printf(b, ", return_state=1");
}

/* kernel (F, k*u) -> weight_ih_l0 (k*u, F): .T; recurrent likewise; the
** bias stays Keras's (PyTorch splits it: the hazard says how). */
/* nn.GRU's gate blocks r, z, n are Keras's blocks 1, 0, 2 (z, r, h). */
static void gru_order(const k2t_layer *L, k2t_tw *tw)
{
    if (cell_op(L) != K2T_OP_GRU) return;
    tw->blocks = 3;
    tw->order[0] = 1, tw->order[1] = 0, tw->order[2] = 2;
}

static int rnn_torch(const k2t_layer *L, int wi, k2t_tw *tw)
{
    const k2t_weight *w = &L->w[wi];
    tw->shape = w->shape;
    if (!strcmp(w->name, "bias")) {
        tw->suffix = "bias_ih_l0";
        gru_order(L, tw);
        if (w->shape.ndim == 2) { /* GRU reset_after: row 0 the input bias, row 1 the recurrent one */
            tw->row = 1;
            tw->shape.ndim = 1, tw->shape.d[0] = w->shape.d[1];
        }
        tw->keras_axes = cell_op(L) == K2T_OP_GRU ? "gates z, r, h" : NULL;
        tw->torch_axes = cell_op(L) == K2T_OP_GRU ? "gates r, z, n" : NULL;
        return 0;
    }
    if (w->shape.ndim != 2) return -1;
    tw->suffix = !strcmp(w->name, "kernel") ? "weight_ih_l0" : !strcmp(w->name, "recurrent_kernel") ? "weight_hh_l0" : NULL;
    if (!tw->suffix) return -1;
    tw->shape.d[0] = w->shape.d[1], tw->shape.d[1] = w->shape.d[0];
    tw->n_perm = 2, tw->perm[0] = 1, tw->perm[1] = 0;
    gru_order(L, tw);
    tw->keras_axes = cell_op(L) == K2T_OP_LSTM ? "(in, 4*units), gates i, f, c, o" :
                     cell_op(L) == K2T_OP_GRU ? "(in, 3*units), gates z, r, h" : "(in, units)";
    tw->torch_axes = cell_op(L) == K2T_OP_LSTM ? "(4*units, in), gates i, f, g, o" :
                     cell_op(L) == K2T_OP_GRU ? "(3*units, in), gates r, z, n" : "(units, in)";
    return 0;
}

/*---------------------------------------------------------------- gates */

/* The gates in Keras's block order, with PyTorch's name for each (nn.LSTM
** calls the cell input g, nn.GRU the candidate n) and what it does.  Where
** nn.LSTM/GRU keep each block is the weights' k2t_tw above (gru_order);
** k2t_layer_gates reads it from there. */
static int rnn_gates(const k2t_layer *L, k2t_gates *g)
{
    static const char *const lstm[3][4] = {{"i", "f", "c", "o"}, {"i", "f", "g", "o"},
                                           {"input", "forget", "cell", "output"}};
    static const char *const gru[3][3] = {{"z", "r", "h"}, {"z", "r", "n"}, {"update", "reset", "candidate"}};
    static const char *const rnn[3][1] = {{"h"}, {"h"}, {"state"}};
    int n = n_gates(L);
    for (int i = 0; i < n; i++) {
        g->keras[i] = n == 4 ? lstm[0][i] : n == 3 ? gru[0][i] : rnn[0][i];
        g->torch[i] = n == 4 ? lstm[1][i] : n == 3 ? gru[1][i] : rnn[1][i];
        g->role[i] = n == 4 ? lstm[2][i] : n == 3 ? gru[2][i] : rnn[2][i];
    }
    g->module = n == 4 ? "LSTM" : n == 3 ? "GRU" : "RNN";
    return n;
}

/*---------------------------------------------------------- port hazards */

/* Weight wi's right PyTorch tensor, as code (its k2t_tw: .T, gate blocks). */
static void tw_fix(k2t_hz *h, int wi)
{
    const k2t_weight *w = &h->L->w[wi];
    char tname[300], how[160];
    k2t_shape ts;
    k2t_tw tw;
    if (k2t_layer_tw(h->L, wi, &tw) != 0 || k2t_torch_param(h->m, h->L, wi, tname, sizeof tname, &ts) != 0) return;
    k2t_tw_code(w, &tw, how, sizeof how);
    k2t_hz_code(h, "sd[\"%s\"] = torch.from_numpy(%s)%s", tname, w->name, how);
}

/* A bias's PyTorch tensors: bias_ih from it (a GRU's row 0), bias_hh zeros
** or (gru_rows) a GRU's row 1, both with nn.GRU's gate order. */
static void bias_fix(k2t_hz *h, const char *name, int gru_rows)
{
    const k2t_layer *L = h->L;
    int wi = -1;
    for (int i = 0; i < L->n_w; i++)
        if (!strcmp(L->w[i].name, name)) wi = i;
    char tname[300], hh[300];
    k2t_shape ts;
    if (wi < 0 || k2t_torch_param(h->m, L, wi, tname, sizeof tname, &ts) != 0) return;
    snprintf(hh, sizeof hh, "%s", tname);
    char *p = strstr(hh, "bias_ih");
    if (p) p[5] = 'h';
    int u = L->cfg.units;
    if (!gru_rows) {
        tw_fix(h, wi);
        k2t_hz_code(h, "sd[\"%s\"] = torch.zeros(%d)", hh, n_gates(L) * u);
    } else {
        k2t_hz_code(h, "sd[\"%s\"] = torch.from_numpy(%s[0]).reshape(3, %d)[[1, 0, 2]].reshape(%d)", tname, name, u,
                    3 * u);
        k2t_hz_code(h, "sd[\"%s\"] = torch.from_numpy(%s[1]).reshape(3, %d)[[1, 0, 2]].reshape(%d)", hh, name, u,
                    3 * u);
    }
}

static void rnn_hazards(k2t_hz *h)
{
    const k2t_cfg *g = &h->L->cfg;
    int u = g->units;
    int *in = k2t_xmalloc((size_t)h->m->n_nodes * sizeof *in);
    k2t_mask_sources(h->m, NULL, in);
    if (in[h->node] >= 0) {
        k2t_hz_say(h, K2T_PIT_MASK, 1, "skips the padding steps that '%s' marks (its state carries over%s); "
                   "nn.%s reads every step: pack the batch with its lengths when every row is right-padded, else "
                   "run the steps one by one keeping the state at padded ones (left padding, pad_sequences' "
                   "default)", h->m->nodes[in[h->node]].name,
                   !g->return_sequences ? "" : h->L->op == K2T_OP_BIDIRECTIONAL || g->zero_output ?
                   ", the output there is zeros" : ", the output there repeats the previous one",
                   rnn_kind(h->L));
        k2t_hz_code(h, "out, hn = rnn(nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, "
                    "enforce_sorted=False))");
    }
    free(in);
    int bi = h->L->op == K2T_OP_BIDIRECTIONAL;
    const char *mod = rnn_kind(h->L);
    int gru = cell_op(h->L) == K2T_OP_GRU;
    if (g->use_bias && !gru) {
        k2t_hz_say(h, K2T_PIT_RNN_BIAS, 1, "Keras keeps one %s bias (%d*units); nn.%s adds bias_ih_l0 and "
                   "bias_hh_l0: put Keras's bias in one and zeros in the other, not the bias in both%s",
                   cell_op(h->L) == K2T_OP_LSTM ? "LSTM" : "SimpleRNN", n_gates(h->L), mod,
                   bi ? " (and likewise bias_ih_l0_reverse, bias_hh_l0_reverse from backward_bias)" : "");
        bias_fix(h, "bias", 0);
        if (bi) bias_fix(h, "backward_bias", 0);
    }
    if (gru && g->use_bias && g->reset_after) {
        k2t_hz_say(h, K2T_PIT_RNN_BIAS, 1, "Keras's GRU bias %s(2, %d) has a row per product: row 0 (the "
                   "input's) is bias_ih_l0, row 1 (the recurrent one's, inside the reset gate) is bias_hh_l0, each "
                   "with its gates reordered", bi ? "and backward_bias " : "", 3 * u);
        bias_fix(h, "bias", 1);
        if (bi) bias_fix(h, "backward_bias", 1);
    }
    if (gru) {
        k2t_hz_say(h, K2T_PIT_GATES, 1, "gate order: Keras stores a GRU's gate blocks z, r, h; nn.GRU reads its rows "
                   "as r, z, n: copied as they are, its update and reset gates are exchanged. Swap the first two "
                   "blocks of every kernel (after .T) and bias row");
        for (int wi = 0; wi < h->L->n_w; wi++)
            if (strstr(h->L->w[wi].name, "kernel")) tw_fix(h, wi);
        if (g->use_bias) bias_fix(h, "bias", g->reset_after);
        if (g->use_bias && bi) bias_fix(h, "backward_bias", g->reset_after);
        if (!g->reset_after)
            k2t_hz_say(h, K2T_PIT_ACTIVATION, 1, "reset_after=False applies the reset gate before the recurrent "
                       "product; nn.GRU applies it after (reset_after=True): write the cell out by hand (export "
                       "writes one, KerasRNN)");
    }
    if ((g->rec_act == K2T_ACT_HARD_SIGMOID || g->rec_act == K2T_ACT_HARD_SIGMOID3) &&
        cell_op(h->L) != K2T_OP_SIMPLE_RNN)
        k2t_hz_say(h, K2T_PIT_ACTIVATION, 1, "recurrent_activation hard_sigmoid is Keras %d's clip(%s, 0, 1); "
                   "nn.%s's gates use sigmoid: write the cell out by hand (export writes one, KerasRNN)", g->rec_act == K2T_ACT_HARD_SIGMOID ? 2 : 3,
                   g->rec_act == K2T_ACT_HARD_SIGMOID ? "0.2*x + 0.5" : "x/6 + 0.5", mod);
    else if (g->rec_act != K2T_ACT_SIGMOID && cell_op(h->L) != K2T_OP_SIMPLE_RNN)
        k2t_hz_say(h, K2T_PIT_ACTIVATION, 1, "recurrent_activation %s; nn.%s's gates use sigmoid: write the cell "
                   "out by hand (export writes one, KerasRNN)", k2t_act_name(g->rec_act), mod);
    if (g->act != K2T_ACT_TANH && !(cell_op(h->L) == K2T_OP_SIMPLE_RNN && g->act == K2T_ACT_RELU))
        k2t_hz_say(h, K2T_PIT_ACTIVATION, 1, "activation %s; nn.%s has %s: write the cell out by hand (export writes one, KerasRNN)",
                   k2t_act_name(g->act), mod, cell_op(h->L) == K2T_OP_SIMPLE_RNN ? "tanh and relu" : "tanh only");
    k2t_hz_say(h, K2T_PIT_LAYOUT, 1, "Keras's sequences are (N, T, F); nn.%s defaults to (T, N, F)",
               rnn_kind(h->L));
    k2t_hz_code(h, "nn.%s(%lld, %d, batch_first=True%s)", rnn_kind(h->L),
                h->in && h->in->ndim == 2 ? (long long)h->in->d[1] : -1LL, u, bi ? ", bidirectional=True" : "");
    if (h->N->n_in > 1) {
        int lstm = cell_op(h->L) == K2T_OP_LSTM, K = n_state(h->L);
        const k2t_model *m = h->m;
        k2t_hz_say(h, K2T_PIT_RNN_STATE, 1, "initial_state [%s%s%s%s%s]: nn.%s takes it as its second argument, %s",
                   m->nodes[h->N->in[1]].name, h->N->n_in > 2 ? ", " : "",
                   h->N->n_in > 2 ? m->nodes[h->N->in[2]].name : "", h->N->n_in > 3 ? ", ..." : "", "",
                   rnn_kind(h->L),
                   lstm ? "the tuple (h0, c0), each (directions, N, units): h first" : "h0 (directions, N, units)");
        if (!bi) k2t_hz_code(h, K == 2 ? "out, (hn, cn) = rnn(x, (h[None], c[None]))" : "out, hn = rnn(x, h[None])");
    }
    if (g->return_state) {
        int lstm = cell_op(h->L) == K2T_OP_LSTM;
        k2t_hz_say(h, K2T_PIT_RNN_STATE, 1, "return_state=True: Keras returns one flat list [%s]; nn.%s returns "
                   "(output, %s), each state (%s, N, units): unpack them in Keras's order",
                   bi ? (lstm ? "output, h_fwd, c_fwd, h_bwd, c_bwd" : "output, h_fwd, h_bwd")
                      : (lstm ? "output, h, c" : "output, h"),
                   rnn_kind(h->L), lstm ? "(h_n, c_n)" : "h_n",
                   bi ? "2: forward, backward" : "1");
        k2t_hz_code(h, bi ? (lstm ? "out, (hn, cn) = rnn(x); h_fwd, c_fwd, h_bwd, c_bwd = hn[0], cn[0], hn[1], cn[1]"
                                  : "out, hn = rnn(x); h_fwd, h_bwd = hn[0], hn[1]")
                          : (lstm ? "out, (hn, cn) = rnn(x); h, c = hn[0], cn[0]" : "out, hn = rnn(x); h = hn[0]"));
    }
}

/*------------------------------------------------------- PyTorch export */

/* nn.RNN (tanh or relu), nn.LSTM and nn.GRU (tanh and sigmoid, GRU
** reset_after=True) hold the layers Keras's defaults make; anything else
** is the file's KerasRNN, with the same parameters, computed step by
** step.  Both run through keras_rnn() when a mask reaches the layer: a
** packed sequence when every row's mask is a prefix, else a step loop
** that keeps the state at masked steps (exact for left padding too). */
static int rnn_custom(const k2t_layer *L)
{
    const k2t_cfg *g = &L->cfg;
    if (cell_op(L) == K2T_OP_SIMPLE_RNN) return g->act != K2T_ACT_TANH && g->act != K2T_ACT_RELU;
    return g->act != K2T_ACT_TANH || g->rec_act != K2T_ACT_SIGMOID || (cell_op(L) == K2T_OP_GRU && !g->reset_after);
}

static const char py_rnn_class[] =
    "class KerasRNN(nn.Module):\n"
    "    \"\"\"A Keras SimpleRNN, LSTM or GRU that nn.RNN/LSTM/GRU cannot compute (an activation or\n"
    "    recurrent_activation PyTorch hard-codes otherwise, a GRU with reset_after=False).  Its\n"
    "    parameters are the nn module's (weight_ih_l0 (k*units, in), weight_hh_l0 (k*units, units),\n"
    "    bias_ih_l0, bias_hh_l0, and the same ending in _reverse for a Bidirectional's backward\n"
    "    half), with PyTorch's gate order (LSTM i, f, g, o; GRU r, z, n): the same state_dict.\n"
    "    keras_rnn() runs it step by step.\"\"\"\n"
    "\n"
    "    def __init__(self, mode, input_size, hidden_size, bias=True, bidirectional=False,\n"
    "                 activation=torch.tanh, recurrent_activation=torch.sigmoid, reset_after=True):\n"
    "        super().__init__()\n"
    "        self.mode, self.hidden_size, self.bidirectional = mode, hidden_size, bidirectional\n"
    "        self.activation, self.recurrent_activation = activation, recurrent_activation\n"
    "        self.reset_after = reset_after\n"
    "        k = {\"RNN\": 1, \"LSTM\": 4, \"GRU\": 3}[mode] * hidden_size\n"
    "        for s in (\"_l0\", \"_l0_reverse\")[:2 if bidirectional else 1]:\n"
    "            self.register_parameter(\"weight_ih\" + s, nn.Parameter(torch.empty(k, input_size)))\n"
    "            self.register_parameter(\"weight_hh\" + s, nn.Parameter(torch.empty(k, hidden_size)))\n"
    "            if bias:\n"
    "                self.register_parameter(\"bias_ih\" + s, nn.Parameter(torch.empty(k)))\n"
    "                self.register_parameter(\"bias_hh\" + s, nn.Parameter(torch.empty(k)))\n"
    "\n"
    "    def forward(self, x, mask=None, **kw):\n"
    "        return keras_rnn(self, x, mask, **kw)\n";

static const char py_rnn_run[] =
    "def keras_rnn_step(rnn, d, x, state):\n"
    "    \"\"\"Keras's step of direction d (0 forward, 1 backward) of rnn (an nn.RNN/LSTM/GRU or a\n"
    "    KerasRNN) on x (N, in) from state (h, or (h, c) for an LSTM): the new state.\"\"\"\n"
    "    s = \"_l0_reverse\" if d else \"_l0\"\n"
    "    w_ih, w_hh = getattr(rnn, \"weight_ih\" + s), getattr(rnn, \"weight_hh\" + s)\n"
    "    b_ih, b_hh = getattr(rnn, \"bias_ih\" + s, None), getattr(rnn, \"bias_hh\" + s, None)\n"
    "    act = getattr(rnn, \"activation\", F.relu if rnn.mode == \"RNN_RELU\" else torch.tanh)\n"
    "    rec = getattr(rnn, \"recurrent_activation\", torch.sigmoid)\n"
    "    h = state[0] if rnn.mode == \"LSTM\" else state\n"
    "    gx, gh = F.linear(x, w_ih, b_ih), F.linear(h, w_hh, b_hh)\n"
    "    if rnn.mode == \"LSTM\":\n"
    "        i, f, g, o = (gx + gh).chunk(4, 1)\n"
    "        c = rec(f) * state[1] + rec(i) * act(g)\n"
    "        return rec(o) * act(c), c\n"
    "    if rnn.mode == \"GRU\":\n"
    "        (xr, xz, xn), (hr, hz, hn) = gx.chunk(3, 1), gh.chunk(3, 1)\n"
    "        r, z = rec(xr + hr), rec(xz + hz)\n"
    "        if getattr(rnn, \"reset_after\", True):\n"
    "            n = act(xn + r * hn)\n"
    "        else:  # Keras's reset_after=False: the reset gate applies before the recurrent product\n"
    "            u = h.shape[1]\n"
    "            n = act(xn + F.linear(r * h, w_hh[2 * u:], None if b_hh is None else b_hh[2 * u:]))\n"
    "        return z * h + (1 - z) * n\n"
    "    return act(gx + gh)\n"
    "\n"
    "\n"
    "def keras_rnn(rnn, x, mask=None, go_backwards=False, return_sequences=False, zero_output=False,\n"
    "              init=None, return_state=False):\n"
    "    \"\"\"Keras's recurrent layer rnn (an nn.RNN/LSTM/GRU or a KerasRNN; bidirectional: Keras's\n"
    "    Bidirectional, the halves concatenated) over x (N, T, in) with Keras's mask (N, T), True at\n"
    "    the real steps (None: all).  Returns the outputs (N, T, D*units), or the last states\n"
    "    (N, D*units).\n"
    "\n"
    "    Keras skips a masked step: the state carries over it, and with return_sequences the output\n"
    "    there repeats the previous one (zeros with zero_output_for_mask, which Bidirectional sets).\n"
    "    go_backwards reads the steps last to first and returns the outputs in that order; a\n"
    "    Bidirectional's backward half is put back in time order.  When every row's mask is a prefix\n"
    "    (right padding; with go_backwards left padding), an nn module runs the packed sequence\n"
    "    (pack_padded_sequence); else (left padding, pad_sequences' default, or gaps) the steps run\n"
    "    one by one with the state kept at masked steps (torch.where): both give Keras's numbers.\n"
    "\n"
    "    init is Keras's initial_state, a list of h (and c for an LSTM) per direction, forward first;\n"
    "    with return_state the final states come back too, in that order: (outputs, states).\"\"\"\n"
    "    N, T = x.shape[0], x.shape[1]\n"
    "    D = 2 if rnn.bidirectional else 1\n"
    "    K = 2 if rnn.mode == \"LSTM\" else 1\n"
    "    if mask is None:\n"
    "        mask = torch.ones(N, T, dtype=torch.bool, device=x.device)\n"
    "    if go_backwards:\n"
    "        x, mask = x.flip(1), mask.flip(1)\n"
    "    steps = torch.arange(T, device=x.device)[None, :]\n"
    "    lengths = mask.sum(1)\n"
    "    if isinstance(rnn, nn.RNNBase) and bool((mask == (steps < lengths[:, None])).all()) and \\\n"
    "            bool((lengths > 0).all()):\n"
    "        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True,\n"
    "                                                   enforce_sorted=False)\n"
    "        hx = None\n"
    "        if init is not None:\n"
    "            hx = tuple(torch.stack(init[k::K]) for k in range(K)) if K == 2 else torch.stack(init)\n"
    "        out, hn = rnn(packed, hx)\n"
    "        out = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)[0]\n"
    "        states = [s[d] for d in range(D) for s in (hn if K == 2 else (hn,))]\n"
    "        if not return_sequences:\n"
    "            out = torch.cat(list(hn[0] if rnn.mode == \"LSTM\" else hn), 1)\n"
    "        elif D == 1 and not zero_output:  # past its length a row repeats its last output\n"
    "            idx = torch.minimum(steps.expand(N, T), (lengths - 1)[:, None])\n"
    "            out = out.gather(1, idx[:, :, None].expand(N, T, out.shape[2]))\n"
    "        return (out, states) if return_state else out\n"
    "    outs, last, states = [], [], []\n"
    "    for d in range(D):\n"
    "        h = x.new_zeros(N, rnn.hidden_size) if init is None else init[d * K]\n"
    "        state = (h, x.new_zeros(N, rnn.hidden_size) if init is None else init[d * K + 1]) if K == 2 else h\n"
    "        ys = [None] * T\n"
    "        for step in range(T):\n"
    "            t = T - 1 - step if d else step\n"
    "            new = keras_rnn_step(rnn, d, x[:, t], state)\n"
    "            keep = mask[:, t, None]\n"
    "            if rnn.mode == \"LSTM\":\n"
    "                state = (torch.where(keep, new[0], state[0]), torch.where(keep, new[1], state[1]))\n"
    "                h, hnew = state[0], new[0]\n"
    "            else:\n"
    "                state = h = torch.where(keep, new, state)\n"
    "                hnew = new\n"
    "            ys[t] = torch.where(keep, hnew, torch.zeros_like(hnew)) if zero_output else h\n"
    "        outs.append(torch.stack(ys, 1))\n"
    "        last.append(h)\n"
    "        states += list(state) if K == 2 else [state]\n"
    "    out = torch.cat(outs, 2) if return_sequences else torch.cat(last, 1)\n"
    "    return (out, states) if return_state else out\n";

/* ", NAME=lambda v: EXPR" for an activation KerasRNN takes (without the
** comment k2t_py_act may append). */
static size_t put_lambda(char *buf, size_t n, const char *name, k2t_act a)
{
    char e[300];
    const char *x = k2t_py_act(a, "v", e, sizeof e);
    char *hash = x ? strstr(e, "  #") : NULL;
    if (hash) *hash = '\0';
    int len = snprintf(buf, n, ", %s=lambda v: %s", name, x ? e : "v");
    return len < 0 ? n : (size_t)len;
}

/* The module, bidirectional or not: nn.LSTM(...) or KerasRNN("LSTM", ...). */
static int rnn_module_bi(const k2t_layer *L, int bi, char *buf, size_t n)
{
    const k2t_weight *W = k2t_layer_weight(L, "kernel");
    const k2t_cfg *g = &L->cfg;
    size_t len;
    if (!W) return -1;
    if (!rnn_custom(L))
        len = (size_t)snprintf(buf, n, "nn.%s(%lld, %d, batch_first=True%s%s%s)", rnn_kind(L),
                               (long long)W->shape.d[0], g->units,
                               cell_op(L) == K2T_OP_SIMPLE_RNN && g->act == K2T_ACT_RELU ? ", nonlinearity=\"relu\"" : "",
                               g->use_bias ? "" : ", bias=False", bi ? ", bidirectional=True" : "");
    else {
        len = (size_t)snprintf(buf, n, "KerasRNN(\"%s\", %lld, %d%s%s", rnn_kind(L), (long long)W->shape.d[0],
                               g->units, g->use_bias ? "" : ", bias=False", bi ? ", bidirectional=True" : "");
        if (len < n && g->act != K2T_ACT_TANH) len += put_lambda(buf + len, n - len, "activation", g->act);
        if (len < n && cell_op(L) != K2T_OP_SIMPLE_RNN && g->rec_act != K2T_ACT_SIGMOID)
            len += put_lambda(buf + len, n - len, "recurrent_activation", g->rec_act);
        if (len < n && cell_op(L) == K2T_OP_GRU && !g->reset_after)
            len += (size_t)snprintf(buf + len, n - len, ", reset_after=False");
        if (len < n) len += (size_t)snprintf(buf + len, n - len, ")");
    }
    return len < n ? (int)len : -1;
}

static int rnn_module(const k2t_layer *L, const k2t_shape *in, int ph, int pw, char *buf, size_t n)
{
    (void)ph, (void)pw, (void)in;
    return rnn_module_bi(L, L->op == K2T_OP_BIDIRECTIONAL, buf, n);
}

/* Does a mask reach node i (the layer then runs through keras_rnn)? */
static int rnn_masked(const k2t_model *m, int i)
{
    int *in = k2t_xmalloc((size_t)m->n_nodes * sizeof *in);
    k2t_mask_sources(m, NULL, in);
    int r = in[i] >= 0;
    free(in);
    return r;
}

/* The module, with what makes it KerasRNN said; the helpers it needs. */
static k2t_status rnn_py_init(k2t_py *y, int li, k2t_err *err)
{
    const k2t_model *m = k2t_py_model(y);
    const k2t_layer *L = k2t_py_layer_at(y, li);
    const k2t_cfg *g = &L->cfg;
    char mod[1200];
    k2t_status st = k2t_py_module(y, li, mod, sizeof mod, err);
    if (st != K2T_OK) return st;
    for (int i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].layer == li && rnn_masked(m, i)) k2t_py_helper(y, py_rnn_run);
    if (rnn_custom(L)) {
        k2t_py_helper(y, py_rnn_class);
        k2t_py_helper(y, py_rnn_run);
        char why[400] = "";
        if (cell_op(L) == K2T_OP_GRU && !g->reset_after)
            k2t_cat(why, sizeof why, "reset_after=False applies the reset gate before the recurrent product");
        if (g->act != K2T_ACT_TANH) k2t_cat(why, sizeof why, "%sactivation %s", *why ? "; " : "", k2t_act_name(g->act));
        if (cell_op(L) != K2T_OP_SIMPLE_RNN && g->rec_act != K2T_ACT_SIGMOID)
            k2t_cat(why, sizeof why, "%srecurrent_activation %s", *why ? "; " : "",
                    g->rec_act == K2T_ACT_HARD_SIGMOID ? "hard_sigmoid, Keras 2's clip(0.2x + 0.5, 0, 1)"
                    : g->rec_act == K2T_ACT_HARD_SIGMOID3 ? "hard_sigmoid, Keras 3's clip(x/6 + 0.5, 0, 1)"
                                                          : k2t_act_name(g->rec_act));
        k2t_py_printf(y, "        # %s: nn.%s cannot compute it (%s): KerasRNN, step by step\n", L->name,
                      rnn_kind(L), why);
    }
    k2t_py_printf(y, "        self.%s = %s  # %s\n", k2t_py_attr(y, li), mod, L->class_name);
    return K2T_OK;
}

/* PyTorch has two biases, bias_ih and bias_hh: Keras's one bias goes to
** bias_ih and bias_hh is zeros, but a reset_after GRU's second row (the
** recurrent bias, applied inside r * (h U + b)) is bias_hh. */
static void rnn_hh(const k2t_layer *L, const char *bias, const char *suffix, k2t_xt *x, int *n)
{
    const k2t_weight *b = k2t_layer_weight(L, bias);
    k2t_xt t = {.suffix = suffix, .shape = {.ndim = 1, .d = {(int64_t)n_gates(L) * L->cfg.units}}};
    if (b && b->shape.ndim == 2) {
        t.wi1 = (int)(b - L->w) + 1;
        t.tw.suffix = suffix;
        t.tw.shape = t.shape;
        t.tw.row = 2;
        gru_order(L, &t.tw);
    }
    x[(*n)++] = t;
}

static k2t_status rnn_extra(const k2t_layer *L, k2t_xt *x, int *n, k2t_err *err)
{
    (void)err;
    *n = 0;
    if (L->cfg.use_bias) rnn_hh(L, "bias", "bias_hh_l0", x, n);
    return K2T_OK;
}

/* keras_rnn(self.ATTR, a (N, T, F), mask, ...) into v: the outputs or the
** last states, each half's (a Bidirectional's concatenated). */
static void put_keras_rnn(k2t_py *y, int i, int zero_output)
{
    const k2t_model *m = k2t_py_model(y);
    const k2t_layer *L = k2t_py_layer(y, i);
    char mk[600], init[1200] = "";
    const char *mask = k2t_py_mask_in(y, i, mk, sizeof mk);
    if (m->nodes[i].n_in > 1) { /* initial_state: h (and c) per direction, forward first */
        size_t len = (size_t)snprintf(init, sizeof init, ", init=[");
        for (int k = 1; k < m->nodes[i].n_in && len < sizeof init; k++)
            len += (size_t)snprintf(init + len, sizeof init - len, "%s%s", k > 1 ? ", " : "", k2t_py_in(y, i, k));
        if (len < sizeof init) snprintf(init + len, sizeof init - len, "]");
    }
    k2t_py_printf(y, "        %s%s = keras_rnn(self.%s, %s.movedim(1, -1), %s%s%s%s%s%s)", k2t_py_var(y, i),
                  L->cfg.return_state ? ", hn" : "", k2t_py_attr(y, m->nodes[i].layer), k2t_py_in(y, i, 0),
                  mask ? mask : "None", L->cfg.go_backwards ? ", go_backwards=True" : "",
                  L->cfg.return_sequences ? ", return_sequences=True" : "", zero_output ? ", zero_output=True" : "",
                  init, L->cfg.return_state ? ", return_state=True" : "");
    if (mask)
        k2t_py_printf(y, "  # Keras skips the masked steps: the state carries over%s",
                      !L->cfg.return_sequences ? "" : zero_output ? ", the output there is zeros"
                                                                  : ", the output there repeats the previous one");
    k2t_py_printf(y, "\n");
}

/* The module holds (N, F, T), channels first: batch_first wants (N, T, F).
** go_backwards reads the steps reversed and keeps Keras's output order. */
/* The nn module's initial state from Keras's initial_state inputs (h and
** c per direction, forward first): ", (h0, c0)" with (D, N, units) each. */
static void native_init(k2t_py *y, int i, char *buf, size_t n)
{
    const k2t_model *m = k2t_py_model(y);
    const k2t_layer *L = k2t_py_layer(y, i);
    int K = n_state(L), D = L->op == K2T_OP_BIDIRECTIONAL ? 2 : 1;
    size_t len = 0;
    buf[0] = '\0';
    if (m->nodes[i].n_in < 1 + K * D) return;
    len += (size_t)snprintf(buf, n, ", %s", K == 2 ? "(" : "");
    for (int k = 0; k < K && len < n && D == 1; k++) /* one direction: (1, N, units) */
        len += (size_t)snprintf(buf + len, n - len, "%s%s[None]", k ? ", " : "", k2t_py_in(y, i, 1 + k));
    for (int k = 0; k < K && len < n && D == 2; k++) {
        len += (size_t)snprintf(buf + len, n - len, "%storch.stack([", k ? ", " : "");
        for (int d = 0; d < D && len < n; d++)
            len += (size_t)snprintf(buf + len, n - len, "%s%s", d ? ", " : "", k2t_py_in(y, i, 1 + d * K + k));
        if (len < n) len += (size_t)snprintf(buf + len, n - len, "])");
    }
    if (K == 2 && len < n) snprintf(buf + len, n - len, ")");
}

/* return_state: the call's state tensors (its parts from 'first' on) from
** the module's hn: keras_rnn's list, or nn's h_n (and c_n), (D, N, units). */
static void py_states(k2t_py *y, int i, int first, int from_list)
{
    const k2t_model *m = k2t_py_model(y);
    const k2t_layer *L = k2t_py_layer(y, i);
    int K = n_state(L), D = L->op == K2T_OP_BIDIRECTIONAL ? 2 : 1;
    if (!L->cfg.return_state) return;
    for (int s = 0; s < K * D; s++) {
        int pn = k2t_node_part(m, i, first + s), d = s / K, k = s % K;
        if (pn < 0) continue;
        if (from_list) k2t_py_printf(y, "        %s = hn[%d]\n", k2t_py_var(y, pn), s);
        else if (K == 2) k2t_py_printf(y, "        %s = hn[%d][%d]  # %s%s\n", k2t_py_var(y, pn), k, d,
                                       k ? "c_n" : "h_n", D == 1 ? "" : d ? " backward" : " forward");
        else k2t_py_printf(y, "        %s = hn[%d]  # h_n%s\n", k2t_py_var(y, pn), d, D == 2 ? (d ? " backward" : " forward") : "");
    }
}

static k2t_status rnn_py_forward(k2t_py *y, int i, k2t_err *err)
{
    const k2t_model *m = k2t_py_model(y);
    const k2t_layer *L = k2t_py_layer(y, i);
    const char *v = k2t_py_var(y, i), *a = k2t_py_in(y, i, 0), *attr = k2t_py_attr(y, m->nodes[i].layer);
    char hx[1200];
    (void)err;
    if (rnn_custom(L) || rnn_masked(m, i)) {
        put_keras_rnn(y, i, L->cfg.zero_output);
        if (L->cfg.return_sequences) k2t_py_printf(y, "        %s = %s.movedim(-1, 1)  # (N, units, T)\n", v, v);
        py_states(y, i, 1, 1);
        return K2T_OK;
    }
    native_init(y, i, hx, sizeof hx);
    k2t_py_printf(y, "        %s, %s = self.%s(%s.movedim(1, -1)%s%s)\n", v, L->cfg.return_state ? "hn" : "_", attr, a,
                  L->cfg.go_backwards ? ".flip(1)" : "", hx);
    if (L->cfg.return_sequences) k2t_py_printf(y, "        %s = %s.movedim(-1, 1)  # (N, units, T)\n", v, v);
    else k2t_py_printf(y, "        %s = %s[:, -1]  # the last step\n", v, v);
    py_states(y, i, 1, 0);
    return K2T_OK;
}

/*------------------------------------------------------------ execution */

/* Workspace: the input projections of every step (T x k*u), the state
** (h, c) and one step's recurrent product. */
/* A GRU's z and r blocks exchanged in place: rows of 'cols' floats with
** blocks of u columns (a kernel (F, 3u), or bias rows of 3u). */
static void swap_zr(float *w, int64_t rows, int64_t cols, int64_t u)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < u; j++) {
            float t = w[r * cols + j];
            w[r * cols + j] = w[r * cols + u + j];
            w[r * cols + u + j] = t;
        }
}

/* Weight 'name' as the emulated port computes with it (Keras's layout),
** the file's own buffer when nothing changes it. */
static const float *port_kernel(const k2t_layer *L, const char *name, const k2t_emu *e, float **owned)
{
    const k2t_weight *w = k2t_layer_weight(L, name);
    if (!w) return NULL;
    const float *p = k2t_prep_kernel(L, w, 0, e->no_transpose, owned);
    if (!e->gates_copied || cell_op(L) != K2T_OP_GRU) return p;
    if (!*owned) {
        *owned = k2t_xmalloc((size_t)(w->size ? w->size : 1) * sizeof(float));
        memcpy(*owned, p, (size_t)w->size * sizeof(float));
    }
    swap_zr(*owned, w->shape.d[0], w->shape.d[1], L->cfg.units);
    return *owned;
}

static const float *port_bias(const k2t_layer *L, const char *name, const k2t_emu *e, float **owned)
{
    const k2t_weight *w = k2t_layer_weight(L, name);
    int gru = cell_op(L) == K2T_OP_GRU, rows = w && w->shape.ndim == 2 ? (int)w->shape.d[0] : 1;
    int both = e->rnn_bias_both && (!gru || rows == 2); /* a v1 GRU's one row has no nn.GRU place */
    if (!w || (!both && !(e->gates_copied && gru))) return w ? w->data : NULL;
    int64_t k = w->size / rows;
    float *b = *owned = k2t_xmalloc((size_t)w->size * sizeof(float));
    memcpy(b, w->data, (size_t)w->size * sizeof(float));
    if (both && gru) memcpy(b + k, b, (size_t)k * sizeof(float)); /* row 0 in bias_hh too */
    else if (both)
        for (int64_t j = 0; j < k; j++) b[j] *= 2.0f;
    if (e->gates_copied && gru) swap_zr(b, rows, k, L->cfg.units);
    return b;
}

static k2t_status rnn_plan(k2t_step *s, const k2t_plan_ctx *c, k2t_err *err)
{
    const k2t_shape *in = &c->in[0];
    int64_t T = in->d[0], k = (int64_t)n_gates(s->L) * s->L->cfg.units;
    if (T < 1) return k2t_fail(err, K2T_ESHAPE, "a sequence of %lld steps", (long long)T);
    s->len = T;
    s->ws = T * k + 3 * (int64_t)s->L->cfg.units + 2 * k;
    /* The port's weights (emulation): weights.transpose off, PyTorch's
    ** (k, F) tensors holding Keras's buffers as they are (k2t_prep_kernel);
    ** rnn.gates copied, a GRU's z and r blocks exchanged; rnn.bias both. */
    const k2t_layer *L = s->L;
    const k2t_emu *e = &c->o->emu;
    int bi = L->op == K2T_OP_BIDIRECTIONAL;
    s->w = port_kernel(L, "kernel", e, &s->own_w);
    s->w2 = port_kernel(L, "recurrent_kernel", e, &s->own_w2);
    s->rb = port_bias(L, "bias", e, &s->own_rb);
    if (bi) {
        s->wb = port_kernel(L, "backward_kernel", e, &s->own_wb);
        s->wb2 = port_kernel(L, "backward_recurrent_kernel", e, &s->own_wb2);
        s->rbb = port_bias(L, "backward_bias", e, &s->own_rbb);
    }
    /* rnn.activation torch: nn.LSTM and nn.GRU's sigmoid and tanh; nn.RNN
    ** has tanh and relu, so a SimpleRNN keeps relu. */
    s->rnn_act = L->cfg.act, s->rnn_rec = L->cfg.rec_act;
    s->rnn_last_output = bi && e->rnn_last_output && !L->cfg.return_sequences;
    s->rnn_state_swapped = e->rnn_state_swapped && cell_op(L) == K2T_OP_LSTM && s->n_in > 1;
    if (e->rnn_act_torch) {
        s->rnn_rec = K2T_ACT_SIGMOID;
        if (!(cell_op(L) == K2T_OP_SIMPLE_RNN && L->cfg.act == K2T_ACT_RELU)) s->rnn_act = K2T_ACT_TANH;
    }
    return K2T_OK;
}

static float rec(k2t_act a, float x)
{
    kern_act(&x, 1, a);
    return x;
}

/* One direction over one sample: x (T, F) with W (F, k), U (u, k), B
** (Keras's layout).  Steps run last to first when 'backwards'.  With
** return_sequences the state after the step-th step goes to row 'step' of
** y, or row T-1-step when 'realign' (a Bidirectional's backward half,
** which Keras turns back into time order); rows are 'ystride' apart.
** Without, y gets the last state.  ws: T*k + 3u + 2k floats. */
static void rnn_dir(const k2t_step *s, const float *Wd, const float *Ud, const float *Bd, int64_t T, int64_t F,
                    const float *x, float *y, int64_t ystride, int backwards, int realign, const float *mask,
                    int zero_out, float *ws, const float *h0, const float *c0)
{
    const k2t_layer *L = s->L;
    const k2t_cfg *g = &L->cfg;
    const k2t_act act = s->rnn_act, ra_ = s->rnn_rec;
    int u = g->units, G = n_gates(L), k = G * u;
    int lstm = cell_op(L) == K2T_OP_LSTM, gru = cell_op(L) == K2T_OP_GRU, ra = gru && g->reset_after;
    float *px = ws, *h = px + T * k, *cs = h + u, *tmp = cs + u, *ph = tmp + u, *ph2 = ph + k;
    /* every step's input projection at once: (T, F) x (F, k) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, k, (int)F, 1.0f, x, (int)F, Wd, k, 0.0f, px, k);
    if (Bd) /* GRU reset_after: row 0 is the input bias */
        for (int64_t t = 0; t < T; t++)
            for (int j = 0; j < k; j++) px[t * k + j] += Bd[j];
    /* initial_state, or zeros */
    if (h0) memcpy(h, h0, (size_t)u * sizeof(float));
    else memset(h, 0, (size_t)u * sizeof(float));
    if (c0) memcpy(cs, c0, (size_t)u * sizeof(float));
    else memset(cs, 0, (size_t)u * sizeof(float));
    for (int64_t step = 0; step < T; step++) {
        int64_t t = backwards ? T - 1 - step : step;
        const float *gx = px + t * k;
        if (mask && mask[t] == 0.0f) { /* a padding step: the state carries over */
            if (g->return_sequences) {
                float *o = y + (realign ? T - 1 - step : step) * ystride;
                if (zero_out) memset(o, 0, (size_t)u * sizeof(float));
                else memcpy(o, h, (size_t)u * sizeof(float));
            }
            continue;
        }
        if (!gru || ra) {
            cblas_sgemv(CblasRowMajor, CblasTrans, u, k, 1.0f, Ud, k, h, 1, 0.0f, ph, 1); /* h U */
            if (ra && Bd)
                for (int j = 0; j < k; j++) ph[j] += Bd[k + j];
        }
        if (lstm) {
            for (int j = 0; j < u; j++) {
                float i = rec(ra_, gx[j] + ph[j]), fg = rec(ra_, gx[u + j] + ph[u + j]);
                float cc = rec(act, gx[2 * u + j] + ph[2 * u + j]), o = rec(ra_, gx[3 * u + j] + ph[3 * u + j]);
                cs[j] = fg * cs[j] + i * cc;
                h[j] = o * rec(act, cs[j]);
            }
        } else if (gru && ra) {
            for (int j = 0; j < u; j++) {
                float z = rec(ra_, gx[j] + ph[j]), r = rec(ra_, gx[u + j] + ph[u + j]);
                float nn = rec(act, gx[2 * u + j] + r * ph[2 * u + j]);
                h[j] = z * h[j] + (1 - z) * nn;
            }
        } else if (gru) {
            /* z and r from h U over the first 2u columns, then (r*h) U_h */
            cblas_sgemv(CblasRowMajor, CblasTrans, u, k, 1.0f, Ud, k, h, 1, 0.0f, ph, 1);
            for (int j = 0; j < u; j++) {
                float r = rec(ra_, gx[u + j] + ph[u + j]);
                tmp[j] = r * h[j];
            }
            cblas_sgemv(CblasRowMajor, CblasTrans, u, u, 1.0f, Ud + 2 * u, k, tmp, 1, 0.0f, ph2, 1);
            for (int j = 0; j < u; j++) {
                float z = rec(ra_, gx[j] + ph[j]);
                float nn = rec(act, gx[2 * u + j] + ph2[j]);
                h[j] = z * h[j] + (1 - z) * nn;
            }
        } else {
            for (int j = 0; j < u; j++) h[j] = rec(act, gx[j] + ph[j]);
        }
        if (g->return_sequences) memcpy(y + (realign ? T - 1 - step : step) * ystride, h, (size_t)u * sizeof(float));
    }
    if (!g->return_sequences) memcpy(y, h, (size_t)u * sizeof(float));
}

/* After rnn_dir: its final h and c (ws) into the state parts p[0..] for sample n. */
static void put_states(const k2t_layer *L, int64_t T, const float *ws, float *const *p, int n)
{
    int64_t u = L->cfg.units, k = n_gates(L) * u;
    for (int j = 0; j < n_states(L); j++) memcpy(p[j] + n * u, ws + T * k + j * u, (size_t)u * sizeof(float));
}

static void rnn_forward(const k2t_step *s, const k2t_fwd *f)
{
    const k2t_layer *L = s->L;
    const float *W = s->w, *U = s->w2, *B = s->rb;
    int64_t T = s->len, F = k2t_layer_weight(L, "kernel")->shape.d[0];
    for (int n = 0; n < f->n; n++) {
        int64_t u = L->cfg.units;
        rnn_dir(s, W, U, B, T, F, f->x[0] + (int64_t)n * T * F, f->y + (int64_t)n * s->numel, L->cfg.units,
                L->cfg.go_backwards, 0, f->mask ? f->mask + n * T : NULL, L->cfg.zero_output, f->ws,
                s->n_in > 1 + s->rnn_state_swapped ? f->x[1 + s->rnn_state_swapped] + n * u : NULL,
                s->n_in > 2 ? f->x[2 - s->rnn_state_swapped] + n * u : NULL);
        if (s->n_parts) put_states(L, T, f->ws, f->parts, n);
    }
}

/*--------------------------------------------------------- Bidirectional */

/* Bidirectional(layer, merge_mode): the layer over the sequence, and a
** copy with go_backwards flipped, whose sequence output Keras reverses
** back into time order; the two merged by concat (forward first), sum,
** mul or ave.  Without return_sequences the backward half gives its state
** after reading the whole sequence from the end, i.e. at t = 0: what
** nn.LSTM(bidirectional=True)'s h_n[1] holds, and not out[:, -1]. */

static const char *const merge_names[] = {"concat", "sum", "mul", "ave", "None"};

/* Is backward layer b the forward layer f reversed: same class and
** config but for its name and the opposite go_backwards? */
static int mirror_layer(json_t *f, json_t *b)
{
    json_t *fc = json_object_get(f, "config"), *bc = json_is_object(b) ? json_object_get(b, "config") : NULL;
    if (!json_is_object(fc) || !json_is_object(bc) ||
        !json_equal(json_object_get(f, "class_name"), json_object_get(b, "class_name")))
        return 0;
    json_t *fg = json_object_get(fc, "go_backwards"), *bg = json_object_get(bc, "go_backwards");
    if (json_is_true(fg) == json_is_true(bg)) return 0;
    /* Compared without what does not change inference: the name,
    ** go_backwards, and the initializers, regularizers and constraints (Keras
    ** 3 writes each initializer with its own shared_object_id). */
    json_t *x = json_deep_copy(fc), *y = json_deep_copy(bc);
    json_t *both[2] = {x, y};
    for (int k = 0; k < 2; k++) {
        const char *key;
        json_t *v, *tmp;
        json_object_foreach_safe(both[k], tmp, key, v) {
            size_t l = strlen(key);
            static const char *const tails[] = {"_initializer", "_regularizer", "_constraint"};
            int drop = !strcmp(key, "name") || !strcmp(key, "go_backwards") || !strcmp(key, "trainable");
            for (int t = 0; t < 3 && !drop; t++)
                drop = l >= strlen(tails[t]) && !strcmp(key + l - strlen(tails[t]), tails[t]);
            if (drop) json_object_del(both[k], key);
        }
    }
    int same = json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return same;
}

static k2t_status bidi_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    json_t *inner = json_object_get(c, "layer"), *icfg;
    const char *icls;
    k2t_status st0 = cfg_wrapped(c, &icls, &icfg, err);
    if (st0 != K2T_OK) return st0;
    const k2t_op_def *d = k2t_op_lookup(icls);
    json_t *mm = json_object_get(c, "merge_mode");
    k2t_layer T = {0};
    if (!d || (d->op != K2T_OP_LSTM && d->op != K2T_OP_GRU && d->op != K2T_OP_SIMPLE_RNN)) {
        k2t_set_unsupported(L, "a Bidirectional %s: k2t runs Bidirectional LSTM, GRU and SimpleRNN", icls);
        return K2T_OK;
    }
    T.op = d->op;
    k2t_status st = rnn_parse(&T, icfg, m, err);
    if (st != K2T_OK) {
        free(T.unsupported);
        return st;
    }
    L->cfg = T.cfg;
    L->cfg.inner_op = (int)d->op;
    if (T.unsupported) k2t_set_unsupported(L, "its %s: %s", icls, T.unsupported);
    free(T.unsupported);
    L->cfg.merge = -1;
    if (!mm || json_is_null(mm)) {
        L->cfg.merge = mm ? 4 : 0; /* absent: Keras's default, concat; null: the two as two tensors */
    } else if (json_is_string(mm)) {
        for (int i = 0; i < 4; i++)
            if (!strcmp(json_string_value(mm), merge_names[i])) L->cfg.merge = i;
    }
    if (L->cfg.merge < 0 && !L->unsupported) k2t_set_unsupported(L, "merge_mode %s is not one of concat, sum, mul, ave",
                                                                 json_is_string(mm) ? json_string_value(mm) : "?");
    if (L->cfg.merge < 0) L->cfg.merge = 0;
    /* Keras 3 always writes backward_layer: the mirror of 'layer' (named
    ** backward_..., go_backwards flipped) is the usual Bidirectional. */
    json_t *bl = json_object_get(c, "backward_layer");
    if (bl && !json_is_null(bl) && !mirror_layer(inner, bl))
        k2t_set_unsupported(L, "a custom backward_layer (not the mirror of 'layer') is not supported");
    return K2T_OK;
}

static k2t_status bidi_infer(const k2t_layer *L, const k2t_shape *in, int n_in, k2t_shape *out, k2t_err *err)
{
    k2t_status st = rnn_infer(L, in, n_in, out, err);
    if (st == K2T_OK && L->cfg.merge == 0) out->d[out->ndim - 1] *= 2;
    return st;
}

/* Tensors after the first: with merge_mode None the backward half's
** output, then with return_state the forward half's states and the
** backward half's, as Keras returns them. */
static int bidi_parts(const k2t_layer *L, const k2t_shape *first, int j, k2t_shape *out)
{
    int seq = L->cfg.merge == 4, n = seq + 2 * n_states(L);
    if (out && j >= 1 && j <= n) {
        if (j <= seq) *out = *first;
        else *out = (k2t_shape){.ndim = 1, .d = {L->cfg.units}};
    }
    return n;
}

/* Forward's weights then backward's, as Keras lists them. */
static int bidi_weights(const k2t_layer *L, const k2t_shape *in, k2t_wspec *spec)
{
    static const char *const back[] = {"backward_kernel", "backward_recurrent_kernel", "backward_bias"};
    int n = rnn_weights(L, in, spec);
    for (int i = 0; i < n; i++) {
        spec[n + i] = spec[i];
        spec[n + i].name = back[i];
    }
    return 2 * n;
}

static void bidi_describe(const k2t_layer *L, k2t_buf *b)
{
    k2t_buf_printf(b, "%s, merge_mode=%s, ", k2t_op_name((k2t_op)L->cfg.inner_op), merge_names[L->cfg.merge]);
    rnn_describe(L, b);
}

/* nn.LSTM(bidirectional=True): the backward half's names end in _reverse. */
static int bidi_torch(const k2t_layer *L, int wi, k2t_tw *tw)
{
    static const char *const rev[] = {"weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse"};
    const k2t_weight *w = &L->w[wi];
    int back = !strncmp(w->name, "backward_", 9);
    if (!back) return rnn_torch(L, wi, tw);
    k2t_layer one = *L; /* the same weight under its forward name */
    k2t_weight tmp = *w;
    tmp.name = (char *)w->name + 9;
    one.w = &tmp;
    one.n_w = 1;
    if (rnn_torch(&one, 0, tw) != 0) return -1;
    tw->suffix = !strcmp(tmp.name, "kernel") ? rev[0] : !strcmp(tmp.name, "recurrent_kernel") ? rev[1] : rev[2];
    return 0;
}

static void bidi_hazards(k2t_hz *h)
{
    rnn_hazards(h);
    const k2t_cfg *g = &h->L->cfg;
    if (!g->return_sequences) {
        k2t_hz_say(h, K2T_PIT_RNN_LAST, 1, "Keras's backward half returns its state after reading the whole "
                   "sequence from the end (t = 0); out[:, -1] of a bidirectional nn.%s takes the backward "
                   "half after one step: use h_n", rnn_kind(h->L));
        k2t_hz_code(h, "out, hn = rnn(x); y = torch.cat([hn[0], hn[1]], 1)%s",
                    cell_op(h->L) == K2T_OP_LSTM ? "  # LSTM: hn = hn[0] first (h, not c)" : "");
    }
    if (g->merge != 0)
        k2t_hz_say(h, K2T_PIT_LAYOUT, 1, "merge_mode=%s: nn.%s(bidirectional=True) concatenates the two "
                   "halves; split them (out[..., :%d], out[..., %d:])%s", merge_names[g->merge],
                   cell_op(h->L) == K2T_OP_LSTM ? "LSTM" : "GRU", g->units, g->units,
                   g->merge == 4 ? ", the two tensors Keras returns" : " and merge");
}

static k2t_status bidi_extra(const k2t_layer *L, k2t_xt *x, int *n, k2t_err *err)
{
    (void)err;
    *n = 0;
    if (L->cfg.use_bias) {
        rnn_hh(L, "bias", "bias_hh_l0", x, n);
        rnn_hh(L, "backward_bias", "bias_hh_l0_reverse", x, n);
    }
    return K2T_OK;
}

/* The module holds (N, F, T); batch_first wants (N, T, F). */
static k2t_status bidi_py_forward(k2t_py *y, int i, k2t_err *err)
{
    static const char *const op[] = {"", "+", "*", "+", ""};
    const k2t_model *m = k2t_py_model(y);
    const k2t_layer *L = k2t_py_layer(y, i);
    const char *v = k2t_py_var(y, i), *a = k2t_py_in(y, i, 0), *attr = k2t_py_attr(y, m->nodes[i].layer);
    int u = L->cfg.units, mg = L->cfg.merge, seq = L->cfg.return_sequences, none = mg == 4;
    int bp = none ? k2t_node_part(m, i, 1) : -1; /* merge_mode None: the backward half's tensor */
    const char *vb = bp >= 0 ? k2t_py_var(y, bp) : NULL;
    char hx[1200];
    (void)err;
    if (rnn_custom(L) || rnn_masked(m, i)) { /* the halves concatenated; Keras's zeros at masked steps */
        put_keras_rnn(y, i, seq);
        if (vb) k2t_py_printf(y, "        %s, %s = %s[..., :%d], %s[..., %d:]  # merge_mode None: two tensors\n", v, vb,
                              v, u, v, u);
        else if (mg) k2t_py_printf(y, "        %s = (%s[..., :%d] %s %s[..., %d:])%s\n", v, v, u, op[mg], v, u,
                                   mg == 3 ? " / 2" : "");
        if (seq) k2t_py_printf(y, "        %s = %s.movedim(-1, 1)  # (N, units, T)\n", v, v);
        if (seq && vb) k2t_py_printf(y, "        %s = %s.movedim(-1, 1)\n", vb, vb);
        py_states(y, i, 1 + none, 1);
        return K2T_OK;
    }
    /* go_backwards (the forward layer's): both halves read the flipped sequence, the forward half's
    ** outputs stay in its reading order, the backward half's come out reversed, as Keras's do */
    native_init(y, i, hx, sizeof hx);
    k2t_py_printf(y, "        %s, hn = self.%s(%s.movedim(1, -1)%s%s)\n", v, attr, a, L->cfg.go_backwards ? ".flip(1)" : "",
                  hx);
    if (seq) {
        if (vb) k2t_py_printf(y, "        %s, %s = %s[..., :%d], %s[..., %d:]  # merge_mode None: two tensors\n", v, vb,
                              v, u, v, u);
        else if (mg) k2t_py_printf(y, "        %s = (%s[..., :%d] %s %s[..., %d:])%s\n", v, v, u, op[mg], v, u,
                                   mg == 3 ? " / 2" : "");
        k2t_py_printf(y, "        %s = %s.movedim(-1, 1)  # (N, units, T)\n", v, v);
        if (vb) k2t_py_printf(y, "        %s = %s.movedim(-1, 1)\n", vb, vb);
    } else {
        const char *h = cell_op(L) == K2T_OP_LSTM ? "hn[0]" : "hn"; /* an LSTM's is (h_n, c_n) */
        k2t_py_printf(y, "        # the backward half's final state is h_n[1] (t = 0), not out[:, -1]\n");
        if (vb) k2t_py_printf(y, "        %s, %s = %s[0], %s[1]  # merge_mode None: two tensors\n", v, vb, h, h);
        else if (mg) k2t_py_printf(y, "        %s = (%s[0] %s %s[1])%s\n", v, h, op[mg], h, mg == 3 ? " / 2" : "");
        else k2t_py_printf(y, "        %s = torch.cat([%s[0], %s[1]], 1)\n", v, h, h);
    }
    py_states(y, i, 1 + none, 0);
    return K2T_OK;
}

static k2t_status bidi_plan(k2t_step *s, const k2t_plan_ctx *c, k2t_err *err)
{
    k2t_status st = rnn_plan(s, c, err);
    if (st == K2T_OK && s->L->cfg.merge) s->ws += s->len * s->L->cfg.units; /* the backward half's output */
    return st;
}

static void bidi_forward(const k2t_step *s, const k2t_fwd *f)
{
    const k2t_layer *L = s->L;
    const k2t_cfg *g = &L->cfg;
    const float *W = s->w, *U = s->w2, *B = s->rb;
    const float *Wb = s->wb, *Ub = s->wb2, *Bb = s->rbb;
    int64_t T = s->len, F = k2t_layer_weight(L, "kernel")->shape.d[0], u = g->units;
    int64_t steps = g->return_sequences ? T : 1;
    int none = g->merge == 4, ns = n_states(L);
    /* rnn.last output: the port's out[:, -1], its backward half after the last step only */
    int64_t bT = s->rnn_last_output && !g->go_backwards ? 1 : T;
    float *back = f->ws + (s->ws - (g->merge ? T * u : 0));
    for (int n = 0; n < f->n; n++) {
        const float *x = f->x[0] + n * T * F;
        float *y = f->y + (int64_t)n * s->numel;
        /* initial_state: forward h[, c], then backward h[, c] */
        const float *init[4] = {NULL, NULL, NULL, NULL};
        for (int j = 1; j < s->n_in; j++) {
            int d = (j - 1) / n_state(L), k = (j - 1) % n_state(L);
            if (s->rnn_state_swapped) k = 1 - k; /* rnn.state swapped: (c, h) */
            init[2 * d + k] = f->x[j] + n * u;
        }
        /* With return_sequences Keras's Bidirectional outputs zeros at masked steps. */
        const float *mk = f->mask ? f->mask + n * T : NULL;
        int zo = g->return_sequences || g->zero_output;
        if (g->merge == 0) { /* concat: interleave the halves row by row */
            rnn_dir(s, W, U, B, T, F, x, y, 2 * u, g->go_backwards, 0, mk, zo, f->ws, init[0], init[1]);
            if (ns) put_states(L, T, f->ws, f->parts, n);
            rnn_dir(s, Wb, Ub, Bb, bT, F, x + (T - bT) * F, y + u, 2 * u, !g->go_backwards, 1,
                    mk ? mk + (T - bT) : NULL, zo, f->ws, init[2], init[3]);
            if (ns) put_states(L, T, f->ws, f->parts + ns, n);
            continue;
        }
        rnn_dir(s, W, U, B, T, F, x, y, u, g->go_backwards, 0, mk, zo, f->ws, init[0], init[1]);
        if (ns) put_states(L, T, f->ws, f->parts + none, n);
        float *yb = none ? f->parts[0] + (int64_t)n * s->numel : back;
        rnn_dir(s, Wb, Ub, Bb, bT, F, x + (T - bT) * F, yb, u, !g->go_backwards, 1, mk ? mk + (T - bT) : NULL, zo,
                f->ws, init[2], init[3]);
        if (ns) put_states(L, T, f->ws, f->parts + none + ns, n);
        if (none) continue;
        for (int64_t j = 0; j < steps * u; j++)
            y[j] = g->merge == 1 ? y[j] + back[j] : g->merge == 2 ? y[j] * back[j] : (y[j] + back[j]) * 0.5f;
    }
}

/*----------------------------------------------------------------- defs */

static const char *const simple_rnn_classes[] = {"SimpleRNN", NULL};
static const char *const lstm_classes[] = {"LSTM", "LSTMV1", NULL};
static const char *const gru_classes[] = {"GRU", "GRUV1", NULL};
static const char *const rnn_modules[] = {"RNN", NULL};
static const char *const lstm_modules[] = {"LSTM", NULL};
static const char *const gru_modules[] = {"GRU", NULL};

#define RNN_DEF(var, kind, cls, mods)                                                                   \
    const k2t_op_def var = {.op = kind, .classes = cls, .torch_modules = mods, .min_in = 1, .max_in = 3,  \
                            .parse = rnn_parse, .infer = rnn_infer, .parts = rnn_parts,                 \
                            .weights = rnn_weights, .describe = rnn_describe, .torch = rnn_torch,       \
                            .hazards = rnn_hazards, .plan = rnn_plan, .forward = rnn_forward,           \
                            .flags = K2T_OPF_MODULE | K2T_OPF_MASK_USE, .module = rnn_module,           \
                            .py_init = rnn_py_init, .py_forward = rnn_py_forward, .extra_tensors = rnn_extra, \
                            .gates = rnn_gates}

RNN_DEF(k2t_op_simple_rnn, K2T_OP_SIMPLE_RNN, simple_rnn_classes, rnn_modules);
RNN_DEF(k2t_op_lstm, K2T_OP_LSTM, lstm_classes, lstm_modules);
RNN_DEF(k2t_op_gru, K2T_OP_GRU, gru_classes, gru_modules);

static const char *const bidi_classes[] = {"Bidirectional", NULL};
static const char *const bidi_modules[] = {"LSTM", "GRU", "RNN", NULL};

const k2t_op_def k2t_op_bidirectional = {
    .op = K2T_OP_BIDIRECTIONAL, .classes = bidi_classes, .torch_modules = bidi_modules, .min_in = 1, .max_in = 5,
    .parse = bidi_parse, .infer = bidi_infer, .parts = bidi_parts, .weights = bidi_weights, .describe = bidi_describe,
    .torch = bidi_torch, .hazards = bidi_hazards, .plan = bidi_plan, .forward = bidi_forward,
    .flags = K2T_OPF_MODULE | K2T_OPF_POSITIONAL | K2T_OPF_MASK_USE, .module = rnn_module, .py_init = rnn_py_init,
    .py_forward = bidi_py_forward, .extra_tensors = bidi_extra, .gates = rnn_gates,
};
