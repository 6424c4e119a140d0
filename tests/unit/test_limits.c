/* Resource limits (ir/limits.h, issue 13): the --max-memory size parser, the limit check
 * and its message, the C API's setter, and passes that stay linear in the nodes (dce, cse
 * and fuse on a 90,000-node graph take a fraction of a second; the quadratic versions
 * took minutes). The CLI side is tests/cli/hostile_limits.sh. */
#include "ir/limits.h"
#include "passes/pass.h"
#include "slimc/slimc.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const SrcLoc here = {"test", 1, 1};

static const char *source_dir(void)
{
    const char *src = getenv("SLIMC_SOURCE_DIR");
    return src ? src : ".";
}

/* ---- sizes ---- */

START_TEST(parse_size_accepts)
{
    static const struct {
        const char *s;
        uint64_t want;
    } ok[] = {
        {"1", 1},
        {"1048576", 1048576},
        {"2k", 2048},
        {"2K", 2048},
        {"512M", 512ull << 20},
        {"4G", 4ull << 30},
        {"1T", 1ull << 40},
        {"1.5G", 3ull << 29},
        {"4GiB", 4ull << 30},
        {"4GB", 4ull << 30},
        {"100B", 100},
        {"8191T", 8191ull << 40},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 0;
        ck_assert_msg(slimc_parse_size(ok[i].s, &v), "'%s' refused", ok[i].s);
        ck_assert_msg(v == ok[i].want, "'%s' gave %llu, not %llu", ok[i].s, (unsigned long long)v,
                      (unsigned long long)ok[i].want);
    }
}
END_TEST

START_TEST(parse_size_refuses)
{
    static const char *const bad[] = {
        "",    "0",   "0M",  "-1",  "1X",       "G",    "1.5", " 1G", "1 G",
        "1GG", "inf", "nan", "1Gi", "8388608T", "1e30", "4Gb", "0.5", "10000000000000000000"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 42;
        ck_assert_msg(!slimc_parse_size(bad[i], &v), "'%s' accepted (%llu)", bad[i],
                      (unsigned long long)v);
        ck_assert_int_eq(v, 42); /* untouched */
    }
    uint64_t v;
    ck_assert(!slimc_parse_size(NULL, &v));
}
END_TEST

START_TEST(bytes_str_and_check)
{
    char buf[32];
    ck_assert_str_eq(ir_bytes_str(8.0 * 0x1p40, buf, sizeof buf), "8.0 TiB");
    ck_assert_str_eq(ir_bytes_str(512, buf, sizeof buf), "512 B");
    ck_assert_str_eq(ir_bytes_str(1.5 * 0x1p20, buf, sizeof buf), "1.5 MiB");
    Diag d;
    ir_diag_init(&d);
    ck_assert(ir_check_memory(1024, 1024, "x", here, &d));
    ck_assert(ir_check_memory(1e30, 0, "x", here, &d)); /* 0: no limit */
    ck_assert_int_eq(d.n_errors, 0);
    ck_assert(
        !ir_check_memory(8.0 * 0x1p40, 4ull << 30, "node 'onehot': constant result", here, &d));
    ck_assert_int_eq(d.n_errors, 1);
    ck_assert_msg(strstr(ir_diag_text(&d), "node 'onehot': constant result of 8.0 TiB exceeds the "
                                           "memory limit (4.0 GiB; --max-memory raises it)"),
                  "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    ck_assert(ir_default_max_memory() == (uint64_t)pages * (uint64_t)page / 2);
}
END_TEST

/* ---- the C API ---- */

START_TEST(api_setter_and_onehot)
{
    SlimcContext *ctx = slimc_context_new();
    const uint64_t dflt = slimc_max_memory(ctx);
    ck_assert(dflt == ir_default_max_memory());
    slimc_set_max_memory(ctx, 1 << 20);
    ck_assert(slimc_max_memory(ctx) == 1 << 20);
    slimc_set_max_memory(ctx, 0);
    ck_assert(slimc_max_memory(ctx) == dflt);
    /* A 109-byte OneHot of depth 2^40: an error naming the node and the size, at once. */
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/hostile/onehot_2_40.onnx", source_dir());
    SlimcModel *m = NULL;
    ck_assert_int_eq(slimc_model_load(ctx, path, &m), SLIMC_ERROR);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(slimc_error(ctx), "node 'onehot': constant result of 8.0 TiB exceeds "
                                           "the memory limit"),
                  "%s", slimc_error(ctx));
    slimc_clear_messages(ctx);
    /* lenet under a 1 MiB limit: refused after planning, before any code is compiled. */
    snprintf(path, sizeof path, "%s/samples/lenet/lenet.slim", source_dir());
    slimc_set_max_memory(ctx, 1 << 20);
    ck_assert_int_eq(slimc_model_load(ctx, path, &m), SLIMC_OK);
    ck_assert_int_eq(slimc_model_optimize(ctx, m, NULL), SLIMC_ERROR);
    ck_assert_msg(strstr(slimc_error(ctx), "memory to run it"), "%s", slimc_error(ctx));
    slimc_clear_messages(ctx);
    slimc_set_max_memory(ctx, 1 << 30);
    ck_assert_int_eq(slimc_model_optimize(ctx, m, NULL), SLIMC_OK);
    /* the inputs checked without compiling: a wrong rank, then a fit */
    SlimcTensor t = {.dtype = SLIMC_F32, .ndim = 3, .shape = {1, 28, 28}};
    t.nbytes = 28 * 28 * 4;
    t.data = calloc(1, t.nbytes);
    ck_assert_int_eq(slimc_model_check_inputs(ctx, m, &t, 1), SLIMC_ERROR);
    ck_assert_msg(strstr(slimc_error(ctx), "wrong rank"), "%s", slimc_error(ctx));
    slimc_clear_messages(ctx);
    t.ndim = 4;
    t.shape[0] = 1, t.shape[1] = 1, t.shape[2] = 28, t.shape[3] = 28;
    ck_assert_msg(slimc_model_check_inputs(ctx, m, &t, 1) == SLIMC_OK, "%s", slimc_error(ctx));
    free(t.data);
    slimc_model_free(m);
    slimc_context_free(ctx);
}
END_TEST

