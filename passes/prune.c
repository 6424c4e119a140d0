/* prune: zeros in the weights of conv2d and linear layers, chosen as torch.nn.utils.prune
 * chooses them (passes/prune.h, docs/pruning.md).
 *
 *   prune([LAYER...,] [method=l1_unstructured | random_unstructured | ln_structured | nm,]
 *         amount=A [, scope=layer | global] [, seed=S] [, n=N] [, dim=D] [, m=M])
 *
 * LAYER names a node (its name, or a prefix ending at a '.' or '/': layer3 names
 * layer3.0.conv1) or a weight (conv1.weight); none: every conv2d and linear whose weight is
 * an f32 constant. Biases are never pruned. A weight's payload may be mmapped and shared
 * with other graphs (ir_graph_clone), so a pruned weight gets a new payload in the graph's
 * arena, with the zeros written in; the Value keeps its name, and Value.sparsity is the
 * measured fraction of zeros afterwards. Every argument is checked, and every layer, before
 * anything is written: a mistake prunes nothing. */
#include "passes/prune.h"
#include "passes/pass.h"
#include "passes/quant_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum PruneMethod { PM_L1, PM_RANDOM, PM_LN, PM_NM } PruneMethod;
static const char *const method_names[] = {"l1_unstructured", "random_unstructured",
                                           "ln_structured", "nm"};

typedef struct PruneOpts {
    PruneMethod method;
    PruneAmount amount;
    const PassArg *amount_arg; /* NULL for nm */
    bool global;
    uint64_t seed;
    double p; /* ln_structured's n */
    int dim;  /* ln_structured's dim (may be negative until a layer's rank is known) */
    int n, m; /* nm */
    const PassArg *m_arg;
    bool remove; /* ln_structured dim 0: remove the zero channels (passes/prune_groups.c) */
    const PassArg *remove_arg;
} PruneOpts;

/* ---- layers ---- */

bool pass_prune_layer_of(const Graph *g, NodeId i, PruneLayer *l)
{
    const Node *n = &g->nodes[i];
    if (n->dead || (n->op != IR_OP_CONV2D && n->op != IR_OP_LINEAR) || n->n_inputs < 2 ||
        n->inputs[1] == IR_NONE)
        return false;
    const Value *w = &g->values[n->inputs[1]];
    const Shape *s = &w->type.shape;
    if (w->kind != IR_VALUE_CONST || !w->data || w->type.dtype != IR_F32 || w->type.quant ||
        s->rank < 2 || !ir_shape_static(s))
        return false;
    *l = (PruneLayer){.node = i, .weight = n->inputs[1], .rank = s->rank, .numel = 1};
    for (int k = 0; k < s->rank; k++) {
        l->shape[k] = s->d[k].c;
        l->numel *= s->d[k].c;
    }
    if (w->data_bytes != sizeof(float) * (size_t)l->numel)
        return false;
    l->transposed = n->op == IR_OP_LINEAR && ir_attr_w_transposed(n) != 0 && s->rank == 2;
    if (l->transposed) { /* stored [K, N]: PyTorch's [N, K] */
        l->shape[0] = s->d[1].c;
        l->shape[1] = s->d[0].c;
    }
    return true;
}

/* Where logical element i of l is stored. */
static int64_t stored_index(const PruneLayer *l, int64_t i)
{
    if (!l->transposed)
        return i;
    int64_t r = i / l->shape[1], c = i % l->shape[1]; /* [N, K] -> [K, N] */
    return c * l->shape[0] + r;
}

float *pass_prune_logical(const Graph *g, const PruneLayer *l)
{
    const float *src = g->values[l->weight].data;
    float *w = malloc(sizeof(float) * (size_t)(l->numel ? l->numel : 1));
    if (!w)
        return NULL;
    if (l->transposed) { /* stored [K, N] -> [N, K], in tiles */
        pass_transpose_f32(w, src, l->shape[1], l->shape[0]);
        return w;
    }
    for (int64_t i = 0; i < l->numel; i++)
        w[i] = src[stored_index(l, i)];
    return w;
}

