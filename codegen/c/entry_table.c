/* P_run as tables, for the JIT's large graphs (codegen/c/entry_table.h).
 *
 * The plain entry is one statement block per node: pointers into a slimc_args, then the
 * parallel loop over its body. For a 3,571-node quantized encoder that function was 2.3 MB
 * of the file's 3.8 MB and 1.75 s of its 2.0 s clang compile, at -O0 (the layers' bodies
 * are written once, so 34 of them remain). Here the entry fills two arrays instead —
 * P_v[slot], the pointer of every value (a static table of where each lies, and a
 * statement for the few whose offset depends on the symbols), and P_x[i], the value of
 * every distinct item-count and work expression — and runs the nodes from static tables
 * of records (body, inputs' and output's slots, expression indices) through one loop,
 * slimc_cg_exec. Statements that are not a node's call (a view copied to an output) cut
 * the tables into segments, so the order is the plain entry's, and so are the calls and
 * their arguments: the bits do not change. */
#include "codegen/c/entry_table.h"
#include "codegen/c/entry.h"

#include <string.h>

/* Above this many nodes, the JIT's entry is tables (the plain entry of such a graph is
 * already compiled without optimization: emit.c, CG_ENTRY_OPT_MAX_NODES). */
#define TABLE_MIN_NODES 64
#define MAX_EP          8

typedef struct CgTable {
    int *slot; /* per value: its P_v index, -1 for none */
    int n_slots;
    const char **exprs; /* the distinct expressions, P_x's */
    int n_exprs, cap_exprs;
    int n_emitted;   /* the expressions P_x holds */
    NodeId *pending; /* nodes recorded since the last segment */
    int n_pending;
} CgTable;

bool cg_table_wanted(const CgCtx *c)
{
    const Graph *g = c->g;
    if (!c->dedup || c->profile || ir_graph_mixed(g))
        return false;
    int live = 0;
    for (int i = 0; i < g->n_nodes; i++)
        live += !g->nodes[i].dead;
    return live > TABLE_MIN_NODES;
}

/* Whether node n runs its body through P_run (not a view, not a concat done in place). */
static bool runs_body(const Graph *g, const Node *n)
{
    return !n->dead && !(ir_ops[n->op].flags & IR_F_VIEW) && !cg_concat_in_place(g, n);
}

static int intern(CgCtx *c, const char *e)
{
    CgTable *t = c->table;
    for (int i = 0; i < t->n_exprs; i++)
        if (strcmp(t->exprs[i], e) == 0)
            return i;
    SLIMC_ASSERT(t->n_emitted == 0 && "an expression after P_x was written");
    if (t->n_exprs == t->cap_exprs) {
        const char **grown =
            ir_arena_alloc(c->arena, sizeof(char *) * (size_t)(2 * t->cap_exprs + 16));
        if (t->n_exprs)
            memcpy(grown, t->exprs, sizeof(char *) * (size_t)t->n_exprs);
        t->exprs = grown;
        t->cap_exprs = 2 * t->cap_exprs + 16;
    }
    t->exprs[t->n_exprs] = e;
    return t->n_exprs++;
}

/* The element count of node id's output as an expression (its epilogue's loop). */
static const char *total_of(CgCtx *c, NodeId id)
{
    Dim ne;
    if (!cg_numel(c, id, cg_shape(c, c->g->nodes[id].outputs[0]), &ne))
        return "0";
    return cg_dim(c, ne);
}

static bool has_epiall(const CgCtx *c, NodeId id)
{
    return c->g->nodes[id].n_epilogue && !c->kernels[id].ep_done;
}

