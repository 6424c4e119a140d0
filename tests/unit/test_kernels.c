/* The fast fp32 kernels of runtime/slimc_rt.h (blocked GEMM, GEMV, implicit-GEMM conv)
 * through the C backend against the reference evaluator: shapes that hit every tile
 * size, column tail, k block and im2col case, at 1 and 3 threads; then the same graphs
 * compiled for the portable baseline (-march=x86-64-v2, as AOT builds are) and run with
 * SLIMC_MAX_ISA=avx512, avx2 and generic, so each run-time-dispatched path is checked.
 * Tolerance: 1e-4 of max|ref| (the summation order differs from the reference's). */
#include "support_cg.h"

#include "ir/eval.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static unsigned seed = 777;

#define D(...) ((const int64_t[]){__VA_ARGS__})

static ValueId input(Graph *g, const char *name, int rank, const int64_t *dims, RtTensor *t)
{
    return sup_input(g, name, rank, dims, t, &seed);
}

static NodeId node(Graph *g, OpKind op, const char *name, const ValueId *ins, int n)
{
    return ir_node_new(g, op, name, (SrcLoc){0}, ins, n, 1);
}

static void add_relu(Graph *g, NodeId n)
{
    Node *nd = &g->nodes[n];
    nd->epilogue[nd->n_epilogue].op = IR_OP_RELU;
    nd->epilogue[nd->n_epilogue].operand = IR_NONE;
    nd->epilogue[nd->n_epilogue].operand_first = false;
    nd->n_epilogue++;
}

/* Makes the lone relu epilogue of the graph's last node a relu6 (applied by the conv
 * kernels themselves, as relu is). */
static void last_relu6(Graph *g)
{
    Node *nd = &g->nodes[g->n_nodes - 1];
    ck_assert_int_eq(nd->n_epilogue, 1);
    nd->epilogue[0].op = IR_OP_RELU6;
}

/* Makes the lone relu epilogue of the graph's last node a hardswish (applied by the
 * depthwise kernels themselves). */
static void last_hardswish(Graph *g)
{
    Node *nd = &g->nodes[g->n_nodes - 1];
    ck_assert_int_eq(nd->n_epilogue, 1);
    nd->epilogue[0].op = IR_OP_HARDSWISH;
}

/* linear x [M, K] -> [M, N], w [K, N] (tr) or [N, K], with bias; relu epilogue if ep. */
static void add_linear(Graph *g, RtTensor *in, int *n_in, int64_t M, int64_t K, int64_t N, bool tr,
                       bool ep)
{
    char nm[32];
    snprintf(nm, sizeof nm, "x%d", *n_in);
    ValueId x = input(g, nm, 2, D(M, K), &in[*n_in]);
    (*n_in)++;
    ValueId w =
        tr ? sup_const_rand(g, "w", 2, D(K, N), &seed) : sup_const_rand(g, "w", 2, D(N, K), &seed);
    ValueId ins[3] = {x, w, sup_const_rand(g, "b", 1, D(N), &seed)};
    NodeId n = node(g, IR_OP_LINEAR, "fc", ins, 3);
    if (tr)
        ir_node_set_int(g, n, "w_transposed", 1);
    if (ep)
        add_relu(g, n);
    ir_output_add(g, g->nodes[n].outputs[0]);
}

static void add_conv(Graph *g, RtTensor *in, int *n_in, int64_t B, int64_t C, int64_t H, int64_t W,
                     int64_t O, int64_t k, int64_t stride, int64_t pad, int64_t dil, int64_t groups,
                     bool bias)
{
    char nm[32];
    snprintf(nm, sizeof nm, "x%d", *n_in);
    ValueId x = input(g, nm, 4, D(B, C, H, W), &in[*n_in]);
    (*n_in)++;
    ValueId ins[3] = {x, sup_const_rand(g, "w", 4, D(O, C / groups, k, k), &seed),
                      bias ? sup_const_rand(g, "b", 1, D(O), &seed) : IR_NONE};
    NodeId n = node(g, IR_OP_CONV2D, "conv", ins, bias ? 3 : 2);
    ir_node_set_int(g, n, "stride", stride);
    ir_node_set_int(g, n, "padding", pad);
    ir_node_set_int(g, n, "dilation", dil);
    ir_node_set_int(g, n, "groups", groups);
    add_relu(g, n);
    ir_output_add(g, g->nodes[n].outputs[0]);
}

