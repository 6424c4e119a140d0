/* The exact minimum cut (passes/mincut.c) against brute force: random graphs of up to 12
 * nodes (every s-t cut enumerated), and random placement problems of up to 16 nodes (every
 * CPU/GPU assignment enumerated with the place pass's cost function: node costs, plus each
 * value copied once per direction it crosses) with infinite costs for pins and missing
 * kernels. Then infinite capacities, ties, and a 100k-node chain (no recursion). */
#include "passes/mincut.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;
static uint32_t rnd(void) /* xorshift64* */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}
static int rint_below(int n)
{
    return (int)(rnd() % (uint32_t)n);
}
static double rcost(void) /* spread over three decades, as node times are */
{
    return pow(10.0, (double)rnd() / 4294967296.0 * 3 - 2);
}
static bool close(double a, double b)
{
    if (isinf(a) || isinf(b))
        return a == b;
    return fabs(a - b) <= 1e-9 * fmax(1, fmax(fabs(a), fabs(b)));
}

/* ---- plain s-t cuts ---- */

typedef struct Edge {
    int u, v;
    double cap;
} Edge;

static double cut_of(const Edge *e, int m, unsigned s_side)
{
    double c = 0;
    for (int k = 0; k < m; k++)
        if ((s_side >> e[k].u & 1) && !(s_side >> e[k].v & 1))
            c += e[k].cap;
    return c;
}

START_TEST(random_cuts_equal_brute_force)
{
    rng_state = 0x9e3779b97f4a7c15ull;
    for (int trial = 0; trial < 400; trial++) {
        const int n = 2 + rint_below(11), s = 0, t = n - 1;
        const int m = rint_below(4 * n);
        Edge e[64];
        McGraph *g = mc_new(n);
        for (int k = 0; k < m; k++) {
            e[k].u = rint_below(n);
            e[k].v = rint_below(n);
            int r = rint_below(10);
            e[k].cap = r == 0 ? INFINITY : r == 1 ? 0 : rcost();
            mc_edge(g, e[k].u, e[k].v, e[k].cap);
        }
        double best = INFINITY;
        for (unsigned side = 0; side < 1u << n; side++)
            if ((side >> s & 1) && !(side >> t & 1))
                best = fmin(best, cut_of(e, m, side));
        bool src[16];
        double got = mc_solve(g, s, t, src);
        ck_assert_msg(close(got, best), "trial %d: min cut %.17g, brute force %.17g", trial, got,
                      best);
        ck_assert(src[s] && !src[t]);
        unsigned side = 0;
        for (int i = 0; i < n; i++)
            side |= (unsigned)src[i] << i;
        ck_assert_msg(close(cut_of(e, m, side), best), "trial %d: the side's cut %.17g != %.17g",
                      trial, cut_of(e, m, side), best);
        mc_free(g);
    }
}
END_TEST

START_TEST(infinite_capacities)
{
    /* s -> a -> t with a's way out finite: 5; then an infinite path: no finite cut */
    McGraph *g = mc_new(3);
    mc_edge(g, 0, 1, INFINITY);
    mc_edge(g, 1, 2, 5);
    bool side[3];
    ck_assert(close(mc_solve(g, 0, 2, side), 5));
    ck_assert(side[0] && side[1] && !side[2]);
    mc_edge(g, 1, 2, INFINITY);
    ck_assert(isinf(mc_solve(g, 0, 2, side)));
    mc_free(g);
    /* infinite both ways around a finite bottleneck */
    g = mc_new(4);
    mc_edge(g, 0, 1, INFINITY);
    mc_edge(g, 1, 2, 1e-9);
    mc_edge(g, 2, 3, INFINITY);
    mc_edge(g, 0, 3, 1e9);
    ck_assert(close(mc_solve(g, 0, 3, NULL), 1e9 + 1e-9));
    mc_free(g);
}
END_TEST

START_TEST(long_chain)
{
    /* 100k nodes in a line: the search must not recurse; the cut is the smallest link */
    const int n = 100000;
    McGraph *g = mc_new(n);
    for (int i = 0; i + 1 < n; i++)
        mc_edge(g, i, i + 1, i == 77777 ? 0.5 : 1.0 + (double)(i % 7));
    bool *side = malloc((size_t)n);
    ck_assert(close(mc_solve(g, 0, n - 1, side), 0.5));
    ck_assert(side[77777] && !side[77778]);
    free(side);
    mc_free(g);
}
END_TEST

/* ---- the placement problem ---- */

typedef struct Problem {
    int n;
    double cost[16][2];
    McPlaceValue v[40];
    int readers[40][16];
    int n_values;
} Problem;

/* A random DAG of n nodes: each makes one or two values read by later nodes; graph inputs
 * read by some; some values are graph outputs. Costs in [0.01, 10), some infinite (a
 * missing kernel, or a pin to the other device), transfers likewise spread, some zero. */