void cg_table_helper(CgCtx *c)
{
    cg_printf(c,
              "/* One node of a table-driven entry: its body, the P_v slots of its inputs (-1:\n"
              " * none), output and epilogue operands, and the P_x indices of its work, item\n"
              " * count and element count (its epilogue loop, when epi is set). */\n"
              "typedef struct slimc_cg_rec {\n"
              "    void (*fn)(void *, int64_t, int64_t);\n"
              "    void (*epi)(void *, int64_t, int64_t);\n"
              "    int32_t in[8], ep[%d], out, work, items, total, check;\n"
              "} slimc_cg_rec;\n\n"
              "/* Runs n records in order, as the plain entry's statements would; 3 when a\n"
              " * checked node set the error flag (an index out of range). */\n"
              "static int slimc_cg_exec(const slimc_cg_rec *t, int n, const void *const *v,\n"
              "    const int64_t *x, const int64_t *syms, int nthreads, int *err)\n"
              "{\n"
              "    slimc_args a;\n"
              "    for (int i = 0; i < n; i++) {\n"
              "        const slimc_cg_rec *r = &t[i];\n"
              "        memset(&a, 0, sizeof a);\n"
              "        for (int j = 0; j < 8; j++)\n"
              "            a.in[j] = r->in[j] < 0 ? NULL : v[r->in[j]];\n"
              "        for (int j = 0; j < %d; j++)\n"
              "            a.ep[j] = r->ep[j] < 0 ? NULL : v[r->ep[j]];\n"
              "        a.out = (void *)v[r->out];\n"
              "        a.syms = syms;\n"
              "        a.err = err;\n"
              "        slimc_rt_parallel_for(slimc_rt_threads(nthreads, x[r->work]), x[r->items], "
              "r->fn, &a);\n"
              "        if (r->epi)\n"
              "            slimc_rt_parallel_for(slimc_rt_threads(nthreads, x[r->total]), "
              "x[r->total], r->epi, &a);\n"
              "        if (r->check && *err)\n"
              "            return 3;\n"
              "    }\n"
              "    return 0;\n"
              "}\n\n",
              MAX_EP, MAX_EP);
}

void cg_table_values(CgCtx *c)
{
    const Graph *g = c->g;
    CgTable *t = ir_arena_alloc(c->arena, sizeof *t);
    memset(t, 0, sizeof *t);
    c->table = t;
    t->slot = ir_arena_alloc(c->arena, sizeof(int) * ((size_t)g->n_values + 1));
    t->pending = ir_arena_alloc(c->arena, sizeof(NodeId) * ((size_t)g->n_nodes + 1));
    CgValuePtr *ptr = ir_arena_alloc(c->arena, sizeof *ptr * ((size_t)g->n_values + 1));
    const char **names = ir_arena_alloc(c->arena, sizeof(char *) * ((size_t)g->n_values + 1));
    bool dynamic = false; /* arena offsets that depend on the symbols */
    for (int v = 0; v < g->n_values && c->ok; v++) {
        t->slot[v] = -1;
        names[v] = c->val_names[v];
        if (!cg_entry_value_pointer(c, v, NULL, &ptr[v]))
            continue;
        t->slot[v] = t->n_slots++;
        dynamic |= ptr[v].kind == CG_PTR_ARENA && !ptr[v].fixed;
        names[v] =
            cg_strf(c, "((%s%s *)P_v[%d])", ptr[v].ro ? "const " : "", ptr[v].ctype, t->slot[v]);
    }
    if (!c->ok)
        return;
    /* where each value lies: {0 consts, 1 inputs, 2 outputs, 3 the arena (the offset), -1 an
     * offset that depends on the symbols (a statement below)} */
    cg_printf(c, "    static const int64_t P_vt[%d][2] = {\n", t->n_slots + 1);
    for (int v = 0; v < g->n_values; v++) {
        if (t->slot[v] < 0)
            continue;
        const CgValuePtr *p = &ptr[v];
        const int kind = p->kind == CG_PTR_CONST    ? 0
                         : p->kind == CG_PTR_INPUT  ? 1
                         : p->kind == CG_PTR_OUTPUT ? 2
                         : p->fixed                 ? 3
                                                    : -1;
        cg_printf(c, "        {%d, %lld}, /* %s */\n", kind, (long long)p->at, c->val_names[v]);
    }
    cg_printf(c,
              "        {-1, 0}};\n    const void *P_v[%d];\n"
              "    for (int i = 0; i < %d; i++) {\n"
              "        const int64_t k = P_vt[i][0], x = P_vt[i][1];\n"
              "        P_v[i] = k == 0 ? consts[x] : k == 1 ? inputs[x] : k == 2 ? (const void "
              "*)outputs[x]\n"
              "               : k == 3 ? (const void *)(base + x) : NULL;\n"
              "    }\n",
              t->n_slots + 1, t->n_slots);
    if (dynamic)
        for (int v = 0; v < g->n_values; v++)
            if (t->slot[v] >= 0 && ptr[v].kind == CG_PTR_ARENA && !ptr[v].fixed)
                cg_printf(c, "    P_v[%d] = (const void *)(%s);\n", t->slot[v], ptr[v].expr);
    /* every distinct work, item-count and element-count expression, once */
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (!runs_body(g, n))
            continue;
        intern(c, c->kernels[i].work);
        intern(c, c->kernels[i].items);
        if (has_epiall(c, i))
            intern(c, total_of(c, i));
    }
    cg_printf(c, "    int64_t P_x[%d];\n", t->n_exprs + 1);
    for (int i = 0; i < t->n_exprs; i++)
        cg_printf(c, "    P_x[%d] = (int64_t)(%s);\n", i, t->exprs[i]);
    cg_printf(c, "    (void)P_x;\n\n");
    t->n_emitted = t->n_exprs;
    c->val_names = names; /* the statements after this point name P_v's slots */
}

