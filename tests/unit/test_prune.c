/* The prune pass (passes/prune.c) and its mask math (passes/prune_masks.c): masks of
 * hand-made weights with known answers (counts, PyTorch's half-even rounding, ties to the
 * lower index, NaN as the largest, N:M groups along the input channels, slice norms), then
 * the pass on small graphs (copies, not writes, of the payload; Value.sparsity; biases
 * untouched; layer names; global scope; a transposed linear), then its errors with their
 * places. The comparison with PyTorch itself is tests/cli/prune_torch.sh. */
#include "passes/pass.h"
#include "passes/prune.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const SrcLoc here = {"test", 1, 1};

/* "1" for kept, "0" for pruned: the mask as a string, easy to read in a failure. */
static const char *mask_str(const uint8_t *m, int64_t n)
{
    static char buf[256];
    for (int64_t i = 0; i < n; i++)
        buf[i] = m[i] ? '1' : '0';
    buf[n] = 0;
    return buf;
}

START_TEST(counts_and_rounding)
{
    PruneAmount f = {.fraction = 0.5};
    ck_assert_int_eq(pass_prune_nparams(&f, 5), 2);  /* 2.5: half to even */
    ck_assert_int_eq(pass_prune_nparams(&f, 7), 4);  /* 3.5 */
    ck_assert_int_eq(pass_prune_nparams(&f, 10), 5); /* exact */
    f.fraction = 0.3;
    ck_assert_int_eq(pass_prune_nparams(&f, 10), 3);
    f.fraction = 0.45; /* 0.45 * 50 is 22.5 in double: Python's round gives 22 */
    ck_assert_int_eq(pass_prune_nparams(&f, 50), 22);
    f.fraction = 1.0;
    ck_assert_int_eq(pass_prune_nparams(&f, 9), 9);
    f.fraction = 0.0;
    ck_assert_int_eq(pass_prune_nparams(&f, 9), 0);
    PruneAmount c = {.is_count = true, .count = 9};
    ck_assert_int_eq(pass_prune_nparams(&c, 9), 9);
    ck_assert_int_eq(pass_prune_nparams(&c, 8), -1); /* more than there are */
}
END_TEST

START_TEST(l1_masks)
{
    uint8_t m[8];
    const float w[6] = {0.5f, -0.1f, 0.3f, -0.7f, 0.2f, 0.0f};
    pass_prune_mask_l1(w, 6, 3, m);
    ck_assert_str_eq(mask_str(m, 6), "101100"); /* 0.0, |-0.1|, 0.2 */
    pass_prune_mask_l1(w, 6, 0, m);
    ck_assert_str_eq(mask_str(m, 6), "111111");
    pass_prune_mask_l1(w, 6, 6, m);
    ck_assert_str_eq(mask_str(m, 6), "000000");
    /* ties at the threshold: the lower index goes first; signs do not matter */
    const float t[6] = {1, -1, 2, 1, -2, 1};
    pass_prune_mask_l1(t, 6, 2, m);
    ck_assert_str_eq(mask_str(m, 6), "001111");
    pass_prune_mask_l1(t, 6, 5, m);
    ck_assert_str_eq(mask_str(m, 6), "000010"); /* all 1s, then the first 2 */
    /* NaN is the largest magnitude, -0 is 0, inf above every finite */
    const float s[5] = {NAN, 1, INFINITY, -0.0f, 3};
    pass_prune_mask_l1(s, 5, 3, m);
    ck_assert_str_eq(mask_str(m, 5), "10100");
    pass_prune_mask_l1(s, 5, 4, m);
    ck_assert_str_eq(mask_str(m, 5), "10000");
}
END_TEST

START_TEST(random_masks)
{
    enum { N = 200 };
    uint8_t a[N], b[N], c[N];
    pass_prune_mask_random(N, 37, 7, a);
    pass_prune_mask_random(N, 37, 7, b);
    pass_prune_mask_random(N, 37, 8, c);
    int za = 0, diff = 0;
    for (int i = 0; i < N; i++) {
        za += a[i] == 0;
        diff += a[i] != c[i];
    }
    ck_assert_int_eq(za, 37);             /* exactly the count */
    ck_assert_int_eq(memcmp(a, b, N), 0); /* the seed decides */
    ck_assert_int_gt(diff, 0);            /* another seed, other positions */
    pass_prune_mask_random(N, N, 3, a);   /* all */
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(a[i], 0);
}
END_TEST

