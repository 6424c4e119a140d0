/* The host side every C-family backend shares (codegen/c/entry.h). */
#include "codegen/c/entry.h"
#include "ir/dtype_ops.h"
#include "passes/place.h"

#include <string.h>

void cg_placement_comment(CgCtx *c)
{
    const PlaceReport *r = c->g->place.report;
    if (!r)
        return;
    int on[2] = {0, 0};
    for (int i = 0; i < r->n; i++)
        on[r->nodes[i].device == IR_DEVICE_CUDA]++;
    cg_printf(c,
              "/* Placed by the place pass (--device auto): %d node%s on the CPU, %d on the GPU, "
              "%d transfer%s;\n * predicted %.4g ms (all on the CPU: %.4g ms), from the device "
              "profile %s (hash %016llx). */\n\n",
              on[0], on[0] == 1 ? "" : "s", on[1], r->n_transfers, r->n_transfers == 1 ? "" : "s",
              r->total_ms, r->all_cpu_ms, cg_text(c, r->profile ? r->profile : "?"),
              (unsigned long long)r->profile_hash);
}

ValueId cg_storage_of(const Graph *g, ValueId v)
{
    while (g->values[v].alias_of != IR_NONE && g->values[v].alias_of != v)
        v = g->values[v].alias_of;
    return v;
}

bool cg_concat_in_place(const Graph *g, const Node *n)
{
    if (n->op != IR_OP_CONCAT)
        return false;
    const ValueId root = cg_storage_of(g, n->outputs[0]);
    for (int i = 0; i < n->n_inputs; i++)
        if (g->values[n->inputs[i]].alias_of == IR_NONE || cg_storage_of(g, n->inputs[i]) != root)
            return false;
    return true;
}

bool cg_sets_error(const Node *n)
{
    return n->op == IR_OP_EMBEDDING || n->op == IR_OP_INDEX_SELECT ||
           n->op == IR_OP_GATHER_ELEMENTS || n->op == IR_OP_SCATTER_ELEMENTS ||
           n->op == IR_OP_GATHER_ND || n->op == IR_OP_SCATTER_ND || n->op == IR_OP_ROI_ALIGN;
}

int cg_output_index(const Graph *g, ValueId v)
{
    for (int j = 0; j < g->n_outputs; j++)
        if (g->outputs[j] == v)
            return j;
    return -1;
}

int cg_input_index(const Graph *g, ValueId v)
{
    for (int j = 0; j < g->n_inputs; j++)
        if (g->inputs[j] == v)
            return j;
    return -1;
}

static bool poly_zero(const Poly *p)
{
    for (int i = 0; i < p->n; i++)
        if (p->t[i].c)
            return false;
    return true;
}

static const char *poly_expr(CgCtx *c, const Poly *p)
{
    if (p->n == 0)
        return "0";
    const char *e = NULL;
    for (int i = 0; i < p->n; i++) {
        const char *t = cg_dim(c, (Dim){p->t[i].c, p->t[i].mask});
        e = e ? cg_strf(c, "%s + %s", e, t) : t;
    }
    return e;
}

/* C that is true when poly p (bytes) overflows for the symbol values in syms: each term
 * through slimc_rt_ckd_mac, the checked products of runtime/slimc_rt.h. */
static const char *poly_overflows(CgCtx *c, const Poly *p)
{
    const char *e = NULL;
    for (int i = 0; i < p->n; i++) {
        const char *t = cg_strf(c, "!slimc_rt_ckd_mac(&n, %lldLL, 0x%xu, syms)",
                                (long long)p->t[i].c, (unsigned)p->t[i].mask);
        e = e ? cg_strf(c, "%s ||\n        %s", e, t) : t;
    }
    return e ? e : "0";
}

/* The constant value of p, when no term has a symbol. */
static bool poly_fixed(const Poly *p, int64_t *x)
{
    *x = 0;
    for (int i = 0; i < p->n; i++) {
        if (p->t[i].mask)
            return false;
        *x += p->t[i].c;
    }
    return true;
}

