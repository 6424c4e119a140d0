/* cse: common subexpression elimination. Two live nodes with the same op, the same
 * inputs, equal attributes (the same set, with equal values: an attribute given
 * explicitly is not taken as equal to its default), the same device and no epilogue
 * compute the same values; the later one's outputs are replaced by the earlier one's.
 * One sweep in order also merges chains, since a merge makes the users' inputs equal.
 * A node whose output is a graph output is kept (two outputs stay two buffers). */
#include "passes/pass.h"

#include <string.h>

bool pass_cse(Graph *g, const PassArgs *args, Diag *d); /* not in pass.h yet */

static bool attr_eq(const Attr *a, const Attr *b)
{
    if (a->kind != b->kind || strcmp(a->name, b->name) != 0)
        return false;
    switch (a->kind) {
    case IR_ATTR_INT: return a->i == b->i;
    case IR_ATTR_FLOAT: return memcmp(&a->f, &b->f, sizeof a->f) == 0;
    case IR_ATTR_STRING: return (a->s == b->s) || (a->s && b->s && strcmp(a->s, b->s) == 0);
    case IR_ATTR_INTS:
        return a->n_ints == b->n_ints &&
               (a->n_ints == 0 ||
                memcmp(a->ints, b->ints, sizeof(int64_t) * (size_t)a->n_ints) == 0);
    }
    return false;
}

static bool attrs_eq(const Node *a, const Node *b)
{
    if (a->n_attrs != b->n_attrs)
        return false;
    for (int i = 0; i < a->n_attrs; i++) {
        const Attr *other = ir_node_attr(b, a->attrs[i].name);
        if (!other || !attr_eq(&a->attrs[i], other))
            return false;
    }
    return true;
}

static bool same_computation(const Node *a, const Node *b)
{
    if (a->op != b->op || a->n_inputs != b->n_inputs || a->n_outputs != b->n_outputs ||
        a->device != b->device || a->n_epilogue || b->n_epilogue)
        return false;
    for (int i = 0; i < a->n_inputs; i++)
        if (a->inputs[i] != b->inputs[i])
            return false;
    return attrs_eq(a, b);
}

bool pass_cse(Graph *g, const PassArgs *args, Diag *d)
{
    if (!pass_args_check(args, NULL, d))
        return false;
    for (NodeId i = 0; i < g->n_nodes; i++) {
        Node *n = &g->nodes[i];
        if (n->dead || n->n_epilogue)
            continue;
        bool is_out = false;
        for (int k = 0; k < n->n_outputs; k++)
            is_out |= g->values[n->outputs[k]].is_output;
        if (is_out)
            continue;
        for (NodeId j = 0; j < i; j++) {
            const Node *m = &g->nodes[j];
            if (m->dead || !same_computation(m, n))
                continue;
            for (int k = 0; k < n->n_outputs; k++)
                ir_replace_uses(g, n->outputs[k], m->outputs[k]);
            n->dead = true;
            break;
        }
    }
    ir_compact(g);
    return true;
}
