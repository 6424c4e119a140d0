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
    RtModelDesc m = {
        "m", "m.onnx",  1,  1,
        2,   names,     io, io + 1,
        1,   {{2u, 4}}, 2u, {{{0, 0}, {0, 0}, {0, 0}, 0, 0, NULL, 0, NULL, {0, 0}, NULL}}};
    m.defs[1] = (RtSymDef){{1, 1u}, {1, 0}, {0, 0}, 1, 1, NULL, 0, NULL, {0, 0}, NULL};
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
    m.defs[1] = (RtSymDef){{1, 1u}, {1, 0}, {0, 0}, -4, 1, "pad 'p'", 0, NULL, {0, 0}, NULL};
    int64_t small[1] = {3};
    in[0].shape = small;
    in[0].nbytes = 12;
    ck_assert_int_ne(rt_desc_bind(&m, in, syms, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.why, "is -1"));
    ck_assert_ptr_nonnull(strstr(err.why, "from pad 'p'")); /* the node that derives it */
}
END_TEST

/* Bounds (Graph.sym_max, RtSymDef.max): x: f32[S], y: f32[S+1] with S <= 8 and S+1 <= 8
 * (two slices of 8-long buffers). The binder refuses S = 9 naming the input dim that gives
 * S, and S = 8 naming the derived S+1; the graph keeps the least bound of each symbol and
 * ir_syms_derive checks them the same way. */
START_TEST(test_bind_bounds)
{
    static const char *const names[] = {"S", "S+1"};
    static const RtIoDesc io[] = {{"x", "x", "f32[S]", RT_DT_F32, 1, {{1, 1u}}, NULL, 0, 0}};
    RtModelDesc m = {
        "m", "m.onnx",  1,  0,
        2,   names,     io, io + 1,
        1,   {{2u, 4}}, 2u, {{{0, 0}, {0, 0}, {0, 0}, 0, 0, NULL, 0, NULL, {0, 0}, NULL}}};
    m.defs[0] = (RtSymDef){{0, 0}, {0, 0}, {0, 0}, 0, 0, NULL, 8, "slice of 'bias'", {0, 0}, NULL};
    m.defs[1] = (RtSymDef){{1, 1u}, {1, 0}, {0, 0}, 1, 1, NULL, 8, "slice of 'pos'", {0, 0}, NULL};
    static float data[16];
    int64_t shape[1] = {7}, syms[RT_MAX_SYMS];
    RtInputView in[1] = {{RT_DT_F32, 1, shape, data, 28}};
    RtBindError err;
    ck_assert_int_eq(rt_desc_bind(&m, in, syms, &err), 0);
    ck_assert_int_eq(syms[1], 8);
    shape[0] = 9, in[0].nbytes = 36;
    ck_assert_int_ne(rt_desc_bind(&m, in, syms, &err), 0);
    ck_assert_str_eq(
        err.why, "input 'x' dim 0 = 9 exceeds 8, the largest the model's slice of 'bias' allows");
    shape[0] = 8, in[0].nbytes = 32;
    ck_assert_int_ne(rt_desc_bind(&m, in, syms, &err), 0);
    ck_assert_str_eq(
        err.why,
        "the symbolic dim S+1 = 9 exceeds 8, the largest the model's slice of 'pos' allows");

    Graph *g = ir_graph_new("b");
    int S = ir_graph_symbol(g, "S");
    ir_sym_bound(g, S, 64, "slice of 'a'");
    ir_sym_bound(g, S, 32, "slice of 'b'");
    ir_sym_bound(g, S, 48, "slice of 'c'");
    ck_assert_int_eq(g->sym_max[S], 32);
    ck_assert_str_eq(g->sym_max_of[S], "slice of 'b'");
    int64_t v[IR_MAX_SYMS] = {32};
    char why[256];
    ck_assert(ir_syms_derive(g, v, why, sizeof why));
    v[0] = 33;
    ck_assert(!ir_syms_derive(g, v, why, sizeof why));
    ck_assert_ptr_nonnull(strstr(why, "S = 33 exceeds 32, the largest the model's slice of 'b'"));
    ir_graph_free(g);
}
END_TEST

