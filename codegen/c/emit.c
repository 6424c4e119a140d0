/* The C backend (codegen/backend.h, cg_backend_c): the prelude, one body function per
 * node (its emitter found in the op table, codegen/c/op_table.c; the emitters by op family
 * in the other files of this folder) and the entry points of codegen/c/cg.h. */
#include "codegen/c/cg_internal.h"
#include "codegen/c/entry.h"
#include "codegen/c/entry_table.h"
#include "codegen/c/op_table.h"
#include "runtime/jit.h"
#include "ir/dtype_ops.h"
#include "ir/text_escape.h"

#include "slimc/slimc.h"

#include <stdlib.h>
#include <string.h>

extern const char slimc_rt_header[];
extern const size_t slimc_rt_header_len;

/* The JIT's table of the bodies written so far (see "identical bodies" below). */
typedef struct CgBody {
    uint64_t hash;
    const char *text; /* normalized */
    size_t len;
    NodeId node;
} CgBody;

typedef struct CgDedup {
    CgBody *slots; /* open addressing, cap a power of two, node IR_NONE: empty */
    size_t cap;
} CgDedup;

/* ---- nodes ---- */

/* The body of node id, by the emitter of its op's row in the op table; fills k. */
static void emit_kernel(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    k->items = "1";
    k->work = "0";
    k->ep_done = false;
    if (n->op >= IR_NUM_OPS || !cg_c_ops[n->op].emit) {
        cg_error(c, n, "not implemented (no row in codegen/c/op_table.c)");
        return;
    }
    cg_c_ops[n->op].emit(c, id, k);
}

/* Checks what the kernels support: f32 data except embedding indices, and the dtypes the
 * check of the op's row (op_table.h) names. */
static bool node_supported(CgCtx *c, const Node *n)
{
    const Graph *g = c->g;
    if (n->device != IR_DEVICE_CPU) {
        cg_error(c, n, "placed on %s; the C backend runs CPU nodes only",
                 ir_device_name(n->device));
        return false;
    }
    if (n->n_outputs != 1) {
        cg_error(c, n, "has %d outputs; kernels write one", n->n_outputs);
        return false;
    }
    if (n->op >= IR_NUM_OPS)
        return true; /* emit_kernel reports it */
    const CgCheck check = cg_c_ops[n->op].check;
    if (check == CG_CHECK_PLAIN) /* codegen/c/index_ops.c */
        return cg_index_supported(c, n);
    if (n->op == IR_OP_MAX_POOL2D && g->values[n->inputs[0]].type.dtype == IR_U8) {
        if (n->n_epilogue) { /* an int8 chain's pool (passes/qchain.c) */
            cg_error(c, n, "a max_pool2d over u8 cannot carry an epilogue");
            return false;
        }
        return true;
    }
    if (check == CG_CHECK_QUANT) { /* dtypes checked by their shape functions */
        for (int j = 0; j < n->n_epilogue; j++)
            if (n->epilogue[j].operand != IR_NONE &&
                g->values[n->epilogue[j].operand].type.dtype != IR_F32) {
                cg_error(c, n, "epilogue operand '%s' must be f32",
                         g->values[n->epilogue[j].operand].name);
                return false;
            }
        if (n->op == IR_OP_QUANTIZE && n->n_epilogue) {
            cg_error(c, n, "quantize cannot carry an epilogue");
            return false;
        }
        return true;
    }
    if (ir_node_is_typed_elementwise(g, n)) { /* codegen/c/elementwise_dtypes.c */
        if (n->n_epilogue) {
            cg_error(c, n, "an op computing in %s cannot carry an epilogue",
                     ir_dtype_name(g->values[n->inputs[0]].type.dtype));
            return false;
        }
        return true;
    }
    bool view = ir_ops[n->op].flags & IR_F_VIEW, any = ir_ops[n->op].flags & IR_F_ANY_DTYPE;
    for (int i = 0; i < n->n_inputs; i++) {
        ValueId v = n->inputs[i];
        if (v == IR_NONE || (n->op == IR_OP_EMBEDDING && i == 0) ||
            (n->op == IR_OP_RNN && i == 4) || /* i32 sequence_lens (ir/rnn.c checks) */
            ((n->op == IR_OP_LINEAR || n->op == IR_OP_CONV2D) &&
             i == 3)) /* the CSR bytes (shape function checks them) */
            continue;
        const Type *t = &g->values[v].type;
        if (any ? (ir_dtype_bits(t->dtype) < 8 || (t->quant && !view))
                : (t->dtype != IR_F32 || t->quant)) {
            char ts[160];
            cg_error(c, n, "input %d is %s; this kernel computes in %s", i,
                     ir_type_str(g, &g->values[v].type, ts, sizeof ts),
                     any ? "any dtype but i4 (unquantized)" : "f32 only");
            return false;
        }
    }
    if (!any && g->values[n->outputs[0]].type.dtype != IR_F32) {
        cg_error(c, n, "output must be f32");
        return false;
    }
    if (any && n->n_epilogue) {
        cg_error(c, n, "a data-movement op cannot carry an epilogue");
        return false;
    }
    for (int j = 0; j < n->n_epilogue; j++) {
        ValueId v = n->epilogue[j].operand;
        if (v != IR_NONE && g->values[v].type.dtype != IR_F32) {
            cg_error(c, n, "epilogue operand '%s' must be f32", g->values[v].name);
            return false;
        }
    }
    return true;
}

