/* max_pool2d, avg_pool2d and adaptive_avg_pool2d on the GPU, with the C backend's semantics
 * (codegen/c/pool.c, ir/eval.c): padding counts as -inf for max (NaN wins; a window with no
 * element inside the image gives -inf); avg windows are clipped to the padded input
 * (ceil_mode windows may hang over its end) and divided by the clipped window's size with
 * count_include_pad (default) or by the number of real elements; a window wholly in the
 * padding gives 0. The output size, ceil_mode included, comes from the output type.
 *
 * A thread per output element (grid-stride over N*C*OH*OW, ow fastest): neighbouring
 * threads read neighbouring windows, which overlap, so the loads coalesce and the overlap
 * is served by the L1 cache; a window is a few taps, too little reuse for shared-memory
 * tiling to pay. Each window is summed in the reference's order (rows, then columns):
 * bit-exact with the CPU. */
#include "codegen/cuda/norm.h"

#define POOL_THREADS 256

/* The launch of a pool kernel over total output elements. */
static void pool_launch(CgCtx *c, NodeId id, int k, const char *total)
{
    const char *grid[3] = {cg_strf(c, "slimc_cu_blocks(%s)", cu_ceil_div(c, total, POOL_THREADS)),
                           "1", "1"};
    cu_launch(c, id, k, grid, (const int[3]){POOL_THREADS, 1, 1},
              "a thread per output element, ow fastest, grid-stride");
}

/* Opens the grid-stride loop over the output elements f, with the plane pl and the output
 * position (oh, ow), and the plane's input xp. */
static void pool_loop_open(CgCtx *c, const char *total)
{
    cg_printf(c, "    const int64_t n = %s;\n", total);
    cg_printf(c,
              "    for (int64_t f = (int64_t)blockIdx.x * %d + threadIdx.x; f < n;\n"
              "         f += (int64_t)gridDim.x * %d) {\n",
              POOL_THREADS, POOL_THREADS);
    cg_printf(c, "        const int ow = (int)(f %% OW), oh = (int)((f / OW) %% OH);\n");
    cg_printf(c, "        const int64_t pl = f / (OH * OW);\n");
    cg_printf(c, "        const float *__restrict__ xp = x + pl * (H * W);\n");
}

static bool pool_shapes(CgCtx *c, const Node *n, const Shape *xs, const Shape *os)
{
    if (xs->rank != 4 || !ir_dim_static(xs->d[2]) || !ir_dim_static(xs->d[3]) ||
        !ir_dim_static(os->d[2]) || !ir_dim_static(os->d[3])) {
        cg_error(c, n, "expects a 4-D input with a static image size");
        return false;
    }
    return true;
}

/* The op table leaves max_pool2d's dtypes to this file: f32 (the default check's rules), or
 * u8 codes in and out without an epilogue (an int8 chain's pool, passes/qchain.c). */
static bool pool_dtypes(CgCtx *c, const Node *n)
{
    const Graph *g = c->g;
    const Type *xt = &g->values[n->inputs[0]].type, *ot = &g->values[n->outputs[0]].type;
    if (n->op == IR_OP_MAX_POOL2D && xt->dtype == IR_U8) {
        if (ot->dtype != IR_U8 || n->n_epilogue) {
            cg_error(c, n, "a max_pool2d over u8 must write u8 and cannot carry an epilogue");
            return false;
        }
        return true;
    }
    if (xt->dtype != IR_F32 || xt->quant || ot->dtype != IR_F32 || ot->quant) {
        cg_error(c, n, "the CUDA kernel pools f32 (or, for max_pool2d, u8 codes) only");
        return false;
    }
    for (int j = 0; j < n->n_epilogue; j++)
        if (n->epilogue[j].operand != IR_NONE && cg_dtype_of(c, n->epilogue[j].operand) != IR_F32) {
            cg_error(c, n, "its epilogue operands must be f32");
            return false;
        }
    return true;
}

/* max_pool2d over u8 codes: the largest code of the window's taps inside the image, 0 (the
 * code of -inf) when there is none, as ir/eval.c's. */
