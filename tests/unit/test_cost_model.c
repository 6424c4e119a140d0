/* The cost model (passes/cost_model.c): the device profile's JSON (valid files, every kind
 * of mistake with its exact path:line:col, write -> parse round trips), the profile's hash,
 * and node and transfer times on hand-built graphs against times computed by hand. */
#include "api/api_internal.h"
#include "passes/cost_model.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const SrcLoc here = {"test", 1, 1};

static const char valid[] =
    "{\n"
    "  \"slimc_device_profile\": 1,\n"
    "  \"about\": \"a test\",\n"
    "  \"devices\": {\n"
    "    \"cpu\": {\n"
    "      \"name\": \"test CPU\",\n"
    "      \"gflops\": {\"gemm_f32\": 100, \"conv_f32\": 80, \"gemm_int8\": 250, \"gemm_f16\": "
    "100,\n"
    "                 \"elementwise\": 10, \"reduce\": 8, \"data\": 5},\n"
    "      \"bandwidth_gbs\": 20,\n"
    "      \"launch_us\": 5,\n"
    "      \"memory_mb\": 24000\n"
    "    },\n"
    "    \"cuda\": {\n"
    "      \"name\": \"test GPU\",\n"
    "      \"gflops\": {\"gemm_f32\": 2000, \"conv_f32\": 1000, \"gemm_int8\": 5000, \"gemm_f16\": "
    "8000,\n"
    "                 \"elementwise\": 500, \"reduce\": 300, \"data\": 300},\n"
    "      \"bandwidth_gbs\": 1000,\n"
    "      \"launch_us\": 8\n"
    "    }\n"
    "  },\n"
    "  \"link\": {\"gbs\": 10, \"latency_us\": 20}\n"
    "}\n";

/* valid with the first occurrence of from replaced by to */
static char *edit(const char *from, const char *to)
{
    const char *at = strstr(valid, from);
    ck_assert_msg(at, "'%s' not in the valid profile", from);
    size_t pre = (size_t)(at - valid), n = strlen(valid) - strlen(from) + strlen(to);
    char *s = malloc(n + 1);
    ck_assert(s);
    memcpy(s, valid, pre);
    strcpy(s + pre, to);
    strcat(s, at + strlen(from));
    return s;
}

/* Parses text; returns the diagnostics (static buffer) or "" when it parsed. */
static const char *parse_err(const char *text, CostProfile *p)
{
    static char buf[4096];
    Diag d;
    ir_diag_init(&d);
    bool ok = cost_profile_parse(text, strlen(text), "p.json", p, &d);
    snprintf(buf, sizeof buf, "%s", ir_diag_text(&d));
    ck_assert_msg(ok == (d.n_errors == 0), "%s", buf);
    ck_assert_msg(ok || strstr(buf, "error: "), "failed without an error");
    ir_diag_fini(&d);
    return ok ? "" : buf;
}

START_TEST(parses_a_valid_profile)
{
    CostProfile p;
    ck_assert_str_eq(parse_err(valid, &p), "");
    ck_assert(p.dev[IR_DEVICE_CPU].present && p.dev[IR_DEVICE_CUDA].present);
    ck_assert_str_eq(p.dev[IR_DEVICE_CPU].name, "test CPU");
    ck_assert(p.dev[IR_DEVICE_CPU].gflops[COST_GEMM_F32] == 100);
    ck_assert(p.dev[IR_DEVICE_CPU].gflops[COST_DATA] == 5);
    ck_assert(p.dev[IR_DEVICE_CPU].memory_mb == 24000);
    ck_assert(p.dev[IR_DEVICE_CUDA].gflops[COST_GEMM_F16] == 8000);
    ck_assert(p.dev[IR_DEVICE_CUDA].memory_mb == 0); /* optional */
    ck_assert(p.link_gbs == 10 && p.link_latency_us == 20);
    ck_assert_str_eq(p.source, "p.json (a test)");
    ck_assert(p.hash == cost_profile_hash(&p));
    /* a CPU alone needs no link */
    const char cpu_only[] = "{\"slimc_device_profile\": 1, \"devices\": {\"cpu\": {\"gflops\": "
                            "{\"gemm_f32\": 1, \"conv_f32\": 1, \"gemm_int8\": 1, \"gemm_f16\": "
                            "1, \"elementwise\": 1, \"reduce\": 1, \"data\": 0.5}, "
                            "\"bandwidth_gbs\": 1, \"launch_us\": 0}}}";
    ck_assert_str_eq(parse_err(cpu_only, &p), "");
    ck_assert(!p.dev[IR_DEVICE_CUDA].present);
    ck_assert(p.dev[IR_DEVICE_CPU].gflops[COST_DATA] == 0.5);
    ck_assert_str_eq(p.source, "p.json");
}
END_TEST

