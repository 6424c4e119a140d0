/* chain.c - matching exported chains of small ops (passes/chain.h). */
#include "passes/chain.h"

#include <math.h>
#include <stdlib.h>

Chain pass_chain_start(Graph *g)
{
    Chain c = {.g = g};
    c.uses = malloc(sizeof(int) * ((size_t)g->n_values + 1));
    SLIMC_ASSERT(c.uses);
    ir_uses(g, c.uses, NULL);
    return c;
}

void pass_chain_free(Chain *c)
{
    free(c->uses);
    c->uses = NULL;
}

bool pass_chain_const(const Graph *g, ValueId v, double *out)
{
    if (v == IR_NONE)
        return false;
    const Value *val = &g->values[v];
    if (val->kind != IR_VALUE_CONST || !val->data || val->type.dtype != IR_F32 || val->type.quant ||
        val->data_bytes != sizeof(float))
        return false;
    *out = *(const float *)val->data;
    return true;
}

bool pass_chain_is_const(const Graph *g, ValueId v, double k)
{
    double x;
    return pass_chain_const(g, v, &x) && fabs(x - k) <= 1e-6 * fabs(k);
}

ValueId pass_chain_by_const(const Graph *g, NodeId n, double k)
{
    const Node *nd = &g->nodes[n];
    if (nd->n_inputs != 2)
        return IR_NONE;
    if (pass_chain_is_const(g, nd->inputs[1], k))
        return nd->inputs[0];
    if ((nd->op == IR_OP_MUL || nd->op == IR_OP_ADD) && pass_chain_is_const(g, nd->inputs[0], k))
        return nd->inputs[1];
    return IR_NONE;
}

NodeId pass_chain_inner_n(Chain *c, ValueId v, OpKind op, int uses)
{
    if (v == IR_NONE)
        return IR_NONE;
    const Value *val = &c->g->values[v];
    if (val->kind != IR_VALUE_TEMP || val->is_output || c->uses[v] != uses ||
        val->producer == IR_NONE || val->type.dtype != IR_F32 || val->type.quant)
        return IR_NONE;
    const Node *n = &c->g->nodes[val->producer];
    if (n->dead || n->op != op || n->n_epilogue || n->n_outputs != 1 ||
        c->n_members == CHAIN_MAX_MEMBERS)
        return IR_NONE;
    c->members[c->n_members++] = val->producer;
    return val->producer;
}

NodeId pass_chain_inner(Chain *c, ValueId v, OpKind op)
{
    return pass_chain_inner_n(c, v, op, 1);
}

bool pass_chain_same_device(const Chain *c, NodeId end)
{
    for (int k = 0; k < c->n_members; k++)
        if (c->g->nodes[c->members[k]].device != c->g->nodes[end].device)
            return false;
    return true;
}

bool pass_chain_run(Graph *g, const PassArgs *args, Diag *d, bool last_first, ChainAt at)
{
    if (!pass_args_check(args, NULL, d))
        return false;
    Chain c = pass_chain_start(g);
    int found = 0;
    for (NodeId k = 0; k < g->n_nodes; k++) {
        const NodeId i = last_first ? g->n_nodes - 1 - k : k;
        if (g->nodes[i].dead || g->nodes[i].n_outputs != 1)
            continue;
        c.n_members = 0;
        found += at(&c, i);
    }
    pass_chain_free(&c);
    if (found)
        ir_compact(g);
    return true;
}

void pass_chain_replace(Chain *c, NodeId end, OpKind op, const ValueId *inputs, int n_inputs)
{
    Graph *g = c->g;
    for (int k = 0; k < c->n_members; k++) {
        Node *m = &g->nodes[c->members[k]];
        if (m->dead)
            continue; /* matched twice (a value the chain reads on two paths) */
        m->dead = true;
        for (int j = 0; j < m->n_inputs; j++)
            if (m->inputs[j] >= 0)
                c->uses[m->inputs[j]]--;
    }
    Node *e = &g->nodes[end];
    for (int j = 0; j < e->n_inputs; j++)
        if (e->inputs[j] >= 0)
            c->uses[e->inputs[j]]--;
    e->op = op;
    e->inputs = ir_arena_alloc(g->arena, sizeof(ValueId) * (size_t)n_inputs);
    for (int j = 0; j < n_inputs; j++) {
        e->inputs[j] = inputs[j];
        if (inputs[j] >= 0)
            c->uses[inputs[j]]++;
    }
    e->n_inputs = n_inputs;
    e->n_attrs = 0;
    e->attrs = NULL;
    c->n_members = 0;
}
