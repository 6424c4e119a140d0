/* quantize: static post-training int8 (docs/quantization.md).
 *
 *   quantize(int8, calibrate="calib.npy" [, method=minmax|percentile(p)|entropy|mse]
 *            [, per_channel=true|false])
 *
 * Every conv2d and linear whose weight is an f32 constant (and that carries no epilogue
 * yet) becomes qconv2d / qlinear: the weight is stored as i8, symmetric, one scale per
 * output channel (per_channel, the default) or one for the tensor; its input activation
 * is quantized to u8 with a per-tensor scale and zero point chosen from calibration (the
 * fp32 graph run over the samples of every input: a .npy, or for several inputs a .npz or
 * "NAME=FILE.npy,..." list, passes/calibrate.c); the node
 * writes f32 (i32 accumulation, bias fused), so ops without an int8 kernel stay float
 * and need no dequantize node. One quantize node serves every quantized op that reads the
 * same activation. The path is relative to the model file when the pipeline is the
 * model's compress block, else to the working directory; the API layer reads the files
 * (api/pipeline.c) and hands them over on the arguments (PassArg.file). */
#include "passes/pass.h"
#include "passes/quant_internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool parse_method(const PassArgs *args, QMethod *m, double *p, Diag *d)
{
    const PassArg *a = pass_arg(args, "method");
    *m = QCAL_MINMAX;
    *p = 99.99;
    if (!a)
        return true;
    const char *name = a->kind == PASS_ARG_CALL ? a->call->name : a->text;
    if (a->kind == PASS_ARG_NAME || a->kind == PASS_ARG_STRING || a->kind == PASS_ARG_CALL) {
        if (strcmp(name, "minmax") == 0 && a->kind != PASS_ARG_CALL)
            return true;
        if (strcmp(name, "entropy") == 0 && a->kind != PASS_ARG_CALL) {
            *m = QCAL_ENTROPY;
            return true;
        }
        if (strcmp(name, "mse") == 0 && a->kind != PASS_ARG_CALL) {
            *m = QCAL_MSE;
            return true;
        }
        if (strcmp(name, "percentile") == 0) {
            *m = QCAL_PERCENTILE;
            if (a->kind == PASS_ARG_CALL) {
                if (a->call->n != 1 || a->call->args[0].kind != PASS_ARG_NUMBER ||
                    !(a->call->args[0].number > 0 && a->call->args[0].number <= 100)) {
                    ir_diag_error(d, a->loc,
                                  "quantize: percentile takes one number in (0, 100], e.g. "
                                  "percentile(99.99)");
                    return false;
                }
                *p = a->call->args[0].number;
            }
            return true;
        }
    }
    ir_diag_error(d, a->loc,
                  "quantize: unknown method '%s' (methods: minmax, percentile(p), entropy, mse)",
                  name ? name : "?");
    return false;
}

/* Quantizes weight w [O, ...] (f32) to i8 per output channel; fills scale[O] and sum[O]. */
static bool quantize_weight(Graph *g, const Node *n, ValueId wv, bool per_channel, int8_t **q_out,
                            float **scale_out, int32_t **sum_out, double *rel_err, Diag *d)
{
    const Value *w = &g->values[wv];
    int64_t O = w->type.shape.d[0].c, total = 1;
    for (int i = 0; i < w->type.shape.rank; i++)
        total *= w->type.shape.d[i].c;
    int64_t K = O ? total / O : 0;
    const float *x = w->data;
    int8_t *q = ir_arena_alloc(g->arena, (size_t)(total ? total : 1));
    float *sc = ir_arena_alloc(g->arena, sizeof(float) * (size_t)(O ? O : 1));
    int32_t *sum = ir_arena_alloc(g->arena, sizeof(int32_t) * (size_t)(O ? O : 1));
    float tmax = 0;
    for (int64_t i = 0; i < total; i++) {
        if (!isfinite(x[i])) {
            ir_diag_error(d, n->loc, "quantize: the weight '%s' of %s '%s' holds NaN or Inf",
                          w->name, ir_ops[n->op].name, n->name);
            return false;
        }
        tmax = fmaxf(tmax, fabsf(x[i]));
    }
    for (int64_t o = 0; o < O; o++) {
        float m = 0;
        for (int64_t k = 0; k < K; k++)
            m = fmaxf(m, fabsf(x[o * K + k]));
        if (!per_channel)
            m = tmax;
        float s = m > 0 ? m / 127.0f : 1.0f;
        sc[o] = s;
        int32_t acc = 0;
        for (int64_t k = 0; k < K; k++) {
            float v = nearbyintf(x[o * K + k] / s);
            v = fminf(fmaxf(v, -127.0f), 127.0f);
            q[o * K + k] = (int8_t)v;
            acc += (int32_t)q[o * K + k];
        }
        sum[o] = acc;
    }
    double e2 = 0, w2 = 0; /* the relative RMS error of the dequantized weights */
    for (int64_t i = 0; i < total; i++) {
        const double dq = (double)q[i] * sc[K ? i / K : 0] - x[i];
        e2 += dq * dq;
        w2 += (double)x[i] * x[i];
    }
    *rel_err = w2 > 0 ? sqrt(e2 / w2) : 0;
    *q_out = q;
    *scale_out = sc;
    *sum_out = sum;
    return true;
}

