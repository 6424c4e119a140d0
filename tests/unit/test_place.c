/* The place pass (passes/place.c) on small graphs with synthetic device profiles whose
 * answer is known: a GPU 20x faster per FLOP behind a slow link keeps a small model on the
 * CPU and moves a large one; an op with no CUDA kernel in a GPU chain is cut around, or the
 * chain stays on the CPU when the copies cost more; a GPU memory budget smaller than the
 * weights splits the model; pins win against cost; views follow what they view; without
 * auto and pins the pass changes nothing. Each report is checked against the graph. */
#include "passes/cost_model.h"
#include "passes/pass.h"
#include "passes/place.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const SrcLoc here = {"test", 1, 1};

/* Every device's rates: gflops for each class, a memory fast enough that GEMMs are
 * compute-bound, 1 us a launch; the link's bandwidth and latency. */
static CostProfile profile(double cpu_gflops, double gpu_gflops, double link_gbs, double latency_us)
{
    CostProfile p;
    memset(&p, 0, sizeof p);
    const double rate[2] = {cpu_gflops, gpu_gflops};
    for (int dev = 0; dev < 2; dev++) {
        p.dev[dev].present = true;
        snprintf(p.dev[dev].name, sizeof p.dev[dev].name, "test %s", dev ? "GPU" : "CPU");
        for (int c = 0; c < COST_NUM_CLASSES; c++)
            p.dev[dev].gflops[c] = rate[dev];
        p.dev[dev].bandwidth_gbs = 1e4 * rate[dev];
        p.dev[dev].launch_us = 1;
    }
    p.link_gbs = link_gbs;
    p.link_latency_us = latency_us;
    snprintf(p.source, sizeof p.source, "test profile");
    return p;
}

/* A constant of zeros (the cost model reads shapes, not data). */
static ValueId zeros(Graph *g, const char *name, int64_t rows, int64_t cols)
{
    Type t = {.dtype = IR_F32, .shape = {.rank = cols ? 2 : 1}};
    t.shape.d[0] = ir_dim(rows);
    if (cols)
        t.shape.d[1] = ir_dim(cols);
    size_t bytes = (size_t)(rows * (cols ? cols : 1)) * 4;
    return ir_const_new(g, name, t, ir_arena_alloc(g->arena, bytes), bytes, here);
}

static ValueId linear(Graph *g, const char *name, ValueId x, int64_t width)
{
    char wn[64], bn[64];
    snprintf(wn, sizeof wn, "%s.weight", name);
    snprintf(bn, sizeof bn, "%s.bias", name);
    ValueId in[3] = {x, zeros(g, wn, width, width), zeros(g, bn, width, 0)};
    NodeId n = ir_node_new(g, IR_OP_LINEAR, name, here, in, 3, 1);
    return g->nodes[n].outputs[0];
}

static ValueId unary(Graph *g, OpKind op, const char *name, ValueId x)
{
    NodeId n = ir_node_new(g, op, name, here, &x, 1, 1);
    return g->nodes[n].outputs[0];
}

/* x f32[N, width] -> depth x (layerI.fc: linear, layerI.act: act) -> output; N symbolic. */
static Graph *mlp(int64_t width, int depth, OpKind act)
{
    Graph *g = ir_graph_new("mlp");
    int s = ir_graph_symbol(g, "N");
    Type t = {.dtype = IR_F32, .shape = {.rank = 2}};
    t.shape.d[0] = (Dim){1, 1u << s};
    t.shape.d[1] = ir_dim(width);
    ValueId v = ir_input_new(g, "x", t, here);
    for (int i = 0; i < depth; i++) {
        char fc[32], ac[32];
        snprintf(fc, sizeof fc, "layer%d.fc", i);
        snprintf(ac, sizeof ac, "layer%d.act", i);
        v = unary(g, act, ac, linear(g, fc, v, width));
    }
    ir_output_add(g, v);
    return g;
}

static void infer(Graph *g)
{
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
}

static const Node *node_named(const Graph *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && !strcmp(g->nodes[i].name, name))
            return &g->nodes[i];
    ck_abort_msg("no node '%s'", name);
    return NULL;
}