static const char prelude[] =
    "/* The arguments of every node's body function. */\n"
    "typedef struct slimc_args {\n"
    "    const void *in[8];    /* the node's inputs (NULL: an absent optional one) */\n"
    "    void *out;            /* its output */\n"
    "    const void *ep[8];    /* its epilogue operands (NULL for unary ops) */\n"
    "    const int64_t *syms;  /* symbol values */\n"
    "    int *err;             /* set to 1 on bad data (an index out of range) */\n"
    "} slimc_args;\n\n"
    "/* Activations and conversions the kernels use (as ir/eval.c computes them). */\n"
    "static SLIMC_RT_UNUSED inline float slimc_cg_relu6(float x) { return x <= 0.0f ? 0.0f : x >= "
    "6.0f ? 6.0f : x; }\n"
    "static SLIMC_RT_UNUSED inline float slimc_cg_gelu(float x) { return 0.5f * x * (1.0f + "
    "slimc_rt_erf(x * 0.70710678118654752f)); }\n"
    "static SLIMC_RT_UNUSED inline float slimc_cg_gelu_tanh(float x)\n"
    "{\n    return 0.5f * x * (1.0f + slimc_rt_tanh(0.79788456080286536f * (x + 0.044715f * x * x "
    "* "
    "x)));\n}\n"
    "static SLIMC_RT_UNUSED inline float slimc_cg_silu(float x) { return x / (1.0f + "
    "slimc_rt_exp(-x)); }\n"
    "static SLIMC_RT_UNUSED inline float slimc_cg_hardsigmoid(float x)\n"
    "{\n    return (x <= -3.0f ? 0.0f : x >= 3.0f ? 6.0f : x + 3.0f) / 6.0f;\n}\n"
    "static SLIMC_RT_UNUSED inline float slimc_cg_hardswish(float x)\n"
    "{\n    return x * (x <= -3.0f ? 0.0f : x >= 3.0f ? 6.0f : x + 3.0f) / 6.0f;\n}\n"
    "static SLIMC_RT_UNUSED inline float slimc_cg_minimum(float a, float b) { return (a < b || a "
    "!= a) ? a : b; }\n"
    "static SLIMC_RT_UNUSED inline float slimc_cg_maximum(float a, float b) { return (a > b || a "
    "!= a) ? a : b; }\n"
    "static SLIMC_RT_UNUSED inline float slimc_cg_bf16_to_f32(uint16_t h)\n"
    "{\n    const uint32_t bits = (uint32_t)h << 16;\n    float f;\n    memcpy(&f, &bits, sizeof "
    "f);\n    return f;\n}\n"
    "static SLIMC_RT_UNUSED inline uint16_t slimc_cg_f32_to_bf16(float f) /* nearest even */\n"
    "{\n    uint32_t x;\n    memcpy(&x, &f, sizeof x);\n"
    "    if ((x & 0x7fffffffu) > 0x7f800000u)\n        return (uint16_t)((x >> 16) | 0x40u);\n"
    "    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);\n}\n"
    "static SLIMC_RT_UNUSED inline float slimc_cg_f16_to_f32(uint16_t h)\n"
    "{\n    uint32_t sign = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, "
    "bits;\n"
    "    if (e == 0x1f)\n        bits = sign | 0x7f800000u | (m << 13);\n"
    "    else if (e != 0)\n        bits = sign | ((e + 112) << 23) | (m << 13);\n"
    "    else if (m == 0)\n        bits = sign;\n"
    "    else {\n        e = 113;\n        while (!(m & 0x400u)) {\n            m <<= 1;\n         "
    "   e--;\n        }\n"
    "        bits = sign | (e << 23) | ((m & 0x3ffu) << 13);\n    }\n"
    "    float f;\n    memcpy(&f, &bits, sizeof f);\n    return f;\n}\n"
    "static SLIMC_RT_UNUSED inline uint16_t slimc_cg_f32_to_f16(float f) /* nearest even */\n"
    "{\n    uint32_t x;\n    memcpy(&x, &f, sizeof x);\n"
    "    const uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;\n"
    "    if (ax >= 0x7f800000u)\n        return (uint16_t)(sign | 0x7c00u | (ax > 0x7f800000u ? "
    "0x200u : 0u));\n"
    "    if (ax >= 0x477ff000u)\n        return (uint16_t)(sign | 0x7c00u);\n"
    "    if (ax < 0x38800000u) {\n        float av;\n        memcpy(&av, &ax, sizeof av);\n"
    "        const float scaled = av * 16777216.0f;\n        uint32_t q = (uint32_t)scaled;\n"
    "        const float rem = scaled - (float)q;\n"
    "        if (rem > 0.5f || (rem == 0.5f && (q & 1u)))\n            q++;\n"
    "        return (uint16_t)(sign | q);\n    }\n"
    "    return (uint16_t)(sign | ((ax + 0xfffu + ((ax >> 13) & 1u) - (112u << 23)) >> "
    "13));\n}\n\n";