START_TEST(ln_masks)
{
    /* [3, 2]: rows (3, 4), (1, 1), (0, -2) */
    const float w[6] = {3, 4, 1, 1, 0, -2};
    const int64_t shape[2] = {3, 2};
    double norms[3];
    pass_prune_slice_norms(w, 2, shape, 0, 2, norms);
    ck_assert(fabs(norms[0] - 5) < 1e-12 && fabs(norms[1] - sqrt(2)) < 1e-12 &&
              fabs(norms[2] - 2) < 1e-12);
    pass_prune_slice_norms(w, 2, shape, 0, INFINITY, norms);
    ck_assert(norms[0] == 4 && norms[1] == 1 && norms[2] == 2);
    pass_prune_slice_norms(w, 2, shape, 1, 1, norms); /* columns: |3|+|1|+|0|, |4|+|1|+|-2| */
    ck_assert(norms[0] == 4 && norms[1] == 7);
    uint8_t m[8];
    pass_prune_mask_ln(w, 2, shape, 0, 2, 1, m);
    ck_assert_str_eq(mask_str(m, 6), "110011"); /* row 1 */
    pass_prune_mask_ln(w, 2, shape, 0, 2, 2, m);
    ck_assert_str_eq(mask_str(m, 6), "110000"); /* rows 1 and 2 */
    /* L1: rows 7, 2, 2 tie: the lower index goes first */
    pass_prune_mask_ln(w, 2, shape, 0, 1, 1, m);
    ck_assert_str_eq(mask_str(m, 6), "110011");
    pass_prune_mask_ln(w, 2, shape, 1, 1, 1, m); /* column 0 */
    ck_assert_str_eq(mask_str(m, 6), "010101");
    /* a conv's [O, C, kh, kw]: the norm is over C, kh, kw */
    const float c[8] = {1, 1, 1, 1, 0.5f, 0.5f, 0.5f, 3};
    const int64_t cs[4] = {2, 2, 1, 2};
    pass_prune_mask_ln(c, 4, cs, 0, 2, 1, m); /* 2 vs sqrt(9.75) */
    ck_assert_str_eq(mask_str(m, 8), "00001111");
}
END_TEST

START_TEST(nm_masks)
{
    uint8_t m[16];
    /* a linear [2, 8]: groups of 4 along K */
    const float w[16] = {0.1f, -0.5f, 0.3f, 0.2f, 1, 1, 1, 1, 4, 3, 2, 1, -1, 0, 0, 2};
    const int64_t ls[2] = {2, 8};
    pass_prune_mask_nm(w, 2, ls, 2, 4, m);
    ck_assert_str_eq(mask_str(m, 16), "0110"
                                      "0011"
                                      "1100"
                                      "1001");
    pass_prune_mask_nm(w, 2, ls, 1, 4, m);
    ck_assert_str_eq(mask_str(m, 16), "0100"
                                      "0001"
                                      "1000"
                                      "0001");
    /* a conv [1, 4, 1, 2]: the groups run along C, two of them (kw = 0 and kw = 1) */
    const float c[8] = {/* c0 */ 5, 1, /* c1 */ 1, 6, /* c2 */ 2, 2, /* c3 */ 3, 7};
    const int64_t cs[4] = {1, 4, 1, 2};
    pass_prune_mask_nm(c, 4, cs, 2, 4, m);
    /* kw=0: 5,1,2,3 keep 5,3; kw=1: 1,6,2,7 keep 6,7 */
    ck_assert_str_eq(mask_str(m, 8), "10"
                                     "01"
                                     "00"
                                     "11");
}
END_TEST

