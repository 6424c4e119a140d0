/* place: each node on the CPU or the GPU, whichever makes the whole model fastest,
 * transfers included (passes/place.h has the arguments; docs/placement.md the rest).
 *
 * The predicted time of every node on each device comes from the cost model
 * (passes/cost_model.h) and the profile at g->place.profile (the built-in one when none);
 * a value read on the device its producer is not on is copied once per direction. With two
 * devices the assignment of least total is a minimum s-t cut (passes/mincut.h builds it:
 * source = CPU, sink = GPU). Pins (Node.pinned) and ops a device has no kernel for
 * (place_check) make the other device's cost infinite. Views (reshape, flatten...) are no
 * node of the cut: they go where the value they view is made.
 *
 * A GPU memory budget (gpu_memory_mb, else the profile's GPU memory) bounds the weights of
 * the GPU's nodes plus an estimate of its arena (the peak of the bytes live on the GPU in
 * graph order). When the cut's answer is over it, the cut is solved again with each
 * unpinned node's GPU cost raised by lambda x (its weights and outputs, in bytes), lambda
 * raised until it fits and then bisected down (a Lagrangian relaxation: the budget makes
 * the problem a knapsack, which no cut solves exactly); then each node it moved is tried
 * back on the GPU, greedily. The nodes that end off the GPU are PLACE_WHY_BUDGET.
 *
 * The pass then records what it decided (Graph.place.report) and inserts the transfer
 * nodes (place_insert_transfers). Run again, it first takes out the transfers an earlier
 * run put in, so the graph it decides on is the model's. */
#include "passes/place.h"

#include "passes/cost_model.h"
#include "passes/mincut.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- which device can run a node ---- */

static PlaceCheckFn the_check;

void place_set_check(PlaceCheckFn fn)
{
    __atomic_store_n(&the_check, fn, __ATOMIC_RELEASE);
}

const char *place_check(const Graph *g, const Node *n, Device dev)
{
    PlaceCheckFn fn = __atomic_load_n(&the_check, __ATOMIC_ACQUIRE);
    if (fn)
        return fn(g, n, dev);
    const unsigned need = dev == IR_DEVICE_CUDA ? IR_BE_CUDA : IR_BE_C;
    if (ir_ops[n->op].backends & need)
        return NULL;
    return ir_arena_printf(g->arena, "no %s kernel for '%s'",
                           dev == IR_DEVICE_CUDA ? "CUDA" : "CPU", ir_ops[n->op].name);
}

const char *place_why_name(PlaceWhy why)
{
    switch (why) {
    case PLACE_WHY_COST: return "cost";
    case PLACE_WHY_PIN: return "pin";
    case PLACE_WHY_NO_KERNEL: return "no kernel";
    case PLACE_WHY_BUDGET: return "memory budget";
    case PLACE_WHY_VIEW: return "view";
    case PLACE_WHY_FIXED: return "fixed";
    }
    return "?";
}

/* ---- the problem: the cut's nodes and values, built from the graph ---- */

/* Prob.unit[i] of a live node: its index among the cut's nodes, or what a view follows. */
enum { UNIT_DEAD = -3, UNIT_CONST = -2, UNIT_INPUT = -1 };

typedef struct Prob {
    Graph *g;
    Arena *a; /* scratch, freed by the caller */
    const CostProfile *p;
    int64_t syms[IR_MAX_SYMS];
    int *unit;                 /* [n_nodes] see above; a view: its input's producer's */
    int n_units;               /* the cut's nodes: the live nodes but views */
    NodeId *unit_node;         /* [n_units] */
    double (*ms)[2];           /* [n_units] predicted CPU, GPU ms (INFINITY: cannot run there) */
    const char *(*why_not)[2]; /* [n_units] why it cannot, or NULL */
    double *mem;               /* [n_units] its weights' and outputs' bytes (the budget) */
    double (*cost)[2];         /* [n_units] what the cut sees: ms, pins, the penalty */
    ValueId *root;             /* [n_values] the value a view's output views; else itself */
    int *vindex;               /* [n_values] a root's index among the cut's values, or -1 */
    ValueId *value_id;         /* [n_cut_values] */
    int *touch_start, *touch;  /* [n_units + 1], [...]: the cut's values each node makes
                                * or reads */
    bool *seen;                /* [n_values] gpu_bytes' scratch */
    double *delta;             /* [n_nodes + 2] gpu_bytes' scratch */
    McPlaceValue *values;
    McPlace mp;
} Prob;

