/* Convolutions of the CUDA backend. Channels, kernel and image sizes are static (literals
 * in the kernels); the batch may be a symbol.
 *
 * - conv2d as implicit GEMM on the generator of gemm.c: per group z (grid.z),
 *   C[o, n] = W[o, :] · im2col(x)[:, n] with M = out channels of the group, N = batch x
 *   output pixels, K = in channels of the group x KH x KW. The weight [O, CG*KH*KW] is A,
 *   read in place; B is gathered from x while its tile is loaded (the im2col matrix is never
 *   written), consecutive threads on consecutive pixels so the gather is coalesced along
 *   a row of the image. N's tiles go along grid.x (it is the large one). f32 SIMT or tensor
 *   cores, as CgOptions.precision says.
 * - depthwise (one input channel per group): a block per (image, channel) plane and up to
 *   256 of its pixels, the channel's KH x KW taps in shared memory, a pixel per thread.
 * - conv_transpose2d as a gather: a thread per output element, summing the inputs that
 *   reach it (oh = ih * stride - pad + kh * dilation), in the reference's order. */
#include "codegen/cuda/gemm.h"

typedef struct ConvDims {
    long long N_static; /* the batch when static, else -1 */
    long long C, H, W, O, CG, OG, KH, KW, OH, OW, SH, SW, PH, PW, DH, DW, groups;
} ConvDims;

static bool conv_dims(CgCtx *c, NodeId id, bool transpose, ConvDims *d)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *ws = cg_shape(c, n->inputs[1]);
    const Shape *os = cg_shape(c, n->outputs[0]);
    if (xs->rank != 4 || ws->rank != 4 || os->rank != 4) {
        cg_error(c, n, "expects 4-D input, weight and output");
        return false;
    }
    for (int i = 0; i < 4; i++)
        if (!ir_dim_static(ws->d[i]) ||
            (i > 0 && (!ir_dim_static(xs->d[i]) || !ir_dim_static(os->d[i])))) {
            cg_error(c, n, "needs static channels, kernel and image sizes");
            return false;
        }
    int64_t s[2], p[2], dl[2];
    ir_attr_stride(n, s, 2);
    ir_attr_padding(n, p, 2);
    ir_attr_dilation(n, dl, 2);
    const int64_t groups = ir_attr_groups(n);
    const int64_t C = xs->d[1].c, wo = transpose ? ws->d[1].c * groups : ws->d[0].c;
    if (groups < 1 || C % groups || wo % groups) {
        cg_error(c, n, "bad groups (%lld)", (long long)groups);
        return false;
    }
    *d = (ConvDims){
        .N_static = ir_dim_static(xs->d[0]) ? xs->d[0].c : -1,
        .C = C,
        .H = xs->d[2].c,
        .W = xs->d[3].c,
        .O = os->d[1].c,
        .CG = C / groups,
        .OG = os->d[1].c / groups,
        .KH = ws->d[2].c,
        .KW = ws->d[3].c,
        .OH = os->d[2].c,
        .OW = os->d[3].c,
        .SH = s[0],
        .SW = s[1],
        .PH = p[0],
        .PW = p[1],
        .DH = dl[0],
        .DW = dl[1],
        .groups = groups,
    };
    return true;
}

/* ---- conv2d, implicit GEMM ---- */

/* The input coordinate `o * stride - pad + tap * dil` of output coordinate o, without the
 * identity factors; tap NULL: a kernel of size 1 along this axis. */
static const char *tap(CgCtx *c, const char *o, long long stride, long long pad, const char *t,
                       long long dil)
{
    const char *e = stride == 1 ? o : cg_strf(c, "%s * %lld", o, stride);
    if (pad)
        e = cg_strf(c, "%s - %lld", e, pad);
    if (t)
        e = dil == 1 ? cg_strf(c, "%s + %s", e, t) : cg_strf(c, "%s + %s * %lld", e, t, dil);
    return e;
}

