/* slimc inspect --placement: what the place pass decided (passes/place.h: PlaceReport) and
 * why, node by node, with the predicted totals against one device alone. A model placed by
 * --device cpu or cuda (no place(auto), no --device auto) gets the same table for where it
 * is, predicted with its profile (the built-in one when none was given). */
#include "api/api_internal.h"

#include "ir/text_escape.h"
#include "passes/cost_model.h"
#include "passes/place.h"

#include <math.h>
#include <string.h>

static void print_ms(FILE *out, double ms)
{
    if (isfinite(ms))
        fprintf(out, " %10.4f", ms);
    else
        fprintf(out, " %10s", "-");
}

static void print_mib(FILE *out, double bytes)
{
    fprintf(out, "%.2f MiB", bytes / 1048576.0);
}

/* The table: one line per node of the report, then the totals. */
static void print_report(const Graph *g, const PlaceReport *r, FILE *out)
{
    fprintf(out, "  %-28s %-12s %10s %10s %10s  %-7s%s\n", "node", "op", "cpu ms", "gpu ms",
            "in ms", "device", "why");
    double in_sum = 0;
    for (int i = 0; i < r->n; i++) {
        const PlaceNode *pn = &r->nodes[i];
        char name[IR_ESC_NAME_BUF];
        fprintf(out, "  %-28s %-12s", ir_esc_term(name, sizeof name, pn->name ? pn->name : "?"),
                ir_ops[pn->op].name);
        print_ms(out, pn->ms[0]);
        print_ms(out, pn->ms[1]);
        if (pn->in_ms > 0)
            print_ms(out, pn->in_ms);
        else
            fprintf(out, " %10s", "");
        in_sum += pn->in_ms;
        fprintf(out, "  %-7s%s", ir_device_name(pn->device), place_why_name(pn->why));
        if (pn->detail) {
            fputs(": ", out);
            ir_esc_term_put(out, pn->detail);
        }
        fputc('\n', out);
    }
    fprintf(out, "  predicted %.4f ms (all on the CPU %.4f ms, all on the GPU ", r->total_ms,
            r->all_cpu_ms);
    if (isfinite(r->all_gpu_ms))
        fprintf(out, "%.4f ms)\n", r->all_gpu_ms);
    else
        fputs("impossible: a node has no GPU kernel)\n", out);
    fprintf(out, "  transfers: %d, %.4f ms", r->n_transfers, r->transfer_ms);
    if (r->transfer_ms - in_sum > 1e-12)
        fprintf(out, " (outputs copied back to the caller: %.4f ms)", r->transfer_ms - in_sum);
    fputs("\n  GPU memory: ", out);
    print_mib(out, r->gpu_bytes);
    fputs(" (weights + arena estimate)", out);
    if (r->budget_mb > 0)
        fprintf(out, ", budget %.0f MiB", r->budget_mb);
    fputc('\n', out);
    fputs("  profile: ", out);
    ir_esc_term_put(out, r->profile ? r->profile : "?");
    fprintf(out, " (hash %016llx)", (unsigned long long)r->profile_hash);
    if (g->n_syms)
        fprintf(out, ", symbols at %lld",
                (long long)(g->place.sym_value > 0 ? g->place.sym_value : 1));
    fputc('\n', out);
}

SlimcStatus slimc_model_placement(SlimcContext *ctx, SlimcModel *m, FILE *out)
{
    if (!m->optimized && slimc_model_optimize(ctx, m, NULL) != SLIMC_OK)
        return SLIMC_ERROR;
    Graph *g = m->g;
    const PlaceReport *r = g->place.report;
    if (g->place.automatic && r) {
        fputs("placement: decided by the place pass (minimum cut of the predicted times and "
              "transfers)\n",
              out);
        print_report(g, r, out);
        return SLIMC_OK;
    }
    const char *dev = api_device_name(m->device);
    if (r) { /* pins alone (place(NAME, device=D)): the rest where the device put it */
        fputs("placement: pinned by place(..., device=D); the other nodes where --device put "
              "them\n",
              out);
        print_report(g, r, out);
        return SLIMC_OK;
    }
    fprintf(out, "placement: placed by --device %s: every node on the %s\n", dev,
            m->device == IR_DEVICE_CUDA ? "GPU" : "CPU");
    print_report(g, place_report_current(g, g->place.profile), out);
    return SLIMC_OK;
}
