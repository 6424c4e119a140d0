/* The reference evaluator (ir/eval.c) against answers computed by hand: each case is small
 * enough that the expected numbers in the test are certain. These are the reference's own
 * references; the backends are tested against the evaluator. */
#include "ir/eval.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const SrcLoc here = {"test", 1, 1};

/* An f32 type of the given static dims. */
static Type mk_type(DType dt, const int64_t *dims, int rank)
{
    Type t = {.dtype = dt, .shape = {.rank = rank}};
    for (int i = 0; i < rank; i++)
        t.shape.d[i] = ir_dim(dims[i]);
    return t;
}
#define DIMS(...)                                                                                  \
    (const int64_t[]){__VA_ARGS__}, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t))
#define F32(...) mk_type(IR_F32, DIMS(__VA_ARGS__))

/* A constant whose payload is a copy of data (count floats) in g's arena. */
static ValueId cst(Graph *g, const char *name, Type t, const float *data, size_t count)
{
    float *p = ir_arena_alloc(g->arena, sizeof(float) * count);
    memcpy(p, data, sizeof(float) * count);
    return ir_const_new(g, name, t, p, sizeof(float) * count, here);
}

static NodeId node(Graph *g, OpKind op, const char *name, const ValueId *in, int n_in)
{
    return ir_node_new(g, op, name, here, in, n_in, 1);
}

static ValueId out0(Graph *g, NodeId n)
{
    return g->nodes[n].outputs[0];
}

/* Infers shapes, makes node n's output the graph's output, and evaluates the graph on
 * inputs; returns the output (malloc'd) and fails the test on any error. */
static float *run(Graph *g, NodeId n, const void *const *inputs, const int64_t *syms)
{
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "shape inference: %s", ir_diag_text(&d));
    ir_output_add(g, out0(g, n));
    void *out[1];
    ck_assert_msg(ir_eval_graph(g, inputs, out, syms, &d), "eval: %s", ir_diag_text(&d));
    ir_diag_fini(&d);
    return out[0];
}

static void expect(const float *got, const float *want, int count)
{
    for (int i = 0; i < count; i++) {
        if (isnan(want[i])) {
            ck_assert_msg(isnan(got[i]), "element %d: got %g, want NaN", i, got[i]);
            continue;
        }
        if (isinf(want[i])) {
            ck_assert_msg(got[i] == want[i], "element %d: got %g, want %g", i, got[i], want[i]);
            continue;
        }
        double tol = 1e-5 * (fabs(want[i]) > 1 ? fabs(want[i]) : 1);
        ck_assert_msg(fabs(got[i] - want[i]) <= tol, "element %d: got %.9g, want %.9g", i, got[i],
                      want[i]);
    }
}

static void expect_shape(Graph *g, ValueId v, const int64_t *dims, int rank)
{
    const Shape *s = &g->values[v].type.shape;
    ck_assert_int_eq(s->rank, rank);
    for (int i = 0; i < rank; i++)
        ck_assert_int_eq(s->d[i].c, dims[i]);
}

