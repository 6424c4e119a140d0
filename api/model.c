/* The public API: contexts, models, passes, inspection and emitting C. */
#include "api/finetune.h"
#include "api/api_internal.h"
#include "api/pipeline.h"

#include "codegen/backend.h"
#include "codegen/c/aot.h" /* cg_aot_is_identifier */
#include "frontend/files.h"
#include "frontend/onnx.h"
#include "frontend/slim.h"
#include "frontend/slim_write.h"
#include "ir/text_escape.h"
#include "runtime/jit.h"        /* RT_MAX_PARTS */
#include "runtime/model_desc.h" /* rt_make_dirs */
#include "ir/limits.h"
#include "passes/cost_model.h"
#include "passes/pass.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

double api_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

const char *slimc_version(void)
{
    return SLIMC_VERSION;
}

void slimc_options_default(SlimcOptions *o)
{
    memset(o, 0, sizeof *o);
    o->threads = 0; /* slimc_default_threads() */
    o->opt_level = 2;
}

SlimcContext *slimc_context_new(void)
{
    SlimcContext *ctx = calloc(1, sizeof *ctx);
    if (ctx) {
        ir_diag_init(&ctx->diag);
        ctx->max_memory = ir_default_max_memory();
    }
    api_install_pass_runner();
    return ctx;
}

void slimc_context_free(SlimcContext *ctx)
{
    if (!ctx)
        return;
    ir_diag_fini(&ctx->diag);
    slimc_clear_fixes(ctx);
    free(ctx);
}

const char *slimc_error(const SlimcContext *ctx)
{
    return ir_diag_text((Diag *)&ctx->diag);
}
const char *slimc_messages(const SlimcContext *ctx)
{
    return ir_diag_text((Diag *)&ctx->diag);
}
void slimc_fputs_escaped(const char *s, FILE *f)
{
    ir_esc_term_put(f, s);
}
void slimc_clear_messages(SlimcContext *ctx)
{
    ir_diag_clear(&ctx->diag);
}
SlimcTimings slimc_timings(const SlimcContext *ctx)
{
    return ctx->t;
}

void slimc_set_max_memory(SlimcContext *ctx, uint64_t bytes)
{
    ctx->max_memory = bytes ? bytes : ir_default_max_memory();
}
uint64_t slimc_max_memory(const SlimcContext *ctx)
{
    return ctx->max_memory;
}
bool slimc_parse_size(const char *s, uint64_t *bytes)
{
    return ir_parse_size(s, bytes);
}

const char *slimc_dtype_name(SlimcDType t)
{
    return ir_dtype_name((DType)t);
}
size_t slimc_dtype_size(SlimcDType t)
{
    return ir_dtype_bytes((DType)t, 1);
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    SLIMC_ASSERT(p);
    return p;
}