static const PlaceNode *report_of(const PlaceReport *r, const char *name)
{
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->nodes[i].name, name))
            return &r->nodes[i];
    ck_abort_msg("no node '%s' in the report", name);
    return NULL;
}

/* The report agrees with the graph: one entry per live node, the same device; the total
 * is what the nodes and transfers add up to and no more than either single device when
 * nothing constrains the cut. */
static void check_report(const Graph *g, const PlaceReport *r, bool free_cut)
{
    ck_assert_ptr_nonnull(r);
    int live = 0; /* the transfers come after the report */
    for (int i = 0; i < g->n_nodes; i++)
        live += !g->nodes[i].dead && g->nodes[i].op != IR_OP_TRANSFER;
    ck_assert_int_eq(r->n, live);
    double sum = 0, in = 0, all_cpu = 0;
    for (int i = 0; i < r->n; i++) {
        const PlaceNode *pn = &r->nodes[i];
        ck_assert_int_eq(node_named(g, pn->name)->device, pn->device);
        ck_assert_int_eq(node_named(g, pn->name)->op, pn->op);
        sum += pn->ms[pn->device];
        all_cpu += pn->ms[0];
        in += pn->in_ms;
    }
    ck_assert_double_eq_tol(r->total_ms, sum + r->transfer_ms, 1e-9 * r->total_ms + 1e-12);
    ck_assert_double_eq_tol(r->all_cpu_ms, all_cpu, 1e-9 * all_cpu + 1e-12);
    ck_assert(in <= r->transfer_ms * (1 + 1e-12) + 1e-15);
    ck_assert_int_eq(r->n_transfers == 0, r->transfer_ms == 0);
    if (free_cut) {
        ck_assert(r->total_ms <= r->all_cpu_ms * (1 + 1e-12));
        ck_assert(r->total_ms <= r->all_gpu_ms * (1 + 1e-12));
    }
    ck_assert_str_eq(r->profile, "test profile");
}

/* Runs pipeline on g with profile p; the report it leaves. */
static const PlaceReport *run(Graph *g, const CostProfile *p, const char *pipeline)
{
    g->place.profile = p;
    Diag d;
    ir_diag_init(&d);
    PassRunOptions o = {.verify = true};
    ck_assert_msg(pass_pipeline_run(g, pipeline, (SrcLoc){0}, &o, &d), "%s: %s", pipeline,
                  ir_diag_text(&d));
    ir_diag_fini(&d);
    return g->place.report;
}

/* The message a pipeline fails with. */
static char *run_error(Graph *g, const CostProfile *p, const char *pipeline)
{
    g->place.profile = p;
    Diag d;
    ir_diag_init(&d);
    ck_assert(!pass_pipeline_run(g, pipeline, (SrcLoc){0}, NULL, &d));
    char *msg = strdup(ir_diag_text(&d));
    ir_diag_fini(&d);
    return msg;
}

/* The model's nodes on dev (not the transfers place_insert_transfers adds). */
static int count_on(const Graph *g, Device dev)
{
    int k = 0;
    for (int i = 0; i < g->n_nodes; i++)
        k += !g->nodes[i].dead && g->nodes[i].op != IR_OP_TRANSFER && g->nodes[i].device == dev;
    return k;
}

START_TEST(small_stays_large_moves)
{
    /* the GPU is 20x faster a FLOP; the link 1 GB/s with 20 us a copy */
    CostProfile p = profile(100, 2000, 1, 20);
    Graph *small = mlp(64, 3, IR_OP_RELU);
    infer(small);
    const PlaceReport *r = run(small, &p, "place(auto)");
    check_report(small, r, true);
    ck_assert_int_eq(count_on(small, IR_DEVICE_CUDA), 0);
    ck_assert_int_eq(report_of(r, "layer1.fc")->why, PLACE_WHY_COST);
    ck_assert(r->all_gpu_ms > r->all_cpu_ms);
    ck_assert_double_eq_tol(r->total_ms, r->all_cpu_ms, 1e-12);
    ck_assert_int_eq(r->n_transfers, 0);
    ir_graph_free(small);

    Graph *large = mlp(1024, 3, IR_OP_RELU);
    infer(large);
    r = run(large, &p, "place(auto, symbols=512)");
    check_report(large, r, true);
    ck_assert_int_eq(count_on(large, IR_DEVICE_CPU), 0);
    ck_assert(r->total_ms < r->all_cpu_ms / 2);
    ck_assert_double_eq_tol(r->total_ms, r->all_gpu_ms, 1e-12);
    ck_assert_int_eq(r->n_transfers, 2); /* the input up, the output down */
    ck_assert_int_eq(large->place.sym_value, 512);
    ck_assert(large->place.automatic);
    ir_graph_free(large);
}
END_TEST