/* g with its shapes inferred (every graph builder's last step). */
static Graph *shaped(Graph *g)
{
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "shapes: %s", ir_diag_text(&d));
    ir_diag_fini(&d);
    return g;
}

/* Linears: the GEMV tile (M = 1) with a 256-column tile and a tail, every row tile
 * (14, 8, 4, 2, 1), column tails, K = 1, and B [N, K] packed in several k blocks. */
static Graph *linear_graph(RtTensor *in, int *n_in)
{
    Graph *g = ir_graph_new("lin");
    *n_in = 0;
    add_linear(g, in, n_in, 1, 300, 300, true, true);
    add_linear(g, in, n_in, 1, 784, 512, true, false);
    add_linear(g, in, n_in, 1, 50, 10, false, true);
    add_linear(g, in, n_in, 15, 130, 33, false, true);
    add_linear(g, in, n_in, 29, 7, 300, true, false);
    add_linear(g, in, n_in, 64, 64, 10, true, true);
    add_linear(g, in, n_in, 57, 1, 31, true, false);
    /* a NaN and an infinity in the input must reach the output as the reference has them */
    add_linear(g, in, n_in, 3, 20, 17, true, false);
    ((float *)in[*n_in - 1].data)[5] = NAN;
    ((float *)in[*n_in - 1].data)[45] = INFINITY;
    return shaped(g);
}

/* Convs: more than one k block (CG*KH*KW > 256), channel counts off the 14-row tile,
 * pixel counts off the 64-pixel panel and its 32-column tiles (tails of 16 or less), a stride-2 7x7
 * stem, 1x1 read in place and 1x1 stride 2 (packed), grouped with dilation and padding, one input
 * channel, wide padded rows, stride 3. */
static Graph *conv_graph(RtTensor *in, int *n_in)
{
    Graph *g = ir_graph_new("conv");
    *n_in = 0;
    add_conv(g, in, n_in, 2, 40, 9, 11, 30, 3, 1, 1, 1, 1, true);
    add_conv(g, in, n_in, 1, 3, 23, 21, 17, 7, 2, 3, 1, 1, true);
    add_conv(g, in, n_in, 2, 16, 10, 10, 33, 1, 1, 0, 1, 1, false);
    add_conv(g, in, n_in, 1, 16, 13, 13, 20, 1, 2, 0, 1, 1, true);
    add_conv(g, in, n_in, 1, 12, 9, 9, 8, 3, 1, 2, 2, 2, true);
    add_conv(g, in, n_in, 3, 1, 28, 28, 20, 5, 1, 0, 1, 1, true);
    add_conv(g, in, n_in, 1, 64, 7, 7, 70, 3, 1, 1, 1, 1, true);
    add_conv(g, in, n_in, 1, 8, 20, 37, 16, 5, 1, 2, 1, 1,
             true); /* runs cut at 16, clipped at both edges */
    add_conv(g, in, n_in, 1, 4, 17, 17, 6, 3, 3, 1, 1, 1, false); /* stride 3: the plain run copy */
    /* the table-driven im2col (two or more channels per panel): stride 2 with padding and
     * rows over 16 outputs wide, and stride 1 with dilation 2 */
    add_conv(g, in, n_in, 1, 8, 15, 37, 12, 3, 2, 1, 1, 1, true);
    add_conv(g, in, n_in, 1, 5, 12, 30, 9, 3, 1, 2, 2, 1, false);
    /* relu6 in the kernel: a 1x1 over 64 channels (outputs past 6) and a 3x3 */
    add_conv(g, in, n_in, 1, 64, 6, 9, 20, 1, 1, 0, 1, 1, true);
    last_relu6(g);
    add_conv(g, in, n_in, 1, 64, 5, 7, 9, 3, 1, 1, 1, 1, true);
    last_relu6(g);
    return shaped(g);
}

