/* The cost model (passes/cost_model.h): a node's predicted time on a device from ops.def's
 * FLOP and byte formulas (ir/cost.c) and a device profile's rates, and the profile's JSON
 * (docs/placement.md, "The device profile"):
 *
 *   {"slimc_device_profile": 1,
 *    "about": "...",                                  (optional, free text)
 *    "devices": {"cpu":  {"name": "...", "gflops": {CLASS: GFLOP/s, ...},
 *                         "bandwidth_gbs": GB/s, "launch_us": us, "memory_mb": MiB,
 *                         "sparse": {...},                           (optional)
 *                         "int8_small_k": {"k_below": K, "vs_f32": x}},  (optional)
 *                "cuda": {...}},                      (optional)
 *    "link": {"gbs": GB/s, "latency_us": us}}         (required with "cuda")
 *
 * The reader is strict: an unknown key, a duplicate, a missing rate or a rate that is
 * not positive is an error naming path:line:col, so that a typo cannot pass for a
 * profile. */
#include "passes/cost_model.h"

#include "frontend/json.h"
#include "runtime/slimc_abi.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- node costs ---- */

static const char *const class_names[COST_NUM_CLASSES] = {
    [COST_GEMM_F32] = "gemm_f32",
    [COST_CONV_F32] = "conv_f32",
    [COST_GEMM_INT8] = "gemm_int8",
    [COST_GEMM_F16] = "gemm_f16",
    [COST_ELEMENTWISE] = "elementwise",
    [COST_REDUCE] = "reduce",
    [COST_DATA] = "data",
};

const char *cost_class_name(CostClass c)
{
    SLIMC_ASSERT(c >= 0 && c < COST_NUM_CLASSES);
    return class_names[c];
}

static bool half_float(DType t)
{
    return t == IR_F16 || t == IR_BF16;
}

CostClass cost_class_prec(const Graph *g, const Node *n, DType precision)
{
    /* A GEMM or convolution multiplies in half precision when its input is f16/bf16, or
     * when the graph is compiled with --precision fp16/bf16 (the CUDA backend's tensor
     * cores; tensors stay f32 in memory). */
    bool half = half_float(precision) || (n->n_inputs > 0 && n->inputs[0] != IR_NONE &&
                                          half_float(g->values[n->inputs[0]].type.dtype));
    switch (ir_ops[n->op].family) {
    case IR_FAM_GEMM: return half ? COST_GEMM_F16 : COST_GEMM_F32;
    case IR_FAM_CONV: return half ? COST_GEMM_F16 : COST_CONV_F32;
    case IR_FAM_QUANT:
    case IR_FAM_LOWBIT:
        /* qlinear, qconv2d, wlinear, dqlinear carry weights; quantize and dequantize are
         * elementwise conversions */
        return (ir_ops[n->op].flags & IR_F_WEIGHTED) ? COST_GEMM_INT8 : COST_ELEMENTWISE;
    case IR_FAM_POOL:
    case IR_FAM_NORM:
    case IR_FAM_REDUCE: return COST_REDUCE;
    case IR_FAM_DATA:
    case IR_FAM_INDEX:
    case IR_FAM_RESAMPLE: return COST_DATA;
    case IR_FAM_ELEMENTWISE:
    case IR_FAM_COMPARE: return COST_ELEMENTWISE;
    }
    SLIMC_ASSERT(0 && "unknown op family");
    return COST_ELEMENTWISE;
}

CostClass cost_class(const Graph *g, const Node *n)
{
    return cost_class_prec(g, n, IR_F32);
}

double cost_transfer_ms(const CostProfile *p, double bytes)
{
    if (!p->dev[IR_DEVICE_CUDA].present || !(p->link_gbs > 0))
        return INFINITY;
    return p->link_latency_us / 1000 + bytes / (p->link_gbs * 1e6);
}

/* syms NULL: every symbol 1 */
static const int64_t *syms_or_ones(const int64_t *syms, int64_t ones[IR_MAX_SYMS])
{
    if (syms)
        return syms;
    for (int i = 0; i < IR_MAX_SYMS; i++)
        ones[i] = 1;
    return ones;
}

double cost_node_ms_prec(const CostProfile *p, const Graph *g, const Node *n, Device dev,
                         const int64_t *syms, DType precision)
{
    SLIMC_ASSERT(dev == IR_DEVICE_CPU || dev == IR_DEVICE_CUDA);
    if (n->dead)
        return 0;
    const CostDevice *d = &p->dev[dev];
    if (!d->present)
        return INFINITY;
    if (ir_ops[n->op].flags & IR_F_VIEW)
        return 0;
    int64_t ones[IR_MAX_SYMS];
    syms = syms_or_ones(syms, ones);
    if (n->n_outputs < 1 || g->values[n->outputs[0]].type.shape.rank < 0)
        return d->launch_us / 1000; /* not typed yet: nothing to count */
    if (n->op == IR_OP_TRANSFER)
        return cost_transfer_ms(p, ir_value_bytes(g, n->outputs[0], syms));
    double out_bytes = ir_value_bytes(g, n->outputs[0], syms);
    double out_numel = out_bytes * 8 / ir_dtype_bits(g->values[n->outputs[0]].type.dtype);
    /* ir_flops' count: the op's formula plus one FLOP an output element per epilogue step,
     * whose operands are read once more */
    double flops = ir_ops[n->op].flops(g, n, syms) + out_numel * (double)n->n_epilogue;
    double bytes = ir_ops[n->op].bytes(g, n, syms);
    /* A data-movement op (no FLOPs in ops.def: permute, concat, pad...) is timed by what it
     * moves: one operation per 8 bytes read and written (an f32 element copied), at its
     * class's rate, since a strided copy runs far below the bandwidth. */
    if (flops == 0)
        flops = bytes / 8;
    for (int k = 0; k < n->n_epilogue; k++)
        if (n->epilogue[k].operand != IR_NONE)
            bytes += ir_value_bytes(g, n->epilogue[k].operand, syms);
    double rate = d->gflops[cost_class_prec(g, n, dev == IR_DEVICE_CUDA ? precision : IR_F32)];
    double compute = rate > 0 ? flops / (rate * 1e6) : INFINITY;
    double memory = d->bandwidth_gbs > 0 ? bytes / (d->bandwidth_gbs * 1e6) : INFINITY;
    return d->launch_us / 1000 + fmax(compute, memory);
}