START_TEST(symbols_decide)
{
    /* one model: at N = 1 the copies cost more than the GPU saves; at N = 512, less */
    CostProfile p = profile(100, 2000, 1, 20);
    Graph *g = mlp(256, 3, IR_OP_RELU);
    infer(g);
    run(g, &p, "place(auto)");
    ck_assert_int_eq(count_on(g, IR_DEVICE_CUDA), 0);
    run(g, &p, "place(symbols=512)"); /* automatic since the first step */
    ck_assert_int_eq(count_on(g, IR_DEVICE_CPU), 0);
    check_report(g, g->place.report, true);
    ir_graph_free(g);
}
END_TEST

static const char *no_cuda_tanh(const Graph *g, const Node *n, Device dev)
{
    (void)g;
    return dev == IR_DEVICE_CUDA && n->op == IR_OP_TANH ? "no CUDA kernel for 'tanh' (the test's)"
                                                        : NULL;
}

/* x -> fc0 -> fc1 -> t (tanh: CPU only) -> fc2 -> fc3 -> y, at N = 512, width 1024 */
static Graph *chain_with_tanh(void)
{
    Graph *g = mlp(1024, 0, IR_OP_RELU);
    ValueId v = g->inputs[0];
    g->n_outputs = 0;
    v = linear(g, "fc0", v, 1024);
    v = linear(g, "fc1", v, 1024);
    v = unary(g, IR_OP_TANH, "t", v);
    v = linear(g, "fc2", v, 1024);
    v = linear(g, "fc3", v, 1024);
    ir_output_add(g, v);
    infer(g);
    return g;
}

START_TEST(no_kernel_cut_around)
{
    place_set_check(no_cuda_tanh);
    /* a fast link: each half of the chain goes to the GPU, tanh stays behind */
    CostProfile fast = profile(100, 2000, 100, 5);
    Graph *g = chain_with_tanh();
    const PlaceReport *r = run(g, &fast, "place(auto, symbols=512)");
    check_report(g, r, true);
    static const char *gpu[] = {"fc0", "fc1", "fc2", "fc3"};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(node_named(g, gpu[i])->device, IR_DEVICE_CUDA);
        ck_assert_int_eq(report_of(r, gpu[i])->why, PLACE_WHY_COST);
    }
    ck_assert_int_eq(node_named(g, "t")->device, IR_DEVICE_CPU);
    ck_assert_int_eq(report_of(r, "t")->why, PLACE_WHY_NO_KERNEL);
    ck_assert_str_eq(report_of(r, "t")->detail, "no CUDA kernel for 'tanh' (the test's)");
    ck_assert(isinf(report_of(r, "t")->ms[1]));
    ck_assert(isinf(r->all_gpu_ms));
    ck_assert_int_eq(r->n_transfers, 4); /* x up, fc1 down, t up, fc3 down */
    ck_assert(report_of(r, "t")->in_ms > 0 && report_of(r, "fc2")->in_ms > 0);
    ir_graph_free(g);

    /* a slow link: two copies around either half cost more than the half saves */
    CostProfile slow = profile(100, 2000, 0.1, 20);
    g = chain_with_tanh();
    r = run(g, &slow, "place(auto, symbols=512)");
    check_report(g, r, true);
    ck_assert_int_eq(count_on(g, IR_DEVICE_CUDA), 0);
    ck_assert_int_eq(report_of(r, "fc2")->why, PLACE_WHY_COST);
    ck_assert_int_eq(r->n_transfers, 0);
    ir_graph_free(g);
    place_set_check(NULL);
}
END_TEST

