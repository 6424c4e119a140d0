/* Elementwise ops, reductions and bitwise ops in dtypes other than f32 (f64, f16, the
 * signed and unsigned integers, u16/u32/u64 included): the reference evaluator against
 * plain C loops written here (ONNX's semantics: integer division truncates, add/sub/mul
 * wrap), then the C backend against the reference, bitwise, at 1 and 3 threads; the
 * shape rules; casts and .npy files in the unsigned dtypes; fusion leaving them alone. */
#include "support_cg.h"

#include "frontend/npy.h"
#include "ir/dtype_ops.h"
#include "ir/eval.h"
#include "passes/pass.h"
#include "support_fs.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static unsigned seed = 4242;

#define D(...) ((const int64_t[]){__VA_ARGS__})

static uint32_t next_rand(void)
{
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

static NodeId node(Graph *g, OpKind op, const char *name, const ValueId *ins, int n)
{
    return ir_node_new(g, op, name, (SrcLoc){0}, ins, n, 1);
}

static ValueId out_of(Graph *g, NodeId n)
{
    return g->nodes[n].outputs[0];
}

/* A graph input of dtype dt and shape dims with random data in *t: integers over their
 * whole range (every few elements a small value, so that division and shifts see them),
 * floats in [-8, 8). */
static ValueId input_typed(Graph *g, const char *name, DType dt, int rank, const int64_t *dims,
                           RtTensor *t)
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
    size_t es = ir_dtype_bytes(dt, 1);
    for (int64_t i = 0; i < n; i++) {
        if (dt == IR_F64) {
            double v = ((double)(next_rand() % 4096) - 2048.0) / 256.0;
            memcpy(p + i * 8, &v, 8);
        } else if (dt == IR_F32) {
            float v = ((float)(next_rand() % 4096) - 2048.0f) / 256.0f;
            memcpy(p + i * 4, &v, 4);
        } else {
            uint64_t v =
                ((uint64_t)next_rand() << 40) ^ ((uint64_t)next_rand() << 20) ^ next_rand();
            if (i % 3 == 0) /* small, signed: -4 .. 11 */
                v = (uint64_t)((int64_t)(next_rand() % 16) - 4);
            memcpy(p + (size_t)i * es, &v, es); /* little-endian: the low bytes */
        }
    }
    return ir_input_new(g, name, ty, (SrcLoc){0});
}

/* Runs g with the reference evaluator; returns its first output (malloc'd; the others are
 * freed). */