static double clamp_transfer(double ms)
{
    /* a profile without a GPU has no link: its copies are not costed (nothing goes there
     * unless pinned) */
    return isfinite(ms) ? ms : 0;
}

/* The cut's nodes, their costs on each device and the values between them. */
static void prob_build(Prob *pr, Graph *g, const CostProfile *p, Arena *a)
{
    memset(pr, 0, sizeof *pr);
    pr->g = g;
    pr->a = a;
    pr->p = p;
    for (int i = 0; i < IR_MAX_SYMS; i++)
        pr->syms[i] = g->place.sym_value > 0 ? g->place.sym_value : 1;
    const size_t nn = (size_t)g->n_nodes + 1, nv = (size_t)g->n_values + 1;
    pr->unit = ir_arena_alloc(a, sizeof(int) * nn);
    pr->unit_node = ir_arena_alloc(a, sizeof(NodeId) * nn);
    pr->root = ir_arena_alloc(a, sizeof(ValueId) * nv);
    pr->vindex = ir_arena_alloc(a, sizeof(int) * nv);
    pr->seen = ir_arena_alloc(a, nv);
    pr->delta = ir_arena_alloc(a, sizeof(double) * (nn + 1));
    for (ValueId v = 0; v < g->n_values; v++)
        pr->root[v] = v;
    for (NodeId i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead) {
            pr->unit[i] = UNIT_DEAD;
            continue;
        }
        if ((ir_ops[n->op].flags & IR_F_VIEW) && n->n_inputs >= 1 && n->inputs[0] != IR_NONE) {
            const Value *x = &g->values[n->inputs[0]];
            pr->unit[i] = x->kind == IR_VALUE_CONST   ? UNIT_CONST
                          : x->kind == IR_VALUE_INPUT ? UNIT_INPUT
                                                      : pr->unit[x->producer];
            for (int k = 0; k < n->n_outputs; k++)
                pr->root[n->outputs[k]] = pr->root[n->inputs[0]];
            continue;
        }
        pr->unit[i] = pr->n_units;
        pr->unit_node[pr->n_units++] = i;
    }
    const size_t nu = (size_t)pr->n_units + 1;
    pr->ms = ir_arena_alloc(a, sizeof *pr->ms * nu);
    pr->why_not = ir_arena_alloc(a, sizeof *pr->why_not * nu);
    pr->mem = ir_arena_alloc(a, sizeof(double) * nu);
    pr->cost = ir_arena_alloc(a, sizeof *pr->cost * nu);
    for (int k = 0; k < pr->n_units; k++) {
        const Node *n = &g->nodes[pr->unit_node[k]];
        for (int dev = 0; dev < 2; dev++) {
            const char *why = place_check(g, n, (Device)dev);
            if (!why && !p->dev[dev].present)
                why = dev == IR_DEVICE_CUDA ? "the device profile has no GPU"
                                            : "the device profile has no CPU";
            pr->why_not[k][dev] = why;
            pr->ms[k][dev] = why ? INFINITY : cost_node_ms(p, g, n, (Device)dev, pr->syms);
        }
        double mem = 0;
        for (int j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] != IR_NONE && g->values[n->inputs[j]].kind == IR_VALUE_CONST)
                mem += ir_value_bytes(g, n->inputs[j], pr->syms);
        for (int j = 0; j < n->n_outputs; j++)
            mem += ir_value_bytes(g, n->outputs[j], pr->syms);
        pr->mem[k] = mem;
    }
    /* the cut's values: inputs and what its nodes make (constants are free: uploaded once) */
    int n_values = 0;
    for (ValueId v = 0; v < g->n_values; v++) {
        const Value *x = &g->values[v];
        bool cut = pr->root[v] == v && (x->kind == IR_VALUE_INPUT ||
                                        (x->kind == IR_VALUE_TEMP && x->producer >= 0 &&
                                         x->producer < g->n_nodes && pr->unit[x->producer] >= 0));
        pr->vindex[v] = cut ? n_values++ : -1;
    }
    pr->values = ir_arena_alloc(a, sizeof(McPlaceValue) * ((size_t)n_values + 1));
    pr->value_id = ir_arena_alloc(a, sizeof(ValueId) * ((size_t)n_values + 1));
    int *count = ir_arena_alloc(a, sizeof(int) * ((size_t)n_values + 1));
    /* readers: the cut's nodes reading a value or a view of it (inputs, epilogue operands) */
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < pr->n_units; k++) {
            const Node *n = &g->nodes[pr->unit_node[k]];
            for (int j = 0; j < n->n_inputs + n->n_epilogue; j++) {
                ValueId x = j < n->n_inputs ? n->inputs[j] : n->epilogue[j - n->n_inputs].operand;
                int vi = x == IR_NONE ? -1 : pr->vindex[pr->root[x]];
                if (vi < 0)
                    continue;
                if (pass == 0)
                    count[vi]++;
                else
                    ((int *)pr->values[vi].readers)[pr->values[vi].n_readers++] = k;
            }
        }
        if (pass == 0)
            for (int vi = 0; vi < n_values; vi++)
                pr->values[vi].readers = ir_arena_alloc(a, sizeof(int) * ((size_t)count[vi] + 1));
    }
    for (ValueId v = 0; v < g->n_values; v++) {
        int vi = pr->vindex[v];
        if (vi < 0)
            continue;
        const Value *x = &g->values[v];
        pr->value_id[vi] = v;
        pr->values[vi].producer = x->kind == IR_VALUE_INPUT ? -1 : pr->unit[x->producer];
        pr->values[vi].transfer =
            clamp_transfer(cost_transfer_ms(p, ir_value_bytes(g, v, pr->syms)));
    }
    for (int i = 0; i < g->n_outputs; i++) {
        int vi = pr->vindex[pr->root[g->outputs[i]]];
        if (vi >= 0)
            pr->values[vi].read_on_cpu = true;
    }
    pr->mp = (McPlace){pr->n_units, (const double(*)[2])pr->cost, n_values, pr->values};
    /* the values each node touches, for local_cost */
    pr->touch_start = ir_arena_alloc(a, sizeof(int) * (nu + 1));
    for (int vi = 0; vi < n_values; vi++) {
        const McPlaceValue *v = &pr->values[vi];
        if (v->producer >= 0)
            pr->touch_start[v->producer + 1]++;
        for (int j = 0; j < v->n_readers; j++)
            pr->touch_start[v->readers[j] + 1]++;
    }
    for (int k = 0; k < pr->n_units; k++)
        pr->touch_start[k + 1] += pr->touch_start[k];
    pr->touch = ir_arena_alloc(a, sizeof(int) * ((size_t)pr->touch_start[pr->n_units] + 1));
    int *fill = ir_arena_alloc(a, sizeof(int) * nu);
    memcpy(fill, pr->touch_start, sizeof(int) * (size_t)pr->n_units);
    for (int vi = 0; vi < n_values; vi++) {
        const McPlaceValue *v = &pr->values[vi];
        if (v->producer >= 0)
            pr->touch[fill[v->producer]++] = vi;
        for (int j = 0; j < v->n_readers; j++)
            pr->touch[fill[v->readers[j]]++] = vi;
    }
}