/* Depthwise convs (one input channel per group), through slimc_rt_dw_plane. */
static Graph *dw_graph(RtTensor *in, int *n_in)
{
    Graph *g = ir_graph_new("dw");
    *n_in = 0;
    /* depthwise: stride 1 and 2 with padding, rows over 16 wide, a channel multiplier,
     * dilation (the plain plane kernel), 5x5, stride 3 (the plain plane kernel, hardswish) */
    add_conv(g, in, n_in, 2, 6, 19, 35, 6, 3, 1, 1, 1, 6, true);
    add_conv(g, in, n_in, 1, 6, 20, 37, 6, 3, 2, 1, 1, 6, true);
    add_conv(g, in, n_in, 1, 3, 9, 9, 6, 3, 1, 2, 2, 3, false);
    add_conv(g, in, n_in, 1, 4, 14, 14, 4, 5, 2, 2, 1, 4, true);
    add_conv(g, in, n_in, 1, 4, 14, 14, 4, 3, 3, 1, 1, 4, true);
    last_hardswish(g);
    /* the 3x3 register-blocked depthwise kernel: stride 1 and 2, padding 0, 1 and 2, row
     * counts off its 4-row block, widths under, at and over 16 and 32 (column tails), and
     * a plane narrower than the kernel's 16 lanes; relu6 and hardswish */
    add_conv(g, in, n_in, 1, 5, 10, 33, 5, 3, 1, 0, 1, 5, true);
    add_conv(g, in, n_in, 2, 3, 7, 7, 3, 3, 1, 1, 1, 3, true);
    add_conv(g, in, n_in, 1, 4, 9, 40, 4, 3, 2, 2, 1, 4, false);
    add_conv(g, in, n_in, 1, 3, 11, 17, 3, 3, 2, 0, 1, 3, true);
    add_conv(g, in, n_in, 1, 2, 14, 16, 2, 3, 2, 1, 1, 2, true);
    add_conv(g, in, n_in, 1, 2, 6, 64, 2, 3, 1, 2, 1, 2, true);
    last_hardswish(g);
    add_conv(g, in, n_in, 1, 4, 9, 20, 4, 3, 2, 1, 1, 4, true);
    last_relu6(g);
    add_conv(g, in, n_in, 1, 3, 8, 8, 3, 5, 1, 2, 1, 3, true); /* relu6, the 5x5 kernel */
    last_relu6(g);
    return shaped(g);
}

/* Depthwise 5x5 and 7x7 (at most 16 inputs a graph: support_cg.c). */
static Graph *dwk_graph(RtTensor *in, int *n_in)
{
    Graph *g = ir_graph_new("dwk");
    *n_in = 0;
    /* the 5x5 and 7x7 register-blocked kernel: stride 1 and 2, padding 0 to 3, row counts
     * leaving 0 to 3 rows after its 4-row blocks, widths over 16 and 32, a channel
     * multiplier, relu6, hardswish (and three planes at most 8 wide: the row-pair kernel) */
    add_conv(g, in, n_in, 1, 5, 7, 7, 5, 5, 1, 2, 1, 5, true);
    add_conv(g, in, n_in, 2, 3, 14, 14, 3, 5, 1, 2, 1, 3, false);
    add_conv(g, in, n_in, 1, 3, 29, 37, 3, 5, 2, 2, 1, 3, true);
    add_conv(g, in, n_in, 1, 2, 9, 40, 2, 5, 1, 0, 1, 2, true);
    add_conv(g, in, n_in, 1, 2, 12, 70, 2, 5, 2, 1, 1, 2, true);
    last_hardswish(g);
    add_conv(g, in, n_in, 1, 3, 6, 6, 6, 5, 1, 3, 1, 3, true);
    add_conv(g, in, n_in, 1, 3, 10, 18, 3, 7, 1, 3, 1, 3, true);
    add_conv(g, in, n_in, 1, 2, 13, 33, 2, 7, 2, 3, 1, 2, false);
    add_conv(g, in, n_in, 1, 2, 16, 16, 2, 7, 2, 0, 1, 2, true);
    last_relu6(g);
    add_conv(g, in, n_in, 1, 4, 11, 50, 4, 7, 1, 1, 1, 4, true);
    return shaped(g);
}