static void *eval_ref(Graph *g, const RtTensor *in, int n_in)
{
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    const void *ins[4];
    for (int i = 0; i < n_in; i++)
        ins[i] = in[i].data;
    void *outs[16] = {0};
    ck_assert_msg(ir_eval_graph(g, ins, outs, NULL, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    for (int i = 1; i < g->n_outputs; i++)
        free(outs[i]);
    return outs[0];
}

/* ---- the reference against plain loops ---- */

START_TEST(test_reference_integers)
{
    /* i32: add/sub/mul wrap, div truncates toward zero */
    static const OpKind ops[] = {IR_OP_ADD, IR_OP_SUB,     IR_OP_MUL,
                                 IR_OP_DIV, IR_OP_MINIMUM, IR_OP_MAXIMUM};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        Graph *g = ir_graph_new("i32");
        RtTensor in[2];
        ValueId ins[2] = {input_typed(g, "a", IR_I32, 1, D(64), &in[0]),
                          input_typed(g, "b", IR_I32, 1, D(64), &in[1])};
        ir_output_add(g, out_of(g, node(g, ops[k], "op", ins, 2)));
        int32_t *r = eval_ref(g, in, 2);
        const int32_t *a = in[0].data, *b = in[1].data;
        for (int i = 0; i < 64; i++) {
            int64_t want;
            switch (ops[k]) {
            case IR_OP_ADD: want = (int32_t)((uint32_t)a[i] + (uint32_t)b[i]); break;
            case IR_OP_SUB: want = (int32_t)((uint32_t)a[i] - (uint32_t)b[i]); break;
            case IR_OP_MUL: want = (int32_t)((uint32_t)a[i] * (uint32_t)b[i]); break;
            case IR_OP_DIV: want = b[i] == 0 ? 0 : (int32_t)((int64_t)a[i] / (int64_t)b[i]); break;
            case IR_OP_MINIMUM: want = a[i] < b[i] ? a[i] : b[i]; break;
            default: want = a[i] > b[i] ? a[i] : b[i]; break;
            }
            ck_assert_msg(r[i] == want, "%s(%d, %d) = %d, want %lld", ir_ops[ops[k]].name, a[i],
                          b[i], r[i], (long long)want);
        }
        free(r);
        free(in[0].data);
        free(in[1].data);
        ir_graph_free(g);
    }
    /* fixed cases: -7 / 2 = -3 (truncation), u8 wraps, u64 compares unsigned */
    Graph *g = ir_graph_new("fixed");
    RtTensor in[2];
    ValueId ins[2] = {input_typed(g, "a", IR_I64, 1, D(4), &in[0]),
                      input_typed(g, "b", IR_I64, 1, D(4), &in[1])};
    static const int64_t av[4] = {-7, 7, -7, INT64_MIN}, bv[4] = {2, -2, -2, -1};
    memcpy(in[0].data, av, sizeof av);
    memcpy(in[1].data, bv, sizeof bv);
    ir_output_add(g, out_of(g, node(g, IR_OP_DIV, "div", ins, 2)));
    int64_t *q = eval_ref(g, in, 2);
    ck_assert(q[0] == -3 && q[1] == -3 && q[2] == 3 && q[3] == INT64_MIN);
    free(q);
    free(in[0].data);
    free(in[1].data);
    ir_graph_free(g);

    g = ir_graph_new("u8");
    ValueId u[2] = {input_typed(g, "a", IR_U8, 1, D(3), &in[0]),
                    input_typed(g, "b", IR_U8, 1, D(3), &in[1])};
    static const uint8_t ua[3] = {250, 3, 200}, ub[3] = {10, 5, 2};
    memcpy(in[0].data, ua, 3);
    memcpy(in[1].data, ub, 3);
    ir_output_add(g, out_of(g, node(g, IR_OP_ADD, "add", u, 2)));
    uint8_t *s = eval_ref(g, in, 2);
    ck_assert(s[0] == 4 && s[1] == 8 && s[2] == 202);
    free(s);
    free(in[0].data);
    free(in[1].data);
    ir_graph_free(g);

    g = ir_graph_new("u64");
    ValueId w[2] = {input_typed(g, "a", IR_U64, 1, D(2), &in[0]),
                    input_typed(g, "b", IR_U64, 1, D(2), &in[1])};
    static const uint64_t wa[2] = {UINT64_MAX, 1}, wb[2] = {1, UINT64_MAX};
    memcpy(in[0].data, wa, sizeof wa);
    memcpy(in[1].data, wb, sizeof wb);
    ir_output_add(g, out_of(g, node(g, IR_OP_GT, "gt", w, 2)));
    uint8_t *gt = eval_ref(g, in, 2);
    ck_assert(gt[0] == 1 && gt[1] == 0);
    free(gt);
    free(in[0].data);
    free(in[1].data);
    ir_graph_free(g);
}
END_TEST

START_TEST(test_reference_bitwise_and_floats)
{
    /* u16 shifts (ONNX BitShift), and/or/xor/not */
    static const OpKind ops[] = {IR_OP_BITSHIFT_LEFT, IR_OP_BITSHIFT_RIGHT, IR_OP_BITWISE_AND,
                                 IR_OP_BITWISE_OR, IR_OP_BITWISE_XOR};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        Graph *g = ir_graph_new("u16");
        RtTensor in[2];
        ValueId ins[2] = {input_typed(g, "a", IR_U16, 1, D(40), &in[0]),
                          input_typed(g, "b", IR_U16, 1, D(40), &in[1])};
        uint16_t *b = in[1].data;
        for (int i = 0; i < 40; i++)
            b[i] = (uint16_t)(k < 2 ? i % 20 : b[i]); /* shifts past the width give 0 */
        ir_output_add(g, out_of(g, node(g, ops[k], "op", ins, 2)));
        uint16_t *r = eval_ref(g, in, 2);
        const uint16_t *a = in[0].data;
        for (int i = 0; i < 40; i++) {
            unsigned want;
            switch (ops[k]) {
            case IR_OP_BITSHIFT_LEFT: want = b[i] >= 16 ? 0 : (uint16_t)(a[i] << b[i]); break;
            case IR_OP_BITSHIFT_RIGHT: want = b[i] >= 16 ? 0 : a[i] >> b[i]; break;
            case IR_OP_BITWISE_AND: want = a[i] & b[i]; break;
            case IR_OP_BITWISE_OR: want = a[i] | b[i]; break;
            default: want = a[i] ^ b[i]; break;
            }
            ck_assert_msg(r[i] == want, "%s(%u, %u) = %u, want %u", ir_ops[ops[k]].name, a[i], b[i],
                          r[i], want);
        }
        free(r);
        free(in[0].data);
        free(in[1].data);
        ir_graph_free(g);
    }
    /* f64 exp and pow in double */
    Graph *g = ir_graph_new("f64");
    RtTensor in[2];
    ValueId x = input_typed(g, "x", IR_F64, 2, D(3, 5), &in[0]);
    ValueId y = input_typed(g, "y", IR_F64, 1, D(5), &in[1]);
    ValueId e = out_of(g, node(g, IR_OP_EXP, "e", &x, 1));
    ValueId ins[2] = {e, y};
    ir_output_add(g, out_of(g, node(g, IR_OP_POW, "p", ins, 2)));
    double *r = eval_ref(g, in, 2);
    const double *xd = in[0].data, *yd = in[1].data;
    for (int i = 0; i < 15; i++)
        ck_assert(r[i] == pow(exp(xd[i]), yd[i % 5]));
    free(r);
    free(in[0].data);
    free(in[1].data);
    ir_graph_free(g);
    /* i8 clip: bounds rounded inward; i64 reduce_sum wraps */
    g = ir_graph_new("clip");
    x = input_typed(g, "x", IR_I8, 1, D(50), &in[0]);
    NodeId c = node(g, IR_OP_CLIP, "c", &x, 1);
    ir_node_set_float(g, c, "min", -3.5);
    ir_node_set_float(g, c, "max", 100.0);
    ir_output_add(g, out_of(g, c));
    int8_t *ci = eval_ref(g, in, 1);
    const int8_t *xi = in[0].data;
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(ci[i], xi[i] < -3 ? -3 : xi[i] > 100 ? 100 : xi[i]);
    free(ci);
    free(in[0].data);
    ir_graph_free(g);
}
END_TEST