bool pass_device_runs_int8(const Node *n)
{
    const OpKind q = n->op == IR_OP_CONV2D ? IR_OP_QCONV2D : IR_OP_QLINEAR;
    return n->device == IR_DEVICE_CPU ||
           (n->device == IR_DEVICE_CUDA && (ir_ops[q].backends & IR_BE_CUDA));
}

bool pass_conv_spatial_static(const Shape *s)
{
    return s->rank == 4 && ir_dim_static(s->d[2]) && ir_dim_static(s->d[3]);
}

/* Whether node n gets an int8 kernel. */
static bool quantizable(const Graph *g, const Node *n)
{
    if (n->dead || n->n_epilogue || !pass_device_runs_int8(n) || ir_attr_quant_float(n) == 2)
        return false; /* quant_float 2: the cost model predicts int8 slower */
    /* ops.def's quantizable rows (conv2d, linear); a transposed linear has no int8 kernel */
    if (!(ir_ops[n->op].flags & IR_F_QUANTIZABLE) ||
        (n->op == IR_OP_LINEAR && ir_attr_w_transposed(n) != 0))
        return false;
    const Value *x = &g->values[n->inputs[0]], *w = &g->values[n->inputs[1]];
    if (x->type.dtype != IR_F32 || x->type.quant || x->type.shape.rank < 1)
        return false;
    if (n->op == IR_OP_CONV2D && !pass_conv_spatial_static(&x->type.shape))
        return false; /* qconv2d's kernels take fixed spatial sizes */
    if (w->kind != IR_VALUE_CONST || !w->data || w->type.dtype != IR_F32 || w->type.quant ||
        !ir_shape_static(&w->type.shape) || w->type.shape.rank < 2)
        return false;
    if (n->n_inputs > 2 && n->inputs[2] != IR_NONE) {
        const Value *b = &g->values[n->inputs[2]];
        if (b->kind != IR_VALUE_CONST || b->type.dtype != IR_F32)
            return false;
    }
    return true;
}

/* Rewrites the quantizable nodes of g (but those with keep_float[i], when given: i indexes
 * g's nodes before this call) into int8 ops, with the activations' parameters xs / xz of
 * watch[k]. */
