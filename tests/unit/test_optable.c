/* The op table (ir/ops.def) and the attribute table (ir/attrs.def): every row consistent
 * with itself (arity, flags against the scalar expression, attribute schema, cost and
 * shape functions, backends), the typed accessors, and the verifier's attribute checks. */
#include "ir/eval.h"
#include "ir/eval_internal.h"
#include "ir/graph.h"

#include <check.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Whether identifier id occurs in expression e as a whole token. */
static bool mentions(const char *e, const char *id)
{
    size_t n = strlen(id);
    for (const char *p = e; (p = strstr(p, id)) != NULL; p += n) {
        bool left = p == e || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        bool right = !(isalnum((unsigned char)p[n]) || p[n] == '_');
        if (left && right)
            return true;
    }
    return false;
}

START_TEST(every_row_is_consistent)
{
    for (int i = 0; i < IR_NUM_OPS; i++) {
        const OpInfo *op = &ir_ops[i];
        ck_assert_msg(op->name != NULL, "op %d has no row", i);
        ck_assert_msg(op->shape && op->flops && op->bytes, "%s lacks a shape or cost function",
                      op->name);
        ck_assert_int_le(op->min_inputs, op->max_inputs);
        ck_assert_int_le((int)op->family, (int)IR_FAM_LOWBIT);
        /* Every op has the reference evaluator and the C backend today, but transfer (the
         * copies of a mixed-device graph: the CUDA backend's host half runs them). */
        const unsigned need = i == IR_OP_TRANSFER ? IR_BE_REF | IR_BE_CUDA : IR_BE_REF | IR_BE_C;
        ck_assert_msg((op->backends & need) == need, "%s: backends", op->name);
        for (int j = i + 1; j < IR_NUM_OPS; j++)
            ck_assert_str_ne(op->name, ir_ops[j].name);
        unsigned f = op->flags;
        if (f & IR_F_BINARY)
            ck_assert_msg((f & IR_F_ELEMENTWISE) && op->min_inputs == 2 && op->max_inputs == 2,
                          "%s: a binary op takes two inputs", op->name);
        else if (f & IR_F_ELEMENTWISE)
            ck_assert_msg(op->min_inputs == 1 && op->max_inputs == 1, "%s: unary", op->name);
        /* The expression: exactly the elementwise ops with a float kernel have one. */
        bool want_expr = (f & IR_F_ELEMENTWISE) && (f & IR_F_FLOATS);
        ck_assert_msg((op->expr != NULL) == want_expr, "%s: expression vs flags", op->name);
        if (f & IR_F_EPILOGUE)
            ck_assert_msg(op->expr && op->n_attrs == 0 && (f & IR_F_ELEMENTWISE),
                          "%s: an epilogue step is an attribute-free elementwise op", op->name);
        if (f & IR_F_INT_ONLY)
            ck_assert_msg(!(f & (IR_F_FLOATS | IR_F_INTS)), "%s: int only", op->name);
        if (op->expr) {
            ck_assert_msg(mentions(op->expr, "x"), "%s: expression without x", op->name);
            ck_assert_msg(mentions(op->expr, "y") == ((f & IR_F_BINARY) != 0),
                          "%s: y exactly in binary ops", op->name);
            ck_assert_msg(mentions(op->expr, "p0") == (op->n_attrs > 0),
                          "%s: p0 exactly where the op has attributes", op->name);
            /* Only operands and SC_ helpers: what every spelling (ir/scalar.h) maps. */
            for (const char *p = op->expr; *p;) {
                if (isdigit((unsigned char)*p)) {
                    while (isalnum((unsigned char)*p) || *p == '.')
                        p++;
                    continue;
                }
                if (!(isalpha((unsigned char)*p) || *p == '_')) {
                    p++;
                    continue;
                }
                const char *q = p;
                while (isalnum((unsigned char)*q) || *q == '_')
                    q++;
                size_t n = (size_t)(q - p);
                bool ok = !strncmp(p, "SC_", 3) || (n == 1 && (*p == 'x' || *p == 'y')) ||
                          (n == 2 && p[0] == 'p' && (p[1] == '0' || p[1] == '1'));
                ck_assert_msg(ok, "%s: '%.*s' in its expression is no SC_ helper", op->name, (int)n,
                              p);
                p = q;
            }
        }
        /* The attribute schema: known ids, each once, none an annotation. */
        for (int a = 0; a < op->n_attrs; a++) {
            IrAttrId id = op->attrs[a];
            ck_assert_int_lt((int)id, IR_NUM_ATTRS);
            ck_assert_msg(!ir_attr_info[id].annotation, "%s lists an annotation", op->name);
            ck_assert(ir_op_takes_attr((OpKind)i, id));
            for (int b = a + 1; b < op->n_attrs; b++)
                ck_assert_str_ne(ir_attr_info[id].name, ir_attr_info[op->attrs[b]].name);
        }
    }
    /* One id per (name, kind). */
    for (int a = 0; a < IR_NUM_ATTRS; a++)
        for (int b = a + 1; b < IR_NUM_ATTRS; b++)
            ck_assert(strcmp(ir_attr_info[a].name, ir_attr_info[b].name) != 0 ||
                      ir_attr_info[a].kind != ir_attr_info[b].kind);
}
END_TEST