/* Assumed equalities (Graph.sym_eq, RtSymDef.eq): x: f32[H] with A = H//2, B = A//2 and
 * A == 2*B assumed (a UNet's skip concat). The binder accepts H = 8 and 12 and refuses 10
 * (A = 5, 2*B = 4) naming what assumes it; ir_dim_assume_eq records only dims of a common
 * input symbol, one side a single symbol, and only in a graph that allows it. */
START_TEST(test_bind_equal)
{
    static const char *const names[] = {"H", "H//2", "(H//2)//2"};
    static const RtIoDesc io[] = {{"x", "x", "f32[H]", RT_DT_F32, 1, {{1, 1u}}, NULL, 0, 0}};
    RtModelDesc m = {
        "m", "m.onnx",  1,  0,
        3,   names,     io, io + 1,
        1,   {{1u, 4}}, 6u, {{{0, 0}, {0, 0}, {0, 0}, 0, 0, NULL, 0, NULL, {0, 0}, NULL}}};
    m.defs[1] = (RtSymDef){{1, 1u}, {1, 0}, {0, 0}, 0, 2, NULL, 0, NULL, {2, 4u}, "concat 'c'"};
    m.defs[2] = (RtSymDef){{1, 2u}, {1, 0}, {0, 0}, 0, 2, NULL, 0, NULL, {0, 0}, NULL};
    static float data[16];
    int64_t shape[1] = {8}, syms[RT_MAX_SYMS];
    RtInputView in[1] = {{RT_DT_F32, 1, shape, data, 32}};
    RtBindError err;
    ck_assert_int_eq(rt_desc_bind(&m, in, syms, &err), 0);
    shape[0] = 12, in[0].nbytes = 48;
    ck_assert_int_eq(rt_desc_bind(&m, in, syms, &err), 0);
    ck_assert_int_eq(syms[2], 3);
    shape[0] = 10, in[0].nbytes = 40;
    ck_assert_int_ne(rt_desc_bind(&m, in, syms, &err), 0);
    ck_assert_str_eq(err.why, "the model's concat 'c' needs two dims equal that these input "
                              "shapes make differ (H//2 = 5, the other 4)");

    Graph *g = ir_graph_new("e");
    int H = ir_graph_symbol(g, "H"), T = ir_graph_symbol(g, "T");
    Type t = {.dtype = IR_F32, .shape = {1, {(Dim){1, 1u << H}}}};
    ValueId x = ir_input_new(g, "x", t, (SrcLoc){0});
    NodeId r = ir_node_new(g, IR_OP_RELU, "r", (SrcLoc){0}, &x, 1, 1);
    const Node *n = &g->nodes[r];
    Dim h = (Dim){1, 1u << H}, t2 = {2, 1u << T}, h2 = {2, 1u << H};
    ck_assert(!ir_dim_assume_eq(g, h, h2, n)); /* not allowed: .slim models assume nothing */
    g->assume_eq = true;
    ck_assert(!ir_dim_assume_eq(g, h, t2, n));        /* no common input symbol */
    ck_assert(!ir_dim_assume_eq(g, h, h2, n));        /* H == 2*H: the other side uses H */
    ck_assert(!ir_dim_assume_eq(g, h, ir_dim(4), n)); /* a constant: not assumed */
    ck_assert(ir_dim_assume_eq(g, h, h, n));
    ck_assert_int_eq(g->sym_eq[H].c, 0);
    Dim hh = {3, 1u << H}; /* 3*H: a monomial, not a single symbol, on both sides below */
    ck_assert(!ir_dim_assume_eq(g, hh, h2, n));
    ir_graph_free(g);
}
END_TEST

/* PyTorch's pooling_output_shape (aten/src/ATen/native/Pool.h), the reference: a plain
 * floor division, then the last window dropped when it starts past the input and the left
 * padding; < 1 is PyTorch's "output size is too small". */
static int64_t torch_pool_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t dil, bool ceil)
{
    int64_t num = in + 2 * p - dil * (k - 1) - 1 + (ceil ? s - 1 : 0);
    int64_t out = (num >= 0 ? num / s : -((-num + s - 1) / s)) + 1;
    if (ceil && (out - 1) * s >= in + p)
        out--;
    return out;
}