static const float one_to_nine[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

/* ---- conv2d ---- */

START_TEST(conv2d_3x3_padding_1)
{
    Graph *g = ir_graph_new("t");
    ValueId x = ir_input_new(g, "x", F32(1, 1, 3, 3), here);
    float w[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, b[1] = {0.5f};
    ValueId in[3] = {x, cst(g, "w", F32(1, 1, 3, 3), w, 9), cst(g, "b", F32(1), b, 1)};
    NodeId n = node(g, IR_OP_CONV2D, "conv", in, 3);
    ir_node_set_ints(g, n, "padding", (int64_t[]){1, 1}, 2);
    const void *inputs[1] = {one_to_nine};
    float *y = run(g, n, inputs, NULL);
    /* each output: the sum of the 3x3 neighbourhood (zeros outside), plus 0.5 */
    float want[9] = {12.5f, 21.5f, 16.5f, 27.5f, 45.5f, 33.5f, 24.5f, 39.5f, 28.5f};
    expect(y, want, 9);
    free(y);
    ir_graph_free(g);
}
END_TEST

START_TEST(conv2d_is_cross_correlation)
{
    /* a kernel with a single 1 in its top-left corner shifts the image down-right */
    Graph *g = ir_graph_new("t");
    ValueId x = ir_input_new(g, "x", F32(1, 1, 3, 3), here);
    float w[9] = {1, 0, 0, 0, 0, 0, 0, 0, 0};
    ValueId in[2] = {x, cst(g, "w", F32(1, 1, 3, 3), w, 9)};
    NodeId n = node(g, IR_OP_CONV2D, "conv", in, 2);
    ir_node_set_ints(g, n, "padding", (int64_t[]){1}, 1);
    const void *inputs[1] = {one_to_nine};
    float *y = run(g, n, inputs, NULL);
    float want[9] = {0, 0, 0, 0, 1, 2, 0, 4, 5};
    expect(y, want, 9);
    free(y);
    ir_graph_free(g);
}
END_TEST

START_TEST(conv2d_stride_dilation_groups)
{
    const void *inputs[1] = {one_to_nine};
    float ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    { /* stride 2, padding 1: windows over rows/cols {0,1} and {1,2} */
        Graph *g = ir_graph_new("t");
        ValueId in[2] = {ir_input_new(g, "x", F32(1, 1, 3, 3), here),
                         cst(g, "w", F32(1, 1, 3, 3), ones, 9)};
        NodeId n = node(g, IR_OP_CONV2D, "conv", in, 2);
        ir_node_set_ints(g, n, "stride", (int64_t[]){2, 2}, 2);
        ir_node_set_ints(g, n, "padding", (int64_t[]){1, 1}, 2);
        float *y = run(g, n, inputs, NULL);
        expect_shape(g, out0(g, n), DIMS(1, 1, 2, 2));
        expect(y, (float[]){12, 16, 24, 28}, 4);
        free(y);
        ir_graph_free(g);
    }
    { /* a 2x2 kernel with dilation 2 reads the four corners */
        Graph *g = ir_graph_new("t");
        ValueId in[2] = {ir_input_new(g, "x", F32(1, 1, 3, 3), here),
                         cst(g, "w", F32(1, 1, 2, 2), ones, 4)};
        NodeId n = node(g, IR_OP_CONV2D, "conv", in, 2);
        ir_node_set_ints(g, n, "dilation", (int64_t[]){2, 2}, 2);
        float *y = run(g, n, inputs, NULL);
        expect_shape(g, out0(g, n), DIMS(1, 1, 1, 1));
        expect(y, (float[]){1 + 3 + 7 + 9}, 1);
        free(y);
        ir_graph_free(g);
    }
    { /* groups = 2 (depthwise): channel 0 times 2, channel 1 times 3, batch of 2 */
        Graph *g = ir_graph_new("t");
        float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}; /* [2, 2, 1, 2] */
        ValueId in[2] = {ir_input_new(g, "x", F32(2, 2, 1, 2), here),
                         cst(g, "w", F32(2, 1, 1, 1), (float[]){2, 3}, 2)};
        NodeId n = node(g, IR_OP_CONV2D, "conv", in, 2);
        ir_node_set_int(g, n, "groups", 2);
        const void *xin[1] = {x};
        float *y = run(g, n, xin, NULL);
        expect(y, (float[]){2, 4, 9, 12, 10, 12, 21, 24}, 8);
        free(y);
        ir_graph_free(g);
    }
}
END_TEST

/* ---- linear and matmul ---- */

START_TEST(linear_both_layouts)
{
    float x[6] = {1, 2, 3, 4, 5, 6};            /* [2, 3] */
    float w[6] = {1, 0, -1, 0.5f, 0.5f, 0.5f};  /* [2, 3] */
    float wt[6] = {1, 0.5f, 0, 0.5f, -1, 0.5f}; /* [3, 2] */
    float b[2] = {1, -1};
    float want[4] = {-1, 2, -1, 6.5f};
    for (int tr = 0; tr < 2; tr++) {
        Graph *g = ir_graph_new("t");
        ValueId in[3] = {ir_input_new(g, "x", F32(2, 1, 3), here),
                         tr ? cst(g, "w", F32(3, 2), wt, 6) : cst(g, "w", F32(2, 3), w, 6),
                         cst(g, "b", F32(2), b, 2)};
        NodeId n = node(g, IR_OP_LINEAR, "fc", in, 3);
        ir_node_set_int(g, n, "w_transposed", tr);
        const void *inputs[1] = {x};
        float *y = run(g, n, inputs, NULL);
        expect_shape(g, out0(g, n), DIMS(2, 1, 2));
        expect(y, want, 4);
        free(y);
        ir_graph_free(g);
    }
    /* without bias */
    Graph *g = ir_graph_new("t");
    ValueId in[2] = {ir_input_new(g, "x", F32(2, 3), here), cst(g, "w", F32(2, 3), w, 6)};
    NodeId n = node(g, IR_OP_LINEAR, "fc", in, 2);
    const void *inputs[1] = {x};
    float *y = run(g, n, inputs, NULL);
    expect(y, (float[]){-2, 3, -2, 7.5f}, 4);
    free(y);
    ir_graph_free(g);
}
END_TEST

/* a @ b with a [ra..] and b [rb..] given as dims; checks the result and its shape */
static void check_matmul(const int64_t *da, int ra, const float *a, const int64_t *db, int rb,
                         const float *b, const int64_t *dout, int rout, const float *want)
{
    Graph *g = ir_graph_new("t");
    ValueId in[2] = {ir_input_new(g, "a", mk_type(IR_F32, da, ra), here),
                     ir_input_new(g, "b", mk_type(IR_F32, db, rb), here)};
    NodeId n = node(g, IR_OP_MATMUL, "mm", in, 2);
    const void *inputs[2] = {a, b};
    float *y = run(g, n, inputs, NULL);
    expect_shape(g, out0(g, n), dout, rout);
    int64_t count = 1;
    for (int i = 0; i < rout; i++)
        count *= dout[i];
    expect(y, want, (int)count);
    free(y);
    ir_graph_free(g);
}

START_TEST(matmul_cases)
{
    float a[6] = {1, 2, 3, 4, 5, 6};    /* [2, 3] */
    float b[6] = {7, 8, 9, 10, 11, 12}; /* [3, 2] */
    float v[3] = {1, 2, 3}, ones[3] = {1, 1, 1}, u[3] = {4, 5, 6};
    check_matmul(DIMS(2, 3), a, DIMS(3, 2), b, DIMS(2, 2), (float[]){58, 64, 139, 154});
    check_matmul(DIMS(3), v, DIMS(3, 2), b, DIMS(2), (float[]){58, 64});
    check_matmul(DIMS(2, 3), a, DIMS(3), ones, DIMS(2), (float[]){6, 15});
    check_matmul(DIMS(3), v, DIMS(3), u, (const int64_t[]){0}, 0, (float[]){32});
    /* batched: a [2, 2, 2] = {I, 2I} @ b [2, 2] */
    float ab[8] = {1, 0, 0, 1, 2, 0, 0, 2}, bb[4] = {1, 2, 3, 4};
    check_matmul(DIMS(2, 2, 2), ab, DIMS(2, 2), bb, DIMS(2, 2, 2),
                 (float[]){1, 2, 3, 4, 2, 4, 6, 8});
    /* broadcast batch: a [1, 2, 2] = I @ b [2, 2, 2] = {B, -B}; and [2, 1, 1, 2] @ [3, 2, 1] */
    float eye[4] = {1, 0, 0, 1}, b2[8] = {1, 2, 3, 4, -1, -2, -3, -4};
    check_matmul(DIMS(1, 2, 2), eye, DIMS(2, 2, 2), b2, DIMS(2, 2, 2), b2);
    float a4[4] = {1, 2, 3, 4}, b3[6] = {1, 1, 0, 1, 1, 0};
    check_matmul(DIMS(2, 1, 1, 2), a4, DIMS(3, 2, 1), b3, DIMS(2, 3, 1, 1),
                 (float[]){3, 2, 1, 7, 4, 3});
}
END_TEST

/* ---- elementwise ---- */

static void check_binary(OpKind op, const int64_t *da, int ra, const float *a, const int64_t *db,
                         int rb, const float *b, const int64_t *dout, int rout, const float *want)
{
    Graph *g = ir_graph_new("t");
    ValueId in[2] = {ir_input_new(g, "a", mk_type(IR_F32, da, ra), here),
                     ir_input_new(g, "b", mk_type(IR_F32, db, rb), here)};
    NodeId n = node(g, op, "op", in, 2);
    const void *inputs[2] = {a, b};
    float *y = run(g, n, inputs, NULL);
    expect_shape(g, out0(g, n), dout, rout);
    int64_t count = 1;
    for (int i = 0; i < rout; i++)
        count *= dout[i];
    expect(y, want, (int)count);
    free(y);
    ir_graph_free(g);
}

START_TEST(binary_broadcasting)
{
    float a[6] = {1, 2, 3, 4, 5, 6}; /* [2, 3] */
    check_binary(IR_OP_ADD, DIMS(2, 3), a, DIMS(3), (float[]){10, 20, 30}, DIMS(2, 3),
                 (float[]){11, 22, 33, 14, 25, 36});
    check_binary(IR_OP_SUB, DIMS(2, 3), a, DIMS(2, 1), (float[]){100, 200}, DIMS(2, 3),
                 (float[]){-99, -98, -97, -196, -195, -194});
    check_binary(IR_OP_SUB, DIMS(2, 1), (float[]){100, 200}, DIMS(2, 3), a, DIMS(2, 3),
                 (float[]){99, 98, 97, 196, 195, 194});
    check_binary(IR_OP_MUL, DIMS(1, 3), (float[]){1, 0, -1}, DIMS(2, 3), a, DIMS(2, 3),
                 (float[]){1, 0, -3, 4, 0, -6});
    check_binary(IR_OP_DIV, DIMS(2, 3), a, DIMS(1), (float[]){4}, DIMS(2, 3),
                 (float[]){0.25f, 0.5f, 0.75f, 1, 1.25f, 1.5f});
    /* both sides broadcast: [2, 1] + [1, 3] -> [2, 3]; and [3, 1, 2] * [2, 1] -> [3, 2, 2] */
    check_binary(IR_OP_ADD, DIMS(2, 1), (float[]){1, 2}, DIMS(1, 3), (float[]){10, 20, 30},
                 DIMS(2, 3), (float[]){11, 21, 31, 12, 22, 32});
    check_binary(IR_OP_MUL, DIMS(3, 1, 2), a, DIMS(2, 1), (float[]){1, -1}, DIMS(3, 2, 2),
                 (float[]){1, 2, -1, -2, 3, 4, -3, -4, 5, 6, -5, -6});
    check_binary(IR_OP_DIV, DIMS(2), (float[]){1, -1}, DIMS(2), (float[]){0, 0}, DIMS(2),
                 (float[]){INFINITY, -INFINITY});
}
END_TEST

static void check_unary(OpKind op, const float *x, int count, const float *want)
{
    Graph *g = ir_graph_new("t");
    ValueId in[1] = {ir_input_new(g, "x", F32(count), here)};
    NodeId n = node(g, op, "op", in, 1);
    const void *inputs[1] = {x};
    float *y = run(g, n, inputs, NULL);
    expect(y, want, count);
    free(y);
    ir_graph_free(g);
}

START_TEST(unary_ops)
{
    check_unary(IR_OP_RELU, (float[]){-1, 0, 2.5f, NAN, -INFINITY}, 5,
                (float[]){0, 0, 2.5f, NAN, 0});
    check_unary(IR_OP_SIGMOID, (float[]){0, logf(3), -logf(3), 100, -100}, 5,
                (float[]){0.5f, 0.75f, 0.25f, 1, 0});
    check_unary(IR_OP_TANH, (float[]){0, logf(2), 30, NAN}, 4, (float[]){0, 0.6f, 1, NAN});
}
END_TEST

/* ---- pooling ---- */

static float *pool(OpKind op, const float *x, const int64_t *dx, int rx, const int64_t *k,
                   const int64_t *s, const int64_t *p, int ceil_mode, int include_pad,
                   const int64_t *dout, int rout)
{
    Graph *g = ir_graph_new("t");
    ValueId in[1] = {ir_input_new(g, "x", mk_type(IR_F32, dx, rx), here)};
    NodeId n = node(g, op, "pool", in, 1);
    ir_node_set_ints(g, n, "kernel", k, 2);
    ir_node_set_ints(g, n, "stride", s, 2);
    ir_node_set_ints(g, n, "padding", p, 2);
    ir_node_set_int(g, n, "ceil_mode", ceil_mode);
    if (include_pad >= 0)
        ir_node_set_int(g, n, "count_include_pad", include_pad);
    const void *inputs[1] = {x};
    float *y = run(g, n, inputs, NULL);
    expect_shape(g, out0(g, n), dout, rout);
    ir_graph_free(g);
    return y;
}

START_TEST(max_pool2d_cases)
{
    float x[25], neg[25];
    for (int i = 0; i < 25; i++) {
        x[i] = (float)i;
        neg[i] = -(float)(i + 1);
    }
    /* 5x5, kernel 2, stride 2, ceil_mode: the last row/col window holds one element */
    float *y = pool(IR_OP_MAX_POOL2D, x, DIMS(1, 1, 5, 5), (int64_t[]){2, 2}, (int64_t[]){2, 2},
                    (int64_t[]){0, 0}, 1, -1, DIMS(1, 1, 3, 3));
    expect(y, (float[]){6, 8, 9, 16, 18, 19, 21, 23, 24}, 9);
    free(y);
    /* padding 1 and ceil_mode: a 4th window would start in the right padding, so
     * PyTorch drops it: 3x3, not 4x4 */
    y = pool(IR_OP_MAX_POOL2D, x, DIMS(1, 1, 5, 5), (int64_t[]){2, 2}, (int64_t[]){2, 2},
             (int64_t[]){1, 1}, 1, -1, DIMS(1, 1, 3, 3));
    expect(y, (float[]){0, 2, 4, 10, 12, 14, 20, 22, 24}, 9);
    free(y);
    /* padding is -inf, not 0: all-negative input, 3x3 windows, stride 1, padding 1 */
    y = pool(IR_OP_MAX_POOL2D, neg, DIMS(1, 1, 5, 5), (int64_t[]){3, 3}, (int64_t[]){1, 1},
             (int64_t[]){1, 1}, 0, -1, DIMS(1, 1, 5, 5));
    ck_assert_float_eq(y[0], -1);
    ck_assert_float_eq(y[24], -19);
    ck_assert_float_eq(y[12], -7);
    free(y);
    /* NaN propagates */
    float xn[4] = {1, NAN, 3, 4};
    y = pool(IR_OP_MAX_POOL2D, xn, DIMS(1, 1, 2, 2), (int64_t[]){2, 2}, (int64_t[]){2, 2},
             (int64_t[]){0, 0}, 0, -1, DIMS(1, 1, 1, 1));
    ck_assert(isnan(y[0]));
    free(y);
}
END_TEST

START_TEST(max_pool2d_dilation)
{
    float x[25];
    for (int i = 0; i < 25; i++)
        x[i] = (float)((i * 7) % 25); /* a permutation of 0..24 */
    Graph *g = ir_graph_new("t");
    ValueId in[1] = {ir_input_new(g, "x", F32(1, 1, 5, 5), here)};
    NodeId n = node(g, IR_OP_MAX_POOL2D, "pool", in, 1);
    ir_node_set_ints(g, n, "kernel", (int64_t[]){2, 2}, 2);
    ir_node_set_ints(g, n, "stride", (int64_t[]){1, 1}, 2);
    ir_node_set_ints(g, n, "dilation", (int64_t[]){2, 2}, 2);
    const void *inputs[1] = {x};
    float *y = run(g, n, inputs, NULL);
    expect_shape(g, out0(g, n), DIMS(1, 1, 3, 3));
    /* out[i][j] = max(x[i][j], x[i][j+2], x[i+2][j], x[i+2][j+2]) */
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            float m = fmaxf(fmaxf(x[i * 5 + j], x[i * 5 + j + 2]),
                            fmaxf(x[(i + 2) * 5 + j], x[(i + 2) * 5 + j + 2]));
            ck_assert_float_eq(y[i * 3 + j], m);
        }
    free(y);
    ir_graph_free(g);
}
END_TEST

