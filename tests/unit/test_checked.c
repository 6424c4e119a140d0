/* Checked size arithmetic (ir/checked.h) at its edges, the IR functions built on it
 * (dims, polys, byte counts), and the size checks of shape inference and the verifier:
 * a shape that wraps is the user's error naming the tensor, never a small buffer. */
#include "ir/checked.h"
#include "ir/graph.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define P62 ((int64_t)1 << 62)

START_TEST(mul_add_sub_edges)
{
    int64_t r;
    ck_assert(ir_ckd_mul_i64(INT64_MAX, 1, &r) && r == INT64_MAX);
    ck_assert(!ir_ckd_mul_i64(INT64_MAX, 2, &r));
    ck_assert(!ir_ckd_mul_i64(INT64_MIN, -1, &r));
    ck_assert(ir_ckd_mul_i64(0, INT64_MAX, &r) && r == 0);
    ck_assert(ir_ckd_mul_i64((int64_t)1 << 31, (int64_t)1 << 31, &r) && r == (int64_t)1 << 62);
    ck_assert(!ir_ckd_mul_i64((int64_t)1 << 32, (int64_t)1 << 31, &r));
    ck_assert(ir_ckd_mul_i64(-3, 4, &r) && r == -12);
    ck_assert(ir_ckd_add_i64(INT64_MAX, 0, &r) && r == INT64_MAX);
    ck_assert(!ir_ckd_add_i64(INT64_MAX, 1, &r));
    ck_assert(!ir_ckd_add_i64(INT64_MIN, -1, &r));
    ck_assert(ir_ckd_add_i64(INT64_MAX, -1, &r) && r == INT64_MAX - 1);
    ck_assert(!ir_ckd_sub_i64(INT64_MIN, 1, &r));
    ck_assert(!ir_ckd_sub_i64(0, INT64_MIN, &r));
    size_t z;
    ck_assert(!ir_ckd_mul_size(SIZE_MAX, 2, &z));
    ck_assert(ir_ckd_mul_size(SIZE_MAX, 1, &z) && z == SIZE_MAX);
    ck_assert(!ir_ckd_add_size(SIZE_MAX, 1, &z));
}
END_TEST

START_TEST(numel_edges)
{
    int64_t r;
    ck_assert(ir_ckd_numel(NULL, 0, &r) && r == 1); /* a scalar */
    int64_t a[] = {(int64_t)1 << 61, 64};           /* 2^67: the Expand */
    ck_assert(!ir_ckd_numel(a, 2, &r));
    int64_t b[] = {INT64_MAX, 1, 1};
    ck_assert(ir_ckd_numel(b, 3, &r) && r == INT64_MAX);
    int64_t c[] = {4, -1};
    ck_assert(!ir_ckd_numel(c, 2, &r));
    int64_t e[] = {0, 5};
    ck_assert(ir_ckd_numel(e, 2, &r) && r == 0);
    /* a zero does not hide an overflow, wherever it stands */
    int64_t f[] = {P62, P62, 0}, g[] = {0, P62, P62};
    ck_assert(!ir_ckd_numel(f, 3, &r));
    ck_assert(!ir_ckd_numel(g, 3, &r));
    int64_t h[] = {(int64_t)1 << 56 | 1, 64, 4}; /* the issue's .npy, as elements x bytes */
    ck_assert(!ir_ckd_numel(h, 3, &r));
}
END_TEST