/* ---- the C backend against the reference ---- */

static const DType all_types[] = {IR_F64, IR_I64, IR_I32, IR_I16, IR_I8,
                                  IR_U8,  IR_U16, IR_U32, IR_U64};
#define N_TYPES (sizeof all_types / sizeof all_types[0])

START_TEST(test_codegen_binary)
{
    static const OpKind ops[] = {IR_OP_ADD,         IR_OP_SUB,           IR_OP_MUL,
                                 IR_OP_DIV,         IR_OP_MINIMUM,       IR_OP_MAXIMUM,
                                 IR_OP_POW,         IR_OP_BITWISE_AND,   IR_OP_BITWISE_OR,
                                 IR_OP_BITWISE_XOR, IR_OP_BITSHIFT_LEFT, IR_OP_BITSHIFT_RIGHT};
    for (size_t t = 0; t < N_TYPES; t++) {
        DType dt = all_types[t];
        /* every op of this dtype in one graph, each an output */
        Graph *g = ir_graph_new("bin");
        RtTensor in[2];
        ValueId a = input_typed(g, "a", dt, 3, D(2, 3, 5), &in[0]);
        ValueId b = input_typed(g, "b", dt, 2, D(3, 1), &in[1]);
        ValueId ins[2] = {a, b};
        for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
            if (ir_op_takes_dtype(ops[k], dt))
                ir_output_add(g, out_of(g, node(g, ops[k], ir_ops[ops[k]].name, ins, 2)));
        sup_run_check(g, in, 2, 0, ir_dtype_name(dt));
    }
}
END_TEST

