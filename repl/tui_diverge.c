/*
** tui_diverge.c -- the divergence column beside the layer list: each
** layer's max |a-b| between Keras's semantics and the current settings
** (what diff and plot diff compute), as a small bar on one log scale.
**
** The runs are made by commands/plot.c (k2t_plot_layer_diffs) once per
** model, input and settings; the result is kept here until one of them
** changes.  Failures are silent (the column is simply absent): the screen
** must never print or count an error the user did not ask for.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui.h"
#include "../commands/plot.h"

struct tui_diverge {
    /* What the values were computed for. */
    const k2t_model *model;
    char model_path[512];    /* a model loaded at the same address is another model */
    int n_nodes;
    const void *in_data;
    int in_n;
    char in_desc[sizeof ((k2t_input *)0)->desc];
    k2t_emu emu;
    const double *bn_eps_layer;
    double atol, rtol;
    int failed;              /* the runs failed for this key: do not retry */
    /* The values. */
    k2t_layer_diff *d;
    int first, dlo, dhi;
};

static struct tui_diverge cache;

/* The first input's data: a new input is a new key. */
static const float *in0_data(const k2t_shell *sh)
{
    const k2t_array *a = k2t_shell_input0((k2t_shell *)sh);
    return a ? a->data : NULL;
}

static int same_key(const k2t_shell *sh)
{
    return cache.model == sh->model && !strncmp(cache.model_path, sh->model->path ? sh->model->path : "",
                                                 sizeof cache.model_path - 1) && cache.n_nodes == sh->model->n_nodes && cache.in_data == in0_data(sh) &&
           cache.in_n == sh->in.n && !strcmp(cache.in_desc, sh->in.desc) &&
           !memcmp(&cache.emu, &sh->set.emu, sizeof cache.emu) && cache.bn_eps_layer == sh->set.bn_eps_layer &&
           cache.atol == sh->set.diff_atol && cache.rtol == sh->set.diff_rtol;
}

const tui_diverge *tui_diverge_get(k2t_shell *sh)
{
    const k2t_model *m = sh->model;
    if (!m || !m->has_arch || m->n_nodes == 0 || sh->in.n == 0) return NULL;
    if (!k2t_var_get(sh, "first_divergence")) return NULL;  /* no diff yet */
    if (same_key(sh)) return cache.failed ? NULL : &cache;
    free(cache.d);
    memset(&cache, 0, sizeof cache);
    cache.model = m;
    cache.n_nodes = m->n_nodes;
    snprintf(cache.model_path, sizeof cache.model_path, "%s", m->path ? m->path : "");
    cache.in_data = in0_data(sh);
    cache.in_n = sh->in.n;
    snprintf(cache.in_desc, sizeof cache.in_desc, "%s", sh->in.desc);
    memcpy(&cache.emu, &sh->set.emu, sizeof cache.emu);
    cache.bn_eps_layer = sh->set.bn_eps_layer;
    cache.atol = sh->set.diff_atol;
    cache.rtol = sh->set.diff_rtol;
    /* Silently: errors go to a scratch stream and are not counted. */
    char *buf = NULL;
    size_t len = 0;
    FILE *scratch = open_memstream(&buf, &len);
    if (!scratch) {
        cache.failed = 1;
        return NULL;
    }
    FILE *se = sh->err, *so = sh->out;
    int nerr = sh->nerr;
    sh->err = sh->out = scratch;
    int rc = k2t_plot_layer_diffs(sh, &cache.d, &cache.first);
    sh->err = se;
    sh->out = so;
    sh->nerr = nerr;
    fclose(scratch);
    free(buf);
    if (rc != K2T_CMD_OK || !cache.d) {
        cache.failed = 1;
        return NULL;
    }
    double *v = k2t_xmalloc((size_t)(2 * m->n_nodes + 1) * sizeof *v);
    int k = 0;
    for (int i = 0; i < m->n_nodes; i++)
        if (cache.d[i].state == 1) v[k++] = cache.d[i].mad, v[k++] = cache.d[i].tol;
    k2t_log_decades(v, k, &cache.dlo, &cache.dhi);
    free(v);
    return &cache;
}

unsigned char tui_diverge_cell(const tui_diverge *dv, int node, char *buf, int w)
{
    memset(buf, ' ', (size_t)w);
    buf[w] = '\0';
    if (node < 0 || node >= dv->n_nodes) return 0;
    const k2t_layer_diff *d = &dv->d[node];
    int bw = w - 1, len = 0;  /* the last column: '<' on the first divergence */
    if (d->state < 0) {
        len = bw;
    } else if (d->state == 1 && d->mad > 0) {
        double t = (log10(d->mad) - dv->dlo) / (dv->dhi - dv->dlo);
        if (!(t == t) || t > 1) t = 1;
        len = t <= 0 ? 1 : (int)ceil(t * bw);
    }
    if (d->state == 0) {
        buf[bw / 2] = '-';  /* not compared */
        return TUI_A_DIM;
    }
    for (int c = 0; c < len && c < bw; c++) buf[c] = d->pass ? '=' : '#';
    if (node == dv->first) buf[bw] = '<';
    return d->pass ? TUI_A_DIM : TUI_A_WARN;
}