double cost_node_ms(const CostProfile *p, const Graph *g, const Node *n, Device dev,
                    const int64_t *syms)
{
    return cost_node_ms_prec(p, g, n, dev, syms, IR_F32);
}

/* ---- sparse kernels ---- */

static const char *const sparse_names[COST_SPARSE_NUM] = {
    "csr_gflops",       "csr_gemv_gflops",      "dense_gemv_gflops", "nm_gflops",
    "nm_gemv_gflops",   "csr_conv_gflops",      "nm_conv_gflops",    "q8sp_gflops",
    "q8sp_gemv_gflops", "q8_dense_gemv_gflops", "q8sp_conv_gflops"};
static const double sparse_default[COST_SPARSE_NUM] = {
    COST_SPARSE_DEFAULT_CSR,        COST_SPARSE_DEFAULT_GEMV,
    COST_SPARSE_DEFAULT_DENSE_GEMV, COST_SPARSE_DEFAULT_NM,
    COST_SPARSE_DEFAULT_NM_GEMV,    COST_SPARSE_DEFAULT_CONV,
    COST_SPARSE_DEFAULT_NM_CONV,    COST_SPARSE_DEFAULT_Q8,
    COST_SPARSE_DEFAULT_Q8_GEMV,    COST_SPARSE_DEFAULT_Q8_DENSE_GEMV,
    COST_SPARSE_DEFAULT_Q8_CONV};

const char *cost_sparse_name(CostSparse k)
{
    return sparse_names[k];
}

double cost_sparse_rate(const CostDevice *d, CostSparse k)
{
    if (d->sparse_measured && d->sparse_gflops[k] > 0) /* 0: an optional rate absent */
        return d->sparse_gflops[k];
    const bool conv = k == COST_SPARSE_CONV || k == COST_SPARSE_NM_CONV;
    const bool q8 = k >= COST_SPARSE_Q8;
    return d->gflops[conv ? COST_CONV_F32
                     : q8 ? COST_GEMM_INT8
                          : COST_GEMM_F32] *
           sparse_default[k];
}

/* The rows of linear n's x at syms (its elements over its last dim). */
static double linear_rows(const Graph *g, const Node *n, const int64_t *syms)
{
    const Shape *xs = &g->values[n->inputs[0]].type.shape;
    const double K =
        xs->rank > 0 && xs->d[xs->rank - 1].syms == 0 ? (double)xs->d[xs->rank - 1].c : 1.0;
    return K > 0 ? ir_value_bytes(g, n->inputs[0], syms) / 4 / K : 0;
}

double cost_linear_dense_ms(const CostProfile *p, const Graph *g, const Node *n,
                            const int64_t *syms)
{
    const CostDevice *d = &p->dev[IR_DEVICE_CPU];
    if (!d->present)
        return INFINITY;
    int64_t ones[IR_MAX_SYMS];
    syms = syms_or_ones(syms, ones);
    Node dense = *n; /* without the CSR input the sparse pass may have given it */
    if (dense.n_inputs > 3)
        dense.n_inputs = 3;
    if (linear_rows(g, n, syms) > 1)
        return cost_node_ms(p, g, &dense, IR_DEVICE_CPU, syms);
    CostProfile one_row = *p; /* gemm_f32 at the one-row rate */
    one_row.dev[IR_DEVICE_CPU].gflops[COST_GEMM_F32] = cost_sparse_rate(d, COST_SPARSE_DENSE_GEMV);
    return cost_node_ms(&one_row, g, &dense, IR_DEVICE_CPU, syms);
}

/* The roofline of linear n on a sparse kernel: 2 x rows x nnz FLOPs at rate (rows > 1) or
 * rate_one (one row), the weight's bytes plus x, the output and the epilogue's operands. */
static double linear_sparse_ms(const CostProfile *p, const Graph *g, const Node *n,
                               const int64_t *syms, double nnz, double w_bytes, CostSparse rate_k,
                               CostSparse rate_one)
{
    const CostDevice *d = &p->dev[IR_DEVICE_CPU];
    if (!d->present)
        return INFINITY;
    int64_t ones[IR_MAX_SYMS];
    syms = syms_or_ones(syms, ones);
    const double x_bytes = ir_value_bytes(g, n->inputs[0], syms);
    const double out_bytes = ir_value_bytes(g, n->outputs[0], syms);
    const double rows = linear_rows(g, n, syms);
    const double out_numel = out_bytes / 4;
    double flops = 2 * rows * nnz + out_numel * (double)n->n_epilogue;
    double bytes = x_bytes + out_bytes + w_bytes;
    if (n->n_inputs > 2 && n->inputs[2] != IR_NONE)
        bytes += ir_value_bytes(g, n->inputs[2], syms);
    for (int k = 0; k < n->n_epilogue; k++)
        if (n->epilogue[k].operand != IR_NONE)
            bytes += ir_value_bytes(g, n->epilogue[k].operand, syms);
    const double rate = cost_sparse_rate(d, rows <= 1 ? rate_one : rate_k);
    double compute = rate > 0 ? flops / (rate * 1e6) : INFINITY;
    double memory = d->bandwidth_gbs > 0 ? bytes / (d->bandwidth_gbs * 1e6) : INFINITY;
    return d->launch_us / 1000 + fmax(compute, memory);
}

