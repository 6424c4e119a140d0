/* Derived symbolic dims (ir/symbols.c, issue 19): the algebra that simplifies to a Dim
 * where one holds the result and interns a derived symbol where none does; evaluation
 * against plain integer arithmetic; overflow, sizes < 1 and the 16-symbol limit refused;
 * and the runtime binder (runtime/model_io.c) computing derived symbols and refusing an
 * input that binds one inconsistently. */
#include "ir/graph.h"
#include "runtime/model_desc.h"

#include <check.h>
#include <string.h>

static Dim sym(int s)
{
    return (Dim){1, 1u << s};
}

START_TEST(test_simplify_and_intern)
{
    Graph *g = ir_graph_new("m");
    int S = ir_graph_symbol(g, "S"), W = ir_graph_symbol(g, "W");
    Dim d, e;
    /* what a Dim holds stays a Dim: no new symbol */
    ck_assert(ir_dim_add_const(g, sym(S), 0, &d) && ir_dim_eq(d, sym(S)));
    ck_assert(ir_dim_mul_any(g, sym(S), ir_dim(3), &d) && ir_dim_eq(d, (Dim){3, 1u << S}));
    ck_assert(ir_dim_floordiv(g, (Dim){4, 1u << S}, 2, &d) && ir_dim_eq(d, (Dim){2, 1u << S}));
    ck_assert(ir_dim_mul_any(g, sym(S), sym(W), &d) && ir_dim_eq(d, (Dim){1, 3u}));
    ck_assert(ir_dim_add(g, (Dim){2, 1u << S}, (Dim){3, 1u << S}, &d) &&
              ir_dim_eq(d, (Dim){5, 1u << S}));
    ck_assert(ir_dim_add(g, ir_dim(2), ir_dim(3), &d) && ir_dim_eq(d, ir_dim(5)));
    ck_assert_int_eq(g->n_syms, 2);
    /* S+1 twice (and 1+S) is one symbol, named by its expression */
    ck_assert(ir_dim_add_const(g, sym(S), 1, &d));
    ck_assert(ir_dim_add(g, ir_dim(1), sym(S), &e));
    ck_assert(ir_dim_eq(d, e) && d.syms == 1u << 2 && g->n_syms == 3);
    ck_assert_str_eq(g->sym_names[2], "S+1");
    ck_assert(g->derived_syms == 1u << 2);
    ck_assert(ir_dim_mul_any(g, sym(S), sym(S), &d) && d.syms == 1u << 3);
    ck_assert_str_eq(g->sym_names[3], "S*S");
    ck_assert(ir_dim_derive(g, sym(W), ir_dim(1), ir_dim(0), 1, 2, &d) && d.syms == 1u << 4);
    ck_assert_str_eq(g->sym_names[4], "(W+1)//2");
    /* (2W+2)//4 is (W+1)//2: common factors cancel */
    ck_assert(ir_dim_derive(g, (Dim){2, 1u << W}, ir_dim(1), ir_dim(0), 2, 4, &e) &&
              ir_dim_eq(d, e));
    ck_assert(ir_dim_derive(g, sym(S), ir_dim(1), ir_dim(0), -4, 1, &d) && d.syms == 1u << 5);
    ck_assert_str_eq(g->sym_names[5], "S-4");
    ck_assert(ir_dim_add(g, sym(S), sym(W), &d) && d.syms == 1u << 6);
    ck_assert_str_eq(g->sym_names[6], "S+W");
    /* a derived symbol inside another is parenthesized */
    ck_assert(ir_dim_floordiv(g, (Dim){1, 1u << 2}, 2, &d));
    ck_assert_str_eq(g->sym_names[7], "(S+1)//2");
    /* a constant below 0 and div < 1 are refused */
    ck_assert(!ir_dim_add_const(g, ir_dim(2), -3, &d));
    ck_assert(!ir_dim_floordiv(g, sym(S), 0, &d));
    ir_graph_free(g);
}
END_TEST