START_TEST(bytes_edges)
{
    size_t b;
    ck_assert(ir_ckd_bytes(IR_F32, 0, &b) && b == 0);
    ck_assert(!ir_ckd_bytes(IR_F32, -1, &b));
    ck_assert(ir_ckd_bytes(IR_F32, (int64_t)1 << 60, &b) && b == (size_t)P62); /* the cap */
    ck_assert(!ir_ckd_bytes(IR_F32, ((int64_t)1 << 60) + 1, &b));
    ck_assert(!ir_ckd_bytes(IR_F32, INT64_MAX / 4 + 1, &b)); /* count * 4 wraps */
    ck_assert(!ir_ckd_bytes(IR_F64, INT64_MAX, &b));
    /* 8-bit dtypes up to the cap: no count * 8 bits overflowing on the way */
    ck_assert(ir_ckd_bytes(IR_BOOL, P62, &b) && b == (size_t)P62);
    ck_assert(!ir_ckd_bytes(IR_BOOL, P62 + 1, &b));
    ck_assert(ir_ckd_bytes(IR_U8, (int64_t)1 << 61, &b) && b == (size_t)1 << 61);
    /* packing: two i4 a byte, four i2, rounded up to a whole byte */
    ck_assert(ir_ckd_bytes(IR_I4, 1, &b) && b == 1);
    ck_assert(ir_ckd_bytes(IR_I4, 3, &b) && b == 2);
    ck_assert(ir_ckd_bytes(IR_U4, 4, &b) && b == 2);
    ck_assert(ir_ckd_bytes(IR_I2, 5, &b) && b == 2);
    ck_assert(ir_ckd_bytes(IR_I4, INT64_MAX, &b) && b == (size_t)P62); /* (2^63 - 1) / 2, up */
    ck_assert(ir_ckd_bytes(IR_I2, INT64_MAX, &b) && b == (size_t)1 << 61);
    ck_assert(!ir_ckd_bytes(IR_I4, -2, &b));
    /* ir_dtype_bytes agrees inside the range */
    ck_assert_uint_eq(ir_dtype_bytes(IR_I4, 3), 2);
    ck_assert_uint_eq(ir_dtype_bytes(IR_F16, 7), 14);
    ck_assert_uint_eq(ir_dtype_bytes(IR_F32, 0), 0);
    ck_assert_uint_eq(ir_dtype_bytes(IR_F32, -5), 0);
}
END_TEST

START_TEST(round_up_edges)
{
    int64_t r;
    ck_assert(ir_ckd_round_up(65, 64, &r) && r == 128);
    ck_assert(ir_ckd_round_up(0, 64, &r) && r == 0);
    ck_assert(ir_ckd_round_up(128, 64, &r) && r == 128);
    ck_assert(!ir_ckd_round_up(INT64_MAX, 64, &r));
    ck_assert(!ir_ckd_round_up(INT64_MAX - 62, 64, &r));
    ck_assert(ir_ckd_round_up(INT64_MAX - 63, 64, &r) && r == INT64_MAX - 63);
    ck_assert(!ir_ckd_round_up(-1, 64, &r));
    ck_assert(!ir_ckd_round_up(5, 0, &r));
}
END_TEST

START_TEST(from_double_edges)
{
    int64_t r;
    ck_assert(ir_ckd_from_double(3.9, &r) && r == 3);
    ck_assert(ir_ckd_from_double(-3.9, &r) && r == -3);
    ck_assert(ir_ckd_from_double(9.2e18, &r) && r == (int64_t)9.2e18);
    ck_assert(!ir_ckd_from_double(9223372036854775808.0, &r)); /* 2^63 */
    ck_assert(ir_ckd_from_double(-9223372036854775808.0 + 2048.0, &r));
    ck_assert(!ir_ckd_from_double(-9223372036854775808.0, &r)); /* -2^63 itself refused */
    ck_assert(!ir_ckd_from_double(1e30, &r));
    ck_assert(!ir_ckd_from_double(INFINITY, &r));
    ck_assert(!ir_ckd_from_double(NAN, &r));
}
END_TEST