double cost_linear_sparse_ms(const CostProfile *p, const Graph *g, const Node *n,
                             const int64_t *syms, double nnz, double csr_bytes)
{
    return linear_sparse_ms(p, g, n, syms, nnz, csr_bytes, COST_SPARSE_CSR, COST_SPARSE_CSR_GEMV);
}

double cost_linear_nm_ms(const CostProfile *p, const Graph *g, const Node *n, const int64_t *syms,
                         double kept, double nm_bytes)
{
    return linear_sparse_ms(p, g, n, syms, kept, nm_bytes, COST_SPARSE_NM, COST_SPARSE_NM_GEMV);
}

/* The roofline of qlinear n at syms: flops at rate against x (u8, its rows of K), the output,
 * the bias and the epilogue's operands at the bandwidth. The weight's bytes (w_bytes) are not
 * in the memory term: the int8 rates are measured on the kernels reading a weight of the same
 * order of size (slimc profile-device), which stays in cache from run to run as a model's
 * does, while the bandwidth is measured streaming 16 MB and put a 400 KB weight at 34 us where
 * the dense int8 GEMM took 4 (bench/RESULTS.md, "int8 sparse"). kept_k: the weights read per
 * row (O K dense, 4 x blocks sparse). */
static double qlinear_ms(const CostProfile *p, const Graph *g, const Node *n, const int64_t *syms,
                         int64_t O, int64_t K, double kept_k, CostSparse rate_one,
                         CostSparse rate_rows)
{
    const CostDevice *d = &p->dev[IR_DEVICE_CPU];
    if (!d->present || K <= 0)
        return INFINITY;
    int64_t ones[IR_MAX_SYMS];
    syms = syms_or_ones(syms, ones);
    const double x_bytes = ir_value_bytes(g, n->inputs[0], syms);
    const double out_bytes = ir_value_bytes(g, n->outputs[0], syms);
    /* x is u8 (qlinear) or f32 (dqlinear, quantized inside: the same work either way) */
    const double rows = x_bytes * 8 / ir_dtype_bits(g->values[n->inputs[0]].type.dtype) / (double)K;
    const double out_numel = rows * (double)O;
    double flops = 2 * rows * kept_k + out_numel * (double)n->n_epilogue;
    double bytes = x_bytes + out_bytes;
    if (n->n_inputs > 4 && n->inputs[4] != IR_NONE)
        bytes += ir_value_bytes(g, n->inputs[4], syms);
    for (int k = 0; k < n->n_epilogue; k++)
        if (n->epilogue[k].operand != IR_NONE)
            bytes += ir_value_bytes(g, n->epilogue[k].operand, syms);
    const double rate = rows <= 1                      ? cost_sparse_rate(d, rate_one)
                        : rate_rows == COST_SPARSE_NUM ? d->gflops[COST_GEMM_INT8]
                                                       : cost_sparse_rate(d, rate_rows);
    double compute = rate > 0 ? flops / (rate * 1e6) : INFINITY;
    double memory = d->bandwidth_gbs > 0 ? bytes / (d->bandwidth_gbs * 1e6) : INFINITY;
    return d->launch_us / 1000 + fmax(compute, memory);
}

double cost_qlinear_dense_ms(const CostProfile *p, const Graph *g, const Node *n,
                             const int64_t *syms, int64_t O, int64_t K)
{
    return qlinear_ms(p, g, n, syms, O, K, (double)O * (double)K, COST_SPARSE_Q8_DENSE_GEMV,
                      COST_SPARSE_NUM);
}

double cost_qlinear_sparse_ms(const CostProfile *p, const Graph *g, const Node *n,
                              const int64_t *syms, int64_t O, int64_t K, double kept)
{
    return qlinear_ms(p, g, n, syms, O, K, 4 * kept, COST_SPARSE_Q8_GEMV, COST_SPARSE_Q8);
}

double cost_qconv_dense_ms(const CostProfile *p, const Graph *g, const Node *n, const int64_t *syms)
{
    Node dense = *n; /* without the block-sparse input the sparse pass may have given it */
    if (dense.n_inputs > 5)
        dense.n_inputs = 5;
    return cost_node_ms(p, g, &dense, IR_DEVICE_CPU, syms);
}

double cost_qconv_sparse_ms(const CostProfile *p, const Graph *g, const Node *n,
                            const int64_t *syms, double kept)
{
    const CostDevice *d = &p->dev[IR_DEVICE_CPU];
    const Shape *ws = &g->values[n->inputs[1]].type.shape;
    if (!d->present || ws->rank != 4 || !ir_dim_static(ws->d[0]) || ws->d[0].c < 1)
        return INFINITY;
    int64_t ones[IR_MAX_SYMS];
    syms = syms_or_ones(syms, ones);
    const double out_bytes = ir_value_bytes(g, n->outputs[0], syms);
    const double out_numel = out_bytes * 8 / ir_dtype_bits(g->values[n->outputs[0]].type.dtype);
    const double pixels = out_numel / (double)ws->d[0].c; /* images x OH x OW */
    double flops = 2 * pixels * 4 * kept + out_numel * (double)n->n_epilogue;
    double bytes = ir_value_bytes(g, n->inputs[0], syms) + out_bytes;
    if (n->n_inputs > 4 && n->inputs[4] != IR_NONE)
        bytes += ir_value_bytes(g, n->inputs[4], syms);
    for (int k = 0; k < n->n_epilogue; k++)
        if (n->epilogue[k].operand != IR_NONE)
            bytes += ir_value_bytes(g, n->epilogue[k].operand, syms);
    const double rate = cost_sparse_rate(d, COST_SPARSE_Q8_CONV);
    double compute = rate > 0 ? flops / (rate * 1e6) : INFINITY;
    double memory = d->bandwidth_gbs > 0 ? bytes / (d->bandwidth_gbs * 1e6) : INFINITY;
    return d->launch_us / 1000 + fmax(compute, memory);
}