/* ---- passes linear in the nodes ---- */

static ValueId op(Graph *g, OpKind k, const ValueId *in, int n)
{
    NodeId id = ir_node_new(g, k, "n", here, in, n, 1);
    return g->nodes[id].outputs[0];
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* 30,000 steps of h = relu(h) + relu(h) (cse merges the second relu), a dead tanh each
 * (dce), then fuse: each pass once over 90,000 nodes. */
START_TEST(passes_linear)
{
    enum { STEPS = 30000 };
    Graph *g = ir_graph_new("chain");
    Type t = {IR_F32, {2, {{1, 1}, {4, 0}}}, NULL};
    ir_graph_symbol(g, "N");
    ValueId h = ir_input_new(g, "x", t, here);
    for (int i = 0; i < STEPS; i++) {
        ValueId a = op(g, IR_OP_RELU, &h, 1), b = op(g, IR_OP_RELU, &h, 1);
        op(g, IR_OP_TANH, &a, 1);
        ValueId ab[2] = {a, b};
        h = op(g, IR_OP_ADD, ab, 2);
    }
    ir_output_add(g, h);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    double t0 = now_ms();
    PassRunOptions o = {.verify = false};
    ck_assert_msg(pass_pipeline_run(g, "cse,dce", (SrcLoc){0}, &o, &d), "%s", ir_diag_text(&d));
    int counts[IR_NUM_OPS] = {0};
    for (int i = 0; i < g->n_nodes; i++)
        counts[g->nodes[i].op]++;
    ck_assert_msg(g->n_nodes == 2 * STEPS, "%d nodes: %d relu %d add %d tanh", g->n_nodes,
                  counts[IR_OP_RELU], counts[IR_OP_ADD], counts[IR_OP_TANH]);
    for (int i = 0; i < g->n_nodes; i += 2) {
        ck_assert_int_eq(g->nodes[i].op, IR_OP_RELU);
        ck_assert_int_eq(g->nodes[i + 1].inputs[0], g->nodes[i + 1].inputs[1]);
    }
    ck_assert_msg(pass_pipeline_run(g, "fuse", (SrcLoc){0}, &o, &d), "%s", ir_diag_text(&d));
    /* each add takes the next relu (the add after it reads the relu twice: no fusion) */
    ck_assert_int_eq(g->n_nodes, STEPS + 1);
    ck_assert_int_eq(g->nodes[0].n_epilogue, 0);
    ck_assert_int_eq(g->nodes[1].n_epilogue, 1);
    ck_assert_int_eq(g->nodes[STEPS].n_epilogue, 0);
    double ms = now_ms() - t0;
    ck_assert_msg(ms < 20000, "cse, dce and fuse took %.0f ms on %d nodes", ms, 3 * STEPS);
    ck_assert(ir_verify(g, &d));
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("limits");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, parse_size_accepts);
    tcase_add_test(tc, parse_size_refuses);
    tcase_add_test(tc, bytes_str_and_check);
    tcase_add_test(tc, api_setter_and_onehot);
    tcase_add_test(tc, passes_linear);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