START_TEST(avg_pool2d_cases)
{
    float *y = pool(IR_OP_AVG_POOL2D, one_to_nine, DIMS(1, 1, 3, 3), (int64_t[]){2, 2},
                    (int64_t[]){1, 1}, (int64_t[]){0, 0}, 0, -1, DIMS(1, 1, 2, 2));
    expect(y, (float[]){3, 4, 6, 7}, 4);
    free(y);
    /* padding 1, stride 2: count_include_pad (the default) divides by 4 everywhere */
    y = pool(IR_OP_AVG_POOL2D, one_to_nine, DIMS(1, 1, 3, 3), (int64_t[]){2, 2}, (int64_t[]){2, 2},
             (int64_t[]){1, 1}, 0, -1, DIMS(1, 1, 2, 2));
    expect(y, (float[]){0.25f, 1.25f, 2.75f, 7}, 4);
    free(y);
    y = pool(IR_OP_AVG_POOL2D, one_to_nine, DIMS(1, 1, 3, 3), (int64_t[]){2, 2}, (int64_t[]){2, 2},
             (int64_t[]){1, 1}, 0, 0, DIMS(1, 1, 2, 2));
    expect(y, (float[]){1, 2.5f, 5.5f, 7}, 4);
    free(y);
    /* ceil_mode: windows hanging over the end count only what is inside (PyTorch:
     * avg_pool2d(arange(1, 10).view(1, 1, 3, 3), 2, ceil_mode=True) = [[3, 4.5], [7.5, 9]]) */
    y = pool(IR_OP_AVG_POOL2D, one_to_nine, DIMS(1, 1, 3, 3), (int64_t[]){2, 2}, (int64_t[]){2, 2},
             (int64_t[]){0, 0}, 1, -1, DIMS(1, 1, 2, 2));
    expect(y, (float[]){3, 4.5f, 7.5f, 9}, 4);
    free(y);
}
END_TEST