/* A copy in the entry, with what it copies (already escaped) in a comment. */
static void c_copy(CgCtx *c, const char *dst, const char *src, const char *bytes, const char *note)
{
    if (note)
        cg_printf(c, "    memcpy(%s, %s, %s); /* %s */\n", dst, src, bytes, note);
    else
        cg_printf(c, "    memcpy(%s, %s, %s);\n", dst, src, bytes);
}

/* The runner: P_run's statements for node id (after its body function is written). */
static void emit_call(CgCtx *c, NodeId id, const CgKernel *k)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    ValueId ov = n->outputs[0];
    if (cg_table_call(c, id))
        return;
    cg_table_flush(c); /* the calls before this node's statements */
    if (cg_concat_in_place(g, n)) {
        cg_printf(c, "    /* %s: done in place (its inputs were written into %s) */\n",
                  cg_text(c, n->name), c->val_names[ov]);
        return;
    }
    if (ir_ops[n->op].flags & IR_F_VIEW) {
        cg_printf(c, "    /* %s: %s %s is a view of %s */\n", cg_text(c, n->name),
                  ir_ops[n->op].name, c->val_names[ov], c->val_names[n->inputs[0]]);
        cg_entry_view_copy(c, id, c_copy);
        return;
    }
    cg_printf(c, "    /* %s */\n", cg_text(c, n->name));
    cg_printf(c, "    memset(&a, 0, sizeof a);\n");
    for (int i = 0; i < n->n_inputs; i++)
        if (n->inputs[i] != IR_NONE)
            cg_printf(c, "    a.in[%d] = %s;\n", i, c->val_names[n->inputs[i]]);
    cg_printf(c, "    a.out = %s;\n", c->val_names[ov]);
    for (int j = 0; j < n->n_epilogue; j++)
        if (n->epilogue[j].operand != IR_NONE)
            cg_printf(c, "    a.ep[%d] = %s;\n", j, c->val_names[n->epilogue[j].operand]);
    cg_printf(c, "    a.syms = syms;\n    a.err = &err;\n");
    if (c->profile)
        cg_printf(c, "    prof_t = slimc_prof_now();\n");
    cg_printf(c, "    slimc_rt_parallel_for(slimc_rt_threads(nthreads, %s), %s, %s, &a);\n",
              k->work, k->items, c->fn_names[id]);
    if (n->n_epilogue && !k->ep_done) {
        Dim ne;
        if (!cg_numel(c, id, &g->values[ov].type.shape, &ne))
            return;
        const char *total = cg_dim(c, ne);
        cg_printf(c,
                  "    slimc_rt_parallel_for(slimc_rt_threads(nthreads, %s), %s, epiall_%s, &a);\n",
                  total, total, c->fn_names[id]);
    }
    if (c->profile)
        cg_printf(c,
                  "    %s_prof_last[%d] = slimc_prof_now() - prof_t;\n"
                  "    %s_prof_start[%d] = prof_t - prof_t0;\n"
                  "    %s_prof_ms[%d] += %s_prof_last[%d];\n",
                  c->prefix, id, c->prefix, id, c->prefix, id, c->prefix, id);
    if (cg_sets_error(n))
        cg_printf(c, "    if (err)\n        return 3; /* an index out of range */\n");
}

