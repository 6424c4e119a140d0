/* The int8 block-sparse linear kernel (runtime/kernels/qsparse.c) and its choice by cost
 * (passes/sparse.c; issue 17, prune then quantize): a qlinear on a random i8 weight at a given
 * density (each weight zero with probability 1 - density, so blocks of 4 are kept or dropped
 * at random; whole rows empty at 5%), given the block-CSR kernel by sparse(mode=q8) after
 * layout packed the weight, so the blob is read back through the packing:
 *   - the kernel called item by item, forward and in reverse (what any thread count does),
 *     against a plain integer C loop over the dense weight: sum (x - zp) w in int64, then
 *     qlinear's f32 epilogue; f32 outputs and requantized u8 outputs (relu6) must be equal
 *     bit for bit, as must the two item orders;
 *   - the whole graph through the C emitter and the JIT at 1 and 3 threads against the
 *     reference evaluator (its own qlinear loop on the dense weight), bit for bit;
 * K off every multiple of 4 (37, 201, 781), N odd (1, 7, 65, 129, 300), batch 1 and 3 (the
 * gathered dot products) and 4, 64 and 70 (x laid out by block, partial 16-row chunks and
 * 64-row items); densities 5%, 30% and 100%; with and without bias. Under SLIMC_MAX_ISA=avx2,
 * SLIMC_NO_VNNI=1 and SLIMC_MAX_ISA=generic (unit_qsparse_avx2 / _novnni / _generic) the same
 * runs the AVX2 and portable paths. The same for one-group qconv2d (slimc_rt_q8sp_conv_block)
 * against a plain conv loop and against the dense int8 conv block, bit for bit, then through
 * the JIT at 1 and 3 threads (conv_cases); and dynamic int8 (dqlinear, its rows quantized at run
 * time) through the JIT against the evaluator (dq_cases). Then the plan: the blocks counted, the
 * built-in rates keeping a 90%-pruned layer dense (conservative), a measured fast rate choosing it,
 * and a dense weight never considered. */
#include "runtime/slimc_rt.h"

#include "support_cg.h"

#include "ir/eval.h"
#include "passes/cost_model.h"
#include "passes/pass.h"
#include "passes/sparse.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static unsigned seed = 1708;

#define D(...) ((const int64_t[]){__VA_ARGS__})

