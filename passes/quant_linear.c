/* The quantize pass's view of the model's layers (docs/quantization.md, "What is
 * quantized"): exported linear layers taken as linears, and why a layer stays float.
 *
 * Exporters write a linear layer as MatMul(x, W) with W a constant [K, N] (+ Add of a
 * constant bias [N]), not as Gemm: PyTorch's nn.Linear in any model with more than two
 * dims, Keras' Dense, every transformer. The quantize modes work on linear (PyTorch's
 * weight [O, K]), so those are rewritten first as linear(x, W^T, bias) — the same
 * numbers, which the layout pass transposes back for the float kernels if the layer stays
 * float. Static int8 then asks the cost model whether each layer's int8 kernel would be
 * slower than its float one (and keeps it float if so). After the rewrite, every layer that
 * is still float gets a reason, and the pass warns when it quantized none, or left float a
 * layer that has constant weights. */
#include "passes/cost_model.h"
#include "passes/pass.h"
#include "passes/quant_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The constant f32 payload of v when it is an unquantized static f32 constant of rank
 * `rank` with data, else NULL. */
static const float *const_f32(const Graph *g, ValueId v, int rank)
{
    const Value *c = &g->values[v];
    if (c->kind != IR_VALUE_CONST || !c->data || c->type.dtype != IR_F32 || c->type.quant ||
        c->type.shape.rank != rank || !ir_shape_static(&c->type.shape))
        return NULL;
    return c->data;
}

/* The bias of the layer y = matmul(...) [.., N]: when y's only use is add(y, b) or
 * add(b, y), without an epilogue, with b a constant f32 of N elements whose dims before
 * the last are 1 (so the add's output has y's shape), that add; else IR_NONE. *bias is b. */
static NodeId bias_add(const Graph *g, ValueId y, int64_t N, const int *uses, const NodeId *sole,
                       ValueId *bias)
{
    if (uses[y] != 1 || sole[y] == IR_NONE)
        return IR_NONE;
    const Node *a = &g->nodes[sole[y]];
    if (a->dead || a->op != IR_OP_ADD || a->n_epilogue || a->n_inputs != 2)
        return IR_NONE;
    const ValueId b = a->inputs[0] == y ? a->inputs[1] : a->inputs[0];
    const Value *bv = &g->values[b];
    const Shape *bs = &bv->type.shape, *ys = &g->values[y].type.shape;
    if (b == y || bs->rank < 1 || bs->rank > ys->rank || !const_f32(g, b, bs->rank) ||
        bs->d[bs->rank - 1].c != N)
        return IR_NONE;
    for (int i = 0; i < bs->rank - 1; i++)
        if (bs->d[i].c != 1)
            return IR_NONE;
    *bias = b;
    return sole[y];
}