/* ---- the backend's stages (codegen/backend.h) ---- */

/* Names, the runtime, the header comment and the prelude. */
static CgCtx *c_begin(const Graph *g, const CgOptions *o, FILE *out, Diag *d)
{
    Arena *arena = ir_arena_new();
    CgCtx *c = ir_arena_alloc(arena, sizeof *c);
    memset(c, 0, sizeof *c);
    c->g = g;
    c->out = out;
    c->d = d;
    c->arena = arena;
    c->prefix = cg_entry_prefix(c, o && o->prefix ? o->prefix : "slimc_model");
    c->ok = true;
    cg_make_names(c);
    c->kernels = ir_arena_alloc(c->arena, sizeof(CgKernel) * (size_t)(g->n_nodes + 1));
    if (o && o->shared_kernels) { /* the JIT: identical bodies once */
        c->dedup = ir_arena_alloc(arena, sizeof *c->dedup);
        c->dedup->cap = 64;
        while (c->dedup->cap < 2 * (size_t)g->n_nodes + 2)
            c->dedup->cap *= 2;
        c->dedup->slots = ir_arena_alloc(arena, sizeof(CgBody) * c->dedup->cap);
        for (size_t k = 0; k < c->dedup->cap; k++)
            c->dedup->slots[k].node = IR_NONE;
    }
    if (o && o->split) {
        memset(o->split, 0, sizeof *o->split);
        if (!o->profile) { /* the profile's arrays are defined in the head: one part */
            c->split = o->split;
            c->split->cuts = malloc(sizeof(long) * (size_t)(g->n_nodes + 1));
            SLIMC_ASSERT(c->split->cuts);
            c->fn_storage = "SLIMC_CG_FN";
        }
    }

    if (o && o->shared_kernels)
        cg_printf(c, "%s /* kernels from libslimc_kernels */\n", RT_SHARED_KERNELS);
    fwrite(slimc_rt_header, 1, slimc_rt_header_len, out);
    cg_printf(c, "\n/* Generated by slimc %s from %s (model '%s').\n", SLIMC_VERSION,
              cg_text(c, o && o->source_name ? o->source_name
                         : g->source         ? g->source
                                             : "(memory)"),
              cg_text(c, g->name ? g->name : "?"));
    cg_printf(c, " * Entry points: %s_arena_bytes, %s_run (see slimc's codegen/c/cg.h). */\n\n",
              c->prefix, c->prefix);
    if (!ir_graph_mixed(g)) /* else the CUDA backend's file says it, once */
        cg_placement_comment(c);
    cg_puts(c, prelude, sizeof prelude - 1);
    if (c->split) {
        cg_printf(c, "/* The file is compiled in parts: the body functions are shared by them. */\n"
                     "#define SLIMC_CG_FN __attribute__((visibility(\"hidden\")))\n\n");
        c->split->head_end = ftell(out);
    }
    c->profile = o && o->profile;
    if (c->profile) {
        int n = g->n_nodes > 0 ? g->n_nodes : 1;
        cg_printf(c,
                  "/* --profile: each node's milliseconds summed over the runs, and its start and\n"
                  " * length in the last run (ms from the run's start), by node id. */\n"
                  "#include <time.h>\n"
                  "double %s_prof_ms[%d], %s_prof_start[%d], %s_prof_last[%d];\n"
                  "const int %s_prof_n = %d;\n"
                  "static double slimc_prof_now(void)\n{\n"
                  "    struct timespec ts;\n"
                  "    clock_gettime(CLOCK_MONOTONIC, &ts);\n"
                  "    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;\n}\n\n",
                  c->prefix, n, c->prefix, n, c->prefix, n, c->prefix, n);
        /* each node's name and op (its fused ops after +), as built executables print them:
         * string literals escaped as every name from the model is (ir_esc_c) */
        cg_printf(c, "const char *const %s_prof_node[%d] = {\n", c->prefix, n);
        for (int i = 0; i < g->n_nodes; i++) {
            const Node *nd = &g->nodes[i];
            fputs("    \"", c->out);
            ir_esc_c_put(c->out, nd->name ? nd->name : "?", IR_ESC_NAME_MAX);
            fprintf(c->out, " (%s", ir_ops[nd->op].name);
            for (int j = 0; j < nd->n_epilogue; j++)
                fprintf(c->out, "+%s", ir_ops[nd->epilogue[j].op].name);
            fputs(")\",\n", c->out);
        }
        if (g->n_nodes == 0)
            cg_printf(c, "    \"\",\n");
        cg_printf(c, "};\n\n");
    }
    return c;
}