/* Each mistake, the place it is reported at and what the message says. */
START_TEST(reports_mistakes_with_places)
{
    static const struct {
        const char *from, *to, *want;
    } cases[] = {
        /* malformed JSON: the reader's error where it happened */
        {"\"launch_us\": 5,", "\"launch_us\": 5,,", "p.json:10:22: error: malformed JSON"},
        {"\"link\": {", "\"link\": {'",
         "p.json:21:12: error: malformed JSON: expected a string key"},
        /* a version other than 1 */
        {"\"slimc_device_profile\": 1", "\"slimc_device_profile\": 2",
         "p.json:2:27: error: slimc_device_profile: version 2 is not supported"},
        {"\"slimc_device_profile\": 1", "\"slimc_device_profile\": \"1\"",
         "p.json:2:27: error: slimc_device_profile: expected the integer 1"},
        /* not a profile at all */
        {"\"slimc_device_profile\": 1,", "",
         "p.json:1:1: error: not a slimc device profile: no \"slimc_device_profile\": 1"},
        /* unknown keys (typos) at every level */
        {"\"about\"", "\"abut\"", "p.json:3:3: error: unknown key 'abut'"},
        {"\"bandwidth_gbs\": 20", "\"bandwith_gbs\": 20",
         "p.json:9:7: error: devices.cpu: unknown key 'bandwith_gbs'"},
        {"\"reduce\": 8", "\"reduc\": 8",
         "p.json:8:37: error: devices.cpu.gflops: unknown key "
         "'reduc'"},
        {"\"latency_us\": 20", "\"latency\": 20",
         "p.json:21:23: error: link: unknown key "
         "'latency'"},
        /* a device that is not one */
        {"\"cuda\": {", "\"tpu\": {",
         "p.json:13:5: error: devices: 'tpu' is not a device (cpu, "
         "cuda)"},
        /* missing and non-positive rates */
        {"\"reduce\": 8, ", "", "p.json:7:7: error: devices.cpu.gflops: missing 'reduce'"},
        {"\"reduce\": 8", "\"reduce\": 0",
         "p.json:8:47: error: devices.cpu.gflops.reduce: 0 must "
         "be greater than 0"},
        {"\"bandwidth_gbs\": 1000", "\"bandwidth_gbs\": -3",
         "p.json:17:24: error: devices.cuda.bandwidth_gbs: -3 must be greater than 0"},
        {"\"launch_us\": 8", "\"launch_us\": -1",
         "p.json:18:20: error: devices.cuda.launch_us: "
         "-1 must be at least 0"},
        {"\"bandwidth_gbs\": 20,", "", "p.json:5:5: error: devices.cpu: missing 'bandwidth_gbs'"},
        {"\"gemm_f32\": 100", "\"gemm_f32\": \"fast\"",
         "p.json:7:30: error: devices.cpu.gflops.gemm_f32: expected a number, found a string"},
        /* duplicates */
        {"\"launch_us\": 5,", "\"launch_us\": 5, \"launch_us\": 6,",
         "p.json:10:23: error: devices.cpu: duplicate key 'launch_us'"},
        /* structure */
        {"\"link\": {\"gbs\": 10, \"latency_us\": 20}", "\"link\": []",
         "p.json:21:11: error: link: expected an object, found an array"},
        {",\n  \"link\": {\"gbs\": 10, \"latency_us\": 20}", "",
         "p.json:4:3: error: a \"cuda\" device needs a \"link\""},
        {"\"link\": {\"gbs\": 10, ", "\"link\": {", "p.json:21:3: error: link: missing 'gbs'"},
        {"\"devices\"", "\"device\"", "p.json:4:3: error: unknown key 'device'"},
        {"\"name\": \"test CPU\"", "\"name\": 7",
         "p.json:6:15: error: devices.cpu.name: expected a string, found a number"},
        {"\"gemm_f32\": 100", "\"gemm_f32\": 1e999",
         "p.json:7:30: error: devices.cpu.gflops.gemm_f32: 1e999 is out of range"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = edit(cases[i].from, cases[i].to);
        CostProfile p;
        const char *err = parse_err(text, &p);
        ck_assert_msg(strstr(err, cases[i].want), "case %zu: want '%s', got:\n%s", i, cases[i].want,
                      err);
        free(text);
    }
    /* no "cpu" device, no "devices" at all, trailing text, an empty file */
    CostProfile p;
    const char *no_cpu = "{\"slimc_device_profile\": 1, \"devices\": {}}";
    ck_assert_msg(strstr(parse_err(no_cpu, &p), "p.json:1:29: error: devices: no \"cpu\" device"),
                  "%s", parse_err(no_cpu, &p));
    const char *no_devices = "{\"slimc_device_profile\": 1}";
    ck_assert(strstr(parse_err(no_devices, &p), "p.json:1:1: error: missing \"devices\""));
    ck_assert(strstr(parse_err("{\"slimc_device_profile\": 1} x", &p),
                     "p.json:1:29: error: malformed JSON"));
    ck_assert(strstr(parse_err("", &p), "p.json:1:1: error: a device profile: expected an "
                                        "object, found no value"));
    /* the caret line quotes the source */
    char *text = edit("\"reduce\": 8", "\"reduce\": 0");
    const char *err = parse_err(text, &p);
    ck_assert_msg(strstr(err, "\"elementwise\": 10, \"reduce\": 0, \"data\": 5}") &&
                      strstr(err, "^"),
                  "%s", err);
    free(text);
}
END_TEST

START_TEST(load_names_the_file)
{
    CostProfile p;
    Diag d;
    ir_diag_init(&d);
    ck_assert(!api_cost_profile_load("/nonexistent/profile.json", &p, &d));
    ck_assert_msg(strstr(ir_diag_text(&d), "/nonexistent/profile.json: error: cannot open device "
                                           "profile: No such file or directory"),
                  "%s", ir_diag_text(&d));
    ir_diag_clear(&d);
    ck_assert(!api_cost_profile_load("/", &p, &d));
    ck_assert_msg(strstr(ir_diag_text(&d), "/: error: device profile is a directory, not a file"),
                  "%s", ir_diag_text(&d));
    ir_diag_clear(&d);
    char path[] = "/tmp/slimc_cost_XXXXXX";
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(valid, f);
    fclose(f);
    ck_assert_msg(api_cost_profile_load(path, &p, &d), "%s", ir_diag_text(&d));
    ck_assert(p.dev[IR_DEVICE_CUDA].gflops[COST_REDUCE] == 300);
    ck_assert(strncmp(p.source, path, strlen(path)) == 0);
    remove(path);
    ir_diag_fini(&d);
}
END_TEST

static void profiles_equal(const CostProfile *a, const CostProfile *b)
{
    for (int k = 0; k < COST_NUM_DEVICES; k++) {
        ck_assert_int_eq(a->dev[k].present, b->dev[k].present);
        if (!a->dev[k].present)
            continue;
        ck_assert_str_eq(a->dev[k].name, b->dev[k].name);
        for (int c = 0; c < COST_NUM_CLASSES; c++)
            ck_assert(a->dev[k].gflops[c] == b->dev[k].gflops[c]);
        ck_assert(a->dev[k].bandwidth_gbs == b->dev[k].bandwidth_gbs);
        ck_assert(a->dev[k].launch_us == b->dev[k].launch_us);
        ck_assert(a->dev[k].memory_mb == b->dev[k].memory_mb);
    }
    if (a->dev[IR_DEVICE_CUDA].present)
        ck_assert(a->link_gbs == b->link_gbs && a->link_latency_us == b->link_latency_us);
    ck_assert(a->hash == b->hash);
}

/* Writes p, parses it back. */
static void round_trip(const CostProfile *p)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cost_profile_write(p, f);
    fclose(f);
    CostProfile q;
    ck_assert_msg(!*parse_err(buf, &q), "%s\nof:\n%s", parse_err(buf, &q), buf);
    profiles_equal(p, &q);
    free(buf);
}

