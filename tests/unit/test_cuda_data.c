/* The CUDA backend's data-movement, typed elementwise and index kernels (codegen/cuda/
 * data_move.c, elementwise_dtypes.c, index_ops.c) on what the op suites do not reach: the
 * tiled transpose with ragged tiles and several batches, every cast pair on hostile values
 * (NaN, inf, out of an integer's range), negative slice steps, every pad mode in integer
 * and half dtypes, concat of many inputs with a symbolic batch, out-of-range indices
 * (the run fails with status 3), comparisons with NaN, and the integer ops of the typed
 * elementwise kernels over several blocks. Each graph is compiled by NVRTC and run under
 * the CPU emulation against the reference evaluator, bit for bit unless said otherwise
 * (tests/unit/support_cuda.h). */
#include "codegen/backend.h"
#include "ir/dtype_ops.h"
#include "ir/graph.h"
#include "passes/pass.h"
#include "runtime/cuda.h"

#include "support_cg.h"
#include "support_cuda.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define D(...) ((const int64_t[]){__VA_ARGS__})

static ValueId out0(Graph *g, NodeId n)
{
    return g->nodes[n].outputs[0];
}

static NodeId node(Graph *g, OpKind op, const ValueId *in, int n_in)
{
    return ir_node_new(g, op, NULL, (SrcLoc){0}, in, n_in, 1);
}