double cost_conv_dense_ms(const CostProfile *p, const Graph *g, const Node *n, const int64_t *syms)
{
    Node dense = *n; /* without the CSR input the sparse pass may have given it */
    if (dense.n_inputs > 3)
        dense.n_inputs = 3;
    return cost_node_ms(p, g, &dense, IR_DEVICE_CPU, syms);
}

/* The roofline of conv2d n on a sparse kernel: 2 x images x OH x OW x nnz FLOPs at the
 * profile's rate k, x and the output, the blob's bytes and the epilogue's operands. */
static double conv_sparse_ms(const CostProfile *p, const Graph *g, const Node *n,
                             const int64_t *syms, double nnz, double csr_bytes, CostSparse rate_k)
{
    const CostDevice *d = &p->dev[IR_DEVICE_CPU];
    if (!d->present)
        return INFINITY;
    int64_t ones[IR_MAX_SYMS];
    syms = syms_or_ones(syms, ones);
    const double out_bytes = ir_value_bytes(g, n->outputs[0], syms);
    const Shape *ws = &g->values[n->inputs[1]].type.shape;
    const double O = ws->rank > 0 && ws->d[0].syms == 0 && ws->d[0].c > 0 ? (double)ws->d[0].c : 1;
    const double pixels = out_bytes / 4 / O; /* images x OH x OW */
    const Shape *os = &g->values[n->outputs[0]].type.shape;
    double flops = out_bytes / 4 * (double)n->n_epilogue;
    if (rate_k == COST_SPARSE_CONV && os->rank == 4 && ws->rank == 4 && ir_dim_static(os->d[2]) &&
        ir_dim_static(os->d[3]) && os->d[2].c * os->d[3].c > 0) {
        const double ohw = (double)(os->d[2].c * os->d[3].c);
        const double K = (double)ws->d[1].c * (double)ws->d[2].c * (double)ws->d[3].c;
        flops += cost_spconv_flops(pixels / ohw, ohw, O, K, nnz);
    } else
        flops += 2 * pixels * nnz;
    double bytes = ir_value_bytes(g, n->inputs[0], syms) + out_bytes + csr_bytes;
    if (n->n_inputs > 2 && n->inputs[2] != IR_NONE)
        bytes += ir_value_bytes(g, n->inputs[2], syms);
    for (int k = 0; k < n->n_epilogue; k++)
        if (n->epilogue[k].operand != IR_NONE)
            bytes += ir_value_bytes(g, n->epilogue[k].operand, syms);
    const double rate = cost_sparse_rate(d, rate_k);
    double compute = rate > 0 ? flops / (rate * 1e6) : INFINITY;
    double memory = d->bandwidth_gbs > 0 ? bytes / (d->bandwidth_gbs * 1e6) : INFINITY;
    return d->launch_us / 1000 + fmax(compute, memory);
}

double cost_spconv_flops(double images, double ohw, double O, double K, double nnz)
{
    const double px = ceil(ohw / COST_SPCONV_PIXEL_VECTOR) * COST_SPCONV_PIXEL_VECTOR;
    return 2 * images * px * (nnz + O * ceil(K / SLIMC_RT_SPCONV_KC) * COST_SPCONV_ROW_NNZ);
}

double cost_conv_sparse_ms(const CostProfile *p, const Graph *g, const Node *n, const int64_t *syms,
                           double nnz, double csr_bytes)
{
    return conv_sparse_ms(p, g, n, syms, nnz, csr_bytes, COST_SPARSE_CONV);
}

double cost_conv_nm_ms(const CostProfile *p, const Graph *g, const Node *n, const int64_t *syms,
                       double kept, double nm_bytes)
{
    return conv_sparse_ms(p, g, n, syms, kept, nm_bytes, COST_SPARSE_NM_CONV);
}

/* ---- small-K int8 convolutions ---- */

/* Whether the C backend's int8 conv runs on AVX-512 VNNI here: the rule of
 * runtime/kernels/cpu.c (slimc_rt_isa, slimc_rt_has_vnni), which passes cannot call: AVX2 +
 * FMA with ymm state, AVX512 F/BW/VL with zmm state, the VNNI bit, and neither
 * SLIMC_MAX_ISA (generic, avx2) nor SLIMC_NO_VNNI turning it off. */
bool cost_host_int8_vnni(void)
{
#if defined(__x86_64__) || defined(__i386__)
    const char *cap = getenv("SLIMC_MAX_ISA");
    const char *off = getenv("SLIMC_NO_VNNI");
    if ((cap && (!strcmp(cap, "generic") || !strcmp(cap, "avx2"))) ||
        (off && *off && strcmp(off, "0") != 0))
        return false;
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c >> 27 & 1u) || !(c >> 28 & 1u) || !(c >> 12 & 1u))
        return false;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    if ((lo & 0xe6u) != 0xe6u || !__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return false;
    return (b >> 5 & 1u) && (b >> 16 & 1u) && (b >> 30 & 1u) && (b >> 31 & 1u) && (c >> 11 & 1u);
#else
    return true; /* not measured off x86: no penalty assumed */
#endif
}

void cost_int8_small_k_host(CostDevice *d)
{
    const bool vnni = cost_host_int8_vnni();
    d->int8_small_k_below = vnni ? 0 : COST_INT8_SMALL_K_BELOW;
    d->int8_small_k_vs_f32 = vnni ? 0 : COST_INT8_SMALL_K_VS_F32;
}

/* ---- the built-in profile ---- */

