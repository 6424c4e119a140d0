/* The copies of a mixed-device graph (passes/place.h, place_insert_transfers): after the
 * place pass has set every node's device, a transfer node wherever a value is read on the
 * device it was not made on. */
#include "passes/place.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The device a value lives on: its producer's, the CPU for graph inputs (the caller's
 * memory); constants have none (-1: they are read where their readers run). */
static int home_of(const Graph *g, ValueId v)
{
    const Value *val = &g->values[v];
    if (val->kind == IR_VALUE_CONST)
        return -1;
    if (val->producer == IR_NONE)
        return IR_DEVICE_CPU;
    return (int)g->nodes[val->producer].device;
}

/* Every value node id reads (inputs and epilogue operands) replaced by fn's answer (fn
 * may add nodes: g->nodes moves, so the node is looked up again each time). */
typedef ValueId (*ReadFn)(Graph *g, NodeId id, ValueId v, void *arg);

static void each_read(Graph *g, NodeId id, ReadFn fn, void *arg)
{
    for (int i = 0; i < g->nodes[id].n_inputs; i++) {
        const ValueId v = g->nodes[id].inputs[i];
        if (v != IR_NONE) {
            const ValueId w = fn(g, id, v, arg);
            g->nodes[id].inputs[i] = w;
        }
    }
    for (int j = 0; j < g->nodes[id].n_epilogue; j++) {
        const ValueId v = g->nodes[id].epilogue[j].operand;
        if (v != IR_NONE) {
            const ValueId w = fn(g, id, v, arg);
            g->nodes[id].epilogue[j].operand = w;
        }
    }
}

/* ---- constants read on both devices: one copy for the CPU's readers ---- */

typedef struct ConstSeen {
    unsigned char *on; /* [n_values] bit d: read on device d */
} ConstSeen;

static ValueId mark_const(Graph *g, NodeId id, ValueId v, void *arg)
{
    ConstSeen *s = arg;
    if (g->values[v].kind == IR_VALUE_CONST)
        s->on[v] |= (unsigned char)(1u << g->nodes[id].device);
    return v;
}

typedef struct ConstCopy {
    ValueId *copy; /* [n_values] the CPU's copy of a constant read on both, or IR_NONE */
} ConstCopy;

static ValueId use_const_copy(Graph *g, NodeId id, ValueId v, void *arg)
{
    const ConstCopy *c = arg;
    return g->nodes[id].device == IR_DEVICE_CPU && c->copy[v] != IR_NONE ? c->copy[v] : v;
}

static void split_constants(Graph *g)
{
    const int nv = g->n_values;
    ConstSeen s = {calloc((size_t)nv + 1, 1)};
    ConstCopy c = {malloc(sizeof(ValueId) * ((size_t)nv + 1))};
    SLIMC_ASSERT(s.on && c.copy);
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead)
            each_read(g, i, mark_const, &s);
    for (int v = 0; v < nv; v++) {
        c.copy[v] = IR_NONE;
        if (s.on[v] != 3)
            continue;
        const Value *val = &g->values[v];
        char name[300];
        snprintf(name, sizeof name, "%s@cpu", val->name ? val->name : "const");
        /* the same payload (constants are read-only): weights are not doubled in memory */
        c.copy[v] = ir_const_new(g, name, val->type, val->data, val->data_bytes, val->loc);
        g->values[c.copy[v]].sparsity = g->values[v].sparsity;
    }
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead)
            each_read(g, i, use_const_copy, &c);
    free(s.on);
    free(c.copy);
}

/* ---- transfers ---- */

typedef struct Xfer {
    ValueId *to[2]; /* [n_values] the copy of a value on device d, or IR_NONE */
    NodeId *before; /* the node each appended transfer goes before (ir_nodes_place_appended) */
    int n_new, cap_new;
} Xfer;

static ValueId transfer_of(Graph *g, Xfer *x, ValueId v, Device dev, NodeId before)
{
    if (x->to[dev][v] != IR_NONE)
        return x->to[dev][v];
    char name[300];
    snprintf(name, sizeof name, "%s@%s", g->values[v].name ? g->values[v].name : "v",
             ir_device_name(dev));
    const SrcLoc loc = g->values[v].loc;
    const NodeId t = ir_node_new(g, IR_OP_TRANSFER, name, loc, &v, 1, 1);
    Node *tn = &g->nodes[t];
    tn->device = dev;
    const ValueId out = tn->outputs[0];
    g->values[out].type = g->values[v].type;
    if (x->n_new == x->cap_new) {
        x->cap_new = x->cap_new ? 2 * x->cap_new : 16;
        x->before = realloc(x->before, sizeof *x->before * (size_t)x->cap_new);
        SLIMC_ASSERT(x->before);
    }
    x->before[x->n_new++] = before;
    x->to[dev][v] = out;
    return out;
}

static ValueId rewrite_read(Graph *g, NodeId id, ValueId v, void *arg)
{
    Xfer *x = arg;
    const int home = home_of(g, v);
    const Device dev = g->nodes[id].device;
    return home < 0 || home == (int)dev ? v : transfer_of(g, x, v, dev, id);
}

/* Views live where the value they view lives: a view is moved there (its readers on the
 * other device then read it through a transfer). */
static void views_follow(Graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        Node *n = &g->nodes[i];
        if (n->dead || !(ir_ops[n->op].flags & IR_F_VIEW))
            continue;
        const int home = home_of(g, n->inputs[0]);
        if (home >= 0)
            n->device = (Device)home;
    }
}

bool place_insert_transfers(Graph *g, Diag *d)
{
    (void)d;
    if (!ir_graph_mixed(g))
        return true;
    views_follow(g);
    split_constants(g);
    const int nv = g->n_values, old_nodes = g->n_nodes;
    Xfer x = {
        {malloc(sizeof(ValueId) * ((size_t)nv + 1)), malloc(sizeof(ValueId) * ((size_t)nv + 1))},
        NULL,
        0,
        0};
    SLIMC_ASSERT(x.to[0] && x.to[1]);
    for (int v = 0; v < nv; v++)
        x.to[0][v] = x.to[1][v] = IR_NONE;
    for (int i = 0; i < old_nodes; i++)
        if (!g->nodes[i].dead)
            each_read(g, i, rewrite_read, &x);
    /* outputs are read on the CPU: a GPU-made output is copied, and the copy is the output
     * (with its name: the GPU's value takes the @cuda one) */
    for (int j = 0; j < g->n_outputs; j++) {
        const ValueId v = g->outputs[j];
        if (home_of(g, v) != IR_DEVICE_CUDA)
            continue;
        const bool fresh = x.to[IR_DEVICE_CPU][v] == IR_NONE;
        const ValueId c = transfer_of(g, &x, v, IR_DEVICE_CPU, old_nodes); /* after them all */
        if (fresh) {
            char name[300];
            snprintf(name, sizeof name, "%s@cuda", g->values[v].name ? g->values[v].name : "v");
            g->values[c].name = g->values[v].name;
            g->values[v].name = ir_arena_strdup(g->arena, name);
        }
        g->values[v].is_output = false;
        g->values[c].is_output = true;
        g->outputs[j] = c;
    }
    for (int j = 0; j < g->n_outputs; j++) /* an output listed twice stays one */
        g->values[g->outputs[j]].is_output = true;
    if (x.n_new)
        ir_nodes_place_appended(g, old_nodes, x.before);
    free(x.to[0]);
    free(x.to[1]);
    free(x.before);
    return true;
}