static void conv_setup(CgCtx *c, NodeId id, const CuGemm *s)
{
    (void)s;
    const Node *n = &c->g->nodes[id];
    ConvDims d;
    if (!conv_dims(c, id, false, &d))
        return;
    cu_in(c, id, 0, "x");
    cu_in(c, id, 1, "w");
    if (n->n_inputs > 2 && n->inputs[2] != IR_NONE)
        cu_in(c, id, 2, "bias");
    cg_printf(c, "    /* group z: its input channels of x, its rows of w */\n");
    cg_printf(c, "    const float *__restrict__ X = x + (int64_t)z * %lld;\n", d.CG * d.H * d.W);
    cg_printf(c, "    const float *__restrict__ Wg = w + (int64_t)z * %lld;\n",
              d.OG * d.CG * d.KH * d.KW);
}

/* conv2d with one input channel per group and groups > 1. */
static void emit_depthwise(CgCtx *c, NodeId id, const ConvDims *d)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]);
    const long long P = d->OH * d->OW, KK = d->KH * d->KW;
    const int T = P >= 256 ? 256 : (int)((P + 31) / 32 * 32);
    const bool wide = cu_gemm_wide(c, id);
    const char *idx = wide ? "int64_t" : "int";
    cg_printf(c,
              "/* Depthwise conv: a block computes %d pixels of one (image, channel) plane, a "
              "pixel per\n * thread, with the channel's %lld taps in shared memory. */\n",
              T, KK);
    const int k = cu_kernel_begin(c, id, NULL, T);
    cg_printf(c, "    __shared__ float taps[%lld];\n", KK);
    cu_in(c, id, 0, "x");
    cu_in(c, id, 1, "w");
    const bool bias = n->n_inputs > 2 && n->inputs[2] != IR_NONE;
    if (bias)
        cu_in(c, id, 2, "bias");
    cu_out(c, id, "out");
    cg_printf(c, "    const %s plane = (%s)blockIdx.x; /* image b, channel o */\n", idx, idx);
    cg_printf(c, "    const int o = (int)(plane %% %lld), tid = (int)threadIdx.x;\n", d->O);
    cg_printf(c, "    const %s b = plane / %lld;\n", idx, d->O);
    cg_printf(c, "    for (int i = tid; i < %lld; i += %d)\n        taps[i] = w[o * %lld + i];\n",
              KK, T, KK);
    cg_printf(c, "    __syncthreads();\n");
    cg_printf(c, "    const int p = (int)blockIdx.y * %d + tid;\n", T);
    cg_printf(c, "    if (p >= %lld)\n        return;\n", P);
    cg_printf(c, "    const int oh = p / %lld, ow = p %% %lld;\n", d->OW, d->OW);
    cg_printf(c, "    const float *__restrict__ xp = x + (b * %lld + o / %lld) * %lld;\n", d->C,
              d->OG, d->H * d->W);
    cg_printf(c, "    float v = 0.0f;\n");
    cg_printf(c, "    for (int kh = 0; kh < %lld; kh++) {\n", d->KH);
    cg_printf(c, "        const int ih = oh * %lld - %lld + kh * %lld;\n", d->SH, d->PH, d->DH);
    cg_printf(c, "        if (ih < 0 || ih >= %lld)\n            continue;\n", d->H);
    cg_printf(c, "        for (int kw = 0; kw < %lld; kw++) {\n", d->KW);
    cg_printf(c, "            const int iw = ow * %lld - %lld + kw * %lld;\n", d->SW, d->PW, d->DW);
    cg_printf(c, "            if (iw >= 0 && iw < %lld)\n", d->W);
    cg_printf(c, "                v += xp[ih * %lld + iw] * taps[kh * %lld + kw];\n", d->W, d->KW);
    cg_printf(c, "        }\n    }\n");
    if (bias)
        cg_printf(c, "    v += bias[o];\n");
    cg_printf(c, "    const int64_t f = (int64_t)plane * %lld + p;\n", P);
    cu_ep_apply(c, id, 4, "v", "f");
    cg_printf(c, "    out[f] = v;\n");
    cu_kernel_end(c);
    const char *planes = cg_strf(c, "(int64_t)%s * %lld", cg_dim(c, xs->d[0]), d->O);
    cu_launch(c, id, k, (const char *[3]){planes, cg_strf(c, "%lld", (P + T - 1) / T), "1"},
              (const int[3]){T, 1, 1}, "x: (image, channel) planes; y: blocks of pixels");
}