/* ---- softmax, norms, embedding, views ---- */

START_TEST(softmax_cases)
{
    float want_sm[3] = {0.0900305732f, 0.244728471f, 0.665240955f};
    float want_lsm[3] = {-2.40760596f, -1.40760596f, -0.407605964f};
    float xs[2][3] = {{1, 2, 3}, {1000, 1001, 1002}}; /* the second needs the max trick */
    for (int k = 0; k < 2; k++)
        for (int log_sm = 0; log_sm < 2; log_sm++) {
            Graph *g = ir_graph_new("t");
            ValueId in[1] = {ir_input_new(g, "x", F32(3), here)};
            NodeId n = node(g, log_sm ? IR_OP_LOG_SOFTMAX : IR_OP_SOFTMAX, "sm", in, 1);
            const void *inputs[1] = {xs[k]};
            float *y = run(g, n, inputs, NULL);
            expect(y, log_sm ? want_lsm : want_sm, 3);
            free(y);
            ir_graph_free(g);
        }
    /* axis 0 of [3, 2]: each column is (1, 2, 3) */
    Graph *g = ir_graph_new("t");
    ValueId in[1] = {ir_input_new(g, "x", F32(3, 2), here)};
    NodeId n = node(g, IR_OP_SOFTMAX, "sm", in, 1);
    ir_node_set_int(g, n, "axis", 0);
    const void *inputs[1] = {(float[]){1, 1, 2, 2, 3, 3}};
    float *y = run(g, n, inputs, NULL);
    expect(y, (float[]){want_sm[0], want_sm[0], want_sm[1], want_sm[1], want_sm[2], want_sm[2]}, 6);
    free(y);
    ir_graph_free(g);
}
END_TEST