START_TEST(write_parse_round_trip)
{
    CostProfile p;
    cost_profile_default(&p);
    ck_assert_str_eq(p.source, "built-in default profile");
    ck_assert(p.hash == cost_profile_hash(&p));
    round_trip(&p);
    ck_assert_str_eq(parse_err(valid, &p), "");
    round_trip(&p);
    /* a CPU alone, a name that needs escaping */
    p.dev[IR_DEVICE_CUDA].present = false;
    snprintf(p.dev[IR_DEVICE_CPU].name, sizeof p.dev[0].name, "a \"quoted\"\\ name\t\xc3\xa9");
    p.dev[IR_DEVICE_CPU].gflops[COST_GEMM_F32] = 123.456;
    p.hash = cost_profile_hash(&p);
    round_trip(&p);
}
END_TEST

START_TEST(hash_is_stable_and_sees_every_number)
{
    CostProfile a, b;
    cost_profile_default(&a);
    cost_profile_default(&b);
    ck_assert(cost_profile_hash(&a) == cost_profile_hash(&b));
    /* the same numbers every run and build: FNV-1a over the doubles and names */
    uint64_t h = cost_profile_hash(&a);
    ck_assert(h != 0);
    /* the source is not hashed: the same numbers from another file are the same profile */
    snprintf(b.source, sizeof b.source, "elsewhere");
    ck_assert(cost_profile_hash(&b) == h);
    for (int k = 0; k < COST_NUM_DEVICES; k++) {
        for (int c = 0; c < COST_NUM_CLASSES; c++) {
            b = a;
            b.dev[k].gflops[c] *= 1.0001;
            ck_assert_msg(cost_profile_hash(&b) != h, "device %d class %d", k, c);
        }
        b = a;
        b.dev[k].bandwidth_gbs += 1;
        ck_assert(cost_profile_hash(&b) != h);
        b = a;
        b.dev[k].launch_us += 1;
        ck_assert(cost_profile_hash(&b) != h);
        b = a;
        b.dev[k].memory_mb += 1;
        ck_assert(cost_profile_hash(&b) != h);
        b = a;
        b.dev[k].name[0] ^= 1;
        ck_assert(cost_profile_hash(&b) != h);
    }
    b = a;
    b.link_gbs += 1;
    ck_assert(cost_profile_hash(&b) != h);
    b = a;
    b.link_latency_us += 1;
    ck_assert(cost_profile_hash(&b) != h);
    b = a;
    b.dev[IR_DEVICE_CUDA].present = false;
    ck_assert(cost_profile_hash(&b) != h);
}
END_TEST

