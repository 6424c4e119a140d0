/* The device profile at the API (passes/cost_model.h; docs/placement.md, "The device
 * profile"): which profile --device auto uses (api_device_profile), and `slimc
 * profile-device`, which measures one with micro-benchmarks of the real kernels.
 *
 * Measuring. Each rate comes from two models compiled and run the way any model is (the
 * JIT on the CPU, the CUDA exec on a GPU or its emulation): a chain of 1 node of the op and
 * a chain of 1 + R. The difference of their median times is R nodes' work, so what every
 * run pays besides (checking inputs, allocating and copying the outputs, the copies to and
 * from a GPU) cancels. Then, as the cost model predicts a node (launch + work / rate):
 *
 *   launch_us      softmax of 16 floats: the whole node is its fixed cost
 *   gemm_f32       linear [B, K] x [K, K] + bias          FLOPs / (node - launch)
 *   conv_f32       conv2d 3x3, C -> C channels, padding 1  "
 *   gemm_int8      the same linear after quantize(int8, dynamic): dqlinear, int8 kernels
 *   gemm_f16       the linear with --precision fp16 (CUDA; the CPU's is its gemm_f32)
 *   int8_small_k   (CPU) not measured: the host's default (cost_int8_small_k_host: none
 *                  where int8 convs run on VNNI, else K < 64 at 1.3x the f32 time), written
 *                  out so that the profile states it
 *   sparse         (CPU) the linear's weight at 10% density on the CSR kernel (sparse(mode=csr)),
 *                  [B, K] (csr_gflops) and [1, K] (csr_gemv_gflops): FLOPs of the nonzeros;
 *                  the dense linear at [1, K] (dense_gemv_gflops), what one row weighs against;
 *                  the linear's weight at 2:4 on the N:M kernel (sparse(mode=nm)), [B, K]
 *                  (nm_gflops) and [1, K] (nm_gemv_gflops): FLOPs of the kept weights;
 *                  the conv below at 10% density on the CSR conv kernel (csr_conv_gflops), and
 *                  at 2:4 along its input channels on the N:M conv kernel (nm_conv_gflops);
 *                  int8: quantize then a chain of qlinears writing u8 (qchain's form) at 10%
 *                  density, dense at [1, K] (q8_dense_gemv_gflops, all FLOPs) and on the
 *                  block-sparse kernel (sparse(mode=q8)) at [B, K] (q8sp_gflops) and [1, K]
 *                  (q8sp_gemv_gflops): FLOPs of the kept blocks of 4; the conv as qconv2d at
 *                  10% density at 8x the channels on an 8x smaller image, dense and
 *                  block-sparse (q8sp_conv_gflops: gemm_int8 times the sparse kernel's rate
 *                  per kept FLOP over the dense qconv2d's per FLOP)
 *   elementwise    relu over 4M floats                    (also bandwidth: bytes / time)
 *   reduce         softmax over [4096, 1024]              (also bandwidth)
 *   data           permute of [2048, 2048]                (also bandwidth)
 *   bandwidth_gbs  the best of the three above's bytes / time
 *   link           a 16 MiB input against a 64 B one (bandwidth; the reduction that reads
 *                  it taken off), and 8 inputs against 1 (latency, per copy)
 *
 * The passes are layout and memplan only (not fuse, which would merge the chains), plus
 * quantize(int8, dynamic) for gemm_int8. SLIMC_PROFILE_QUICK=1 (tests) uses sizes an
 * eighth or less and fewer runs: its numbers are rougher. */
#include "api/api_internal.h"

#include "frontend/files.h"
#include "passes/cost_model.h"
#include "runtime/cuda.h"
#include "runtime/jit_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROFILE_FILE "device-profile.json"

/* ---- which profile ---- */

/* CACHE/device-profile.json (malloc'd), or NULL when there is no usable cache dir. */
static char *stored_profile_path(SlimcContext *ctx, const SlimcOptions *o)
{
    RtOptions ro;
    SlimcTimings t = {0};
    api_rt_options(o, &ro, &t);
    Diag quiet; /* no cache dir: no stored profile; the JIT warns when it compiles */
    ir_diag_init(&quiet);
    char *dir = rt_jit_cache_dir(&ro, &quiet);
    ir_diag_fini(&quiet);
    (void)ctx;
    if (!dir)
        return NULL;
    size_t n = strlen(dir) + sizeof PROFILE_FILE + 2;
    char *path = malloc(n);
    SLIMC_ASSERT(path);
    snprintf(path, n, "%s/%s", dir, PROFILE_FILE);
    free(dir);
    return path;
}

/* A profile is a few hundred bytes; anything over this is not one. */
#define COST_MAX_PROFILE_BYTES (1u << 20)