static uint32_t rnd(void)
{
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

static float urand(void)
{
    return (float)(rnd() & 0xffff) / 65536.0f;
}

typedef struct Case {
    int64_t M, K, N;
    double density;
    bool bias;
} Case;

static const Case cases[] = {
    {1, 37, 7, 0.3, true},      {1, 781, 300, 0.05, true}, {3, 201, 65, 0.3, false},
    {3, 781, 129, 1.0, true},   {4, 37, 65, 0.05, true},   {64, 781, 300, 0.05, true},
    {64, 201, 129, 0.3, false}, {64, 37, 7, 1.0, true},    {70, 781, 65, 0.3, true},
    {1, 201, 1, 1.0, false},    {17, 781, 300, 0.3, true}, {64, 784, 512, 0.1, true},
};
enum { N_CASES = sizeof cases / sizeof cases[0] };

static ValueId const_of(Graph *g, const char *name, DType dt, int rank, const int64_t *dims,
                        void *data, size_t bytes)
{
    Type t = sup_f32(rank, dims);
    t.dtype = dt;
    return ir_const_new(g, name, t, data, bytes, (SrcLoc){0});
}

/* The case's layer: x u8 [M, K] input -> qlinear (w i8 [N, K] at the density, zp, scales,
 * bias) -> f32 out; w, wsum, ws and bias stay in the graph's arena for the reference. */
typedef struct Layer {
    Graph *g;
    NodeId q;
    int8_t *w;
    int32_t *wsum;
    float *ws, *bias;
    int32_t zp;
    float xs;
} Layer;

/* Weights [rows, K] of density (a kept weight that drew 0 is nonzero instead), their row
 * sums, per-row scales and biases, and the input's zero point and scale, into l. */
static void fill_layer(Layer *l, Graph *g, int64_t rows, int64_t K, double density, int nonzero)
{
    l->w = ir_arena_alloc(g->arena, (size_t)(rows * K));
    l->wsum = ir_arena_alloc(g->arena, sizeof(int32_t) * (size_t)rows);
    l->ws = ir_arena_alloc(g->arena, sizeof(float) * (size_t)rows);
    l->bias = ir_arena_alloc(g->arena, sizeof(float) * (size_t)rows);
    for (int64_t o = 0; o < rows; o++) {
        l->wsum[o] = 0;
        for (int64_t k = 0; k < K; k++) {
            int v = (int)(rnd() % 255) - 127;
            if (urand() >= density)
                v = 0;
            else if (v == 0)
                v = nonzero;
            l->w[o * K + k] = (int8_t)v;
            l->wsum[o] += v;
        }
        l->ws[o] = 0.001f + 0.01f * urand();
        l->bias[o] = urand() - 0.5f;
    }
    l->zp = (int32_t)(rnd() & 255);
    l->xs = 0.02f + 0.01f * urand();
}

static Layer make_layer(const Case *c, RtTensor *in)
{
    Layer l = {0};
    l.g = ir_graph_new("qsparse");
    Graph *g = l.g;
    const int64_t N = c->N, K = c->K;
    ValueId x = sup_input_int(g, "x", IR_U8, 2, D(c->M, K), 0, 255, in, &seed);
    fill_layer(&l, g, N, K, c->density, 1);
    ValueId ins[5] = {x, const_of(g, "fc.weight.q", IR_I8, 2, D(N, K), l.w, (size_t)(N * K)),
                      const_of(g, "ws", IR_F32, 1, D(N), l.ws, sizeof(float) * (size_t)N),
                      const_of(g, "wsum", IR_I32, 1, D(N), l.wsum, sizeof(int32_t) * (size_t)N),
                      c->bias ? const_of(g, "b", IR_F32, 1, D(N), l.bias, sizeof(float) * (size_t)N)
                              : IR_NONE};
    l.q = ir_node_new(g, IR_OP_QLINEAR, "fc", (SrcLoc){0}, ins, c->bias ? 5 : 4, 1);
    ir_node_set_float(g, l.q, "x_scale", l.xs);
    ir_node_set_int(g, l.q, "x_zero_point", l.zp);
    ir_output_add(g, g->nodes[l.q].outputs[0]);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    ck_assert_msg(pass_pipeline_run(g, "layout,sparse(mode=q8)", (SrcLoc){0}, NULL, &d), "%s",
                  ir_diag_text(&d));
    ir_diag_fini(&d);
    return l;
}

/* qlinear's output of row m, output o, by a plain loop: f32, or u8 through rq. */
static float ref_out(const Layer *l, const Case *c, const uint8_t *x, int64_t m, int64_t o)
{
    int64_t acc = 0;
    for (int64_t k = 0; k < c->K; k++)
        acc += ((int64_t)x[m * c->K + k] - l->zp) * l->w[o * c->K + k];
    const float r = (float)(int32_t)acc * (l->xs * l->ws[o]);
    return c->bias ? r + l->bias[o] : r;
}

static uint8_t ref_u8(float y, const slimc_rt_qreq *rq)
{
    y = y <= 0.0f ? 0.0f : y >= 6.0f ? 6.0f : y;
    float v = rintf(y * rq->inv) + (float)rq->zp;
    v = v > 0.0f ? v : 0.0f;
    v = v < 255.0f ? v : 255.0f;
    return (uint8_t)v;
}

START_TEST(test_q8sp_kernel)
{
    const Case *c = &cases[_i];
    RtTensor in;
    Layer l = make_layer(c, &in);
    const Node *nd = &l.g->nodes[l.q];
    const bool has_zero_block = c->density < 1;
    ck_assert_msg(!has_zero_block || (nd->n_inputs == 6 && ir_attr_w_sparse(nd) == SPARSE_Q8),
                  "case %d: the sparse pass gave no block-sparse weight", _i);
    if (!has_zero_block) { /* every block kept: nothing to skip, the layer stays dense */
        ck_assert_int_eq(ir_attr_w_sparse(nd), 0);
        free(in.data);
        ir_graph_free(l.g);
        return;
    }
    ck_assert(ir_attr_w_packed(nd) == 1); /* the blob was read back through layout's packing */
    const void *W = l.g->values[nd->inputs[5]].data;
    const int64_t *h = W;
    ck_assert(h[0] == SLIMC_RT_Q8SP_MAGIC && h[1] == c->N && h[2] == c->K);
    const uint8_t *x = in.data;
    const int64_t M = c->M, N = c->N, items = slimc_rt_q8sp_items(M, N);
    float *yf[2];
    uint8_t *yq[2];
    const slimc_rt_qreq rq = {1.0f / 0.05f, 3, SLIMC_RT_ACT_RELU6, 0.0f};
    for (int r = 0; r < 2; r++) {
        yf[r] = malloc(sizeof(float) * (size_t)(M * N));
        yq[r] = malloc((size_t)(M * N));
        memset(yf[r], 0xff, sizeof(float) * (size_t)(M * N)); /* NaN: an output not written */
        memset(yq[r], 0, (size_t)(M * N));
        for (int64_t j = 0; j < items; j++) {
            const int64_t it = r == 0 ? j : items - 1 - j;
            int64_t m0, mc, o0, oc;
            slimc_rt_q8sp_tile(M, x, W, l.zp, l.wsum, l.xs, l.ws, c->bias ? l.bias : NULL, yf[r],
                               NULL, it, &m0, &mc, &o0, &oc);
            slimc_rt_q8sp_tile(M, x, W, l.zp, l.wsum, l.xs, l.ws, c->bias ? l.bias : NULL, yq[r],
                               &rq, it, &m0, &mc, &o0, &oc);
        }
    }
    for (int64_t m = 0; m < M; m++)
        for (int64_t o = 0; o < N; o++) {
            const float want = ref_out(&l, c, x, m, o);
            const int64_t i = m * N + o;
            ck_assert_msg(memcmp(&yf[0][i], &want, sizeof want) == 0,
                          "case %d: out[%lld][%lld] = %.9g, want %.9g", _i, (long long)m,
                          (long long)o, (double)yf[0][i], (double)want);
            ck_assert_msg(yq[0][i] == ref_u8(want, &rq), "case %d: u8 out[%lld][%lld] %d, want %d",
                          _i, (long long)m, (long long)o, yq[0][i], ref_u8(want, &rq));
        }
    ck_assert_msg(memcmp(yf[0], yf[1], sizeof(float) * (size_t)(M * N)) == 0 &&
                      memcmp(yq[0], yq[1], (size_t)(M * N)) == 0,
                  "case %d: the item order changed the bits", _i);
    for (int r = 0; r < 2; r++) {
        free(yf[r]);
        free(yq[r]);
    }
    /* the same graph through the emitter and the JIT, at 1 and 3 threads, against the
     * evaluator's qlinear on the dense weight, bit for bit */
    char what[128];
    snprintf(what, sizeof what, "q8 case %d: M %lld K %lld N %lld density %g", _i, (long long)M,
             (long long)c->K, (long long)N, c->density);
    sup_run_check(l.g, &in, 1, 0, what);
}
END_TEST

/* ---- qconv2d (one group) on the same blocks ---- */

typedef struct ConvCase {
    int64_t N, C, H, W, O, KH, KW, S, P;
    double density;
    bool bias;
} ConvCase;

/* 1x1 (blocks of 4 input channels) and k x k (blocks along C KH KW), stride 1 and 2, padding,
 * K = C KH KW at every residue mod 4, odd channel counts, partial 64-pixel blocks, two images;
 * densities 0 (no block kept), 10%, 50% and 100% (no block to skip: stays dense). */
static const ConvCase conv_cases[] = {
    {1, 64, 14, 14, 128, 1, 1, 1, 0, 0.1, true}, {2, 37, 9, 11, 21, 1, 1, 2, 0, 0.5, false},
    {1, 19, 10, 13, 33, 3, 3, 1, 1, 0.1, true},  {2, 32, 15, 15, 64, 3, 3, 2, 1, 0.5, true},
    {1, 16, 8, 8, 8, 3, 3, 1, 1, 0.0, true},     {1, 8, 6, 6, 5, 3, 3, 1, 1, 1.0, false},
    {1, 13, 7, 9, 7, 1, 1, 1, 0, 0.5, true},     {1, 2, 12, 12, 9, 3, 3, 1, 1, 0.5, true},
    {1, 3, 32, 32, 16, 7, 7, 2, 3, 0.3, true},   {1, 256, 14, 14, 256, 3, 3, 1, 1, 0.1, true},
};
enum { N_CONV = sizeof conv_cases / sizeof conv_cases[0] };

/* The case's layer: x u8 [N, C, H, W] -> qconv2d (w i8 [O, C, KH, KW]) -> f32, given the
 * block-sparse kernel by sparse(mode=q8). */
static Layer make_conv(const ConvCase *c, RtTensor *in)
{
    Layer l = {0};
    l.g = ir_graph_new("qsparse_conv");
    Graph *g = l.g;
    const int64_t O = c->O, K = c->C * c->KH * c->KW;
    ValueId x = sup_input_int(g, "x", IR_U8, 4, D(c->N, c->C, c->H, c->W), 0, 255, in, &seed);
    fill_layer(&l, g, O, K, c->density, -1);
    ValueId ins[5] = {
        x, const_of(g, "conv.weight.q", IR_I8, 4, D(O, c->C, c->KH, c->KW), l.w, (size_t)(O * K)),
        const_of(g, "ws", IR_F32, 1, D(O), l.ws, sizeof(float) * (size_t)O),
        const_of(g, "wsum", IR_I32, 1, D(O), l.wsum, sizeof(int32_t) * (size_t)O),
        c->bias ? const_of(g, "b", IR_F32, 1, D(O), l.bias, sizeof(float) * (size_t)O) : IR_NONE};
    l.q = ir_node_new(g, IR_OP_QCONV2D, "conv", (SrcLoc){0}, ins, c->bias ? 5 : 4, 1);
    const int64_t st[2] = {c->S, c->S}, pd[2] = {c->P, c->P};
    ir_node_set_ints(g, l.q, "stride", st, 2);
    ir_node_set_ints(g, l.q, "padding", pd, 2);
    ir_node_set_float(g, l.q, "x_scale", l.xs);
    ir_node_set_int(g, l.q, "x_zero_point", l.zp);
    ir_output_add(g, g->nodes[l.q].outputs[0]);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    ck_assert_msg(pass_pipeline_run(g, "sparse(mode=q8)", (SrcLoc){0}, NULL, &d), "%s",
                  ir_diag_text(&d));
    ir_diag_fini(&d);
    return l;
}

/* qconv2d's output (image b, channel o, pixel p) by a plain loop: padding reads zp, so it adds
 * nothing to the sum of (x - zp) w. */
static float ref_conv(const Layer *l, const ConvCase *c, const uint8_t *x, int64_t OH, int64_t OW,
                      int64_t b, int64_t o, int64_t p)
{
    const int64_t oh = p / OW, ow = p % OW;
    int64_t acc = 0;
    for (int64_t ci = 0; ci < c->C; ci++)
        for (int64_t kh = 0; kh < c->KH; kh++)
            for (int64_t kw = 0; kw < c->KW; kw++) {
                const int64_t ih = oh * c->S - c->P + kh, iw = ow * c->S - c->P + kw;
                if (ih < 0 || ih >= c->H || iw < 0 || iw >= c->W)
                    continue;
                const int64_t xv = x[((b * c->C + ci) * c->H + ih) * c->W + iw];
                acc += (xv - l->zp) * l->w[((o * c->C + ci) * c->KH + kh) * c->KW + kw];
            }
    (void)OH;
    const float r = (float)(int32_t)acc * (l->xs * l->ws[o]);
    return c->bias ? r + l->bias[o] : r;
}

START_TEST(test_q8sp_conv_kernel)
{
    const ConvCase *c = &conv_cases[_i];
    RtTensor in;
    Layer l = make_conv(c, &in);
    const Node *nd = &l.g->nodes[l.q];
    if (c->density >= 1) { /* every block kept: nothing to skip, the layer stays dense */
        ck_assert_int_eq(ir_attr_w_sparse(nd), 0);
        ck_assert_int_eq(nd->n_inputs, c->bias ? 5 : 4);
        free(in.data);
        ir_graph_free(l.g);
        return;
    }
    ck_assert_msg(nd->n_inputs == 6 && ir_attr_w_sparse(nd) == SPARSE_Q8,
                  "conv case %d: the sparse pass gave no block-sparse weight", _i);
    const void *W = l.g->values[nd->inputs[5]].data;
    const int64_t *h = W;
    const int64_t K = c->C * c->KH * c->KW;
    ck_assert(h[0] == SLIMC_RT_Q8SP_MAGIC && h[1] == c->O && h[2] == K);
    if (c->density == 0)
        ck_assert_int_eq(h[3], 0);
    const Shape *os = &l.g->values[nd->outputs[0]].type.shape;
    const int64_t OH = os->d[2].c, OW = os->d[3].c, P = OH * OW, O = c->O;
    const slimc_rt_conv s = {c->C, c->H, c->W, O,    c->C, O, c->KH, c->KW, OH,
                             OW,   c->S, c->S, c->P, c->P, 1, 1,     0};
    const uint8_t *x = in.data;
    const size_t ny = (size_t)(c->N * O * P);
    const float *bias = c->bias ? l.bias : NULL;
    const slimc_rt_qreq rq = {1.0f / 0.05f, 3, SLIMC_RT_ACT_RELU6, 0.0f};
    uint8_t *col = slimc_rt_qcol_alloc(K);
    ck_assert(col);
    float *yf[3];
    uint8_t *yq[3];
    for (int r = 0; r < 3; r++) { /* sparse forward, sparse in reverse, the dense kernel */
        yf[r] = malloc(sizeof(float) * ny);
        yq[r] = malloc(ny);
        memset(yf[r], 0xff, sizeof(float) * ny); /* NaN: an output not written */
        memset(yq[r], 0, ny);
        const int64_t PT = (P + SLIMC_RT_QCONV_PX - 1) / SLIMC_RT_QCONV_PX, items = c->N * PT;
        for (int64_t j = 0; j < items; j++) {
            const int64_t it = r == 1 ? items - 1 - j : j, b = it / PT;
            const int64_t p0 = it % PT * SLIMC_RT_QCONV_PX;
            const int64_t p1 = p0 + SLIMC_RT_QCONV_PX < P ? p0 + SLIMC_RT_QCONV_PX : P;
            const uint8_t *xb = x + b * c->C * c->H * c->W;
            if (r < 2) {
                slimc_rt_q8sp_conv_block(&s, xb, p0, p1, l.zp, W, l.wsum, l.xs, l.ws, bias,
                                         yf[r] + b * O * P, NULL, col);
                slimc_rt_q8sp_conv_block(&s, xb, p0, p1, l.zp, W, l.wsum, l.xs, l.ws, bias,
                                         yq[r] + b * O * P, &rq, col);
            } else {
                slimc_rt_qconv_block(&s, xb, p0, p1, l.zp, l.w, l.wsum, l.xs, l.ws, bias,
                                     yf[r] + b * O * P, NULL, col);
                slimc_rt_qconv_block(&s, xb, p0, p1, l.zp, l.w, l.wsum, l.xs, l.ws, bias,
                                     yq[r] + b * O * P, &rq, col);
            }
        }
    }
    free(col);
    for (int64_t b = 0; b < c->N; b++)
        for (int64_t o = 0; o < O; o++)
            for (int64_t p = 0; p < P; p++) {
                const float want = ref_conv(&l, c, x, OH, OW, b, o, p);
                const int64_t i = (b * O + o) * P + p;
                ck_assert_msg(memcmp(&yf[0][i], &want, sizeof want) == 0,
                              "conv case %d: out[%lld][%lld][%lld] = %.9g, want %.9g", _i,
                              (long long)b, (long long)o, (long long)p, (double)yf[0][i],
                              (double)want);
                ck_assert_msg(yq[0][i] == ref_u8(want, &rq),
                              "conv case %d: u8 out[%lld][%lld][%lld] %d, want %d", _i,
                              (long long)b, (long long)o, (long long)p, yq[0][i],
                              ref_u8(want, &rq));
            }
    for (int r = 1; r < 3; r++)
        ck_assert_msg(memcmp(yf[0], yf[r], sizeof(float) * ny) == 0 &&
                          memcmp(yq[0], yq[r], ny) == 0,
                      "conv case %d: %s changed the bits", _i,
                      r == 1 ? "the item order" : "the dense kernel");
    for (int r = 0; r < 3; r++) {
        free(yf[r]);
        free(yq[r]);
    }
    char what[160];
    snprintf(what, sizeof what, "q8 conv case %d: C %lld O %lld %lldx%lld stride %lld density %g",
             _i, (long long)c->C, (long long)O, (long long)c->KH, (long long)c->KW, (long long)c->S,
             c->density);
    sup_run_check(l.g, &in, 1, 0, what);
}
END_TEST

/* ---- dqlinear (dynamic int8) on the same blocks ---- */

/* x f32 [M, K] -> dqlinear (w i8 [N, K] at the density, packed by layout) given the block-sparse
 * kernel by sparse(mode=q8): M 1 and 3 (gathered rows), 64, 70 and 130 (row blocks, items over
 * several of them), through the JIT at 1 and 3 threads (each body quantizes the rows of its
 * items) against the evaluator's dqlinear (its own quantization and integer loop), bit for bit. */
static const Case dq_cases[] = {
    {1, 201, 65, 0.1, true},   {3, 37, 7, 0.3, false},   {64, 781, 300, 0.05, true},
    {70, 784, 512, 0.1, true}, {130, 64, 33, 0.3, true},
};
enum { N_DQ = sizeof dq_cases / sizeof dq_cases[0] };

START_TEST(test_q8sp_dqlinear)
{
    const Case *c = &dq_cases[_i];
    Graph *g = ir_graph_new("qsparse_dq");
    RtTensor in;
    const int64_t N = c->N, K = c->K;
    ValueId x = sup_input(g, "x", 2, D(c->M, K), &in, &seed);
    int8_t *w = ir_arena_alloc(g->arena, (size_t)(N * K));
    int32_t *wsum = ir_arena_alloc(g->arena, sizeof(int32_t) * (size_t)N);
    float *ws = ir_arena_alloc(g->arena, sizeof(float) * (size_t)N);
    float *bias = ir_arena_alloc(g->arena, sizeof(float) * (size_t)N);
    for (int64_t o = 0; o < N; o++) {
        wsum[o] = 0;
        for (int64_t k = 0; k < K; k++) {
            int v = (int)(rnd() % 255) - 127;
            if (urand() >= c->density)
                v = 0;
            else if (v == 0)
                v = 3;
            w[o * K + k] = (int8_t)v;
            wsum[o] += v;
        }
        ws[o] = 0.001f + 0.01f * urand();
        bias[o] = urand() - 0.5f;
    }
    ValueId ins[5] = {x, const_of(g, "fc.weight.q", IR_I8, 2, D(N, K), w, (size_t)(N * K)),
                      const_of(g, "ws", IR_F32, 1, D(N), ws, sizeof(float) * (size_t)N),
                      const_of(g, "wsum", IR_I32, 1, D(N), wsum, sizeof(int32_t) * (size_t)N),
                      c->bias ? const_of(g, "b", IR_F32, 1, D(N), bias, sizeof(float) * (size_t)N)
                              : IR_NONE};
    const NodeId q = ir_node_new(g, IR_OP_DQLINEAR, "fc", (SrcLoc){0}, ins, c->bias ? 5 : 4, 1);
    ir_output_add(g, g->nodes[q].outputs[0]);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    ck_assert_msg(pass_pipeline_run(g, "layout,sparse(mode=q8)", (SrcLoc){0}, NULL, &d), "%s",
                  ir_diag_text(&d));
    ir_diag_fini(&d);
    const Node *nd = &g->nodes[q];
    ck_assert_msg(nd->n_inputs == 6 && ir_attr_w_sparse(nd) == SPARSE_Q8 &&
                      ir_attr_w_packed(nd) == 1,
                  "dq case %d: no block-sparse weight (read through layout's packing)", _i);
    SparsePlan pl;
    ck_assert(pass_sparse_plan_q8(g, q, NULL, &pl) && pl.q8 && pl.q8_kept > 0 &&
              pl.q8_kept < pl.q8_blocks);
    char what[128];
    snprintf(what, sizeof what, "dqlinear case %d: M %lld K %lld N %lld density %g", _i,
             (long long)c->M, (long long)K, (long long)N, c->density);
    sup_run_check(g, &in, 1, 0, what);
}
END_TEST

/* The plan of a 784 -> 512 qlinear at batch N (symbolic) with 10% of its weights nonzero. */
static SparsePlan plan_at(double density, const CostProfile *p, bool symbolic)
{
    Graph *g = ir_graph_new("plan");
    Type xt = sup_f32(2, D(64, 784));
    xt.dtype = IR_U8;
    if (symbolic)
        xt.shape.d[0] = (Dim){1, 1u << ir_graph_symbol(g, "N")};
    ValueId x = ir_input_new(g, "x", xt, (SrcLoc){0});
    int8_t *w = ir_arena_alloc(g->arena, 512 * 784);
    int32_t *wsum = ir_arena_alloc(g->arena, sizeof(int32_t) * 512);
    float *ws = ir_arena_alloc(g->arena, sizeof(float) * 512);
    for (int64_t i = 0; i < 512 * 784; i++)
        w[i] = urand() < density ? 5 : 0;
    for (int o = 0; o < 512; o++) {
        wsum[o] = 0;
        ws[o] = 0.01f;
    }
    ValueId ins[4] = {x, const_of(g, "w", IR_I8, 2, D(512, 784), w, 512 * 784),
                      const_of(g, "ws", IR_F32, 1, D(512), ws, sizeof(float) * 512),
                      const_of(g, "wsum", IR_I32, 1, D(512), wsum, sizeof(int32_t) * 512)};
    NodeId n = ir_node_new(g, IR_OP_QLINEAR, "fc", (SrcLoc){0}, ins, 4, 1);
    ir_node_set_float(g, n, "x_scale", 0.02);
    ir_output_add(g, g->nodes[n].outputs[0]);
    Diag d;
    ir_diag_init(&d);
    ck_assert(ir_infer_shapes(g, &d));
    ir_diag_fini(&d);
    SparsePlan pl;
    ck_assert(pass_sparse_plan_q8(g, n, p, &pl));
    /* the blocks: each kept when any of its 4 is nonzero */
    int64_t kept = 0;
    for (int64_t b = 0; b < 512 * 196; b++)
        kept += w[4 * b] || w[4 * b + 1] || w[4 * b + 2] || w[4 * b + 3];
    ck_assert_int_eq(pl.q8_blocks, 512 * 196);
    ck_assert_int_eq(pl.q8_kept, kept);
    /* the same counts read through layout's VNNI packing (padded K and zero-filled) */
    ir_diag_init(&d);
    ck_assert_msg(pass_layout(g, NULL, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    ck_assert_int_eq(ir_attr_w_packed(&g->nodes[n]), 1);
    SparsePlan packed;
    ck_assert(pass_sparse_plan_q8(g, n, p, &packed));
    ck_assert_int_eq(packed.q8_kept, pl.q8_kept);
    ck_assert_int_eq(packed.q8_blocks, pl.q8_blocks);
    ck_assert_int_eq(packed.nnz, pl.nnz);
    ck_assert(packed.choose == pl.choose);
    ir_graph_free(g);
    return pl;
}

START_TEST(test_q8sp_choice_by_cost)
{
    CostProfile p;
    cost_profile_default(&p);
    /* the built-in rates are conservative: 90% pruned (about 34% of the blocks kept) stays
     * dense at batch 64 and at 1 */
    SparsePlan a = plan_at(0.1, &p, false);
    ck_assert(a.candidate && a.q8 && a.kernel == SPARSE_Q8);
    ck_assert_msg(!a.choose, "gain %g", a.gain);
    SparsePlan b = plan_at(0.1, &p, true);
    ck_assert_msg(!b.choose, "gain %g at %lld", b.gain, (long long)b.at_batch);
    /* a measured profile with a fast block-sparse rate at several rows picks it at batch 64,
     * not where the batch may be 1 (its one-row rate still slow) */
    CostProfile f = p;
    CostDevice *c = &f.dev[IR_DEVICE_CPU];
    c->sparse_measured = true;
    for (int k = 0; k < COST_SPARSE_NUM; k++)
        c->sparse_gflops[k] = cost_sparse_rate(&p.dev[IR_DEVICE_CPU], (CostSparse)k);
    c->sparse_gflops[COST_SPARSE_Q8] = 0.6 * c->gflops[COST_GEMM_INT8];
    SparsePlan s = plan_at(0.1, &f, false);
    ck_assert_msg(s.choose && s.gain >= SPARSE_MIN_GAIN, "gain %g", s.gain);
    SparsePlan t = plan_at(0.1, &f, true);
    ck_assert_msg(!t.choose, "gain %g", t.gain);
    /* 99% pruned: even the built-in rates choose it */
    SparsePlan v = plan_at(0.01, &p, false);
    ck_assert_msg(v.choose, "gain %g", v.gain);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("qsparse");
    TCase *t = tcase_create("kernel");
    tcase_set_timeout(t, 120);
    tcase_add_loop_test(t, test_q8sp_kernel, 0, N_CASES);
    tcase_add_loop_test(t, test_q8sp_conv_kernel, 0, N_CONV);
    tcase_add_loop_test(t, test_q8sp_dqlinear, 0, N_DQ);
    tcase_add_test(t, test_q8sp_choice_by_cost);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