START_TEST(dims_and_polys_do_not_wrap)
{
    Dim out;
    ck_assert(!ir_dim_mul(ir_dim(P62), ir_dim(4), &out));
    ck_assert(!ir_dim_mul(ir_dim(-2), ir_dim(4), &out));
    ck_assert(ir_dim_mul(ir_dim(P62), ir_dim(1), &out) && out.c == P62);
    Shape s = {2, {ir_dim((int64_t)1 << 61), ir_dim(64)}};
    ck_assert(!ir_shape_numel(&s, &out));
    int64_t syms[IR_MAX_SYMS] = {2, 1};
    int64_t v;
    ck_assert(!ir_dim_eval_ckd((Dim){P62, 1u}, syms, &v));
    ck_assert(ir_dim_eval_ckd((Dim){P62, 2u}, syms, &v) && v == P62);
    ck_assert_int_eq(ir_dim_eval((Dim){P62, 1u}, syms), INT64_MAX); /* saturates */
    Poly p = ir_poly_const(INT64_MAX);
    ck_assert(!ir_poly_add(&p, ir_poly_const(1)));
    Poly q = ir_poly_from_dim((Dim){P62, 1u});
    ck_assert(!ir_poly_eval_ckd(&q, syms, &v));
    ck_assert(ir_poly_eval_ckd(&q, NULL, &v) && v == P62); /* symbols at 1 */
    Poly r = ir_poly_const(INT64_MAX - 10);
    ck_assert(!ir_poly_round_up(&r, 64));
    Poly ok = ir_poly_const(65);
    ck_assert(ir_poly_round_up(&ok, 64) && ir_poly_eval(&ok, syms) == 128);
}
END_TEST

