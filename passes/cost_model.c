/* PLACEHOLDER (i16-place): replaced by i16-cost's cost_model.c at merge */
/* The few functions of passes/cost_model.h that the place pass calls, so that branch
 * i16-place builds and tests on its own: the roofline of the header's comment, with the
 * built-in profile's numbers. No JSON, no hash of substance. */
#include "passes/cost_model.h"

#include <math.h>
#include <string.h>

CostClass cost_class(const Graph *g, const Node *n)
{
    const DType in =
        n->n_inputs && n->inputs[0] != IR_NONE ? g->values[n->inputs[0]].type.dtype : IR_F32;
    const bool half = in == IR_F16 || in == IR_BF16;
    switch (ir_ops[n->op].family) {
    case IR_FAM_CONV: return half ? COST_GEMM_F16 : COST_CONV_F32;
    case IR_FAM_GEMM: return half ? COST_GEMM_F16 : COST_GEMM_F32;
    case IR_FAM_LOWBIT: return COST_GEMM_INT8;
    case IR_FAM_QUANT:
        return n->op == IR_OP_QLINEAR || n->op == IR_OP_QCONV2D ? COST_GEMM_INT8 : COST_ELEMENTWISE;
    case IR_FAM_ELEMENTWISE:
    case IR_FAM_COMPARE: return COST_ELEMENTWISE;
    case IR_FAM_REDUCE:
    case IR_FAM_POOL:
    case IR_FAM_NORM: return COST_REDUCE;
    case IR_FAM_DATA:
    case IR_FAM_INDEX:
    case IR_FAM_RESAMPLE: return COST_DATA;
    }
    return COST_DATA;
}

const char *cost_class_name(CostClass c)
{
    static const char *const names[COST_NUM_CLASSES] = {
        "gemm_f32", "conv_f32", "gemm_int8", "gemm_f16", "elementwise", "reduce", "data"};
    return (unsigned)c < COST_NUM_CLASSES ? names[c] : "?";
}

double cost_value_bytes(const Graph *g, ValueId v, const int64_t *syms)
{
    const Type *t = &g->values[v].type;
    double n = 1;
    for (int i = 0; i < t->shape.rank; i++)
        n *= (double)ir_dim_eval(t->shape.d[i], syms);
    return n * (double)ir_dtype_bits(t->dtype) / 8.0;
}

double cost_transfer_ms(const CostProfile *p, double bytes)
{
    if (!(p->link_gbs > 0))
        return INFINITY;
    return p->link_latency_us / 1000.0 + bytes / (p->link_gbs * 1e6);
}

double cost_node_ms(const CostProfile *p, const Graph *g, const Node *n, Device dev,
                    const int64_t *syms)
{
    if (n->dead)
        return 0;
    const CostDevice *c = &p->dev[dev];
    if (!c->present)
        return INFINITY;
    if (ir_ops[n->op].flags & IR_F_VIEW)
        return 0;
    if (n->op == IR_OP_TRANSFER)
        return cost_transfer_ms(p, cost_value_bytes(g, n->inputs[0], syms));
    const double flops = ir_ops[n->op].flops(g, n, syms);
    const double bytes = ir_ops[n->op].bytes(g, n, syms);
    const double rate = c->gflops[cost_class(g, n)];
    return c->launch_us / 1000.0 + fmax(flops / (rate * 1e6), bytes / (c->bandwidth_gbs * 1e6));
}

void cost_profile_default(CostProfile *out)
{
    memset(out, 0, sizeof *out);
    CostDevice *cpu = &out->dev[IR_DEVICE_CPU], *gpu = &out->dev[IR_DEVICE_CUDA];
    cpu->present = true;
    strcpy(cpu->name, "default CPU (2 cores, AVX-512)");
    static const double cpu_gflops[COST_NUM_CLASSES] = {100, 80, 250, 100, 10, 10, 10};
    memcpy(cpu->gflops, cpu_gflops, sizeof cpu_gflops);
    cpu->bandwidth_gbs = 20;
    cpu->launch_us = 5;
    gpu->present = true;
    strcpy(gpu->name, "default GPU (data centre, PCIe 4)");
    static const double gpu_gflops[COST_NUM_CLASSES] = {15000, 10000, 50000, 100000, 500, 300, 300};
    memcpy(gpu->gflops, gpu_gflops, sizeof gpu_gflops);
    gpu->bandwidth_gbs = 2000;
    gpu->launch_us = 8;
    gpu->memory_mb = 80000;
    out->link_gbs = 12;
    out->link_latency_us = 15;
    strcpy(out->source, "built-in default profile");
    out->hash = cost_profile_hash(out);
}

uint64_t cost_profile_hash(const CostProfile *p)
{
    /* FNV-1a over the numbers */
    uint64_t h = 1469598103934665603ull;
    const unsigned char *b = (const unsigned char *)p->dev;
    for (size_t i = 0; i < sizeof p->dev; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    double link[2] = {p->link_gbs, p->link_latency_us};
    b = (const unsigned char *)link;
    for (size_t i = 0; i < sizeof link; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}