static void max_pool_u8(CgCtx *c, NodeId id, const char *total, const int64_t *kk, const int64_t *s,
                        const int64_t *p, const int64_t *dil)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *os = cg_shape(c, n->outputs[0]);
    int k = cu_kernel_begin(c, id, NULL, POOL_THREADS);
    cu_in(c, id, 0, "x");
    cu_out(c, id, "out");
    cg_printf(c, "    enum { H = %lld, W = %lld, OH = %lld, OW = %lld, KH = %lld, KW = %lld };\n",
              (long long)xs->d[2].c, (long long)xs->d[3].c, (long long)os->d[2].c,
              (long long)os->d[3].c, (long long)kk[0], (long long)kk[1]);
    cg_printf(c, "    enum { SH = %lld, SW = %lld, PH = %lld, PW = %lld, DH = %lld, DW = %lld };\n",
              (long long)s[0], (long long)s[1], (long long)p[0], (long long)p[1], (long long)dil[0],
              (long long)dil[1]);
    cg_printf(c, "    const int64_t n = %s;\n", total);
    cg_printf(c,
              "    for (int64_t f = (int64_t)blockIdx.x * %d + threadIdx.x; f < n;\n"
              "         f += (int64_t)gridDim.x * %d) {\n",
              POOL_THREADS, POOL_THREADS);
    cg_printf(c, "        const int ow = (int)(f %% OW), oh = (int)((f / OW) %% OH);\n");
    cg_printf(c, "        const uint8_t *__restrict__ xp = x + (f / (OH * OW)) * (H * W);\n");
    cg_printf(c, "        unsigned v = 0;\n");
    cg_printf(c, "        for (int kh = 0; kh < KH; kh++) {\n");
    cg_printf(c, "            const int ih = oh * SH - PH + kh * DH;\n");
    cg_printf(c, "            if (ih < 0 || ih >= H)\n                continue;\n");
    cg_printf(c, "            for (int kw = 0; kw < KW; kw++) {\n");
    cg_printf(c, "                const int iw = ow * SW - PW + kw * DW;\n");
    cg_printf(c, "                if (iw >= 0 && iw < W && xp[ih * W + iw] > v)\n");
    cg_printf(c, "                    v = xp[ih * W + iw];\n            }\n        }\n");
    cg_printf(c, "        out[f] = (uint8_t)v;\n    }\n");
    cu_kernel_end(c);
    pool_launch(c, id, k, total);
}

void cu_emit_pool(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *os = cg_shape(c, n->outputs[0]);
    if (!pool_shapes(c, n, xs, os))
        return;
    Dim ne;
    if (!cg_numel(c, id, os, &ne))
        return;
    const char *total = cg_dim(c, ne);
    int64_t kk[2], s[2], p[2], dil[2];
    ir_attr_kernel(n, kk, 2);
    if (!ir_attr_stride_or(n, s, 2, 0) || s[0] == 0) {
        s[0] = kk[0];
        s[1] = kk[1];
    }
    ir_attr_padding(n, p, 2);
    ir_attr_dilation(n, dil, 2);
    const bool is_max = n->op == IR_OP_MAX_POOL2D;
    const bool include_pad = ir_attr_count_include_pad_or(n, 1) != 0;
    if (!pool_dtypes(c, n))
        return;
    if (is_max && cg_dtype_of(c, n->inputs[0]) == IR_U8) {
        max_pool_u8(c, id, total, kk, s, p, dil);
        return;
    }
    int k = cu_kernel_begin(c, id, NULL, POOL_THREADS);
    cu_in(c, id, 0, "x");
    cu_out(c, id, "out");
    cg_printf(c, "    enum { H = %lld, W = %lld, OH = %lld, OW = %lld, KH = %lld, KW = %lld };\n",
              (long long)xs->d[2].c, (long long)xs->d[3].c, (long long)os->d[2].c,
              (long long)os->d[3].c, (long long)kk[0], (long long)kk[1]);
    cg_printf(c, "    enum { SH = %lld, SW = %lld, PH = %lld, PW = %lld, DH = %lld, DW = %lld };\n",
              (long long)s[0], (long long)s[1], (long long)p[0], (long long)p[1], (long long)dil[0],
              (long long)dil[1]);
    pool_loop_open(c, total);
    if (is_max) {
        cg_printf(c, "        float v = -SLIMC_INF; /* padding is -inf; NaN wins */\n");
        cg_printf(c, "        for (int kh = 0; kh < KH; kh++) {\n");
        cg_printf(c, "            const int ih = oh * SH - PH + kh * DH;\n");
        cg_printf(c, "            if (ih < 0 || ih >= H)\n                continue;\n");
        cg_printf(c, "            for (int kw = 0; kw < KW; kw++) {\n");
        cg_printf(c, "                const int iw = ow * SW - PW + kw * DW;\n");
        cg_printf(c, "                if (iw < 0 || iw >= W)\n                    continue;\n");
        cg_printf(c, "                const float t = xp[ih * W + iw];\n");
        cg_printf(c, "                if ((t > v || t != t) && v == v)\n");
        cg_printf(c, "                    v = t;\n            }\n        }\n");
    } else {
        cg_printf(c, "        int h0 = oh * SH - PH, w0 = ow * SW - PW;\n");
        cg_printf(c, "        int h1 = h0 + KH < H + PH ? h0 + KH : H + PH;\n");
        cg_printf(c, "        int w1 = w0 + KW < W + PW ? w0 + KW : W + PW;\n");
        if (include_pad)
            cg_printf(c, "        const int pool_size = (h1 - h0) * (w1 - w0);\n");
        cg_printf(c, "        h0 = h0 > 0 ? h0 : 0;\n        w0 = w0 > 0 ? w0 : 0;\n");
        cg_printf(c, "        h1 = h1 < H ? h1 : H;\n        w1 = w1 < W ? w1 : W;\n");
        cg_printf(c, "        float v = 0.0f; /* a window wholly in the padding gives 0 */\n");
        cg_printf(c, "        if (h0 < h1 && w0 < w1) {\n");
        cg_printf(c, "            float sum = 0.0f;\n");
        cg_printf(c, "            for (int ih = h0; ih < h1; ih++)\n");
        cg_printf(c, "                for (int iw = w0; iw < w1; iw++)\n");
        cg_printf(c, "                    sum += xp[ih * W + iw];\n");
        cg_printf(c, "            v = sum / (float)(%s);\n        }\n",
                  include_pad ? "pool_size" : "(h1 - h0) * (w1 - w0)");
    }
    cu_ep_apply(c, id, 8, "v", "f");
    cg_printf(c, "        out[f] = v;\n    }\n");
    cu_kernel_end(c);
    pool_launch(c, id, k, total);
}