START_TEST(test_codegen_unary)
{
    static const OpKind ops[] = {IR_OP_RELU, IR_OP_NEG,     IR_OP_ABS,  IR_OP_BITWISE_NOT,
                                 IR_OP_EXP,  IR_OP_SIGMOID, IR_OP_TANH, IR_OP_GELU,
                                 IR_OP_SILU, IR_OP_ERF,     IR_OP_CLIP, IR_OP_LEAKY_RELU};
    for (size_t t = 0; t < N_TYPES; t++) {
        DType dt = all_types[t];
        Graph *g = ir_graph_new("un");
        RtTensor in[1];
        ValueId x = input_typed(g, "x", dt, 2, D(4, 9), &in[0]);
        for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
            if (!ir_op_takes_dtype(ops[k], dt))
                continue;
            NodeId n = node(g, ops[k], ir_ops[ops[k]].name, &x, 1);
            if (ops[k] == IR_OP_CLIP) {
                ir_node_set_float(g, n, "min", -2.5);
                ir_node_set_float(g, n, "max", 6.0);
            }
            ir_output_add(g, out_of(g, n));
        }
        /* reductions over one axis and over all */
        static const OpKind red[] = {IR_OP_REDUCE_SUM, IR_OP_REDUCE_MAX, IR_OP_REDUCE_MIN,
                                     IR_OP_REDUCE_MEAN};
        for (size_t k = 0; k < 4; k++) {
            if (!ir_op_takes_dtype(red[k], dt))
                continue;
            NodeId n = node(g, red[k], ir_ops[red[k]].name, &x, 1);
            ir_node_set_ints(g, n, "axes", D(1), k % 2);
            ir_output_add(g, out_of(g, n));
        }
        sup_run_check(g, in, 1, 0, ir_dtype_name(dt));
    }
}
END_TEST

START_TEST(test_codegen_f16_and_casts)
{
    /* f16 ops compute in double and round once; casts f32 <-> u16/u32/u64 */
    Graph *g = ir_graph_new("f16");
    RtTensor in[1];
    ValueId x = input_typed(g, "x", IR_F32, 2, D(3, 8), &in[0]);
    NodeId c = node(g, IR_OP_CAST, "h", &x, 1);
    ir_node_set_int(g, c, "dtype", IR_F16);
    ValueId h = out_of(g, c);
    ValueId hh[2] = {h, h};
    ValueId m = out_of(g, node(g, IR_OP_MUL, "m", hh, 2));
    ir_output_add(g, out_of(g, node(g, IR_OP_EXP, "e", &m, 1)));
    static const DType to[] = {IR_U16, IR_U32, IR_U64, IR_I16};
    for (size_t k = 0; k < 4; k++) {
        ValueId ax = out_of(g, node(g, IR_OP_ABS, "abs", &x, 1));
        NodeId cu = node(g, IR_OP_CAST, "cu", &ax, 1);
        ir_node_set_int(g, cu, "dtype", to[k]);
        ValueId u = out_of(g, cu);
        ValueId uu[2] = {u, u};
        ValueId s = out_of(g, node(g, IR_OP_ADD, "s", uu, 2));
        NodeId back = node(g, IR_OP_CAST, "back", &s, 1);
        ir_node_set_int(g, back, "dtype", IR_F32);
        ir_output_add(g, out_of(g, back));
    }
    sup_run_check(g, in, 1, 0, "f16 and casts");
}
END_TEST

/* ---- float8, i4 and u4 casts ---- */

static const float f8_inputs[12] = {INFINITY, -INFINITY, 1e9f, -1e9f, NAN,    -0.0f,
                                    0.0009f,  3.3f,      460,  470,   -1e-9f, 0.01171875f};
/* The codes ml_dtypes (ONNX's reference) gives, without and with saturation. */
static const uint8_t f8_want[4][2][12] = {
    {{127, 255, 127, 255, 127, 128, 0, 69, 126, 127, 128, 6},
     {126, 254, 126, 254, 127, 128, 0, 69, 126, 126, 128, 6}},
    {{128, 128, 128, 128, 128, 0, 1, 77, 128, 128, 0, 12},
     {127, 255, 127, 255, 128, 0, 1, 77, 127, 127, 0, 12}},
    {{124, 252, 124, 252, 126, 128, 19, 67, 95, 95, 128, 34},
     {123, 251, 123, 251, 126, 128, 19, 67, 95, 95, 128, 34}},
    {{128, 128, 128, 128, 128, 0, 23, 71, 99, 99, 0, 38},
     {127, 255, 127, 255, 128, 0, 23, 71, 99, 99, 0, 38}},
};
static const DType f8_types[4] = {IR_F8E4M3FN, IR_F8E4M3FNUZ, IR_F8E5M2, IR_F8E5M2FNUZ};