START_TEST(budget_splits)
{
    /* four 4 MiB layers that all go to the GPU, then a budget of 10 MiB */
    CostProfile p = profile(100, 2000, 100, 5);
    Graph *g = mlp(1024, 4, IR_OP_RELU);
    infer(g);
    const PlaceReport *r = run(g, &p, "place(auto, symbols=512)");
    ck_assert_int_eq(count_on(g, IR_DEVICE_CPU), 0);
    ck_assert(r->gpu_bytes > 16 * 1048576.0);
    r = run(g, &p, "place(auto, symbols=512, gpu_memory_mb=10)");
    check_report(g, r, false);
    ck_assert(r->gpu_bytes <= 10 * 1048576.0);
    ck_assert_double_eq(r->budget_mb, 10);
    int budget = 0, gpu_fc = 0;
    for (int i = 0; i < r->n; i++) {
        budget += r->nodes[i].why == PLACE_WHY_BUDGET;
        ck_assert(r->nodes[i].why != PLACE_WHY_BUDGET || r->nodes[i].device == IR_DEVICE_CPU);
        gpu_fc += r->nodes[i].op == IR_OP_LINEAR && r->nodes[i].device == IR_DEVICE_CUDA;
    }
    ck_assert_int_gt(budget, 0);
    ck_assert_int_gt(gpu_fc, 0); /* a split, not everything back on the CPU */
    ck_assert(r->total_ms < r->all_cpu_ms);
    ir_graph_free(g);
}
END_TEST

START_TEST(pins_over_budget)
{
    /* pins win against the budget too, with a warning that says by how much */
    CostProfile p = profile(100, 2000, 100, 5);
    Graph *g = mlp(1024, 2, IR_OP_RELU);
    infer(g);
    g->place.profile = &p;
    Diag d;
    ir_diag_init(&d);
    ck_assert(pass_pipeline_run(g, "place(auto, symbols=512, gpu_memory_mb=1, layer0, device=cuda)",
                                (SrcLoc){0}, NULL, &d));
    ck_assert_int_eq(d.n_warnings, 1);
    ck_assert_msg(strstr(ir_diag_text(&d), "warning: place: the nodes pinned to the GPU need "),
                  "%s", ir_diag_text(&d));
    ck_assert_msg(strstr(ir_diag_text(&d), "more than the budget of 1.0 MiB"), "%s",
                  ir_diag_text(&d));
    ir_diag_fini(&d);
    ck_assert_int_eq(node_named(g, "layer0.fc")->device, IR_DEVICE_CUDA);
    ck_assert_int_eq(node_named(g, "layer1.fc")->device, IR_DEVICE_CPU);
    ck_assert_int_eq(g->place.report->nodes[2].why, PLACE_WHY_BUDGET);
    ir_graph_free(g);
}
END_TEST

