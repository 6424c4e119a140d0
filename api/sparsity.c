/* `slimc inspect --sparsity` (SLIMC_INSPECT_SPARSITY): per conv2d / linear layer (and
 * their int8 forms, qconv2d / qlinear, before layout packs them), the measured density of
 * its weight, the pattern of its zeros (unstructured, n:m, whole output channels), its
 * bytes and FLOPs, and the kernel that runs it. The density is measured from
 * the weights as they are, so a model pruned elsewhere (PyTorch's zeros stored densely)
 * shows the same as one pruned by slimc's prune pass (passes/prune.h). The kernel column says
 * what the sparse pass chose (passes/sparse.h: the CSR kernel where the cost model predicts
 * it faster) and why, from the same plan, with the bytes and FLOPs as stored and as run. */
#include "api/api_internal.h"

#include "ir/text_escape.h"
#include "passes/prune.h"
#include "passes/sparse.h"

#include <stdlib.h>
#include <string.h>

/* "1.53 MiB" into buf. */
static const char *fmt_bytes(char *buf, size_t size, double b)
{
    if (b >= 1 << 20)
        snprintf(buf, size, "%.2f MiB", b / (1 << 20));
    else if (b >= 1 << 10)
        snprintf(buf, size, "%.1f KiB", b / (1 << 10));
    else
        snprintf(buf, size, "%.0f B", b);
    return buf;
}

/* The weights of layer node i in PyTorch's layout as f32 (malloc'd; *numel of them, shape
 * in shape[0..*rank)): a conv2d / linear with an f32 constant weight (passes/prune.h), or a
 * qconv2d / qlinear with its i8 codes unpacked (a zero code is a zero weight: the weights
 * are quantized symmetrically). NULL when the weight is neither (or packed by layout). */
static float *layer_weights(const Graph *g, NodeId i, int *rank, int64_t *shape, int64_t *numel)
{
    PruneLayer l;
    if (pass_prune_layer_of(g, i, &l)) {
        *rank = l.rank;
        memcpy(shape, l.shape, sizeof(int64_t) * (size_t)l.rank);
        *numel = l.numel;
        return pass_prune_logical(g, &l);
    }
    const Node *n = &g->nodes[i];
    if ((n->op == IR_OP_QLINEAR || n->op == IR_OP_DQLINEAR) &&
        ir_attr_w_packed(n) != 0) { /* packed by layout */
        int64_t O, K;
        int8_t *q = pass_sparse_q8_weight(g, n, &O, &K);
        if (!q)
            return NULL;
        *rank = 2;
        shape[0] = O;
        shape[1] = K;
        *numel = O * K;
        float *f = malloc(sizeof(float) * (size_t)(*numel));
        SLIMC_ASSERT(f);
        for (int64_t k = 0; k < *numel; k++)
            f[k] = q[k];
        free(q);
        return f;
    }
    if ((n->op != IR_OP_QCONV2D && n->op != IR_OP_QLINEAR && n->op != IR_OP_DQLINEAR) ||
        ir_attr_w_packed(n) != 0 ||
        (n->op == IR_OP_QCONV2D && ir_attr_w_taps(n) != 0)) /* reordered by qtaps */
        return NULL;
    const Value *w = &g->values[n->inputs[1]];
    const Shape *s = &w->type.shape;
    if (w->kind != IR_VALUE_CONST || !w->data || w->type.dtype != IR_I8 || s->rank < 2 ||
        !ir_shape_static(s))
        return NULL;
    *rank = s->rank;
    *numel = 1;
    for (int k = 0; k < s->rank; k++) {
        shape[k] = s->d[k].c;
        *numel *= s->d[k].c;
    }
    if (w->data_bytes != (size_t)*numel)
        return NULL;
    float *f = malloc(sizeof(float) * (size_t)(*numel ? *numel : 1));
    SLIMC_ASSERT(f);
    const int8_t *q = w->data;
    for (int64_t k = 0; k < *numel; k++)
        f[k] = q[k];
    return f;
}

/* The kernel a linear or conv2d runs on (its w_sparse), dense for any other layer. */
static SparseKernel kernel_of(const Node *n)
{
    if (n->op == IR_OP_QLINEAR || n->op == IR_OP_QCONV2D || n->op == IR_OP_DQLINEAR)
        return ir_attr_w_sparse(n) == SPARSE_Q8 ? SPARSE_Q8 : SPARSE_DENSE;
    if (n->op != IR_OP_LINEAR && n->op != IR_OP_CONV2D)
        return SPARSE_DENSE;
    const int64_t k = ir_attr_w_sparse(n);
    return k == SPARSE_CSR ? SPARSE_CSR : k == SPARSE_NM ? SPARSE_NM : SPARSE_DENSE;
}