int pass_quant_take_matmuls(Graph *g, bool kn)
{
    const int nv = g->n_values;
    int *uses = ir_arena_alloc(g->arena, sizeof *uses * ((size_t)nv + 1));
    NodeId *sole = ir_arena_alloc(g->arena, sizeof *sole * ((size_t)nv + 1));
    ValueId *wt_of = ir_arena_alloc(g->arena, sizeof *wt_of * ((size_t)nv + 1));
    ir_uses(g, uses, sole);
    for (ValueId v = 0; v < nv; v++)
        wt_of[v] = IR_NONE; /* the transposed copy of weight v, shared by its layers */
    int taken = 0;
    for (NodeId i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead || n->op != IR_OP_MATMUL || n->n_epilogue || n->n_inputs != 2 ||
            n->n_outputs != 1)
            continue;
        const ValueId x = n->inputs[0], w = n->inputs[1], y = n->outputs[0];
        const Value *xv = &g->values[x];
        const float *wd = const_f32(g, w, 2);
        if (!wd || xv->type.dtype != IR_F32 || xv->type.quant || xv->type.shape.rank < 2)
            continue;
        const int64_t K = g->values[w].type.shape.d[0].c, N = g->values[w].type.shape.d[1].c;
        if (kn)
            wt_of[w] = w; /* read as it is, w_transposed=1 below */
        else if (wt_of[w] == IR_NONE) {
            float *t = ir_arena_alloc(g->arena, sizeof(float) * (size_t)(K * N + 1));
            pass_transpose_f32(t, wd, K, N); /* [K, N] -> [N, K] */
            Type tt = {.dtype = IR_F32, .shape = {2, {ir_dim(N), ir_dim(K)}}};
            const Value *wv = &g->values[w];
            wt_of[w] = ir_const_new(g, ir_arena_printf(g->arena, "%s.t", wv->name), tt, t,
                                    sizeof(float) * (size_t)(K * N), wv->loc);
        }
        ValueId b = IR_NONE;
        const NodeId add = bias_add(g, y, N, uses, sole, &b);
        if (add != IR_NONE && g->values[b].type.shape.rank != 1) { /* [1, .., N] as [N] */
            const Value *bv = &g->values[b];
            Type vt = {.dtype = IR_F32, .shape = {1, {ir_dim(N)}}};
            b = ir_const_new(g, bv->name, vt, bv->data, bv->data_bytes, bv->loc);
        }
        Node *ln = &g->nodes[i];
        ln->inputs = ir_arena_alloc(g->arena, sizeof(ValueId) * 3);
        ln->inputs[0] = x;
        ln->inputs[1] = wt_of[w];
        ln->inputs[2] = b;
        ln->n_inputs = add == IR_NONE ? 2 : 3;
        ln->op = IR_OP_LINEAR; /* matmul takes no attributes: its annotations stay */
        if (kn)
            ir_node_set_int(g, i, "w_transposed", 1);
        if (add != IR_NONE) { /* the linear writes the add's output; the add goes */
            const ValueId z = g->nodes[add].outputs[0];
            ln->outputs[0] = z;
            g->values[z].producer = i;
            g->values[y].producer = IR_NONE;
            g->nodes[add].dead = true;
        }
        taken++;
    }
    if (taken)
        ir_compact(g);
    return taken;
}

/* ---- int8 or float, by the cost model (static int8) ---- */

/* The reduction length K of conv2d n's int8 kernel (in-channels per group x KH x KW, its
 * weight [O, C/groups, KH, KW]) when that kernel is the small-K-sensitive one: 0 for a
 * depthwise conv (one in-channel per group: its own kernel) and for other ops. */
static int64_t conv_small_k(const Graph *g, const Node *n)
{
    const Shape *ws = &g->values[n->inputs[1]].type.shape;
    if (n->op != IR_OP_CONV2D || ws->rank != 4 || (ws->d[1].c == 1 && ir_attr_groups(n) > 1))
        return 0;
    return ws->d[1].c * ws->d[2].c * ws->d[3].c;
}

/* Predicted milliseconds of conv2d / linear n as qconv2d / qlinear on dev: the same FLOPs at
 * the profile's gemm_int8 rate, the weight and the input read as bytes (not f32); a conv of
 * small K (conv_small_k below the profile's int8_small_k_below) at least int8_small_k_vs_f32
 * times float_ms, its predicted float time; *small_k is then K (else 0). */
static double int8_ms(const CostProfile *p, const Graph *g, const Node *n, Device dev,
                      const int64_t *syms, double float_ms, int64_t *small_k)
{
    const CostDevice *d = &p->dev[dev];
    const double flops = ir_ops[n->op].flops(g, n, syms);
    const double bytes =
        ir_ops[n->op].bytes(g, n, syms) -
        0.75 * (ir_value_bytes(g, n->inputs[0], syms) + ir_value_bytes(g, n->inputs[1], syms));
    const double rate = d->gflops[COST_GEMM_INT8];
    const double compute = rate > 0 ? flops / (rate * 1e6) : INFINITY;
    const double memory =
        d->bandwidth_gbs > 0 ? fmax(bytes, 0) / (d->bandwidth_gbs * 1e6) : INFINITY;
    const double ms = d->launch_us / 1000 + fmax(compute, memory);
    const int64_t K = conv_small_k(g, n);
    *small_k = 0;
    if (K > 0 && (double)K < d->int8_small_k_below && d->int8_small_k_vs_f32 * float_ms > ms) {
        *small_k = K;
        return d->int8_small_k_vs_f32 * float_ms;
    }
    return ms;
}