START_TEST(pins_win)
{
    CostProfile p = profile(100, 2000, 1, 20);
    /* a small model the cost keeps on the CPU: layer1 pinned to the GPU (the others may
     * follow it there: its copies are paid anyway) */
    Graph *g = mlp(64, 3, IR_OP_RELU);
    infer(g);
    const PlaceReport *r = run(g, &p, "place(auto, layer1, device=cuda)");
    check_report(g, r, false);
    ck_assert_int_eq(node_named(g, "layer1.fc")->device, IR_DEVICE_CUDA);
    ck_assert(node_named(g, "layer1.fc")->pinned && node_named(g, "layer1.act")->pinned);
    ck_assert_int_eq(node_named(g, "layer1.act")->device, IR_DEVICE_CUDA);
    ck_assert_int_eq(report_of(r, "layer1.fc")->why, PLACE_WHY_PIN);
    ck_assert_str_eq(report_of(r, "layer1.fc")->detail, "place(layer1, device=cuda)");
    ck_assert(r->total_ms > r->all_cpu_ms); /* the pin costs, and wins */
    /* pins stay through a later solve */
    r = run(g, &p, "place");
    ck_assert_int_eq(node_named(g, "layer1.fc")->device, IR_DEVICE_CUDA);
    ck_assert_int_eq(report_of(r, "layer1.fc")->why, PLACE_WHY_PIN);
    ir_graph_free(g);

    /* a large model the cost moves: one layer pinned to the CPU, by its full name */
    g = mlp(1024, 3, IR_OP_RELU);
    infer(g);
    r = run(g, &p, "place(auto, symbols=512, \"layer1.fc\", device=cpu)");
    check_report(g, r, false);
    ck_assert_int_eq(node_named(g, "layer1.fc")->device, IR_DEVICE_CPU);
    ck_assert_int_eq(node_named(g, "layer0.fc")->device, IR_DEVICE_CUDA);
    ck_assert_int_eq(node_named(g, "layer2.fc")->device, IR_DEVICE_CUDA);
    ck_assert(!node_named(g, "layer1.act")->pinned);
    ir_graph_free(g);

    /* pins without auto: the rest stays where it is, nothing is solved */
    g = mlp(1024, 3, IR_OP_RELU);
    infer(g);
    r = run(g, &p, "place(layer2.fc, layer0, device=cuda)");
    ck_assert(!g->place.automatic);
    ck_assert_int_eq(count_on(g, IR_DEVICE_CUDA), 3);
    ck_assert_int_eq(node_named(g, "layer1.fc")->device, IR_DEVICE_CPU);
    ck_assert_int_eq(report_of(r, "layer1.fc")->why, PLACE_WHY_FIXED);
    ck_assert_int_eq(report_of(r, "layer0.act")->why, PLACE_WHY_PIN);
    ir_graph_free(g);
}
END_TEST

START_TEST(pin_names)
{
    /* a prefix ends at a '.' or a '/': a.1 pins a.1 and a.1.x, not a.10 */
    Graph *g = ir_graph_new("names");
    Type t = {.dtype = IR_F32, .shape = {.rank = 1, .d = {{8, 0}}}};
    ValueId v = ir_input_new(g, "x", t, here);
    static const char *names[] = {"a.1", "a.1.x", "a.10", "b/1/c", "b/10"};
    for (int i = 0; i < 5; i++)
        v = unary(g, IR_OP_RELU, names[i], v);
    ir_output_add(g, v);
    infer(g);
    CostProfile p = profile(100, 2000, 1, 20);
    run(g, &p, "place(a.1, \"b/1\", device=cuda)");
    ck_assert_int_eq(node_named(g, "a.1")->device, IR_DEVICE_CUDA);
    ck_assert_int_eq(node_named(g, "a.1.x")->device, IR_DEVICE_CUDA);
    ck_assert_int_eq(node_named(g, "a.10")->device, IR_DEVICE_CPU);
    ck_assert_int_eq(node_named(g, "b/1/c")->device, IR_DEVICE_CUDA);
    ck_assert_int_eq(node_named(g, "b/10")->device, IR_DEVICE_CPU);
    ir_graph_free(g);
}
END_TEST

START_TEST(bad_arguments)
{
    CostProfile p = profile(100, 2000, 1, 20);
    Graph *g = mlp(64, 2, IR_OP_TANH);
    infer(g);
    char *m = run_error(g, &p, "place(layer0, device=tpu)");
    ck_assert_str_eq(m, "--passes:1:15: error: place: 'tpu' is not a device (cpu, cuda)\n"
                        "  place(layer0, device=tpu)\n"
                        "                ^\n");
    free(m);
    m = run_error(g, &p, "place(nosuchlayer, device=cuda)");
    ck_assert_str_eq(m, "--passes:1:7: error: place: 'nosuchlayer' names no node of model 'mlp' "
                        "(its nodes are named like 'layer0.fc', 'layer0.act', 'layer1.fc', "
                        "'layer1.act')\n"
                        "  place(nosuchlayer, device=cuda)\n"
                        "        ^\n");
    free(m);
    m = run_error(g, &p, "place(layer0)");
    ck_assert_msg(strstr(m, "--passes:1:7: error: place: pinning 'layer0' needs a device"), "%s",
                  m);
    free(m);
    m = run_error(g, &p, "place(auto, device=cuda)");
    ck_assert_msg(strstr(m, "error: place: device=cuda pins nothing"), "%s", m);
    free(m);
    m = run_error(g, &p, "place(auto, gpu_memory_mb=lots)");
    ck_assert_msg(strstr(m, "gpu_memory_mb is a number of MiB"), "%s", m);
    free(m);
    m = run_error(g, &p, "place(auto, symbols=0)");
    ck_assert_msg(strstr(m, "symbols is the whole number"), "%s", m);
    free(m);
    m = run_error(g, &p, "place(auto, 3)");
    ck_assert_msg(strstr(m, "expected a layer to pin or 'auto', found '3'"), "%s", m);
    free(m);
    m = run_error(g, &p, "place(auto, budget=3)");
    ck_assert_msg(strstr(m, "pass 'place' has no argument 'budget'"), "%s", m);
    free(m);
    /* a pin where the node has no kernel */
    place_set_check(no_cuda_tanh);
    m = run_error(g, &p, "place(layer1, device=cuda)");
    ck_assert_str_eq(m, "--passes:1:7: error: place: cannot pin tanh 'layer1.act' to the cuda: no "
                        "CUDA kernel for 'tanh' (the test's)\n"
                        "  place(layer1, device=cuda)\n"
                        "        ^\n");
    free(m);
    place_set_check(NULL);
    ck_assert_ptr_null(g->place.report); /* nothing was decided */
    ir_graph_free(g);
}
END_TEST