/* The name of sparse kernel k for plan pl ("csr", "n:m 2:4") into buf. */
static const char *kernel_name(SparseKernel k, const SparsePlan *pl, char *buf, size_t size)
{
    if (k == SPARSE_NM)
        snprintf(buf, size, "n:m %d:%d", pl->nm_n, pl->nm_m);
    else if (k == SPARSE_Q8)
        snprintf(buf, size, "int8 blocks");
    else
        snprintf(buf, size, "%s", k == SPARSE_CSR ? "csr" : "dense");
    return buf;
}

/* The kernel column of a layer: what runs it and why, into buf. With an N:M pattern the
 * other sparse kernel's predicted gain is named too. */
static const char *kernel_text(const Node *n, const SparsePlan *pl, char *buf, size_t size)
{
    const SparseKernel used = kernel_of(n);
    const char *at = pl->at_batch > 1 ? " at batch 64" : "";
    char kname[32], other[96] = "", both[96] = "";
    kernel_name(used != SPARSE_DENSE ? used : pl->kernel, pl, kname, sizeof kname);
    if (pl->candidate && pl->nm_n) { /* the gain of the kernel not used; of both when dense */
        const bool nm = (used != SPARSE_DENSE ? used : pl->kernel) == SPARSE_NM;
        snprintf(other, sizeof other, " (%s predicted %.2fx)", nm ? "csr" : "n:m",
                 nm ? pl->csr_gain : pl->nm_gain);
        snprintf(both, sizeof both, " (csr predicted %.2fx, n:m %.2fx)", pl->csr_gain, pl->nm_gain);
    }
    if (pl->nnz == pl->numel && used == SPARSE_DENSE)
        snprintf(buf, size, "dense (no zeros to skip)");
    else if (!pl->candidate)
        snprintf(buf, size, "dense (%s)", pl->why_not ? pl->why_not : "no sparse kernel");
    else if (used == SPARSE_Q8)
        snprintf(buf, size,
                 "sparse %s: %.1f%% density, %lld of %lld blocks of 4 kept, predicted %.2fx "
                 "faster than the dense int8 %s%s",
                 kname, 100.0 * pl->density, (long long)pl->q8_kept, (long long)pl->q8_blocks,
                 pl->gain, n->op == IR_OP_QCONV2D ? "conv" : "GEMM", at);
    else if (used != SPARSE_DENSE)
        snprintf(buf, size, "sparse %s: %.1f%% density, predicted %.2fx faster%s%s", kname,
                 100.0 * pl->density, used == SPARSE_NM ? pl->nm_gain : pl->csr_gain, at, other);
    else if (pl->q8 && !pl->choose && pl->gain >= 1)
        snprintf(buf, size,
                 "kept dense int8: %.1f%% density, %lld of %lld blocks of 4 kept, int8 blocks "
                 "predicted only %.2fx faster%s (under %.1fx)",
                 100.0 * pl->density, (long long)pl->q8_kept, (long long)pl->q8_blocks, pl->gain,
                 at, SPARSE_MIN_GAIN);
    else if (pl->q8 && !pl->choose)
        snprintf(buf, size,
                 "kept dense int8: %.1f%% density, %lld of %lld blocks of 4 kept, int8 blocks "
                 "predicted %.2fx slower%s",
                 100.0 * pl->density, (long long)pl->q8_kept, (long long)pl->q8_blocks,
                 pl->gain > 0 ? 1.0 / pl->gain : 0.0, at);
    else if (pl->choose) /* a pipeline without the sparse pass */
        snprintf(buf, size, "dense (the sparse pass did not run: %s predicted %.2fx faster%s)",
                 kname, pl->gain, at);
    else if (pl->gain >= 1)
        snprintf(buf, size,
                 "kept dense: %.1f%% density, sparse predicted only %.2fx faster%s (under "
                 "%.1fx)%s",
                 100.0 * pl->density, pl->gain, at, SPARSE_MIN_GAIN, both);
    else
        snprintf(buf, size, "kept dense: %.1f%% density, sparse predicted %.2fx slower%s%s",
                 100.0 * pl->density, pl->gain > 0 ? 1.0 / pl->gain : 0.0, at, both);
    return buf;
}