START_TEST(layer_norm_cases)
{
    /* row (1, 2, 3, 4): mean 2.5, biased variance 1.25 */
    const float r = 1.0f / sqrtf(1.25f);
    float x[4] = {1, 2, 3, 4};
    {
        Graph *g = ir_graph_new("t");
        ValueId in[1] = {ir_input_new(g, "x", F32(1, 4), here)};
        NodeId n = node(g, IR_OP_LAYER_NORM, "ln", in, 1);
        ir_node_set_float(g, n, "eps", 0.0);
        const void *inputs[1] = {x};
        float *y = run(g, n, inputs, NULL);
        expect(y, (float[]){-1.5f * r, -0.5f * r, 0.5f * r, 1.5f * r}, 4);
        free(y);
        ir_graph_free(g);
    }
    { /* over the last two dims, with weight and bias and the default eps (1e-5) */
        Graph *g = ir_graph_new("t");
        ValueId in[3] = {ir_input_new(g, "x", F32(1, 2, 2), here),
                         cst(g, "w", F32(2, 2), (float[]){1, 2, 1, 1}, 4),
                         cst(g, "b", F32(2, 2), (float[]){0, 0, 1, 0}, 4)};
        NodeId n = node(g, IR_OP_LAYER_NORM, "ln", in, 3);
        ir_node_set_int(g, n, "normalized_ndim", 2);
        const void *inputs[1] = {x};
        float *y = run(g, n, inputs, NULL);
        float re = 1.0f / sqrtf(1.25f + 1e-5f);
        expect(y, (float[]){-1.5f * re, -1.0f * re, 0.5f * re + 1, 1.5f * re}, 4);
        free(y);
        ir_graph_free(g);
    }
}
END_TEST

START_TEST(batch_norm_inference)
{
    Graph *g = ir_graph_new("t");
    /* x [1, 2, 1, 2]; F.batch_norm order: x, running_mean, running_var, weight, bias */
    ValueId in[5] = {
        ir_input_new(g, "x", F32(1, 2, 1, 2), here), cst(g, "mean", F32(2), (float[]){1, 3}, 2),
        cst(g, "var", F32(2), (float[]){4, 1}, 2), cst(g, "w", F32(2), (float[]){2, 1}, 2),
        cst(g, "b", F32(2), (float[]){0.5f, -1}, 2)};
    NodeId n = node(g, IR_OP_BATCH_NORM, "bn", in, 5);
    ir_node_set_float(g, n, "eps", 0.0);
    const void *inputs[1] = {(float[]){1, 2, 3, 4}};
    float *y = run(g, n, inputs, NULL);
    expect(y, (float[]){0.5f, 1.5f, -1, 0}, 4);
    free(y);
    ir_graph_free(g);
}
END_TEST