static Type f32(int rank, const int64_t *dims)
{
    Type t = {.dtype = IR_F32, .shape = {.rank = rank}};
    for (int i = 0; i < rank; i++)
        t.shape.d[i] = ir_dim(dims[i]);
    return t;
}

static ValueId zeros(Graph *g, const char *name, Type t)
{
    size_t n = 4;
    for (int i = 0; i < t.shape.rank; i++)
        n *= (size_t)t.shape.d[i].c;
    return ir_const_new(g, name, t, ir_arena_alloc(g->arena, n), n, here);
}

static bool close_to(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fabs(b);
}

/* linear [64,512] x [512,512]^T + bias, relu, reshape, softmax, a transfer: each time
 * against the formula computed by hand from the valid profile. */
START_TEST(node_times_by_hand)
{
    CostProfile p;
    ck_assert_str_eq(parse_err(valid, &p), "");
    Graph *g = ir_graph_new("t");
    ValueId x = ir_input_new(g, "x", f32(2, (int64_t[]){64, 512}), here);
    ValueId in[3] = {x, zeros(g, "w", f32(2, (int64_t[]){512, 512})),
                     zeros(g, "b", f32(1, (int64_t[]){512}))};
    NodeId fc = ir_node_new(g, IR_OP_LINEAR, "fc", here, in, 3, 1);
    ValueId h = g->nodes[fc].outputs[0];
    NodeId relu = ir_node_new(g, IR_OP_RELU, "relu", here, &h, 1, 1);
    ValueId r = g->nodes[relu].outputs[0];
    NodeId flat = ir_node_new(g, IR_OP_FLATTEN, "flat", here, &r, 1, 1);
    ValueId fl = g->nodes[flat].outputs[0];
    NodeId sm = ir_node_new(g, IR_OP_SOFTMAX, "sm", here, &fl, 1, 1);
    ValueId s = g->nodes[sm].outputs[0];
    NodeId tr = ir_node_new(g, IR_OP_TRANSFER, "tr", here, &s, 1, 1);
    ir_output_add(g, g->nodes[tr].outputs[0]);
    NodeId perm = ir_node_new(g, IR_OP_PERMUTE, "perm", here, &r, 1, 1);
    ir_node_set_ints(g, perm, "perm", (int64_t[]){1, 0}, 2);
    ir_output_add(g, g->nodes[perm].outputs[0]);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);

    /* linear: 2*64*512*512 FLOPs; reads x, w, b and writes y */
    double flops = 2.0 * 64 * 512 * 512;
    double bytes = 4.0 * (64 * 512 + 512 * 512 + 512 + 64 * 512);
    double cpu = 5e-3 + fmax(flops / 100e6, bytes / 20e6);
    double gpu = 8e-3 + fmax(flops / 2000e6, bytes / 1000e6);
    ck_assert_msg(close_to(cost_node_ms(&p, g, &g->nodes[fc], IR_DEVICE_CPU, NULL), cpu), "%g %g",
                  cost_node_ms(&p, g, &g->nodes[fc], IR_DEVICE_CPU, NULL), cpu);
    ck_assert(close_to(cost_node_ms(&p, g, &g->nodes[fc], IR_DEVICE_CUDA, NULL), gpu));
    ck_assert_int_eq(cost_class(g, &g->nodes[fc]), COST_GEMM_F32);
    /* with --precision fp16 the GPU's GEMM is on the f16 rate; the CPU's stays f32 */
    ck_assert_int_eq(cost_class_prec(g, &g->nodes[fc], IR_F16), COST_GEMM_F16);
    ck_assert(close_to(cost_node_ms_prec(&p, g, &g->nodes[fc], IR_DEVICE_CUDA, NULL, IR_BF16),
                       8e-3 + fmax(flops / 8000e6, bytes / 1000e6)));
    ck_assert(close_to(cost_node_ms_prec(&p, g, &g->nodes[fc], IR_DEVICE_CPU, NULL, IR_F16), cpu));

    /* relu: 64*512 FLOPs, bandwidth-bound on the CPU (262144 B / 20 GB/s) */
    double n_out = 64 * 512;
    ck_assert_int_eq(cost_class(g, &g->nodes[relu]), COST_ELEMENTWISE);
    ck_assert(close_to(cost_node_ms(&p, g, &g->nodes[relu], IR_DEVICE_CPU, NULL),
                       5e-3 + fmax(n_out / 10e6, 8 * n_out / 20e6)));
    /* a fused epilogue adds one FLOP an element per step and its operand's bytes */
    Node fused = g->nodes[fc];
    fused.n_epilogue = 2;
    fused.epilogue[0] = (Epilogue){IR_OP_RELU, IR_NONE, false};
    fused.epilogue[1] = (Epilogue){IR_OP_ADD, h, false};
    ck_assert(close_to(cost_node_ms(&p, g, &fused, IR_DEVICE_CUDA, NULL),
                       8e-3 + fmax((flops + 2 * n_out) / 2000e6, (bytes + 4 * n_out) / 1000e6)));

    /* views cost nothing; softmax is a reduction */
    ck_assert(cost_node_ms(&p, g, &g->nodes[flat], IR_DEVICE_CPU, NULL) == 0);
    ck_assert_int_eq(cost_class(g, &g->nodes[sm]), COST_REDUCE);
    double sm_flops = ir_ops[IR_OP_SOFTMAX].flops(g, &g->nodes[sm], NULL);
    ck_assert(sm_flops > 0);
    ck_assert(close_to(cost_node_ms(&p, g, &g->nodes[sm], IR_DEVICE_CUDA, NULL),
                       8e-3 + fmax(sm_flops / 300e6, 8 * n_out / 1000e6)));

    /* a permute does no FLOPs: it counts one an 8 bytes moved, at the data rate */
    ck_assert(ir_ops[IR_OP_PERMUTE].flops(g, &g->nodes[perm], NULL) == 0);
    ck_assert_int_eq(cost_class(g, &g->nodes[perm]), COST_DATA);
    ck_assert(close_to(cost_node_ms(&p, g, &g->nodes[perm], IR_DEVICE_CPU, NULL),
                       5e-3 + fmax(n_out / 5e6, 8 * n_out / 20e6)));
    p.dev[IR_DEVICE_CPU].gflops[COST_DATA] = 0.5; /* now the rate is what limits it */
    ck_assert(
        close_to(cost_node_ms(&p, g, &g->nodes[perm], IR_DEVICE_CPU, NULL), 5e-3 + n_out / 0.5e6));

    /* a transfer: latency + bytes / link, on either side */
    double t = 20e-3 + 4 * n_out / 10e6;
    ck_assert(close_to(cost_transfer_ms(&p, 4 * n_out), t));
    ck_assert(close_to(cost_node_ms(&p, g, &g->nodes[tr], IR_DEVICE_CPU, NULL), t));
    ck_assert(close_to(cost_node_ms(&p, g, &g->nodes[tr], IR_DEVICE_CUDA, NULL), t));
    ck_assert_int_eq(cost_class(g, &g->nodes[tr]), COST_DATA);

    /* a dead node costs nothing; an absent device is infinitely slow, and so is a copy */
    g->nodes[relu].dead = true;
    ck_assert(cost_node_ms(&p, g, &g->nodes[relu], IR_DEVICE_CPU, NULL) == 0);
    g->nodes[relu].dead = false;
    p.dev[IR_DEVICE_CUDA].present = false;
    ck_assert(isinf(cost_node_ms(&p, g, &g->nodes[fc], IR_DEVICE_CUDA, NULL)));
    ck_assert(isinf(cost_transfer_ms(&p, 1)));
    ck_assert(close_to(cost_node_ms(&p, g, &g->nodes[fc], IR_DEVICE_CPU, NULL), cpu));
    ir_graph_free(g);
}
END_TEST