/* The cut's costs: the predictions, infinite off a pinned node's device, and lambda (ms a
 * byte) x its bytes on the GPU for every unpinned node. */
static void prob_costs(Prob *pr, double lambda)
{
    for (int k = 0; k < pr->n_units; k++) {
        const Node *n = &pr->g->nodes[pr->unit_node[k]];
        for (int dev = 0; dev < 2; dev++) {
            double c = pr->ms[k][dev];
            if (n->pinned && dev != (int)n->device)
                c = INFINITY;
            else if (!n->pinned && dev == IR_DEVICE_CUDA && lambda > 0)
                c += lambda * pr->mem[k];
            pr->cost[k][dev] = c;
        }
    }
}

/* The plain predictions (no pins, no penalty), for the report's totals. */
static void prob_costs_plain(Prob *pr)
{
    memcpy(pr->cost, pr->ms, sizeof *pr->cost * (size_t)pr->n_units);
}

static void bytes_of_inputs(const Prob *pr, const Node *n, bool *seen, double *w)
{
    for (int j = 0; j < n->n_inputs + n->n_epilogue; j++) {
        ValueId x = j < n->n_inputs ? n->inputs[j] : n->epilogue[j - n->n_inputs].operand;
        if (x == IR_NONE || pr->g->values[x].kind != IR_VALUE_CONST || seen[x])
            continue;
        seen[x] = true;
        *w += ir_value_bytes(pr->g, x, pr->syms);
    }
}

/* GPU bytes of an assignment: the weights its GPU nodes read (each once) and the peak of
 * the values live on the GPU in graph order (made there, or copied there), from their
 * producer to their last reader (a GPU-made graph output: to the end). */