static bool rewrite(Graph *g, const ValueId *watch, int n_watch, const float *xs, const int32_t *xz,
                    bool per_channel, const bool *keep_float, Diag *d)
{
    ValueId *xq = ir_arena_alloc(g->arena, sizeof(ValueId) * (size_t)n_watch);
    for (int k = 0; k < n_watch; k++)
        xq[k] = IR_NONE;
    /* An int8 op that follows its new quantize node is appended, and all of them move into
     * place in one sweep at the end (a move each was quadratic in the nodes). */
    const NodeId n_old = g->n_nodes;
    NodeId *before = ir_arena_alloc(g->arena, sizeof *before * ((size_t)n_old + 1));
    for (NodeId i = 0; i < n_old; i++) {
        if (!quantizable(g, &g->nodes[i]) || (keep_float && keep_float[i]))
            continue;
        Node *n = &g->nodes[i];
        int k = 0;
        while (k < n_watch && watch[k] != n->inputs[0])
            k++;
        if (k == n_watch)
            continue;
        const ValueId wv = n->inputs[1], bv = n->n_inputs > 2 ? n->inputs[2] : IR_NONE,
                      y = n->outputs[0];
        int8_t *q;
        float *sc;
        int32_t *sum;
        double werr;
        if (!quantize_weight(g, n, wv, per_channel, &q, &sc, &sum, &werr, d))
            return false;
        const Value *w = &g->values[wv];
        const int64_t O = w->type.shape.d[0].c;
        const char *wname = w->name;
        SrcLoc wloc = w->loc;
        Type qt = w->type;
        qt.dtype = IR_I8;
        QuantParams *qp = ir_arena_alloc(g->arena, sizeof *qp);
        qp->axis = 0; /* per output channel (all equal when per_tensor) */
        qp->group_size = 0;
        qp->count = (int)O;
        qp->scale = sc;
        qp->zero_point = NULL; /* symmetric */
        qt.quant = qp;
        int64_t total = 1;
        for (int r = 0; r < qt.shape.rank; r++)
            total *= qt.shape.d[r].c;
        ValueId qw =
            ir_const_new(g, ir_arena_printf(g->arena, "%s.q", wname), qt, q, (size_t)total, wloc);
        Type vt = {.dtype = IR_F32, .shape = {1, {ir_dim(O)}}};
        ValueId sv = ir_const_new(g, ir_arena_printf(g->arena, "%s.scale", wname), vt, sc,
                                  sizeof(float) * (size_t)O, wloc);
        vt.dtype = IR_I32;
        ValueId smv = ir_const_new(g, ir_arena_printf(g->arena, "%s.sum", wname), vt, sum,
                                   sizeof(int32_t) * (size_t)O, wloc);
        n = &g->nodes[i];
        OpKind qop = n->op == IR_OP_CONV2D ? IR_OP_QCONV2D : IR_OP_QLINEAR;
        ValueId in5[5] = {IR_NONE, qw, sv, smv, bv};
        if (xq[k] == IR_NONE) {
            /* node i becomes the quantize node; the int8 op is inserted right after it */
            ValueId xin = n->inputs[0];
            ValueId qx =
                ir_value_new(g, ir_arena_printf(g->arena, "%s.q", g->values[xin].name),
                             (Type){.dtype = IR_U8, .shape = g->values[xin].type.shape}, n->loc);
            xq[k] = qx;
            in5[0] = qx;
            const char *nname = n->name;
            SrcLoc nloc = n->loc;
            Device dev = n->device;
            NodeId nn = ir_node_new(g, qop, nname, nloc, in5, bv == IR_NONE ? 4 : 5, 1);
            const Node *src = &g->nodes[i];
            if (qop == IR_OP_QCONV2D) {
                int64_t v2[2];
                ir_attr_stride(src, v2, 2);
                ir_node_set_ints(g, nn, "stride", v2, 2);
                ir_attr_padding(&g->nodes[i], v2, 2);
                ir_node_set_ints(g, nn, "padding", v2, 2);
                ir_attr_dilation(&g->nodes[i], v2, 2);
                ir_node_set_ints(g, nn, "dilation", v2, 2);
                ir_node_set_int(g, nn, "groups", ir_attr_groups(&g->nodes[i]));
            }
            ir_node_set_float(g, nn, "x_scale", xs[k]);
            ir_node_set_int(g, nn, "x_zero_point", xz[k]);
            ir_node_set_float(g, nn, "w_error", werr);
            ValueId spare = g->nodes[nn].outputs[0];
            g->values[spare].producer = IR_NONE; /* unused; dropped by ir_compact */
            g->values[spare].type = g->values[y].type;
            g->nodes[nn].outputs[0] = y;
            g->nodes[nn].device = dev;
            /* node i: quantize(x) -> qx */
            Node *qn = &g->nodes[i];
            qn->op = IR_OP_QUANTIZE;
            qn->name = ir_arena_printf(g->arena, "%s.quantize", nname);
            qn->n_attrs = 0;
            qn->attrs = NULL;
            qn->n_inputs = 1;
            qn->outputs[0] = qx;
            ir_node_set_float(g, i, "scale", xs[k]);
            ir_node_set_int(g, i, "zero_point", xz[k]);
            before[nn - n_old] = i + 1;
        } else {
            /* the activation is already quantized upstream: node i becomes the int8 op */
            in5[0] = xq[k];
            int64_t st[2], pd[2], dl[2], groups = ir_attr_groups(n);
            ir_attr_stride(n, st, 2);
            ir_attr_padding(n, pd, 2);
            ir_attr_dilation(n, dl, 2);
            const int nin = bv == IR_NONE ? 4 : 5;
            n->inputs = ir_arena_alloc(g->arena, sizeof(ValueId) * 5);
            memcpy(n->inputs, in5, sizeof(ValueId) * 5);
            n->n_inputs = nin;
            n->op = qop;
            n->n_attrs = 0;
            n->attrs = NULL;
            if (qop == IR_OP_QCONV2D) {
                ir_node_set_ints(g, i, "stride", st, 2);
                ir_node_set_ints(g, i, "padding", pd, 2);
                ir_node_set_ints(g, i, "dilation", dl, 2);
                ir_node_set_int(g, i, "groups", groups);
            }
            ir_node_set_float(g, i, "x_scale", xs[k]);
            ir_node_set_int(g, i, "x_zero_point", xz[k]);
            ir_node_set_float(g, i, "w_error", werr);
        }
    }
    ir_nodes_place_appended(g, n_old, before);
    ir_compact(g);
    return ir_infer_shapes(g, d);
}

/* ---- the accuracy guard: quantize(..., max_drop=0.5%, validate="val.npy"[, labels=...]) ----
 *
 * The metric is top-1 accuracy against the labels, or without labels top-1 agreement with
 * the fp32 model; both models run on the validation samples with the reference evaluator.
 * If quantizing every layer costs more than max_drop, each layer's sensitivity (the metric
 * gained by keeping it alone in float) is measured, and layers stay float in that order,
 * most sensitive first, until the drop fits. Each float layer gets the attributes
 * quant_float = 1 and quant_cost (the points of metric that keeping it alone in float recovers),
 * for inspect --quant. */

