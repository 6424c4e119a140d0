/* memplan: static, liveness-based placement of every intermediate tensor in one arena.
 *
 * Each temp produced by a live node and not a graph output gets a 64-byte aligned slot
 * (Value.offset, a polynomial in the symbols); a slot is reused once the value's last
 * consumer has run. A consumer is a node reading it as an input or as an epilogue
 * operand. Views (IR_F_VIEW ops) take no slot: Value.alias_of names the value whose
 * storage they share, and that storage lives as long as any view of it. Graph outputs
 * live in the caller's buffers; a view that is a graph output gets its own (output)
 * storage and the generated code copies into it.
 *
 * A concat whose inputs would each be one contiguous piece of its result (nothing but
 * 1s before the axis, static shapes, every piece 64-byte aligned) is done in place: its
 * inputs take no slot but live in the concat's, at their pieces' byte offsets (alias_of
 * the concat's result, offset the piece's), so the layers before it write there and the
 * concat copies nothing. Each input must be a temp its producer owns, not a graph output,
 * in no other such concat; the result must not be a graph output. The result's slot then
 * lives from the first piece written to the last read of it or of any piece.
 *
 * In a graph with nodes on both devices (ir_graph_mixed), each value lives in the arena of
 * its producer's device: Graph.arena_bytes is the GPU's, Graph.host_arena_bytes the CPU's,
 * and slots in different arenas never conflict.
 *
 * Placement is greedy, largest first (sizes compared with every symbol at 64), at the
 * lowest offset that keeps clear of every placed value whose lifetime overlaps — proved
 * for every symbol value >= 1 with ir_poly_le, term by term (sound, not complete). */
#include "ir/checked.h"
#include "passes/pass.h"

#include <stdlib.h>

#define MEMPLAN_ALIGN 64
#define MEMPLAN_PROBE 64 /* symbol value used to rank sizes and candidate offsets */

typedef struct Slot {
    ValueId v;
    int first, last; /* node positions: produced at first, last used at last */
    int arena;       /* 0: the graph's arena, 1: the CPU's of a mixed graph */
    Poly size;
    Poly offset, end;
    int64_t size_probe;
    bool placed;
    /* The slots whose lifetimes overlap this one's (indices into the sorted slots), when
     * known; NULL: every slot is checked (see find_overlaps). */
    const int *near;
    int n_near;
} Slot;

/* In-place concats: piece[v], the concat result v is a piece of (IR_NONE if none), at
 * byte offset at[v]. */
typedef struct Pieces {
    ValueId *piece;
    int64_t *at;
} Pieces;

/* The value whose storage v shares: follows view chains and in-place concats to a value
 * that owns storage; *off (when not NULL) gets v's byte offset in it. */
static ValueId storage_root(const Graph *g, ValueId v, const Pieces *pc, int64_t *off)
{
    int64_t at = 0;
    while (g->values[v].kind == IR_VALUE_TEMP && !g->values[v].is_output) {
        if (pc->piece[v] != IR_NONE) {
            at += pc->at[v];
            v = pc->piece[v];
            continue;
        }
        NodeId p = g->values[v].producer;
        if (p == IR_NONE || !(ir_ops[g->nodes[p].op].flags & IR_F_VIEW))
            break;
        v = g->nodes[p].inputs[0];
    }
    if (off)
        *off = at;
    return v;
}

/* Whether concat node c can run in place (see the top of the file); records its inputs
 * in pc when it can. */
static bool concat_in_place(const Graph *g, NodeId c, Pieces *pc)
{
    const Node *n = &g->nodes[c];
    const ValueId o = n->outputs[0];
    const Value *ov = &g->values[o];
    const Shape *os = &ov->type.shape;
    if (n->op != IR_OP_CONCAT || n->n_epilogue || n->device != IR_DEVICE_CPU || ov->is_output ||
        !ir_shape_static(os) || ir_dtype_bits(ov->type.dtype) % 8)
        return false;
    int64_t ax = ir_attr_axis(n);
    if (ax < 0)
        ax += os->rank;
    for (int64_t k = 0; k < ax; k++)
        if (os->d[k].c != 1)
            return false;
    int64_t at = 0; /* byte offset of input i's piece */
    for (int i = 0; i < n->n_inputs; i++) {
        const ValueId x = n->inputs[i];
        const Value *xv = &g->values[x];
        const NodeId p = xv->producer;
        Dim ne;
        if (xv->kind != IR_VALUE_TEMP || xv->is_output || pc->piece[x] != IR_NONE || p == IR_NONE ||
            g->nodes[p].dead || (ir_ops[g->nodes[p].op].flags & IR_F_VIEW) ||
            g->nodes[p].device != IR_DEVICE_CPU || !ir_shape_numel(&xv->type.shape, &ne) ||
            ne.syms || at % MEMPLAN_ALIGN)
            return false;
        for (int j = 0; j < i; j++)
            if (n->inputs[j] == x)
                return false;
        pc->at[x] = at; /* stays unread unless the concat qualifies */
        size_t bytes;
        if (!ir_ckd_bytes(ov->type.dtype, ne.c, &bytes) || !ir_ckd_add_i64(at, (int64_t)bytes, &at))
            return false;
    }
    for (int i = 0; i < n->n_inputs; i++)
        pc->piece[n->inputs[i]] = o;
    return true;
}