START_TEST(noop_without_auto)
{
    /* no auto, no pins: the pass (and the default pipeline) leave every device alone */
    CostProfile p = profile(100, 2000, 100, 5);
    Graph *g = mlp(1024, 3, IR_OP_RELU);
    infer(g);
    ir_graph_place_all(g, IR_DEVICE_CPU);
    run(g, &p, "place");
    ck_assert_ptr_null(g->place.report);
    ck_assert_int_eq(count_on(g, IR_DEVICE_CUDA), 0);
    run(g, &p, pass_default_pipeline());
    ck_assert_ptr_null(g->place.report);
    ck_assert_int_eq(count_on(g, IR_DEVICE_CUDA), 0);
    ir_graph_free(g);
    /* on a model placed on the GPU too */
    g = mlp(64, 3, IR_OP_RELU);
    infer(g);
    ir_graph_place_all(g, IR_DEVICE_CUDA);
    run(g, &p, "place");
    ck_assert_int_eq(count_on(g, IR_DEVICE_CPU), 0);
    ir_graph_free(g);
}
END_TEST

START_TEST(default_pipeline_places_automatic)
{
    /* --device auto sets automatic; the default pipeline's place step decides */
    CostProfile p = profile(100, 2000, 100, 5);
    Graph *g = mlp(1024, 3, IR_OP_RELU);
    infer(g);
    g->place.automatic = true;
    g->place.sym_value = 512;
    run(g, &p, pass_default_pipeline());
    ck_assert_ptr_nonnull(g->place.report);
    ck_assert_int_eq(count_on(g, IR_DEVICE_CPU), 0);
    ir_graph_free(g);
}
END_TEST

START_TEST(views_follow)
{
    /* fc0 -> flatten -> fc1: the view goes where fc0 is, and costs nothing */
    CostProfile p = profile(100, 2000, 100, 5);
    Graph *g = mlp(1024, 0, IR_OP_RELU);
    g->n_outputs = 0;
    ValueId v = linear(g, "fc0", g->inputs[0], 1024);
    v = unary(g, IR_OP_FLATTEN, "flat", v);
    v = linear(g, "fc1", v, 1024);
    ir_output_add(g, v);
    infer(g);
    const PlaceReport *r = run(g, &p, "place(auto, symbols=512)");
    check_report(g, r, true);
    ck_assert_int_eq(node_named(g, "flat")->device, IR_DEVICE_CUDA);
    ck_assert_int_eq(report_of(r, "flat")->why, PLACE_WHY_VIEW);
    ck_assert_int_eq(r->n_transfers, 2);
    /* pinning fc0 to the CPU takes the view along */
    r = run(g, &p, "place(fc0, device=cpu)");
    ck_assert_int_eq(node_named(g, "flat")->device, IR_DEVICE_CPU);
    ck_assert_int_eq(node_named(g, "fc1")->device, IR_DEVICE_CUDA);
    ck_assert_int_eq(r->n_transfers, 2); /* flat's value up (x stays), fc1's down */
    ir_graph_free(g);
}
END_TEST

