/* The CUDA backend (codegen/backend.h, cg_backend_cuda): one file per model, as
 * runtime/slimc_cuda_abi.h lays it out. The device half holds each node's kernels (their
 * emitters found in the op table, codegen/cuda/op_table.c); the host half is the C backend's
 * entry (codegen/c/entry.c: the same value pointers, checks and arena) with launches where
 * the C entry calls body functions. */
#include "codegen/cuda/attention.h"
#include "codegen/cuda/cu.h"
#include "codegen/cuda/op_table.h"
#include "codegen/cuda/report.h"
#include "codegen/c/entry.h"
#include "ir/dtype_ops.h"
#include "runtime/jit.h"

#include "slimc/slimc.h"

#include <stdlib.h>
#include <string.h>

extern const char slimc_cuda_abi_text[];
extern const size_t slimc_cuda_abi_text_len;
extern const char slimc_cuda_prelude_text[];
extern const size_t slimc_cuda_prelude_text_len;
extern const char slimc_rt_base_text[];
extern const size_t slimc_rt_base_text_len;

/* ---- the helpers of cu.h ---- */

static uint32_t shape_syms(const Shape *s)
{
    uint32_t m = 0;
    for (int i = 0; i < s->rank; i++)
        m |= s->d[i].syms;
    return m;
}

int cu_kernel_begin(CgCtx *c, NodeId id, const char *suffix, int threads)
{
    CuCtx *cu = cu_ctx(c);
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    SLIMC_ASSERT(cu->cur_node == IR_NONE);
    if (cu->n_kernels == cu->cap_kernels) {
        int cap = cu->cap_kernels ? 2 * cu->cap_kernels : 64;
        const char **names = ir_arena_alloc(c->arena, sizeof *names * (size_t)cap);
        int *groups = ir_arena_alloc(c->arena, sizeof *groups * (size_t)cap);
        if (cu->n_kernels) {
            memcpy(names, cu->kernel_names, sizeof *names * (size_t)cu->n_kernels);
            memcpy(groups, cu->kernel_group, sizeof *groups * (size_t)cu->n_kernels);
        }
        cu->kernel_names = names;
        cu->kernel_group = groups;
        cu->cap_kernels = cap;
    }
    const char *name = suffix ? cg_strf(c, "%s%s", c->fn_names[id], suffix) : c->fn_names[id];
    cu->kernel_names[cu->n_kernels] = name;
    cu->cur_node = id;
    uint32_t syms = shape_syms(cg_shape(c, n->outputs[0]));
    for (int i = 0; i < n->n_inputs; i++)
        if (n->inputs[i] != IR_NONE)
            syms |= shape_syms(cg_shape(c, n->inputs[i]));
    for (int j = 0; j < n->n_epilogue; j++)
        if (n->epilogue[j].operand != IR_NONE)
            syms |= shape_syms(cg_shape(c, n->epilogue[j].operand));
    if (cu->group_node != id) { /* a node's kernels share a part (and its __device__ data) */
        cu->group_node = id;
        cu->n_groups++;
    }
    cu->kernel_group[cu->n_kernels] = cu->n_groups - 1;
    cg_printf(c, "#if SLIMC_CU_IN_PART(%d)\n", cu->n_groups - 1);
    cg_printf(c, "SLIMC_KERNEL __launch_bounds__(%d) %s(const slimc_kargs a)\n{\n", threads, name);
    for (int i = 0; i < IR_MAX_SYMS; i++)
        if (syms & (1u << i))
            cg_printf(c, "    const int64_t %s = a.syms[%d];\n    (void)%s;\n", c->sym_names[i], i,
                      c->sym_names[i]);
    return cu->n_kernels++;
}

void cu_kernel_end(CgCtx *c)
{
    cu_ctx(c)->cur_node = IR_NONE;
    cg_printf(c, "}\n#endif\n\n");
}

void cu_in(CgCtx *c, NodeId id, int i, const char *name)
{
    const Graph *g = c->g;
    ValueId v = g->nodes[id].inputs[i];
    const char *ct = v == IR_NONE ? "float" : ir_dtype_ctype(g->values[v].type.dtype);
    cg_printf(c, "    const %s *__restrict__ %s = (const %s *)a.in[%d]; /* %s */\n", ct, name, ct,
              i, v == IR_NONE ? "absent" : cg_type_text(c, &g->values[v].type));
}