/* A max pool (with and without ceil_mode) over a symbolic height: the derived dim of its
 * output evaluates to PyTorch's size for every height where PyTorch has one, and comes out
 * < 1 (refused when bound) where PyTorch refuses; a static height gives the same size. */
START_TEST(test_pool_ceil_derived)
{
    int checked = 0;
    for (int64_t k = 1; k <= 6; k++)
        for (int64_t s = 1; s <= 4; s++)
            for (int64_t p = 0; p <= k / 2; p++)
                for (int64_t dil = 1; dil <= 2; dil++)
                    for (int ceil = 0; ceil < 2; ceil++) {
                        Graph *g = ir_graph_new("m");
                        int H = ir_graph_symbol(g, "H");
                        Type t = {IR_F32, {4, {ir_dim(1), ir_dim(1), sym(H), ir_dim(5)}}, NULL};
                        ValueId x = ir_input_new(g, "x", t, (SrcLoc){0});
                        NodeId n = ir_node_new(g, IR_OP_MAX_POOL2D, "pool", (SrcLoc){0}, &x, 1, 1);
                        int64_t kk[] = {k, 1}, ss[] = {s, 1}, pp[] = {p, 0}, dd[] = {dil, 1};
                        ir_node_set_ints(g, n, "kernel", kk, 2);
                        ir_node_set_ints(g, n, "stride", ss, 2);
                        ir_node_set_ints(g, n, "padding", pp, 2);
                        ir_node_set_ints(g, n, "dilation", dd, 2);
                        ir_node_set_int(g, n, "ceil_mode", ceil);
                        Diag d;
                        ir_diag_init(&d);
                        ck_assert_msg(ir_infer_node(g, n, &d), "%s", ir_diag_text(&d));
                        ir_diag_fini(&d);
                        Dim oh = g->values[g->nodes[n].outputs[0]].type.shape.d[2];
                        for (int64_t h = 1; h <= 40; h++) {
                            int64_t v[IR_MAX_SYMS] = {0},
                                    want = torch_pool_out(h, k, s, p, dil, ceil);
                            v[H] = h;
                            char why[128];
                            bool ok = ir_syms_derive(g, v, why, sizeof why);
                            ck_assert_msg(ok == (want >= 1),
                                          "k%lld s%lld p%lld d%lld ceil %d h %lld", (long long)k,
                                          (long long)s, (long long)p, (long long)dil, ceil,
                                          (long long)h);
                            if (ok)
                                ck_assert_int_eq(ir_dim_eval(oh, v), want);
                            checked++;
                        }
                        ir_graph_free(g);
                    }
    ck_assert_int_eq(checked, 9600); /* every case ran */
}
END_TEST

/* The slice of a symbolic length: kept symbolic where clamping cannot change the length,
 * and then its length and start agree with Python's slicing of every length from 1 to 30
 * (the length from ir_slice_sym's bounds, < 1 only where Python's is 0). */