int64_t pass_prune_count_zeros(const float *w, int64_t n)
{
    /* blocks of 4096 counted in 16 int32 lanes (the compiler keeps them in one vector, or
     * at least 16 chains instead of one loop-carried add): the sparse pass counts every
     * weight of a model on every start */
    int64_t z = 0;
    for (int64_t b = 0; b < n; b += 4096) {
        const int64_t e = n - b < 4096 ? n : b + 4096;
        int32_t lane[16] = {0};
        int64_t i = b;
        for (; i + 16 <= e; i += 16)
            for (int j = 0; j < 16; j++)
                lane[j] += w[i + j] == 0.0f;
        for (; i < e; i++)
            z += w[i] == 0.0f;
        for (int j = 0; j < 16; j++)
            z += lane[j];
    }
    return z;
}

static float zero_fraction(const Graph *g, ValueId v, int64_t numel)
{
    const int64_t z = pass_prune_count_zeros(g->values[v].data, numel);
    return numel ? (float)((double)z / (double)numel) : 0;
}

void pass_prune_measure(Graph *g)
{
    PruneLayer l;
    for (NodeId i = 0; i < g->n_nodes; i++)
        if (pass_prune_layer_of(g, i, &l))
            g->values[l.weight].sparsity = zero_fraction(g, l.weight, l.numel);
}

/* Zeros the elements mask prunes in a new copy of l's payload. */
static void apply_mask(Graph *g, const PruneLayer *l, const uint8_t *mask)
{
    int64_t i = 0;
    while (i < l->numel && mask[i])
        i++;
    if (i == l->numel)
        return; /* nothing pruned: the payload stays shared */
    Value *v = &g->values[l->weight];
    float *dst = ir_arena_alloc(g->arena, v->data_bytes);
    memcpy(dst, v->data, v->data_bytes);
    for (; i < l->numel; i++)
        if (!mask[i])
            dst[stored_index(l, i)] = 0.0f;
    v->data = dst;
}

/* ---- names ---- */

/* Levenshtein distance of a and b (for "did you mean"). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = malloc(sizeof(size_t) * (lb + 1));
    SLIMC_ASSERT(row);
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    size_t dist = row[lb];
    free(row);
    return dist;
}

/* The error for a layer name that matches nothing: the closest layer or weight name when
 * one is close, else the layers there are. */
static void unknown_layer(Graph *g, const PassArg *a, const PruneLayer *layers, int n, Diag *d)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (int i = 0; i < n; i++) {
        const char *cands[2] = {g->nodes[layers[i].node].name, g->values[layers[i].weight].name};
        for (int k = 0; k < 2; k++) {
            /* names come from the model file: long ones are not suggested (the distance
             * costs the product of the lengths) */
            if (!cands[k] || strlen(cands[k]) > 256 || strlen(a->text) > 256)
                continue;
            size_t dist = edit_distance(a->text, cands[k]);
            if (dist < best_d) {
                best = cands[k];
                best_d = dist;
            }
        }
    }
    size_t len = strlen(a->text);
    if (best && best_d <= (len < 6 ? 2 : len / 3)) {
        ir_diag_error(d, a->loc, "prune: no layer '%s' in model '%s'; did you mean '%s'?", a->text,
                      g->name, best);
        return;
    }
    const char *list = "";
    for (int i = 0; i < n && i < 8; i++)
        list = ir_arena_printf(g->arena, "%s%s%s", list, i ? ", " : "",
                               g->nodes[layers[i].node].name ? g->nodes[layers[i].node].name : "?");
    ir_diag_error(d, a->loc, "prune: no layer '%s' in model '%s' (its conv2d/linear layers: %s%s)",
                  a->text, g->name, n ? list : "none", n > 8 ? ", ..." : "");
}

/* Marks chosen[k] for the layers positional argument a names; false after an error. */
static bool choose(Graph *g, const PassArg *a, const PruneLayer *layers, int n, bool *chosen,
                   Diag *d)
{
    int found = 0;
    for (int i = 0; i < n; i++)
        if (pass_name_matches(a->text, g->nodes[layers[i].node].name) ||
            pass_name_matches(a->text, g->values[layers[i].weight].name)) {
            chosen[i] = true;
            found++;
        }
    if (found)
        return true;
    for (NodeId i = 0; i < g->n_nodes; i++) {
        const Node *nd = &g->nodes[i];
        if (!nd->dead && pass_name_matches(a->text, nd->name)) {
            ir_diag_error(d, a->loc,
                          "prune: '%s' is a %s; prune takes conv2d and linear layers whose "
                          "weight is an f32 constant",
                          a->text, ir_ops[nd->op].name);
            return false;
        }
    }
    unknown_layer(g, a, layers, n, d);
    return false;
}