void cu_out(CgCtx *c, NodeId id, const char *name)
{
    const Graph *g = c->g;
    ValueId v = g->nodes[id].outputs[0];
    const char *ct = ir_dtype_ctype(g->values[v].type.dtype);
    cg_printf(c, "    %s *__restrict__ %s = (%s *)a.out; /* %s */\n", ct, name, ct,
              cg_type_text(c, &g->values[v].type));
}

void cu_launch(CgCtx *c, NodeId id, int k, const char *const grid[3], const int block[3],
               const char *what)
{
    CuCtx *cu = cu_ctx(c);
    if (cu->n_launches == cu->cap_launches) {
        int cap = cu->cap_launches ? 2 * cu->cap_launches : 64;
        CuLaunch *l = ir_arena_alloc(c->arena, sizeof *l * (size_t)cap);
        if (cu->n_launches)
            memcpy(l, cu->launches, sizeof *l * (size_t)cu->n_launches);
        cu->launches = l;
        cu->cap_launches = cap;
    }
    CuLaunch *l = &cu->launches[cu->n_launches++];
    l->node = id;
    l->kernel = k;
    for (int i = 0; i < 3; i++) {
        l->grid[i] = grid[i];
        l->block[i] = block[i];
    }
    l->what = what;
    cg_printf(c, "/* launch %s: grid (%s, %s, %s) x block (%d, %d, %d): %s */\n\n",
              cu->kernel_names[k], grid[0], grid[1], grid[2], block[0], block[1], block[2], what);
}

const char *cu_ceil_div(CgCtx *c, const char *n, int64_t d)
{
    if (d == 1)
        return n;
    return cg_strf(c, "((%s) + %lld) / %lld", n, (long long)(d - 1), (long long)d);
}

const char *cu_bcast_index(CgCtx *c, const Shape *out, const Shape *op, const char *f)
{
    const int r = out->rank, off = out->rank - op->rank;
    /* the same shape (leading 1s of op aside): the flat index itself */
    bool same = op->rank <= r;
    for (int j = 0; same && j < op->rank; j++)
        same = ir_dim_eq(op->d[j], out->d[j + off]);
    for (int i = 0; same && i < off; i++)
        same = out->d[i].syms == 0 && out->d[i].c == 1;
    if (same)
        return f;
    const char *e = NULL;
    for (int i = 0; i < r; i++) {
        const int j = i - off;
        if (j < 0 || (op->d[j].syms == 0 && op->d[j].c == 1))
            continue; /* a broadcast dim */
        /* out coordinate i = (f / prod(out[i+1:])) % out[i] */
        const char *inner = cg_prod(c, out, i + 1, r);
        const char *coord =
            strcmp(inner, "1") == 0 ? cg_strf(c, "(%s)", f) : cg_strf(c, "((%s) / %s)", f, inner);
        if (i > 0)
            coord = cg_strf(c, "(%s %% %s)", coord, cg_dim(c, out->d[i]));
        const char *stride = cg_prod(c, op, j + 1, op->rank);
        const char *t = strcmp(stride, "1") == 0 ? coord : cg_strf(c, "%s * %s", coord, stride);
        e = e ? cg_strf(c, "%s + %s", e, t) : t;
    }
    return e ? e : "0";
}

void cu_ep_apply(CgCtx *c, NodeId id, int indent, const char *v, const char *f)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    const Shape *os = cg_shape(c, n->outputs[0]);
    for (int j = 0; j < n->n_epilogue; j++) {
        const Epilogue *e = &n->epilogue[j];
        if (e->operand == IR_NONE) {
            cg_printf(c, "%*s%s = %s; /* %s */\n", indent, "", v,
                      cu_scalar_expr(c, e->op, v, NULL, NULL, NULL), ir_ops[e->op].name);
            continue;
        }
        const char *x = cg_strf(c, "((const float *)a.ep[%d])[%s]", j,
                                cu_bcast_index(c, os, cg_shape(c, e->operand), f));
        cg_printf(c, "%*s%s = %s; /* %s with %s */\n", indent, "", v,
                  e->operand_first ? cu_scalar_expr(c, e->op, x, v, NULL, NULL)
                                   : cu_scalar_expr(c, e->op, v, x, NULL, NULL),
                  ir_ops[e->op].name, cg_text(c, g->values[e->operand].name));
    }
}

/* ---- support ---- */