bool cg_entry_value_pointer(CgCtx *c, int v, const bool *on_gpu, CgValuePtr *p)
{
    const Graph *g = c->g;
    const Value *val = &g->values[v];
    const char *ty = cg_type_text(c, &val->type);
    ValueId root = cg_storage_of(g, v);
    const Value *rv = &g->values[root];
    int oi = cg_output_index(g, root);
    memset(p, 0, sizeof *p);
    p->ctype = ir_dtype_ctype(val->type.dtype);
    p->note = cg_strf(c, "%s%s", ty, root != v ? ", a view" : "");
    if (rv->kind == IR_VALUE_INPUT) {
        int ii = cg_input_index(g, root);
        if (ii < 0)
            return false;
        p->ro = true;
        p->kind = CG_PTR_INPUT;
        p->at = ii;
        p->expr = cg_strf(c, "inputs[%d]", ii);
    } else if (rv->kind == IR_VALUE_CONST) {
        p->ro = true;
        p->kind = CG_PTR_CONST;
        p->at = root;
        p->expr = cg_strf(c, "%s[%d]", on_gpu && !on_gpu[root] ? "host_consts" : "consts", root);
    } else if (oi >= 0) {
        p->kind = CG_PTR_OUTPUT;
        p->at = oi;
        p->expr = cg_strf(c, "outputs[%d]", oi);
    } else if (rv->planned) {
        /* a piece of an in-place concat lies at its byte offset in the concat's result */
        const bool piece = root != v && !poly_zero(&val->offset);
        const bool host = on_gpu && g->nodes[rv->producer].device == IR_DEVICE_CPU;
        int64_t a, b = 0;
        p->kind = CG_PTR_ARENA;
        p->fixed = !host && poly_fixed(&rv->offset, &a) && (!piece || poly_fixed(&val->offset, &b));
        p->at = p->fixed ? a + b : 0;
        p->expr = cg_strf(c, "%s + %s%s%s", host ? "hbase" : "base", poly_expr(c, &rv->offset),
                          piece ? " + " : "", piece ? poly_expr(c, &val->offset) : "");
        if (piece)
            p->note = cg_strf(c, "%s, in %s", ty, c->val_names[root]);
    } else {
        if (rv->producer != IR_NONE && !g->nodes[rv->producer].dead)
            cg_error(c, &g->nodes[rv->producer], "value '%s' has no storage (run memplan first)",
                     rv->name ? rv->name : "?");
        return false;
    }
    return true;
}

const bool *cg_entry_gpu_consts(CgCtx *c)
{
    const Graph *g = c->g;
    if (!ir_graph_mixed(g))
        return NULL;
    bool *on_gpu = ir_arena_alloc(c->arena, sizeof *on_gpu * ((size_t)g->n_values + 1));
    ir_values_read_on(g, IR_DEVICE_CUDA, on_gpu);
    return on_gpu;
}

/* Declares the pointer of every value the nodes use, with its type in a comment. */
static void declare_values(CgCtx *c)
{
    const bool *on_gpu = cg_entry_gpu_consts(c);
    for (int v = 0; v < c->g->n_values && c->ok; v++) {
        CgValuePtr p;
        if (!cg_entry_value_pointer(c, v, on_gpu, &p))
            continue;
        const char *q = p.ro ? "const " : "", *paren = p.kind == CG_PTR_ARENA ? "(" : "";
        cg_printf(c, "    %s%s *%s = (%s%s *)%s%s%s; /* %s */\n", q, p.ctype, c->val_names[v], q,
                  p.ctype, paren, p.expr, *paren ? ")" : "", p.note);
    }
}

static bool value_used(const Graph *g, ValueId v)
{
    ValueId root = cg_storage_of(g, v);
    const Value *rv = &g->values[root];
    if (rv->kind == IR_VALUE_INPUT)
        return cg_input_index(g, root) >= 0;
    if (rv->kind == IR_VALUE_CONST)
        return true;
    return cg_output_index(g, root) >= 0 || rv->planned;
}

/* P_derive_syms(syms): sets each derived symbol (ir/symbols.c) from the earlier ones,
 * so that the callers of P_run and P_arena_bytes need give only the inputs' symbols; 1
 * when one overflows or comes out < 1. Emitted once, before the first arena function. */