int pass_quant_mark_slower(Graph *g)
{
    CostProfile dflt;
    const CostProfile *p = g->place.profile;
    if (!p) {
        cost_profile_default(&dflt);
        p = &dflt;
    }
    int64_t ones[IR_MAX_SYMS]; /* every symbol 1, as the other choices made from the profile */
    for (int k = 0; k < IR_MAX_SYMS; k++)
        ones[k] = 1;
    int kept = 0;
    for (NodeId i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead || !(n->op == IR_OP_CONV2D || n->op == IR_OP_LINEAR) ||
            ir_attr_quant_float(n) || (n->device != IR_DEVICE_CPU && n->device != IR_DEVICE_CUDA) ||
            !p->dev[n->device].present || g->values[n->outputs[0]].type.shape.rank < 0 ||
            !ir_shape_static(&g->values[n->inputs[1]].type.shape))
            continue;
        const double f = cost_node_ms(p, g, n, n->device, ones);
        int64_t small_k;
        const double q = int8_ms(p, g, n, n->device, ones, f, &small_k);
        if (!(q > f))
            continue;
        ir_node_set_int(g, i, "quant_float", 2);
        ir_node_set_float(g, i, "quant_int8_ms", q);
        ir_node_set_float(g, i, "quant_float_ms", f);
        if (small_k)
            ir_node_set_int(g, i, "quant_small_k", small_k);
        kept++;
    }
    return kept;
}

/* ---- why a layer stays float ---- */

/* Why float layer n (conv2d, conv_transpose2d, linear or matmul) was not quantized by a
 * pass of this mode; NULL when it was kept float on purpose (the accuracy guard). */
static const char *why_float(const Graph *g, const Node *n, bool linear_only)
{
    if (ir_attr_quant_float(n))
        return NULL;
    const Value *x = &g->values[n->inputs[0]], *w = &g->values[n->inputs[1]];
    if (n->op == IR_OP_CONV_TRANSPOSE2D)
        return "op conv_transpose2d has no int8 kernel";
    if (n->op == IR_OP_CONV2D && linear_only)
        return "this mode quantizes linear layers only (static int8 takes convs)";
    if (!pass_device_runs_int8(n))
        return "its device has no int8 kernel for it";
    if (w->kind != IR_VALUE_CONST || !w->data)
        return "weights are not constant";
    if (w->type.dtype != IR_F32 || w->type.quant)
        return "weights are not f32";
    if (n->op == IR_OP_MATMUL && w->type.shape.rank > 2)
        return "op matmul with batched weight";
    if (n->op == IR_OP_MATMUL && w->type.shape.rank < 2)
        return "op matmul with a vector weight";
    if (x->type.dtype != IR_F32 || x->type.quant)
        return "its input is not f32";
    if (n->op == IR_OP_CONV2D && !pass_conv_spatial_static(&x->type.shape))
        return "its input's height and width are symbolic (int8 convs need them fixed: "
               "--dim or --shape)";
    if (n->op == IR_OP_MATMUL)
        return "op matmul with an input of rank 1";
    if (n->n_epilogue)
        return "it already has a fused epilogue (quantize must run before fuse)";
    if (n->op == IR_OP_LINEAR && ir_attr_w_transposed(n))
        return "its weight is transposed by the layout pass (quantize must run before layout)";
    return "its input has no calibration range";
}

typedef struct FloatLayer {
    NodeId node;
    double flops;
    const char *why;
} FloatLayer;