void cu_emit_conv2d(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    ConvDims d;
    if (!conv_dims(c, id, false, &d))
        return;
    if (d.CG == 1 && d.groups > 1) {
        emit_depthwise(c, id, &d);
        return;
    }
    const Shape *xs = cg_shape(c, n->inputs[0]);
    const long long P = d.OH * d.OW, KK = d.KH * d.KW;
    const bool pointwise =
        KK == 1 && d.SH == 1 && d.SW == 1 && d.PH == 0 && d.PW == 0 && d.OH == d.H && d.OW == d.W;
    /* the load knows nb (the image) and np (the pixel) of column gn (gemm.h: n_split); tap r
     * of the kernel is (r / KW, r % KW) */
    const char *kh = d.KH == 1 ? NULL : d.KW == 1 ? "r" : cg_strf(c, "r / %lld", d.KW);
    const char *kw = d.KW == 1 ? NULL : d.KH == 1 ? "r" : cg_strf(c, "r %% %lld", d.KW);
    const char *b_load;
    if (pointwise) /* 1x1, stride 1, no padding: B is x itself, [CG, pixels] per image */
        b_load = cg_strf(c, "v = X[(nb * %lld + gk) * %lld + np];", d.C, P);
    else
        b_load = cg_strf(c,
                         "%s"
                         "const int ih = %s, iw = %s;\n"
                         "if (ih >= 0 && ih < %lld && iw >= 0 && iw < %lld)\n"
                         "    v = X[(nb * %lld + gk / %lld) * %lld + ih * %lld + iw];",
                         kh || kw ? cg_strf(c, "const int r = gk %% %lld;\n", KK) : "",
                         tap(c, cg_strf(c, "np / %lld", d.OW), d.SH, d.PH, kh, d.DH),
                         tap(c, cg_strf(c, "np %% %lld", d.OW), d.SW, d.PW, kw, d.DW), d.H, d.W,
                         d.C, KK, d.H * d.W, d.W);
    const bool bias = n->n_inputs > 2 && n->inputs[2] != IR_NONE;
    CuGemm s = {
        .M = cg_strf(c, "%lld", d.OG),
        .N = cg_strf(c, "%s * %lld", cg_dim(c, xs->d[0]), P),
        .K = cg_strf(c, "%lld", d.CG * KK),
        .m_static = d.OG,
        .n_static = (d.N_static >= 0 ? d.N_static : 1) * P, /* the batch is at least 1 */
        .Z = cg_strf(c, "%lld", d.groups),
        .wide = cu_gemm_wide(c, id),
        .gemv = false,
        .b_kfast = false,
        .n_in_x = true,
        .k_int = true, /* CG x KH x KW, static, far below 2^31 */
        .n_split = P,
        .setup = conv_setup,
        .a_load = "v = Wg[gm * K + gk];",
        .b_load = b_load,
        .out_index =
            cg_strf(c, "((int64_t)(gn / %lld) * %lld + (int64_t)z * %lld + gm) * %lld + gn %% %lld",
                    P, d.O, d.OG, P, P),
        .bias = bias ? cg_strf(c, "bias[z * %lld + gm]", d.OG) : NULL,
        .what = "M output channels of the group, N = batch x output pixels, K = its input "
                "channels x kernel taps",
    };
    cu_gemm_emit(c, id, &s);
}

/* ---- conv_transpose2d ---- */