static double gpu_bytes(const Prob *pr, const bool *on_gpu)
{
    const Graph *g = pr->g;
    bool *seen = pr->seen;
    double *delta = pr->delta;
    memset(seen, 0, (size_t)g->n_values + 1);
    memset(delta, 0, sizeof(double) * ((size_t)g->n_nodes + 2));
    double w = 0;
    for (int k = 0; k < pr->n_units; k++)
        if (on_gpu[k])
            bytes_of_inputs(pr, &g->nodes[pr->unit_node[k]], seen, &w);
    for (int vi = 0; vi < pr->mp.n_values; vi++) {
        const McPlaceValue *v = &pr->values[vi];
        const bool made_gpu = v->producer >= 0 && on_gpu[v->producer];
        int start = v->producer >= 0 ? pr->unit_node[v->producer] : 0, last = start;
        bool read_gpu = false;
        for (int j = 0; j < v->n_readers; j++) {
            const int r = v->readers[j], at = pr->unit_node[r];
            read_gpu |= on_gpu[r];
            if ((on_gpu[r] || made_gpu) && at > last)
                last = at;
        }
        if (!made_gpu && !read_gpu)
            continue;
        if (made_gpu && v->read_on_cpu)
            last = g->n_nodes;
        double b = ir_value_bytes(g, pr->value_id[vi], pr->syms);
        delta[start] += b;
        delta[last + 1] -= b;
    }
    double live = 0, peak = 0;
    for (int i = 0; i <= g->n_nodes; i++) {
        live += delta[i];
        peak = fmax(peak, live);
    }
    return w + peak;
}

/* ---- deciding ---- */

typedef struct Gain {
    double per_byte; /* ms saved on the GPU a byte it takes there */
    int k;
} Gain;

static int by_gain(const void *a, const void *b)
{
    const Gain *x = a, *y = b;
    return x->per_byte > y->per_byte ? -1 : x->per_byte < y->per_byte ? 1 : x->k - y->k;
}

/* The part of the total that node k's device changes: its own time and the copies of the
 * values it makes or reads (a value it touches twice counts twice: the same either way). */
static double local_cost(const Prob *pr, const bool *on_gpu, int k)
{
    double c = pr->cost[k][on_gpu[k] ? 1 : 0];
    for (int j = pr->touch_start[k]; j < pr->touch_start[k + 1]; j++)
        c += mc_place_value_cost(&pr->mp, pr->touch[j], on_gpu);
    return c;
}

/* The relaxation moves whole groups of nodes at one lambda; some may fit back. Tries each
 * node the budget moved (best saving a byte first) back on the GPU, keeping it there when
 * the total drops and the budget holds. A try costs the node's neighbourhood; the budget
 * (a sweep of the graph) is checked for at most 256 of them. pr's costs are the plain ones
 * (lambda 0). */
static void refill(Prob *pr, double budget, const bool *first, bool *on_gpu)
{
    Gain *gain = ir_arena_alloc(pr->a, sizeof(Gain) * ((size_t)pr->n_units + 1));
    int n = 0;
    for (int k = 0; k < pr->n_units; k++)
        if (first[k] && !on_gpu[k])
            gain[n++] = (Gain){(pr->ms[k][0] - pr->ms[k][1]) / fmax(pr->mem[k], 1), k};
    qsort(gain, (size_t)n, sizeof *gain, by_gain);
    int checks = 0;
    for (int j = 0; j < n && checks < 256; j++) {
        const int k = gain[j].k;
        const double before = local_cost(pr, on_gpu, k);
        on_gpu[k] = true;
        const double after = local_cost(pr, on_gpu, k);
        if (after < before && (checks++, gpu_bytes(pr, on_gpu) <= budget))
            continue;
        on_gpu[k] = false;
    }
}

/* The least-total assignment within budget bytes of GPU memory (0: none) into on_gpu;
 * moved[k]: node k was on the GPU before the budget took it off. False after reporting a
 * node no device can run. */