/* Depthwise 3x3, 5x5 and 7x7 planes at most 8 outputs wide (two rows a vector): stride 1
 * and 2, row counts over 8 leaving 1 to 6 rows (odd and even), widths 1 to 8, two images, a
 * channel multiplier, relu6, hardswish; 3x3 (mobilenet_v2's 7x7 stage): padding 0, 1 and 2,
 * 7x7 and 14x14 to 7x7 as in the network, 9 rows of 5, one row of 8, 10 to 8 unpadded. */
static Graph *dwp_graph(RtTensor *in, int *n_in)
{
    Graph *g = ir_graph_new("dwp");
    *n_in = 0;
    add_conv(g, in, n_in, 1, 4, 14, 7, 4, 5, 1, 2, 1, 4, true);
    add_conv(g, in, n_in, 1, 3, 14, 14, 3, 5, 2, 2, 1, 3, true);
    add_conv(g, in, n_in, 2, 2, 9, 8, 2, 5, 1, 2, 1, 2, false);
    add_conv(g, in, n_in, 1, 2, 5, 3, 2, 5, 1, 1, 1, 2, true);
    add_conv(g, in, n_in, 1, 3, 20, 15, 3, 5, 2, 1, 1, 3, true);
    last_relu6(g);
    add_conv(g, in, n_in, 1, 2, 12, 6, 2, 7, 1, 3, 1, 2, true);
    last_hardswish(g);
    add_conv(g, in, n_in, 1, 2, 11, 13, 2, 7, 2, 3, 1, 2, false);
    add_conv(g, in, n_in, 1, 3, 4, 4, 6, 5, 1, 2, 1, 3, true);
    add_conv(g, in, n_in, 2, 3, 7, 7, 3, 3, 1, 1, 1, 3, true);
    last_relu6(g);
    add_conv(g, in, n_in, 1, 4, 14, 14, 4, 3, 2, 1, 1, 4, true);
    last_hardswish(g);
    add_conv(g, in, n_in, 1, 2, 9, 5, 4, 3, 1, 1, 1, 2, false);
    add_conv(g, in, n_in, 1, 2, 1, 8, 2, 3, 1, 1, 1, 2, true);
    add_conv(g, in, n_in, 1, 3, 10, 10, 3, 3, 1, 0, 1, 3, true);
    add_conv(g, in, n_in, 1, 2, 13, 11, 2, 3, 2, 2, 1, 2, true);
    return shaped(g);
}

/* max_pool2d through slimc_rt_maxpool_plane: stride 1, 2 (the vector paths, rows over 16
 * outputs wide; the 3-wide stride-2 path) and 3, padding, dilation, ceil_mode; some NaNs
 * and signed zeros. */
static void add_pool(Graph *g, RtTensor *in, int *n_in, int64_t C, int64_t H, int64_t W, int64_t k,
                     int64_t st, int64_t pad, int64_t dil, int64_t ceil_mode)
{
    ValueId x = input(g, "x", 4, D(1, C, H, W), &in[*n_in]);
    float *xd = in[*n_in].data;
    for (int64_t i = 0; i < C * H * W; i += 97)
        xd[i] = (i / 97) % 3 == 0 ? NAN : (i / 97) % 3 == 1 ? 0.0f : -0.0f;
    (*n_in)++;
    NodeId n = node(g, IR_OP_MAX_POOL2D, "pool", &x, 1);
    ir_node_set_ints(g, n, "kernel", D(k, k), 2);
    ir_node_set_ints(g, n, "stride", D(st, st), 2);
    ir_node_set_ints(g, n, "padding", D(pad, pad), 2);
    ir_node_set_ints(g, n, "dilation", D(dil, dil), 2);
    ir_node_set_int(g, n, "ceil_mode", ceil_mode);
    ir_output_add(g, g->nodes[n].outputs[0]);
}