/* ---- arguments ---- */

static bool whole_number(const PassArg *a, double lo, double hi)
{
    return a->kind == PASS_ARG_NUMBER && a->number >= lo && a->number <= hi &&
           a->number == floor(a->number) && strspn(a->text, "+-0123456789") == strlen(a->text);
}

static bool read_amount(const PassArg *a, PruneAmount *out, Diag *d)
{
    if (a->kind != PASS_ARG_NUMBER) {
        ir_diag_error(d, a->loc,
                      "prune: amount is a fraction (0.3, 30%%) or a count of weights (100), not "
                      "'%s'",
                      a->text);
        return false;
    }
    /* PyTorch's rule: an int is a count, a float a fraction */
    bool count = strspn(a->text, "+-0123456789") == strlen(a->text);
    if (count) {
        if (a->number < 0 || a->number > 9.0e15) {
            ir_diag_error(d, a->loc, "prune: amount=%s is not a count of weights (0 or more)",
                          a->text);
            return false;
        }
        *out = (PruneAmount){.is_count = true, .count = (int64_t)a->number};
        return true;
    }
    if (!(a->number >= 0 && a->number <= 1)) {
        ir_diag_error(d, a->loc,
                      "prune: amount=%s is outside [0, 1] (a fraction; a whole number such as "
                      "100 is a count of weights)",
                      a->text);
        return false;
    }
    *out = (PruneAmount){.fraction = a->number};
    return true;
}

/* An argument that applies to some methods only, given to another: an error at it. */
static bool only_for(const PassArgs *args, const char *key, bool applies, const char *which,
                     Diag *d)
{
    const PassArg *a = pass_arg(args, key);
    if (a && !applies) {
        ir_diag_error(d, a->loc, "prune: '%s' applies to %s only", key, which);
        return false;
    }
    return true;
}