/* ---- identical bodies, written once (JIT) ----
 *
 * The layers of a deep model repeat: their nodes' body functions differ only in their
 * names (and comments). The JIT writes such a body once and points the later nodes at it
 * (their fn_names become the first one's), which cuts the code the compiler sees by about
 * the number of layers. Two bodies are the same when their text is, after the node's own
 * function name (the prefix of every name its section defines) is replaced and comments
 * are removed; string literals are compared as they are. */

/* text without comments and with every fn replaced by '@' (arena-allocated). */
static const char *normalize_body(CgCtx *c, const char *text, size_t len, const char *fn,
                                  size_t *out_len)
{
    char *o = ir_arena_alloc(c->arena, len + 1);
    const size_t fl = strlen(fn);
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        if (text[i] == '/' && i + 1 < len && text[i + 1] == '*') {
            const char *end = strstr(text + i + 2, "*/");
            i = end ? (size_t)(end - text) + 2 : len;
        } else if (text[i] == '"') { /* a string literal, kept whole */
            o[n++] = text[i++];
            while (i < len && text[i] != '"') {
                if (text[i] == '\\' && i + 1 < len)
                    o[n++] = text[i++];
                o[n++] = text[i++];
            }
            if (i < len)
                o[n++] = text[i++];
        } else if (fl && len - i >= fl && !memcmp(text + i, fn, fl)) {
            o[n++] = '@';
            i += fl;
        } else {
            o[n++] = text[i++];
        }
    }
    o[n] = 0;
    *out_len = n;
    return o;
}