typedef struct Guard {
    const Graph *g; /* the fp32 graph (not rewritten) */
    const ValueId *watch;
    int n_watch;
    const float *xs;
    const int32_t *xz;
    bool per_channel;
    PassTensor *val; /* per input: the validation samples */
    int64_t n_val;   /* their count */
    int64_t *labels; /* NULL: agreement with ref */
    float *ref;      /* fp32 outputs */
    int64_t per;     /* values per sample */
    SrcLoc loc;
} Guard;

static int64_t argmax_row(const float *r, int64_t n)
{
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (r[i] > r[best])
            best = i;
    return best;
}

/* Top-1 of out against the labels, or against ref's top-1. */
static double top1(const Guard *gd, const float *out)
{
    const int64_t n = gd->n_val;
    int64_t hit = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t want = gd->labels ? gd->labels[i] : argmax_row(gd->ref + i * gd->per, gd->per);
        hit += argmax_row(out + i * gd->per, gd->per) == want;
    }
    return (double)hit / (double)n;
}

/* The metric of g quantized with the layers of keep_float left float; < 0 on error. */
static double measure(const Guard *gd, const bool *keep_float, Diag *d)
{
    Graph *c = ir_graph_clone(gd->g);
    double m = -1;
    float *out = NULL;
    int64_t per = 0;
    if (rewrite(c, gd->watch, gd->n_watch, gd->xs, gd->xz, gd->per_channel, keep_float, d) &&
        pass_qcal_eval(c, gd->val, &out, &per, gd->loc, d))
        m = top1(gd, out);
    free(out);
    ir_graph_free(c);
    return m;
}

static bool read_labels(Guard *gd, const PassArgs *args, Diag *d)
{
    const PassArg *la = pass_arg(args, "labels");
    if (!la)
        return true;
    if (la->kind != PASS_ARG_STRING && la->kind != PASS_ARG_NAME) {
        ir_diag_error(d, la->loc, "quantize: labels is a .npy file: labels=\"labels.npy\"");
        return false;
    }
    const PassFile *lab = pass_file(la, d);
    if (!lab)
        return false;
    bool ok = lab->n_parts == 0 && lab->ndim == 1 && lab->shape[0] == gd->n_val &&
              (lab->dtype == IR_I64 || lab->dtype == IR_I32 || lab->dtype == IR_U8 ||
               lab->dtype == IR_I16 || lab->dtype == IR_I8);
    if (!ok)
        ir_diag_error(
            d, la->loc,
            "quantize: labels must be integers, one per validation sample (%lld), in '%s'",
            (long long)gd->n_val, la->text);
    gd->labels = ok ? malloc(sizeof(int64_t) * (size_t)(lab->shape[0] + 1)) : NULL;
    for (int64_t i = 0; ok && i < lab->shape[0]; i++) {
        gd->labels[i] = (int64_t)ir_dtype_get(lab->dtype, lab->data, i);
        if (gd->labels[i] < 0 || gd->labels[i] >= gd->per) {
            ir_diag_error(d, la->loc,
                          "quantize: label %lld of '%s' is %lld; the model has %lld classes",
                          (long long)i, la->text, (long long)gd->labels[i], (long long)gd->per);
            ok = false;
        }
    }
    return ok;
}