static int by_flops_desc(const void *a, const void *b)
{
    const double fa = ((const FloatLayer *)a)->flops, fb = ((const FloatLayer *)b)->flops;
    return fa < fb ? 1 : fa > fb ? -1 : 0;
}

static void flops_str(double f, char *buf, size_t size)
{
    if (f >= 1e9)
        snprintf(buf, size, "%.1f GFLOP", f / 1e9);
    else if (f >= 1e6)
        snprintf(buf, size, "%.1f MFLOP", f / 1e6);
    else
        snprintf(buf, size, "%.0f FLOP", f);
}

/* Whether op is a quantized layer, or a float layer a quantize mode may take. */
static bool is_quantized_layer(OpKind op)
{
    return op == IR_OP_QCONV2D || op == IR_OP_QLINEAR || op == IR_OP_WLINEAR ||
           op == IR_OP_DQLINEAR;
}

static bool is_float_layer(OpKind op)
{
    return op == IR_OP_CONV2D || op == IR_OP_CONV_TRANSPOSE2D || op == IR_OP_LINEAR ||
           op == IR_OP_MATMUL;
}

void pass_quant_report(const Graph *g, const PassArgs *args, const char *mode, bool linear_only,
                       Diag *d)
{
    int n_q = 0, n_kept = 0, n_layers = 0, n_act = 0, n_fl = 0;
    FloatLayer *fl = malloc(sizeof *fl * ((size_t)g->n_nodes + 1));
    SLIMC_ASSERT(fl);
    for (NodeId i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead || !(is_quantized_layer(n->op) || is_float_layer(n->op)))
            continue;
        if (n->op == IR_OP_MATMUL && g->values[n->inputs[1]].kind != IR_VALUE_CONST &&
            g->values[n->inputs[1]].type.shape.rank != 2) {
            n_act++; /* a product of two activations (attention): not a layer with weights */
            continue;
        }
        n_layers++;
        if (is_quantized_layer(n->op)) {
            n_q++;
            continue;
        }
        const char *why = why_float(g, n, linear_only);
        if (!why)
            n_kept++;
        else
            fl[n_fl++] = (FloatLayer){i, ir_ops[n->op].flops(g, n, NULL), why};
    }
    qsort(fl, (size_t)n_fl, sizeof *fl, by_flops_desc);
    char list[1024] = "";
    size_t len = 0;
    for (int k = 0; k < n_fl && k < 3; k++) {
        const Node *n = &g->nodes[fl[k].node];
        char f[32];
        flops_str(fl[k].flops, f, sizeof f);
        int w = snprintf(list + len, sizeof list - len, "%s%s '%.80s' (%s): %s", k ? "; " : "",
                         ir_ops[n->op].name, n->name, f, fl[k].why);
        if (w < 0 || (size_t)w >= sizeof list - len)
            break;
        len += (size_t)w;
    }
    if (n_layers == 0)
        ir_diag_warning(d, args->loc,
                        "quantize(%s): nothing to quantize: the model has no conv2d or linear "
                        "layer, nor a matmul with constant weights%s",
                        mode, n_act ? " (its matmuls multiply two activations)" : "");
    else if (n_q == 0 && n_fl == 0)
        ir_diag_warning(d, args->loc,
                        "quantize(%s): nothing quantized: all %d layers kept float on purpose "
                        "(int8 predicted slower, or the accuracy guard; see inspect --quant)",
                        mode, n_layers);
    else if (n_q == 0)
        ir_diag_warning(d, args->loc,
                        "quantize(%s): nothing quantized (0 of %d layers); the largest: %s", mode,
                        n_layers, list);
    else if (n_fl)
        ir_diag_warning(d, args->loc,
                        "quantize(%s): %d of %d layers quantized, %d left float; the largest: %s",
                        mode, n_q, n_layers, n_fl, list);
    else
        ir_diag_note(d, args->loc, "quantize(%s): %d of %d layers quantized%s", mode, n_q, n_layers,
                     n_kept ? " (the others kept float on purpose: inspect --quant)" : "");
    free(fl);
}