START_TEST(earlier_transfers_taken_out)
{
    /* a graph with transfer nodes from an earlier run: the pass decides on the model */
    CostProfile p = profile(100, 2000, 1, 20);
    Graph *g = mlp(64, 0, IR_OP_RELU);
    g->n_outputs = 0;
    ValueId v = unary(g, IR_OP_RELU, "r0", g->inputs[0]);
    v = unary(g, IR_OP_TRANSFER, "r0.to_cuda", v);
    v = unary(g, IR_OP_RELU, "r1", v);
    ir_output_add(g, unary(g, IR_OP_TRANSFER, "r1.to_cpu", v));
    infer(g);
    const PlaceReport *r = run(g, &p, "place(auto)");
    for (int i = 0; i < g->n_nodes; i++)
        ck_assert(g->nodes[i].dead || g->nodes[i].op != IR_OP_TRANSFER);
    ck_assert_int_eq(r->n, 2);
    ck_assert(g->values[g->outputs[0]].is_output);
    ck_assert_str_eq(g->nodes[g->values[g->outputs[0]].producer].name, "r1");
    ir_graph_free(g);
}
END_TEST

START_TEST(long_chain_with_budget)
{
    /* 20000 equal nodes and a budget that nothing fits: before the budget search stopped
     * short of the lambda where they all change sides, each cut there pushed flow along
     * the whole chain (minutes; Check's timeout fails it) */
    Graph *g = mlp(64, 0, IR_OP_RELU);
    g->n_outputs = 0;
    ValueId v = g->inputs[0];
    for (int i = 0; i < 20000; i++) {
        char name[32];
        snprintf(name, sizeof name, "r%d", i);
        v = unary(g, i % 3 ? IR_OP_RELU : IR_OP_TANH, name, v);
    }
    ir_output_add(g, v);
    infer(g);
    CostProfile p = profile(100, 2000, 12, 15);
    const PlaceReport *r = run(g, &p, "place(auto, symbols=100000)");
    ck_assert_int_eq(count_on(g, IR_DEVICE_CPU), 0);
    r = run(g, &p, "place(auto, gpu_memory_mb=40)");
    ck_assert_int_eq(count_on(g, IR_DEVICE_CUDA), 0);
    ck_assert_int_eq(r->nodes[0].why, PLACE_WHY_BUDGET);
    ir_graph_free(g);
}
END_TEST

START_TEST(current_placement_report)
{
    /* what inspect shows for a model placed by --device: every node where it is, FIXED */
    Graph *g = mlp(64, 2, IR_OP_RELU);
    infer(g);
    ir_graph_place_all(g, IR_DEVICE_CPU);
    PlaceReport *r = place_report_current(g, NULL);
    ck_assert_int_eq(r->n, 4);
    for (int i = 0; i < r->n; i++) {
        ck_assert_int_eq(r->nodes[i].device, IR_DEVICE_CPU);
        ck_assert_int_eq(r->nodes[i].why, PLACE_WHY_FIXED);
        ck_assert(r->nodes[i].ms[0] > 0 && r->nodes[i].ms[1] > 0);
    }
    ck_assert_double_eq_tol(r->total_ms, r->all_cpu_ms, 1e-12);
    ck_assert_int_eq(r->n_transfers, 0);
    ck_assert_ptr_null(g->place.report);
    ck_assert_str_eq(place_why_name(PLACE_WHY_BUDGET), "memory budget");
    ir_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("place");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, small_stays_large_moves);
    tcase_add_test(tc, symbols_decide);
    tcase_add_test(tc, no_kernel_cut_around);
    tcase_add_test(tc, budget_splits);
    tcase_add_test(tc, pins_over_budget);
    tcase_add_test(tc, pins_win);
    tcase_add_test(tc, pin_names);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, noop_without_auto);
    tcase_add_test(tc, default_pipeline_places_automatic);
    tcase_add_test(tc, views_follow);
    tcase_add_test(tc, earlier_transfers_taken_out);
    tcase_add_test(tc, long_chain_with_budget);
    tcase_add_test(tc, current_placement_report);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