/* A graph with one f32 input of the given dims; the error text goes to *text. */
static bool check_input(const int64_t *dims, int rank, DType dt, char *text, size_t size)
{
    Graph *g = ir_graph_new("m");
    g->source = "m.onnx";
    Type t = {dt, {rank, {{0}}}, NULL};
    for (int i = 0; i < rank; i++)
        t.shape.d[i] = ir_dim(dims[i]);
    ValueId x = ir_input_new(g, "x", t, (SrcLoc){"m.onnx", 0, 0});
    Diag d;
    ir_diag_init(&d);
    bool ok = ir_check_size(g, x, &d);
    snprintf(text, size, "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    ir_graph_free(g);
    return ok;
}

START_TEST(check_size_names_the_tensor)
{
    char msg[512];
    int64_t a[] = {(int64_t)1 << 61, 64};
    ck_assert(!check_input(a, 2, IR_F32, msg, sizeof msg));
    ck_assert_msg(strstr(msg, "m.onnx: error: tensor 'x': element count overflows (dims "
                              "2305843009213693952 x 64, f32)"),
                  "%s", msg);
    int64_t b[] = {3, -5};
    ck_assert(!check_input(b, 2, IR_F32, msg, sizeof msg));
    ck_assert_msg(strstr(msg, "tensor 'x': negative dimension (dims 3 x -5"), "%s", msg);
    int64_t c[] = {((int64_t)1 << 60) + 1};
    ck_assert(!check_input(c, 1, IR_F32, msg, sizeof msg));
    ck_assert_msg(strstr(msg, "tensor 'x': byte size overflows"), "%s", msg);
    int64_t e[] = {(int64_t)1 << 60};
    ck_assert(check_input(e, 1, IR_F32, msg, sizeof msg)); /* 2^62 bytes: the cap itself */
    int64_t f[] = {P62, P62, 0};
    ck_assert(!check_input(f, 3, IR_U8, msg, sizeof msg));
}
END_TEST

/* Shape inference of one node on an f32 input of the given dims; the text to *text. */
static bool infer_one(OpKind op, const int64_t *dims, int rank, const char *attr,
                      const int64_t *ints, int n_ints, int n_in, char *text, size_t size)
{
    Graph *g = ir_graph_new("m");
    Type t = {IR_F32, {rank, {{0}}}, NULL};
    for (int i = 0; i < rank; i++)
        t.shape.d[i] = ir_dim(dims[i]);
    ValueId x = ir_input_new(g, "x", t, (SrcLoc){0});
    ValueId in[2] = {x, x};
    NodeId n = ir_node_new(g, op, "n", (SrcLoc){0}, in, n_in, 1);
    if (attr)
        ir_node_set_ints(g, n, attr, ints, n_ints);
    Diag d;
    ir_diag_init(&d);
    bool ok = ir_infer_shapes(g, &d);
    snprintf(text, size, "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    ir_graph_free(g);
    return ok;
}

START_TEST(shape_functions_do_not_wrap)
{
    char msg[512];
    /* pad: 2 + INT64_MAX printed f32[-9223372036854775807] before */
    int64_t two[] = {2}, pads[] = {INT64_MAX, 0};
    ck_assert(!infer_one(IR_OP_PAD, two, 1, "pads", pads, 2, 1, msg, sizeof msg));
    ck_assert_msg(strstr(msg, "overflows"), "%s", msg);
    /* concat: 2^61 + 2^61 elements of f32, 2^64 bytes */
    int64_t huge[] = {(int64_t)1 << 61};
    ck_assert(!infer_one(IR_OP_CONCAT, huge, 1, NULL, NULL, 0, 2, msg, sizeof msg));
    ck_assert_msg(strstr(msg, "overflows"), "%s", msg);
    /* expand: 2^61 elements of f32 */
    int64_t one[] = {1}, to[] = {(int64_t)1 << 61};
    ck_assert(!infer_one(IR_OP_EXPAND, one, 1, "shape", to, 1, 1, msg, sizeof msg));
    ck_assert_msg(strstr(msg, "tensor 'n': byte size overflows (dims 2305843009213693952, f32)"),
                  "%s", msg);
    /* pool2d: a dilation of INT64_MAX */
    int64_t k[] = {3, 3};
    Graph *g = ir_graph_new("m");
    Type t = {IR_F32, {4, {ir_dim(1), ir_dim(1), ir_dim(8), ir_dim(8)}}, NULL};
    ValueId x = ir_input_new(g, "x", t, (SrcLoc){0});
    NodeId n = ir_node_new(g, IR_OP_MAX_POOL2D, "p", (SrcLoc){0}, &x, 1, 1);
    int64_t dil[] = {INT64_MAX, INT64_MAX}, pad[] = {1, 1};
    ir_node_set_ints(g, n, "kernel", k, 2);
    ir_node_set_ints(g, n, "dilation", dil, 2);
    ir_node_set_ints(g, n, "padding", pad, 2);
    Diag d;
    ir_diag_init(&d);
    ck_assert(!ir_infer_shapes(g, &d));
    ck_assert_msg(strstr(ir_diag_text(&d), "does not fit"), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

START_TEST(verifier_rejects_bad_sizes)
{
    Graph *g = ir_graph_new("m");
    Type t = {IR_F32, {2, {ir_dim(4), ir_dim(4)}}, NULL};
    ValueId x = ir_input_new(g, "x", t, (SrcLoc){0});
    NodeId n = ir_node_new(g, IR_OP_RELU, "r", (SrcLoc){0}, &x, 1, 1);
    ir_output_add(g, g->nodes[n].outputs[0]);
    Diag d;
    ir_diag_init(&d);
    ck_assert(ir_infer_shapes(g, &d));
    ck_assert(ir_verify(g, &d));
    g->values[g->nodes[n].outputs[0]].type.shape.d[0] = ir_dim(-1); /* a pass gone wrong */
    ck_assert(!ir_verify(g, &d));
    ck_assert_msg(strstr(ir_diag_text(&d), "negative dimension"), "%s", ir_diag_text(&d));
    ir_diag_clear(&d);
    g->values[g->nodes[n].outputs[0]].type.shape.d[0] = ir_dim(P62);
    ck_assert(!ir_verify(g, &d));
    ck_assert_msg(strstr(ir_diag_text(&d), "element count overflows"), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("checked");
    TCase *tc = tcase_create("checked");
    tcase_add_test(tc, mul_add_sub_edges);
    tcase_add_test(tc, numel_edges);
    tcase_add_test(tc, bytes_edges);
    tcase_add_test(tc, round_up_edges);
    tcase_add_test(tc, from_double_edges);
    tcase_add_test(tc, dims_and_polys_do_not_wrap);
    tcase_add_test(tc, check_size_names_the_tensor);
    tcase_add_test(tc, shape_functions_do_not_wrap);
    tcase_add_test(tc, verifier_rejects_bad_sizes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