START_TEST(patterns)
{
    char buf[64];
    const int64_t s[2] = {2, 4};
    const float dense[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    ck_assert_str_eq(pass_prune_pattern(dense, 2, s, buf, sizeof buf), "dense");
    const float ch[8] = {0, 0, 0, 0, 5, 6, 7, 8};
    ck_assert_str_eq(pass_prune_pattern(ch, 2, s, buf, sizeof buf), "channels (1 of 2 zero)");
    const float nm[8] = {0, 2, 0, 4, 5, 0, 0, 8};
    ck_assert_str_eq(pass_prune_pattern(nm, 2, s, buf, sizeof buf), "n:m 2:4");
    const float un[8] = {0, 2, 3, 4, 5, 0, 0, 0};
    ck_assert_str_eq(pass_prune_pattern(un, 2, s, buf, sizeof buf), "unstructured");
}
END_TEST

/* ---- the pass on graphs ---- */

static float *payload(Graph *g, int64_t n, float base)
{
    float *p = ir_arena_alloc(g->arena, sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) /* distinct magnitudes, mixed signs */
        p[i] = (base + (float)((i * 7) % n)) * (i % 3 ? 1.0f : -1.0f);
    return p;
}

static ValueId cst(Graph *g, const char *name, int rank, const int64_t *dims, float base)
{
    Type t = {.dtype = IR_F32, .shape = {.rank = rank}};
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        t.shape.d[i] = ir_dim(dims[i]);
        n *= dims[i];
    }
    return ir_const_new(g, name, t, payload(g, n, base), sizeof(float) * (size_t)n, here);
}

/* x[2, 8] -> fc1 (8 -> 6) -> relu -> fc2 (6 -> 4); fc2's weights 100x larger than fc1's */
static Graph *two_linears(ValueId *w1, ValueId *b1, ValueId *w2)
{
    Graph *g = ir_graph_new("mlp");
    Type xt = {.dtype = IR_F32, .shape = {2, {ir_dim(2), ir_dim(8)}}};
    ValueId x = ir_input_new(g, "x", xt, here);
    *w1 = cst(g, "fc1.weight", 2, (const int64_t[]){6, 8}, 1);
    *b1 = cst(g, "fc1.bias", 1, (const int64_t[]){6}, 1);
    *w2 = cst(g, "fc2.weight", 2, (const int64_t[]){4, 6}, 100);
    ValueId in1[3] = {x, *w1, *b1};
    NodeId n1 = ir_node_new(g, IR_OP_LINEAR, "fc1", here, in1, 3, 1);
    ValueId h = g->nodes[n1].outputs[0];
    NodeId r = ir_node_new(g, IR_OP_RELU, "relu", here, &h, 1, 1);
    ValueId in2[2] = {g->nodes[r].outputs[0], *w2};
    NodeId n2 = ir_node_new(g, IR_OP_LINEAR, "fc2", here, in2, 2, 1);
    ir_output_add(g, g->nodes[n2].outputs[0]);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    return g;
}

static int zeros(const Graph *g, ValueId v)
{
    const float *p = g->values[v].data;
    int z = 0;
    for (size_t i = 0; i < g->values[v].data_bytes / sizeof(float); i++)
        z += p[i] == 0;
    return z;
}