static bool guard(Graph *g, const PassArgs *args, const ValueId *watch, int n_watch,
                  const float *xs, const int32_t *xz, bool per_channel, Diag *d)
{
    const PassArg *md = pass_arg(args, "max_drop"), *va = pass_arg(args, "validate");
    if (md->kind != PASS_ARG_NUMBER || !(md->number >= 0) || md->number >= 1) {
        ir_diag_error(d, md->loc,
                      "quantize: max_drop is a fraction of top-1 accuracy, e.g. max_drop=0.5%% "
                      "(or 0.005)");
        return false;
    }
    if (!va || (va->kind != PASS_ARG_STRING && va->kind != PASS_ARG_NAME)) {
        ir_diag_error(d, args->loc,
                      "quantize: max_drop needs validation samples: validate=\"val.npy\" "
                      "[, labels=\"labels.npy\"]");
        return false;
    }
    Guard gd = {.g = g,
                .watch = watch,
                .n_watch = n_watch,
                .xs = xs,
                .xz = xz,
                .per_channel = per_channel,
                .loc = va->loc};
    const PassFile *vf = pass_file(va, d);
    if (!vf)
        return false;
    gd.val = pass_qcal_inputs(g, vf, "validation", va->loc, d);
    if (!gd.val)
        return false;
    gd.n_val = gd.val[0].shape[0];
    bool ok = pass_qcal_eval(g, gd.val, &gd.ref, &gd.per, va->loc, d);
    ok = ok && read_labels(&gd, args, d);
    const int n = g->n_nodes;
    bool *keep = calloc((size_t)n + 1, sizeof(bool));
    NodeId *layers = malloc(sizeof(NodeId) * ((size_t)n + 1));
    double *gain = calloc((size_t)n + 1, sizeof(double));
    int n_layers = 0;
    for (NodeId i = 0; keep && layers && i < n; i++)
        if (quantizable(g, &g->nodes[i]))
            layers[n_layers++] = i;
    ok = ok && keep && layers && gain;
    const double base = ok ? (gd.labels ? top1(&gd, gd.ref) : 1.0) : 0;
    double m = ok ? measure(&gd, NULL, d) : -1;
    ok = ok && m >= 0;
    const double all_int8 = m;
    int n_float = 0;
    if (ok && base - m > md->number) {
        /* sensitivities, then the most sensitive layers float until the drop fits */
        for (int j = 0; ok && j < n_layers; j++) {
            keep[layers[j]] = true;
            double mj = measure(&gd, keep, d);
            keep[layers[j]] = false;
            ok = mj >= 0;
            gain[layers[j]] = mj - all_int8;
        }
        while (ok && base - m > md->number && n_float < n_layers - 1) {
            int best = -1;
            for (int j = 0; j < n_layers; j++)
                if (!keep[layers[j]] && (best < 0 || gain[layers[j]] > gain[layers[best]]))
                    best = j;
            keep[layers[best]] = true;
            n_float++;
            m = measure(&gd, keep, d);
            ok = m >= 0;
        }
    }
    char floats[512] = "";
    size_t len = 0;
    for (int j = 0; ok && j < n_layers; j++)
        if (keep[layers[j]] && len < sizeof floats - 64)
            len +=
                (size_t)snprintf(floats + len, sizeof floats - len, "%s%s (%.2f)", len ? ", " : "",
                                 g->nodes[layers[j]].name, gain[layers[j]] * 100);
    if (ok && base - m > md->number) {
        ir_diag_error(
            d, args->loc,
            "quantize: max_drop=%g%% cannot be met with any layer in int8: the best is a "
            "drop of %.2f points with %d of %d layers float (%s: points each recovers alone), "
            "%.2f with all int8",
            md->number * 100, (base - m) * 100, n_float, n_layers, floats, (base - all_int8) * 100);
        ok = false;
    }
    if (ok) {
        for (int j = 0; j < n_layers; j++)
            if (keep[layers[j]]) {
                ir_node_set_int(g, layers[j], "quant_float", 1);
                ir_node_set_float(g, layers[j], "quant_cost", gain[layers[j]] * 100);
            }
        ir_diag_note(d, args->loc,
                     "quantize: top-1 %s %.2f%% fp32, %.2f%% with %d of %d layers int8 (drop %.2f "
                     "points, budget %.2f)%s%s%s",
                     gd.labels ? "accuracy" : "agreement", base * 100, m * 100, n_layers - n_float,
                     n_layers, (base - m) * 100, md->number * 100,
                     n_float ? "; float (points each recovers alone): " : "", floats, "");
        ok = rewrite(g, watch, n_watch, xs, xz, per_channel, keep, d);
    }
    free(keep);
    free(layers);
    free(gain);
    free(gd.ref);
    free(gd.val);
    free(gd.labels);
    return ok;
}

/* ---- weight-only (int8, int4 with group scales, fp16, bf16) and dynamic int8 ----
 *
 * Every linear with a constant f32 weight (PyTorch's [O, K], no epilogue yet) becomes
 *   wlinear(x, w', scales, bias) {group}   w' i8 / i4 [O, K] (symmetric, one scale per
 *                                           `group` weights of a row), or f16 / bf16 [O, K]
 *   dqlinear(x, w.q, w.scale, w.sum, bias)  dynamic: x quantized to u8 at run time.
 * No calibration: activations stay f32 (weight-only) or get their range per run. */

/* i8 / i4 weights with one scale per group of a row: s = max|w| / qmax, q = round(w / s). */
static bool group_quantize(Graph *g, const Node *n, const float *x, int64_t O, int64_t K,
                           int64_t group, DType dt, void **q_out, float **s_out, Diag *d)
{
    const int qmax = dt == IR_I4 ? 7 : 127;
    const int64_t G = K / group;
    float *sc = ir_arena_alloc(g->arena, sizeof(float) * (size_t)(O * G + 1));
    size_t qbytes = dt == IR_I4 ? (size_t)(O * K / 2) : (size_t)(O * K);
    uint8_t *q = ir_arena_alloc(g->arena, qbytes + 1);
    memset(q, 0, qbytes + 1);
    for (int64_t i = 0; i < O * K; i++)
        if (!isfinite(x[i])) {
            ir_diag_error(d, n->loc, "quantize: the weight of %s '%s' holds NaN or Inf",
                          ir_ops[n->op].name, n->name);
            return false;
        }
    for (int64_t o = 0; o < O; o++)
        for (int64_t gi = 0; gi < G; gi++) {
            const float *w = x + o * K + gi * group;
            float m = 0;
            for (int64_t k = 0; k < group; k++)
                m = fmaxf(m, fabsf(w[k]));
            const float s = m > 0 ? m / (float)qmax : 1.0f;
            sc[o * G + gi] = s;
            for (int64_t k = 0; k < group; k++) {
                float v = nearbyintf(w[k] / s);
                v = fminf(fmaxf(v, (float)-qmax), (float)qmax);
                const int64_t idx = o * K + gi * group + k;
                if (dt == IR_I8)
                    ((int8_t *)q)[idx] = (int8_t)v;
                else
                    q[idx / 2] |= (uint8_t)(((unsigned)(int)v & 15u) << ((idx & 1) * 4));
            }
        }
    *q_out = q;
    *s_out = sc;
    return true;
}