static void random_problem(Problem *p, int n)
{
    memset(p, 0, sizeof *p);
    p->n = n;
    for (int i = 0; i < n; i++) {
        p->cost[i][0] = rcost();
        p->cost[i][1] = rcost() * (rint_below(2) ? 0.05 : 1); /* often much faster on the GPU */
        int r = rint_below(12);
        if (r == 0)
            p->cost[i][1] = INFINITY;
        else if (r == 1)
            p->cost[i][0] = INFINITY;
        if (rint_below(60) == 0)
            p->cost[i][0] = p->cost[i][1] = INFINITY; /* runs nowhere: infeasible */
    }
    const int n_inputs = 1 + rint_below(2);
    for (int k = -n_inputs; k < n; k++) {
        int outs = k < 0 ? 1 : 1 + (rint_below(4) == 0);
        for (int o = 0; o < outs && p->n_values < 40; o++) {
            McPlaceValue *v = &p->v[p->n_values];
            int *rd = p->readers[p->n_values];
            v->producer = k < 0 ? -1 : k;
            v->readers = rd;
            for (int j = (k < 0 ? 0 : k + 1); j < n; j++)
                if (rint_below(3) == 0)
                    rd[v->n_readers++] = j;
            if (v->n_readers && rint_below(5) == 0)
                rd[v->n_readers++] = rd[0]; /* read twice by one node */
            v->read_on_cpu = k >= 0 && (v->n_readers == 0 || rint_below(6) == 0);
            v->transfer = rint_below(8) == 0 ? 0 : rcost();
            p->n_values++;
        }
    }
}

static McPlace as_mc(const Problem *p)
{
    return (McPlace){p->n, (const double(*)[2])p->cost, p->n_values, p->v};
}

START_TEST(placement_equals_brute_force)
{
    rng_state = 0x2545f4914f6cdd1dull;
    int infeasible = 0, split = 0;
    for (int trial = 0; trial < 600; trial++) {
        Problem p;
        random_problem(&p, 1 + rint_below(16));
        McPlace mp = as_mc(&p);
        double best = INFINITY;
        bool a[16];
        for (unsigned m = 0; m < 1u << p.n; m++) {
            for (int i = 0; i < p.n; i++)
                a[i] = m >> i & 1;
            best = fmin(best, mc_place_cost(&mp, a));
        }
        bool got[16];
        double total = mc_place_solve(&mp, got);
        ck_assert_msg(close(total, best), "trial %d (%d nodes): cut %.17g, brute force %.17g",
                      trial, p.n, total, best);
        if (isinf(best)) {
            infeasible++;
            continue;
        }
        ck_assert(close(mc_place_cost(&mp, got), best));
        int on_gpu = 0;
        for (int i = 0; i < p.n; i++)
            on_gpu += got[i];
        split += on_gpu > 0 && on_gpu < p.n;
    }
    /* the cases cover what they should: infeasible ones and true splits */
    ck_assert_int_gt(infeasible, 0);
    ck_assert_int_gt(split, 100);
}
END_TEST

/* The cost function itself on a hand-made case: a copy is paid once per direction, however
 * many readers on the other device; an input lives on the CPU; an output is read there. */
START_TEST(placement_cost_function)
{
    Problem p = {.n = 3};
    for (int i = 0; i < 3; i++) {
        p.cost[i][0] = 10;
        p.cost[i][1] = 1;
    }
    p.readers[0][0] = 0;
    p.v[0] = (McPlaceValue){-1, p.readers[0], 1, false, 5}; /* x -> node 0 */
    p.readers[1][0] = 1;
    p.readers[1][1] = 2;
    p.v[1] = (McPlaceValue){0, p.readers[1], 2, true, 7}; /* node 0 -> 1, 2, output */
    p.n_values = 2;
    McPlace mp = as_mc(&p);
    bool cpu[3] = {0, 0, 0}, gpu[3] = {1, 1, 1}, mid[3] = {0, 1, 1}, mixed[3] = {1, 0, 1};
    ck_assert(close(mc_place_cost(&mp, cpu), 30));
    ck_assert(close(mc_place_cost(&mp, gpu), 3 + 5 + 7));    /* x up, the output down */
    ck_assert(close(mc_place_cost(&mp, mid), 10 + 2 + 7));   /* one copy for two readers */
    ck_assert(close(mc_place_cost(&mp, mixed), 12 + 5 + 7)); /* x up, the value down once */
    bool got[3];
    ck_assert(close(mc_place_solve(&mp, got), 15));
    ck_assert(got[0] && got[1] && got[2]);
}
END_TEST

START_TEST(ties_stay_on_the_cpu)
{
    /* equal costs and no copy either way: the CPU (no move that does not pay) */
    Problem p = {.n = 2};
    p.cost[0][0] = p.cost[0][1] = 1;
    p.cost[1][0] = p.cost[1][1] = 2;
    McPlace mp = as_mc(&p);
    bool got[2] = {true, true};
    ck_assert(close(mc_place_solve(&mp, got), 3));
    ck_assert(!got[0] && !got[1]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mincut");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, random_cuts_equal_brute_force);
    tcase_add_test(tc, infinite_capacities);
    tcase_add_test(tc, long_chain);
    tcase_add_test(tc, placement_equals_brute_force);
    tcase_add_test(tc, placement_cost_function);
    tcase_add_test(tc, ties_stay_on_the_cpu);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