START_TEST(test_float8_casts)
{
    for (int t = 0; t < 4; t++)
        for (int sat = 0; sat < 2; sat++) {
            Graph *g = ir_graph_new("f8");
            RtTensor in[1];
            ValueId x = input_typed(g, "x", IR_F32, 1, D(12), &in[0]);
            memcpy(in[0].data, f8_inputs, sizeof f8_inputs);
            NodeId c = node(g, IR_OP_CAST, "to_f8", &x, 1);
            ir_node_set_int(g, c, "dtype", f8_types[t]);
            ir_node_set_int(g, c, "saturate", sat);
            ir_output_add(g, out_of(g, c));
            ValueId q = out_of(g, c);
            NodeId back = node(g, IR_OP_CAST, "back", &q, 1);
            ir_node_set_int(g, back, "dtype", IR_F32);
            ir_output_add(g, out_of(g, back));
            uint8_t *codes = eval_ref(g, in, 1);
            for (int i = 0; i < 12; i++)
                ck_assert_msg(codes[i] == f8_want[t][sat][i], "%s sat=%d: %g -> %u, want %u",
                              ir_dtype_name(f8_types[t]), sat, (double)f8_inputs[i], codes[i],
                              f8_want[t][sat][i]);
            free(codes);
            sup_run_check(g, in, 1, 0, ir_dtype_name(f8_types[t]));
        }
    /* every code decodes, and encodes back to itself (NaNs to the format's NaN) */
    for (int t = 0; t < 4; t++)
        for (int b = 0; b < 256; b++) {
            double v = ir_f8_value(f8_types[t], (uint8_t)b);
            uint8_t back = ir_f8_bits(f8_types[t], v, false);
            ck_assert_msg(isnan(v) ? isnan(ir_f8_value(f8_types[t], back)) : back == b,
                          "%s: %d -> %g -> %d", ir_dtype_name(f8_types[t]), b, v, back);
        }
}
END_TEST

START_TEST(test_int4_casts)
{
    /* f32 -> i4/u4 truncates and wraps to 4 bits (ml_dtypes); back to i8/u8 and f32 */
    static const float xs[9] = {-9, 8, 7.5f, -8.5f, 20, 3.5f, NAN, INFINITY, -1};
    static const int8_t want_i4[9] = {7, -8, 7, -8, 4, 3, 0, 0, -1};
    static const uint8_t want_u4[9] = {7, 8, 7, 8, 4, 3, 0, 0, 15};
    for (int u = 0; u < 2; u++) {
        Graph *g = ir_graph_new("i4");
        RtTensor in[1];
        ValueId x = input_typed(g, "x", IR_F32, 1, D(9), &in[0]);
        memcpy(in[0].data, xs, sizeof xs);
        NodeId c = node(g, IR_OP_CAST, "to4", &x, 1);
        ir_node_set_int(g, c, "dtype", u ? IR_U4 : IR_I4);
        ValueId q = out_of(g, c);
        NodeId wide = node(g, IR_OP_CAST, "wide", &q, 1);
        ir_node_set_int(g, wide, "dtype", u ? IR_U8 : IR_I8);
        ir_output_add(g, out_of(g, wide));
        NodeId fl = node(g, IR_OP_CAST, "fl", &q, 1);
        ir_node_set_int(g, fl, "dtype", IR_F32);
        ir_output_add(g, out_of(g, fl));
        ir_output_add(g, q);
        uint8_t *r = eval_ref(g, in, 1);
        for (int i = 0; i < 9; i++)
            ck_assert_int_eq(r[i], u ? want_u4[i] : (uint8_t)want_i4[i]);
        free(r);
        sup_run_check(g, in, 1, 0, u ? "u4" : "i4");
    }
    /* integers into 4 bits: i64 and u16 sources, odd sizes (a half-filled last byte) */
    static const DType from[2] = {IR_I64, IR_U16};
    for (int k = 0; k < 2; k++) {
        Graph *g = ir_graph_new("i4i");
        RtTensor in[1];
        ValueId x = input_typed(g, "x", from[k], 2, D(3, 7), &in[0]);
        NodeId c = node(g, IR_OP_CAST, "to4", &x, 1);
        ir_node_set_int(g, c, "dtype", k ? IR_U4 : IR_I4);
        ir_output_add(g, out_of(g, c));
        sup_run_check(g, in, 1, 0, "int to 4 bits");
    }
}
END_TEST