static const char *check_dtypes(const Graph *g, const Node *n)
{
    const CuCheck check = cu_ops[n->op].check;
    if (check == CU_CHECK_OWN) /* the emitter checks */
        return NULL;
    const bool any = check == CU_CHECK_ANY;
    for (int i = 0; i < n->n_inputs; i++) {
        ValueId v = n->inputs[i];
        if (v == IR_NONE)
            continue;
        const Type *t = &g->values[v].type;
        if (any ? ir_dtype_bits(t->dtype) < 8 || t->quant : t->dtype != IR_F32 || t->quant)
            return any ? "its inputs must be unpacked, unquantized tensors"
                       : "its kernel computes in f32 only";
    }
    const DType od = g->values[n->outputs[0]].type.dtype;
    if (!any && od != IR_F32)
        return "its output must be f32";
    if (any && n->n_epilogue)
        return "a data-movement op cannot carry an epilogue";
    for (int j = 0; j < n->n_epilogue; j++)
        if (n->epilogue[j].operand != IR_NONE &&
            g->values[n->epilogue[j].operand].type.dtype != IR_F32)
            return "its epilogue operands must be f32";
    return NULL;
}

/* Whether op is named in $SLIMC_CUDA_NO_KERNEL (a comma-separated list of op names): ops
 * the CUDA backend then treats as having no kernel, so that placement can be tested and
 * benchmarked with an op only the CPU runs in the middle of a model (docs/placement.md). */
static bool no_kernel_by_env(OpKind op)
{
    const char *list = getenv("SLIMC_CUDA_NO_KERNEL");
    if (!list || !*list)
        return false;
    const char *name = ir_ops[op].name;
    const size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        const size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p += len + (end != NULL);
    }
    return false;
}

/* Why the backend cannot run node n (wherever it is placed), or NULL. */
static const char *cu_unsupported(const Graph *g, const Node *n)
{
    if (n->op >= IR_NUM_OPS || !cu_ops[n->op].emit)
        return "no CUDA kernel";
    if (n->op == IR_OP_TRANSFER)
        return "a copy between the devices, not a kernel";
    if (no_kernel_by_env(n->op))
        return "no CUDA kernel ($SLIMC_CUDA_NO_KERNEL names it)";
    if (n->n_outputs != 1)
        return "more than one output";
    return check_dtypes(g, n);
}

/* Every node the backend cannot run, reported at once (one error listing them all, then
 * one per node with its reason), before anything is written for a node. */
static bool check_all(CgCtx *c)
{
    const Graph *g = c->g;
    int missing = 0;
    char *list = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&list, &len);
    SLIMC_ASSERT(mem);
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead || cu_ctx(c)->group_head[i] != IR_NONE) /* a fused group checks its own */
            continue;
        if (cu_ctx(c)->host && (n->device == IR_DEVICE_CPU || n->op == IR_OP_TRANSFER))
            continue; /* a mixed graph's CPU part: the C backend checks its nodes */
        const char *why = n->device != IR_DEVICE_CUDA ? "placed on the CPU" : cu_unsupported(g, n);
        if (!why)
            continue;
        fprintf(mem, "%s  %s (%s): %s", missing ? "\n" : "", n->name ? n->name : "?",
                n->op < IR_NUM_OPS ? ir_ops[n->op].name : "?", why);
        missing++;
    }
    fclose(mem);
    if (missing) {
        ir_diag_error(c->d, (SrcLoc){g->source, 0, 0},
                      "the CUDA backend cannot run %d node%s of model '%s' (place %s on the CPU "
                      "with --device auto, or use --device cpu):\n%s",
                      missing, missing == 1 ? "" : "s", g->name ? g->name : "?",
                      missing == 1 ? "it" : "them", list);
        c->ok = false;
    }
    free(list);
    return c->ok;
}

/* ---- the backend's stages (codegen/backend.h) ---- */