static bool decide(Prob *pr, double budget, bool *on_gpu, bool *moved, SrcLoc loc, Diag *d)
{
    Graph *g = pr->g;
    prob_costs(pr, 0);
    bool ok = true;
    for (int k = 0; k < pr->n_units; k++) {
        if (isfinite(pr->cost[k][0]) || isfinite(pr->cost[k][1]))
            continue;
        const Node *n = &g->nodes[pr->unit_node[k]];
        if (n->pinned)
            ir_diag_error(d, loc, "place: %s '%s' is pinned to the %s, where it cannot run: %s",
                          ir_ops[n->op].name, n->name, ir_device_name(n->device),
                          pr->why_not[k][n->device]);
        else
            ir_diag_error(d, loc, "place: no device can run %s '%s' (cpu: %s; cuda: %s)",
                          ir_ops[n->op].name, n->name, pr->why_not[k][0], pr->why_not[k][1]);
        ok = false;
    }
    if (!ok)
        return false;
    double total = mc_place_solve(&pr->mp, on_gpu);
    SLIMC_ASSERT(isfinite(total)); /* every node can run somewhere, every copy is finite */
    if (!(budget > 0) || gpu_bytes(pr, on_gpu) <= budget)
        return true;
    const size_t nb = (size_t)pr->n_units + 1;
    bool *first = ir_arena_alloc(pr->a, nb), *trial = ir_arena_alloc(pr->a, nb);
    memcpy(first, on_gpu, (size_t)pr->n_units);
    /* lambda in ms a byte: raised 8-fold until the answer fits, then bisected to 2%: the
     * refill does the rest. (Not closer: near the lambda where equal-cost nodes change
     * sides the flow runs the length of the graph, and a cut costs time quadratic in it.) */
    double lo = 0, hi = 1e-12;
    bool fits = false;
    for (;;) {
        prob_costs(pr, hi);
        mc_place_solve(&pr->mp, trial);
        fits = gpu_bytes(pr, trial) <= budget;
        if (fits || hi > 1e6)
            break;
        lo = hi;
        hi *= 8;
    }
    memcpy(on_gpu, trial, (size_t)pr->n_units);
    if (!fits) {
        ir_diag_warning(d, loc,
                        "place: the nodes pinned to the GPU need %.1f MiB of its memory, more "
                        "than the budget of %.1f MiB",
                        gpu_bytes(pr, trial) / 1048576.0, budget / 1048576.0);
    } else {
        for (int it = 0; it < 30 && hi > 1.02 * lo; it++) {
            double mid = 0.5 * (lo + hi);
            prob_costs(pr, mid);
            mc_place_solve(&pr->mp, trial);
            if (gpu_bytes(pr, trial) <= budget) {
                hi = mid;
                memcpy(on_gpu, trial, (size_t)pr->n_units);
            } else {
                lo = mid;
            }
        }
    }
    prob_costs(pr, 0);
    if (fits)
        refill(pr, budget, first, on_gpu);
    for (int k = 0; k < pr->n_units; k++)
        moved[k] = first[k] && !on_gpu[k];
    return true;
}

/* ---- the report ---- */

/* Fills r from an assignment (the report's nodes: every live node, in graph order). */
static PlaceReport *make_report(Prob *pr, const bool *on_gpu, const PlaceWhy *why,
                                const char *const *detail, double budget)
{
    Graph *g = pr->g;
    PlaceReport *r = ir_arena_alloc(g->arena, sizeof *r);
    int live = 0;
    for (NodeId i = 0; i < g->n_nodes; i++)
        live += !g->nodes[i].dead;
    r->n = live;
    r->nodes = ir_arena_alloc(g->arena, sizeof(PlaceNode) * ((size_t)live + 1));
    /* each copy is charged to the first reader (in graph order) on the device it goes to;
     * a GPU-made output's copy to the caller, to none (it is in the totals) */
    double *in_ms = ir_arena_alloc(pr->a, sizeof(double) * ((size_t)pr->n_units + 1));
    for (int vi = 0; vi < pr->mp.n_values; vi++) {
        const McPlaceValue *v = &pr->values[vi];
        const bool made_gpu = v->producer >= 0 && on_gpu[v->producer];
        int first = -1;
        for (int j = 0; j < v->n_readers; j++)
            if (on_gpu[v->readers[j]] != made_gpu && (first < 0 || v->readers[j] < first))
                first = v->readers[j];
        if (first >= 0) {
            in_ms[first] += v->transfer;
        }
        bool copied = first >= 0 || (made_gpu && v->read_on_cpu);
        if (copied) {
            r->n_transfers++;
            r->transfer_ms += v->transfer;
        }
    }
    int k = 0;
    for (NodeId i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead)
            continue;
        PlaceNode *pn = &r->nodes[k++];
        const int u = pr->unit[i];
        pn->node = i;
        pn->name = n->name;
        pn->op = n->op;
        if (u >= 0 && pr->unit_node[u] == i) {
            pn->ms[0] = pr->ms[u][0];
            pn->ms[1] = pr->ms[u][1];
            pn->in_ms = in_ms[u];
            pn->device = on_gpu[u] ? IR_DEVICE_CUDA : IR_DEVICE_CPU;
            pn->why = why[u];
            pn->detail = detail[u];
        } else { /* a view: where what it views is made (a constant's: where it is) */
            pn->device = u >= 0            ? (on_gpu[u] ? IR_DEVICE_CUDA : IR_DEVICE_CPU)
                         : u == UNIT_INPUT ? IR_DEVICE_CPU
                                           : n->device;
            pn->why = PLACE_WHY_VIEW;
        }
    }
    prob_costs_plain(pr);
    r->total_ms = mc_place_cost(&pr->mp, on_gpu);
    bool *all = ir_arena_alloc(pr->a, (size_t)pr->n_units + 1);
    r->all_cpu_ms = mc_place_cost(&pr->mp, all);
    memset(all, 1, (size_t)pr->n_units);
    r->all_gpu_ms = mc_place_cost(&pr->mp, all);
    r->gpu_bytes = gpu_bytes(pr, on_gpu);
    r->budget_mb = budget / 1048576.0;
    r->profile = ir_arena_strdup(g->arena, pr->p->source);
    r->profile_hash = pr->p->hash;
    return r;
}