bool api_cost_profile_load(const char *path, CostProfile *out, Diag *d)
{
    memset(out, 0, sizeof *out);
    SrcLoc at = {path, 0, 0};
    struct stat st;
    const char *why = NULL;
    int fd = fe_open_regular(path, &st, &why);
    if (fd < 0) {
        if (why)
            ir_diag_error(d, at, "device profile %s", why);
        else
            ir_diag_error(d, at, "cannot open device profile: %s", strerror(errno));
        return false;
    }
    if ((uint64_t)st.st_size > COST_MAX_PROFILE_BYTES) {
        close(fd);
        ir_diag_error(d, at, "device profile is larger than %u KiB: not a profile",
                      COST_MAX_PROFILE_BYTES >> 10);
        return false;
    }
    char *text = malloc(COST_MAX_PROFILE_BYTES + 1);
    SLIMC_ASSERT(text);
    size_t len = 0;
    int err = 0;
    for (;;) {
        ssize_t got = read(fd, text + len, COST_MAX_PROFILE_BYTES + 1 - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            err = errno;
        if (got <= 0)
            break;
        len += (size_t)got;
        if (len > COST_MAX_PROFILE_BYTES)
            break;
    }
    close(fd);
    bool ok = false;
    if (err)
        ir_diag_error(d, at, "cannot read device profile: %s", strerror(err));
    else if (len > COST_MAX_PROFILE_BYTES)
        ir_diag_error(d, at, "device profile is larger than %u KiB: not a profile",
                      COST_MAX_PROFILE_BYTES >> 10);
    else
        ok = cost_profile_parse(text, len, path, out, d);
    free(text);
    return ok;
}

bool api_device_profile(SlimcContext *ctx, const SlimcOptions *o, CostProfile *out,
                        bool *from_default)
{
    *from_default = false;
    if (o && o->device_profile)
        return api_cost_profile_load(o->device_profile, out, &ctx->diag);
    char *path = stored_profile_path(ctx, o);
    struct stat st;
    if (path && stat(path, &st) == 0) {
        Diag d;
        ir_diag_init(&d);
        bool ok = api_cost_profile_load(path, out, &d);
        if (ok) {
            ir_diag_fini(&d);
            free(path);
            return true;
        }
        /* a warning (the run goes on), quoting the error's first line */
        const char *why = ir_diag_text(&d);
        ir_diag_warning(&ctx->diag, (SrcLoc){path, 0, 0},
                        "the stored device profile is not usable (%.*s); using the built-in "
                        "default profile (measure it again with slimc profile-device)",
                        (int)strcspn(why, "\n"), why);
        ir_diag_fini(&d);
    }
    free(path);
    cost_profile_default(out);
    *from_default = true;
    return true;
}

bool api_model_profile(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o, bool *from_default)
{
    if (!m->profile) {
        m->profile = calloc(1, sizeof *m->profile);
        SLIMC_ASSERT(m->profile);
    }
    if (!api_device_profile(ctx, o, m->profile, from_default))
        return false;
    m->g->place.profile = m->profile;
    return true;
}

/* ---- the table users read ---- */

static void print_profile(const CostProfile *p, FILE *f)
{
    fprintf(f, "profile: ");
    slimc_fputs_escaped(p->source, f);
    fprintf(f, " (hash %016llx)\n", (unsigned long long)p->hash);
    fprintf(f, "%-14s", "");
    for (int k = 0; k < COST_NUM_DEVICES; k++)
        if (p->dev[k].present)
            fprintf(f, " %14s", ir_device_name((Device)k));
    fputc('\n', f);
    for (int c = 0; c < COST_NUM_CLASSES; c++) {
        fprintf(f, "%-14s", cost_class_name((CostClass)c));
        for (int k = 0; k < COST_NUM_DEVICES; k++)
            if (p->dev[k].present)
                fprintf(f, " %8.4g GF/s", p->dev[k].gflops[c]);
        fputc('\n', f);
    }
    for (int c = 0; c < COST_SPARSE_NUM; c++) { /* rates on the nonzeros; "*": derived */
        static const char *const names[COST_SPARSE_NUM] = {
            "sparse_csr",     "sparse_gemv",   "dense_gemv",     "sparse_nm",
            "sparse_nm_gemv", "sparse_conv",   "sparse_nm_conv", "sparse_q8",
            "sparse_q8_gemv", "dense_q8_gemv", "sparse_q8_conv"};
        fprintf(f, "%-14s", names[c]);
        for (int k = 0; k < COST_NUM_DEVICES; k++)
            if (p->dev[k].present)
                fprintf(f, " %8.4g GF/s%s", cost_sparse_rate(&p->dev[k], (CostSparse)c),
                        p->dev[k].sparse_measured && p->dev[k].sparse_gflops[c] > 0 ? "" : "*");
        fputc('\n', f);
    }
    static const char *const rows[] = {"bandwidth", "launch", "memory"};
    static const char *const units[] = {"GB/s", "us", "MiB"};
    for (int r = 0; r < 3; r++) {
        fprintf(f, "%-14s", rows[r]);
        for (int k = 0; k < COST_NUM_DEVICES; k++) {
            const CostDevice *d = &p->dev[k];
            if (d->present)
                fprintf(f, " %8.4g %-4s",
                        r == 0   ? d->bandwidth_gbs
                        : r == 1 ? d->launch_us
                                 : d->memory_mb,
                        units[r]);
        }
        fputc('\n', f);
    }
    fprintf(f, "%-14s", "int8_small_k"); /* int8 convs of small K: their time over f32's */
    for (int k = 0; k < COST_NUM_DEVICES; k++) {
        const CostDevice *d = &p->dev[k];
        if (d->present && d->int8_small_k_below > 0)
            fprintf(f, " K<%-4.4g x%-5.3g", d->int8_small_k_below, d->int8_small_k_vs_f32);
        else if (d->present)
            fprintf(f, " %14s", "none");
    }
    fputc('\n', f);
    for (int k = 0; k < COST_NUM_DEVICES; k++)
        if (p->dev[k].present) {
            fprintf(f, "%s: ", ir_device_name((Device)k));
            slimc_fputs_escaped(p->dev[k].name, f);
            fputc('\n', f);
        }
    if (p->dev[IR_DEVICE_CUDA].present)
        fprintf(f, "link: %.4g GB/s, %.4g us a copy\n", p->link_gbs, p->link_latency_us);
    for (int k = 0; k < COST_NUM_DEVICES; k++)
        if (p->dev[k].present &&
            (!p->dev[k].sparse_measured || !(p->dev[k].sparse_gflops[COST_SPARSE_NM] > 0) ||
             !(p->dev[k].sparse_gflops[COST_SPARSE_NM_GEMV] > 0) ||
             !(p->dev[k].sparse_gflops[COST_SPARSE_CONV] > 0) ||
             !(p->dev[k].sparse_gflops[COST_SPARSE_NM_CONV] > 0) ||
             !(p->dev[k].sparse_gflops[COST_SPARSE_Q8] > 0) ||
             !(p->dev[k].sparse_gflops[COST_SPARSE_Q8_CONV] > 0))) {
            fprintf(
                f,
                "* sparse rates not in the profile: gemm_f32 x %g (csr), x %g (gemv), x %g "
                "(dense_gemv), x %g (nm), x %g (nm_gemv); conv_f32 x %g (sparse_conv), x %g "
                "(sparse_nm_conv); gemm_int8 x %g (sparse_q8), x %g (sparse_q8_gemv), x %g "
                "(dense_q8_gemv), x %g (sparse_q8_conv)\n",
                COST_SPARSE_DEFAULT_CSR, COST_SPARSE_DEFAULT_GEMV, COST_SPARSE_DEFAULT_DENSE_GEMV,
                COST_SPARSE_DEFAULT_NM, COST_SPARSE_DEFAULT_NM_GEMV, COST_SPARSE_DEFAULT_CONV,
                COST_SPARSE_DEFAULT_NM_CONV, COST_SPARSE_DEFAULT_Q8, COST_SPARSE_DEFAULT_Q8_GEMV,
                COST_SPARSE_DEFAULT_Q8_DENSE_GEMV, COST_SPARSE_DEFAULT_Q8_CONV);
            break;
        }
}

SlimcStatus slimc_device_profile_show(SlimcContext *ctx, const SlimcOptions *o, FILE *out)
{
    CostProfile p;
    bool dflt;
    if (!api_device_profile(ctx, o, &p, &dflt))
        return SLIMC_ERROR;
    print_profile(&p, out);
    if (dflt)
        fputs("(no profile measured: slimc profile-device measures this machine's)\n", out);
    return SLIMC_OK;
}

/* ---- measuring ---- */

static const SrcLoc here = {"profile-device", 0, 0};

typedef struct Prober {
    SlimcContext *ctx;
    SlimcOptions o;     /* device set; passes set per model */
    double budget_ms;   /* of runs per model */
    char gpu_name[128]; /* what the CUDA exec calls its device */
    bool failed;
} Prober;

static Type f32_type(int rank, const int64_t *dims)
{
    Type t = {.dtype = IR_F32, .shape = {.rank = rank}};
    for (int i = 0; i < rank; i++)
        t.shape.d[i] = ir_dim(dims[i]);
    return t;
}

static ValueId filled_const(Graph *g, const char *name, Type t)
{
    size_t n = 1;
    for (int i = 0; i < t.shape.rank; i++)
        n *= (size_t)t.shape.d[i].c;
    float *p = ir_arena_alloc(g->arena, n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((i * 7919) % 17) * 0.01f - 0.08f;
    return ir_const_new(g, name, t, p, n * sizeof(float), here);
}

/* A weight of type t with one element in ten nonzero (a fixed pseudo-random pattern: the
 * sparse kernels' rates are measured at 10% density); *nnz of them. */
static ValueId sparse_const(Graph *g, const char *name, Type t, int64_t *nnz)
{
    size_t n = 1;
    for (int i = 0; i < t.shape.rank; i++)
        n *= (size_t)t.shape.d[i].c;
    float *p = ir_arena_alloc(g->arena, n * sizeof(float));
    *nnz = 0;
    uint32_t r = 2463534242u;
    for (size_t i = 0; i < n; i++) {
        r ^= r << 13, r ^= r >> 17, r ^= r << 5;
        if (r % 10 == 0) {
            p[i] = (float)(1 + (i * 7919) % 17) * 0.01f;
            ++*nnz;
        }
    }
    return ir_const_new(g, name, t, p, n * sizeof(float), here);
}

/* A weight of type t [.., K] (K a multiple of 4) at 2:4: in each group of 4 along K, two
 * nonzeros at positions that vary from group to group. */
static ValueId nm_const(Graph *g, const char *name, Type t)
{
    size_t n = 1;
    for (int i = 0; i < t.shape.rank; i++)
        n *= (size_t)t.shape.d[i].c;
    float *p = ir_arena_alloc(g->arena, n * sizeof(float));
    static const int keep[6][2] = {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}};
    uint32_t r = 2463534242u;
    for (size_t i = 0; i < n; i += 4) {
        r ^= r << 13, r ^= r >> 17, r ^= r << 5;
        const int *k = keep[r % 6];
        for (size_t j = 0; j < 4 && i + j < n; j++)
            p[i + j] = ((int)j == k[0] || (int)j == k[1]) ? (float)(1 + (i * 7919 + j) % 17) * 0.01f
                                                          : 0.0f;
    }
    return ir_const_new(g, name, t, p, n * sizeof(float), here);
}

/* A conv weight [c, c, 3, 3] (c a multiple of 4) at 2:4 along its input channels: nm_const's
 * pattern on the [c, 3, 3, c] layout, transposed. */
static ValueId nm_conv_const(Graph *g, const char *name, int64_t c)
{
    Graph *tmp = ir_graph_new("nm");
    const ValueId v = nm_const(tmp, "w", f32_type(4, (int64_t[]){c, 3, 3, c}));
    const float *t = tmp->values[v].data; /* after the call, which grows tmp->values */
    const size_t n = (size_t)(c * c * 9);
    float *p = ir_arena_alloc(g->arena, n * sizeof(float));
    for (int64_t o = 0; o < c; o++)
        for (int64_t i = 0; i < c; i++)
            for (int64_t k = 0; k < 9; k++)
                p[(o * c + i) * 9 + k] = t[(o * 9 + k) * c + i];
    ir_graph_free(tmp);
    return ir_const_new(g, name, f32_type(4, (int64_t[]){c, c, 3, 3}), p, n * sizeof(float), here);
}

/* A qlinear's constants for [K, K] at 10% density (sparse_const's positions), as i8 with
 * per-output scales and sums: ins[1..4] = w, w_scale, w_sum, bias; *kept: its blocks of 4
 * along K holding a nonzero (what the int8 block-sparse kernel reads). conv_c > 0: a qconv2d's
 * instead, [conv_c, conv_c, 3, 3] (K = 9 conv_c), its blocks along C kh kw. */
static void q8_consts(Graph *g, int64_t K, int64_t conv_c, ValueId *ins, int64_t *kept)
{
    int64_t nnz;
    const ValueId f = sparse_const(g, "wf",
                                   conv_c > 0 ? f32_type(4, (int64_t[]){conv_c, conv_c, 3, 3})
                                              : f32_type(2, (int64_t[]){K, K}),
                                   &nnz);
    const float *p = g->values[f].data;
    const int64_t O = conv_c > 0 ? conv_c : K;
    K = conv_c > 0 ? 9 * conv_c : K;
    int8_t *w = ir_arena_alloc(g->arena, (size_t)(O * K));
    int32_t *sum = ir_arena_alloc(g->arena, sizeof(int32_t) * (size_t)O);
    float *ws = ir_arena_alloc(g->arena, sizeof(float) * (size_t)O);
    *kept = 0;
    for (int64_t o = 0; o < O; o++) {
        sum[o] = 0;
        ws[o] = 0.001f;
        for (int64_t k = 0; k < K; k++) {
            w[o * K + k] = (int8_t)(p[o * K + k] * 100.0f); /* 1..17 where nonzero */
            sum[o] += w[o * K + k];
        }
        for (int64_t k = 0; k < K; k += 4) {
            bool any = false;
            for (int64_t t = k; t < k + 4 && t < K; t++)
                any |= w[o * K + t] != 0;
            *kept += any;
        }
    }
    Type wt = g->values[f].type, st = f32_type(1, (int64_t[]){O});
    wt.dtype = IR_I8;
    ins[1] = ir_const_new(g, "w", wt, w, (size_t)(O * K), here);
    ins[2] = ir_const_new(g, "ws", st, ws, sizeof(float) * (size_t)O, here);
    st.dtype = IR_I32;
    ins[3] = ir_const_new(g, "wsum", st, sum, sizeof(int32_t) * (size_t)O, here);
    ins[4] = filled_const(g, "b", f32_type(1, (int64_t[]){O}));
}

typedef enum ChainOp {
    CH_LINEAR,
    CH_CONV,
    CH_RELU,
    CH_SOFTMAX,
    CH_PERMUTE,
    CH_SPARSE,
    CH_NM,
    CH_SPCONV, /* the conv at 10% density (sparse_const) */
    CH_NMCONV, /* the conv at 2:4 along its input channels (nm_const on [O, KH, KW, C]) */
    CH_Q8,     /* quantize, then qlinears at 10% density writing u8 for the next (q8_consts) */
    CH_Q8CONV  /* quantize, then the conv's qconv2d at 10% density writing u8 (q8_consts) */
} ChainOp;

/* A graph of `nodes` ops of kind op chained from one input of type in (shapes that an op
 * keeps: square matrices, C -> C convolutions). */
static Graph *chain_graph(ChainOp op, Type in, int nodes)
{
    Graph *g = ir_graph_new("profile");
    g->source = "profile-device";
    ValueId x = ir_input_new(g, "x", in, here);
    int r = in.shape.rank;
    int64_t last = in.shape.d[r - 1].c;
    ValueId w = IR_NONE, b = IR_NONE;
    if (op == CH_LINEAR) {
        w = filled_const(g, "w", f32_type(2, (int64_t[]){last, last}));
        b = filled_const(g, "b", f32_type(1, (int64_t[]){last}));
    } else if (op == CH_SPARSE) {
        int64_t nnz;
        w = sparse_const(g, "w", f32_type(2, (int64_t[]){last, last}), &nnz);
        b = filled_const(g, "b", f32_type(1, (int64_t[]){last}));
    } else if (op == CH_NM) {
        w = nm_const(g, "w", f32_type(2, (int64_t[]){last, last}));
        b = filled_const(g, "b", f32_type(1, (int64_t[]){last}));
    } else if (op == CH_CONV || op == CH_SPCONV || op == CH_NMCONV) {
        int64_t c = in.shape.d[1].c, nnz;
        w = op == CH_CONV     ? filled_const(g, "w", f32_type(4, (int64_t[]){c, c, 3, 3}))
            : op == CH_SPCONV ? sparse_const(g, "w", f32_type(4, (int64_t[]){c, c, 3, 3}), &nnz)
                              : nm_conv_const(g, "w", c);
        b = filled_const(g, "b", f32_type(1, (int64_t[]){c}));
    }
    ValueId q8[5] = {IR_NONE};
    if (op == CH_Q8 || op == CH_Q8CONV) {
        int64_t kept;
        q8_consts(g, last, op == CH_Q8CONV ? in.shape.d[1].c : 0, q8, &kept);
        NodeId qn = ir_node_new(g, IR_OP_QUANTIZE, "q", here, &x, 1, 1);
        ir_node_set_float(g, qn, "scale", 0.01);
        ir_node_set_int(g, qn, "zero_point", 128);
        x = g->nodes[qn].outputs[0];
    }
    for (int i = 0; i < nodes; i++) {
        ValueId ins[3] = {x, w, b};
        NodeId n = IR_NONE;
        switch (op) {
        case CH_LINEAR:
        case CH_SPARSE:
        case CH_NM: n = ir_node_new(g, IR_OP_LINEAR, "fc", here, ins, 3, 1); break;
        case CH_CONV:
        case CH_SPCONV:
        case CH_NMCONV:
            n = ir_node_new(g, IR_OP_CONV2D, "conv", here, ins, 3, 1);
            ir_node_set_ints(g, n, "padding", (int64_t[]){1, 1}, 2);
            break;
        case CH_Q8:
            q8[0] = x;
            n = ir_node_new(g, IR_OP_QLINEAR, "fc", here, q8, 5, 1);
            ir_node_set_float(g, n, "x_scale", 0.01);
            ir_node_set_int(g, n, "x_zero_point", 128);
            ir_node_set_float(g, n, "y_scale", 0.01);
            ir_node_set_int(g, n, "y_zero_point", 128);
            break;
        case CH_Q8CONV: {
            /* each conv its own weight, as in a network: one weight shared by the chain stays
             * in cache for the dense kernel while the sparse pass gives each conv its own blob
             * (measured 0.06-0.13x gemm_int8 so, 0.26 per conv in bench/qsparse_conv.c) */
            int64_t kept;
            if (i > 0)
                q8_consts(g, last, in.shape.d[1].c, q8, &kept);
            q8[0] = x;
            n = ir_node_new(g, IR_OP_QCONV2D, "conv", here, q8, 5, 1);
            ir_node_set_ints(g, n, "padding", (int64_t[]){1, 1}, 2);
            ir_node_set_float(g, n, "x_scale", 0.01);
            ir_node_set_int(g, n, "x_zero_point", 128);
            ir_node_set_float(g, n, "y_scale", 0.01);
            ir_node_set_int(g, n, "y_zero_point", 128);
            break;
        }
        case CH_RELU: n = ir_node_new(g, IR_OP_RELU, "relu", here, &x, 1, 1); break;
        case CH_SOFTMAX:
            n = ir_node_new(g, IR_OP_SOFTMAX, "softmax", here, &x, 1, 1);
            ir_node_set_int(g, n, "axis", r - 1);
            break;
        case CH_PERMUTE:
            n = ir_node_new(g, IR_OP_PERMUTE, "permute", here, &x, 1, 1);
            ir_node_set_ints(g, n, "perm", (int64_t[]){1, 0}, 2);
            break;
        }
        x = g->nodes[n].outputs[0];
    }
    ir_output_add(g, x);
    return g;
}

/* The median ms of runs of g (which it takes) compiled with the prober's options and
 * passes, on inputs of pseudo-random floats; *device_ms: the GPU's time of its kernels
 * (0 on the CPU or emulated). false after an error (in the context). */
static bool time_graph(Prober *pr, Graph *g, const char *passes, SlimcPrecision prec, double *ms,
                       double *device_ms)
{
    *ms = *device_ms = 0;
    SlimcContext *ctx = pr->ctx;
    if (!ir_infer_shapes(g, &ctx->diag)) {
        ir_graph_free(g);
        return false;
    }
    g->max_memory = ctx->max_memory;
    SlimcModel *m = calloc(1, sizeof *m);
    SLIMC_ASSERT(m);
    m->g = g;
    m->weight_bytes_loaded = ir_weight_bytes(g);
    api_model_describe(m);
    SlimcOptions o = pr->o;
    o.passes = passes;
    o.precision = prec;
    SlimcExec *e = NULL;
    SlimcTensor in[8];
    int n_in = g->n_inputs;
    SLIMC_ASSERT(n_in <= 8);
    memset(in, 0, sizeof in);
    bool ok = slimc_compile(ctx, m, &o, &e) == SLIMC_OK;
    for (int i = 0; ok && i < n_in; i++) {
        const Type *t = &g->values[g->inputs[i]].type;
        in[i].dtype = SLIMC_F32;
        in[i].ndim = t->shape.rank;
        size_t n = 1;
        for (int k = 0; k < t->shape.rank; k++)
            n *= (size_t)(in[i].shape[k] = t->shape.d[k].c);
        float *p = malloc(n * sizeof(float));
        SLIMC_ASSERT(p);
        uint32_t s = 12345u + (uint32_t)i;
        for (size_t k = 0; k < n; k++) {
            s = s * 1664525u + 1013904223u;
            p[k] = (float)(s >> 8) / (float)(1u << 23) - 1.0f;
        }
        in[i].data = p;
        in[i].nbytes = n * sizeof(float);
    }
    double first = 0;
    ok = ok && slimc_exec_bench(ctx, e, in, n_in, 1, &first) == SLIMC_OK;
    if (ok) {
        double runs = first > 0 ? pr->budget_ms / first : 100;
        int n_runs = runs < 3 ? 3 : runs > 100 ? 100 : (int)runs;
        ok = slimc_exec_bench(ctx, e, in, n_in, n_runs, ms) == SLIMC_OK;
        *device_ms = slimc_exec_bench_device_ms(e);
        if (o.device == SLIMC_DEVICE_CUDA)
            snprintf(pr->gpu_name, sizeof pr->gpu_name, "%s", slimc_exec_device(e));
    }
    for (int i = 0; i < n_in; i++)
        free(in[i].data);
    slimc_exec_free(e);
    slimc_model_free(m);
    return ok;
}

/* The FLOPs and bytes of one node of the chain, by ops.def's formulas (what the cost model
 * will predict from). */
static void node_work(ChainOp op, Type in, double *flops, double *bytes)
{
    Graph *g = chain_graph(op, in, 1);
    Diag d;
    ir_diag_init(&d);
    bool ok = ir_infer_shapes(g, &d);
    SLIMC_ASSERT(ok);
    ir_diag_fini(&d);
    const Node *n = &g->nodes[0];
    *flops = ir_ops[n->op].flops(g, n, NULL);
    *bytes = ir_ops[n->op].bytes(g, n, NULL);
    ir_graph_free(g);
}

/* Milliseconds of one node of the chain: (time of 1 + reps nodes - time of 1) / reps. */
static double node_ms(Prober *pr, ChainOp op, Type in, int reps, const char *passes,
                      SlimcPrecision prec)
{
    double one, many, dev_one, dev_many;
    if (pr->failed || !time_graph(pr, chain_graph(op, in, 1), passes, prec, &one, &dev_one) ||
        !time_graph(pr, chain_graph(op, in, 1 + reps), passes, prec, &many, &dev_many)) {
        pr->failed = true;
        return 0;
    }
    /* On a GPU the kernels' own time (events) is the better clock. */
    double t = dev_one > 0 && dev_many > 0 ? (dev_many - dev_one) : (many - one);
    return t / reps;
}

static const char plain_passes[] = "layout,memplan";

typedef struct Sizes {
    int64_t gemm_b, gemm_k, conv_c, conv_hw, elems, sm_rows, perm_n, link_elems;
    int reps;
} Sizes;

static double rate_of(double work, double ms, double launch_ms)
{
    /* the node's time less its fixed cost; a node that took no longer than its launch
     * (timer noise) still gets a finite rate */
    double busy = fmax(ms - launch_ms, 0.1 * fmax(ms, 1e-6));
    return work / (busy * 1e6);
}

/* Fills d (not its name) for the device pr->o names. */
static void measure_device(Prober *pr, const Sizes *s, CostDevice *d)
{
    double fl, by;
    const int reps = s->reps;
    /* launch: softmax of 16 floats */
    double launch_ms = node_ms(pr, CH_SOFTMAX, f32_type(2, (int64_t[]){1, 16}), 4 * reps,
                               plain_passes, SLIMC_PRECISION_FP32);
    launch_ms = fmax(launch_ms, 0);
    d->launch_us = launch_ms * 1000;
    Type gemm_in = f32_type(2, (int64_t[]){s->gemm_b, s->gemm_k});
    node_work(CH_LINEAR, gemm_in, &fl, &by);
    d->gflops[COST_GEMM_F32] = rate_of(
        fl, node_ms(pr, CH_LINEAR, gemm_in, reps, plain_passes, SLIMC_PRECISION_FP32), launch_ms);
    d->gflops[COST_GEMM_INT8] =
        rate_of(fl,
                node_ms(pr, CH_LINEAR, gemm_in, reps, "quantize(int8, dynamic),layout,memplan",
                        SLIMC_PRECISION_FP32),
                launch_ms);
    d->gflops[COST_GEMM_F16] =
        pr->o.device == SLIMC_DEVICE_CUDA
            ? rate_of(fl, node_ms(pr, CH_LINEAR, gemm_in, reps, plain_passes, SLIMC_PRECISION_FP16),
                      launch_ms)
            : d->gflops[COST_GEMM_F32];
    if (pr->o.device == SLIMC_DEVICE_CPU) {
        /* the CSR kernel at 10% density, several rows and one (FLOPs of the nonzeros) */
        Graph *sg = chain_graph(CH_SPARSE, gemm_in, 1);
        int64_t nnz = 0;
        const float *wd = sg->values[sg->nodes[0].inputs[1]].data;
        for (int64_t i = 0; i < s->gemm_k * s->gemm_k; i++)
            nnz += wd[i] != 0;
        ir_graph_free(sg);
        static const char csr_passes[] = "layout,sparse(mode=csr),memplan";
        Type one_row = f32_type(2, (int64_t[]){1, s->gemm_k});
        d->sparse_gflops[COST_SPARSE_CSR] = rate_of(
            2.0 * (double)s->gemm_b * (double)nnz,
            node_ms(pr, CH_SPARSE, gemm_in, reps, csr_passes, SLIMC_PRECISION_FP32), launch_ms);
        d->sparse_gflops[COST_SPARSE_CSR_GEMV] = rate_of(
            2.0 * (double)nnz,
            node_ms(pr, CH_SPARSE, one_row, 4 * reps, csr_passes, SLIMC_PRECISION_FP32), launch_ms);
        Type gemv_in = f32_type(2, (int64_t[]){1, s->gemm_k});
        node_work(CH_LINEAR, gemv_in, &fl, &by);
        d->sparse_gflops[COST_SPARSE_DENSE_GEMV] = rate_of(
            fl, node_ms(pr, CH_LINEAR, gemv_in, 4 * reps, plain_passes, SLIMC_PRECISION_FP32),
            launch_ms);
        /* the N:M kernel at 2:4 (FLOPs of the kept weights, half the dense ones) */
        if (s->gemm_k % 4 == 0) {
            static const char nm_passes[] = "layout,sparse(mode=nm),memplan";
            const double kept = (double)s->gemm_k * (double)s->gemm_k / 2;
            d->sparse_gflops[COST_SPARSE_NM] = rate_of(
                2.0 * (double)s->gemm_b * kept,
                node_ms(pr, CH_NM, gemm_in, reps, nm_passes, SLIMC_PRECISION_FP32), launch_ms);
            d->sparse_gflops[COST_SPARSE_NM_GEMV] = rate_of(
                2.0 * kept, node_ms(pr, CH_NM, one_row, 4 * reps, nm_passes, SLIMC_PRECISION_FP32),
                launch_ms);
        }
        /* int8: the dense qlinear at one row (all FLOPs), and the block-sparse kernel at
         * several rows and one (FLOPs of the kept blocks of 4) on the same 10% weight */
        Graph *qg = chain_graph(CH_Q8, gemm_in, 1);
        int64_t kept = 0;
        for (int i = 0; i < qg->n_nodes; i++)
            if (qg->nodes[i].op == IR_OP_QLINEAR) {
                const int8_t *w = qg->values[qg->nodes[i].inputs[1]].data;
                for (int64_t o = 0; o < s->gemm_k; o++)
                    for (int64_t k = 0; k < s->gemm_k; k += 4) {
                        bool any = false;
                        for (int64_t t = k; t < k + 4 && t < s->gemm_k; t++)
                            any |= w[o * s->gemm_k + t] != 0;
                        kept += any;
                    }
            }
        ir_graph_free(qg);
        static const char q8_passes[] = "layout,sparse(mode=q8),memplan";
        d->sparse_gflops[COST_SPARSE_Q8_DENSE_GEMV] = rate_of(
            2.0 * (double)s->gemm_k * (double)s->gemm_k,
            node_ms(pr, CH_Q8, one_row, 4 * reps, plain_passes, SLIMC_PRECISION_FP32), launch_ms);
        d->sparse_gflops[COST_SPARSE_Q8] =
            rate_of(8.0 * (double)s->gemm_b * (double)kept,
                    node_ms(pr, CH_Q8, gemm_in, reps, q8_passes, SLIMC_PRECISION_FP32), launch_ms);
        d->sparse_gflops[COST_SPARSE_Q8_GEMV] = rate_of(
            8.0 * (double)kept,
            node_ms(pr, CH_Q8, one_row, 4 * reps, q8_passes, SLIMC_PRECISION_FP32), launch_ms);
        d->sparse_measured = true;
    }
    Type conv_in = f32_type(4, (int64_t[]){1, s->conv_c, s->conv_hw, s->conv_hw});
    node_work(CH_CONV, conv_in, &fl, &by);
    d->gflops[COST_CONV_F32] = rate_of(
        fl, node_ms(pr, CH_CONV, conv_in, reps, plain_passes, SLIMC_PRECISION_FP32), launch_ms);
    if (pr->o.device == SLIMC_DEVICE_CPU) {
        /* the CSR conv kernel on the same conv at 10% density (its work, cost_spconv_flops) */
        Graph *sg = chain_graph(CH_SPCONV, conv_in, 1);
        int64_t nnz = 0;
        const float *wd = sg->values[sg->nodes[0].inputs[1]].data;
        for (int64_t i = 0; i < s->conv_c * s->conv_c * 9; i++)
            nnz += wd[i] != 0;
        ir_graph_free(sg);
        d->sparse_gflops[COST_SPARSE_CONV] =
            rate_of(cost_spconv_flops(1, (double)(s->conv_hw * s->conv_hw), (double)s->conv_c,
                                      (double)s->conv_c * 9, (double)nnz),
                    node_ms(pr, CH_SPCONV, conv_in, reps, "layout,sparse(mode=csr),memplan",
                            SLIMC_PRECISION_FP32),
                    launch_ms);
        /* the N:M conv kernel on the same conv at 2:4 along C (FLOPs of the kept weights) */
        if (s->conv_c % 4 == 0)
            d->sparse_gflops[COST_SPARSE_NM_CONV] = rate_of(
                2.0 * (double)(s->conv_hw * s->conv_hw) * (double)(s->conv_c * s->conv_c) * 9 / 2,
                node_ms(pr, CH_NMCONV, conv_in, reps, "layout,sparse(mode=nm),memplan",
                        SLIMC_PRECISION_FP32),
                launch_ms);
        /* the int8 block-sparse conv on a 3x3 qconv2d at 10% density against the dense
         * qconv2d on the same weight: the cost model weighs a dense qconv2d at gemm_int8, so
         * the rate stored is gemm_int8 times the sparse kernel's rate per kept FLOP over the
         * dense one's per FLOP (the two measured the same way). The conv's FLOPs at 8x the
         * channels on an 8x smaller image (512 channels at 7x7: ResNet-18's last stage, where
         * global pruning leaves the fewest weights), the shape where the kernel's rate relative
         * to the dense conv was lowest (bench/qsparse_conv.c): a measured profile errs dense */
        const int64_t qc = 8 * s->conv_c, qhw = s->conv_hw / 8 > 1 ? s->conv_hw / 8 : 2;
        const Type q8_in = f32_type(4, (int64_t[]){1, qc, qhw, qhw});
        Graph *qg = chain_graph(CH_Q8CONV, q8_in, 1);
        int64_t kept = 0;
        for (int i = 0; i < qg->n_nodes; i++)
            if (qg->nodes[i].op == IR_OP_QCONV2D) {
                const int8_t *w = qg->values[qg->nodes[i].inputs[1]].data;
                const int64_t K = 9 * qc;
                for (int64_t o = 0; o < qc; o++)
                    for (int64_t k = 0; k < K; k += 4) {
                        bool any = false;
                        for (int64_t t = k; t < k + 4 && t < K; t++)
                            any |= w[o * K + t] != 0;
                        kept += any;
                    }
            }
        ir_graph_free(qg);
        /* the ratio of the two rates, median of 3 interleaved pairs: a single pair's varied
         * 4x on a loaded machine, where the other rates vary far less */
        const double hw = (double)(qhw * qhw);
        double ratio[3];
        for (int r = 0; r < 3; r++) {
            const double dense_rate = rate_of(
                2.0 * hw * (double)(qc * qc) * 9,
                node_ms(pr, CH_Q8CONV, q8_in, reps, plain_passes, SLIMC_PRECISION_FP32), launch_ms);
            const double sparse_rate =
                rate_of(8.0 * hw * (double)kept,
                        node_ms(pr, CH_Q8CONV, q8_in, reps, "layout,sparse(mode=q8),memplan",
                                SLIMC_PRECISION_FP32),
                        launch_ms);
            ratio[r] = dense_rate > 0 ? sparse_rate / dense_rate : 0;
        }
        const double lo = fmin(ratio[0], fmin(ratio[1], ratio[2]));
        const double hi = fmax(ratio[0], fmax(ratio[1], ratio[2]));
        d->sparse_gflops[COST_SPARSE_Q8_CONV] =
            d->gflops[COST_GEMM_INT8] * (ratio[0] + ratio[1] + ratio[2] - lo - hi);
    }
    /* the bandwidth-bound three: each also says what bandwidth it saw */
    static const struct {
        ChainOp op;
        CostClass cls;
    } bw[] = {{CH_RELU, COST_ELEMENTWISE}, {CH_SOFTMAX, COST_REDUCE}, {CH_PERMUTE, COST_DATA}};
    Type bw_in[] = {f32_type(1, (int64_t[]){s->elems}), f32_type(2, (int64_t[]){s->sm_rows, 1024}),
                    f32_type(2, (int64_t[]){s->perm_n, s->perm_n})};
    d->bandwidth_gbs = 0;
    for (int i = 0; i < 3; i++) {
        node_work(bw[i].op, bw_in[i], &fl, &by);
        double ms = node_ms(pr, bw[i].op, bw_in[i], reps, plain_passes, SLIMC_PRECISION_FP32);
        /* a data-movement op does no FLOPs: its rate is of elements moved */
        double work = fl > 0 ? fl : by / 8;
        d->gflops[bw[i].cls] = rate_of(work, ms, launch_ms);
        d->bandwidth_gbs = fmax(d->bandwidth_gbs, rate_of(by, ms, launch_ms));
    }
}

/* The host <-> GPU link: a big input against a small one through a reduction (bandwidth),
 * eight inputs against one (latency). */
static void measure_link(Prober *pr, const Sizes *s, const CostDevice *gpu, CostProfile *p)
{
    double ms[4], dev[4];
    int64_t sizes[2] = {16, s->link_elems};
    for (int k = 0; k < 2 && !pr->failed; k++) {
        Graph *g = ir_graph_new("profile_link");
        g->source = "profile-device";
        ValueId x = ir_input_new(g, "x", f32_type(1, &sizes[k]), here);
        NodeId n = ir_node_new(g, IR_OP_REDUCE_SUM, "sum", here, &x, 1, 1);
        ir_node_set_ints(g, n, "axes", (int64_t[]){0}, 1);
        ir_output_add(g, g->nodes[n].outputs[0]);
        pr->failed |= !time_graph(pr, g, plain_passes, SLIMC_PRECISION_FP32, &ms[k], &dev[k]);
    }
    for (int k = 0; k < 2 && !pr->failed; k++) { /* concat of 8 inputs, or of one 8 times */
        Graph *g = ir_graph_new("profile_link");
        g->source = "profile-device";
        ValueId xs[8];
        for (int i = 0; i < 8; i++) {
            char name[8];
            snprintf(name, sizeof name, "x%d", i);
            xs[i] = k == 0 || i == 0 ? ir_input_new(g, name, f32_type(1, (int64_t[]){16}), here)
                                     : xs[0];
        }
        NodeId n = ir_node_new(g, IR_OP_CONCAT, "cat", here, xs, 8, 1);
        ir_node_set_int(g, n, "axis", 0);
        ir_output_add(g, g->nodes[n].outputs[0]);
        pr->failed |=
            !time_graph(pr, g, plain_passes, SLIMC_PRECISION_FP32, &ms[2 + k], &dev[2 + k]);
    }
    if (pr->failed)
        return;
    double bytes = 4.0 * (double)(s->link_elems - 16);
    double reduce_ms = (double)(s->link_elems - 16) / (gpu->gflops[COST_REDUCE] * 1e6);
    /* the kernels' time apart, what is left of the difference is the copy */
    double copy_ms = (ms[1] - dev[1]) - (ms[0] - dev[0]) - (dev[1] > 0 ? 0 : reduce_ms);
    copy_ms = fmax(copy_ms, 0.05 * (ms[1] - ms[0]) + 1e-6);
    p->link_gbs = bytes / (copy_ms * 1e6);
    p->link_latency_us = fmax((ms[2] - ms[3]) / 7, 0) * 1000;
}

static void cpu_name(char *out, size_t cap, int threads)
{
    char model[200] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (colon && !strncmp(line, "model name", 10)) {
            colon++;
            while (*colon == ' ' || *colon == '\t')
                colon++;
            colon[strcspn(colon, "\n")] = 0;
            snprintf(model, sizeof model, "%s", colon);
            break;
        }
    }
    if (f)
        fclose(f);
    snprintf(out, cap, "%s (%d thread%s)", model, threads, threads == 1 ? "" : "s");
}