static void run_ok(Graph *g, const char *pipeline)
{
    Diag d;
    ir_diag_init(&d);
    PassRunOptions o = {.verify = true};
    ck_assert_msg(pass_pipeline_run(g, pipeline, (SrcLoc){0}, &o, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
}

START_TEST(pass_layer_scope)
{
    ValueId w1, b1, w2;
    Graph *g = two_linears(&w1, &b1, &w2);
    const void *orig1 = g->values[w1].data, *origb = g->values[b1].data;
    float before[48];
    memcpy(before, orig1, sizeof before);
    run_ok(g, "prune(amount=0.25)");
    ck_assert_int_eq(zeros(g, w1), 12); /* 48 * 0.25 */
    ck_assert_int_eq(zeros(g, w2), 6);  /* 24 * 0.25 */
    ck_assert_int_eq(zeros(g, b1), 0);  /* biases untouched */
    ck_assert_ptr_eq(g->values[b1].data, origb);
    /* a copy was pruned: the old payload (mmapped, shared) is as it was */
    ck_assert_ptr_ne(g->values[w1].data, orig1);
    ck_assert_int_eq(memcmp(orig1, before, sizeof before), 0);
    ck_assert_float_eq_tol(g->values[w1].sparsity, 0.25f, 1e-6f);
    ck_assert_float_eq_tol(g->values[w2].sparsity, 0.25f, 1e-6f);
    /* the smallest magnitudes went: fc1's payload is (1 + (7i mod 48)), signs mixed */
    const float *p = g->values[w1].data;
    for (int i = 0; i < 48; i++)
        ck_assert_msg((p[i] == 0) == (fabsf(before[i]) < 13), "element %d", i);
    ir_graph_free(g);
}
END_TEST

START_TEST(pass_names_and_counts)
{
    ValueId w1, b1, w2;
    Graph *g = two_linears(&w1, &b1, &w2);
    run_ok(g, "prune(fc2, amount=5)"); /* a count */
    ck_assert_int_eq(zeros(g, w1), 0);
    ck_assert_int_eq(zeros(g, w2), 5);
    run_ok(g, "prune(\"fc1.weight\", 50%)"); /* a weight's name; the positional amount */
    ck_assert_int_eq(zeros(g, w1), 24);
    ir_graph_free(g);
}
END_TEST

START_TEST(pass_global_scope)
{
    ValueId w1, b1, w2;
    Graph *g = two_linears(&w1, &b1, &w2);
    /* 72 weights, 36 pruned together: all of fc1's 48 are smaller than fc2's, so the 36
     * come from fc1 alone */
    run_ok(g, "prune(amount=0.5, scope=global)");
    ck_assert_int_eq(zeros(g, w1), 36);
    ck_assert_int_eq(zeros(g, w2), 0);
    ck_assert_float_eq_tol(g->values[w1].sparsity, 0.75f, 1e-6f);
    ck_assert_float_eq_tol(g->values[w2].sparsity, 0.0f, 1e-6f);
    ir_graph_free(g);
}
END_TEST

START_TEST(pass_transposed_linear)
{
    /* layout stores a linear's weight as [K, N]: pruning after it gives the same zeros */
    ValueId w1, b1, w2, v1, c1, v2;
    Graph *a = two_linears(&w1, &b1, &w2);
    Graph *b = two_linears(&v1, &c1, &v2);
    run_ok(a, "prune(method=ln_structured, amount=0.5, dim=1),layout");
    run_ok(b, "layout,prune(method=ln_structured, amount=0.5, dim=1)");
    /* find each fc1 weight as the node reads it */
    const Value *wa = &a->values[a->nodes[0].inputs[1]], *wb = &b->values[b->nodes[0].inputs[1]];
    ck_assert_int_eq(ir_attr_w_transposed(&b->nodes[0]), 1);
    ck_assert_uint_eq(wa->data_bytes, wb->data_bytes);
    ck_assert_int_eq(memcmp(wa->data, wb->data, wa->data_bytes), 0);
    ck_assert_float_eq_tol(wb->sparsity, 0.5f, 1e-6f);
    ir_graph_free(a);
    ir_graph_free(b);
}
END_TEST

START_TEST(pass_nm_and_ln)
{
    ValueId w1, b1, w2;
    Graph *g = two_linears(&w1, &b1, &w2);
    run_ok(g, "prune(fc1, method=nm)"); /* 2:4 along K = 8 */
    ck_assert_int_eq(zeros(g, w1), 24);
    char buf[64];
    ck_assert_str_eq(
        pass_prune_pattern(g->values[w1].data, 2, (const int64_t[]){6, 8}, buf, sizeof buf),
        "n:m 2:4");
    ir_graph_free(g);
    g = two_linears(&w1, &b1, &w2);
    run_ok(g, "prune(fc1, method=nm, m=8)"); /* n defaults to m / 2: 4:8, one group a row */
    ck_assert_int_eq(zeros(g, w1), 24);
    const float *p = g->values[w1].data;
    for (int r = 0; r < 6; r++) {
        int z = 0;
        for (int k = 0; k < 8; k++)
            z += p[r * 8 + k] == 0;
        ck_assert_int_eq(z, 4);
    }
    run_ok(g, "prune(fc2, method=ln_structured, n=inf, amount=0.5)"); /* 2 of 4 rows */
    ck_assert_int_eq(zeros(g, w2), 12);
    ck_assert_str_eq(
        pass_prune_pattern(g->values[w2].data, 2, (const int64_t[]){4, 6}, buf, sizeof buf),
        "channels (2 of 4 zero)");
    ir_graph_free(g);
}
END_TEST

/* The pipeline must fail with exactly want, and leave every weight as it was. */
static void expect_error(const char *pipeline, const char *want)
{
    ValueId w1, b1, w2;
    Graph *g = two_linears(&w1, &b1, &w2);
    const void *p1 = g->values[w1].data, *p2 = g->values[w2].data;
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(!pass_pipeline_run(g, pipeline, (SrcLoc){0}, NULL, &d), "%s ran", pipeline);
    ck_assert_str_eq(ir_diag_text(&d), want);
    ck_assert_ptr_eq(g->values[w1].data, p1); /* nothing pruned */
    ck_assert_ptr_eq(g->values[w2].data, p2);
    ir_diag_fini(&d);
    ir_graph_free(g);
}

START_TEST(pass_errors)
{
    expect_error("prune(amount=1.5)",
                 "--passes:1:7: error: prune: amount=1.5 is outside [0, 1] (a fraction; a whole "
                 "number such as 100 is a count of weights)\n"
                 "  prune(amount=1.5)\n"
                 "        ^\n");
    expect_error("prune(fc2, amount=25)",
                 "--passes:1:12: error: prune: amount=25 is more than the 24 weights of 'fc2' "
                 "(fc2.weight)\n"
                 "  prune(fc2, amount=25)\n"
                 "             ^\n");
    expect_error("prune(amount=73, scope=global)",
                 "--passes:1:7: error: prune: amount=73 is more than the 72 weights of the 2 "
                 "layers pruned together\n"
                 "  prune(amount=73, scope=global)\n"
                 "        ^\n");
    expect_error("prune(fcc1, amount=0.5)",
                 "--passes:1:7: error: prune: no layer 'fcc1' in model 'mlp'; did you mean 'fc1'?\n"
                 "  prune(fcc1, amount=0.5)\n"
                 "        ^\n");
    expect_error("prune(relu, amount=0.5)",
                 "--passes:1:7: error: prune: 'relu' is a relu; prune takes conv2d and linear "
                 "layers whose weight is an f32 constant\n"
                 "  prune(relu, amount=0.5)\n"
                 "        ^\n");
    expect_error("prune(fc2, method=ln_structured, amount=4)",
                 "--passes:1:34: error: prune: amount=4 would remove all 4 output channels of "
                 "'fc2' (dim 0); keep at least one\n"
                 "  prune(fc2, method=ln_structured, amount=4)\n"
                 "                                   ^\n");
    expect_error("prune(fc2, method=nm, m=4)",
                 "--passes:1:23: error: prune: m=4 does not divide the 6 input features of 'fc2' "
                 "(N:M groups run along them)\n"
                 "  prune(fc2, method=nm, m=4)\n"
                 "                        ^\n");
    expect_error("prune(method=l0)", "--passes:1:7: error: prune: unknown method 'l0' (methods: "
                                     "l1_unstructured, random_unstructured, ln_structured, nm)\n"
                                     "  prune(method=l0)\n"
                                     "        ^\n");
    expect_error("prune(amount=0.5, ratio=2)",
                 "--passes:1:19: error: pass 'prune' has no argument 'ratio' (its arguments: "
                 "method amount scope seed n dim m remove)\n"
                 "  prune(amount=0.5, ratio=2)\n"
                 "                    ^\n");
    expect_error("prune(fc1)", "--passes:1:1: error: prune: give amount= (a fraction such as 0.5 "
                               "or 50%, or a count of weights such as 100)\n"
                               "  prune(fc1)\n"
                               "  ^\n");
    /* a default nm layer that does not fit is left dense with a warning; the rest is pruned */
    ValueId w1, b1, w2;
    Graph *g = two_linears(&w1, &b1, &w2);
    Diag d;
    ir_diag_init(&d);
    ck_assert(pass_pipeline_run(g, "prune(method=nm)", (SrcLoc){0}, NULL, &d));
    ck_assert(strstr(ir_diag_text(&d), "warning: prune: 'fc2' left dense") != NULL);
    ck_assert_int_eq(zeros(g, w1), 24);
    ck_assert_int_eq(zeros(g, w2), 0);
    ir_diag_fini(&d);
    ir_graph_free(g);
    /* a model with nothing to prune: a warning, not an error */
    g = ir_graph_new("t");
    Type t = {.dtype = IR_F32, .shape = {1, {ir_dim(4)}}};
    ValueId x = ir_input_new(g, "x", t, here);
    NodeId r = ir_node_new(g, IR_OP_RELU, "r", here, &x, 1, 1);
    ir_output_add(g, g->nodes[r].outputs[0]);
    ir_diag_init(&d);
    ck_assert(ir_infer_shapes(g, &d));
    ck_assert(pass_pipeline_run(g, "prune(amount=0.5)", (SrcLoc){0}, NULL, &d));
    ck_assert_str_eq(ir_diag_text(&d),
                     "--passes:1:1: warning: prune: model 't' has no conv2d or linear layer whose "
                     "weight is an f32 constant: nothing pruned\n"
                     "  prune(amount=0.5)\n"
                     "  ^\n");
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

/* Layer names: the path prefix rule, and PyTorch's exported node names in the importer's
 * form ("/layer1/layer1.0/conv1/Conv" -> _layer1_layer1.0_conv1_Conv) named by the module
 * path a PyTorch user knows. */
START_TEST(layer_names)
{
    ck_assert(pass_name_matches("layer3", "layer3.0.conv1"));
    ck_assert(pass_name_matches("layer3", "layer3/conv"));
    ck_assert(!pass_name_matches("layer3", "layer30"));
    ck_assert(pass_name_matches("fc1", "fc1.weight"));
    ck_assert(pass_name_matches("fc1", "_fc1_MatMul"));
    ck_assert(!pass_name_matches("fc", "_fc1_MatMul"));
    ck_assert(!pass_name_matches("fc1", "_fc1"));
    ck_assert(pass_name_matches("layer1.0.conv1", "_layer1_layer1.0_conv1_Conv"));
    ck_assert(pass_name_matches("layer1.0", "_layer1_layer1.0_conv2_Conv"));
    ck_assert(pass_name_matches("layer1", "_layer1_layer1.1_conv2_Conv"));
    ck_assert(!pass_name_matches("layer1.0.conv1", "_layer1_layer1.0_conv2_Conv"));
    ck_assert(!pass_name_matches("layer1.1", "_layer1_layer1.0_conv1_Conv"));
    ck_assert(!pass_name_matches("conv1", "_layer1_layer1.0_conv1_Conv"));
    /* nested numbered children, and a ModuleList without a component of its own */
    ck_assert(pass_name_matches("m.layers.8.0.layers.3",
                                "_m_layers_layers.8_layers.8.0_layers_layers.3_Conv"));
    ck_assert(pass_name_matches("enc.layers.0.linear1", "_enc_layers.0_linear1_MatMul"));
    ck_assert(!pass_name_matches("enc.layers.1.linear1", "_enc_layers.0_linear1_MatMul"));
    ck_assert(pass_name_matches("_fc1_MatMul", "_fc1_MatMul"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("prune");
    TCase *tm = tcase_create("masks");
    tcase_add_test(tm, counts_and_rounding);
    tcase_add_test(tm, l1_masks);
    tcase_add_test(tm, random_masks);
    tcase_add_test(tm, ln_masks);
    tcase_add_test(tm, nm_masks);
    tcase_add_test(tm, patterns);
    suite_add_tcase(s, tm);
    TCase *tp = tcase_create("pass");
    tcase_add_test(tp, pass_layer_scope);
    tcase_add_test(tp, pass_names_and_counts);
    tcase_add_test(tp, pass_global_scope);
    tcase_add_test(tp, pass_transposed_linear);
    tcase_add_test(tp, pass_nm_and_ln);
    tcase_add_test(tp, pass_errors);
    tcase_add_test(tp, layer_names);
    suite_add_tcase(s, tp);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