static Graph *pool_graph(RtTensor *in, int *n_in)
{
    Graph *g = ir_graph_new("pool");
    *n_in = 0;
    add_pool(g, in, n_in, 3, 20, 70, 3, 2, 1, 1, 0);
    add_pool(g, in, n_in, 2, 24, 40, 2, 2, 0, 1, 0);
    add_pool(g, in, n_in, 2, 9, 50, 3, 1, 1, 1, 0);
    add_pool(g, in, n_in, 2, 11, 60, 3, 2, 1, 2, 0);
    add_pool(g, in, n_in, 2, 10, 50, 3, 3, 0, 1, 0);
    add_pool(g, in, n_in, 1, 7, 37, 2, 2, 0, 1, 1);
    /* 3 wide at stride 2 (rows kept for the next window): ceil_mode overhanging the right
     * and bottom edges, padding 1, one column block and several */
    add_pool(g, in, n_in, 2, 13, 71, 3, 2, 0, 1, 1);
    add_pool(g, in, n_in, 2, 12, 34, 3, 2, 1, 1, 1);
    add_pool(g, in, n_in, 1, 10, 10, 3, 2, 1, 1, 1);
    return shaped(g);
}

static void free_inputs(RtTensor *in, int n)
{
    for (int i = 0; i < n; i++)
        free(in[i].data);
}

START_TEST(test_native_threads)
{
    static const int threads[] = {1, 3};
    RtTensor in[32];
    int n_in;
    char msg[4096];
    Graph *g = linear_graph(in, &n_in);
    bool ok = sup_check(g, in, threads, 2, 1e-4, msg, sizeof msg);
    free_inputs(in, n_in);
    ir_graph_free(g);
    ck_assert_msg(ok, "linears: %s", msg);
    g = conv_graph(in, &n_in);
    ok = sup_check(g, in, threads, 2, 1e-4, msg, sizeof msg);
    free_inputs(in, n_in);
    ir_graph_free(g);
    ck_assert_msg(ok, "convs: %s", msg);
    g = dw_graph(in, &n_in);
    ok = sup_check(g, in, threads, 2, 1e-4, msg, sizeof msg);
    free_inputs(in, n_in);
    ir_graph_free(g);
    ck_assert_msg(ok, "depthwise convs: %s", msg);
    g = dwk_graph(in, &n_in);
    ok = sup_check(g, in, threads, 2, 1e-4, msg, sizeof msg);
    free_inputs(in, n_in);
    ir_graph_free(g);
    ck_assert_msg(ok, "depthwise 5x5 and 7x7 convs: %s", msg);
    g = dwp_graph(in, &n_in);
    ok = sup_check(g, in, threads, 2, 1e-4, msg, sizeof msg);
    free_inputs(in, n_in);
    ir_graph_free(g);
    ck_assert_msg(ok, "narrow depthwise 5x5 and 7x7 convs: %s", msg);
    g = pool_graph(in, &n_in);
    ok = sup_check(g, in, threads, 2, 0, msg, sizeof msg);
    free_inputs(in, n_in);
    ir_graph_free(g);
    ck_assert_msg(ok, "max pools: %s", msg);
}
END_TEST

/* max|a - b| <= tol * max|b| over finite values; NaN and infinities must match. */
static bool close_enough(const float *a, const float *b, size_t n, double tol)
{
    double mx = 0, e = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(b[i]) && fabs(b[i]) > mx)
            mx = fabs(b[i]);
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) || isnan(b[i]) || isinf(a[i]) || isinf(b[i])) {
            if (!(isnan(a[i]) && isnan(b[i])) && a[i] != b[i])
                return false;
            continue;
        }
        e = fmax(e, fabs((double)a[i] - (double)b[i]));
    }
    return e <= tol * (mx > 0 ? mx : 1);
}

/* g compiled as AOT code is (self-contained, kernels included) for x86-64-v2 and run at 1
 * and 2 threads against the reference; the 2-thread outputs bitwise the 1-thread ones. */
