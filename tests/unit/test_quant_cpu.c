/* Static int8's per-layer choice on CPUs whose int8 convs are slow at small K (issue 19):
 * the profile's int8_small_k (passes/cost_model.c: read, defaulted from the host, written,
 * hashed) and pass_quant_mark_slower's use of it (passes/quant_linear.c) on hand-built convs,
 * with the profile pinned so that the result is the same on any CPU. */
#include "passes/cost_model.h"
#include "passes/quant_internal.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const SrcLoc here = {"test", 1, 1};

/* A CPU-only profile; small_k is the int8_small_k member, or "" for none. */
static void profile_text(char *buf, size_t cap, const char *small_k)
{
    snprintf(buf, cap,
             "{\"slimc_device_profile\": 1,\n"
             " \"devices\": {\"cpu\": {\"gflops\": {\"gemm_f32\": 100, \"conv_f32\": 80,\n"
             "   \"gemm_int8\": 250, \"gemm_f16\": 100, \"elementwise\": 10, \"reduce\": 10,\n"
             "   \"data\": 10}, \"bandwidth_gbs\": 20, \"launch_us\": 5%s%s}}}\n",
             *small_k ? ",\n   " : "", small_k);
}

/* Parses a profile with small_k; returns the first error's text ("" when it parsed). */
static const char *parse(const char *small_k, CostProfile *p)
{
    static char err[2048];
    char text[1024];
    profile_text(text, sizeof text, small_k);
    Diag d;
    ir_diag_init(&d);
    const bool ok = cost_profile_parse(text, strlen(text), "p.json", p, &d);
    snprintf(err, sizeof err, "%s", ok ? "" : ir_diag_text(&d));
    ck_assert_msg(ok || *err, "failed without an error");
    ir_diag_fini(&d);
    return err;
}