static void derive_fn(CgCtx *c)
{
    const Graph *g = c->g;
    cg_printf(c,
              "/* the derived symbolic dims, from the others: 1 when one overflows or is < 1 "
              "*/\nstatic int %s_derive_syms(int64_t *syms)\n{\n    int64_t a, b, y, n;\n",
              c->prefix);
    for (int s = 0; s < g->n_syms; s++) {
        if (!(g->derived_syms & (1u << s)))
            continue;
        const SymDef *d = &g->sym_defs[s];
        cg_printf(c,
                  "    /* %s */\n    a = 0, b = 0, y = 0;\n"
                  "    if (!slimc_rt_ckd_mac(&a, %lldLL, 0x%xu, syms) ||\n"
                  "        !slimc_rt_ckd_mac(&b, %lldLL, 0x%xu, syms) ||\n"
                  "        !slimc_rt_ckd_mac(&y, %lldLL, 0x%xu, syms) || "
                  "__builtin_mul_overflow(a, b, &n) ||\n"
                  "        __builtin_add_overflow(n, y, &n) || __builtin_add_overflow(n, %lldLL, "
                  "&n))\n        return 1;\n"
                  "    syms[%d] = n / %lldLL - (n %% %lldLL != 0 && n < 0);\n"
                  "    if (syms[%d] < 1)\n        return 1;\n",
                  cg_text(c, g->sym_names[s]), (long long)d->xa.c, (unsigned)d->xa.syms,
                  (long long)d->xb.c, (unsigned)d->xb.syms, (long long)d->y.c, (unsigned)d->y.syms,
                  (long long)d->add, s, (long long)d->div, (long long)d->div, s);
    }
    cg_printf(c, "    return 0;\n}\n\n");
}

/* Copies syms into a local array with the derived symbols set, and points syms at it. */
static void derive_call(CgCtx *c, const char *fail)
{
    cg_printf(c,
              "    int64_t syms_all[%d];\n    for (int s = 0; s < %d; s++)\n"
              "        syms_all[s] = syms[s];\n    if (%s_derive_syms(syms_all))\n"
              "        return %s; /* a derived symbolic dim */\n    syms = syms_all;\n",
              c->g->n_syms, c->g->n_syms, c->prefix, fail);
}

/* size_t P_NAME(const int64_t *syms) returning bytes (SIZE_MAX: overflows); whether it
 * depends on the symbols. */
static bool arena_fn(CgCtx *c, const char *name, const Poly *bytes)
{
    if (c->g->derived_syms && !c->derive_emitted) {
        derive_fn(c);
        c->derive_emitted = true;
    }
    cg_printf(c, "size_t %s_%s(const int64_t *syms)\n{\n", c->prefix, name);
    if (c->g->derived_syms)
        derive_call(c, "SIZE_MAX");
    bool syms = false;
    for (int i = 0; i < bytes->n; i++)
        syms |= bytes->t[i].mask != 0;
    if (!syms)
        cg_printf(c, "    (void)syms;\n    return (size_t)(%s);\n}\n\n", poly_expr(c, bytes));
    else
        cg_printf(c,
                  "    int64_t n = 0; /* %s */\n    if (%s)\n        return SIZE_MAX; /* overflows "
                  "for these symbol values */\n    return (size_t)n;\n}\n\n",
                  poly_expr(c, bytes), poly_overflows(c, bytes));
    return syms;
}

void cg_entry_arena_fn(CgCtx *c)
{
    c->arena_syms = arena_fn(c, "arena_bytes", &c->g->arena_bytes);
}

void cg_entry_host_arena_fn(CgCtx *c)
{
    if (arena_fn(c, "host_arena_bytes", &c->g->host_arena_bytes))
        c->host_arena_syms = true;
}