/* Bytes of v's type as a polynomial, rounded up to the alignment; false if the size is
 * not expressible (a symbol squared, too many terms). */
static bool value_size(Graph *g, ValueId v, Poly *out)
{
    const Type *t = &g->values[v].type;
    Dim n;
    size_t bytes;
    /* a symbol in two dims ([B, S, S]: attention scores) counts as its square S*S */
    if (!ir_shape_numel_g(g, &t->shape, &n) || !ir_ckd_bytes(t->dtype, n.c, &bytes))
        return false;
    *out = ir_poly_from_dim((Dim){(int64_t)bytes, n.syms});
    return ir_poly_round_up(out, MEMPLAN_ALIGN);
}

/* The error for a value whose size value_size cannot express: a symbol that appears in
 * two of its dims (seq in [B, seq, seq]) when its square would be a 17th symbol is named,
 * with the way out. */
static void size_error(const Graph *g, ValueId v, Diag *d)
{
    const Value *val = &g->values[v];
    uint32_t seen = 0, twice = 0;
    for (int i = 0; i < val->type.shape.rank; i++) {
        twice |= seen & val->type.shape.d[i].syms;
        seen |= val->type.shape.d[i].syms;
    }
    char type[256];
    ir_type_str(g, &val->type, type, sizeof type);
    int s = 0;
    while (s < g->n_syms && !(twice & (1u << s)))
        s++;
    if (s < g->n_syms)
        ir_diag_error(d, val->loc,
                      "memplan: the size of '%s' (%s) has the symbol '%s' squared, a derived "
                      "symbol beyond the %d that slimc holds; fix it: --dim %s=N (slimc run and "
                      "bench compile for the inputs' shapes instead)",
                      val->name ? val->name : "?", type, g->sym_names[s], IR_MAX_SYMS,
                      g->sym_names[s]);
    else
        ir_diag_error(d, val->loc, "memplan: the size of '%s' (%s) is not a sum of symbol products",
                      val->name ? val->name : "?", type);
}

static int64_t probe(const Poly *p)
{
    int64_t syms[IR_MAX_SYMS];
    for (int i = 0; i < IR_MAX_SYMS; i++)
        syms[i] = MEMPLAN_PROBE;
    return ir_poly_eval(p, syms);
}

static int cmp_slot(const void *a, const void *b)
{
    const Slot *x = a, *y = b;
    if (x->size_probe != y->size_probe)
        return x->size_probe > y->size_probe ? -1 : 1;
    return x->v < y->v ? -1 : x->v > y->v;
}

/* True when [cand, cand+size) stays clear of every placed slot whose lifetime overlaps s. */
static bool fits(const Slot *slots, int n, const Slot *s, const Poly *cand)
{
    Poly cend = *cand;
    if (!ir_poly_add(&cend, s->size))
        return false;
    for (int i = 0; i < (s->near ? s->n_near : n); i++) {
        const Slot *o = &slots[s->near ? s->near[i] : i];
        if (!o->placed || o == s || o->arena != s->arena || o->first > s->last ||
            s->first > o->last)
            continue;
        if (!ir_poly_le(&cend, &o->offset) && !ir_poly_le(&o->end, cand))
            return false;
    }
    return true;
}

/* Term-wise maximum: an upper bound of both for every symbol value >= 1. */
static bool poly_max(Poly *acc, const Poly *b)
{
    for (int j = 0; j < b->n; j++) {
        int i = 0;
        while (i < acc->n && acc->t[i].mask != b->t[j].mask)
            i++;
        if (i == acc->n) {
            if (acc->n == IR_POLY_TERMS)
                return false;
            acc->t[i].mask = b->t[j].mask;
            acc->t[i].c = 0;
            acc->n++;
        }
        if (b->t[j].c > acc->t[i].c)
            acc->t[i].c = b->t[j].c;
    }
    return true;
}