START_TEST(test_slice_sym)
{
    const int64_t big = IR_SLICE_TO_END;
    IrSliceSym b;
    Dim L = sym(0);
    ck_assert(ir_slice_sym(L, 1, big, &b) && !b.start_rel && b.end_rel && b.start == 1);
    ck_assert(ir_slice_sym(L, 0, -1, &b) && b.end_rel && b.end == -1);
    ck_assert(ir_slice_sym(L, -1, big, &b) && b.start_rel && b.end_rel);
    ck_assert(ir_slice_sym(L, 0, 1, &b) && !b.start_rel && !b.end_rel);
    ck_assert(!ir_slice_sym(L, 0, 3, &b));              /* min(3, L) */
    ck_assert(!ir_slice_sym(L, -3, big, &b));           /* min(3, L) */
    ck_assert(!ir_slice_sym(L, -2, 5, &b));             /* 5 - (L - 2): -L */
    ck_assert(ir_slice_sym((Dim){4, 1u}, -3, big, &b)); /* 4*S >= 4 > 3 */
    const int64_t bounds[] = {0, 1, 2, 3, -1, -2, -5, big};
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++)
            for (int64_t step = 1; step <= 3; step++) {
                if (!ir_slice_sym(L, bounds[i], bounds[j], &b))
                    continue;
                for (int64_t len = 1; len <= 30; len++) {
                    int64_t st = bounds[i] < 0 ? bounds[i] + len : bounds[i];
                    int64_t en = bounds[j] < 0 ? bounds[j] + len : bounds[j];
                    st = st < 0 ? 0 : st > len ? len : st;
                    en = en < 0 ? 0 : en > len ? len : en;
                    int64_t want = en > st ? (en - st + step - 1) / step : 0;
                    int64_t s0 = b.start + (b.start_rel ? len : 0),
                            e0 = b.end + (b.end_rel ? len : 0);
                    /* the derived dim floor((len + end - start + step - 1) / step), or
                     * the constant length */
                    int64_t num = e0 - s0 + step - 1;
                    int64_t got = b.start_rel != b.end_rel
                                      ? (num >= 0 ? num / step : -((-num + step - 1) / step))
                                  : e0 > s0 ? num / step
                                            : 0;
                    if (want >= 1) {
                        ck_assert_int_eq(got, want);
                        ck_assert_int_eq(s0, st);
                    } else
                        ck_assert_int_lt(got, 1);
                }
            }
}
END_TEST

/* ONNX's Slice of a length len with a negative step, walked one index at a time as its
 * definition says: start (count from the end if negative) clamped to [0, len - 1], end to
 * [-1, len - 1] (INT64_MIN: -1). Python's x[start:end:step] agrees but for a start below
 * -len (Python: nothing; ONNX: from 0). Returns the count, *first the first index. */
static int64_t onnx_neg_slice(int64_t start, int64_t end, int64_t step, int64_t len, int64_t *first)
{
    int64_t s = start < 0 ? start + len : start, e = end < 0 ? end + len : end;
    s = s < 0 ? 0 : s > len - 1 ? len - 1 : s;
    e = e < -1 ? -1 : e > len - 1 ? len - 1 : e;
    int64_t n = 0;
    for (int64_t i = s; i > e; i += step)
        n++;
    *first = s;
    return n;
}

/* Negative steps: x.flip() and reflect padding's slices stay symbolic, clamping ones do
 * not; where kept, the derived length and the first index agree with onnx_neg_slice for
 * every length 1..30, and ir_slice_count (the static rule) agrees for every case. */
START_TEST(test_slice_sym_neg)
{
    const int64_t big = IR_SLICE_TO_END;
    IrSliceSym b;
    Dim L = sym(0);
    ck_assert(ir_slice_sym_neg(L, -1, -big, &b) && b.start_rel && !b.end_rel && b.end == -1);
    ck_assert(ir_slice_sym_neg(L, big, -big, &b) && b.start_rel && b.start == -1); /* flip */
    ck_assert(ir_slice_sym_neg((Dim){4, 1u}, -2, -4, &b) && b.start_rel && b.end_rel);
    ck_assert(!ir_slice_sym_neg(L, -2, -4, &b));   /* L = 1: the start clamps to 0 */
    ck_assert(!ir_slice_sym_neg(L, -3, -big, &b)); /* L = 2: from 0, not nothing */
    ck_assert(!ir_slice_sym_neg(L, 3, 0, &b));     /* x[3:0:-1]: min(3, L - 1) */
    ck_assert(ir_slice_sym_neg((Dim){4, 1u}, 3, 0, &b) && !b.start_rel && !b.end_rel);
    ck_assert(!ir_slice_sym_neg(L, 0, -1, &b)); /* the length has -L in it */
    const int64_t bounds[] = {0, 1, 2, 3, -1, -2, -3, -5, big, -big};
    int kept = 0;
    for (int i = 0; i < 10; i++)
        for (int j = 0; j < 10; j++)
            for (int64_t step = -1; step >= -3; step--) {
                bool sym_ok = ir_slice_sym_neg(L, bounds[i], bounds[j], &b);
                kept += sym_ok;
                for (int64_t len = 1; len <= 30; len++) {
                    int64_t first, want = onnx_neg_slice(bounds[i], bounds[j], step, len, &first);
                    ck_assert_int_eq(ir_slice_count(bounds[i], bounds[j], len, step), want);
                    if (want)
                        ck_assert_int_eq(ir_slice_first(bounds[i], len, step), first);
                    if (!sym_ok)
                        continue;
                    int64_t s0 = b.start + (b.start_rel ? len : 0),
                            e0 = b.end + (b.end_rel ? len : 0);
                    int64_t num = s0 - e0 - step - 1, by = -step;
                    /* the derived dim floor((len + start - end + by - 1) / by), or the
                     * constant length */
                    int64_t got = b.start_rel != b.end_rel
                                      ? (num >= 0 ? num / by : -((-num + by - 1) / by))
                                  : s0 > e0 ? num / by
                                            : 0;
                    if (want >= 1) {
                        ck_assert_int_eq(got, want);
                        ck_assert_int_eq(s0, first);
                    } else
                        ck_assert_int_lt(got, 1);
                }
            }
    ck_assert_int_gt(kept, 20);
    ck_assert_int_eq(ir_slice_count(0, 0, 0, -1), 0); /* an empty length */
}
END_TEST

