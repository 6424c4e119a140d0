/* dce: dead code elimination. A node none of whose outputs is used (by a live node, an
 * epilogue or the graph's outputs) is dead; walking the nodes backwards finds whole dead
 * chains in one sweep, since a node's users come after it. ir_compact then drops the dead
 * nodes and every value nothing refers to (unused weights included). */
#include "passes/pass.h"

#include <stdlib.h>

bool pass_dce(Graph *g, const PassArgs *args, Diag *d)
{
    if (!pass_args_check(args, NULL, d))
        return false;
    /* Use counts once, then kept up to date as nodes die: linear in the graph's size. */
    int *uses = malloc(sizeof(int) * ((size_t)g->n_values + 1));
    SLIMC_ASSERT(uses);
    ir_uses(g, uses, NULL);
    for (NodeId i = g->n_nodes - 1; i >= 0; i--) {
        Node *n = &g->nodes[i];
        if (n->dead)
            continue;
        bool used = false;
        for (int j = 0; j < n->n_outputs && !used; j++)
            used = uses[n->outputs[j]] > 0;
        if (used)
            continue;
        n->dead = true;
        for (int j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] >= 0)
                uses[n->inputs[j]]--;
        for (int j = 0; j < n->n_epilogue; j++)
            if (n->epilogue[j].operand >= 0)
                uses[n->epilogue[j].operand]--;
    }
    free(uses);
    ir_compact(g);
    return true;
}