void cost_profile_default(CostProfile *out)
{
    memset(out, 0, sizeof *out);
    CostDevice *c = &out->dev[IR_DEVICE_CPU];
    c->present = true;
    snprintf(c->name, sizeof c->name, "default CPU (2 cores, AVX-512)");
    c->gflops[COST_GEMM_F32] = 100;
    c->gflops[COST_CONV_F32] = 80;
    c->gflops[COST_GEMM_INT8] = 250;
    c->gflops[COST_GEMM_F16] = 100; /* no fp16 GEMM on the CPU: as f32 */
    c->gflops[COST_ELEMENTWISE] = 10;
    c->gflops[COST_REDUCE] = 10;
    c->gflops[COST_DATA] = 10;
    c->bandwidth_gbs = 20;
    c->launch_us = 5;
    c->memory_mb = 0;
    cost_int8_small_k_host(c); /* this host's int8 conv kernel, not the AVX-512 CPU's */
    CostDevice *g = &out->dev[IR_DEVICE_CUDA];
    g->present = true;
    snprintf(g->name, sizeof g->name, "default CUDA GPU (data-centre class)");
    g->gflops[COST_GEMM_F32] = 15000;
    g->gflops[COST_CONV_F32] = 10000;
    g->gflops[COST_GEMM_INT8] = 50000;
    g->gflops[COST_GEMM_F16] = 100000;
    g->gflops[COST_ELEMENTWISE] = 500;
    g->gflops[COST_REDUCE] = 300;
    g->gflops[COST_DATA] = 300;
    g->bandwidth_gbs = 2000;
    g->launch_us = 8;
    g->memory_mb = 80000;
    out->link_gbs = 12;
    out->link_latency_us = 15;
    snprintf(out->source, sizeof out->source, "built-in default profile");
    out->hash = cost_profile_hash(out);
}

/* ---- hash ---- */

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *b = data;
    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t fnv_num(uint64_t h, double v)
{
    v = v == 0 ? 0 : v; /* -0 and 0 hash alike */
    return fnv(h, &v, sizeof v);
}

uint64_t cost_profile_hash(const CostProfile *p)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (int k = 0; k < COST_NUM_DEVICES; k++) {
        const CostDevice *d = &p->dev[k];
        unsigned char present = d->present;
        h = fnv(h, &present, 1);
        if (!d->present)
            continue;
        h = fnv(h, d->name, strnlen(d->name, sizeof d->name) + 1); /* with its end */
        for (int c = 0; c < COST_NUM_CLASSES; c++)
            h = fnv_num(h, d->gflops[c]);
        h = fnv_num(h, d->bandwidth_gbs);
        h = fnv_num(h, d->launch_us);
        h = fnv_num(h, d->memory_mb);
        if (d->sparse_measured) /* absent: the hash of a profile written before it */
            for (int c = 0; c < COST_SPARSE_NUM; c++)
                if (c < COST_SPARSE_NM || d->sparse_gflops[c] > 0) /* optional ones absent */
                    h = fnv_num(h, d->sparse_gflops[c]);
        if (d->int8_small_k_below > 0) { /* none: the hash of a profile written before it */
            h = fnv_num(h, d->int8_small_k_below);
            h = fnv_num(h, d->int8_small_k_vs_f32);
        }
    }
    if (p->dev[IR_DEVICE_CUDA].present) {
        h = fnv_num(h, p->link_gbs);
        h = fnv_num(h, p->link_latency_us);
    }
    return h;
}

/* ---- writing ---- */

static void write_name(FILE *f, const char *s)
{
    if (!fe_json_write_string(f, s, strlen(s)))
        fputs("\"\"", f); /* not UTF-8: no name rather than bad JSON */
}

void cost_profile_write(const CostProfile *p, FILE *f)
{
    fputs("{\n  \"slimc_device_profile\": 1,\n", f);
    if (p->source[0]) { /* where it came from, for people; not part of the hash */
        fputs("  \"about\": ", f);
        write_name(f, p->source);
        fputs(",\n", f);
    }
    fputs("  \"devices\": {", f);
    bool first = true;
    for (int k = 0; k < COST_NUM_DEVICES; k++) {
        const CostDevice *d = &p->dev[k];
        if (!d->present)
            continue;
        fprintf(f, "%s\n    \"%s\": {\n      \"name\": ", first ? "" : ",",
                ir_device_name((Device)k));
        first = false;
        write_name(f, d->name);
        fputs(",\n      \"gflops\": {", f);
        for (int c = 0; c < COST_NUM_CLASSES; c++)
            fprintf(f, "%s\"%s\": %.6g", c ? ", " : "", class_names[c], d->gflops[c]);
        fprintf(f,
                "},\n      \"bandwidth_gbs\": %.6g,\n      \"launch_us\": %.6g,\n"
                "      \"memory_mb\": %.6g",
                d->bandwidth_gbs, d->launch_us, d->memory_mb);
        if (d->sparse_measured) {
            fputs(",\n      \"sparse\": {", f);
            for (int c = 0; c < COST_SPARSE_NUM; c++)
                if (c < COST_SPARSE_NM || d->sparse_gflops[c] > 0) /* optional ones absent */
                    fprintf(f, "%s\"%s\": %.6g", c ? ", " : "", sparse_names[c],
                            d->sparse_gflops[c]);
            fputs("}", f);
        }
        /* always on the CPU, so that a written profile states what it assumes */
        if (k == IR_DEVICE_CPU || d->int8_small_k_below > 0)
            fprintf(f, ",\n      \"int8_small_k\": {\"k_below\": %.6g, \"vs_f32\": %.6g}",
                    d->int8_small_k_below, d->int8_small_k_vs_f32);
        fputs("\n    }", f);
    }
    fputs("\n  }", f);
    if (p->dev[IR_DEVICE_CUDA].present)
        fprintf(f, ",\n  \"link\": {\"gbs\": %.6g, \"latency_us\": %.6g}", p->link_gbs,
                p->link_latency_us);
    fputs("\n}\n", f);
}