/* A reshape's or expand's size entry (ir_dim_attr): a size, a bare symbol, or a symbol
 * naming a product (4*B, H*W), read back as that product so shapes compare equal. */
START_TEST(test_dim_attr)
{
    Graph *g = ir_graph_new("m");
    int B = ir_graph_symbol(g, "B"), H = ir_graph_symbol(g, "H");
    int64_t v, w;
    Dim d;
    ck_assert(ir_dim_attr(g, ir_dim(7), &v) && v == 7);
    ck_assert(ir_dim_attr(g, sym(H), &v) && v == -(1000 + H) && g->n_syms == 2);
    ck_assert(ir_dim_of_attr(g, v, &d) && ir_dim_eq(d, sym(H)));
    /* 4*B: a new symbol named "4*B", the same one the second time */
    ck_assert(ir_dim_attr(g, (Dim){4, 1u << B}, &v) && v == -1002 && g->n_syms == 3);
    ck_assert_str_eq(g->sym_names[2], "4*B");
    ck_assert(ir_dim_attr(g, (Dim){4, 1u << B}, &w) && w == v && g->n_syms == 3);
    ck_assert(ir_dim_of_attr(g, v, &d) && ir_dim_eq(d, (Dim){4, 1u << B}));
    ck_assert(ir_dim_attr(g, (Dim){1, (1u << B) | (1u << H)}, &v) && v == -1003);
    ck_assert(ir_dim_of_attr(g, v, &d) && ir_dim_eq(d, (Dim){1, (1u << B) | (1u << H)}));
    /* a derived symbol that is not a product reads back as itself */
    Dim s1;
    ck_assert(ir_dim_add_const(g, sym(H), 1, &s1) && ir_dim_attr(g, s1, &v));
    ck_assert(ir_dim_of_attr(g, v, &d) && ir_dim_eq(d, s1));
    /* entries that are neither */
    ck_assert(!ir_dim_of_attr(g, -1, &d));
    ck_assert(!ir_dim_of_attr(g, -1000 - g->n_syms, &d));
    ck_assert(!ir_dim_attr(g, (Dim){-1, 0}, &v));
    /* evaluated at run time through its definition: 4*B with B = 3 */
    int64_t vals[IR_MAX_SYMS] = {3, 5};
    ck_assert(ir_dim_of_attr(g, -1002, &d) && ir_dim_eval_ckd(d, vals, &w) && w == 12);
    ir_graph_free(g);
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
    tcase_add_test(tc, test_bind_bounds);
    tcase_add_test(tc, test_bind_equal);
    tcase_add_test(tc, test_pool_ceil_derived);
    tcase_add_test(tc, test_slice_sym);
    tcase_add_test(tc, test_slice_sym_neg);
    tcase_add_test(tc, test_dim_attr);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
