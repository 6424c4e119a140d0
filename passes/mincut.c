/* Exact s-t minimum cut by push-relabel on double capacities, and the placement
 * problem's construction (passes/mincut.h). Memory comes from the graph's own arena, freed
 * at once by mc_free.
 *
 * Infinite capacities become BIG = 2 x (sum of finite capacities) + 1: a finite cut never
 * reaches it, so no flow can fill an infinite edge unless every cut is infinite. The search
 * is iterative (no recursion), so that a chain of 100k nodes cannot overflow the stack. */
#include "passes/mincut.h"

#include "ir/arena.h"
#include "ir/diag.h"

#include <math.h>
#include <string.h>

typedef struct McEdge {
    int to;
    int next;   /* the next edge out of the same node, -1 at the end */
    double cap; /* residual capacity */
} McEdge;

struct McGraph {
    Arena *arena;
    int n;
    int *head;    /* [n] first edge out of each node, -1: none */
    McEdge *e;    /* [n_edges]; edge 2k is the k-th mc_edge, 2k+1 its reverse */
    double *orig; /* [n_edges / 2] the capacities as given */
    int n_edges, cap_edges;
    double finite_sum; /* of the finite capacities */
};

McGraph *mc_new(int n)
{
    SLIMC_ASSERT(n >= 2);
    Arena *a = ir_arena_new();
    McGraph *g = ir_arena_alloc(a, sizeof *g);
    g->arena = a;
    g->n = n;
    g->head = ir_arena_alloc(a, sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++)
        g->head[i] = -1;
    return g;
}

void mc_free(McGraph *g)
{
    if (g)
        ir_arena_free(g->arena);
}

static void add_half(McGraph *g, int u, int v)
{
    McEdge *e = &g->e[g->n_edges];
    e->to = v;
    e->next = g->head[u];
    g->head[u] = g->n_edges++;
}

void mc_edge(McGraph *g, int u, int v, double cap)
{
    SLIMC_ASSERT(u >= 0 && u < g->n && v >= 0 && v < g->n && cap >= 0); /* NaN fails too */
    if (cap == 0 || u == v)
        return;
    if (g->n_edges + 2 > g->cap_edges) {
        int ncap = g->cap_edges ? 2 * g->cap_edges : 64;
        g->e = ir_arena_grow(g->arena, g->e, sizeof(McEdge) * (size_t)g->cap_edges,
                             sizeof(McEdge) * (size_t)ncap);
        g->orig = ir_arena_grow(g->arena, g->orig, sizeof(double) * (size_t)(g->cap_edges / 2),
                                sizeof(double) * (size_t)(ncap / 2));
        g->cap_edges = ncap;
    }
    g->orig[g->n_edges / 2] = cap;
    if (isfinite(cap))
        g->finite_sum += cap;
    add_half(g, u, v);
    add_half(g, v, u);
}

/* Push-relabel's state. label[v] is a lower bound of v's distance to t in the residual
 * graph (n: it cannot reach t); every node with a label below n is in the bucket of its
 * label, so that a label nobody holds any more (a gap) lifts every node above it to n at
 * once: none of them can reach t. */
typedef struct Flow {
    McGraph *g;
    int s, t, n;
    double eps;
    int *label, *cur; /* cur: the next edge to try out of each node */
    double *excess;
    int *ring; /* the active nodes, first in first out, each at most once */
    bool *queued;
    int qh, qn;
    int *bhead, *bnext, *bprev; /* [n] the buckets: doubly linked lists by label */
    int max_label;              /* no node has a label in (max_label, n) */
} Flow;

static void bucket_add(Flow *f, int v)
{
    const int l = f->label[v];
    if (l >= f->n)
        return;
    f->bprev[v] = -1;
    f->bnext[v] = f->bhead[l];
    if (f->bhead[l] >= 0)
        f->bprev[f->bhead[l]] = v;
    f->bhead[l] = v;
    if (l > f->max_label)
        f->max_label = l;
}

static void bucket_remove(Flow *f, int v)
{
    const int l = f->label[v];
    if (l >= f->n)
        return;
    if (f->bprev[v] >= 0)
        f->bnext[f->bprev[v]] = f->bnext[v];
    else
        f->bhead[l] = f->bnext[v];
    if (f->bnext[v] >= 0)
        f->bprev[f->bnext[v]] = f->bprev[v];
}

static void activate(Flow *f, int v)
{
    if (!f->queued[v] && v != f->s && v != f->t && f->label[v] < f->n && f->excess[v] > f->eps) {
        f->queued[v] = true;
        f->ring[(f->qh + f->qn++) % f->n] = v;
    }
}

/* Exact labels (breadth-first from t over residual edges), the buckets again, every
 * current edge back to the first, the active nodes queued again. */