static CgCtx *cu_begin(const Graph *g, const CgOptions *o, FILE *out, Diag *d)
{
    Arena *arena = ir_arena_new();
    CuCtx *cu = ir_arena_alloc(arena, sizeof *cu);
    memset(cu, 0, sizeof *cu);
    CgCtx *c = &cu->cg;
    c->g = g;
    c->out = out;
    c->d = d;
    c->arena = arena;
    c->prefix = cg_entry_prefix(c, o && o->prefix ? o->prefix : "slimc_model");
    c->label = "CUDA backend";
    c->ok = true;
    cu->cur_node = IR_NONE;
    cu->group_node = IR_NONE;
    cu->precision = o && o->precision ? o->precision : IR_F32;
    cu->group_head = ir_arena_alloc(arena, sizeof(NodeId) * (size_t)(g->n_nodes + 1));
    for (int i = 0; i < g->n_nodes; i++)
        cu->group_head[i] = IR_NONE;
    cg_make_names(c);
    if (o && o->shared_kernels && ir_graph_mixed(g)) /* the CPU's kernels, declared only */
        cg_printf(c, "%s /* the CPU's kernels from libslimc_kernels */\n", RT_SHARED_KERNELS);
    cg_printf(c, "/* Generated by slimc %s from %s (model '%s') for CUDA.\n", SLIMC_VERSION,
              cg_text(c, o && o->source_name ? o->source_name
                         : g->source         ? g->source
                                             : "(memory)"),
              cg_text(c, g->name ? g->name : "?"));
    cg_printf(
        c,
        " * The device half (kernels) compiles with NVRTC, or as C for the CPU emulation; the\n"
        " * host half (%s_arena_bytes, %s_run, %s_cuda_kernels) is C that launches them.\n"
        " * GEMMs and convolutions multiply in %s.\n"
        " * See slimc's runtime/slimc_cuda_abi.h, pasted below. */\n\n",
        c->prefix, c->prefix, c->prefix,
        cu->precision == IR_F16    ? "fp16 on tensor cores (fp32 accumulation; --precision fp16)"
        : cu->precision == IR_BF16 ? "bf16 on tensor cores (fp32 accumulation; --precision bf16)"
                                   : "fp32");
    cg_placement_comment(c);
    cg_puts(c, slimc_cuda_abi_text, slimc_cuda_abi_text_len);
    cg_printf(c, "\n#if SLIMC_CU_DEVICE\n#if defined(__CUDACC_RTC__) || defined(__CUDACC__)\n");
    cg_puts(c, slimc_cuda_prelude_text, slimc_cuda_prelude_text_len);
    cg_printf(c, "#endif /* NVRTC */\n\n");
    cu_find_groups(c);
    if (cu_host_begin(c, o))
        check_all(c);
    else
        c->ok = false;
    return c;
}

/* Node i's kernels are part of another node's (a fused group, attention.c). */
static bool in_group(const CuCtx *cu, NodeId i)
{
    return cu->group_head[i] != IR_NONE && cu->group_head[i] != i;
}

static bool cu_node(CgCtx *c, NodeId i)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[i];
    if (!c->ok)
        return false;
    cg_node_comment(c, n);
    if (cu_ctx(c)->host && (n->device == IR_DEVICE_CPU || n->op == IR_OP_TRANSFER))
        return cu_host_node(c, i);
    if (in_group(cu_ctx(c), i)) {
        cg_printf(c, "/* (computed by %s's kernel) */\n\n", c->fn_names[cu_ctx(c)->group_head[i]]);
        return c->ok;
    }
    if (cu_ctx(c)->group_head[i] == i) {
        cu_emit_attention(c, i);
        return c->ok;
    }
    if (ir_ops[n->op].flags & IR_F_VIEW) {
        cg_printf(c, "/* (a view: no code) */\n\n");
        return c->ok;
    }
    if (cg_concat_in_place(g, n)) {
        cg_printf(c, "/* (in place: no code) */\n\n");
        return c->ok;
    }
    cu_ops[n->op].emit(c, i);
    SLIMC_ASSERT(cu_ctx(c)->cur_node == IR_NONE || !c->ok);
    return c->ok;
}

static const char host_prelude[] =
    "/* Launches kernel k on a grid of gx x gy x gz blocks: nothing when the grid is empty, 4\n"
    " * when it passes CUDA's limits, 5 when the runtime refused the launch. */\n"
    "static int slimc_cu_go(const slimc_cuda_rt *rt, int k, int64_t gx, int64_t gy, int64_t gz,\n"
    "                       unsigned bx, unsigned by, unsigned bz, const slimc_kargs *a)\n"
    "{\n"
    "    if (gx <= 0 || gy <= 0 || gz <= 0)\n"
    "        return 0;\n"
    "    if (gx > 2147483647 || gy > 65535 || gz > 65535)\n"
    "        return 4;\n"
    "    const unsigned grid[3] = {(unsigned)gx, (unsigned)gy, (unsigned)gz};\n"
    "    const unsigned block[3] = {bx, by, bz};\n"
    "    return rt->launch(rt->ctx, k, grid, block, a) ? 5 : 0;\n"
    "}\n\n"
    "/* A grid-stride loop's block count: enough blocks to fill a GPU, no more. */\n"
    "static SLIMC_RT_UNUSED int64_t slimc_cu_blocks(int64_t n)\n"
    "{\n"
    "    return n < 65536 ? n : 65536;\n"
    "}\n\n";