static bool lowbit(Graph *g, const PassArgs *args, DType format, bool weight_only, bool dynamic,
                   bool per_channel, Diag *d)
{
    if (dynamic && (format != IR_I8 || weight_only)) {
        ir_diag_error(d, args->loc, "quantize: dynamic is int8 only: quantize(int8, dynamic)");
        return false;
    }
    if (pass_arg(args, "calibrate") || pass_arg(args, "max_drop") || pass_arg(args, "method")) {
        ir_diag_error(d, args->loc,
                      "quantize: calibrate, method and max_drop go with static int8 (weight-only "
                      "and dynamic modes need no calibration)");
        return false;
    }
    const PassArg *ga = pass_arg(args, "group");
    int64_t group = 0;
    if (ga) {
        if (ga->kind != PASS_ARG_NUMBER || ga->number < 2 || ga->number != floor(ga->number) ||
            ga->number > 1e9) {
            ir_diag_error(d, ga->loc,
                          "quantize: group is a whole number of weights, e.g. group=32");
            return false;
        }
        if (format == IR_F16 || format == IR_BF16 || dynamic) {
            ir_diag_error(d, ga->loc, "quantize: group goes with int8 / int4 weight-only");
            return false;
        }
        group = (int64_t)ga->number;
    }
    for (NodeId i = 0; i < g->n_nodes; i++) {
        Node *n = &g->nodes[i];
        if (n->dead || n->op != IR_OP_LINEAR || !quantizable(g, n))
            continue;
        const Value *w = &g->values[n->inputs[1]];
        const int64_t O = w->type.shape.d[0].c, K = w->type.shape.d[1].c;
        const ValueId bv = n->n_inputs > 2 ? n->inputs[2] : IR_NONE;
        const char *wname = w->name;
        const SrcLoc wloc = w->loc;
        ValueId ins[5];
        int n_in;
        OpKind op;
        int64_t gsz = 0;
        if (dynamic) {
            int8_t *q;
            float *sc;
            int32_t *sum;
            double err;
            if (!quantize_weight(g, n, n->inputs[1], per_channel, &q, &sc, &sum, &err, d))
                return false;
            Type qt = {.dtype = IR_I8, .shape = w->type.shape};
            Type vt = {.dtype = IR_F32, .shape = {1, {ir_dim(O)}}};
            ins[1] = ir_const_new(g, ir_arena_printf(g->arena, "%s.q", wname), qt, q,
                                  (size_t)(O * K), wloc);
            ins[2] = ir_const_new(g, ir_arena_printf(g->arena, "%s.scale", wname), vt, sc,
                                  sizeof(float) * (size_t)O, wloc);
            vt.dtype = IR_I32;
            ins[3] = ir_const_new(g, ir_arena_printf(g->arena, "%s.sum", wname), vt, sum,
                                  sizeof(int32_t) * (size_t)O, wloc);
            ins[4] = bv;
            n_in = bv == IR_NONE ? 4 : 5;
            op = IR_OP_DQLINEAR;
        } else if (format == IR_F16 || format == IR_BF16) {
            uint16_t *h = ir_arena_alloc(g->arena, sizeof(uint16_t) * (size_t)(O * K + 1));
            const float *x = w->data;
            for (int64_t k = 0; k < O * K; k++)
                h[k] = format == IR_F16 ? ir_f16_bits(x[k]) : ir_bf16_bits(x[k]);
            Type ht = {.dtype = format, .shape = w->type.shape};
            ins[1] =
                ir_const_new(g, ir_arena_printf(g->arena, "%s.%s", wname, ir_dtype_name(format)),
                             ht, h, sizeof(uint16_t) * (size_t)(O * K), wloc);
            ins[2] = IR_NONE;
            ins[3] = bv;
            n_in = bv == IR_NONE ? 2 : 4;
            op = IR_OP_WLINEAR;
        } else {
            /* int4 by default: groups of 32, else the largest power of two under it that
             * divides K; int8: one scale per row */
            gsz = group ? group : K;
            for (int64_t c = 32; !group && format == IR_I4 && c >= 2; c /= 2)
                if (K % c == 0) {
                    gsz = c;
                    break;
                }
            if (!per_channel && !group)
                gsz = K; /* one scale per row is the coarsest the format has */
            if (K % gsz || (format == IR_I4 && (gsz % 2 || K % 2))) {
                ir_diag_error(d, n->loc,
                              "quantize: group=%lld does not divide the %lld input channels of %s "
                              "'%s'%s",
                              (long long)gsz, (long long)K, ir_ops[n->op].name, n->name,
                              format == IR_I4 ? " (int4 also needs an even group)" : "");
                return false;
            }
            void *q;
            float *sc;
            if (!group_quantize(g, n, w->data, O, K, gsz, format, &q, &sc, d))
                return false;
            Type qt = {.dtype = format, .shape = w->type.shape};
            Type st = {.dtype = IR_F32, .shape = {2, {ir_dim(O), ir_dim(K / gsz)}}};
            ins[1] =
                ir_const_new(g, ir_arena_printf(g->arena, "%s.%s", wname, ir_dtype_name(format)),
                             qt, q, ir_dtype_bytes(format, O * K), wloc);
            ins[2] = ir_const_new(g, ir_arena_printf(g->arena, "%s.scales", wname), st, sc,
                                  sizeof(float) * (size_t)(O * (K / gsz)), wloc);
            ins[3] = bv;
            n_in = bv == IR_NONE ? 3 : 4;
            op = IR_OP_WLINEAR;
        }
        n = &g->nodes[i];
        ins[0] = n->inputs[0];
        n->inputs = ir_arena_alloc(g->arena, sizeof(ValueId) * 5);
        memcpy(n->inputs, ins, sizeof(ValueId) * 5);
        n->n_inputs = n_in;
        n->op = op;
        n->n_attrs = 0;
        n->attrs = NULL;
        if (op == IR_OP_WLINEAR && gsz)
            ir_node_set_int(g, i, "group", gsz);
    }
    ir_compact(g);
    if (!ir_infer_shapes(g, d))
        return false;
    const char *mode = dynamic             ? "int8, dynamic"
                       : format == IR_F16  ? "fp16"
                       : format == IR_BF16 ? "bf16"
                       : format == IR_I4   ? "int4"
                                           : "int8, weight_only";
    pass_quant_report(g, args, mode, true, d);
    return true;
}