/* Symbols: a batch N costed at syms[0]; NULL is every symbol 1. */
START_TEST(symbols_scale_the_cost)
{
    CostProfile p;
    cost_profile_default(&p);
    Graph *g = ir_graph_new("t");
    int iN = ir_graph_symbol(g, "N");
    Type t = f32(2, (int64_t[]){1, 1024});
    t.shape.d[0] = (Dim){1, 1u << iN};
    ValueId x = ir_input_new(g, "x", t, here);
    NodeId relu = ir_node_new(g, IR_OP_RELU, "relu", here, &x, 1, 1);
    ir_output_add(g, g->nodes[relu].outputs[0]);
    Diag d;
    ir_diag_init(&d);
    ck_assert(ir_infer_shapes(g, &d));
    ir_diag_fini(&d);
    const CostDevice *c = &p.dev[IR_DEVICE_CPU];
    double one = c->launch_us / 1000 + fmax(1024 / (c->gflops[COST_ELEMENTWISE] * 1e6),
                                            8 * 1024 / (c->bandwidth_gbs * 1e6));
    ck_assert(close_to(cost_node_ms(&p, g, &g->nodes[relu], IR_DEVICE_CPU, NULL), one));
    int64_t syms[IR_MAX_SYMS] = {0};
    for (int i = 0; i < IR_MAX_SYMS; i++)
        syms[i] = 1;
    syms[iN] = 64;
    double many = c->launch_us / 1000 + fmax(64 * 1024 / (c->gflops[COST_ELEMENTWISE] * 1e6),
                                             64 * 8 * 1024 / (c->bandwidth_gbs * 1e6));
    ck_assert(close_to(cost_node_ms(&p, g, &g->nodes[relu], IR_DEVICE_CPU, syms), many));
    ck_assert(close_to(ir_value_bytes(g, x, syms), 64 * 4096));
    ck_assert(close_to(ir_value_bytes(g, x, NULL), 4096));
    ir_graph_free(g);
}
END_TEST