static bool read_opts(const PassArgs *args, PruneOpts *o, Diag *d)
{
    if (!pass_args_check(args, "method amount scope seed n dim m remove", d))
        return false;
    bool ok = true;
    *o = (PruneOpts){.method = PM_L1, .p = 2, .n = 2, .m = 4};
    const PassArg *a = pass_arg(args, "method");
    if (a) {
        int k = 0;
        while (k < 4 && !((a->kind == PASS_ARG_NAME || a->kind == PASS_ARG_STRING) &&
                          strcmp(a->text, method_names[k]) == 0))
            k++;
        if (k == 4) {
            ir_diag_error(d, a->loc,
                          "prune: unknown method '%s' (methods: l1_unstructured, "
                          "random_unstructured, ln_structured, nm)",
                          a->text);
            return false;
        }
        o->method = (PruneMethod)k;
    }
    const char *mname = method_names[o->method];
    /* amount: keyed, or the one positional number */
    o->amount_arg = pass_arg(args, "amount");
    for (int i = 0; i < args->n; i++) {
        const PassArg *p = &args->args[i];
        if (p->key)
            continue;
        if (p->kind == PASS_ARG_NUMBER && !o->amount_arg)
            o->amount_arg = p;
        else if (p->kind == PASS_ARG_NUMBER || p->kind == PASS_ARG_CALL) {
            ir_diag_error(d, p->loc,
                          "prune: '%s' is not a layer name (amount is given once, as amount=)",
                          p->text);
            ok = false;
        }
    }
    if (o->method == PM_NM) {
        if (o->amount_arg) {
            ir_diag_error(d, o->amount_arg->loc,
                          "prune: method=nm keeps n of every m weights; amount does not apply");
            ok = false;
        }
    } else if (!o->amount_arg) {
        ir_diag_error(d, args->loc,
                      "prune: give amount= (a fraction such as 0.5 or 50%%, or a "
                      "count of weights such as 100)");
        ok = false;
    } else
        ok = read_amount(o->amount_arg, &o->amount, d) && ok;
    if ((a = pass_arg(args, "scope")) != NULL) {
        bool layer = (a->kind == PASS_ARG_NAME || a->kind == PASS_ARG_STRING) &&
                     strcmp(a->text, "layer") == 0;
        o->global = (a->kind == PASS_ARG_NAME || a->kind == PASS_ARG_STRING) &&
                    strcmp(a->text, "global") == 0;
        if (!layer && !o->global) {
            ir_diag_error(d, a->loc, "prune: scope is 'layer' or 'global', not '%s'", a->text);
            ok = false;
        } else if (o->global && o->method != PM_L1 && o->method != PM_RANDOM) {
            ir_diag_error(d, a->loc,
                          "prune: scope=global applies to l1_unstructured and "
                          "random_unstructured, not to %s",
                          mname);
            ok = false;
        }
    }
    ok = only_for(args, "seed", o->method == PM_RANDOM, "method=random_unstructured", d) && ok;
    ok = only_for(args, "dim", o->method == PM_LN, "method=ln_structured", d) && ok;
    ok = only_for(args, "m", o->method == PM_NM, "method=nm", d) && ok;
    ok = only_for(args, "remove", o->method == PM_LN, "method=ln_structured", d) && ok;
    ok = only_for(args, "n", o->method == PM_LN || o->method == PM_NM,
                  "method=ln_structured and method=nm", d) &&
         ok;
    if ((a = pass_arg(args, "seed")) != NULL) {
        if (!whole_number(a, 0, 9.0e15)) {
            ir_diag_error(d, a->loc, "prune: seed is a whole number (0 or more), not '%s'",
                          a->text);
            ok = false;
        } else
            o->seed = (uint64_t)a->number;
    }
    if ((a = pass_arg(args, "dim")) != NULL) {
        if (!whole_number(a, -8, 7)) {
            ir_diag_error(d, a->loc,
                          "prune: dim is a dimension of the weight (0: output channels), "
                          "not '%s'",
                          a->text);
            ok = false;
        } else
            o->dim = (int)a->number;
    }
    /* remove: on by default for ln_structured along dim 0 (docs/pruning.md) */
    o->remove = o->method == PM_LN && o->dim == 0;
    if ((o->remove_arg = pass_arg(args, "remove")) != NULL && o->method == PM_LN) {
        a = o->remove_arg;
        bool t = a->kind == PASS_ARG_NAME && strcmp(a->text, "true") == 0;
        if (!t && !(a->kind == PASS_ARG_NAME && strcmp(a->text, "false") == 0)) {
            ir_diag_error(d, a->loc, "prune: remove is true or false, not '%s'", a->text);
            ok = false;
        } else if (t && o->dim != 0) {
            ir_diag_error(d, a->loc,
                          "prune: remove=true removes output channels: it needs dim=0, not "
                          "dim=%d",
                          o->dim);
            ok = false;
        } else
            o->remove = t;
    }
    a = pass_arg(args, "n");
    if (a && o->method == PM_LN) {
        if (a->kind == PASS_ARG_NAME && strcmp(a->text, "inf") == 0)
            o->p = INFINITY;
        else if (a->kind == PASS_ARG_NUMBER && a->number > 0 && isfinite(a->number))
            o->p = a->number;
        else {
            ir_diag_error(d, a->loc, "prune: n is the norm's order (1, 2, inf), not '%s'", a->text);
            ok = false;
        }
    }
    if (o->method == PM_NM) {
        const PassArg *m = pass_arg(args, "m");
        o->m_arg = m;
        if (m && !whole_number(m, 2, 256)) {
            ir_diag_error(d, m->loc,
                          "prune: m is the group size, a whole number in [2, 256], not "
                          "'%s'",
                          m->text);
            return false;
        }
        o->m = m ? (int)m->number : 4;
        if (a && !whole_number(a, 1, o->m - 1)) {
            ir_diag_error(d, a->loc,
                          "prune: n is how many weights of every m=%d stay, a whole number in "
                          "[1, %d], not '%s'",
                          o->m, o->m - 1, a->text);
            return false;
        }
        o->n = a ? (int)a->number : o->m / 2; /* 2:4, 4:8 ... */
    }
    return ok;
}