void cu_emit_adaptive_pool(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *os = cg_shape(c, n->outputs[0]);
    if (!pool_shapes(c, n, xs, os))
        return;
    Dim ne;
    if (!cg_numel(c, id, os, &ne))
        return;
    const char *total = cg_dim(c, ne);
    int k = cu_kernel_begin(c, id, NULL, POOL_THREADS);
    cu_in(c, id, 0, "x");
    cu_out(c, id, "out");
    cg_printf(c, "    enum { H = %lld, W = %lld, OH = %lld, OW = %lld };\n", (long long)xs->d[2].c,
              (long long)xs->d[3].c, (long long)os->d[2].c, (long long)os->d[3].c);
    pool_loop_open(c, total);
    cg_printf(c, "        /* PyTorch's window: floor(i * H / OH) .. ceil((i + 1) * H / OH) */\n");
    cg_printf(c, "        const int h0 = oh * H / OH, h1 = ((oh + 1) * H + OH - 1) / OH;\n");
    cg_printf(c, "        const int w0 = ow * W / OW, w1 = ((ow + 1) * W + OW - 1) / OW;\n");
    cg_printf(c, "        float sum = 0.0f;\n");
    cg_printf(c, "        for (int ih = h0; ih < h1; ih++)\n");
    cg_printf(c, "            for (int iw = w0; iw < w1; iw++)\n");
    cg_printf(c, "                sum += xp[ih * W + iw];\n");
    cg_printf(c, "        float v = sum / (float)((h1 - h0) * (w1 - w0));\n");
    cu_ep_apply(c, id, 8, "v", "f");
    cg_printf(c, "        out[f] = v;\n    }\n");
    cu_kernel_end(c);
    pool_launch(c, id, k, total);
}

/* pool_nd (ONNX's LpPool, MaxPool with or without Indices, AveragePool over 1 to 3 spatial
 * dims), as codegen/c/pool.c's: a thread per output element over its window's taps, f32
 * arithmetic (the reference accumulates in double: within f32 rounding of it). Mode 0 lp
 * (sum of |x|^p)^(1/p), 1 max (NaN does not win: `v > acc`), 2 average (taps inside the
 * input, or inside the padded input with count_include_pad), 3 the i64 flat index of the
 * first maximum (storage_order 1: the spatial dims column-major). */
