/* cse: common subexpression elimination. Two live nodes with the same op, the same
 * inputs, equal attributes (the same set, with equal values: an attribute given
 * explicitly is not taken as equal to its default), the same device and no epilogue
 * compute the same values; the later one's outputs are replaced by the earlier one's.
 * One sweep in order also merges chains, since a merge makes the users' inputs equal.
 * A node whose output is a graph output is kept (two outputs stay two buffers). */
#include "passes/pass.h"

#include <stdint.h>
#include <stdlib.h>
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

/* A hash of what same_computation compares first (op and inputs). */
static size_t node_hash(const Node *n)
{
    size_t h = (size_t)n->op * 0x9e3779b97f4a7c15u + (size_t)n->n_inputs;
    for (int i = 0; i < n->n_inputs; i++)
        h = (h ^ (size_t)(uint32_t)n->inputs[i]) * 0x100000001b3u;
    return h;
}

/* Linear in the nodes: earlier nodes are found through a hash table of (op, inputs), and a
 * merged value is renamed through `renamed` as the sweep reaches its users, not by a sweep
 * over the whole graph per merge. */
bool pass_cse(Graph *g, const PassArgs *args, Diag *d)
{
    if (!pass_args_check(args, NULL, d))
        return false;
    size_t n_buckets = 16;
    while (n_buckets < 2 * (size_t)g->n_nodes)
        n_buckets *= 2;
    NodeId *head = malloc(sizeof(NodeId) * n_buckets);
    NodeId *next = malloc(sizeof(NodeId) * ((size_t)g->n_nodes + 1));
    ValueId *renamed = malloc(sizeof(ValueId) * ((size_t)g->n_values + 1));
    SLIMC_ASSERT(head && next && renamed);
    for (size_t b = 0; b < n_buckets; b++)
        head[b] = IR_NONE;
    for (ValueId v = 0; v < g->n_values; v++)
        renamed[v] = v;
    for (NodeId i = 0; i < g->n_nodes; i++) {
        Node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0)
                n->inputs[k] = renamed[n->inputs[k]];
        for (int k = 0; k < n->n_epilogue; k++)
            if (n->epilogue[k].operand >= 0)
                n->epilogue[k].operand = renamed[n->epilogue[k].operand];
        if (n->n_epilogue)
            continue;
        bool is_out = false;
        for (int k = 0; k < n->n_outputs; k++)
            is_out |= g->values[n->outputs[k]].is_output;
        size_t b = node_hash(n) & (n_buckets - 1);
        NodeId first = IR_NONE; /* the earliest node computing the same */
        for (NodeId j = head[b]; !is_out && j != IR_NONE; j = next[j])
            if (same_computation(&g->nodes[j], n) && (first == IR_NONE || j < first))
                first = j;
        if (first == IR_NONE) {
            next[i] = head[b];
            head[b] = i;
            continue;
        }
        for (int k = 0; k < n->n_outputs; k++)
            renamed[n->outputs[k]] = g->nodes[first].outputs[k];
        n->dead = true;
    }
    for (int k = 0; k < g->n_outputs; k++)
        SLIMC_ASSERT(renamed[g->outputs[k]] == g->outputs[k]); /* outputs' nodes are kept */
    free(head);
    free(next);
    free(renamed);
    ir_compact(g);
    return true;
}