/* The end of the device half, the host half's prelude, the kernel table and
 * P_arena_bytes. */
static bool cu_arena(CgCtx *c)
{
    CuCtx *cu = cu_ctx(c);
    cg_printf(c, "#endif /* SLIMC_CU_DEVICE */\n\n#if SLIMC_CU_HOST\n");
    cg_puts(c, slimc_rt_base_text, slimc_rt_base_text_len);
    cg_printf(c, "\n");
    cu_host_paste(c);
    cg_puts(c, host_prelude, sizeof host_prelude - 1);
    cg_printf(c, "/* The kernels, in the order of their indices in the launches below. */\n");
    cg_printf(c, "const char *const %s_cuda_kernels[] = {\n", c->prefix);
    for (int k = 0; k < cu->n_kernels; k++)
        cg_printf(c, "    \"%s\",\n", cu->kernel_names[k]);
    cg_printf(c, "    NULL,\n};\n");
    cg_printf(
        c, "/* Each kernel's group: its node's ordinal (its NVRTC part is group %% parts). */\n");
    cg_printf(c, "const int %s_cuda_kernel_groups[] = {", c->prefix);
    for (int k = 0; k < cu->n_kernels; k++)
        cg_printf(c, "%s%d", k ? ", " : "", cu->kernel_group[k]);
    cg_printf(c, "%s};\n\n", cu->n_kernels ? "" : "0");
    cg_entry_arena_fn(c);
    return c->ok;
}

static bool cu_entry_begin(CgCtx *c)
{
    cg_printf(c,
              "int %s_run(const slimc_cuda_rt *rt, const void *const *consts, const void *const "
              "*inputs,\n    void *const *outputs, const int64_t *syms, void *arena)\n{\n",
              c->prefix);
    cg_printf(c, "    unsigned char *base = (unsigned char *)arena;\n    slimc_kargs a;\n"
                 "    int rc = 0;\n");
    cg_printf(c, "    (void)consts;\n    (void)inputs;\n    (void)base;\n    (void)a;\n"
                 "    (void)rc;\n    (void)syms;\n");
    cu_host_entry_locals(c);
    cg_entry_checks(c);
    return c->ok;
}

static bool cu_buffers(CgCtx *c)
{
    cg_entry_values(c);
    return c->ok;
}

static void cu_copy(CgCtx *c, const char *dst, const char *src, const char *bytes, const char *note)
{
    if (note)
        cg_printf(c, "    /* %s */\n", note);
    cg_printf(c, "    if (rt->copy(rt->ctx, %s, %s, %s))\n        return 5;\n", dst, src, bytes);
}