/* ---- calibration sanity (docs/quantization.md, "Calibration") ---- */

/* Warns about each watched activation whose calibration is degenerate: a zero observed
 * range (the same value in every sample: constant or all-zero data), or a u8 scale that
 * is not finite, denormal or over 1e15 (absurdly scaled data). When every one is
 * degenerate the calibration data is useless: an error naming the file. */
static bool check_ranges(const Graph *g, const ValueId *watch, int n_watch, const QStats *stats,
                         const float *lo, const float *hi, const char *path, SrcLoc loc, Diag *d)
{
    /* the layer each activation serves: the first quantizable node that reads it */
    NodeId *first = malloc(sizeof(NodeId) * ((size_t)g->n_values + 1));
    if (!first) {
        ir_diag_error(d, loc, "quantize: out of memory");
        return false;
    }
    for (ValueId v = 0; v < g->n_values; v++)
        first[v] = IR_NONE;
    for (NodeId i = g->n_nodes - 1; i >= 0; i--)
        if (quantizable(g, &g->nodes[i]))
            first[g->nodes[i].inputs[0]] = i;
    int bad = 0;
    for (int k = 0; k < n_watch; k++) {
        const Node *n = first[watch[k]] == IR_NONE ? NULL : &g->nodes[first[watch[k]]];
        const char *layer = n ? n->name : "?", *op = n ? ir_ops[n->op].name : "layer";
        const char *x = g->values[watch[k]].name;
        const float s = (hi[k] - lo[k]) / 255.0f;
        if (stats[k].min == stats[k].max) {
            ir_diag_warning(
                d, loc,
                "quantize: %s '%s': its input '%s' is %g in every calibration sample (a "
                "zero range), so its int8 scale is a guess; check '%s'",
                op, layer, x, stats[k].min, path);
            bad++;
        } else if (!isfinite(s) || s < FLT_MIN || s > 1e15f) {
            ir_diag_warning(
                d, loc,
                "quantize: %s '%s': the int8 scale of its input '%s' would be %g (range "
                "[%g, %g]), which int8 cannot use; check the scale of '%s'",
                op, layer, x, (double)s, stats[k].min, stats[k].max, path);
            bad++;
        }
    }
    free(first);
    if (bad < n_watch)
        return true;
    ir_diag_error(d, loc,
                  "quantize: %s: the calibration data gives no usable int8 range for any of the %d "
                  "quantized layers' inputs (constant, all zero or absurdly scaled)",
                  path, n_watch);
    return false;
}

bool pass_quantize(Graph *g, const PassArgs *args, Diag *d);