/* The earlier node whose body is the same as node id's (text, len: its section), or
 * IR_NONE after remembering this one. */
static NodeId same_body(CgCtx *c, NodeId id, const char *text, size_t len)
{
    CgDedup *dd = c->dedup;
    size_t nl;
    const char *norm = normalize_body(c, text, len, c->fn_names[id], &nl);
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t k = 0; k < nl; k++)
        h = (h ^ (unsigned char)norm[k]) * 0x100000001b3ull;
    size_t k = (size_t)h & (dd->cap - 1);
    for (; dd->slots[k].node != IR_NONE; k = (k + 1) & (dd->cap - 1)) {
        const CgBody *b = &dd->slots[k];
        if (b->hash == h && b->len == nl && !memcmp(b->text, norm, nl))
            return b->node;
    }
    dd->slots[k] = (CgBody){h, norm, nl, id};
    return IR_NONE;
}

/* Node i's comment, its epilogue function and its body function (or, in the JIT, a
 * note that it runs an earlier node's identical body). */
static bool c_node_code(CgCtx *c, NodeId i)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[i];
    if (!node_supported(c, n))
        return c->ok;
    cg_node_comment(c, n);
    if (ir_ops[n->op].flags & IR_F_VIEW) {
        cg_printf(c, "/* (a view: no code) */\n\n");
        return c->ok;
    }
    if (cg_concat_in_place(g, n)) {
        cg_printf(c, "/* (in place: no code) */\n\n");
        return c->ok;
    }
    FILE *out = c->out;
    char *text = NULL;
    size_t len = 0;
    if (c->dedup) { /* the section into a buffer of its own first */
        c->out = open_memstream(&text, &len);
        SLIMC_ASSERT(c->out);
    }
    if (n->n_epilogue)
        cg_emit_epilogue_fn(c, i);
    emit_kernel(c, i, &c->kernels[i]);
    if (!c->dedup)
        return c->ok;
    fclose(c->out);
    c->out = out;
    const NodeId same = c->ok ? same_body(c, i, text, len) : IR_NONE;
    if (same != IR_NONE) {
        cg_printf(c, "/* (the code of %s: %s) */\n\n", cg_text(c, g->nodes[same].name),
                  c->fn_names[same]);
        c->fn_names[i] = c->fn_names[same];
    } else {
        fwrite(text, 1, len, out);
    }
    free(text);
    return c->ok;
}

/* Node i's comment, its epilogue function and its body function: one section of a split
 * file. */
static bool c_node(CgCtx *c, NodeId i)
{
    bool ok = c_node_code(c, i);
    if (c->split)
        c->split->cuts[c->split->n_cuts++] = ftell(c->out);
    return ok;
}

/* A split file's tail begins with a declaration of every body function P_run calls. */
static void c_declare_bodies(CgCtx *c)
{
    const Graph *g = c->g;
    c->split->tail = ftell(c->out);
    cg_printf(c, "/* the body functions, defined in the parts of this file */\n");
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead || (ir_ops[n->op].flags & IR_F_VIEW) || cg_concat_in_place(g, n))
            continue;
        cg_printf(c, "SLIMC_CG_FN void %s(void *p, int64_t i0, int64_t i1);\n", c->fn_names[i]);
        if (n->n_epilogue && !c->kernels[i].ep_done)
            cg_printf(c, "SLIMC_CG_FN void epiall_%s(void *p, int64_t i0, int64_t i1);\n",
                      c->fn_names[i]);
    }
    cg_printf(c, "\n");
}

/* P_arena_bytes */
static bool c_arena(CgCtx *c)
{
    if (c->split)
        c_declare_bodies(c);
    cg_entry_arena_fn(c);
    return c->ok;
}