static uint32_t next_rand(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* Hostile float values: fractions (both halves of .5 ties), values out of every integer's
 * range, NaN, infinities, f16's overflow, subnormals. */
static const double specials[] = {-3.7,  2.5,      -2.5,      0.5,     1e20, -1e20,  NAN,
                                  -NAN,  INFINITY, -INFINITY, 65520.0, 1e-8, 300.25, -129.5,
                                  255.0, 256.0,    -1.0,      0.0,     -0.0, 4e9,    -3e10};
#define N_SPECIALS (int)(sizeof specials / sizeof specials[0])

/* A graph input of dtype dt with data in *t: floats from specials and small random values,
 * integers with random bits (a third of them small and signed). */
static ValueId input_typed(Graph *g, const char *name, DType dt, int rank, const int64_t *dims,
                           RtTensor *t, uint32_t *seed)
{
    Type ty = {dt, sup_shape(rank, dims), NULL};
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    t->dtype = dt;
    t->ndim = rank;
    memcpy(t->shape, dims, sizeof(int64_t) * (size_t)rank);
    t->nbytes = ir_dtype_bytes(dt, n);
    t->data = malloc(t->nbytes + 8);
    unsigned char *p = t->data;
    const size_t es = ir_dtype_bytes(dt, 1);
    for (int64_t i = 0; i < n; i++) {
        const double v =
            i < N_SPECIALS ? specials[i] : ((double)(next_rand(seed) % 4096) - 2048.0) / 64.0;
        if (dt == IR_F64) {
            memcpy(p + i * 8, &v, 8);
        } else if (dt == IR_F32) {
            const float f = (float)v;
            memcpy(p + i * 4, &f, 4);
        } else if (dt == IR_F16 || dt == IR_BF16) {
            const uint16_t h = dt == IR_F16 ? ir_f16_bits(v) : ir_bf16_bits(v);
            memcpy(p + i * 2, &h, 2);
        } else if (dt == IR_BOOL) {
            p[i] = (uint8_t)(next_rand(seed) & 1u);
        } else {
            uint64_t b = ((uint64_t)next_rand(seed) << 40) ^ ((uint64_t)next_rand(seed) << 20) ^
                         next_rand(seed);
            if (i % 3 == 0)
                b = (uint64_t)((int64_t)(next_rand(seed) % 16) - 4);
            memcpy(p + (size_t)i * es, &b, es); /* little-endian: the low bytes */
        }
    }
    return ir_input_new(g, name, ty, (SrcLoc){0});
}

/* Shapes, passes (or NULL), then sup_cuda_check; frees the inputs and g. Returns whether it
 * agreed, with the message in msg. */
static bool run_graph(Graph *g, RtTensor *in, int n_in, const char *passes, double tol, char *msg,
                      size_t msg_size)
{
    Diag d;
    ir_diag_init(&d);
    bool ok = ir_infer_shapes(g, &d);
    if (ok && passes)
        ok = pass_pipeline_run(g, passes, (SrcLoc){0}, &(PassRunOptions){0}, &d);
    if (!ok)
        snprintf(msg, msg_size, "shapes or passes: %s", ir_diag_text(&d));
    ir_diag_fini(&d);
    ok = ok && sup_cuda_check(g, in, NULL, tol, msg, msg_size);
    for (int i = 0; i < n_in; i++)
        free(in[i].data);
    ir_graph_free(g);
    return ok;
}

static void check_graph(Graph *g, RtTensor *in, int n_in, const char *passes, double tol,
                        const char *what)
{
    char msg[8192];
    bool ok = run_graph(g, in, n_in, passes, tol, msg, sizeof msg);
    ck_assert_msg(ok, "%s: %.3000s", what, msg);
}

static NodeId permute(Graph *g, ValueId x, const int64_t *perm, int r)
{
    NodeId n = node(g, IR_OP_PERMUTE, &x, 1);
    ir_node_set_ints(g, n, "perm", perm, r);
    return n;
}

/* The tiled transpose: NCHW -> NHWC and back, and a swap of the last two dims, with
 * tiles cut by the edges (37 and 35 are not multiples of 32) and several batch matrices;
 * in f32, f16 and i64 (the tile's element type follows the dtype). Also a permute that is
 * no transpose (the gather path) and one with a symbolic batch. */
START_TEST(test_permute_tiles)
{
    static const DType dts[] = {IR_F32, IR_F16, IR_I64};
    for (size_t k = 0; k < 3; k++) {
        uint32_t seed = 17;
        Graph *g = ir_graph_new("perm");
        RtTensor in[2];
        ValueId x = input_typed(g, "x", dts[k], 4, D(3, 37, 5, 7), &in[0], &seed);
        ValueId nhwc = out0(g, permute(g, x, D(0, 2, 3, 1), 4)); /* [3, 5, 7, 37] */
        ir_output_add(g, nhwc);
        ir_output_add(g, out0(g, permute(g, nhwc, D(0, 3, 1, 2), 4)));
        ir_output_add(g, out0(g, permute(g, x, D(0, 1, 3, 2), 4)));   /* batched 5 x 7 */
        ir_output_add(g, out0(g, permute(g, x, D(-3, 0, -1, 2), 4))); /* no transpose */
        ir_output_add(g, out0(g, permute(g, x, D(1, 2, 3, 0), 4)));   /* [3, 1295] -> T */
        /* 10 x 2 tiles: the grid's tile count is a product of two ceilings */
        ValueId y = input_typed(g, "y", dts[k], 3, D(2, 40, 300), &in[1], &seed);
        ir_output_add(g, out0(g, permute(g, y, D(0, 2, 1), 3)));
        check_graph(g, in, 2, NULL, 0, ir_dtype_name(dts[k]));
    }
    /* a symbolic batch: the grid's y follows N */
    for (int64_t batch = 1; batch <= 3; batch += 2) {
        Graph *g = ir_graph_new("perm_sym");
        int s = ir_graph_symbol(g, "N");
        Type t = {IR_F32, {3, {{1, 1u << s}, {40, 0}, {66, 0}}}, NULL};
        ValueId x = ir_input_new(g, "x", t, (SrcLoc){0});
        uint32_t seed = 5;
        RtTensor in[1];
        Graph *scratch = ir_graph_new("scratch");
        input_typed(scratch, "x", IR_F32, 3, D(batch, 40, 66), &in[0], &seed);
        ir_graph_free(scratch);
        ir_output_add(g, out0(g, permute(g, x, D(0, 2, 1), 3)));
        check_graph(g, in, 1, NULL, 0, "symbolic batch");
    }
}
END_TEST

/* Every cast pair of the dtypes the CUDA backend casts, bit for bit with the reference on
 * hostile values: each of the 13 inputs cast to every dtype, the 13 casts to one dtype
 * concatenated into one output (one graph, one compile). */
START_TEST(test_cast_pairs)
{
    static const DType dts[] = {IR_F64, IR_F32, IR_F16, IR_BF16, IR_I64, IR_I32, IR_I16,
                                IR_I8,  IR_U8,  IR_U16, IR_U32,  IR_U64, IR_BOOL};
    enum { ND = sizeof dts / sizeof dts[0] };
    Graph *g = ir_graph_new("cast");
    RtTensor in[ND];
    ValueId xs[ND];
    uint32_t seed = 99;
    for (int from = 0; from < ND; from++) {
        char name[16];
        snprintf(name, sizeof name, "x%d", from);
        xs[from] = input_typed(g, name, dts[from], 2, D(4, 16), &in[from], &seed);
    }
    for (int to = 0; to < ND; to++) {
        ValueId casts[ND];
        for (int from = 0; from < ND; from++) {
            NodeId n = node(g, IR_OP_CAST, &xs[from], 1);
            ir_node_set_int(g, n, "dtype", dts[to]);
            casts[from] = out0(g, n);
        }
        /* concat in two groups of at most 8, then the two */
        NodeId c0 = node(g, IR_OP_CONCAT, casts, 7), c1 = node(g, IR_OP_CONCAT, casts + 7, ND - 7);
        ir_node_set_int(g, c0, "axis", 0);
        ir_node_set_int(g, c1, "axis", 0);
        const ValueId both[2] = {out0(g, c0), out0(g, c1)};
        NodeId c = node(g, IR_OP_CONCAT, both, 2);
        ir_node_set_int(g, c, "axis", 0);
        ir_output_add(g, out0(g, c));
    }
    check_graph(g, in, ND, NULL, 0, "casts");
}
END_TEST

static NodeId slice(Graph *g, ValueId x, int64_t axis, int64_t start, int64_t end, int64_t step)
{
    NodeId n = node(g, IR_OP_SLICE, &x, 1);
    ir_node_set_int(g, n, "axis", axis);
    ir_node_set_int(g, n, "start", start);
    ir_node_set_int(g, n, "end", end);
    ir_node_set_int(g, n, "step", step);
    return n;
}

/* slice with steps 1, 2, 3 and 4, negative starts and ends, on every axis, in bf16, and
 * negative steps (ONNX's clamping: a flip with the INT64_MIN sentinel clamped as the
 * importer writes it, a start past the end, step -3). */
START_TEST(test_slice_steps)
{
    uint32_t seed = 3;
    Graph *g = ir_graph_new("slice");
    RtTensor in[1];
    ValueId x = input_typed(g, "x", IR_BF16, 3, D(4, 9, 11), &in[0], &seed);
    ir_output_add(g, out0(g, slice(g, x, 2, 1, 10, 3)));
    ir_output_add(g, out0(g, slice(g, x, 1, -7, 100, 2)));
    ir_output_add(g, out0(g, slice(g, x, -1, 9, 11, 1)));
    ir_output_add(g, out0(g, slice(g, x, 0, -3, 4, 1)));
    ir_output_add(g, out0(g, slice(g, x, 1, 2, -1, 4)));
    ir_output_add(g, out0(g, slice(g, x, 2, -1, -IR_SLICE_TO_END, -1)));
    ir_output_add(g, out0(g, slice(g, x, 1, 100, 0, -3)));
    ir_output_add(g, out0(g, slice(g, x, 0, -2, -4, -1)));
    check_graph(g, in, 1, NULL, 0, "slice");
}
END_TEST

/* pad in every mode (0 constant, 1 reflect, 2 replicate) on i32 and f16, over one and
 * two dims, with a fill that the dtype rounds. */
START_TEST(test_pad_modes)
{
    static const DType dts[] = {IR_I32, IR_F16, IR_U8};
    for (size_t k = 0; k < 3; k++) {
        uint32_t seed = 8;
        Graph *g = ir_graph_new("pad");
        RtTensor in[1];
        ValueId x = input_typed(g, "x", dts[k], 3, D(2, 6, 7), &in[0], &seed);
        for (int mode = 0; mode < 3; mode++) {
            NodeId n = node(g, IR_OP_PAD, &x, 1);
            ir_node_set_ints(g, n, "pads", mode == 0 ? D(2, 3, 1, 0) : D(3, 2, 5, 1), 4);
            ir_node_set_int(g, n, "mode", mode);
            ir_node_set_float(g, n, "value", 2.75);
            ir_output_add(g, out0(g, n));
        }
        check_graph(g, in, 1, NULL, 0, ir_dtype_name(dts[k]));
    }
}
END_TEST

/* concat of 8 inputs of different widths along the last axis, with a symbolic batch, in i64 (so
 * nothing is done in place: the output is a graph output and the inputs are graph inputs). */
START_TEST(test_concat_many)
{
    for (int64_t batch = 1; batch <= 4; batch += 3) {
        Graph *g = ir_graph_new("cat");
        int s = ir_graph_symbol(g, "N");
        RtTensor in[8];
        ValueId xs[8];
        uint32_t seed = 21;
        Graph *scratch = ir_graph_new("scratch");
        for (int i = 0; i < 8; i++) {
            char name[8];
            snprintf(name, sizeof name, "x%d", i);
            Type t = {IR_I64, {2, {{1, 1u << s}, {i + 1, 0}}}, NULL};
            xs[i] = ir_input_new(g, name, t, (SrcLoc){0});
            input_typed(scratch, name, IR_I64, 2, D(batch, i + 1), &in[i], &seed);
        }
        ir_graph_free(scratch);
        NodeId c = node(g, IR_OP_CONCAT, xs, 8);
        ir_node_set_int(g, c, "axis", 1);
        ir_output_add(g, out0(g, c));
        check_graph(g, in, 8, NULL, 0, "concat");
    }
}
END_TEST

/* index_select and embedding with negative indices (index_select only), and the failure an
 * index out of range gives: the run stops with status 3. */
START_TEST(test_index_range)
{
    for (int bad = 0; bad < 2; bad++) {
        uint32_t seed = 4;
        Graph *g = ir_graph_new("isel");
        RtTensor in[2];
        ValueId x = input_typed(g, "x", IR_F16, 3, D(3, 10, 6), &in[0], &seed);
        ValueId idx = sup_input_int(g, "idx", IR_I64, 1, D(7), -10, 9, &in[1], &seed);
        if (bad)
            ((int64_t *)in[1].data)[5] = 10;
        const ValueId ins[2] = {x, idx};
        NodeId n = node(g, IR_OP_INDEX_SELECT, ins, 2);
        ir_node_set_int(g, n, "axis", 1);
        ir_output_add(g, out0(g, n));
        char msg[8192];
        bool ok = run_graph(g, in, 2, NULL, 0, msg, sizeof msg);
        if (bad)
            ck_assert_msg(!ok && strstr(msg, "out of range"), "index_select, bad index: %.3000s",
                          msg);
        else
            ck_assert_msg(ok, "index_select: %.3000s", msg);
    }
    for (int bad = 0; bad < 2; bad++) {
        uint32_t seed = 6;
        Graph *g = ir_graph_new("emb");
        RtTensor in[2];
        ValueId idx = sup_input_int(g, "idx", IR_I32, 2, D(3, 5), 0, 49, &in[0], &seed);
        ValueId w = sup_input(g, "w", 2, D(50, 40), &in[1], &seed);
        if (bad)
            ((int32_t *)in[0].data)[7] = -1;
        const ValueId ins[2] = {idx, w};
        NodeId e = node(g, IR_OP_EMBEDDING, ins, 2);
        ValueId r = out0(g, node(g, IR_OP_RELU, &(ValueId){out0(g, e)}, 1));
        ir_output_add(g, r);
        char msg[8192];
        bool ok = run_graph(g, in, 2, "fuse,dce", 0, msg, sizeof msg);
        if (bad)
            ck_assert_msg(!ok && strstr(msg, "out of range"), "embedding, bad index: %.3000s", msg);
        else
            ck_assert_msg(ok, "embedding with a fused relu: %.3000s", msg);
    }
}
END_TEST

/* The comparisons and where in f16, u64 and f64 with NaN among the values, broadcasting. */
START_TEST(test_compare_nan)
{
    static const DType dts[] = {IR_F16, IR_U64, IR_F64, IR_BF16};
    static const OpKind ops[] = {IR_OP_EQ, IR_OP_NE, IR_OP_LT, IR_OP_LE, IR_OP_GT, IR_OP_GE};
    for (size_t k = 0; k < 4; k++) {
        uint32_t seed = 13;
        Graph *g = ir_graph_new("cmp");
        RtTensor in[2];
        ValueId a = input_typed(g, "a", dts[k], 2, D(5, 24), &in[0], &seed);
        ValueId b = input_typed(g, "b", dts[k], 1, D(24), &in[1], &seed);
        const ValueId ab[2] = {a, b}, ba[2] = {b, a};
        ValueId last = IR_NONE;
        for (size_t o = 0; o < 6; o++) {
            last = out0(g, node(g, ops[o], o % 2 ? ba : ab, 2));
            ir_output_add(g, last);
        }
        const ValueId w[3] = {last, a, b};
        ir_output_add(g, out0(g, node(g, IR_OP_WHERE, w, 3)));
        check_graph(g, in, 2, NULL, 0, ir_dtype_name(dts[k]));
    }
}
END_TEST

/* The integer kernels over more than one grid-stride round (300,000 elements, 256-thread
 * blocks): division by 0 and -1, shifts past the width, mod with both signs, in i8, i32
 * and u16, broadcast along the last dim. */
START_TEST(test_int_ops_big)
{
    static const DType dts[] = {IR_I8, IR_I32, IR_U16};
    static const OpKind ops[] = {IR_OP_DIV, IR_OP_BITSHIFT_LEFT, IR_OP_BITSHIFT_RIGHT,
                                 IR_OP_MOD, IR_OP_BITWISE_XOR,   IR_OP_MAXIMUM};
    for (size_t k = 0; k < 3; k++) {
        uint32_t seed = 31;
        Graph *g = ir_graph_new("ints");
        RtTensor in[2];
        ValueId a = input_typed(g, "a", dts[k], 2, D(1200, 250), &in[0], &seed);
        ValueId b = input_typed(g, "b", dts[k], 1, D(250), &in[1], &seed);
        const ValueId ab[2] = {a, b};
        for (size_t o = 0; o < 6; o++)
            ir_output_add(g, out0(g, node(g, ops[o], ab, 2)));
        check_graph(g, in, 2, NULL, 0, ir_dtype_name(dts[k]));
    }
}
END_TEST

/* argmax/argmin over long contiguous lines (the block-per-line kernel: 1000 and 300
 * elements, a strided scan and a shared-memory tree) and a short axis (thread per line),
 * with NaN, ties everywhere (values from few levels) and select_last both ways, in f32, f64
 * and i32. */
START_TEST(test_argreduce_lines)
{
    static const DType dts[] = {IR_F32, IR_F64, IR_I32};
    for (size_t k = 0; k < 3; k++) {
        uint32_t seed = 41;
        Graph *g = ir_graph_new("arg");
        RtTensor in[1];
        ValueId x = input_typed(g, "x", dts[k], 2, D(6, 1000), &in[0], &seed);
        if (dts[k] != IR_I32) /* ties: quantize every value past the specials to few levels */
            for (int64_t i = N_SPECIALS; i < 6000; i++) {
                if (dts[k] == IR_F32)
                    ((float *)in[0].data)[i] = (float)(next_rand(&seed) % 5);
                else
                    ((double *)in[0].data)[i] = (double)(next_rand(&seed) % 5);
            }
        for (int op = 0; op < 2; op++)
            for (int ax = 0; ax < 2; ax++)
                for (int last = 0; last < 2; last++) {
                    NodeId n = node(g, op ? IR_OP_ARGMIN : IR_OP_ARGMAX, &x, 1);
                    ir_node_set_int(g, n, "axis", ax ? -1 : 0);
                    ir_node_set_int(g, n, "keepdim", last);
                    ir_node_set_int(g, n, "select_last", last);
                    ir_output_add(g, out0(g, n));
                }
        check_graph(g, in, 1, NULL, 0, ir_dtype_name(dts[k]));
    }
    /* a line of NaN only gives index 0 */
    uint32_t seed = 2;
    Graph *g = ir_graph_new("arg_nan");
    RtTensor in[1];
    ValueId x = input_typed(g, "x", IR_F32, 2, D(2, 300), &in[0], &seed);
    for (int i = 0; i < 300; i++)
        ((float *)in[0].data)[i] = NAN;
    ir_output_add(g, out0(g, node(g, IR_OP_ARGMAX, &x, 1)));
    check_graph(g, in, 1, NULL, 0, "all NaN");
}
END_TEST

/* cumsum in f32, i64, i8 (wrapping) and f64, every exclusive/reverse
 * combination, along the first and the last axis; scatter_elements with each reduction on
 * f32 and i32, duplicates included (the last wins), and an index out of range. */
START_TEST(test_cumsum_scatter)
{
    static const DType dts[] = {IR_F32, IR_I64, IR_I8, IR_F64};
    for (size_t k = 0; k < 4; k++) {
        uint32_t seed = 23;
        Graph *g = ir_graph_new("cs");
        RtTensor in[1];
        ValueId x = input_typed(g, "x", dts[k], 3, D(3, 40, 9), &in[0], &seed);
        if (dts[k] == IR_F64) /* a sum of two NaNs keeps either's sign: compare no NaN bits */
            for (int i = 0; i < N_SPECIALS; i++)
                if (!isfinite(((double *)in[0].data)[i]))
                    ((double *)in[0].data)[i] = 1.5;
        for (int m = 0; m < 4; m++)
            for (int ax = 0; ax < 2; ax++) {
                NodeId n = node(g, IR_OP_CUMSUM, &x, 1);
                ir_node_set_int(g, n, "axis", ax ? 2 : 0);
                ir_node_set_int(g, n, "exclusive", m & 1);
                ir_node_set_int(g, n, "reverse", m >> 1);
                ir_output_add(g, out0(g, n));
            }
        check_graph(g, in, 1, NULL, 0, ir_dtype_name(dts[k]));
    }
    static const DType sdts[] = {IR_F32, IR_I32};
    for (int bad = 0; bad < 2; bad++)
        for (size_t k = 0; k < 2; k++) {
            uint32_t seed = 29;
            Graph *g = ir_graph_new("se");
            RtTensor in[3];
            ValueId x = input_typed(g, "x", sdts[k], 2, D(6, 7), &in[0], &seed);
            ValueId idx = sup_input_int(g, "idx", IR_I64, 2, D(9, 5), -6, 5, &in[1], &seed);
            ValueId u = input_typed(g, "u", sdts[k], 2, D(9, 5), &in[2], &seed);
            if (bad)
                ((int64_t *)in[1].data)[12] = -7;
            const ValueId ins[3] = {x, idx, u};
            for (int red = 0; red < 5; red++) {
                NodeId n = node(g, IR_OP_SCATTER_ELEMENTS, ins, 3);
                ir_node_set_int(g, n, "axis", 0);
                ir_node_set_int(g, n, "reduction", red);
                ir_output_add(g, out0(g, n));
            }
            char msg[8192];
            bool ok = run_graph(g, in, 3, NULL, 0, msg, sizeof msg);
            if (bad)
                ck_assert_msg(!ok && strstr(msg, "out of range"), "scatter, bad index: %.3000s",
                              msg);
            else
                ck_assert_msg(ok, "scatter_elements %s: %.3000s", ir_dtype_name(sdts[k]), msg);
        }
}
END_TEST

static NodeId with_int(Graph *g, NodeId n, const char *attr, int64_t v)
{
    ir_node_set_int(g, n, attr, v);
    return n;
}

/* Hopper too: one graph with a kernel of each kind of this family (the transpose tile, the
 * block-per-line argmax, the typed and integer helpers, casts, reflect pad, concat,
 * index_select, bilinear resize, cumsum) compiled by NVRTC for compute_90
 * and checked by ptxas for sm_90 where it is installed (support_cuda checks 75 and 80). */
START_TEST(test_compute_90)
{
    Graph *g = ir_graph_new("all");
    Type tf = {IR_F16, sup_shape(3, D(2, 40, 300)), NULL};
    Type ti = {IR_I64, sup_shape(2, D(4, 3)), NULL};
    Type tx = {IR_F32, sup_shape(4, D(1, 3, 8, 8)), NULL};
    ValueId h = ir_input_new(g, "h", tf, (SrcLoc){0});
    ValueId idx = ir_input_new(g, "idx", ti, (SrcLoc){0});
    ValueId x = ir_input_new(g, "x", tx, (SrcLoc){0});
    ValueId hp = out0(g, permute(g, h, D(0, 2, 1), 3));
    ir_output_add(g, hp);
    ValueId hf = out0(g, with_int(g, node(g, IR_OP_CAST, &h, 1), "dtype", IR_F32));
    ir_output_add(g, out0(g, with_int(g, node(g, IR_OP_ARGMAX, &hf, 1), "axis", -1)));
    ir_output_add(g, out0(g, with_int(g, node(g, IR_OP_CUMSUM, &hf, 1), "axis", 1)));
    ValueId hb = out0(g, with_int(g, node(g, IR_OP_CAST, &h, 1), "dtype", IR_BF16));
    ir_output_add(g, out0(g, node(g, IR_OP_ABS, &hb, 1)));
    const ValueId hh[2] = {h, h};
    ir_output_add(g, out0(g, node(g, IR_OP_MOD, hh, 2)));
    ir_output_add(g, out0(g, node(g, IR_OP_LT, hh, 2)));
    ValueId i8 = out0(g, with_int(g, node(g, IR_OP_CAST, &idx, 1), "dtype", IR_I8));
    const ValueId ii[2] = {idx, idx}, i88[2] = {i8, i8};
    ir_output_add(g, out0(g, node(g, IR_OP_BITSHIFT_LEFT, ii, 2)));
    ir_output_add(g, out0(g, node(g, IR_OP_DIV, i88, 2)));
    const ValueId xi[2] = {x, out0(g, with_int(g, node(g, IR_OP_CAST, &idx, 1), "dtype", IR_I32))};
    NodeId isel = with_int(g, node(g, IR_OP_INDEX_SELECT, xi, 2), "axis", 2);
    ir_output_add(g, out0(g, isel));
    NodeId pad = node(g, IR_OP_PAD, &x, 1);
    ir_node_set_ints(g, pad, "pads", D(1, 2, 2, 1), 4);
    ir_node_set_int(g, pad, "mode", 1);
    ValueId xp = out0(g, pad);
    const ValueId xx[2] = {x, x};
    ir_output_add(g, out0(g, with_int(g, node(g, IR_OP_CONCAT, xx, 2), "axis", 1)));
    NodeId rs = node(g, IR_OP_RESIZE, &xp, 1);
    ir_node_set_int(g, rs, "mode", 1);
    ir_node_set_ints(g, rs, "size", D(22, 17), 2);
    ir_output_add(g, out0(g, rs));
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "shapes: %.3000s", ir_diag_text(&d));
    char msg[8192];
    size_t len;
    char *src = sup_cuda_emit(g, NULL, &len, msg, sizeof msg);
    ck_assert_msg(src, "%.3000s", msg);
    ck_assert_msg(strstr(src, "tile[") && strstr(src, "sv[tid]"),
                  "the transpose tile or the argmax tree is missing");
    char why[700];
    ck_assert_msg(rt_nvrtc_available(why, sizeof why), "NVRTC not found (%s)", why);
    RtOptions ro;
    rt_options_default(&ro);
    RtCuImage img;
    bool ok = rt_nvrtc_compile(src, len, 90, RT_CU_PTX, 0, &ro, &img, &d);
    ck_assert_msg(ok, "NVRTC, compute_90: %.3000s", ir_diag_text(&d));
    ck_assert_msg(rt_ptxas_check(&img, 90, &d) != 0, "ptxas, sm_90: %.3000s", ir_diag_text(&d));
    rt_cu_image_free(&img);
    free(src);
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

/* gather_nd with an index out of range fails the run with status 3; topk with a k larger
 * than the CUDA kernel keeps is an emit error naming the limit, not a wrong answer. */
START_TEST(test_nd_and_topk_limits)
{
    uint32_t seed = 12;
    Graph *g = ir_graph_new("gnd");
    RtTensor in[2];
    ValueId x = input_typed(g, "x", IR_F32, 3, D(4, 5, 6), &in[0], &seed);
    ValueId idx = sup_input_int(g, "idx", IR_I64, 2, D(3, 2), -4, 3, &in[1], &seed);
    ((int64_t *)in[1].data)[3] = 5; /* the second index of the second tuple: dim 5 */
    const ValueId ins[2] = {x, idx};
    ir_output_add(g, out0(g, node(g, IR_OP_GATHER_ND, ins, 2)));
    char msg[8192];
    bool ok = run_graph(g, in, 2, NULL, 0, msg, sizeof msg);
    ck_assert_msg(!ok && strstr(msg, "out of range"), "gather_nd, bad index: %.3000s", msg);
    Graph *t = ir_graph_new("topk");
    RtTensor tin[1];
    ValueId tx = input_typed(t, "x", IR_F32, 2, D(2, 300), &tin[0], &seed);
    NodeId n = node(t, IR_OP_TOPK, &tx, 1);
    ir_node_set_int(t, n, "k", 200);
    ir_node_set_int(t, n, "axis", 1);
    ir_output_add(t, out0(t, n));
    ok = run_graph(t, tin, 1, NULL, 0, msg, sizeof msg);
    ck_assert_msg(!ok && strstr(msg, "at most 128"), "topk k=200: %.3000s", msg);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cuda_data");
    TCase *t = tcase_create("cuda_data");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_permute_tiles);
    tcase_add_test(t, test_cast_pairs);
    tcase_add_test(t, test_slice_steps);
    tcase_add_test(t, test_pad_modes);
    tcase_add_test(t, test_concat_many);
    tcase_add_test(t, test_index_range);
    tcase_add_test(t, test_compare_nan);
    tcase_add_test(t, test_int_ops_big);
    tcase_add_test(t, test_argreduce_lines);
    tcase_add_test(t, test_cumsum_scatter);
    tcase_add_test(t, test_compute_90);
    tcase_add_test(t, test_nd_and_topk_limits);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
