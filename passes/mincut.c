/* Exact s-t minimum cut by Dinic's algorithm on double capacities, and the placement
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

/* Levels of the residual graph from s (-1: unreached) by breadth-first search; whether t
 * was reached. */
static bool bfs(McGraph *g, int s, int t, double eps, int *level, int *queue)
{
    for (int i = 0; i < g->n; i++)
        level[i] = -1;
    int qh = 0, qt = 0;
    level[s] = 0;
    queue[qt++] = s;
    while (qh < qt) {
        int u = queue[qh++];
        for (int k = g->head[u]; k >= 0; k = g->e[k].next)
            if (g->e[k].cap > eps && level[g->e[k].to] < 0) {
                level[g->e[k].to] = level[u] + 1;
                queue[qt++] = g->e[k].to;
            }
    }
    return level[t] >= 0;
}

/* One phase: augmenting paths along the level graph until none is left (a blocking flow).
 * it[u] is the next edge to try out of u; path[] holds the edges from s to the current
 * node. A node found to lead nowhere leaves the level graph (level -1). */
static void blocking_flow(McGraph *g, int s, int t, double eps, int *level, int *it, int *path)
{
    for (int i = 0; i < g->n; i++)
        it[i] = g->head[i];
    int depth = 0, u = s;
    for (;;) {
        if (u == t) {
            double f = INFINITY;
            for (int k = 0; k < depth; k++)
                f = fmin(f, g->e[path[k]].cap);
            for (int k = 0; k < depth; k++) {
                g->e[path[k]].cap -= f;
                g->e[path[k] ^ 1].cap += f;
            }
            depth = 0;
            u = s;
            continue;
        }
        int k = it[u];
        while (k >= 0 && !(g->e[k].cap > eps && level[g->e[k].to] == level[u] + 1))
            k = g->e[k].next;
        it[u] = k;
        if (k >= 0) {
            path[depth++] = k;
            u = g->e[k].to;
            continue;
        }
        if (u == s)
            return;
        level[u] = -1; /* a dead end: retreat to the edge's tail, which tries its next */
        u = g->e[path[--depth] ^ 1].to;
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
    int *level = ir_arena_alloc(scratch, sizeof(int) * (size_t)g->n);
    int *queue = ir_arena_alloc(scratch, sizeof(int) * (size_t)g->n);
    int *it = ir_arena_alloc(scratch, sizeof(int) * (size_t)g->n);
    while (bfs(g, s, t, eps, level, queue))
        blocking_flow(g, s, t, eps, level, it, queue);
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

double mc_place_cost(const McPlace *p, const bool *on_gpu)
{
    double total = 0;
    for (int i = 0; i < p->n_nodes; i++)
        total += p->cost[i][on_gpu[i] ? 1 : 0];
    for (int k = 0; k < p->n_values; k++) {
        const McPlaceValue *v = &p->values[k];
        bool made_on_gpu = v->producer >= 0 && on_gpu[v->producer];
        bool read_on[2] = {v->read_on_cpu, false};
        for (int j = 0; j < v->n_readers; j++)
            read_on[on_gpu[v->readers[j]] ? 1 : 0] = true;
        if (read_on[made_on_gpu ? 0 : 1])
            total += v->transfer;
    }
    return total;
}

double mc_place_solve(const McPlace *p, bool *on_gpu)
{
    const int n = p->n_nodes, s = n, t = n + 1;
    McGraph *g = mc_new(n + 2 + 2 * p->n_values);
    int aux = n + 2;
    for (int i = 0; i < n; i++) {
        mc_edge(g, i, t, p->cost[i][0]);
        mc_edge(g, s, i, p->cost[i][1]);
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