static void stamp(char *out, size_t cap)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M UTC", &tm);
}

/* Writes p to path through a temp file beside it and a rename. */
static bool write_profile(SlimcContext *ctx, const CostProfile *p, const char *path)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd), unlink(tmp);
        ir_diag_error(&ctx->diag, (SrcLoc){path, 0, 0}, "cannot write the device profile: %s",
                      strerror(errno));
        return false;
    }
    cost_profile_write(p, f);
    bool ok = fflush(f) == 0 && !ferror(f);
    int err = errno;
    ok = (fclose(f) == 0) && ok;
    if (ok && rename(tmp, path) != 0)
        ok = false, err = errno;
    if (!ok) {
        unlink(tmp);
        ir_diag_error(&ctx->diag, (SrcLoc){path, 0, 0}, "cannot write the device profile: %s",
                      strerror(err));
    }
    return ok;
}

SlimcStatus slimc_profile_device(SlimcContext *ctx, const SlimcOptions *o, const char *out_path)
{
    SlimcOptions base;
    if (!o) {
        slimc_options_default(&base);
        o = &base;
    }
    const char *q = getenv("SLIMC_PROFILE_QUICK");
    bool quick = q && !strcmp(q, "1");
    const bool emulate = rt_cuda_emulated(o->cuda_emulate);
    bool cuda = false;
    char why[700] = "";
    if (o->device != SLIMC_DEVICE_CPU) {
        cuda = rt_cuda_device_available(emulate, why, sizeof why);
        if (!cuda && o->device == SLIMC_DEVICE_AUTO)
            ir_diag_note(&ctx->diag, (SrcLoc){0}, "no CUDA device (%s): the CPU's profile alone",
                         why);
        if (!cuda && o->device == SLIMC_DEVICE_CUDA) {
            ir_diag_error(&ctx->diag, (SrcLoc){0},
                          "no CUDA device found (%s): profile the CPU alone with --device cpu, "
                          "or emulate the GPU with SLIMC_CUDA_EMULATE=1",
                          why);
            return SLIMC_ERROR;
        }
    }
    char *path = out_path ? strdup(out_path) : stored_profile_path(ctx, o);
    if (!path) {
        ir_diag_error(&ctx->diag, (SrcLoc){0},
                      "no usable cache directory to store the device profile in: give a file "
                      "with -o");
        return SLIMC_ERROR;
    }
    CostProfile p;
    memset(&p, 0, sizeof p);
    /* The CPU: full sizes take about two seconds of runs on 2 cores (and the compiles the
     * first time); quick ones a fraction. */
    static const Sizes full = {64, 512, 64, 56, 1 << 22, 4096, 2048, 1 << 22, 4};
    static const Sizes small = {32, 256, 32, 28, 1 << 18, 256, 512, 1 << 20, 2};
    /* a real GPU: work enough that kernels are not all launch (a 1 GFLOP GEMM, 64 MiB
     * streams), small enough for any GPU's memory */
    static const Sizes gpu = {512, 1024, 64, 56, 1 << 24, 16384, 4096, 1 << 24, 4};
    /* the emulated GPU runs its kernels on the CPU, slowly: small sizes whatever is asked */
    static const Sizes emulated = {16, 128, 16, 14, 1 << 16, 64, 256, 1 << 18, 2};
    Prober pr = {.ctx = ctx, .o = *o, .budget_ms = quick ? 15 : 60};
    pr.o.device = SLIMC_DEVICE_CPU;
    pr.o.device_profile = NULL;
    CostDevice *c = &p.dev[IR_DEVICE_CPU];
    c->present = true;
    cpu_name(c->name, sizeof c->name, o->threads > 0 ? o->threads : slimc_default_threads());
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    c->memory_mb = pages > 0 && page > 0 ? (double)pages * (double)page / 1048576.0 : 0;
    measure_device(&pr, quick ? &small : &full, c);
    if (cuda && !pr.failed) {
        pr.o.device = SLIMC_DEVICE_CUDA;
        const Sizes *s = emulate ? &emulated : quick ? &small : &gpu;
        CostDevice *gd = &p.dev[IR_DEVICE_CUDA];
        gd->present = true;
        measure_device(&pr, s, gd);
        measure_link(&pr, s, gd, &p);
        snprintf(gd->name, sizeof gd->name, "%s", pr.gpu_name);
    }
    if (pr.failed) {
        free(path);
        return SLIMC_ERROR;
    }
    char when[64];
    stamp(when, sizeof when);
    snprintf(p.source, sizeof p.source, "measured by slimc profile-device%s, %s",
             quick ? " (quick)" : "", when);
    p.hash = cost_profile_hash(&p);
    bool ok = write_profile(ctx, &p, path);
    if (ok)
        ir_diag_note(&ctx->diag, (SrcLoc){0}, "device profile written to %s", path);
    free(path);
    return ok ? SLIMC_OK : SLIMC_ERROR;
}