/* ---- the pass ---- */

/* Checks layer l for o (reporting at the argument at fault; named: the user chose it) and
 * sets *k, the count it prunes (elements, or slices for ln_structured); false after an error,
 * or when a default layer does not fit (a warning, *skip). */
static bool check_layer(Graph *g, const PruneLayer *l, const PruneOpts *o, const PassArgs *args,
                        bool named, int64_t *k, bool *skip, Diag *d)
{
    const char *lname = g->nodes[l->node].name ? g->nodes[l->node].name : "?";
    const char *wname = g->values[l->weight].name ? g->values[l->weight].name : "?";
    *skip = false;
    switch (o->method) {
    case PM_L1:
    case PM_RANDOM:
        if (o->global)
            return true;
        *k = pass_prune_nparams(&o->amount, l->numel);
        if (*k < 0) {
            ir_diag_error(d, o->amount_arg->loc,
                          "prune: amount=%s is more than the %lld weights of '%s' (%s)",
                          o->amount_arg->text, (long long)l->numel, lname, wname);
            return false;
        }
        return true;
    case PM_LN: {
        int dim = o->dim < 0 ? o->dim + l->rank : o->dim;
        if (dim < 0 || dim >= l->rank) {
            const PassArg *da = pass_arg(args, "dim");
            ir_diag_error(d, da ? da->loc : args->loc,
                          "prune: dim=%d is not a dimension of '%s' (%s has %d)", o->dim, lname,
                          wname, l->rank);
            return false;
        }
        int64_t size = l->shape[dim];
        *k = pass_prune_nparams(&o->amount, size);
        if (*k < 0) {
            ir_diag_error(d, o->amount_arg->loc,
                          "prune: amount=%s is more than the %lld slices along dim %d of '%s'",
                          o->amount_arg->text, (long long)size, dim, lname);
            return false;
        }
        if (*k == size && size > 0) {
            ir_diag_error(d, o->amount_arg->loc,
                          "prune: amount=%s would remove all %lld %s of '%s' (dim %d); keep at "
                          "least one",
                          o->amount_arg->text, (long long)size,
                          dim == 0 ? "output channels" : "slices", lname, dim);
            return false;
        }
        return true;
    }
    case PM_NM:
        if (l->shape[1] % o->m == 0)
            return true;
        if (!named) {
            ir_diag_warning(d, args->loc,
                            "prune: '%s' left dense: its %lld input channels are not groups "
                            "of m=%d",
                            lname, (long long)l->shape[1], o->m);
            *skip = true;
            return false;
        }
        ir_diag_error(d, o->m_arg ? o->m_arg->loc : args->loc,
                      "prune: m=%d does not divide the %lld input %s of '%s' (N:M groups run "
                      "along them)",
                      o->m, (long long)l->shape[1],
                      g->nodes[l->node].op == IR_OP_CONV2D ? "channels" : "features", lname);
        return false;
    }
    return false;
}

/* Prunes layers[0..n) together: one selection over their weights concatenated in order
 * (torch.nn.utils.prune.global_unstructured). */
static bool prune_global(Graph *g, const PruneLayer *layers, int n, const PruneOpts *o, Diag *d)
{
    int64_t total = 0;
    for (int i = 0; i < n; i++)
        total += layers[i].numel;
    int64_t k = pass_prune_nparams(&o->amount, total);
    if (k < 0) {
        ir_diag_error(d, o->amount_arg->loc,
                      "prune: amount=%s is more than the %lld weights of the %d layers pruned "
                      "together",
                      o->amount_arg->text, (long long)total, n);
        return false;
    }
    float *all = malloc(sizeof(float) * (size_t)(total ? total : 1));
    uint8_t *mask = malloc((size_t)(total ? total : 1));
    SLIMC_ASSERT(all && mask);
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        float *w = pass_prune_logical(g, &layers[i]);
        SLIMC_ASSERT(w);
        memcpy(all + at, w, sizeof(float) * (size_t)layers[i].numel);
        free(w);
        at += layers[i].numel;
    }
    if (o->method == PM_L1)
        pass_prune_mask_l1(all, total, k, mask);
    else
        pass_prune_mask_random(total, k, o->seed, mask);
    at = 0;
    for (int i = 0; i < n; i++) {
        apply_mask(g, &layers[i], mask + at);
        at += layers[i].numel;
    }
    free(all);
    free(mask);
    return true;
}