/* ---- reading ---- */

typedef struct ProfileReader {
    JsonReader r;
    const char *path;
    Diag *d;
    bool reported;
} ProfileReader;

static SrcLoc loc_at(const ProfileReader *pr, size_t pos)
{
    SrcLoc at = {pr->path, 1, 1};
    for (size_t i = 0; i < pos && i < pr->r.len; i++)
        if (pr->r.text[i] == '\n')
            at.line++, at.col = 1;
        else
            at.col++;
    return at;
}

/* Reports msg at byte pos (once: the first error wins); returns false. */
static bool fail_at(ProfileReader *pr, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail_at(ProfileReader *pr, size_t pos, const char *fmt, ...)
{
    if (pr->reported)
        return false;
    pr->reported = true;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ir_diag_add_source(pr->d, pr->path, pr->r.text, pr->r.len); /* for the caret */
    ir_diag_error(pr->d, loc_at(pr, pos), "%s", msg);
    return false;
}

/* The reader's own error (malformed JSON) where it happened. */
static bool fail_json(ProfileReader *pr)
{
    return fail_at(pr, pr->r.err_pos, "malformed JSON: %s", pr->r.err);
}

/* The byte where the key that fe_json_next_key read (starting from from) begins. */
static size_t key_pos(const ProfileReader *pr, size_t from)
{
    while (from < pr->r.len && strchr(" \t\r\n,{", pr->r.text[from]))
        from++;
    return from;
}

/* Walks the members of an object: each call reads the next key into *key (a fixed buffer:
 * longer keys are cut, and then match nothing) and its position into *pos. */
static bool next_member(ProfileReader *pr, char *key, size_t cap, size_t *pos)
{
    size_t before = pr->r.pos;
    char *k = NULL;
    size_t len = 0;
    if (!fe_json_next_key(&pr->r, &k, &len)) {
        free(k);
        return pr->r.failed ? fail_json(pr) : false;
    }
    *pos = key_pos(pr, before);
    char shown[64];
    if (memchr(k, 0, len) || len >= cap) {
        snprintf(key, cap, "%s", fe_quote_for_message(shown, sizeof shown, k, len));
        key[0] = key[0] ? key[0] : '?';
    } else {
        memcpy(key, k, len + 1);
    }
    free(k);
    return true;
}

static bool begin_object(ProfileReader *pr, const char *what)
{
    JsonKind k = fe_json_peek(&pr->r);
    if (pr->r.failed)
        return fail_json(pr);
    if (k != FE_JSON_OBJECT)
        return fail_at(pr, pr->r.pos, "%s: expected an object, found %s", what,
                       k == FE_JSON_INVALID ? "no value" : fe_json_kind_name(k));
    return fe_json_begin_object(&pr->r) || fail_json(pr);
}

/* A number into *out; min_ok: the least value allowed, strict: it must be greater. */
static bool read_number(ProfileReader *pr, const char *what, double min_ok, bool strict,
                        double *out)
{
    JsonKind k = fe_json_peek(&pr->r);
    if (pr->r.failed)
        return fail_json(pr);
    size_t start = pr->r.pos;
    if (k != FE_JSON_NUMBER)
        return fail_at(pr, start, "%s: expected a number, found %s", what,
                       k == FE_JSON_INVALID ? "no value" : fe_json_kind_name(k));
    if (!fe_json_skip(&pr->r))
        return fail_json(pr);
    char buf[64];
    size_t n = pr->r.pos - start;
    if (n >= sizeof buf)
        return fail_at(pr, start, "%s: number too long", what);
    memcpy(buf, pr->r.text + start, n);
    buf[n] = 0;
    double v = strtod(buf, NULL);
    if (!isfinite(v))
        return fail_at(pr, start, "%s: %s is out of range", what, buf);
    if (strict ? !(v > min_ok) : !(v >= min_ok))
        return fail_at(pr, start, "%s: %s must be %s %g", what, buf,
                       strict ? "greater than" : "at least", min_ok);
    *out = v;
    return true;
}

static bool read_string(ProfileReader *pr, const char *what, char *out, size_t cap)
{
    JsonKind k = fe_json_peek(&pr->r);
    if (pr->r.failed)
        return fail_json(pr);
    size_t start = pr->r.pos;
    if (k != FE_JSON_STRING)
        return fail_at(pr, start, "%s: expected a string, found %s", what,
                       k == FE_JSON_INVALID ? "no value" : fe_json_kind_name(k));
    char *s = NULL;
    size_t len = 0;
    if (!fe_json_string(&pr->r, &s, &len)) {
        free(s);
        return fail_json(pr);
    }
    if (memchr(s, 0, len)) {
        free(s);
        return fail_at(pr, start, "%s: a NUL character in a string", what);
    }
    snprintf(out, cap, "%s", s);
    free(s);
    return true;
}

/* Marks a key of an object as seen; a second one is an error (at pos). */
static bool seen_once(ProfileReader *pr, bool *seen, size_t pos, const char *where, const char *key)
{
    if (*seen)
        return fail_at(pr, pos, "%s: duplicate key '%s'", where, key);
    *seen = true;
    return true;
}

static bool read_gflops(ProfileReader *pr, const char *dev, size_t at, CostDevice *d)
{
    char where[160];
    snprintf(where, sizeof where, "devices.%s.gflops", dev);
    if (!begin_object(pr, where))
        return false;
    bool seen[COST_NUM_CLASSES] = {0};
    char key[64];
    size_t pos;
    while (next_member(pr, key, sizeof key, &pos)) {
        int c = 0;
        while (c < COST_NUM_CLASSES && strcmp(key, class_names[c]))
            c++;
        if (c == COST_NUM_CLASSES)
            return fail_at(pr, pos,
                           "%s: unknown key '%s' (gemm_f32, conv_f32, gemm_int8, gemm_f16, "
                           "elementwise, reduce, data)",
                           where, key);
        char what[256];
        snprintf(what, sizeof what, "%s.%s", where, key);
        if (!seen_once(pr, &seen[c], pos, where, key) ||
            !read_number(pr, what, 0, true, &d->gflops[c]))
            return false;
    }
    if (pr->reported)
        return false;
    for (int c = 0; c < COST_NUM_CLASSES; c++)
        if (!seen[c])
            return fail_at(pr, at, "%s: missing '%s' (GFLOP/s, greater than 0)", where,
                           class_names[c]);
    return true;
}

/* devices.DEV.sparse: every rate of COST_SPARSE_* (an optional object, but whole). */
static bool read_sparse(ProfileReader *pr, const char *dev, size_t at, CostDevice *d)
{
    char where[160];
    snprintf(where, sizeof where, "devices.%s.sparse", dev);
    if (!begin_object(pr, where))
        return false;
    bool seen[COST_SPARSE_NUM] = {0};
    char key[64];
    size_t pos;
    while (next_member(pr, key, sizeof key, &pos)) {
        int c = 0;
        while (c < COST_SPARSE_NUM && strcmp(key, sparse_names[c]))
            c++;
        if (c == COST_SPARSE_NUM)
            return fail_at(pr, pos,
                           "%s: unknown key '%s' (csr_gflops, csr_gemv_gflops, dense_gemv_gflops, "
                           "nm_gflops, nm_gemv_gflops, csr_conv_gflops, nm_conv_gflops, "
                           "q8sp_gflops, q8sp_gemv_gflops, q8_dense_gemv_gflops, "
                           "q8sp_conv_gflops)",
                           where, key);
        char what[256];
        snprintf(what, sizeof what, "%s.%s", where, key);
        if (!seen_once(pr, &seen[c], pos, where, key) ||
            !read_number(pr, what, 0, true, &d->sparse_gflops[c]))
            return false;
    }
    if (pr->reported)
        return false;
    for (int c = 0; c < COST_SPARSE_NM; c++) /* the N:M rates are optional */
        if (!seen[c])
            return fail_at(pr, at, "%s: missing '%s' (GFLOP/s on the nonzeros, greater than 0)",
                           where, sparse_names[c]);
    d->sparse_measured = true;
    return true;
}

/* devices.DEV.int8_small_k: {"k_below": K >= 0, "vs_f32": x >= 0}, both given (an optional
 * object, but whole); k_below 0 says no penalty. */
static bool read_small_k(ProfileReader *pr, const char *dev, size_t at, CostDevice *d)
{
    char where[160];
    snprintf(where, sizeof where, "devices.%s.int8_small_k", dev);
    if (!begin_object(pr, where))
        return false;
    static const char *const keys[2] = {"k_below", "vs_f32"};
    double *vals[2] = {&d->int8_small_k_below, &d->int8_small_k_vs_f32};
    bool seen[2] = {0};
    char key[64];
    size_t pos;
    while (next_member(pr, key, sizeof key, &pos)) {
        int c = !strcmp(key, keys[0]) ? 0 : !strcmp(key, keys[1]) ? 1 : -1;
        if (c < 0)
            return fail_at(pr, pos, "%s: unknown key '%s' (k_below, vs_f32)", where, key);
        char what[256];
        snprintf(what, sizeof what, "%s.%s", where, key);
        if (!seen_once(pr, &seen[c], pos, where, key) || !read_number(pr, what, 0, false, vals[c]))
            return false;
    }
    if (pr->reported)
        return false;
    for (int c = 0; c < 2; c++)
        if (!seen[c])
            return fail_at(pr, at,
                           "%s: missing '%s' (k_below: the K below which int8 convs are slow, "
                           "0 for none; vs_f32: their time over the f32 conv's)",
                           where, keys[c]);
    return true;
}

enum { DK_NAME, DK_GFLOPS, DK_BANDWIDTH, DK_LAUNCH, DK_MEMORY, DK_SPARSE, DK_SMALL_K, DK_COUNT };
static const char *const device_keys[DK_COUNT] = {
    "name", "gflops", "bandwidth_gbs", "launch_us", "memory_mb", "sparse", "int8_small_k"};

static bool read_device(ProfileReader *pr, const char *dev, size_t at, CostDevice *d)
{
    char where[160];
    snprintf(where, sizeof where, "devices.%s", dev);
    if (!begin_object(pr, where))
        return false;
    memset(d, 0, sizeof *d);
    d->present = true;
    bool seen[DK_COUNT] = {0};
    char key[64];
    size_t pos;
    while (next_member(pr, key, sizeof key, &pos)) {
        int k = 0;
        while (k < DK_COUNT && strcmp(key, device_keys[k]))
            k++;
        if (k == DK_COUNT)
            return fail_at(pr, pos,
                           "%s: unknown key '%s' (name, gflops, bandwidth_gbs, launch_us, "
                           "memory_mb, sparse, int8_small_k)",
                           where, key);
        if (!seen_once(pr, &seen[k], pos, where, key))
            return false;
        char what[256];
        snprintf(what, sizeof what, "%s.%s", where, key);
        bool ok = true;
        if (k == DK_NAME)
            ok = read_string(pr, what, d->name, sizeof d->name);
        else if (k == DK_GFLOPS)
            ok = read_gflops(pr, dev, pos, d);
        else if (k == DK_BANDWIDTH)
            ok = read_number(pr, what, 0, true, &d->bandwidth_gbs);
        else if (k == DK_LAUNCH)
            ok = read_number(pr, what, 0, false, &d->launch_us);
        else if (k == DK_SPARSE)
            ok = read_sparse(pr, dev, pos, d);
        else if (k == DK_SMALL_K)
            ok = read_small_k(pr, dev, pos, d);
        else
            ok = read_number(pr, what, 0, false, &d->memory_mb);
        if (!ok)
            return false;
    }
    if (pr->reported)
        return false;
    if (!seen[DK_GFLOPS])
        return fail_at(pr, at, "%s: missing 'gflops' (GFLOP/s of each class)", where);
    if (!seen[DK_BANDWIDTH])
        return fail_at(pr, at, "%s: missing 'bandwidth_gbs' (memory bandwidth, GB/s)", where);
    if (!seen[DK_LAUNCH])
        return fail_at(pr, at, "%s: missing 'launch_us' (the fixed cost of a node, us)", where);
    if (!seen[DK_SMALL_K] && !strcmp(dev, ir_device_name(IR_DEVICE_CPU)))
        cost_int8_small_k_host(d); /* a profile written before it: this host's */
    return true;
}

static bool read_devices(ProfileReader *pr, CostProfile *out)
{
    if (!begin_object(pr, "devices"))
        return false;
    bool seen[COST_NUM_DEVICES] = {0};
    char key[64];
    size_t pos;
    while (next_member(pr, key, sizeof key, &pos)) {
        int k = 0;
        while (k < COST_NUM_DEVICES && strcmp(key, ir_device_name((Device)k)))
            k++;
        if (k == COST_NUM_DEVICES)
            return fail_at(pr, pos, "devices: '%s' is not a device (cpu, cuda)", key);
        if (!seen_once(pr, &seen[k], pos, "devices", key) ||
            !read_device(pr, key, pos, &out->dev[k]))
            return false;
    }
    return !pr->reported;
}

static bool read_link(ProfileReader *pr, CostProfile *out, size_t at)
{
    if (!begin_object(pr, "link"))
        return false;
    bool seen[2] = {0};
    char key[64];
    size_t pos;
    while (next_member(pr, key, sizeof key, &pos)) {
        int k = !strcmp(key, "gbs") ? 0 : !strcmp(key, "latency_us") ? 1 : -1;
        if (k < 0)
            return fail_at(pr, pos, "link: unknown key '%s' (gbs, latency_us)", key);
        if (!seen_once(pr, &seen[k], pos, "link", key))
            return false;
        if (k == 0 ? !read_number(pr, "link.gbs", 0, true, &out->link_gbs)
                   : !read_number(pr, "link.latency_us", 0, false, &out->link_latency_us))
            return false;
    }
    if (pr->reported)
        return false;
    if (!seen[0])
        return fail_at(pr, at, "link: missing 'gbs' (host <-> GPU bandwidth, GB/s)");
    if (!seen[1])
        return fail_at(pr, at, "link: missing 'latency_us' (the fixed cost of one copy, us)");
    return true;
}

enum { TK_VERSION, TK_ABOUT, TK_DEVICES, TK_LINK, TK_COUNT };
static const char *const top_keys[TK_COUNT] = {"slimc_device_profile", "about", "devices", "link"};

bool cost_profile_parse(const char *text, size_t len, const char *path, CostProfile *out, Diag *d)
{
    memset(out, 0, sizeof *out);
    ProfileReader pr = {.path = path, .d = d};
    fe_json_init(&pr.r, text, len);
    if (!begin_object(&pr, "a device profile"))
        return false;
    bool seen[TK_COUNT] = {0};
    size_t at[TK_COUNT] = {0};
    char about[256] = "";
    char key[64];
    size_t pos;
    while (next_member(&pr, key, sizeof key, &pos)) {
        int k = 0;
        while (k < TK_COUNT && strcmp(key, top_keys[k]))
            k++;
        if (k == TK_COUNT)
            return fail_at(&pr, pos,
                           "unknown key '%s' (slimc_device_profile, about, devices, link)", key);
        if (!seen_once(&pr, &seen[k], pos, "the profile", key))
            return false;
        at[k] = pos;
        bool ok = true;
        if (k == TK_VERSION) {
            size_t vpos = (fe_json_peek(&pr.r), pr.r.pos);
            int64_t v = 0;
            if (!fe_json_int(&pr.r, &v))
                return fail_at(&pr, vpos, "slimc_device_profile: expected the integer 1");
            if (v != 1)
                return fail_at(&pr, vpos,
                               "slimc_device_profile: version %lld is not supported (this slimc "
                               "reads version 1)",
                               (long long)v);
        } else if (k == TK_ABOUT) {
            ok = read_string(&pr, "about", about, sizeof about);
        } else if (k == TK_DEVICES) {
            ok = read_devices(&pr, out);
        } else {
            ok = read_link(&pr, out, pos);
        }
        if (!ok)
            return false;
    }
    if (pr.reported)
        return false;
    if (!fe_json_finish(&pr.r))
        return fail_json(&pr);
    if (!seen[TK_VERSION])
        return fail_at(&pr, 0,
                       "not a slimc device profile: no \"slimc_device_profile\": 1 (see "
                       "docs/placement.md)");
    if (!seen[TK_DEVICES])
        return fail_at(&pr, 0, "missing \"devices\" (the cpu, and a cuda device if any)");
    if (!out->dev[IR_DEVICE_CPU].present)
        return fail_at(&pr, at[TK_DEVICES], "devices: no \"cpu\" device (every profile has one)");
    if (out->dev[IR_DEVICE_CUDA].present && !seen[TK_LINK])
        return fail_at(&pr, at[TK_DEVICES],
                       "a \"cuda\" device needs a \"link\" (gbs, latency_us: the host <-> GPU "
                       "copies)");
    if (about[0])
        snprintf(out->source, sizeof out->source, "%s (%s)", path, about);
    else
        snprintf(out->source, sizeof out->source, "%s", path);
    out->hash = cost_profile_hash(out);
    return true;
}