static bool place(Slot *slots, int n, Slot *s)
{
    /* Candidates: 0 and the end of every overlapping placed slot; lowest first. */
    Poly best = {0};
    int64_t best_probe = -1;
    Poly zero = ir_poly_const(0);
    if (fits(slots, n, s, &zero)) {
        s->offset = zero;
        return true;
    }
    Poly all_ends = zero; /* covers every end term by term: always fits */
    for (int i = 0; i < (s->near ? s->n_near : n); i++) {
        const Slot *o = &slots[s->near ? s->near[i] : i];
        if (!o->placed || o->arena != s->arena || o->first > s->last || s->first > o->last)
            continue;
        if (!poly_max(&all_ends, &o->end))
            return false;
        int64_t pr = probe(&o->end);
        if ((best_probe < 0 || pr < best_probe) && fits(slots, n, s, &o->end)) {
            best = o->end;
            best_probe = pr;
        }
    }
    if (best_probe < 0) {
        if (!fits(slots, n, s, &all_ends))
            return false;
        best = all_ends;
    }
    s->offset = best;
    return true;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Gives each slot the list of slots whose lifetimes overlap its own, so that placing it
 * looks at those alone: with a scan of every slot per candidate offset, planning a long
 * chain was quadratic. Sorted by first use, the slots overlapping a are the ones after it
 * that start before a ends; pairs are counted first and, past a bound linear in the slots
 * (a wide graph where everything is alive at once), the lists are not built and every slot
 * is scanned as before. Returns the buffer to free (NULL when not built). */
static int *find_overlaps(Slot *slots, int n)
{
    int64_t *by_first = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    int *deg = calloc((size_t)n + 1, sizeof(int));
    SLIMC_ASSERT(by_first && deg);
    for (int i = 0; i < n; i++)
        by_first[i] = (int64_t)slots[i].first << 32 | i;
    qsort(by_first, (size_t)n, sizeof by_first[0], cmp_i64);
    const int64_t max_pairs = 16 * (int64_t)n + (1 << 20);
    int64_t pairs = 0;
    for (int i = 0; i < n && pairs <= max_pairs; i++) {
        const Slot *a = &slots[by_first[i] & 0xffffffff];
        for (int j = i + 1; j < n && (by_first[j] >> 32) <= a->last && pairs <= max_pairs; j++) {
            deg[by_first[i] & 0xffffffff]++;
            deg[by_first[j] & 0xffffffff]++;
            pairs++;
        }
    }
    int *buf = NULL;
    if (pairs <= max_pairs) {
        buf = malloc(sizeof(int) * (size_t)(2 * pairs + 1));
        SLIMC_ASSERT(buf);
        int at = 0;
        for (int i = 0; i < n; i++) {
            slots[i].near = buf + at;
            slots[i].n_near = 0;
            at += deg[i];
        }
        for (int i = 0; i < n; i++) {
            int ia = (int)(by_first[i] & 0xffffffff);
            for (int j = i + 1; j < n && (by_first[j] >> 32) <= slots[ia].last; j++) {
                int ib = (int)(by_first[j] & 0xffffffff);
                ((int *)slots[ia].near)[slots[ia].n_near++] = ib;
                ((int *)slots[ib].near)[slots[ib].n_near++] = ia;
            }
        }
        /* in slot order, as the full scan visits them: ties between candidate offsets
         * fall the same way */
        for (int i = 0; i < n; i++)
            qsort((int *)slots[i].near, (size_t)slots[i].n_near, sizeof(int), cmp_int);
    }
    free(by_first);
    free(deg);
    return buf;
}

bool pass_memplan(Graph *g, const PassArgs *args, Diag *d)
{
    (void)args;
    int nv = g->n_values;
    int *first = malloc(sizeof(int) * (size_t)(nv ? nv : 1));
    int *last = malloc(sizeof(int) * (size_t)(nv ? nv : 1));
    Slot *slots = malloc(sizeof(Slot) * (size_t)(nv ? nv : 1));
    Pieces pc = {malloc(sizeof(ValueId) * (size_t)(nv ? nv : 1)),
                 malloc(sizeof(int64_t) * (size_t)(nv ? nv : 1))};
    bool ok = true;
    if (!first || !last || !slots || !pc.piece || !pc.at) {
        free(first), free(last), free(slots), free(pc.piece), free(pc.at);
        ir_diag_error(d, (SrcLoc){0}, "memplan: out of memory");
        return false;
    }
    for (int v = 0; v < nv; v++) {
        first[v] = -1;
        last[v] = -1;
        pc.piece[v] = IR_NONE;
        pc.at[v] = 0;
        g->values[v].planned = false;
        g->values[v].offset = ir_poly_const(0);
        g->values[v].alias_of = IR_NONE;
    }
    for (NodeId i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead)
            concat_in_place(g, i, &pc);

    /* Lifetimes, charged to the storage root of each value used. */
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int k = 0; k < n->n_outputs; k++) {
            ValueId o = n->outputs[k];
            if (o == IR_NONE)
                continue;
            int64_t off;
            ValueId r = storage_root(g, o, &pc, &off);
            if (r != o) {
                g->values[o].alias_of = r;
                g->values[o].offset = ir_poly_const(off);
            }
            if (first[r] < 0)
                first[r] = i;
            if (last[r] < i)
                last[r] = i;
        }
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] != IR_NONE) {
                ValueId r = storage_root(g, n->inputs[k], &pc, NULL);
                if (last[r] < i)
                    last[r] = i;
            }
        for (int k = 0; k < n->n_epilogue; k++)
            if (n->epilogue[k].operand != IR_NONE) {
                ValueId r = storage_root(g, n->epilogue[k].operand, &pc, NULL);
                if (last[r] < i)
                    last[r] = i;
            }
    }

    /* the squares of symbols (S*S) that inputs' and outputs' sizes need, for codegen */
    for (int v = 0; v < nv; v++) {
        Dim ne;
        if (g->values[v].type.shape.rank > 0 && !ir_shape_static(&g->values[v].type.shape))
            (void)ir_shape_numel_g(g, &g->values[v].type.shape, &ne);
    }
    const bool mixed = ir_graph_mixed(g);
    int ns = 0;
    for (int v = 0; v < nv; v++) {
        const Value *val = &g->values[v];
        if (val->kind != IR_VALUE_TEMP || val->is_output || first[v] < 0 ||
            val->alias_of != IR_NONE)
            continue;
        Slot *s = &slots[ns];
        s->v = v;
        s->first = first[v];
        s->last = last[v];
        s->arena = mixed && g->nodes[val->producer].device == IR_DEVICE_CPU;
        s->placed = false;
        if (!value_size(g, v, &s->size)) {
            size_error(g, v, d);
            ok = false;
            continue;
        }
        s->size_probe = probe(&s->size);
        ns++;
    }
    qsort(slots, (size_t)ns, sizeof(Slot), cmp_slot);
    for (int i = 0; i < ns; i++)
        slots[i].near = NULL;
    int *near = find_overlaps(slots, ns);

    Poly totals[2] = {ir_poly_const(0), ir_poly_const(0)};
    for (int i = 0; ok && i < ns; i++) {
        Slot *s = &slots[i];
        if (!place(slots, ns, s)) {
            ir_diag_error(d, g->values[s->v].loc, "memplan: cannot place '%s' (too many symbols)",
                          g->values[s->v].name ? g->values[s->v].name : "?");
            ok = false;
            break;
        }
        s->end = s->offset;
        if (!ir_poly_add(&s->end, s->size) || !poly_max(&totals[s->arena], &s->end)) {
            ir_diag_error(d, g->values[s->v].loc, "memplan: arena size of '%s' has too many terms",
                          g->values[s->v].name ? g->values[s->v].name : "?");
            ok = false;
            break;
        }
        s->placed = true;
        g->values[s->v].planned = true;
        g->values[s->v].offset = s->offset;
    }
    /* Offsets end inside the arena: bounding its size (symbols at 1) bounds them all. */
    int64_t least, least_host;
    if (ok &&
        (!ir_poly_eval_ckd(&totals[0], NULL, &least) || least > IR_MAX_TENSOR_BYTES ||
         !ir_poly_eval_ckd(&totals[1], NULL, &least_host) || least_host > IR_MAX_TENSOR_BYTES)) {
        ir_diag_error(d, (SrcLoc){g->source, 0, 0},
                      "the model's working memory overflows (more than 2^62 bytes)");
        ok = false;
    }
    g->planned = ok;
    g->arena_bytes = ok ? totals[0] : ir_poly_const(0);
    g->host_arena_bytes = ok ? totals[1] : ir_poly_const(0);
    free(near);
    free(first);
    free(last);
    free(slots);
    free(pc.piece);
    free(pc.at);
    return ok;
}