START_TEST(test_eval)
{
    Graph *g = ir_graph_new("m");
    int S = ir_graph_symbol(g, "S"), W = ir_graph_symbol(g, "W");
    Dim p1, sq, half, m4, sum, nest;
    ck_assert(ir_dim_add_const(g, sym(S), 1, &p1) && ir_dim_mul_any(g, sym(S), sym(S), &sq) &&
              ir_dim_derive(g, sym(W), ir_dim(1), ir_dim(0), 1, 2, &half) &&
              ir_dim_derive(g, sym(S), ir_dim(1), ir_dim(0), -4, 1, &m4) &&
              ir_dim_add(g, (Dim){2, 1u << S}, sym(W), &sum) && ir_dim_mul_any(g, p1, p1, &nest));
    char why[128];
    for (int64_t s = 5; s < 40; s += 7)
        for (int64_t w = 1; w < 30; w += 3) {
            int64_t v[IR_MAX_SYMS] = {0};
            v[S] = s, v[W] = w;
            ck_assert(ir_syms_derive(g, v, why, sizeof why));
            ck_assert_int_eq(ir_dim_eval(p1, v), s + 1);
            ck_assert_int_eq(ir_dim_eval(sq, v), s * s);
            ck_assert_int_eq(ir_dim_eval(half, v), (w + 1) / 2);
            ck_assert_int_eq(ir_dim_eval(m4, v), s - 4);
            ck_assert_int_eq(ir_dim_eval(sum, v), 2 * s + w);
            ck_assert_int_eq(ir_dim_eval(nest, v), (s + 1) * (s + 1));
        }
    /* S-4 at S = 4 is 0: refused, naming it */
    int64_t v[IR_MAX_SYMS] = {4, 3};
    ck_assert(!ir_syms_derive(g, v, why, sizeof why));
    ck_assert_ptr_nonnull(strstr(why, "S-4 is 0"));
    /* S*S overflows */
    int64_t big[IR_MAX_SYMS] = {(int64_t)1 << 40, 3};
    ck_assert(!ir_syms_derive(g, big, why, sizeof why));
    ck_assert_ptr_nonnull(strstr(why, "S*S overflows"));
    ir_graph_free(g);
}
END_TEST

START_TEST(test_limit)
{
    Graph *g = ir_graph_new("m");
    int S = ir_graph_symbol(g, "S");
    Dim d;
    for (int k = 1; k < IR_MAX_SYMS; k++)
        ck_assert(ir_dim_add_const(g, sym(S), k, &d));
    ck_assert_int_eq(g->n_syms, IR_MAX_SYMS);
    ck_assert(ir_dim_add_const(g, sym(S), 3, &d)); /* interned: still fine */
    ck_assert(!ir_dim_add_const(g, sym(S), 99, &d));
    ir_graph_free(g);
    /* a name from a model file longer than a derived name's buffer is cut, not overrun */
    g = ir_graph_new("m");
    char lon[400];
    memset(lon, 'a', sizeof lon - 1);
    lon[sizeof lon - 1] = 0;
    int L = ir_graph_symbol(g, lon);
    ck_assert(ir_dim_mul_any(g, sym(L), sym(L), &d) && d.syms == 1u << 1);
    ck_assert(ir_dim_derive(g, d, ir_dim(1), sym(L), 1, 3, &d) && d.syms == 1u << 2);
    ck_assert_uint_le(strlen(g->sym_names[2]), 224);
    ir_graph_free(g);
}
END_TEST

/* x: f32[S], y: f32[T] with T := S+1 derived: the binder sets T, or checks y against it. */
START_TEST(test_bind_derived)
{
    static const char *const names[] = {"S", "S+1"};
    static const RtIoDesc io[] = {
        {"x", "x", "f32[S]", RT_DT_F32, 1, {{1, 1u}}, NULL, 0, 0},
        {"y", "y", "f32[S+1]", RT_DT_F32, 1, {{1, 2u}}, NULL, 0, 0},
    };
    RtModelDesc m = {"m", "m.onnx", 1, 1,         2,  names,
                     io,  io + 1,   1, {{2u, 4}}, 2u, {{{0, 0}, {0, 0}, {0, 0}, 0, 0}}};
    m.defs[1] = (RtSymDef){{1, 1u}, {1, 0}, {0, 0}, 1, 1};
    static float data[64];
    int64_t shape[1] = {5}, syms[RT_MAX_SYMS];
    RtInputView in[2] = {{RT_DT_F32, 1, shape, data, 20}, {RT_DT_F32, 1, shape, data, 24}};
    RtBindError err;
    ck_assert_int_eq(rt_desc_bind(&m, in, syms, &err), 0);
    ck_assert_int_eq(syms[0], 5);
    ck_assert_int_eq(syms[1], 6);
    /* both as inputs: y must have S+1 elements */
    m.n_inputs = 2;
    int64_t ys[1] = {6}, yb[1] = {7};
    in[1].shape = ys;
    ck_assert_int_eq(rt_desc_bind(&m, in, syms, &err), 0);
    in[1].shape = yb;
    in[1].nbytes = 28;
    ck_assert_int_ne(rt_desc_bind(&m, in, syms, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.why, "S+1"));
    /* S-4 < 1 */
    m.n_inputs = 1;
    m.defs[1] = (RtSymDef){{1, 1u}, {1, 0}, {0, 0}, -4, 1};
    int64_t small[1] = {3};
    in[0].shape = small;
    in[0].nbytes = 12;
    ck_assert_int_ne(rt_desc_bind(&m, in, syms, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.why, "is -1"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("symbols");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_simplify_and_intern);
    tcase_add_test(tc, test_eval);
    tcase_add_test(tc, test_limit);
    tcase_add_test(tc, test_bind_derived);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