START_TEST(embedding_lookup)
{
    float w[6] = {0, 1, 10, 11, 20, 21}; /* [3, 2] */
    int64_t idx64[4] = {2, 0, 1, 1};
    int32_t idx32[4] = {2, 0, 1, 1};
    for (int wide = 0; wide < 2; wide++) {
        Graph *g = ir_graph_new("t");
        ValueId in[2] = {ir_input_new(g, "ids", mk_type(wide ? IR_I64 : IR_I32, DIMS(2, 2)), here),
                         cst(g, "w", F32(3, 2), w, 6)};
        NodeId n = node(g, IR_OP_EMBEDDING, "emb", in, 2);
        const void *inputs[1] = {wide ? (const void *)idx64 : (const void *)idx32};
        float *y = run(g, n, inputs, NULL);
        expect_shape(g, out0(g, n), DIMS(2, 2, 2));
        expect(y, (float[]){20, 21, 0, 1, 10, 11, 10, 11}, 8);
        free(y);
        ir_graph_free(g);
    }
    /* an index out of range is an error naming the node, not a crash */
    Graph *g = ir_graph_new("t");
    ValueId in[2] = {ir_input_new(g, "ids", mk_type(IR_I64, DIMS(2)), here),
                     cst(g, "w", F32(3, 2), w, 6)};
    NodeId n = node(g, IR_OP_EMBEDDING, "emb", in, 2);
    Diag d;
    ir_diag_init(&d);
    ck_assert(ir_infer_shapes(g, &d));
    ir_output_add(g, out0(g, n));
    int64_t bad[2] = {1, 3};
    const void *inputs[1] = {bad};
    void *out[1] = {(void *)1};
    ck_assert(!ir_eval_graph(g, inputs, out, NULL, &d));
    ck_assert_ptr_null(out[0]);
    ck_assert_msg(strstr(ir_diag_text(&d),
                         "embedding 'emb': index 3 (element 1 of 'ids') is out of range [0, 3)"),
                  "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

START_TEST(views_copy)
{
    Graph *g = ir_graph_new("t");
    int s = ir_graph_symbol(g, "N");
    Type t = F32(1, 4);
    t.shape.d[0] = (Dim){1, 1u << s};
    ValueId in[1] = {ir_input_new(g, "x", t, here)};
    NodeId r = node(g, IR_OP_RESHAPE, "r", in, 1);
    ir_node_set_ints(g, r, "shape", (int64_t[]){-1, 2}, 2);
    ValueId fin[1] = {out0(g, r)};
    NodeId f = node(g, IR_OP_FLATTEN, "f", fin, 1);
    ir_node_set_int(g, f, "start_dim", 0);
    float x[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    const void *inputs[1] = {x};
    int64_t syms[IR_MAX_SYMS] = {3};
    float *y = run(g, f, inputs, syms);
    expect(y, x, 12);
    ck_assert_int_eq(g->values[out0(g, r)].type.shape.d[0].c, 2);
    free(y);
    ir_graph_free(g);
}
END_TEST

START_TEST(epilogue_applied)
{
    /* linear -> + operand [2] -> relu, and (5 - y) via operand_first, evaluated as one node */
    float x[4] = {1, 2, 3, 4};  /* [2, 2] */
    float w[4] = {1, 0, 0, -1}; /* identity on col 0, negate col 1 */
    Graph *g = ir_graph_new("t");
    ValueId in[2] = {ir_input_new(g, "x", F32(2, 2), here), cst(g, "w", F32(2, 2), w, 4)};
    NodeId n = node(g, IR_OP_LINEAR, "fc", in, 2);
    ValueId bias = cst(g, "b", F32(2), (float[]){0.5f, 1}, 2);
    ValueId five = cst(g, "five", F32(1), (float[]){5}, 1);
    Node *nn = &g->nodes[n];
    nn->epilogue[0] = (Epilogue){IR_OP_ADD, bias, false};
    nn->epilogue[1] = (Epilogue){IR_OP_RELU, IR_NONE, false};
    nn->epilogue[2] = (Epilogue){IR_OP_SUB, five, true};
    nn->n_epilogue = 3;
    const void *inputs[1] = {x};
    float *y = run(g, n, inputs, NULL);
    /* linear: (1, -2), (3, -4); + b: (1.5, -1), (3.5, -3); relu: (1.5, 0), (3.5, 0); 5 - .: */
    expect(y, (float[]){3.5f, 5, 1.5f, 5}, 4);
    free(y);
    ir_graph_free(g);
}
END_TEST

START_TEST(graph_chain)
{
    /* relu(x @ W^T + b) then softmax: several nodes in order, intermediates freed */
    Graph *g = ir_graph_new("t");
    ValueId in[3] = {ir_input_new(g, "x", F32(1, 2), here),
                     cst(g, "w", F32(3, 2), (float[]){1, 0, 0, 1, 1, 1}, 6),
                     cst(g, "b", F32(3), (float[]){0, -10, 0}, 3)};
    NodeId fc = node(g, IR_OP_LINEAR, "fc", in, 3);
    ValueId r_in[1] = {out0(g, fc)};
    NodeId r = node(g, IR_OP_RELU, "relu", r_in, 1);
    ValueId s_in[1] = {out0(g, r)};
    NodeId s = node(g, IR_OP_LOG_SOFTMAX, "lsm", s_in, 1);
    const void *inputs[1] = {(float[]){1, 2}};
    float *y = run(g, s, inputs, NULL);
    /* fc = (1, -8, 3); relu = (1, 0, 3); log_softmax of (1, 0, 3) */
    float m = 3, lse = logf(expf(1 - m) + expf(0 - m) + expf(0));
    expect(y, (float[]){1 - m - lse, 0 - m - lse, 3 - m - lse}, 3);
    free(y);
    ir_graph_free(g);
}
END_TEST

/* ---- issue 3's ops ---- */

START_TEST(activations_by_hand)
{
    static const struct {
        OpKind op;
        float in[4], want[4];
    } cases[] = {
        {IR_OP_RELU6, {-1, 3, 7, NAN}, {0, 3, 6, NAN}},
        {IR_OP_HARDSWISH, {-4, -1, 1, 4}, {0, -1.0f / 3, 2.0f / 3, 4}},
        {IR_OP_HARDSIGMOID, {-4, -1, 1, 4}, {0, 1.0f / 3, 2.0f / 3, 1}},
        {IR_OP_GELU, {1, -1, 0, 3}, {0.841344746f, -0.158655254f, 0, 2.99595031f}},
        {IR_OP_GELU_TANH, {1, -1, 0, 3}, {0.841191990f, -0.158808010f, 0, 2.99636261f}},
        {IR_OP_SILU, {1, -1, 0, 2}, {0.731058579f, -0.268941421f, 0, 1.76159416f}},
        {IR_OP_RSQRT, {4, 0.25f, 1, 16}, {0.5f, 2, 1, 0.25f}},
        {IR_OP_ERF, {0, 1, -0.5f, 2}, {0, 0.842700793f, -0.520499878f, 0.995322265f}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        Graph *g = ir_graph_new("act");
        ValueId x = cst(g, "x", F32(4), cases[k].in, 4);
        NodeId n = node(g, cases[k].op, "a", &x, 1);
        float *got = run(g, n, NULL, NULL);
        expect(got, cases[k].want, 4);
        free(got);
        ir_graph_free(g);
    }
    Graph *g = ir_graph_new("lrelu");
    ValueId x = cst(g, "x", F32(3), (const float[]){-2, 0, 3}, 3);
    NodeId n = node(g, IR_OP_LEAKY_RELU, "a", &x, 1);
    ir_node_set_float(g, n, "negative_slope", 0.1);
    float *got = run(g, n, NULL, NULL);
    expect(got, (const float[]){-0.2f, 0, 3}, 3);
    free(got);
    ir_graph_free(g);
}
END_TEST

START_TEST(adaptive_pool_windows)
{
    /* 5 -> 3: windows [0, 2), [1, 4), [3, 5) as PyTorch */
    Graph *g = ir_graph_new("ap");
    ValueId x = cst(g, "x", F32(1, 1, 1, 5), (const float[]){0, 1, 2, 3, 4}, 5);
    NodeId n = node(g, IR_OP_ADAPTIVE_AVG_POOL2D, "ap", &x, 1);
    ir_node_set_ints(g, n, "output_size", (const int64_t[]){1, 3}, 2);
    float *got = run(g, n, NULL, NULL);
    expect(got, (const float[]){0.5f, 2, 3.5f}, 3);
    free(got);
    ir_graph_free(g);
}
END_TEST

START_TEST(pad_slice_by_hand)
{
    static const float want[3][6] = {{9, 9, 1, 2, 3, 9}, {3, 2, 1, 2, 3, 2}, {1, 1, 1, 2, 3, 3}};
    for (int mode = 0; mode < 3; mode++) {
        Graph *g = ir_graph_new("pad");
        ValueId x = cst(g, "x", F32(1, 3), (const float[]){1, 2, 3}, 3);
        NodeId n = node(g, IR_OP_PAD, "p", &x, 1);
        ir_node_set_ints(g, n, "pads", (const int64_t[]){2, 1}, 2);
        ir_node_set_int(g, n, "mode", mode);
        ir_node_set_float(g, n, "value", 9);
        float *got = run(g, n, NULL, NULL);
        expect(got, want[mode], 6);
        free(got);
        ir_graph_free(g);
    }
    float ten[10];
    for (int i = 0; i < 10; i++)
        ten[i] = (float)i;
    Graph *g = ir_graph_new("slice");
    ValueId x = cst(g, "x", F32(10), ten, 10);
    NodeId n = node(g, IR_OP_SLICE, "s", &x, 1);
    ir_node_set_int(g, n, "start", -3);
    ir_node_set_int(g, n, "end", 100);
    ir_node_set_int(g, n, "step", 2);
    NodeId e = node(g, IR_OP_SLICE, "empty", &x, 1);
    ir_node_set_int(g, e, "start", 8);
    ir_node_set_int(g, e, "end", 2);
    float *got = run(g, n, NULL, NULL);
    expect(got, (const float[]){7, 9}, 2);
    expect_shape(g, out0(g, e), DIMS(0));
    free(got);
    ir_graph_free(g);
}
END_TEST

START_TEST(resize_by_hand)
{
    /* [0, 4] to width 4: nearest, bilinear, bilinear with align_corners */
    static const float want[3][4] = {{0, 0, 4, 4}, {0, 1, 3, 4}, {0, 4.0f / 3, 8.0f / 3, 4}};
    for (int k = 0; k < 3; k++) {
        Graph *g = ir_graph_new("rs");
        ValueId x = cst(g, "x", F32(1, 1, 1, 2), (const float[]){0, 4}, 2);
        NodeId n = node(g, IR_OP_RESIZE, "r", &x, 1);
        ir_node_set_ints(g, n, "size", (const int64_t[]){1, 4}, 2);
        ir_node_set_int(g, n, "mode", k > 0);
        ir_node_set_int(g, n, "align_corners", k == 2);
        float *got = run(g, n, NULL, NULL);
        expect(got, want[k], 4);
        free(got);
        ir_graph_free(g);
    }
}
END_TEST

START_TEST(conv_transpose_by_hand)
{
    for (int s = 1; s <= 2; s++) {
        Graph *g = ir_graph_new("ct");
        ValueId in[2] = {cst(g, "x", F32(1, 1, 2, 2), (const float[]){1, 2, 3, 4}, 4),
                         cst(g, "w", F32(1, 1, 2, 2), (const float[]){1, 1, 1, 1}, 4)};
        NodeId n = node(g, IR_OP_CONV_TRANSPOSE2D, "ct", in, 2);
        ir_node_set_int(g, n, "stride", s);
        float *got = run(g, n, NULL, NULL);
        if (s == 1)
            expect(got, (const float[]){1, 3, 2, 4, 10, 6, 3, 7, 4}, 9);
        else
            expect(got, (const float[]){1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, 16);
        free(got);
        ir_graph_free(g);
    }
}
END_TEST

START_TEST(reduce_norm_by_hand)
{
    static const float six[6] = {1, 2, 3, 4, 5, 6};
    static const struct {
        OpKind op;
        int64_t axis;
        int keep;
        float want[3];
        int n;
    } cases[] = {
        {IR_OP_REDUCE_SUM, 1, 0, {6, 15}, 2},
        {IR_OP_REDUCE_MEAN, 0, 0, {2.5f, 3.5f, 4.5f}, 3},
        {IR_OP_REDUCE_MIN, -1, 1, {1, 4}, 2},
        {IR_OP_REDUCE_MAX, 0, 1, {4, 5, 6}, 3},
    };
    for (int k = 0; k < 4; k++) {
        Graph *g = ir_graph_new("red");
        ValueId x = cst(g, "x", F32(2, 3), six, 6);
        NodeId n = node(g, cases[k].op, "r", &x, 1);
        ir_node_set_ints(g, n, "axes", &cases[k].axis, 1);
        ir_node_set_int(g, n, "keepdim", cases[k].keep);
        float *got = run(g, n, NULL, NULL);
        expect(got, cases[k].want, cases[k].n);
        ck_assert_int_eq(g->values[out0(g, n)].type.shape.rank, cases[k].keep ? 2 : 1);
        free(got);
        ir_graph_free(g);
    }
    /* group_norm, one group of [0, 2, 4, 6]: mean 3, variance 5 */
    Graph *g = ir_graph_new("gn");
    ValueId x = cst(g, "x", F32(1, 2, 2), (const float[]){0, 2, 4, 6}, 4);
    NodeId n = node(g, IR_OP_GROUP_NORM, "gn", &x, 1);
    ir_node_set_int(g, n, "num_groups", 1);
    ir_node_set_float(g, n, "eps", 0.0);
    float *got = run(g, n, NULL, NULL);
    float r = 1.0f / sqrtf(5.0f);
    expect(got, (const float[]){-3 * r, -r, r, 3 * r}, 4);
    free(got);
    ir_graph_free(g);
}
END_TEST

START_TEST(dtypes_by_hand)
{
    /* cast f32 -> i32 truncates; f16 and bf16 round to nearest even */
    Graph *g = ir_graph_new("cast");
    ValueId x = cst(g, "x", F32(3), (const float[]){-1.7f, 2.9f, 1.0f / 3}, 3);
    NodeId n = node(g, IR_OP_CAST, "c", &x, 1);
    ir_node_set_int(g, n, "dtype", IR_I32);
    int32_t *gi = (int32_t *)(void *)run(g, n, NULL, NULL);
    ck_assert(gi[0] == -1 && gi[1] == 2 && gi[2] == 0);
    free(gi);
    ir_graph_free(g);
    static const DType half[2] = {IR_F16, IR_BF16};
    static const float third[2] = {0.333251953125f, 0.333984375f};
    for (int k = 0; k < 2; k++) {
        g = ir_graph_new("half");
        x = cst(g, "x", F32(1), (const float[]){1.0f / 3}, 1);
        n = node(g, IR_OP_CAST, "h", &x, 1);
        ir_node_set_int(g, n, "dtype", half[k]);
        NodeId back = node(g, IR_OP_CAST, "f", &g->nodes[n].outputs[0], 1);
        ir_node_set_int(g, back, "dtype", IR_F32);
        float *got = run(g, back, NULL, NULL);
        ck_assert_msg(got[0] == third[k], "%s: got %.12g", ir_dtype_name(half[k]), (double)got[0]);
        free(got);
        ir_graph_free(g);
    }
    /* comparisons: NaN is not less than NaN; where picks by the condition */
    g = ir_graph_new("cmp");
    ValueId ab[2] = {cst(g, "a", F32(3), (const float[]){1, NAN, 2}, 3),
                     cst(g, "b", F32(3), (const float[]){1, NAN, 3}, 3)};
    NodeId lt = node(g, IR_OP_LT, "lt", ab, 2);
    ValueId w_in[3] = {out0(g, lt), ab[0], ab[1]};
    NodeId w = node(g, IR_OP_WHERE, "w", w_in, 3);
    float *got = run(g, w, NULL, NULL);
    expect(got, (const float[]){1, NAN, 2}, 3);
    free(got);
    ir_graph_free(g);
    /* index_select along axis 0 */
    g = ir_graph_new("isel");
    static const int64_t idx[3] = {2, 0, 2};
    Type it = mk_type(IR_I64, DIMS(3));
    ValueId is_in[2] = {cst(g, "x", F32(3, 2), (const float[]){0, 1, 10, 11, 20, 21}, 6),
                        ir_const_new(g, "idx", it, idx, sizeof idx, here)};
    n = node(g, IR_OP_INDEX_SELECT, "sel", is_in, 2);
    got = run(g, n, NULL, NULL);
    expect(got, (const float[]){20, 21, 0, 1, 20, 21}, 6);
    free(got);
    ir_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("eval");
    TCase *tc = tcase_create("ops");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, conv2d_3x3_padding_1);
    tcase_add_test(tc, conv2d_is_cross_correlation);
    tcase_add_test(tc, conv2d_stride_dilation_groups);
    tcase_add_test(tc, linear_both_layouts);
    tcase_add_test(tc, matmul_cases);
    tcase_add_test(tc, binary_broadcasting);
    tcase_add_test(tc, unary_ops);
    tcase_add_test(tc, max_pool2d_cases);
    tcase_add_test(tc, max_pool2d_dilation);
    tcase_add_test(tc, avg_pool2d_cases);
    tcase_add_test(tc, softmax_cases);
    tcase_add_test(tc, layer_norm_cases);
    tcase_add_test(tc, batch_norm_inference);
    tcase_add_test(tc, embedding_lookup);
    tcase_add_test(tc, views_copy);
    tcase_add_test(tc, epilogue_applied);
    tcase_add_test(tc, graph_chain);
    tcase_add_test(tc, activations_by_hand);
    tcase_add_test(tc, adaptive_pool_windows);
    tcase_add_test(tc, pad_slice_by_hand);
    tcase_add_test(tc, resize_by_hand);
    tcase_add_test(tc, conv_transpose_by_hand);
    tcase_add_test(tc, reduce_norm_by_hand);
    tcase_add_test(tc, dtypes_by_hand);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