void cg_entry_checks(CgCtx *c)
{
    const Graph *g = c->g;
    if (g->derived_syms)
        derive_call(c, "1");
    for (int i = 0; i < g->n_syms; i++)
        cg_printf(c,
                  "    const int64_t %s = syms[%d];\n    if (%s <= 0)\n        return 1; /* symbol "
                  "%s */\n",
                  c->sym_names[i], i, c->sym_names[i],
                  cg_text(c, g->sym_names[i] ? g->sym_names[i] : "?"));
    for (int i = 0; i < g->n_syms; i++) /* the model's bounds (a slice x[:T] of a buffer) */
        if (g->sym_max[i])
            cg_printf(
                c,
                "    if (%s > %lldLL)\n        return 1; /* the largest the model's %s allows */\n",
                c->sym_names[i], (long long)g->sym_max[i],
                cg_text(c, g->sym_max_of[i] ? g->sym_max_of[i] : "shapes"));
    for (int i = 0; i < g->n_syms; i++) /* equalities the model assumes (a skip concat) */
        if (g->sym_eq[i].c) /* the symbols are bounded by the inputs' sizes: no overflow */
            cg_printf(c, "    if (%s != (int64_t)(%s))\n        return 1; /* the model's %s */\n",
                      c->sym_names[i], cg_dim(c, g->sym_eq[i]),
                      cg_text(c, g->sym_eq_of[i] ? g->sym_eq_of[i] : "shapes"));
    /* every size that depends on the symbols must fit (checked products) */
    if (c->arena_syms)
        cg_printf(c,
                  "    if (%s_arena_bytes(syms) == SIZE_MAX)\n        return 4; /* the arena */\n",
                  c->prefix);
    if (c->host_arena_syms)
        cg_printf(c,
                  "    if (%s_host_arena_bytes(syms) == SIZE_MAX)\n        return 4; /* the CPU's "
                  "arena */\n",
                  c->prefix);
    for (int j = 0; j < g->n_outputs; j++) {
        const Value *val = &g->values[g->outputs[j]];
        Dim ne;
        if (ir_shape_static(&val->type.shape))
            continue;
        if (!cg_numel(c, IR_NONE, &val->type.shape, &ne))
            break;
        size_t eb = ir_dtype_bytes(val->type.dtype, 1); /* a byte per element when packed */
        Poly bytes = ir_poly_from_dim((Dim){ne.c * (int64_t)eb, ne.syms}); /* static: checked */
        cg_printf(c,
                  "    {\n        int64_t n = 0;\n        if (%s)\n            return 4; /* output "
                  "%d */\n    }\n",
                  poly_overflows(c, &bytes), j);
    }
    /* views must keep the element count for these symbol values */
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead || !(ir_ops[n->op].flags & IR_F_VIEW))
            continue;
        const Shape *si = cg_shape(c, n->inputs[0]), *so = cg_shape(c, n->outputs[0]);
        if (ir_shape_static(si) && ir_shape_static(so))
            continue;
        cg_printf(
            c, "    if ((int64_t)%s != (int64_t)%s)\n        return 2; /* %s cannot reshape */\n",
            cg_prod(c, si, 0, si->rank), cg_prod(c, so, 0, so->rank), cg_text(c, n->name));
    }
}

void cg_entry_values(CgCtx *c)
{
    const Graph *g = c->g;
    declare_values(c);
    for (int v = 0; v < g->n_values; v++)
        if (value_used(g, v))
            cg_printf(c, "    (void)%s;\n", c->val_names[v]);
    cg_printf(c, "\n");
}

void cg_entry_view_copy(CgCtx *c, NodeId id, CgCopyFn copy)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    const ValueId ov = n->outputs[0];
    if (cg_output_index(g, ov) < 0 || cg_storage_of(g, ov) != ov)
        return;
    Dim ne;
    if (!cg_numel(c, id, &g->values[ov].type.shape, &ne))
        return;
    copy(c, c->val_names[ov], c->val_names[n->inputs[0]],
         cg_strf(c, "sizeof(*%s) * (size_t)%s", c->val_names[ov], cg_dim(c, ne)), NULL);
}

void cg_entry_output_copies(CgCtx *c, CgCopyFn copy)
{
    const Graph *g = c->g;
    for (int j = 0; j < g->n_outputs; j++) {
        ValueId v = g->outputs[j];
        const Value *val = &g->values[v];
        Dim ne;
        if (!cg_numel(c, IR_NONE, &val->type.shape, &ne))
            break;
        const char *bytes =
            cg_strf(c, "%zu * (size_t)%s", ir_dtype_bytes(val->type.dtype, 1), cg_dim(c, ne));
        int first = cg_output_index(g, v);
        if (first != j)
            copy(c, cg_strf(c, "outputs[%d]", j), cg_strf(c, "outputs[%d]", first), bytes,
                 cg_strf(c, "%s again", cg_text(c, val->name)));
        else if (val->kind != IR_VALUE_TEMP)
            copy(c, cg_strf(c, "outputs[%d]", j), c->val_names[v], bytes, cg_text(c, val->name));
    }
}