static void free_strings(char **v, int n)
{
    if (!v)
        return;
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Output file names: the declared name reduced to [A-Za-z0-9_.-], else outputK; made
 * unique by a suffix. */
static char *output_file_name(const Graph *g, int k)
{
    const char *name = g->output_names ? g->output_names[k] : NULL;
    char buf[128];
    size_t n = 0;
    for (const char *p = name; p && *p && n + 1 < sizeof buf; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        buf[n++] = ok ? c : '_';
    }
    buf[n] = 0;
    if (n == 0 || strcmp(buf, ".") == 0 || strcmp(buf, "..") == 0)
        snprintf(buf, sizeof buf, "output%d", k);
    return xstrdup(buf);
}

void api_model_describe(SlimcModel *m)
{
    Graph *g = m->g;
    free_strings(m->input_types, g->n_inputs);
    free_strings(m->output_types, g->n_outputs);
    free_strings(m->output_names, g->n_outputs);
    m->input_types = calloc((size_t)g->n_inputs + 1, sizeof(char *));
    m->output_types = calloc((size_t)g->n_outputs + 1, sizeof(char *));
    m->output_names = calloc((size_t)g->n_outputs + 1, sizeof(char *));
    SLIMC_ASSERT(m->input_types && m->output_types && m->output_names);
    char buf[256];
    for (int i = 0; i < g->n_inputs; i++)
        m->input_types[i] = xstrdup(ir_type_str(g, &g->values[g->inputs[i]].type, buf, sizeof buf));
    for (int i = 0; i < g->n_outputs; i++) {
        m->output_types[i] =
            xstrdup(ir_type_str(g, &g->values[g->outputs[i]].type, buf, sizeof buf));
        m->output_names[i] = output_file_name(g, i);
        for (int j = 0; j < i; j++)
            if (strcmp(m->output_names[j], m->output_names[i]) == 0) {
                char *renamed = malloc(strlen(m->output_names[i]) + 16);
                SLIMC_ASSERT(renamed);
                sprintf(renamed, "%s_%d", m->output_names[i], i);
                free(m->output_names[i]);
                m->output_names[i] = renamed;
                break;
            }
    }
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* so: how a .slim file loads (NULL: as `run` loads it) */
static SlimcStatus load_model(SlimcContext *ctx, const char *path, const FeSlimOptions *so,
                              SlimcModel **out)
{
    *out = NULL;
    double t0 = api_now_ms();
    FeOnnxOptions fo = {.max_memory = ctx->max_memory, .fixes = ctx->fixes};
    FeSlimOptions fixed = {0};
    if (so)
        fixed = *so;
    fixed.fixes = ctx->fixes;
    Graph *g = ends_with(path, ".onnx") ? fe_onnx_load_ex(path, &fo, &ctx->diag)
                                        : fe_slim_load_ex(path, &fixed, &ctx->diag);
    ctx->t.parse += api_now_ms() - t0;
    return api_model_wrap(ctx, g, out);
}

SlimcStatus api_model_wrap(SlimcContext *ctx, Graph *g, SlimcModel **out)
{
    *out = NULL;
    if (!g)
        return SLIMC_ERROR;
    g->max_memory = ctx->max_memory;
    SlimcModel *m = calloc(1, sizeof *m);
    SLIMC_ASSERT(m);
    m->g = g;
    m->weight_bytes_loaded = ir_weight_bytes(g);
    /* Check the compress block now, so that its mistakes show at load time. */
    if (g->compress && !pass_pipeline_check(g->compress, &ctx->diag)) {
        slimc_model_free(m);
        return SLIMC_ERROR;
    }
    api_model_describe(m);
    *out = m;
    return SLIMC_OK;
}

SlimcStatus slimc_model_load(SlimcContext *ctx, const char *path, SlimcModel **out)
{
    return load_model(ctx, path, NULL, out);
}

SlimcStatus slimc_model_load_for_training(SlimcContext *ctx, const char *path, uint64_t seed,
                                          SlimcModel **out)
{
    FeSlimOptions so = {.init_missing_weights = true, .seed = seed, .training = true};
    return load_model(ctx, path, &so, out);
}

void slimc_model_free(SlimcModel *m)
{
    if (!m)
        return;
    free_strings(m->input_types, m->g->n_inputs);
    free_strings(m->output_types, m->g->n_outputs);
    free_strings(m->output_names, m->g->n_outputs);
    ir_graph_free(m->g);
    free(m->profile);
    free(m);
}

const char *slimc_model_name(const SlimcModel *m)
{
    return m->g->name;
}
int slimc_model_num_inputs(const SlimcModel *m)
{
    return m->g->n_inputs;
}
int slimc_model_num_outputs(const SlimcModel *m)
{
    return m->g->n_outputs;
}

const char *slimc_model_input_name(const SlimcModel *m, int i)
{
    return i >= 0 && i < m->g->n_inputs ? m->g->values[m->g->inputs[i]].name : NULL;
}

const char *slimc_model_output_name(const SlimcModel *m, int i)
{
    return i >= 0 && i < m->g->n_outputs ? m->output_names[i] : NULL;
}

int slimc_model_input_index(const SlimcModel *m, const char *name)
{
    for (int i = 0; i < m->g->n_inputs; i++)
        if (strcmp(m->g->values[m->g->inputs[i]].name, name) == 0)
            return i;
    return -1;
}

const char *slimc_model_input_type(const SlimcModel *m, int i)
{
    return i >= 0 && i < m->g->n_inputs ? m->input_types[i] : NULL;
}

const char *slimc_model_output_type(const SlimcModel *m, int i)
{
    return i >= 0 && i < m->g->n_outputs ? m->output_types[i] : NULL;
}

SlimcStatus slimc_model_optimize(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o)
{
    if (m->optimized)
        return SLIMC_OK;
    SlimcOptions dflt;
    if (!o) {
        slimc_options_default(&dflt);
        o = &dflt;
    }
    Graph *g = m->g;
    g->max_memory = ctx->max_memory;
    Device dev;
    bool automatic;
    if (!api_pick_device(ctx, o, &dev, &automatic))
        return SLIMC_ERROR;
    m->device = dev;
    m->precision = o->precision;
    api_place_nodes(g, dev);
    g->place.fixed = !automatic; /* pins apply with --device auto only */
    if (automatic && !api_place_auto(ctx, m, o))
        return SLIMC_ERROR;
    bool from_default = false; /* the sparse pass's choices come from the same profile */
    if (!automatic && !api_model_profile(ctx, m, o, &from_default))
        return SLIMC_ERROR;
    double ms = 0;
    PassRunOptions ro = {.print_after = o->print_after,
                         .print_to = o->print_to ? o->print_to : stderr,
                         .verify = true,
                         .ms = &ms};
    bool ok = true;
    if (o->passes) {
        ok = api_pipeline_run_text(g, o->passes, &ro, &ctx->diag);
        /* A user pipeline without memplan still needs one before code generation. */
        if (ok && !g->planned)
            ok = pass_pipeline_run(g, "memplan", (SrcLoc){0}, &ro, &ctx->diag);
    } else {
        if (g->compress)
            ok = api_pipeline_run(g, g->compress, &ro, &ctx->diag);
        if (ok)
            ok = o->quantize /* its calibrate= file read by the API layer */
                     ? api_pipeline_run_text(g, pass_default_pipeline_with(g, o->quantize), &ro,
                                             &ctx->diag)
                     : pass_pipeline_run(g, pass_default_pipeline(), (SrcLoc){0}, &ro, &ctx->diag);
    }
    ctx->t.passes += ms;
    if (!ok)
        return SLIMC_ERROR;
    m->device = api_model_device(g, dev);
    /* What running it will ask for, known now that the arena is planned (with symbolic
     * dims, at their smallest: a run checks again for the symbols its inputs bind). */
    char what[300];
    snprintf(what, sizeof what, "model '%.200s': memory to run it (weights + arena + outputs%s)",
             g->name, g->n_syms ? ", every symbol 1" : "");
    if (!ir_check_memory(ir_model_bytes(g, NULL), g->max_memory, what, (SrcLoc){g->source, 0, 0},
                         &ctx->diag))
        return SLIMC_ERROR;
    m->optimized = true;
    api_model_describe(m);
    return SLIMC_OK;
}

static void print_bytes(FILE *out, double b)
{
    if (b >= 1 << 20)
        fprintf(out, "%.2f MiB", b / (1 << 20));
    else if (b >= 1 << 10)
        fprintf(out, "%.1f KiB", b / (1 << 10));
    else
        fprintf(out, "%.0f B", b);
}

/* "4096 + 12800*N" */
static void print_poly(const Graph *g, const Poly *p, FILE *out)
{
    if (p->n == 0)
        fputs("0", out);
    for (int i = 0; i < p->n; i++) {
        char dim[64];
        fputs(i ? " + " : "", out);
        ir_esc_term_put(out, ir_dim_str(g, (Dim){p->t[i].c, p->t[i].mask}, dim, sizeof dim));
    }
}

/* inspect --quant: one line per conv/linear layer, int8 or float, then the totals. */
static void inspect_quant(const Graph *g, FILE *out)
{
    int n_q = 0, n_f = 0;
    double qbytes = 0, fbytes = 0;
    fputs("quantization:\n", out);
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        const bool q = n->op == IR_OP_QCONV2D || n->op == IR_OP_QLINEAR;
        const bool lowbit = n->op == IR_OP_WLINEAR || n->op == IR_OP_DQLINEAR;
        if (n->dead || !(q || lowbit || n->op == IR_OP_CONV2D || n->op == IR_OP_LINEAR ||
                         n->op == IR_OP_MATMUL))
            continue;
        const Value *w = &g->values[n->inputs[1]];
        char t[128], shown_t[IR_ESC_NAME_BUF], shown_n[IR_ESC_NAME_BUF];
        ir_type_str(g, &w->type, t, sizeof t);
        /* the layer's weight as PyTorch has it ([out, in] for a linear), not the layout the
         * layout pass packed it into for the kernels */
        const Shape *in_s = &g->values[n->inputs[0]].type.shape;
        const Shape *out_s = &g->values[n->outputs[0]].type.shape;
        bool w_packed = ir_attr_w_packed(n) != 0, w_trans = ir_attr_w_transposed(n) != 0;
        if ((n->op == IR_OP_LINEAR || n->op == IR_OP_QLINEAR) && (w_packed || w_trans) &&
            in_s->rank >= 1 && out_s->rank >= 1 && ir_dim_static(in_s->d[in_s->rank - 1]) &&
            ir_dim_static(out_s->d[out_s->rank - 1]))
            snprintf(t, sizeof t, "%s[%lld, %lld]", ir_dtype_name(w->type.dtype),
                     (long long)out_s->d[out_s->rank - 1].c, (long long)in_s->d[in_s->rank - 1].c);
        else if (w_packed)
            snprintf(t + strlen(t), sizeof t - strlen(t), " packed");
        fprintf(out, "  %-24s %-8s %-24s", ir_esc_term(shown_n, sizeof shown_n, n->name),
                ir_ops[n->op].name, ir_esc_term(shown_t, sizeof shown_t, t));
        if (lowbit) {
            n_q++;
            double wb = (double)w->data_bytes, count = 1;
            for (int r = 0; r < w->type.shape.rank; r++)
                count *= (double)w->type.shape.d[r].c;
            const Shape *xsh = &g->values[n->inputs[0]].type.shape;
            if (ir_attr_w_packed(n) && xsh->rank >= 1) { /* after layout: unpadded */
                count = (double)ir_attr_out_features_or(n, 1) * (double)xsh->d[xsh->rank - 1].c;
                wb = count * (double)ir_dtype_bits(w->type.dtype) / 8.0;
            }
            /* the scales (wlinear input 2; dqlinear inputs 2 and 3, scales and sums) */
            for (int j = 2; j < (n->op == IR_OP_DQLINEAR ? 4 : 3) && j < n->n_inputs; j++)
                if (n->inputs[j] != IR_NONE)
                    wb += (double)g->values[n->inputs[j]].data_bytes;
            qbytes += wb;
            fbytes += 4.0 * count;
            if (n->op == IR_OP_DQLINEAR)
                fputs(" dynamic int8: x quantized per run (u8, per tensor)\n", out);
            else if (ir_node_attr_id(n, IR_A_group))
                fprintf(out, " weight-only, one f32 scale per %lld weights of a row\n",
                        (long long)ir_attr_group(n));
            else
                fputs(" weight-only (f32 compute)\n", out);
            continue;
        }
        if (!q) {
            n_f++;
            if (ir_attr_quant_float(n) == 2 && ir_attr_quant_small_k(n))
                fprintf(out,
                        " float: int8 predicted slower (%.4g ms int8 vs %.4g ms float, cost "
                        "model: K=%lld is a small K for int8 convs on this profile's CPU, "
                        "int8_small_k)\n",
                        ir_attr_quant_int8_ms(n), ir_attr_quant_float_ms(n),
                        (long long)ir_attr_quant_small_k(n));
            else if (ir_attr_quant_float(n) == 2)
                fprintf(out,
                        " float: int8 predicted slower (%.4g ms int8 vs %.4g ms float, cost "
                        "model)\n",
                        ir_attr_quant_int8_ms(n), ir_attr_quant_float_ms(n));
            else if (ir_attr_quant_float(n))
                fprintf(
                    out,
                    " float: kept by the accuracy guard (float alone, it recovers %.2f points)\n",
                    ir_attr_quant_cost(n));
            else
                fprintf(out, " float%s\n",
                        w->kind == IR_VALUE_CONST ? "" : " (activation operand)");
            continue;
        }
        n_q++;
        const bool packed = ir_attr_w_packed(n) != 0; /* after layout */
        const Shape *xsh = &g->values[n->inputs[0]].type.shape;
        int64_t count = 1;
        for (int r = 0; r < w->type.shape.rank; r++)
            count *= w->type.shape.d[r].c;
        const int64_t O = packed ? ir_attr_out_features_or(n, 1) : w->type.shape.d[0].c;
        if (packed && xsh->rank >= 1)
            count = O * xsh->d[xsh->rank - 1].c;
        const float *sc = g->values[n->inputs[2]].data;
        double lo = INFINITY, hi = 0;
        for (int64_t o = 0; sc && o < O; o++) {
            lo = fmin(lo, sc[o]);
            hi = fmax(hi, sc[o]);
        }
        /* what `slimc compress` writes: i8 weights and f32 scales (the i32 row sums are
         * computed again at load) */
        qbytes += (double)count + 4.0 * (double)O;
        fbytes += 4.0 * (double)count;
        const double xs = ir_attr_x_scale(n);
        const int64_t zp = ir_attr_x_zero_point(n);
        fprintf(out, " w.scale [%.3g, %.3g]", lo, hi);
        const Attr *we = ir_node_attr_id(n, IR_A_w_error);
        if (we)
            fprintf(out, " w.error %.2f%%", we->f * 100);
        else
            fputs(" w.error -", out);
        fprintf(out, "  x: u8 scale %.4g zp %lld = [%.4g, %.4g]\n", xs, (long long)zp,
                (double)-zp * xs + 0.0, (255.0 - (double)zp) * xs);
    }
    fprintf(out, "  %d layer%s quantized, %d float", n_q, n_q == 1 ? "" : "s", n_f);
    if (n_q) {
        fputs("; quantized weights (with their scales) ", out);
        print_bytes(out, qbytes);
        fputs(" vs ", out);
        print_bytes(out, fbytes);
        fprintf(out, " as f32 (%.2fx smaller)", fbytes / qbytes);
    }
    fputs("\n  (w.error: relative RMS error of the dequantized weights, known when the model "
          "was quantized in this run)\n",
          out);
}

SlimcStatus slimc_model_inspect(SlimcContext *ctx, SlimcModel *m, unsigned what, FILE *out)
{
    Graph *g = m->g;
    if (what & SLIMC_INSPECT_DOT)
        what = SLIMC_INSPECT_DOT; /* Graphviz alone, so the output can be piped to dot */
    if ((what & (SLIMC_INSPECT_MEMORY | SLIMC_INSPECT_QUANT)) && !m->optimized &&
        slimc_model_optimize(ctx, m, NULL) != SLIMC_OK)
        return SLIMC_ERROR;
    int64_t ones[IR_MAX_SYMS];
    for (int i = 0; i < IR_MAX_SYMS; i++)
        ones[i] = 1;
    if (what & SLIMC_INSPECT_SUMMARY) {
        /* names come from the model file: escaped for the terminal */
        fputs("model ", out);
        ir_esc_term_put(out, g->name);
        fputs(" (", out);
        ir_esc_term_put(out, g->source ? g->source : "?");
        fputs(")\n", out);
        for (int i = 0; i < g->n_inputs + g->n_outputs; i++) {
            bool in = i < g->n_inputs;
            int k = in ? i : i - g->n_inputs;
            fputs(in ? "  input  " : "  output ", out);
            ir_esc_term_put(out, in ? slimc_model_input_name(m, k) : m->output_names[k]);
            fputs(": ", out);
            ir_esc_term_put(out, in ? m->input_types[k] : m->output_types[k]);
            fputc('\n', out);
        }
        int live = 0, counts[IR_NUM_OPS] = {0};
        for (int i = 0; i < g->n_nodes; i++)
            if (!g->nodes[i].dead) {
                live++;
                counts[g->nodes[i].op]++;
            }
        fprintf(out, "  %d nodes:", live);
        for (int i = 0; i < IR_NUM_OPS; i++)
            if (counts[i])
                fprintf(out, " %s x%d", ir_ops[i].name, counts[i]);
        fputc('\n', out);
        if (g->n_syms) {
            fputs("  symbolic dims:", out);
            for (int i = 0; i < g->n_syms; i++)
                if (!(g->derived_syms & (1u << i))) {
                    fputc(' ', out);
                    ir_esc_term_put(out, g->sym_names[i]);
                }
            fputs(" (bound at run time from the inputs)\n", out);
            if (g->derived_syms) { /* ir/symbols.c: each named by its expression */
                fputs("  derived dims:", out);
                for (int i = 0; i < g->n_syms; i++)
                    if (g->derived_syms & (1u << i)) {
                        fputc(' ', out);
                        ir_esc_term_put(out, g->sym_names[i]);
                    }
                fputs(" (computed from them at run time)\n", out);
            }
            for (int i = 0; i < g->n_syms; i++)
                if (g->sym_max[i]) { /* a slice x[:T] of a buffer (ir/shape.c) */
                    fputs("  bound: ", out);
                    ir_esc_term_put(out, g->sym_names[i]);
                    fprintf(out, " <= %lld (the model's ", (long long)g->sym_max[i]);
                    ir_esc_term_put(out, g->sym_max_of[i] ? g->sym_max_of[i] : "shapes");
                    fputs("; checked at run time)\n", out);
                }
            for (int i = 0; i < g->n_syms; i++)
                if (g->sym_eq[i].c) { /* a skip concat of h//2 and 2*((h//2)//2) */
                    fputs("  assumed: ", out);
                    ir_esc_term_put(out, g->sym_names[i]);
                    fputs(" == ", out);
                    char dim[160];
                    ir_dim_str(g, g->sym_eq[i], dim, sizeof dim);
                    ir_esc_term_put(out, dim);
                    fputs(" (for the model's ", out);
                    ir_esc_term_put(out, g->sym_eq_of[i] ? g->sym_eq_of[i] : "shapes");
                    fputs("; checked at run time)\n", out);
                }
        }
    }
    if (what & SLIMC_INSPECT_QUANT)
        inspect_quant(g, out);
    if (what & SLIMC_INSPECT_SPARSITY)
        api_inspect_sparsity(m, out); /* api/sparsity.c */
    if (what & SLIMC_INSPECT_IR) {
        /* the IR the other flags report on: which one is said, not left to guess */
        fputs(m->optimized ? "# the IR after the pass pipeline (--passes, or the default one "
                             "that --memory, --quant and --placement need)\n"
                           : "# the IR as loaded\n",
              out);
        ir_print(g, out);
    }
    if (what & SLIMC_INSPECT_DOT)
        ir_print_dot(g, out);
    if (what & SLIMC_INSPECT_MEMORY) {
        size_t w = ir_weight_bytes(g);
        fputs("memory:\n  weights: ", out);
        print_bytes(out, (double)w);
        fprintf(out, " (%zu bytes; %zu as loaded", w, m->weight_bytes_loaded);
        if (m->weight_bytes_loaded)
            fprintf(out, ", %.1f%%", 100.0 * (double)w / (double)m->weight_bytes_loaded);
        fputs(")\n  peak activations (arena): ", out);
        print_poly(g, &g->arena_bytes, out);
        fputs(" bytes", out);
        if (g->n_syms) {
            fputs(" = ", out);
            print_bytes(out, (double)ir_poly_eval(&g->arena_bytes, ones));
            fputs(" with ", out);
            ir_esc_term_put(out, g->sym_names[0]);
            fputs("=1", out);
            int64_t b64[IR_MAX_SYMS];
            for (int i = 0; i < IR_MAX_SYMS; i++)
                b64[i] = 64;
            fputs(", ", out);
            print_bytes(out, (double)ir_poly_eval(&g->arena_bytes, b64));
            fprintf(out, " with every symbol = 64");
        }
        fputc('\n', out);
        if (ir_graph_mixed(g)) { /* the arena above is the GPU's */
            fputs("  the CPU's nodes' arena (a mixed-device model): ", out);
            print_poly(g, &g->host_arena_bytes, out);
            fputs(" bytes\n", out);
        }
        /* Inputs and outputs live in the caller's buffers. */
        double io = 0;
        for (int i = 0; i < g->n_inputs + g->n_outputs; i++) {
            ValueId v = i < g->n_inputs ? g->inputs[i] : g->outputs[i - g->n_inputs];
            Dim n;
            if (ir_shape_numel(&g->values[v].type.shape, &n))
                io += (double)ir_dtype_bytes(g->values[v].type.dtype, ir_dim_eval(n, ones));
        }
        fputs("  inputs + outputs: ", out);
        print_bytes(out, io);
        fprintf(out, "%s\n", g->n_syms ? " (symbols = 1)" : "");
        fputs("  total at run time: ", out);
        print_bytes(out, (double)w + (double)ir_poly_eval(&g->arena_bytes, ones) +
                             (double)ir_poly_eval(&g->host_arena_bytes, ones) + io);
        fprintf(out, "%s\n", g->n_syms ? " (symbols = 1)" : "");
        if (m->device == IR_DEVICE_CUDA)
            api_inspect_memory_cuda(m, (double)w, (double)ir_poly_eval(&g->arena_bytes, ones), io,
                                    out);
    }
    if ((what & SLIMC_INSPECT_KERNELS) && api_inspect_kernels(ctx, m, out) != SLIMC_OK)
        return SLIMC_ERROR;
    if (what & SLIMC_INSPECT_FLOPS) {
        double f = ir_flops(g, ones);
        fprintf(out, "flops: %.0f per run (%.3f GFLOP)%s, multiply-add counted as 2\n", f, f / 1e9,
                g->n_syms ? " with every symbol = 1" : "");
    }
    return SLIMC_OK;
}

char *api_emit_source(SlimcContext *ctx, SlimcModel *m, const char *prefix, bool jit, bool profile,
                      size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    SLIMC_ASSERT(f);
    double t0 = api_now_ms();
    CgOptions co = {
        .prefix = prefix, .source_name = m->g->source, .shared_kernels = jit, .profile = profile};
    bool ok = cg_emit(&cg_backend_c, m->g, &co, f, &ctx->diag);
    fclose(f);
    ctx->t.codegen += api_now_ms() - t0;
    if (!ok) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* The least code a part of an automatic split is given (bytes of node sections, the tail
 * counted at API_TAIL_WEIGHT): below this, a thread's start and the head's parse cost more
 * than the part saves. */
#define API_PART_MIN_BYTES (64 * 1024)
/* A byte of the tail (P_run: one statement per node, not optimized in a large model)
 * compiles in about this fraction of a node section's byte's time (node sections hold
 * comments, and notes for the bodies written once, too). */
#define API_TAIL_WEIGHT 0.75

/* The code a split file's parts share out: its node sections, and its tail weighted. */
static double split_work(const CgSplit *s, long end)
{
    return (double)(s->tail - s->head_end) + API_TAIL_WEIGHT * (double)(end - s->tail);
}

/* The parts' bounds: part k is [0, head_end) + [from[k], to[k]) of the file, cut at node
 * sections so that each holds about the same work (split_work); the tail goes in the
 * last. Returns the count (at most want, at least 1). */
static int split_bounds(const CgSplit *s, long end, int want, long *from, long *to)
{
    const double work = split_work(s, end);
    int n = 0, i = 0;
    from[0] = s->head_end;
    for (int k = 1; k < want; k++) {
        /* the first node section's end at or past k/want of the work, else the tail's start */
        const double target = work * k / want;
        while (i < s->n_cuts && s->cuts[i] < s->tail && (double)(s->cuts[i] - s->head_end) < target)
            i++;
        const long cut = i < s->n_cuts && s->cuts[i] < s->tail ? s->cuts[i] : s->tail;
        if (cut <= from[n])
            break;
        to[n++] = cut;
        from[n] = cut;
    }
    to[n++] = end;
    return n;
}

char **api_emit_jit_parts(SlimcContext *ctx, SlimcModel *m, bool profile, int jobs, bool forced,
                          size_t **lens, int *n)
{
    *n = 0;
    *lens = NULL;
    char *buf = NULL;
    size_t len = 0;
    CgSplit split = {0};
    FILE *f = open_memstream(&buf, &len);
    SLIMC_ASSERT(f);
    double t0 = api_now_ms();
    CgOptions co = {.source_name = m->g->source,
                    .shared_kernels = true,
                    .profile = profile,
                    .split = jobs > 1 ? &split : NULL};
    bool ok = cg_emit(&cg_backend_c, m->g, &co, f, &ctx->diag);
    fclose(f);
    if (!ok) {
        free(split.cuts);
        free(buf);
        ctx->t.codegen += api_now_ms() - t0;
        return NULL;
    }
    int want = split.n_cuts > 0 ? jobs : 1;
    if (want > 1 && !forced) {
        double per = split_work(&split, (long)len) / API_PART_MIN_BYTES;
        want = per < want ? (per >= 2 ? (int)per : 1) : want;
    }
    long from[RT_MAX_PARTS], to[RT_MAX_PARTS];
    int parts = want > 1 ? split_bounds(&split, (long)len, want, from, to) : 1;
    free(split.cuts);
    char **srcs = calloc((size_t)parts, sizeof *srcs);
    *lens = calloc((size_t)parts, sizeof **lens);
    SLIMC_ASSERT(srcs && *lens);
    if (parts == 1) {
        srcs[0] = buf;
        (*lens)[0] = len;
    } else {
        const size_t head = (size_t)split.head_end;
        for (int k = 0; k < parts; k++) {
            const size_t body = (size_t)(to[k] - from[k]);
            srcs[k] = malloc(head + body + 1);
            SLIMC_ASSERT(srcs[k]);
            memcpy(srcs[k], buf, head);
            memcpy(srcs[k] + head, buf + from[k], body);
            srcs[k][head + body] = 0;
            (*lens)[k] = head + body;
        }
        free(buf);
    }
    *n = parts;
    ctx->t.codegen += api_now_ms() - t0;
    return srcs;
}

void api_free_parts(char **srcs, size_t *lens, int n)
{
    for (int i = 0; srcs && i < n; i++)
        free(srcs[i]);
    free(srcs);
    free(lens);
}

SlimcStatus slimc_model_emit_c(SlimcContext *ctx, SlimcModel *m, FILE *out)
{
    if (slimc_model_optimize(ctx, m, NULL) != SLIMC_OK)
        return SLIMC_ERROR;
    size_t len;
    char *src = api_emit_source(ctx, m, NULL, false, false, &len);
    if (!src)
        return SLIMC_ERROR;
    fwrite(src, 1, len, out);
    free(src);
    return SLIMC_OK;
}

SlimcStatus slimc_make_output_dir(SlimcContext *ctx, const char *path)
{
    char why[600];
    if (rt_make_dirs(path, 0777, NULL, why, sizeof why))
        return SLIMC_OK;
    ir_diag_error(&ctx->diag, (SrcLoc){path, 0, 0}, "cannot create the output folder: %s", why);
    return SLIMC_ERROR;
}

SlimcStatus slimc_model_emit_dir(SlimcContext *ctx, SlimcModel *m, const char *dir)
{
    /* NAME: the model's name as a C identifier led by a letter ("my.model" gives my_model,
     * "_" m__: the header's macros and guard are NAME_..., never a reserved __X) */
    char name[104];
    size_t len = 0;
    const char *s = slimc_model_name(m);
    if (!isalpha((unsigned char)s[0])) /* a digit, or '_' (reserved names, __H...) */
        name[len++] = 'm', name[len++] = '_';
    for (; *s && len < 100; s++)
        name[len++] = isalnum((unsigned char)*s) ? *s : '_';
    name[len] = 0;
    if (!cg_aot_is_lib_name(name)) /* a C keyword */
        snprintf(name, sizeof name, "m_%.90s", slimc_model_name(m));
    SlimcLibOptions lo = {
        .name = name, .emit_source = true, .weights_file = true, .source_only = true};
    return slimc_build_library(ctx, m, NULL, &lo, dir);
}

SlimcStatus slimc_model_compress(SlimcContext *ctx, SlimcModel *m, const char *passes)
{
    return slimc_model_compress_with(ctx, m, passes, NULL);
}

SlimcStatus slimc_model_compress_with(SlimcContext *ctx, SlimcModel *m, const char *passes,
                                      const SlimcOptions *o)
{
    Graph *g = m->g;
    if (m->optimized) {
        ir_diag_error(&ctx->diag, (SrcLoc){g->source, 0, 0},
                      "compress: the model was already optimized for running");
        return SLIMC_ERROR;
    }
    if (!passes && !g->compress) {
        ir_diag_error(&ctx->diag, (SrcLoc){g->source, 0, 0},
                      "compress: nothing to do: give --passes (e.g. 'quantize(int8, "
                      "calibrate=\"calib.npy\")') or a compress block in the model");
        return SLIMC_ERROR;
    }
    g->max_memory = ctx->max_memory;
    /* quantize's keep-float choices come from the same profile as a run's (api_optimize) */
    bool from_default = false;
    if (!api_model_profile(ctx, m, o, &from_default))
        return SLIMC_ERROR;
    double ms = 0;
    PassRunOptions ro = {.print_to = stderr, .verify = true, .ms = &ms};
    bool ok = pass_pipeline_run(g, "fold,bn_fold,fold,dce,cse", (SrcLoc){0}, &ro, &ctx->diag);
    api_finetune_install(ctx); /* finetune(...) trains here, and only here */
    if (ok)
        ok = passes ? api_pipeline_run_text(g, passes, &ro, &ctx->diag)
                    : api_pipeline_run(g, g->compress, &ro, &ctx->diag);
    api_finetune_install(NULL);
    if (ok)
        ok = pass_pipeline_run(g, "dce", (SrcLoc){0}, &ro, &ctx->diag);
    ctx->t.passes += ms;
    if (ok)
        g->compress = NULL; /* done: a saved model does not carry it again */
    return ok ? SLIMC_OK : SLIMC_ERROR;
}

SlimcStatus slimc_model_check_output(SlimcContext *ctx, const SlimcModel *m, const char *path)
{
    return fe_check_output(m->g, path, &ctx->diag) ? SLIMC_OK : SLIMC_ERROR;
}

SlimcStatus slimc_model_save_slim(SlimcContext *ctx, SlimcModel *m, const char *path)
{
    return slimc_model_save_slim_compact(ctx, m, path, false, NULL);
}

SlimcStatus slimc_model_save_slim_compact(SlimcContext *ctx, SlimcModel *m, const char *path,
                                          bool compact, SlimcSaveInfo *info)
{
    size_t n = strlen(path);
    if (n < 6 || strcmp(path + n - 5, ".slim") != 0) {
        ir_diag_error(&ctx->diag, (SrcLoc){path, 0, 0}, "the output must be a .slim file");
        return SLIMC_ERROR;
    }
    /* neither the .slim nor the .safetensors beside it may be one of the model's files */
    char *weights = malloc(n + 8);
    SLIMC_ASSERT(weights);
    snprintf(weights, n + 8, "%.*s.safetensors", (int)(n - 5), path);
    bool ok = fe_check_output(m->g, path, &ctx->diag) && fe_check_output(m->g, weights, &ctx->diag);
    free(weights);
    if (!ok)
        return SLIMC_ERROR;
    FeSlimWriteInfo wi = {.compact = compact};
    if (!fe_slim_write_with(m->g, path, &wi, &ctx->diag))
        return SLIMC_ERROR;
    if (info)
        *info = (SlimcSaveInfo){wi.weights_bytes, wi.saved_bytes, wi.n_compact};
    return SLIMC_OK;
}