PlaceReport *place_report_current(Graph *g, const CostProfile *p)
{
    CostProfile dflt;
    if (!p) {
        cost_profile_default(&dflt);
        p = &dflt;
    }
    Arena *a = ir_arena_new();
    Prob pr;
    prob_build(&pr, g, p, a);
    const size_t nu = (size_t)pr.n_units + 1;
    bool *on_gpu = ir_arena_alloc(a, nu);
    PlaceWhy *why = ir_arena_alloc(a, sizeof(PlaceWhy) * nu);
    const char **detail = ir_arena_alloc(a, sizeof(char *) * nu);
    for (int k = 0; k < pr.n_units; k++) {
        const Node *n = &g->nodes[pr.unit_node[k]];
        on_gpu[k] = n->device == IR_DEVICE_CUDA;
        why[k] = n->pinned ? PLACE_WHY_PIN : PLACE_WHY_FIXED;
    }
    double budget = g->place.gpu_memory_mb > 0 ? g->place.gpu_memory_mb * 1048576.0 : 0;
    PlaceReport *r = make_report(&pr, on_gpu, why, detail, budget);
    for (int i = 0; i < r->n; i++)
        if (r->nodes[i].why == PLACE_WHY_VIEW) {
            r->nodes[i].why = PLACE_WHY_FIXED;
            r->nodes[i].device = g->nodes[r->nodes[i].node].device;
        }
    ir_arena_free(a);
    return r;
}

/* ---- the pass ---- */

/* Takes out the transfer nodes an earlier run inserted: their readers read the value again. */
static void strip_transfers(Graph *g)
{
    bool any = false;
    for (NodeId i = 0; i < g->n_nodes; i++) {
        Node *n = &g->nodes[i];
        if (n->dead || n->op != IR_OP_TRANSFER)
            continue;
        ir_replace_uses(g, n->outputs[0], n->inputs[0]);
        n->dead = true;
        any = true;
    }
    if (any)
        ir_compact(g);
}

static bool parse_device(const PassArg *a, Device *out, Diag *d)
{
    if (a->kind == PASS_ARG_NAME || a->kind == PASS_ARG_STRING) {
        if (!strcmp(a->text, "cpu")) {
            *out = IR_DEVICE_CPU;
            return true;
        }
        if (!strcmp(a->text, "cuda")) {
            *out = IR_DEVICE_CUDA;
            return true;
        }
    }
    ir_diag_error(d, a->loc, "place: '%s' is not a device (cpu, cuda)", a->text);
    return false;
}

/* Pins the live nodes the positional argument a names to dev; details[i] says so. */
static bool pin(Graph *g, const PassArg *a, Device dev, const char **details, Diag *d)
{
    int found = 0;
    bool ok = true;
    for (NodeId i = 0; i < g->n_nodes; i++) {
        Node *n = &g->nodes[i];
        if (n->dead || !pass_name_matches(a->text, n->name))
            continue;
        found++;
        if (g->place.fixed && !g->place.automatic) /* --device cpu / cuda: by name only */
            continue;
        const char *why = place_check(g, n, dev);
        if (why) {
            ir_diag_error(d, a->loc, "place: cannot pin %s '%s' to the %s: %s", ir_ops[n->op].name,
                          n->name, ir_device_name(dev), why);
            ok = false;
            continue;
        }
        n->device = dev;
        n->pinned = true;
        details[i] =
            ir_arena_printf(g->arena, "place(%s, device=%s)", a->text, ir_device_name(dev));
    }
    if (found)
        return ok;
    /* name a few of the model's nodes, so that the mistake shows */
    char some[200] = "";
    size_t len = 0;
    int shown = 0;
    for (NodeId i = 0; i < g->n_nodes && shown < 4; i++)
        if (!g->nodes[i].dead && g->nodes[i].name) {
            int w = snprintf(some + len, sizeof some - len, "%s'%s'", shown ? ", " : "",
                             g->nodes[i].name);
            if (w < 0 || (size_t)w >= sizeof some - len)
                break;
            len += (size_t)w;
            shown++;
        }
    ir_diag_error(d, a->loc, "place: '%s' names no node of model '%s'%s%s%s", a->text, g->name,
                  shown ? " (its nodes are named like " : "", some, shown ? ")" : "");
    return false;
}