#define CT_THREADS 256

void cu_emit_conv_transpose2d(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    ConvDims d;
    if (!conv_dims(c, id, true, &d))
        return;
    const Shape *os = cg_shape(c, n->outputs[0]);
    Dim ne;
    if (!cg_numel(c, id, os, &ne))
        return;
    const char *total = cg_dim(c, ne);
    const long long P = d.OH * d.OW, KK = d.KH * d.KW;
    cg_printf(c,
              "/* conv_transpose2d as a gather: a thread per output element (grid-stride), "
              "summing over\n * the group's input channels and the taps that reach it: oh = ih "
              "* %lld - %lld + kh * %lld. */\n",
              d.SH, d.PH, d.DH);
    const int k = cu_kernel_begin(c, id, NULL, CT_THREADS);
    cu_in(c, id, 0, "x");
    cu_in(c, id, 1, "w");
    const bool bias = n->n_inputs > 2 && n->inputs[2] != IR_NONE;
    if (bias)
        cu_in(c, id, 2, "bias");
    cu_out(c, id, "out");
    cg_printf(c, "    const int64_t total = %s;\n", total);
    cg_printf(c,
              "    for (int64_t f = (int64_t)blockIdx.x * %d + threadIdx.x; f < total;\n"
              "         f += (int64_t)gridDim.x * %d) {\n",
              CT_THREADS, CT_THREADS);
    cg_printf(c, "        const int64_t plane = f / %lld, b = plane / %lld;\n", P, d.O);
    cg_printf(c, "        const int p = (int)(f %% %lld), o = (int)(plane %% %lld);\n", P, d.O);
    cg_printf(c,
              "        const int oh = p / %lld, ow = p %% %lld, grp = o / %lld, oo = o %% %lld;\n",
              d.OW, d.OW, d.OG, d.OG);
    cg_printf(c, "        float v = 0.0f;\n");
    cg_printf(c, "        for (int ci = 0; ci < %lld; ci++) {\n", d.CG);
    cg_printf(c, "            const int ch = grp * %lld + ci;\n", d.CG);
    cg_printf(c, "            const float *__restrict__ xp = x + (b * %lld + ch) * %lld;\n", d.C,
              d.H * d.W);
    cg_printf(c, "            const float *__restrict__ wp = w + (ch * %lld + oo) * %lld;\n", d.OG,
              KK);
    cg_printf(c, "            for (int kh = 0; kh < %lld; kh++) {\n", d.KH);
    cg_printf(c, "                const int th = oh + %lld - kh * %lld;\n", d.PH, d.DH);
    cg_printf(c,
              "                if (th < 0 || th %% %lld || th / %lld >= %lld)\n"
              "                    continue;\n",
              d.SH, d.SH, d.H);
    cg_printf(c, "                for (int kw = 0; kw < %lld; kw++) {\n", d.KW);
    cg_printf(c, "                    const int tw = ow + %lld - kw * %lld;\n", d.PW, d.DW);
    cg_printf(c,
              "                    if (tw < 0 || tw %% %lld || tw / %lld >= %lld)\n"
              "                        continue;\n",
              d.SW, d.SW, d.W);
    cg_printf(c,
              "                    v += xp[th / %lld * %lld + tw / %lld] * wp[kh * %lld + kw];\n",
              d.SH, d.W, d.SW, d.KW);
    cg_printf(c, "                }\n            }\n        }\n");
    if (bias)
        cg_printf(c, "        v += bias[o];\n");
    cu_ep_apply(c, id, 8, "v", "f");
    cg_printf(c, "        out[f] = v;\n    }\n");
    cu_kernel_end(c);
    cu_launch(c, id, k,
              (const char *[3]){
                  cg_strf(c, "slimc_cu_blocks(%s)", cu_ceil_div(c, total, CT_THREADS)), "1", "1"},
              (const int[3]){CT_THREADS, 1, 1}, "one thread per output element, grid-stride");
}