static void prune_one(Graph *g, const PruneLayer *l, const PruneOpts *o, int64_t k)
{
    float *w = pass_prune_logical(g, l);
    uint8_t *mask = malloc((size_t)(l->numel ? l->numel : 1));
    SLIMC_ASSERT(w && mask);
    switch (o->method) {
    case PM_L1: pass_prune_mask_l1(w, l->numel, k, mask); break;
    case PM_RANDOM: pass_prune_mask_random(l->numel, k, o->seed, mask); break;
    case PM_LN:
        pass_prune_mask_ln(w, l->rank, l->shape, o->dim < 0 ? o->dim + l->rank : o->dim, o->p, k,
                           mask);
        break;
    case PM_NM: pass_prune_mask_nm(w, l->rank, l->shape, o->n, o->m, mask); break;
    }
    apply_mask(g, l, mask);
    free(w);
    free(mask);
}

bool pass_prune(Graph *g, const PassArgs *args, Diag *d)
{
    PruneOpts o;
    if (!read_opts(args, &o, d))
        return false;
    /* exported linear layers (matmul by a constant [K, N], + a bias add) as the linears
     * the layout pass would make of them (w_transposed: read in place), so that they prune
     * as nn.Linear does: PyTorch's weight is their transpose */
    pass_quant_take_matmuls(g, true);
    /* every prunable layer, each weight once, in graph order */
    PruneLayer *all = ir_arena_alloc(g->arena, sizeof(PruneLayer) * (size_t)(g->n_nodes + 1));
    int n_all = 0;
    for (NodeId i = 0; i < g->n_nodes; i++) {
        PruneLayer l;
        if (!pass_prune_layer_of(g, i, &l))
            continue;
        bool seen = false;
        for (int k = 0; k < n_all && !seen; k++)
            seen = all[k].weight == l.weight;
        if (!seen)
            all[n_all++] = l;
    }
    bool *chosen = ir_arena_alloc(g->arena, sizeof(bool) * (size_t)(n_all + 1));
    bool named = false, ok = true;
    for (int i = 0; i < args->n; i++) {
        const PassArg *a = &args->args[i];
        if (a->key || (a->kind != PASS_ARG_NAME && a->kind != PASS_ARG_STRING))
            continue;
        named = true;
        ok = choose(g, a, all, n_all, chosen, d) && ok;
    }
    PruneLayer *sel = ir_arena_alloc(g->arena, sizeof(PruneLayer) * (size_t)(n_all + 1));
    int64_t *counts = ir_arena_alloc(g->arena, sizeof(int64_t) * (size_t)(n_all + 1));
    int n_sel = 0;
    for (int i = 0; i < n_all; i++) {
        if (named && !chosen[i])
            continue;
        bool skip;
        int64_t k = 0;
        if (check_layer(g, &all[i], &o, args, named, &k, &skip, d)) {
            counts[n_sel] = k;
            sel[n_sel++] = all[i];
        } else if (!skip)
            ok = false;
    }
    if (!ok)
        return false;
    if (n_sel == 0 && !named)
        ir_diag_warning(d, args->loc,
                        "prune: model '%s' has no conv2d or linear layer whose weight is an f32 "
                        "constant: nothing pruned",
                        g->name);
    if (o.global) {
        if (!prune_global(g, sel, n_sel, &o, d))
            return false;
    } else
        for (int i = 0; i < n_sel; i++)
            prune_one(g, &sel[i], &o, counts[i]);
    if (o.remove) {
        /* the channels the chosen layers make, all zero now (or zero already), leave */
        bool *from = ir_arena_alloc(g->arena, sizeof(bool) * (size_t)(g->n_nodes + 1));
        for (int i = 0; i < n_sel; i++)
            from[sel[i].node] = true;
        if (!pass_prune_remove_channels(g, from, NULL, d))
            return false;
    }
    pass_prune_measure(g);
    return true;
}