/* The float and double spellings of each expression are the same function. */
START_TEST(float_and_double_kernels_agree)
{
    static const double xs[] = {-7.5, -3.0, -1.0, -0.25, 0.0, 0.5, 1.0, 2.5, 6.0, 9.0};
    for (int i = 0; i < IR_NUM_OPS; i++) {
        if (!ir_ops[i].expr)
            continue;
        for (size_t a = 0; a < sizeof xs / sizeof xs[0]; a++)
            for (size_t b = 0; b < sizeof xs / sizeof xs[0]; b++) {
                double x = xs[a], y = xs[b], p0 = -0.5, p1 = 2.0;
                if (i == IR_OP_LEAKY_RELU)
                    p0 = 0.2;
                double d = ir_eval_scalar_f64((OpKind)i, x, y, p0, p1);
                float f = ir_eval_scalar_f32((OpKind)i, (float)x, (float)y, (float)p0, (float)p1);
                if (isnan(d)) {
                    ck_assert_msg(isnan(f), "%s(%g, %g)", ir_ops[i].name, x, y);
                    continue;
                }
                double tol = 1e-5 * (1.0 + fabs(d));
                ck_assert_msg(fabs((double)f - d) <= tol || (isinf(d) && (double)f == d),
                              "%s(%g, %g): float %.9g, double %.17g", ir_ops[i].name, x, y,
                              (double)f, d);
            }
    }
    /* NaN propagates through relu, minimum and maximum as in PyTorch. */
    ck_assert(isnan(ir_eval_scalar_f32(IR_OP_RELU, NAN, 0, 0, 0)));
    ck_assert(isnan(ir_eval_scalar_f64(IR_OP_MINIMUM, NAN, 1, 0, 0)));
    ck_assert(isnan(ir_eval_scalar_f64(IR_OP_MAXIMUM, NAN, 1, 0, 0)));
}
END_TEST

START_TEST(typed_accessors)
{
    Graph *g = ir_graph_new("t");
    ValueId x =
        ir_input_new(g, "x", (Type){IR_F32, {2, {ir_dim(2), ir_dim(3)}}, NULL}, (SrcLoc){0});
    NodeId id = ir_node_new(g, IR_OP_SOFTMAX, "s", (SrcLoc){0}, &x, 1, 1);
    const Node *n = &g->nodes[id];
    ck_assert_int_eq(ir_attr_axis(n), 0);         /* attrs.def's default */
    ck_assert_int_eq(ir_attr_axis_or(n, -1), -1); /* this reader's */
    ir_node_set_int(g, id, "axis", 1);
    n = &g->nodes[id];
    ck_assert_int_eq(ir_attr_axis(n), 1);
    ck_assert_int_eq(ir_attr_axis_or(n, -1), 1);
    ck_assert_ptr_nonnull(ir_node_attr_id(n, IR_A_axis));
    ck_assert_ptr_null(ir_node_attr_id(n, IR_A_eps));
    ck_assert_double_eq(ir_attr_eps(n), 1e-5);
    int64_t st[2];
    ck_assert_int_eq(ir_attr_stride(n, st, 2), 0); /* absent: filled with the default */
    ck_assert_int_eq(st[0], 1);
    ck_assert_int_eq(st[1], 1);
    ck_assert_str_eq(ir_attr_info[IR_A_padding_mode].name, "padding");
    ck_assert_int_eq(ir_attr_info[IR_A_padding_mode].kind, IR_ATTR_INT);
    ck_assert_int_eq(ir_attr_info[IR_A_padding].kind, IR_ATTR_INTS);
    ir_graph_free(g);
}
END_TEST

