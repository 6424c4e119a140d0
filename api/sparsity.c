/* `slimc inspect --sparsity` (SLIMC_INSPECT_SPARSITY): per conv2d / linear layer, the
 * measured density of its weight, the pattern of its zeros (unstructured, n:m, whole output
 * channels), its bytes and FLOPs, and the kernel that runs it. The density is measured from
 * the weights as they are, so a model pruned elsewhere (PyTorch's zeros stored densely)
 * shows the same as one pruned by slimc's prune pass (passes/prune.h). Every layer runs on
 * the dense kernel in this version: there are no sparse kernels yet (docs/pruning.md). */
#include "api/api_internal.h"

#include "ir/text_escape.h"
#include "passes/prune.h"

#include <stdlib.h>

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

void api_inspect_sparsity(SlimcModel *m, FILE *out)
{
    Graph *g = m->g;
    prune_measure(g); /* Value.sparsity of every prunable weight, from its data */
    int64_t ones[IR_MAX_SYMS];
    for (int i = 0; i < IR_MAX_SYMS; i++)
        ones[i] = 1;
    fprintf(out, "sparsity (conv2d and linear weights; FLOPs of one run%s):\n",
            g->n_syms ? " with every symbol = 1" : "");
    fprintf(out, "  %-24s %-7s %-22s %8s  %-24s %13s %14s  %s\n", "layer", "op", "weight",
            "density", "pattern", "bytes", "FLOPs", "kernel");
    double total = 0, nonzero = 0, bytes = 0, flops = 0, flops_nz = 0;
    int n_layers = 0;
    for (NodeId i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead || (n->op != IR_OP_CONV2D && n->op != IR_OP_LINEAR))
            continue;
        char name[IR_ESC_NAME_BUF], wname[IR_ESC_NAME_BUF];
        ir_esc_term(name, sizeof name, n->name);
        PruneLayer l;
        if (!prune_layer_of(g, i, &l)) {
            const Value *w =
                n->n_inputs > 1 && n->inputs[1] != IR_NONE ? &g->values[n->inputs[1]] : NULL;
            fprintf(out, "  %-24s %-7s %-22s not measured: its weight is not an f32 constant\n",
                    name, ir_ops[n->op].name,
                    ir_esc_term(wname, sizeof wname, w && w->name ? w->name : "?"));
            continue;
        }
        const Value *w = &g->values[l.weight];
        float *lw = prune_logical(g, &l);
        SLIMC_ASSERT(lw);
        char pattern[64];
        prune_pattern(lw, l.rank, l.shape, pattern, sizeof pattern);
        free(lw);
        const double density = 1.0 - (double)w->sparsity;
        const double f = ir_ops[n->op].flops ? ir_ops[n->op].flops(g, n, ones) : 0;
        char b[32];
        fprintf(out, "  %-24s %-7s %-22s %7.2f%%  %-24s %13s %14.0f  dense\n", name,
                ir_ops[n->op].name, ir_esc_term(wname, sizeof wname, w->name ? w->name : "?"),
                100.0 * density, pattern, fmt_bytes(b, sizeof b, (double)w->data_bytes), f);
        n_layers++;
        total += (double)l.numel;
        nonzero += density * (double)l.numel;
        bytes += (double)w->data_bytes;
        flops += f;
        flops_nz += density * f;
    }
    if (!n_layers) {
        fputs("  no conv2d or linear layer with an f32 constant weight\n", out);
        return;
    }
    char b[32];
    fprintf(out,
            "  total: %d layers, %.0f weights, %.0f nonzero (%.2f%% density); %s stored dense; "
            "%.0f FLOPs dense, about %.0f on the nonzeros\n",
            n_layers, total, nonzero, total ? 100.0 * nonzero / total : 0.0,
            fmt_bytes(b, sizeof b, bytes), flops, flops_nz);
    fputs("  kernel: dense for every layer (sparse kernels: not in this version; the zeros are "
          "stored and computed densely)\n",
          out);
}