void cu_emit_pool_nd(CgCtx *c, NodeId id)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *os = cg_shape(c, n->outputs[0]);
    const int s = xs->rank - 2, mode = (int)ir_attr_mode(n);
    const Type *xt = &g->values[n->inputs[0]].type, *ot = &g->values[n->outputs[0]].type;
    if (xt->dtype != IR_F32 || xt->quant || ot->quant ||
        ot->dtype != (mode == 3 ? IR_I64 : IR_F32) || n->n_epilogue) {
        cg_error(c, n,
                 "the CUDA kernel pools f32 into f32 (i64 indices for mode 3), without "
                 "an epilogue");
        return;
    }
    if (s < 1 || s > 3) {
        cg_error(c, n, "expects 1 to 3 spatial dims");
        return;
    }
    for (int i = 2; i < xs->rank; i++)
        if (!ir_dim_static(xs->d[i]) || !ir_dim_static(os->d[i])) {
            cg_error(c, n, "expects static spatial dims");
            return;
        }
    Dim ne;
    if (!cg_numel(c, id, os, &ne))
        return;
    const char *total = cg_dim(c, ne);
    const bool cip = ir_attr_count_include_pad(n) != 0;
    const bool col_major = ir_attr_storage_order(n) != 0;
    int64_t kk[3], st[3], dil[3], pads[6], kn = 1;
    ir_attr_kernel(n, kk, s);
    ir_attr_stride(n, st, s);
    ir_attr_dilation(n, dil, s);
    ir_attr_pads(n, pads, 2 * s);
    const long long p = (long long)ir_attr_p(n);
    for (int i = 0; i < s; i++)
        kn *= kk[i];
    int k = cu_kernel_begin(c, id, NULL, POOL_THREADS);
    cu_in(c, id, 0, "x");
    cu_out(c, id, "out");
    cg_printf(c, "    const int64_t n = %s, opos = %s, ipos = %s;\n", total,
              cg_prod(c, os, 2, os->rank), cg_prod(c, xs, 2, xs->rank));
    for (int i = 0; i < s; i++)
        cg_printf(c,
                  "    const int64_t od%d = %lld, in%d = %lld, k%d = %lld, st%d = %lld, dl%d = "
                  "%lld, pb%d = %lld, pe%d = %lld;\n",
                  i, (long long)os->d[2 + i].c, i, (long long)xs->d[2 + i].c, i, (long long)kk[i],
                  i, (long long)st[i], i, (long long)dil[i], i, (long long)pads[i], i,
                  (long long)pads[s + i]);
    cg_printf(c,
              "    for (int64_t it = (int64_t)blockIdx.x * %d + threadIdx.x; it < n;\n"
              "         it += (int64_t)gridDim.x * %d) {\n",
              POOL_THREADS, POOL_THREADS);
    cg_printf(c, "        const float *__restrict__ xp = x + (it / opos) * ipos;\n");
    cg_printf(c, "        float acc = %s;\n", mode == 1 || mode == 3 ? "-SLIMC_INF" : "0.0f");
    cg_printf(c, "        int64_t cnt = 0, padded = 0, best = -1;\n");
    cg_printf(c, "        (void)cnt;\n        (void)padded;\n        (void)best;\n");
    cg_printf(c, "        for (int64_t t = 0; t < %lld; t++) {\n", (long long)kn);
    cg_printf(c, "            int64_t qo = it %% opos, qt = t, off = 0, stride = 1, cm_off = 0;\n");
    cg_printf(c, "            int inside = 1, in_pad = 1;\n            (void)cm_off;\n");
    for (int i = s - 1; i >= 0; i--) {
        cg_printf(c, "            {\n");
        cg_printf(c,
                  "                const int64_t pos = (qo %% od%d) * st%d - pb%d + (qt %% k%d) * "
                  "dl%d;\n",
                  i, i, i, i, i);
        cg_printf(c, "                qo /= od%d;\n                qt /= k%d;\n", i, i);
        cg_printf(c, "                inside &= pos >= 0 && pos < in%d;\n", i);
        cg_printf(c, "                in_pad &= pos >= -pb%d && pos < in%d + pe%d;\n", i, i, i);
        cg_printf(c, "                off += pos * stride;\n                stride *= in%d;\n", i);
        cg_printf(c, "                cm_off = cm_off * in%d + pos;\n", i);
        cg_printf(c, "            }\n");
    }
    cg_printf(c, "            padded += in_pad;\n");
    cg_printf(c, "            if (!inside) /* the padding */\n                continue;\n");
    cg_printf(c, "            const float v = xp[off];\n            cnt++;\n");
    if (mode == 0)
        cg_printf(c, "            acc += powf(fabsf(v), %lld.0f);\n        }\n", p);
    else if (mode == 1)
        cg_printf(c, "            acc = v > acc ? v : acc;\n        }\n");
    else if (mode == 2)
        cg_printf(c, "            acc += v;\n        }\n");
    else
        cg_printf(
            c,
            "            if (best < 0 || v > acc) { /* the first maximum */\n"
            "                acc = v;\n                best = %s;\n            }\n        }\n",
            col_major ? "cm_off" : "off");
    if (mode == 0)
        cg_printf(c, "        out[it] = powf(acc, 1.0f / %lld.0f);\n    }\n", p);
    else if (mode == 1)
        cg_printf(c, "        out[it] = acc;\n    }\n");
    else if (mode == 2)
        cg_printf(c, "        out[it] = acc / (float)%s;\n    }\n", cip ? "padded" : "cnt");
    else
        cg_printf(c, "        out[it] = (it / opos) * ipos + (best < 0 ? 0 : best);\n    }\n");
    cu_kernel_end(c);
    pool_launch(c, id, k, total);
}