/* The pass's arguments into g->place and the pins; *n_pins counts the names. */
static bool read_args(Graph *g, const PassArgs *args, int *n_pins, bool *greedy,
                      const char **details, Diag *d)
{
    if (!pass_args_check(args, "device gpu_memory_mb symbols", d))
        return false;
    const PassArg *dev_arg = pass_arg(args, "device");
    const PassArg *mb = pass_arg(args, "gpu_memory_mb"), *sy = pass_arg(args, "symbols");
    Device dev = IR_DEVICE_CPU;
    bool ok = !dev_arg || parse_device(dev_arg, &dev, d);
    if (mb && (mb->kind != PASS_ARG_NUMBER || !(mb->number >= 0) || !isfinite(mb->number))) {
        ir_diag_error(d, mb->loc,
                      "place: gpu_memory_mb is a number of MiB (0: no budget), not '%s'", mb->text);
        ok = false;
    }
    if (sy && (sy->kind != PASS_ARG_NUMBER || !(sy->number >= 1) || sy->number > 1e9 ||
               sy->number != floor(sy->number))) {
        ir_diag_error(d, sy->loc,
                      "place: symbols is the whole number the symbolic dims are costed at "
                      "(1 or more), not '%s'",
                      sy->text);
        ok = false;
    }
    bool automatic = false;
    const PassArg *first_pin = NULL;
    *n_pins = 0;
    for (int i = 0; args && i < args->n; i++) {
        const PassArg *a = &args->args[i];
        if (a->key)
            continue;
        if (a->kind == PASS_ARG_NAME && !strcmp(a->text, "auto")) {
            automatic = true;
        } else if (a->kind == PASS_ARG_NAME && !strcmp(a->text, "greedy")) {
            automatic = *greedy = true; /* the benchmark's baseline: see pass_place */
        } else if (a->kind == PASS_ARG_NAME || a->kind == PASS_ARG_STRING) {
            if (!first_pin)
                first_pin = a;
            ++*n_pins;
        } else {
            ir_diag_error(d, a->loc, "place: expected a layer to pin or 'auto', found '%s'",
                          a->text);
            ok = false;
        }
    }
    if (first_pin && !dev_arg) {
        ir_diag_error(d, first_pin->loc,
                      "place: pinning '%s' needs a device: place(%s, device=cuda) or device=cpu",
                      first_pin->text, first_pin->text);
        ok = false;
    }
    if (dev_arg && !first_pin && ok) {
        ir_diag_error(d, dev_arg->loc,
                      "place: device=%s pins nothing: name the layers to pin "
                      "(place(layer3, device=%s)), or give place(auto) to decide them all",
                      dev_arg->text, dev_arg->text);
        ok = false;
    }
    if (!ok)
        return false;
    if (mb)
        g->place.gpu_memory_mb = mb->number;
    if (sy)
        g->place.sym_value = (int64_t)sy->number;
    if (automatic)
        g->place.automatic = true;
    if (*n_pins == 0)
        return true;
    strip_transfers(g); /* before pinning: the node indices change */
    for (int i = 0; i < args->n; i++) {
        const PassArg *a = &args->args[i];
        if (!a->key && (a->kind == PASS_ARG_STRING ||
                        (a->kind == PASS_ARG_NAME && strcmp(a->text, "auto") != 0 &&
                         strcmp(a->text, "greedy") != 0)))
            ok = pin(g, a, dev, details, d) && ok;
    }
    if (ok && g->place.fixed && !g->place.automatic)
        ir_diag_note(d, first_pin->loc,
                     "place: pins take effect with --device auto; this run puts every node on "
                     "the %s",
                     ir_device_name(g->device));
    return ok;
}