bool pass_quantize(Graph *g, const PassArgs *args, Diag *d)
{
    if (!pass_args_check(args, "calibrate method per_channel max_drop validate labels group", d))
        return false;
    bool per_channel = true, weight_only = false, dynamic = false;
    DType format = IR_I8;
    for (int i = 0; i < args->n; i++) {
        const PassArg *a = &args->args[i];
        if (a->key)
            continue;
        const char *t = a->kind == PASS_ARG_NAME ? a->text : "";
        if (!strcmp(t, "int8") || !strcmp(t, "i8"))
            format = IR_I8;
        else if (!strcmp(t, "int4") || !strcmp(t, "i4"))
            format = IR_I4;
        else if (!strcmp(t, "fp16") || !strcmp(t, "f16") || !strcmp(t, "float16"))
            format = IR_F16;
        else if (!strcmp(t, "bf16") || !strcmp(t, "bfloat16"))
            format = IR_BF16;
        else if (!strcmp(t, "weight_only"))
            weight_only = true;
        else if (!strcmp(t, "dynamic"))
            dynamic = true;
        else if (!strcmp(t, "per_channel"))
            per_channel = true;
        else if (!strcmp(t, "per_tensor"))
            per_channel = false;
        else {
            ir_diag_error(
                d, a->loc,
                "quantize: unknown argument '%s' (formats: int8, int4, fp16, bf16; flags: "
                "weight_only, dynamic, per_channel, per_tensor)",
                a->text ? a->text : "?");
            return false;
        }
    }
    const PassArg *pc = pass_arg(args, "per_channel");
    if (pc) {
        if (pc->kind == PASS_ARG_NAME &&
            (strcmp(pc->text, "true") == 0 || strcmp(pc->text, "false") == 0))
            per_channel = strcmp(pc->text, "true") == 0;
        else if (pc->kind == PASS_ARG_NUMBER)
            per_channel = pc->number != 0;
        else {
            ir_diag_error(d, pc->loc, "quantize: per_channel is true or false");
            return false;
        }
    }
    /* exported linear layers (MatMul + Add) become linears that every mode takes */
    pass_quant_take_matmuls(g, false);
    if (format != IR_I8 || weight_only || dynamic)
        return lowbit(g, args, format, weight_only, dynamic, per_channel, d);
    QMethod method;
    double pct;
    if (!parse_method(args, &method, &pct, d))
        return false;
    const PassArg *cal = pass_arg(args, "calibrate");
    if (!cal || (cal->kind != PASS_ARG_STRING && cal->kind != PASS_ARG_NAME)) {
        ir_diag_error(d, args->loc,
                      "quantize: static int8 needs calibration samples: quantize(int8, "
                      "calibrate=\"calib.npy\")");
        return false;
    }
    /* the layers whose int8 kernel would be slower stay float */
    pass_quant_mark_slower(g);
    /* the activations to calibrate: inputs of the quantizable nodes */
    ValueId *watch = ir_arena_alloc(g->arena, sizeof(ValueId) * (size_t)(g->n_nodes + 1));
    int n_watch = 0;
    for (NodeId i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (!quantizable(g, n))
            continue;
        bool seen = false;
        for (int k = 0; k < n_watch; k++)
            seen |= watch[k] == n->inputs[0];
        if (!seen)
            watch[n_watch++] = n->inputs[0];
    }
    if (n_watch == 0) {
        pass_quant_report(g, args, "int8", false, d);
        return true;
    }
    const PassFile *arr = pass_file(cal, d);
    if (!arr)
        return false;
    const char *path = arr->path;
    PassTensor *in = pass_qcal_inputs(g, arr, "calibration", cal->loc, d);
    QStats *stats = in ? malloc(sizeof(QStats) * (size_t)n_watch) : NULL;
    if (in && !stats)
        ir_diag_error(d, args->loc, "quantize: out of memory");
    for (int k = 0; stats && k < n_watch; k++)
        pass_qcal_stats_init(&stats[k]);
    bool ok =
        stats && pass_qcal_run(g, in, watch, n_watch, method != QCAL_MINMAX, stats, cal->loc, d);
    free(in);
    if (!ok) {
        free(stats);
        return false;
    }
    float *xs = ir_arena_alloc(g->arena, sizeof(float) * (size_t)n_watch);
    int32_t *xz = ir_arena_alloc(g->arena, sizeof(int32_t) * (size_t)n_watch);
    float *lo = ir_arena_alloc(g->arena, sizeof(float) * (size_t)n_watch),
          *hi = ir_arena_alloc(g->arena, sizeof(float) * (size_t)n_watch);
    for (int k = 0; k < n_watch; k++) {
        pass_qcal_range(&stats[k], method, pct, &lo[k], &hi[k]);
        pass_qcal_params(lo[k], hi[k], &xs[k], &xz[k]);
    }
    ok = check_ranges(g, watch, n_watch, stats, lo, hi, path, cal->loc, d);
    free(stats);
    if (!ok)
        return false;
    if (pass_arg(args, "max_drop") ? !guard(g, args, watch, n_watch, xs, xz, per_channel, d)
                                   : !rewrite(g, watch, n_watch, xs, xz, per_channel, NULL, d))
        return false;
    pass_quant_report(g, args, "int8", false, d);
    return true;
}