/* conv2d x [1, 2, 4, 4], w [3, 2, 3, 3], no attributes yet; *conv is its node. */
static Graph *conv_graph(NodeId *conv)
{
    Graph *g = ir_graph_new("t");
    ValueId in[2];
    in[0] = ir_input_new(g, "x",
                         (Type){IR_F32, {4, {ir_dim(1), ir_dim(2), ir_dim(4), ir_dim(4)}}, NULL},
                         (SrcLoc){0});
    in[1] = ir_input_new(g, "w",
                         (Type){IR_F32, {4, {ir_dim(3), ir_dim(2), ir_dim(3), ir_dim(3)}}, NULL},
                         (SrcLoc){0});
    *conv = ir_node_new(g, IR_OP_CONV2D, "c", (SrcLoc){0}, in, 2, 1);
    ir_output_add(g, g->nodes[*conv].outputs[0]);
    return g;
}

static const char *verify_text(Graph *g, Diag *d, bool *ok)
{
    ir_diag_clear(d);
    Diag sd;
    ir_diag_init(&sd);
    bool shapes = ir_infer_shapes(g, &sd);
    ck_assert_msg(shapes, "%s", ir_diag_text(&sd));
    ir_diag_fini(&sd);
    *ok = ir_verify(g, d);
    return ir_diag_text(d);
}

START_TEST(verifier_checks_attributes)
{
    Diag d;
    ir_diag_init(&d);
    bool ok;
    NodeId c;
    Graph *g = conv_graph(&c);
    int64_t one[2] = {1, 1};
    ir_node_set_ints(g, c, "padding", one, 2);
    ir_node_set_int(g, c, "groups", 1);
    ir_node_set_int(g, c, "stride", 1);         /* one int stands for the list */
    ir_node_set_float(g, c, "quant_cost", 2.5); /* an annotation: any op */
    const char *t = verify_text(g, &d, &ok);
    ck_assert_msg(ok, "%s", t);
    ir_graph_free(g);

    /* A misspelt name. */
    g = conv_graph(&c);
    ir_node_set_int(g, c, "grups", 2);
    t = verify_text(g, &d, &ok);
    ck_assert(!ok);
    ck_assert_msg(strstr(t, "attribute 'grups' is no attribute of the IR") != NULL, "%s", t);
    ir_graph_free(g);

    /* A name of the IR that this op does not take. */
    g = conv_graph(&c);
    ir_node_set_int(g, c, "axis", 1);
    t = verify_text(g, &d, &ok);
    ck_assert(!ok);
    ck_assert_msg(strstr(t, "'c' (conv2d): attribute 'axis' is not one its op takes") != NULL, "%s",
                  t);
    ir_graph_free(g);

    /* The wrong kind: groups is an int, not a float. */
    g = conv_graph(&c);
    ir_node_set_float(g, c, "groups", 1.5);
    t = verify_text(g, &d, &ok);
    ck_assert(!ok);
    ck_assert_msg(strstr(t, "attribute 'groups' is not one its op takes with that kind") != NULL,
                  "%s", t);
    ir_graph_free(g);
    ir_diag_fini(&d);
}
END_TEST

