/*
** blocks.c -- residual blocks found from the graph alone.
**
** For every merge node (Add, Subtract, Multiply, Average, Maximum, Minimum,
** Concatenate) the fork is the latest common ancestor of its inputs; the
** block is every node between fork and merge (descendants of the fork that
** are ancestors of the merge), plus the elementwise activation that alone
** reads the merge.  The shortcut is the merge input reached through fewer
** layers: identity when it is the fork itself, else a projection whose
** projecting layer is that branch's first layer.  A merge that lies inside
** an earlier block (a block within a block) is reported on its own too.
*/
#include <stdlib.h>
#include <string.h>
#include "internal.h"

/* mark[i] = 1 for every ancestor of node x (x included). */
static void ancestors(const k2t_model *m, int x, char *mark)
{
    memset(mark, 0, (size_t)m->n_nodes);
    mark[x] = 1;
    for (int i = x; i >= 0; i--)
        if (mark[i])
            for (int j = 0; j < m->nodes[i].n_in; j++) mark[m->nodes[i].in[j]] = 1;
}

int k2t_find_blocks(const k2t_model *m, k2t_block **out)
{
    int n = 0, cap = 0;
    k2t_block *b = NULL;
    int N = m->n_nodes;
    char *common = k2t_xmalloc((size_t)N + 1), *tmp = k2t_xmalloc((size_t)N + 1);
    char *desc = k2t_xmalloc((size_t)N + 1), *anc = k2t_xmalloc((size_t)N + 1);
    for (int mi = 0; mi < N; mi++) {
        const k2t_node *M = &m->nodes[mi];
        if (!k2t_op_is_merge(k2t_node_layer(m, mi)->op) || M->n_in < 2) continue;
        memset(common, 1, (size_t)N);
        for (int j = 0; j < M->n_in; j++) {
            ancestors(m, M->in[j], tmp);
            for (int i = 0; i < N; i++) common[i] &= tmp[i];
        }
        int fork = -1;
        for (int i = 0; i < N; i++)
            if (common[i]) fork = i;
        if (fork < 0) continue; /* branches from different model inputs */
        /* Nodes between: descendants of the fork that are ancestors of M. */
        memset(desc, 0, (size_t)N);
        desc[fork] = 1;
        for (int i = fork + 1; i <= mi; i++)
            for (int j = 0; j < m->nodes[i].n_in; j++)
                if (desc[m->nodes[i].in[j]]) desc[i] = 1;
        ancestors(m, mi, anc);
        k2t_block blk = {0};
        blk.fork = fork;
        blk.merge = mi;
        blk.nodes = k2t_xmalloc((size_t)(mi - fork + 2) * sizeof *blk.nodes);
        for (int i = fork + 1; i <= mi; i++)
            if (desc[i] && anc[i]) blk.nodes[blk.n_nodes++] = i;
        int last = mi;
        if (M->n_out == 1 && !M->is_output && k2t_op_is_activation(k2t_node_layer(m, M->out[0])->op))
            blk.nodes[blk.n_nodes++] = last = M->out[0];
        blk.first = blk.nodes[0];
        blk.last = last;
        /* The shortcut: the input reached through the fewest block layers. */
        int best = -1, best_len = 1 << 30, best_first = -1;
        for (int j = 0; j < M->n_in; j++) {
            int x = M->in[j], len = 0, firstn = -1;
            if (x != fork) {
                ancestors(m, x, tmp);
                for (int i = fork + 1; i <= x; i++)
                    if (tmp[i] && desc[i]) {
                        len++;
                        if (firstn < 0) firstn = i;
                    }
            }
            if (len < best_len) best_len = len, best = j, best_first = firstn;
        }
        blk.shortcut_in = best;
        blk.shortcut = best_len == 0 ? -1 : best_first;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            b = k2t_xrealloc(b, (size_t)cap * sizeof *b);
        }
        b[n++] = blk;
    }
    free(common);
    free(tmp);
    free(desc);
    free(anc);
    *out = b;
    return n;
}

void k2t_blocks_free(k2t_block *b, int n)
{
    for (int i = 0; i < n; i++) free(b[i].nodes);
    free(b);
}

int k2t_block_of(const k2t_block *b, int n, int node)
{
    for (int k = 0; k < n; k++)
        for (int i = 0; i < b[k].n_nodes; i++)
            if (b[k].nodes[i] == node) return k;
    return -1;
}