static bool cu_call(CgCtx *c, NodeId id)
{
    const CuCtx *cu = cu_ctx(c);
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    const ValueId ov = n->outputs[0];
    if (cu->host && (n->device == IR_DEVICE_CPU || n->op == IR_OP_TRANSFER))
        return cu_host_call(c, id);
    if (cg_concat_in_place(g, n)) {
        cg_printf(c, "    /* %s: done in place (its inputs were written into %s) */\n",
                  cg_text(c, n->name), c->val_names[ov]);
        return c->ok;
    }
    if (ir_ops[n->op].flags & IR_F_VIEW) {
        cg_printf(c, "    /* %s: %s %s is a view of %s */\n", cg_text(c, n->name),
                  ir_ops[n->op].name, c->val_names[ov], c->val_names[n->inputs[0]]);
        cg_entry_view_copy(c, id, cu_copy);
        return c->ok;
    }
    if (in_group(cu, id)) {
        cg_printf(c, "    /* %s: computed by %s's kernel */\n", cg_text(c, n->name),
                  c->fn_names[cu->group_head[id]]);
        return c->ok;
    }
    cg_printf(c, "    /* %s (%s) */\n", cg_text(c, n->name), ir_ops[n->op].name);
    cg_printf(c, "    memset(&a, 0, sizeof a);\n");
    if (cu->group_head[id] == id) /* a fused group's inputs */
        cu_attention_inputs(c, id);
    else
        for (int i = 0; i < n->n_inputs; i++)
            if (n->inputs[i] != IR_NONE)
                cg_printf(c, "    a.in[%d] = %s;\n", i, c->val_names[n->inputs[i]]);
    cg_printf(c, "    a.out = %s;\n", c->val_names[ov]);
    for (int j = 0; j < n->n_epilogue; j++)
        if (n->epilogue[j].operand != IR_NONE)
            cg_printf(c, "    a.ep[%d] = %s;\n", j, c->val_names[n->epilogue[j].operand]);
    cg_printf(c, "    a.err = rt->err;\n");
    if (g->n_syms)
        cg_printf(c, "    memcpy(a.syms, syms, sizeof(int64_t) * %d);\n", g->n_syms);
    for (int l = 0; l < cu->n_launches; l++) {
        const CuLaunch *L = &cu->launches[l];
        if (L->node != id)
            continue;
        cg_printf(c, "    /* %s: %s */\n", cu->kernel_names[L->kernel], L->what);
        cg_printf(c,
                  "    if ((rc = slimc_cu_go(rt, %d, %s, %s, %s, %du, %du, %du, &a)) != 0)\n"
                  "        return rc;\n",
                  L->kernel, L->grid[0], L->grid[1], L->grid[2], L->block[0], L->block[1],
                  L->block[2]);
    }
    return c->ok;
}

/* A copy between host buffers: a mixed graph's outputs (its P_run's are host pointers). */
static void host_copy(CgCtx *c, const char *dst, const char *src, const char *bytes,
                      const char *note)
{
    if (note)
        cg_printf(c, "    /* %s */\n", note);
    cg_printf(c, "    memcpy(%s, %s, %s);\n", dst, src, bytes);
}

static bool cu_entry_end(CgCtx *c)
{
    const CuCtx *cu = cu_ctx(c);
    cg_entry_output_copies(c, cu->host ? host_copy : cu_copy);
    cg_printf(c, "    return 0;\n}\n\n");
    cg_printf(c, "#ifdef SLIMC_CUDA_EMULATE\n/* The CPU emulation's launcher (runtime/cuda_emu.h). "
                 "*/\n");
    cg_printf(c,
              "int %s_cuda_emu_launch(int k, const unsigned grid[3], const unsigned block[3],\n"
              "    const slimc_kargs *a)\n{\n",
              c->prefix);
    cg_printf(c, "    static void (*const fns[])(slimc_kargs) = {\n");
    for (int k = 0; k < cu->n_kernels; k++)
        cg_printf(c, "        %s,\n", cu->kernel_names[k]);
    cg_printf(c, "        NULL,\n    };\n");
    cg_printf(c, "    if (k < 0 || k >= %d)\n        return 1;\n", cu->n_kernels);
    cg_printf(c, "    return slimc_emu_launch(fns[k], grid, block, a);\n}\n#endif\n");
    cg_printf(c, "#endif /* SLIMC_CU_HOST */\n");
    return c->ok;
}

static bool cu_end(CgCtx *c)
{
    bool ok = cu_host_end(c) && c->ok;
    if (ok)
        cu_report_capture(cu_ctx(c)); /* slimc inspect (codegen/cuda/report.h) */
    ir_arena_free(c->arena);
    return ok;
}

static bool cu_claims(OpKind op)
{
    return op < IR_NUM_OPS && (ir_ops[op].backends & IR_BE_CUDA);
}

const CgBackend cg_backend_cuda = {
    .name = "cuda",
    .label = "CUDA backend",
    .features = "CUDA C for NVIDIA GPUs from Turing (sm_75) on, compiled at run time by NVRTC; "
                "fp32 kernels, fp16/bf16 and int8 on tensor cores; runs on the CPU under "
                "SLIMC_CUDA_EMULATE=1",
    .device = IR_DEVICE_CUDA,
    .claims = cu_claims,
    .unsupported = cu_unsupported,
    .begin = cu_begin,
    .node = cu_node,
    .arena = cu_arena,
    .entry_begin = cu_entry_begin,
    .buffers = cu_buffers,
    .call = cu_call,
    .entry_end = cu_entry_end,
    .end = cu_end,
};