/* The cost columns: conv2d's FLOPs are 2 * out * (C/g * kh * kw), its bytes every operand. */
START_TEST(cost_functions)
{
    NodeId c;
    Graph *g = conv_graph(&c);
    int64_t one[2] = {1, 1};
    ir_node_set_ints(g, c, "padding", one, 2);
    Diag d;
    ir_diag_init(&d);
    ck_assert(ir_infer_shapes(g, &d));
    const Node *n = &g->nodes[c];
    double out = 1 * 3 * 4 * 4;
    ck_assert_double_eq(ir_ops[IR_OP_CONV2D].flops(g, n, NULL), 2 * out * 2 * 3 * 3);
    ck_assert_double_eq(ir_flops(g, NULL), 2 * out * 2 * 3 * 3);
    ck_assert_double_eq(ir_bytes_moved(g, NULL), 4.0 * (32 + 54 + 48));
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

/* Runs op on input a [n] (or a [n / nb, nb] and b [nb]) through the reference
 * evaluator, ir_eval_node, into out [n]. */
static void eval_f32(OpKind op, const float *a, int n, const float *b, int nb, float *out)
{
    Graph *g = ir_graph_new("t");
    ValueId in[2];
    Type ta = {IR_F32, {1, {ir_dim(n)}}, NULL}; /* [n], or [n / nb, nb] beside b */
    if (b)
        ta.shape = (Shape){2, {ir_dim(n / nb), ir_dim(nb)}};
    in[0] = ir_input_new(g, "a", ta, (SrcLoc){0});
    if (b)
        in[1] = ir_input_new(g, "b", (Type){IR_F32, {1, {ir_dim(nb)}}, NULL}, (SrcLoc){0});
    NodeId id = ir_node_new(g, op, "n", (SrcLoc){0}, in, b ? 2 : 1, 1);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    const void *ins[2] = {a, b};
    void *outs[1] = {out};
    ck_assert_msg(ir_eval_node(g, &g->nodes[id], ins, outs, NULL, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    ir_graph_free(g);
}

/* softsign's reference kernel against numpy's x / (1 + np.abs(x)) in f32. */
/* passes/quantize.c and qdq.c turn every quantizable row into its int8 op (conv2d into
 * qconv2d, linear into qlinear): a row flagged so without such a mapping would be lowered
 * wrongly, so the flag must name exactly those two. */
START_TEST(quantizable_rows)
{
    for (int op = 0; op < IR_NUM_OPS; op++) {
        bool flagged = (ir_ops[op].flags & IR_F_QUANTIZABLE) != 0;
        bool mapped = op == IR_OP_CONV2D || op == IR_OP_LINEAR;
        ck_assert_msg(flagged == mapped, "op '%s': quantizable flag %d, int8 mapping %d",
                      ir_ops[op].name, flagged, mapped);
    }
}
END_TEST

START_TEST(softsign_reference)
{
    const float x[8] = {-3.5f, -1, -0.25f, 0, 0.5f, 2, 1e30f, -INFINITY};
    const float want[8] = {
        -0.777777791f, -0.5f, -0.200000003f, 0, 0.333333343f, 0.666666687f, 1, NAN};
    float got[8];
    eval_f32(IR_OP_SOFTSIGN, x, 8, NULL, 0, got);
    for (int i = 0; i < 8; i++)
        if (isnan(want[i]))
            ck_assert(isnan(got[i]));
        else
            ck_assert_float_eq(got[i], want[i]);
}
END_TEST

/* copysign's reference kernel against numpy's np.copysign, b [4] broadcast over a [2, 4]. */
START_TEST(copysign_reference)
{
    const float a[8] = {1.5f, -2, 0, 3, -0.0f, 4, -5, 6};
    const float b[4] = {-1, 2, -0.0f, INFINITY};
    const float want[8] = {-1.5f, 2, -0.0f, 3, -0.0f, 4, -5, 6};
    float got[8];
    eval_f32(IR_OP_COPYSIGN, a, 8, b, 4, got);
    for (int i = 0; i < 8; i++) {
        ck_assert_float_eq(got[i], want[i]);
        ck_assert_int_eq(signbit(got[i]) != 0, signbit(want[i]) != 0);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("optable");
    TCase *tc = tcase_create("optable");
    tcase_add_test(tc, every_row_is_consistent);
    tcase_add_test(tc, float_and_double_kernels_agree);
    tcase_add_test(tc, typed_accessors);
    tcase_add_test(tc, verifier_checks_attributes);
    tcase_add_test(tc, cost_functions);
    tcase_add_test(tc, quantizable_rows);
    tcase_add_test(tc, softsign_reference);
    tcase_add_test(tc, copysign_reference);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
