/* dce: dead code elimination. A node none of whose outputs is used (by a live node, an
 * epilogue or the graph's outputs) is dead; walking the nodes backwards finds whole dead
 * chains in one sweep, since a node's users come after it. ir_compact then drops the dead
 * nodes and every value nothing refers to (unused weights included). */
#include "passes/pass.h"

bool pass_dce(Graph *g, const PassArgs *args, Diag *d)
{
    if (!pass_args_check(args, NULL, d))
        return false;
    for (NodeId i = g->n_nodes - 1; i >= 0; i--) {
        Node *n = &g->nodes[i];
        if (n->dead)
            continue;
        bool used = false;
        for (int j = 0; j < n->n_outputs && !used; j++)
            used = ir_use_count(g, n->outputs[j]) > 0;
        if (!used)
            n->dead = true;
    }
    ir_compact(g);
    return true;
}