static void global_relabel(Flow *f)
{
    McGraph *g = f->g;
    const int n = f->n;
    for (int i = 0; i < n; i++) {
        f->label[i] = n;
        f->cur[i] = g->head[i];
        f->bhead[i] = -1;
        f->queued[i] = false;
    }
    int *queue = f->ring, qh = 0, qt = 0;
    f->label[f->t] = 0;
    queue[qt++] = f->t;
    while (qh < qt) {
        int y = queue[qh++];
        for (int k = g->head[y]; k >= 0; k = g->e[k].next) {
            int x = g->e[k].to; /* edge k^1 is x -> y */
            if (f->label[x] == n && x != f->s && g->e[k ^ 1].cap > f->eps) {
                f->label[x] = f->label[y] + 1;
                queue[qt++] = x;
            }
        }
    }
    f->max_label = 0;
    for (int i = 0; i < n; i++)
        bucket_add(f, i);
    f->qh = f->qn = 0;
    for (int i = 0; i < n; i++)
        activate(f, i);
}

/* u has excess and no edge to push it along: one above the lowest neighbour it can push
 * to, or n; a gap left behind lifts everything above it (u included) to n. */
static void relabel(Flow *f, int u)
{
    McGraph *g = f->g;
    const int n = f->n, old = f->label[u];
    int low = 2 * n;
    for (int j = g->head[u]; j >= 0; j = g->e[j].next)
        if (g->e[j].cap > f->eps && f->label[g->e[j].to] < low)
            low = f->label[g->e[j].to];
    bucket_remove(f, u);
    f->cur[u] = g->head[u];
    if (f->bhead[old] < 0) { /* a gap at old */
        for (int l = old + 1; l <= f->max_label; l++) {
            for (int v = f->bhead[l]; v >= 0; v = f->bnext[v])
                f->label[v] = n;
            f->bhead[l] = -1;
        }
        f->max_label = old - 1;
        f->label[u] = n;
        return;
    }
    f->label[u] = low + 1 < n ? low + 1 : n;
    bucket_add(f, u);
}

/* The first phase of push-relabel (FIFO, with the gap heuristic and a global relabeling
 * every n relabels): a maximum preflow. Excess that cannot reach t stays where it is (label
 * n): the minimum cut needs no more. */
static void max_preflow(McGraph *g, int s, int t, double eps, Arena *a)
{
    const size_t n = (size_t)g->n;
    Flow f = {.g = g, .s = s, .t = t, .n = g->n, .eps = eps};
    f.label = ir_arena_alloc(a, sizeof(int) * n);
    f.cur = ir_arena_alloc(a, sizeof(int) * n);
    f.ring = ir_arena_alloc(a, sizeof(int) * n);
    f.queued = ir_arena_alloc(a, n);
    f.excess = ir_arena_alloc(a, sizeof(double) * n);
    f.bhead = ir_arena_alloc(a, sizeof(int) * n);
    f.bnext = ir_arena_alloc(a, sizeof(int) * n);
    f.bprev = ir_arena_alloc(a, sizeof(int) * n);
    for (int k = g->head[s]; k >= 0; k = g->e[k].next) {
        const double c = g->e[k].cap;
        g->e[k].cap = 0;
        g->e[k ^ 1].cap += c;
        f.excess[g->e[k].to] += c;
    }
    global_relabel(&f);
    long relabels = 0;
    while (f.qn > 0) {
        const int u = f.ring[f.qh];
        f.qh = (f.qh + 1) % f.n;
        f.qn--;
        f.queued[u] = false;
        while (f.excess[u] > eps && f.label[u] < f.n) {
            const int k = f.cur[u];
            if (k < 0) {
                relabel(&f, u);
                if (++relabels % f.n == 0) {
                    global_relabel(&f); /* queues u again if it still has excess */
                    break;
                }
                continue;
            }
            McEdge *e = &g->e[k];
            const int v = e->to;
            if (e->cap > eps && f.label[u] == f.label[v] + 1) {
                const double d = f.excess[u] < e->cap ? f.excess[u] : e->cap;
                e->cap -= d;
                g->e[k ^ 1].cap += d;
                f.excess[u] -= d;
                f.excess[v] += d;
                activate(&f, v);
                if (e->cap > eps)
                    continue; /* u is empty now */
            }
            f.cur[u] = e->next;
        }
    }
}

