/* Quantization-aware training (passes/qat.h). */
#include "passes/qat.h"

#include "passes/quant_internal.h"

#include <stdlib.h>
#include <string.h>

/* The nodes quantize(int8) would make int8 (passes/quantize.c): conv2d and linear with an
 * f32 constant weight, no epilogue, on a device that runs int8. */
static bool quantizable(const Graph *g, const Node *n)
{
    if (n->dead || (n->op != IR_OP_CONV2D && n->op != IR_OP_LINEAR) || n->n_epilogue ||
        n->n_inputs < 2 || !pass_device_runs_int8(n))
        return false;
    const Value *w = &g->values[n->inputs[1]];
    const Value *x = &g->values[n->inputs[0]];
    return w->kind == IR_VALUE_CONST && w->type.dtype == IR_F32 && !w->type.quant &&
           x->type.dtype == IR_F32 && !x->type.quant && !ir_attr_w_sparse(n);
}

static ValueId add_fake_quant(Graph *g, ValueId x, double scale, int32_t zp, SrcLoc loc)
{
    const char *name = ir_arena_printf(g->arena, "%s.fake_quant", g->values[x].name);
    NodeId f = ir_node_new(g, IR_OP_FAKE_QUANT, name, loc, &x, 1, 1);
    ir_node_set_float(g, f, "scale", scale);
    ir_node_set_int(g, f, "zero_point", zp);
    return f;
}

bool pass_qat_insert(Graph *g, const PassFile *data, int *n_layers, Diag *d)
{
    *n_layers = 0;
    const int n_old = g->n_nodes;
    ValueId *watch = malloc(sizeof(ValueId) * ((size_t)n_old + 1));
    int *first_use = malloc(sizeof(int) * ((size_t)n_old + 1));
    SLIMC_ASSERT(watch && first_use);
    int n_watch = 0;
    for (int i = 0; i < n_old; i++) {
        const Node *n = &g->nodes[i];
        if (!quantizable(g, n))
            continue;
        int k = 0;
        while (k < n_watch && watch[k] != n->inputs[0])
            k++;
        if (k == n_watch) {
            watch[n_watch] = n->inputs[0];
            first_use[n_watch++] = i;
        }
    }
    if (n_watch == 0) {
        free(watch);
        free(first_use);
        return true;
    }
    QStats *st = malloc(sizeof(QStats) * (size_t)n_watch);
    SLIMC_ASSERT(st);
    for (int k = 0; k < n_watch; k++)
        pass_qcal_stats_init(&st[k]);
    const SrcLoc at = {data->path, 0, 0};
    PassTensor *samples = pass_qcal_inputs(g, data, "calibration", at, d);
    bool ok = samples && pass_qcal_run(g, samples, watch, n_watch, false, st, at, d);
    free(samples);
    ValueId *xq = malloc(sizeof(ValueId) * ((size_t)n_watch + 1));
    /* at most two nodes per layer (its weight's, its input's when new) */
    NodeId *before = malloc(sizeof(NodeId) * (2 * (size_t)n_old + 1));
    SLIMC_ASSERT(xq && before);
    for (int k = 0; k < n_watch; k++)
        xq[k] = IR_NONE;
    for (int i = 0; ok && i < n_old; i++) {
        if (!quantizable(g, &g->nodes[i]))
            continue;
        int k = 0;
        while (watch[k] != g->nodes[i].inputs[0])
            k++;
        SrcLoc loc = g->nodes[i].loc;
        if (xq[k] == IR_NONE) {
            float lo, hi, scale;
            int32_t zp;
            pass_qcal_range(&st[k], QCAL_MINMAX, 0, &lo, &hi);
            pass_qcal_params(lo, hi, &scale, &zp);
            NodeId f = add_fake_quant(g, watch[k], scale, zp, loc);
            before[f - n_old] = first_use[k];
            if (!ir_infer_node(g, f, d))
                ok = false;
            xq[k] = g->nodes[f].outputs[0];
        }
        NodeId fw = add_fake_quant(g, g->nodes[i].inputs[1], 0.0, 0, loc);
        before[fw - n_old] = i;
        if (!ir_infer_node(g, fw, d))
            ok = false;
        Node *n = &g->nodes[i];
        ValueId *in = ir_arena_alloc(g->arena, sizeof(ValueId) * (size_t)n->n_inputs);
        memcpy(in, n->inputs, sizeof(ValueId) * (size_t)n->n_inputs);
        in[0] = xq[k];
        in[1] = g->nodes[fw].outputs[0];
        n->inputs = in;
        (*n_layers)++;
    }
    if (g->n_nodes > n_old)
        ir_nodes_place_appended(g, n_old, before);
    ok = ok && ir_verify(g, d);
    free(watch);
    free(first_use);
    free(st);
    free(xq);
    free(before);
    return ok;
}