/* Every op has a class, by its family and flags (no op left out). */
START_TEST(every_op_has_a_class)
{
    ck_assert_str_eq(cost_class_name(COST_GEMM_INT8), "gemm_int8");
    Graph *g = ir_graph_new("t");
    for (int op = 0; op < IR_NUM_OPS; op++) {
        Node n = {.op = (OpKind)op};
        CostClass c = cost_class(g, &n);
        ck_assert(c >= 0 && c < COST_NUM_CLASSES);
        OpFamily f = ir_ops[op].family;
        if (op == IR_OP_QLINEAR || op == IR_OP_QCONV2D || op == IR_OP_WLINEAR ||
            op == IR_OP_DQLINEAR)
            ck_assert_int_eq(c, COST_GEMM_INT8);
        else if (op == IR_OP_QUANTIZE || op == IR_OP_DEQUANTIZE)
            ck_assert_int_eq(c, COST_ELEMENTWISE);
        else if (f == IR_FAM_CONV)
            ck_assert_int_eq(c, COST_CONV_F32);
        else if (f == IR_FAM_GEMM)
            ck_assert_int_eq(c, COST_GEMM_F32);
    }
    ir_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cost_model");
    TCase *tc = tcase_create("cost_model");
    tcase_add_test(tc, parses_a_valid_profile);
    tcase_add_test(tc, reports_mistakes_with_places);
    tcase_add_test(tc, load_names_the_file);
    tcase_add_test(tc, write_parse_round_trip);
    tcase_add_test(tc, hash_is_stable_and_sees_every_number);
    tcase_add_test(tc, node_times_by_hand);
    tcase_add_test(tc, symbols_scale_the_cost);
    tcase_add_test(tc, every_op_has_a_class);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