void api_inspect_sparsity(SlimcModel *m, FILE *out)
{
    Graph *g = m->g;
    pass_prune_measure(g); /* Value.sparsity of every prunable weight, from its data */
    int64_t ones[IR_MAX_SYMS];
    for (int i = 0; i < IR_MAX_SYMS; i++)
        ones[i] = 1;
    CostProfile dflt;
    const CostProfile *prof = g->place.profile;
    if (!prof) {
        cost_profile_default(&dflt);
        prof = &dflt;
    }
    fprintf(out, "sparsity (conv2d and linear weights; FLOPs of one run%s; profile ",
            g->n_syms ? " with every symbol = 1" : "");
    char src[IR_ESC_NAME_BUF];
    fprintf(out, "%s):\n", ir_esc_term(src, sizeof src, prof->source));
    fprintf(out, "  %-24s %-7s %-22s %8s  %-24s %24s %22s  %s\n", "layer", "op", "weight",
            "density", "pattern", "bytes (dense -> run)", "FLOPs (dense -> run)", "kernel");
    double total = 0, nonzero = 0, bytes = 0, bytes_run = 0, flops = 0, flops_run = 0;
    int n_layers = 0, n_sparse = 0, n_nm = 0, n_q8 = 0;
    for (NodeId i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead || (n->op != IR_OP_CONV2D && n->op != IR_OP_LINEAR && n->op != IR_OP_QCONV2D &&
                        n->op != IR_OP_QLINEAR && n->op != IR_OP_DQLINEAR))
            continue;
        char name[IR_ESC_NAME_BUF], wname[IR_ESC_NAME_BUF];
        ir_esc_term(name, sizeof name, n->name);
        int rank;
        int64_t shape[IR_MAX_RANK], numel;
        float *lw = layer_weights(g, i, &rank, shape, &numel);
        if (!lw) {
            const Value *w =
                n->n_inputs > 1 && n->inputs[1] != IR_NONE ? &g->values[n->inputs[1]] : NULL;
            fprintf(out,
                    "  %-24s %-7s %-22s not measured: its weight is not an f32 or unpacked i8 "
                    "constant\n",
                    name, ir_ops[n->op].name,
                    ir_esc_term(wname, sizeof wname, w && w->name ? w->name : "?"));
            continue;
        }
        const Value *w = &g->values[n->inputs[1]];
        char pattern[64];
        pass_prune_pattern(lw, rank, shape, pattern, sizeof pattern);
        int64_t nz = 0;
        for (int64_t k = 0; k < numel; k++)
            nz += lw[k] != 0;
        free(lw);
        const double density = numel ? (double)nz / (double)numel : 1.0;
        const double f = ir_ops[n->op].flops ? ir_ops[n->op].flops(g, n, ones) : 0;
        SparsePlan pl;
        if (!pass_sparse_plan(g, i, prof, &pl) && !pass_sparse_plan_q8(g, i, prof, &pl)) {
            pl.candidate = false;
            pl.why_not = "no weight the int8 block-sparse kernel can read";
        }
        const SparseKernel used = kernel_of(n);
        const bool csr = used == SPARSE_CSR, nm = used == SPARSE_NM, q8 = used == SPARSE_Q8;
        const double b = n->op == IR_OP_QLINEAR || n->op == IR_OP_DQLINEAR ? pl.dense_bytes
                                                                           : (double)w->data_bytes;
        const double b_run = csr ? pl.csr_bytes : nm ? pl.nm_bytes : q8 ? pl.q8_bytes : b;
        const double f_run =
            csr  ? density * f
            : nm ? f * (double)pl.nm_n / (double)(pl.nm_m > 0 ? pl.nm_m : 1)
            : q8 ? f * (double)pl.q8_kept / (double)(pl.q8_blocks > 0 ? pl.q8_blocks : 1)
                 : f;
        char bb[32], br[32], fl[64], kern[300], kname[32];
        snprintf(fl, sizeof fl, "%.0f -> %.0f", f, f_run);
        char bcol[80];
        snprintf(bcol, sizeof bcol, "%s -> %s", fmt_bytes(bb, sizeof bb, b),
                 fmt_bytes(br, sizeof br, b_run));
        /* the row ends with the kernel's name (scripts read the FLOPs before it), the reason
         * on the next line */
        fprintf(out, "  %-24s %-7s %-22s %7.2f%%  %-24s %24s %22s  %s\n", name, ir_ops[n->op].name,
                ir_esc_term(wname, sizeof wname, w->name ? w->name : "?"), 100.0 * density, pattern,
                bcol, fl, kernel_name(used, &pl, kname, sizeof kname));
        fprintf(out, "    %s: %s\n", name, kernel_text(n, &pl, kern, sizeof kern));
        n_layers++;
        n_sparse += csr;
        n_nm += nm;
        n_q8 += q8;
        total += (double)numel;
        nonzero += (double)nz;
        bytes += b;
        bytes_run += b_run;
        flops += f;
        flops_run += f_run;
    }
    if (!n_layers) {
        fputs("  no conv2d or linear layer with a constant weight\n", out);
        return;
    }
    char b[32], br[32];
    fprintf(out,
            "  total: %d layers, %.0f weights, %.0f nonzero (%.2f%% density); %s stored dense, %s "
            "as run; %.0f FLOPs dense, %.0f as run\n",
            n_layers, total, nonzero, total > 0 ? 100.0 * nonzero / total : 0.0,
            fmt_bytes(b, sizeof b, bytes), fmt_bytes(br, sizeof br, bytes_run), flops, flops_run);
    fprintf(out,
            "  kernel: dense for %d layer%s, sparse csr for %d, n:m for %d, int8 blocks for %d "
            "(docs/pruning.md, \"Sparse kernels\")\n",
            n_layers - n_sparse - n_nm - n_q8, n_layers - n_sparse - n_nm - n_q8 == 1 ? "" : "s",
            n_sparse, n_nm, n_q8);
}