static void check_baseline(Graph *g, const RtTensor *in, int n_in, const char *what)
{
    char msg[4096];
    size_t len;
    char *src = sup_emit_as(g, false, &len, msg, sizeof msg);
    ck_assert_msg(src != NULL, "%s: %s", what, msg);
    Diag d;
    ir_diag_init(&d);
    RtOptions ro;
    rt_options_default(&ro);
    ro.cpu = "x86-64-v2";
    RtModule *m = rt_compile(src, len, &ro, &d);
    ck_assert_msg(m != NULL, "%s: compile: %s", what, ir_diag_text(&d));
    RtExec *e = cg_exec_new(g, m, NULL, &d);
    ck_assert_msg(e != NULL, "%s: %s", what, ir_diag_text(&d));
    int64_t syms[IR_MAX_SYMS];
    for (int s = 0; s < IR_MAX_SYMS; s++)
        syms[s] = 1;
    const void *ins[32];
    void *ref[32] = {0}, *one[32] = {0}; /* one: the outputs at 1 thread */
    for (int i = 0; i < n_in; i++)
        ins[i] = in[i].data;
    ck_assert_msg(ir_eval_graph(g, ins, ref, syms, &d), "%s: reference: %s", what,
                  ir_diag_text(&d));
    for (int t = 1; t <= 2; t++) {
        RtTensor outs[32];
        ck_assert_msg(rt_exec_run(e, in, n_in, outs, g->n_outputs, t, &d), "%s: run: %s", what,
                      ir_diag_text(&d));
        for (int j = 0; j < g->n_outputs; j++) {
            ck_assert_msg(close_enough(outs[j].data, ref[j], outs[j].nbytes / sizeof(float), 1e-4),
                          "%s: output %d differs from the reference (%d threads, SLIMC_MAX_ISA=%s)",
                          what, j, t, getenv("SLIMC_MAX_ISA"));
            if (t == 1) {
                one[j] = outs[j].data;
                continue;
            }
            ck_assert_msg(memcmp(outs[j].data, one[j], outs[j].nbytes) == 0,
                          "%s: output %d at 2 threads is not bitwise the 1-thread one "
                          "(SLIMC_MAX_ISA=%s)",
                          what, j, getenv("SLIMC_MAX_ISA"));
            free(outs[j].data);
        }
    }
    for (int j = 0; j < g->n_outputs; j++) {
        free(ref[j]);
        free(one[j]);
    }
    rt_exec_free(e);
    rt_module_free(m);
    ir_diag_fini(&d);
    free(src);
}

/* One ISA per iteration; check forks each one, so the module's cached choice (made on
 * its first kernel call) is fresh for every value of SLIMC_MAX_ISA. */
START_TEST(test_isa_paths)
{
    static const char *const isas[] = {"avx512", "avx2", "generic"};
    setenv("SLIMC_MAX_ISA", isas[_i], 1);
    RtTensor in[32];
    int n_in;
    Graph *g = linear_graph(in, &n_in);
    check_baseline(g, in, n_in, "linears");
    free_inputs(in, n_in);
    ir_graph_free(g);
    g = conv_graph(in, &n_in);
    check_baseline(g, in, n_in, "convs");
    free_inputs(in, n_in);
    ir_graph_free(g);
    g = dw_graph(in, &n_in);
    check_baseline(g, in, n_in, "depthwise convs");
    free_inputs(in, n_in);
    ir_graph_free(g);
    g = dwk_graph(in, &n_in);
    check_baseline(g, in, n_in, "depthwise 5x5 and 7x7 convs");
    free_inputs(in, n_in);
    ir_graph_free(g);
    g = dwp_graph(in, &n_in);
    check_baseline(g, in, n_in, "narrow depthwise 5x5 and 7x7 convs");
    free_inputs(in, n_in);
    ir_graph_free(g);
    g = pool_graph(in, &n_in);
    check_baseline(g, in, n_in, "max pools");
    free_inputs(in, n_in);
    ir_graph_free(g);
    unsetenv("SLIMC_MAX_ISA");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("kernels");
    TCase *tc = tcase_create("kernels");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_native_threads);
#if defined(__x86_64__)
    tcase_add_loop_test(tc, test_isa_paths, 0, 3);
#endif
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