/* Casts f32 xs[n] to dtype to (with saturate / round_mode when >= 0), checks the codes
 * (packed for sub-byte dtypes) against want, then the C backend against the reference,
 * the cast back to f32 included. */
static void check_cast_codes(const float *xs, int n, DType to, int saturate, int round_mode,
                             const int *want)
{
    Graph *g = ir_graph_new("codes");
    RtTensor in[1];
    ValueId x = input_typed(g, "x", IR_F32, 1, (const int64_t[]){n}, &in[0]);
    memcpy(in[0].data, xs, sizeof(float) * (size_t)n);
    NodeId c = node(g, IR_OP_CAST, "to", &x, 1);
    ir_node_set_int(g, c, "dtype", to);
    if (saturate >= 0)
        ir_node_set_int(g, c, "saturate", saturate);
    if (round_mode >= 0)
        ir_node_set_int(g, c, "round_mode", round_mode);
    ValueId q = out_of(g, c);
    ir_output_add(g, q);
    NodeId back = node(g, IR_OP_CAST, "back", &q, 1);
    ir_node_set_int(g, back, "dtype", IR_F32);
    ir_output_add(g, out_of(g, back));
    uint8_t *r = eval_ref(g, in, 1);
    int bits = ir_dtype_bits(to);
    for (int i = 0; i < n; i++) {
        int code = bits < 8 ? (r[i * bits / 8] >> (i * bits % 8)) & ((1 << bits) - 1) : r[i];
        ck_assert_msg(code == want[i], "%s: %g -> %d, want %d", ir_dtype_name(to), (double)xs[i],
                      code, want[i]);
    }
    free(r);
    sup_run_check(g, in, 1, 0, ir_dtype_name(to));
}

START_TEST(test_f4_i2_e8m0_casts)
{
    /* the codes ml_dtypes and onnx.numpy_helper.to_float8e8m0 give */
    static const float f4x[13] = {INFINITY, -INFINITY, 1e9f, -1e9f, NAN, -0.0f, 0.2f,
                                  0.25f,    0.26f,     2.5f, 3.3f,  5,   7};
    static const int f4w[13] = {7, 15, 7, 15, 8, 8, 0, 0, 1, 4, 5, 6, 7};
    check_cast_codes(f4x, 13, IR_F4E2M1, -1, -1, f4w);
    static const float i2x[8] = {-3, -2, 1, 2, 5, 7.5f, -2.5f, NAN};
    static const int i2w[8] = {1, 2, 1, 2, 1, 3, 2, 0}; /* i2 -2 is code 2, -1 is 3 */
    check_cast_codes(i2x, 8, IR_I2, -1, -1, i2w);
    check_cast_codes(i2x, 8, IR_U2, -1, -1, i2w);
    static const float ex[10] = {1.0f, 1.5f,     3.0f,  0.75f, 1e-40f,
                                 0.0f, INFINITY, 3e38f, -2.0f, 1.25f};
    static const int ew[3][2][10] = {
        {{127, 128, 129, 127, 1, 0, 255, 255, 128, 127},
         {127, 128, 129, 127, 1, 0, 255, 254, 128, 127}},
        {{127, 127, 128, 126, 0, 0, 255, 254, 128, 127},
         {127, 127, 128, 126, 0, 0, 255, 254, 128, 127}},
        {{127, 128, 129, 127, 0, 0, 255, 255, 128, 127},
         {127, 128, 129, 127, 0, 0, 255, 254, 128, 127}},
    };
    for (int rm = 0; rm < 3; rm++)
        for (int sat = 0; sat < 2; sat++)
            check_cast_codes(ex, 10, IR_F8E8M0, sat, rm, ew[rm][sat]);
}
END_TEST

/* ---- shape rules, fusion, files ---- */