double mc_solve(McGraph *g, int s, int t, bool *source_side)
{
    SLIMC_ASSERT(s >= 0 && s < g->n && t >= 0 && t < g->n && s != t);
    const double big = 2 * g->finite_sum + 1;
    const double eps = 1e-12 * g->finite_sum;
    for (int k = 0; k < g->n_edges; k += 2) {
        double c = g->orig[k / 2];
        g->e[k].cap = isfinite(c) ? c : big;
        g->e[k + 1].cap = 0;
    }
    Arena *scratch = ir_arena_new();
    max_preflow(g, s, t, eps, scratch);
    int *queue = ir_arena_alloc(scratch, sizeof(int) * (size_t)g->n);
    /* the sink side: what still reaches t in the residual graph. Of the minimum cuts this
     * is the one with the largest source side: a tie stays on the source's side. */
    bool *sink = ir_arena_alloc(scratch, (size_t)g->n);
    int qh = 0, qt = 0;
    sink[t] = true;
    queue[qt++] = t;
    while (qh < qt) {
        int y = queue[qh++];
        for (int k = g->head[y]; k >= 0; k = g->e[k].next) {
            int x = g->e[k].to; /* edge k^1 is x -> y */
            if (!sink[x] && g->e[k ^ 1].cap > eps) {
                sink[x] = true;
                queue[qt++] = x;
            }
        }
    }
    SLIMC_ASSERT(!sink[s]); /* the flow is maximal */
    double cut = 0;
    for (int k = 0; k < g->n_edges; k += 2)
        if (!sink[g->e[k + 1].to] && sink[g->e[k].to])
            cut += g->orig[k / 2];
    if (source_side)
        for (int i = 0; i < g->n; i++)
            source_side[i] = !sink[i];
    ir_arena_free(scratch);
    return cut;
}

/* ---- the placement problem ---- */

double mc_place_value_cost(const McPlace *p, int k, const bool *on_gpu)
{
    const McPlaceValue *v = &p->values[k];
    bool made_on_gpu = v->producer >= 0 && on_gpu[v->producer];
    bool read_on[2] = {v->read_on_cpu, false};
    for (int j = 0; j < v->n_readers; j++)
        read_on[on_gpu[v->readers[j]] ? 1 : 0] = true;
    return read_on[made_on_gpu ? 0 : 1] ? v->transfer : 0;
}

double mc_place_cost(const McPlace *p, const bool *on_gpu)
{
    double total = 0;
    for (int i = 0; i < p->n_nodes; i++)
        total += p->cost[i][on_gpu[i] ? 1 : 0];
    for (int k = 0; k < p->n_values; k++)
        total += mc_place_value_cost(p, k, on_gpu);
    return total;
}

double mc_place_solve(const McPlace *p, bool *on_gpu)
{
    const int n = p->n_nodes, s = n, t = n + 1;
    McGraph *g = mc_new(n + 2 + 2 * p->n_values);
    int aux = n + 2;
    /* Each node pays the cheaper of its costs whatever it does: only the difference goes
     * into the cut (an edge to the dearer side). Then flow moves only where nodes disagree
     * through copies, not across the whole graph (a 50k-node chain that would all rather
     * be on the CPU has no flow to push at all). */
    for (int i = 0; i < n; i++) {
        const double cpu = p->cost[i][0], gpu = p->cost[i][1];
        const double both = isinf(cpu) && isinf(gpu) ? 0 : fmin(cpu, gpu);
        mc_edge(g, i, t, cpu - both);
        mc_edge(g, s, i, gpu - both);
    }
    for (int k = 0; k < p->n_values; k++) {
        const McPlaceValue *v = &p->values[k];
        const int prod = v->producer >= 0 ? v->producer : s;
        const int u = aux++, w = aux++;
        if (v->transfer == 0)
            continue; /* free both ways: nothing to pay */
        /* to the GPU: paid when prod is on the CPU side and a reader on the GPU side */
        mc_edge(g, prod, u, v->transfer);
        for (int j = 0; j < v->n_readers; j++)
            mc_edge(g, u, v->readers[j], INFINITY);
        /* back to the CPU: paid when prod is on the GPU and a reader (or the caller) on the
         * CPU; a graph input is on the CPU, so it never pays this */
        if (v->producer < 0)
            continue;
        for (int j = 0; j < v->n_readers; j++)
            mc_edge(g, v->readers[j], w, INFINITY);
        if (v->read_on_cpu)
            mc_edge(g, s, w, INFINITY);
        mc_edge(g, w, prod, v->transfer);
    }
    bool *side = ir_arena_alloc(g->arena, sizeof(bool) * (size_t)(aux > 2 ? aux : 2));
    double cut = mc_solve(g, s, t, side);
    for (int i = 0; i < n; i++)
        on_gpu[i] = !side[i];
    mc_free(g);
    if (!isfinite(cut))
        return INFINITY;
    /* the cut's capacity is the total; computed again from the assignment, so that what
     * the caller reports and what it checks agree to the last bit */
    return mc_place_cost(p, on_gpu);
}