START_TEST(profile_reads_writes_and_defaults_small_k)
{
    CostProfile p;
    ck_assert_str_eq(parse("\"int8_small_k\": {\"k_below\": 64, \"vs_f32\": 1.3}", &p), "");
    ck_assert(p.dev[IR_DEVICE_CPU].int8_small_k_below == 64);
    ck_assert(p.dev[IR_DEVICE_CPU].int8_small_k_vs_f32 == 1.3);
    const uint64_t h64 = p.hash;
    /* written and read back the same, with the same hash */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cost_profile_write(&p, f);
    fclose(f);
    ck_assert_msg(strstr(buf, "\"int8_small_k\": {\"k_below\": 64, \"vs_f32\": 1.3}"), "%s", buf);
    CostProfile q;
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(cost_profile_parse(buf, len, "w.json", &q, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    free(buf);
    ck_assert(q.dev[IR_DEVICE_CPU].int8_small_k_below == 64 && q.hash == h64);
    /* no penalty: another hash (the JIT cache key sees the choice) */
    ck_assert_str_eq(parse("\"int8_small_k\": {\"k_below\": 0, \"vs_f32\": 0}", &p), "");
    ck_assert(p.dev[IR_DEVICE_CPU].int8_small_k_below == 0 && p.hash != h64);
    /* absent (a profile written before it): the host's default, as the built-in profile */
    ck_assert_str_eq(parse("", &p), "");
    CostDevice host = {0};
    cost_int8_small_k_host(&host);
    ck_assert(p.dev[IR_DEVICE_CPU].int8_small_k_below == host.int8_small_k_below);
    ck_assert(p.dev[IR_DEVICE_CPU].int8_small_k_vs_f32 == host.int8_small_k_vs_f32);
    cost_profile_default(&q);
    ck_assert(q.dev[IR_DEVICE_CPU].int8_small_k_below == host.int8_small_k_below);
    ck_assert(host.int8_small_k_below == 0 || host.int8_small_k_below == COST_INT8_SMALL_K_BELOW);
    /* SLIMC_NO_VNNI turns the int8 conv's VNNI off, as in the kernels: the penalty applies */
    setenv("SLIMC_NO_VNNI", "1", 1);
    cost_int8_small_k_host(&host);
    unsetenv("SLIMC_NO_VNNI");
#if defined(__x86_64__) || defined(__i386__)
    ck_assert(host.int8_small_k_below == COST_INT8_SMALL_K_BELOW);
    ck_assert(host.int8_small_k_vs_f32 == COST_INT8_SMALL_K_VS_F32);
#endif
    /* mistakes, with their places */
    ck_assert_msg(strstr(parse("\"int8_small_k\": {\"k_below\": 64}", &p),
                         "p.json:5:4: error: devices.cpu.int8_small_k: missing 'vs_f32'"),
                  "%s", parse("\"int8_small_k\": {\"k_below\": 64}", &p));
    ck_assert_msg(strstr(parse("\"int8_small_k\": {\"k_below\": 64, \"vs\": 1}", &p),
                         "p.json:5:36: error: devices.cpu.int8_small_k: unknown key 'vs' "
                         "(k_below, vs_f32)"),
                  "%s", parse("\"int8_small_k\": {\"k_below\": 64, \"vs\": 1}", &p));
    ck_assert_msg(strstr(parse("\"int8_small_k\": {\"k_below\": -1, \"vs_f32\": 1}", &p),
                         "devices.cpu.int8_small_k.k_below: -1 must be at least 0"),
                  "%s", parse("\"int8_small_k\": {\"k_below\": -1, \"vs_f32\": 1}", &p));
    ck_assert_msg(strstr(parse("\"int8_small_k\": 64", &p),
                         "devices.cpu.int8_small_k: expected an object, found a number"),
                  "%s", parse("\"int8_small_k\": 64", &p));
}
END_TEST

/* conv2d x [1, C, H, H] -> O channels, k x k, groups; its weight constant. */
static NodeId add_conv(Graph *g, int64_t C, int64_t H, int64_t O, int64_t k, int64_t groups)
{
    Type xt = {.dtype = IR_F32, .shape = {4, {ir_dim(1), ir_dim(C), ir_dim(H), ir_dim(H)}}};
    const int id = g->n_inputs;
    ValueId x = ir_input_new(g, ir_arena_printf(g->arena, "x%d", id), xt, here);
    const int64_t wn = O * (C / groups) * k * k;
    float *w = ir_arena_alloc(g->arena, sizeof(float) * (size_t)wn);
    for (int64_t i = 0; i < wn; i++)
        w[i] = 0.01f * (float)(i % 7);
    Type wt = {.dtype = IR_F32,
               .shape = {4, {ir_dim(O), ir_dim(C / groups), ir_dim(k), ir_dim(k)}}};
    ValueId ins[2] = {x, ir_const_new(g, ir_arena_printf(g->arena, "w%d", id), wt, w,
                                      sizeof(float) * (size_t)wn, here)};
    NodeId n =
        ir_node_new(g, IR_OP_CONV2D, ir_arena_printf(g->arena, "conv%d", id), here, ins, 2, 1);
    if (groups > 1)
        ir_node_set_int(g, n, "groups", groups);
    ir_output_add(g, g->nodes[n].outputs[0]);
    return n;
}

START_TEST(small_k_convs_stay_float_where_the_profile_says)
{
    static const char *const pins[2] = {"\"int8_small_k\": {\"k_below\": 64, \"vs_f32\": 1.3}",
                                        "\"int8_small_k\": {\"k_below\": 0, \"vs_f32\": 0}"};
    for (int pin = 0; pin < 2; pin++) {
        CostProfile p;
        ck_assert_str_eq(parse(pins[pin], &p), "");
        Graph *g = ir_graph_new("convs");
        const NodeId lenet1 = add_conv(g, 1, 28, 20, 5, 1);   /* K = 25 */
        const NodeId lenet2 = add_conv(g, 20, 12, 50, 5, 1);  /* K = 500 */
        const NodeId first = add_conv(g, 3, 224, 32, 3, 1);   /* K = 27 */
        const NodeId narrow = add_conv(g, 32, 56, 16, 1, 1);  /* K = 32 */
        const NodeId wide = add_conv(g, 64, 14, 384, 1, 1);   /* K = 64: not below */
        const NodeId dw = add_conv(g, 32, 56, 32, 3, 32);     /* depthwise: its own kernel */
        const NodeId grouped = add_conv(g, 16, 28, 16, 3, 4); /* K = 4 x 9 = 36 */
        Diag d;
        ir_diag_init(&d);
        ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
        ir_diag_fini(&d);
        g->place.profile = &p;
        const int kept = pass_quant_mark_slower(g);
        const NodeId slow[] = {lenet1, first, narrow, grouped};
        const int64_t slow_k[] = {25, 27, 32, 36};
        for (int i = 0; i < 4; i++) {
            const Node *n = &g->nodes[slow[i]];
            ck_assert_int_eq(ir_attr_quant_float(n), pin == 0 ? 2 : 0);
            ck_assert_int_eq(ir_attr_quant_small_k(n), pin == 0 ? slow_k[i] : 0);
            if (pin == 0) /* both predicted times recorded, int8 1.3x the float one */
                ck_assert_msg(ir_attr_quant_int8_ms(n) > 1.29 * ir_attr_quant_float_ms(n) &&
                                  ir_attr_quant_int8_ms(n) < 1.31 * ir_attr_quant_float_ms(n),
                              "%g vs %g", ir_attr_quant_int8_ms(n), ir_attr_quant_float_ms(n));
        }
        const NodeId fast[] = {lenet2, wide, dw};
        for (int i = 0; i < 3; i++)
            ck_assert_int_eq(ir_attr_quant_float(&g->nodes[fast[i]]), 0);
        ck_assert_int_eq(kept, pin == 0 ? 4 : 0);
        ir_graph_free(g);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("quant_cpu");
    TCase *tc = tcase_create("quant_cpu");
    tcase_add_test(tc, profile_reads_writes_and_defaults_small_k);
    tcase_add_test(tc, small_k_convs_stay_float_where_the_profile_says);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