/* What pinned n in an earlier run (its report's detail), for the report of this one. */
static const char *earlier_pin(const Graph *g, const Node *n)
{
    const PlaceReport *r = g->place.report;
    for (int i = 0; r && n->name && i < r->n; i++)
        if (r->nodes[i].why == PLACE_WHY_PIN && r->nodes[i].detail && r->nodes[i].name &&
            !strcmp(r->nodes[i].name, n->name))
            return r->nodes[i].detail;
    return "pinned by an earlier place step";
}

bool pass_place(Graph *g, const PassArgs *args, Diag *d)
{
    Arena *a = ir_arena_new();
    int n_pins = 0;
    /* what pinned each node, by its index when pinned (after strip_transfers, which only
     * removes nodes) */
    const char **pin_detail = ir_arena_alloc(a, sizeof(char *) * ((size_t)g->n_nodes + 1));
    bool greedy = false;
    bool ok = read_args(g, args, &n_pins, &greedy, pin_detail, d);
    if (!ok || (!g->place.automatic && n_pins == 0)) {
        ir_arena_free(a);
        return ok;
    }
    strip_transfers(g); /* (a no-op after pinning did it) */
    CostProfile dflt;
    const CostProfile *p = g->place.profile;
    if (!p) {
        cost_profile_default(&dflt);
        p = &dflt;
    }
    Prob pr;
    prob_build(&pr, g, p, a);
    const size_t nu = (size_t)pr.n_units + 1;
    bool *on_gpu = ir_arena_alloc(a, nu), *moved = ir_arena_alloc(a, nu);
    PlaceWhy *why = ir_arena_alloc(a, sizeof(PlaceWhy) * nu);
    const char **detail = ir_arena_alloc(a, sizeof(char *) * nu);
    double budget = g->place.gpu_memory_mb > 0       ? g->place.gpu_memory_mb
                    : p->dev[IR_DEVICE_CUDA].present ? p->dev[IR_DEVICE_CUDA].memory_mb
                                                     : 0;
    budget *= 1048576.0;
    if (greedy) {
        /* place(greedy): what ONNX Runtime does, every node with a kernel on the GPU there
         * and the rest on the CPU, copies not costed (pins still win): a baseline to
         * measure the cut against (scripts/gpu_check.py's placement step) */
        for (int k = 0; k < pr.n_units; k++) {
            const Node *n = &g->nodes[pr.unit_node[k]];
            on_gpu[k] = n->pinned ? n->device == IR_DEVICE_CUDA : !pr.why_not[k][1];
        }
    } else if (g->place.automatic) {
        ok = decide(&pr, budget, on_gpu, moved, args ? args->loc : (SrcLoc){0}, d);
    } else {
        for (int k = 0; k < pr.n_units; k++)
            on_gpu[k] = g->nodes[pr.unit_node[k]].device == IR_DEVICE_CUDA;
    }
    if (!ok) {
        ir_arena_free(a);
        return false;
    }
    for (int k = 0; k < pr.n_units; k++) {
        const NodeId i = pr.unit_node[k];
        Node *n = &g->nodes[i];
        const Device dev = on_gpu[k] ? IR_DEVICE_CUDA : IR_DEVICE_CPU, other = 1 - dev;
        n->device = dev;
        if (n->pinned) {
            why[k] = PLACE_WHY_PIN;
            detail[k] = pin_detail[i] ? pin_detail[i] : earlier_pin(g, n);
        } else if (!g->place.automatic) {
            why[k] = PLACE_WHY_FIXED;
        } else if (moved[k]) {
            why[k] = PLACE_WHY_BUDGET;
        } else if (pr.why_not[k][other]) {
            why[k] = PLACE_WHY_NO_KERNEL;
            detail[k] = pr.why_not[k][other];
        } else {
            why[k] = PLACE_WHY_COST;
        }
    }
    /* views go where what they view is made */
    for (NodeId i = 0; i < g->n_nodes; i++) {
        Node *n = &g->nodes[i];
        const int u = pr.unit[i];
        if (n->dead || (u >= 0 && pr.unit_node[u] == i))
            continue;
        if (u >= 0)
            n->device = on_gpu[u] ? IR_DEVICE_CUDA : IR_DEVICE_CPU;
        else if (u == UNIT_INPUT)
            n->device = IR_DEVICE_CPU;
    }
    g->place.report = make_report(&pr, on_gpu, why, detail, budget);
    ir_arena_free(a);
    return place_insert_transfers(g, d);
}