bool cg_table_call(CgCtx *c, NodeId id)
{
    if (!c->table || !runs_body(c->g, &c->g->nodes[id]))
        return false;
    c->table->pending[c->table->n_pending++] = id;
    return true;
}

static const char *slot_list(CgCtx *c, const ValueId *vs, int n, int width)
{
    const char *s = NULL;
    for (int i = 0; i < width; i++) {
        int k = i < n && vs[i] != IR_NONE ? c->table->slot[vs[i]] : -1;
        s = s ? cg_strf(c, "%s, %d", s, k) : cg_strf(c, "%d", k);
    }
    return s;
}

void cg_table_flush(CgCtx *c)
{
    CgTable *t = c->table;
    if (!t || t->n_pending == 0)
        return;
    const Graph *g = c->g;
    cg_printf(c, "    {\n        static const slimc_cg_rec t[] = {\n");
    for (int p = 0; p < t->n_pending; p++) {
        const NodeId id = t->pending[p];
        const Node *n = &g->nodes[id];
        ValueId ep[MAX_EP];
        int n_ep = n->n_epilogue < MAX_EP ? n->n_epilogue : MAX_EP;
        for (int j = 0; j < n_ep; j++)
            ep[j] = n->epilogue[j].operand;
        const bool epi = has_epiall(c, id);
        const bool check = cg_sets_error(n);
        cg_printf(c, "            {%s, %s%s, {%s}, {%s}, %d, %d, %d, %d, %d}, /* %s */\n",
                  c->fn_names[id], epi ? "epiall_" : "NULL", epi ? c->fn_names[id] : "",
                  slot_list(c, n->inputs, n->n_inputs, 8), slot_list(c, ep, n_ep, MAX_EP),
                  t->slot[n->outputs[0]], intern(c, c->kernels[id].work),
                  intern(c, c->kernels[id].items), epi ? intern(c, total_of(c, id)) : 0, check,
                  cg_text(c, n->name));
    }
    cg_printf(c,
              "        };\n        if (slimc_cg_exec(t, %d, P_v, P_x, syms, nthreads, &err))\n"
              "            return 3;\n    }\n",
              t->n_pending);
    t->n_pending = 0;
}