START_TEST(test_shape_rules)
{
    Graph *g = ir_graph_new("bad");
    Type ti = {IR_I32, sup_shape(1, D(4)), NULL}, tf = {IR_F32, sup_shape(1, D(4)), NULL};
    ValueId a = ir_input_new(g, "a", ti, (SrcLoc){0}), f = ir_input_new(g, "f", tf, (SrcLoc){0});
    ValueId mixed[2] = {a, f}, ff[2] = {f, f};
    node(g, IR_OP_ADD, "mixed", mixed, 2);
    node(g, IR_OP_BITWISE_AND, "band", ff, 2);
    node(g, IR_OP_EXP, "iexp", &a, 1);
    Diag d;
    ir_diag_init(&d);
    ck_assert(!ir_infer_shapes(g, &d));
    const char *t = ir_diag_text(&d);
    ck_assert_msg(strstr(t, "'mixed': operands of different dtypes"), "%s", t);
    ck_assert_msg(strstr(t, "'band': operand 'f' (f32[4]) must be an integer"), "%s", t);
    ck_assert_msg(strstr(t, "'iexp': operand 'a' (i32[4]) must be f32"), "%s", t);
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

START_TEST(test_fuse_leaves_integers)
{
    Graph *g = ir_graph_new("fuse");
    RtTensor in[2];
    ValueId a = input_typed(g, "a", IR_I32, 1, D(16), &in[0]);
    ValueId b = input_typed(g, "b", IR_I32, 1, D(16), &in[1]);
    ValueId ab[2] = {a, b};
    ValueId s = out_of(g, node(g, IR_OP_ADD, "s", ab, 2));
    ValueId r = out_of(g, node(g, IR_OP_RELU, "r", &s, 1));
    ValueId rb[2] = {r, b};
    ir_output_add(g, out_of(g, node(g, IR_OP_MUL, "m", rb, 2)));
    Diag d;
    ir_diag_init(&d);
    ck_assert(ir_infer_shapes(g, &d));
    PassArgs args = {0};
    ck_assert_msg(pass_fuse(g, &args, &d), "%s", ir_diag_text(&d));
    for (int i = 0; i < g->n_nodes; i++)
        ck_assert_int_eq(g->nodes[i].n_epilogue, 0);
    ir_diag_fini(&d);
    sup_run_check(g, in, 2, 0, "after fuse");
}
END_TEST

START_TEST(test_npy_unsigned)
{
    char dir[200], path[256];
    snprintf(dir, sizeof dir, "%s", fs_make_tmp());
    static const DType types[] = {IR_U16, IR_U32, IR_U64};
    static const char *const descr[] = {"'<u2'", "'<u4'", "'<u8'"};
    for (int t = 0; t < 3; t++) {
        unsigned char data[5 * 8];
        for (size_t i = 0; i < sizeof data; i++)
            data[i] = (unsigned char)(i * 37 + 11);
        snprintf(path, sizeof path, "%s/u%d.npy", dir, t);
        Diag d;
        ir_diag_init(&d);
        ck_assert_msg(fe_npy_write(path, types[t], 1, D(5), data, &d), "%s", ir_diag_text(&d));
        size_t len;
        char *text = (char *)fs_slurp(path, &len);
        ck_assert_ptr_nonnull(text);
        bool found = false;
        for (size_t i = 0; i + strlen(descr[t]) <= len && !found; i++)
            found = memcmp(text + i, descr[t], strlen(descr[t])) == 0;
        ck_assert_msg(found, "no %s", descr[t]);
        free(text);
        NpyArray arr;
        ck_assert_msg(fe_npy_read(path, &arr, &d), "%s", ir_diag_text(&d));
        ck_assert_int_eq(arr.dtype, types[t]);
        ck_assert(memcmp(arr.data, data, ir_dtype_bytes(types[t], 5)) == 0);
        fe_npy_free(&arr);
        ir_diag_fini(&d);
    }
    fs_rm_tree(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("dtypes");
    TCase *t = tcase_create("dtypes");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, test_reference_integers);
    tcase_add_test(t, test_reference_bitwise_and_floats);
    tcase_add_test(t, test_codegen_binary);
    tcase_add_test(t, test_codegen_unary);
    tcase_add_test(t, test_codegen_f16_and_casts);
    tcase_add_test(t, test_float8_casts);
    tcase_add_test(t, test_int4_casts);
    tcase_add_test(t, test_f4_i2_e8m0_casts);
    tcase_add_test(t, test_shape_rules);
    tcase_add_test(t, test_fuse_leaves_integers);
    tcase_add_test(t, test_npy_unsigned);
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