/* Above this many nodes, the JIT compiles P_run without optimization: LLVM's passes take
 * time that grows faster than the straight-line function (12 s of 14 for a 2,300-node
 * model), and a few nanoseconds a node do not show beside its kernel's time. */
#define CG_ENTRY_OPT_MAX_NODES 64

static int live_nodes(const Graph *g)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        n += !g->nodes[i].dead;
    return n;
}

/* P_run's signature and its checks of the symbol values. */
static bool c_entry_begin(CgCtx *c)
{
    const bool table = cg_table_wanted(c);
    if (table)
        cg_table_helper(c);
    if (c->dedup && live_nodes(c->g) > CG_ENTRY_OPT_MAX_NODES)
        cg_printf(c,
                  "/* %s_run passes pointers and calls the bodies, one statement per node: the\n"
                  " * JIT does not optimize it (most of a large model's compile time, and a few\n"
                  " * nanoseconds a node when it runs) */\n"
                  "#if defined(__clang__)\n__attribute__((optnone, noinline))\n"
                  "#elif defined(__GNUC__)\n__attribute__((optimize(\"O0\")))\n#endif\n",
                  c->prefix);
    cg_printf(
        c,
        "int %s_run(const void *const *consts, const void *const *inputs, void *const *outputs,\n"
        "    const int64_t *syms, void *arena, int nthreads)\n{\n",
        c->prefix);
    cg_printf(
        c,
        "    unsigned char *base = (unsigned char *)arena;\n    int err = 0;\n    slimc_args a;\n");
    cg_printf(c, "    (void)consts;\n    (void)inputs;\n    (void)base;\n    (void)a;\n");
    if (c->profile)
        cg_printf(c, "    const double prof_t0 = slimc_prof_now();\n    double prof_t = prof_t0;\n"
                     "    (void)prof_t;\n");
    cg_entry_checks(c);
    if (table)
        cg_table_values(c);
    return c->ok;
}

/* The pointer of every value P_run uses (the tables' P_v, already written, else a local
 * each). */
static bool c_buffers(CgCtx *c)
{
    if (!c->table)
        cg_entry_values(c);
    return c->ok;
}

/* P_run's statements for node i. */
static bool c_call(CgCtx *c, NodeId i)
{
    emit_call(c, i, &c->kernels[i]);
    return c->ok;
}

/* Outputs no node wrote, and P_run's end. */
static bool c_entry_end(CgCtx *c)
{
    cg_table_flush(c);
    cg_entry_output_copies(c, c_copy);
    cg_printf(c, "    return err ? 3 : 0;\n}\n");
    return c->ok;
}

static bool c_end(CgCtx *c)
{
    bool ok = c->ok;
    ir_arena_free(c->arena);
    return ok;
}

/* The ops whose ops.def row names the C backend (all of them today; tests/unit/
 * test_backend.c checks that each has its emitter row in op_table.c). */
static bool c_claims(OpKind op)
{
    return op < IR_NUM_OPS && (ir_ops[op].backends & IR_BE_C);
}

/* The C backend runs every op it claims, in every dtype the IR has but the checks of
 * node_supported, which report while emitting; placement needs no more than the claim. */
static const char *c_unsupported(const Graph *g, const Node *n)
{
    (void)g;
    return c_claims(n->op) ? NULL : "no C kernel";
}

const CgBackend cg_backend_c = {
    .name = "c",
    .label = "C backend",
    .features = "C11 for the CPU: x86-64 kernels for AVX2/FMA, AVX-512 (VNNI, BF16) and AMX "
                "chosen at run time, portable loops on every other target (aarch64...)",
    .device = IR_DEVICE_CPU,
    .claims = c_claims,
    .unsupported = c_unsupported,
    .begin = c_begin,
    .node = c_node,
    .arena = c_arena,
    .entry_begin = c_entry_begin,
    .buffers = c_buffers,
    .call = c_call,
    .entry_end = c_entry_end,
    .end = c_end,
};
