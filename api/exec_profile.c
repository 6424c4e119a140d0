/* --profile: the per-node timers the C backend compiles in (CgOptions.profile), read back
 * after runs as a table (slowest first) and a Chrome trace (docs/cli.md, "--profile"). */
#include "api/api_internal.h"

#include "ir/text_escape.h"
#include "runtime/exec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct ProfRow {
    NodeId id;
    double ms; /* per run */
} ProfRow;

/* The three arrays P_prof_ms, P_prof_start, P_prof_last of e's code, or false. */
static bool prof_arrays(SlimcExec *e, double **ms, double **start, double **last)
{
    if (!e->profile || !e->mod)
        return false;
    *ms = rt_symbol(e->mod, "slimc_model_prof_ms");
    *start = rt_symbol(e->mod, "slimc_model_prof_start");
    *last = rt_symbol(e->mod, "slimc_model_prof_last");
    return *ms && *start && *last;
}

void api_exec_profile_reset(SlimcExec *e)
{
    double *ms, *start, *last;
    if (!prof_arrays(e, &ms, &start, &last))
        return;
    size_t n = (size_t)(e->m->g->n_nodes > 0 ? e->m->g->n_nodes : 1);
    memset(ms, 0, n * sizeof *ms);
    rt_exec_count_reset(e->ex);
}

static int by_time(const void *a, const void *b)
{
    const ProfRow *x = a, *y = b;
    return x->ms < y->ms ? 1 : x->ms > y->ms ? -1 : x->id - y->id;
}

/* "conv2d+relu": the op and its fused epilogue ops. */
static void op_text(const Node *n, char *buf, size_t cap)
{
    size_t k = (size_t)snprintf(buf, cap, "%s", ir_ops[n->op].name);
    for (int j = 0; j < n->n_epilogue && k < cap; j++)
        k += (size_t)snprintf(buf + k, cap - k, "+%s", ir_ops[n->epilogue[j].op].name);
}

/* s as a JSON string's contents (names come from the model). */
static void json_text(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
}

static bool write_trace(SlimcContext *ctx, SlimcExec *e, const double *start, const double *last,
                        const int64_t *syms, const char *path)
{
    const Graph *g = e->m->g;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    SLIMC_ASSERT(f);
    fputs("{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n", f);
    bool first = true;
    for (NodeId i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead || last[i] <= 0)
            continue;
        char op[256];
        op_text(n, op, sizeof op);
        fprintf(f, "%s  {\"name\": \"", first ? "" : ",\n");
        json_text(f, n->name ? n->name : op);
        fprintf(f,
                "\", \"cat\": \"node\", \"ph\": \"X\", \"pid\": 1, \"tid\": 1, \"ts\": %.3f, "
                "\"dur\": %.3f, \"args\": {\"op\": \"",
                start[i] * 1e3, last[i] * 1e3);
        json_text(f, op);
        fprintf(f, "\", \"flops\": %.0f, \"bytes\": %.0f}}", ir_ops[n->op].flops(g, n, syms),
                ir_ops[n->op].bytes(g, n, syms));
        first = false;
    }
    fputs("\n]}\n", f);
    fclose(f);
    bool ok = slimc_model_check_output(ctx, e->m, path) == SLIMC_OK;
    FILE *out = ok ? fopen(path, "w") : NULL;
    if (ok && !out)
        ir_diag_error(&ctx->diag, (SrcLoc){path, 0, 0}, "cannot write: %s", strerror(errno));
    if (out) {
        ok = fwrite(buf, 1, len, out) == len;
        ok = fclose(out) == 0 && ok;
        if (!ok)
            ir_diag_error(&ctx->diag, (SrcLoc){path, 0, 0}, "cannot write the trace");
    }
    free(buf);
    return ok && out;
}

SlimcStatus slimc_exec_profile(SlimcContext *ctx, SlimcExec *e, FILE *out, const char *trace_path)
{
    double *ms, *start, *last;
    if (!prof_arrays(e, &ms, &start, &last)) {
        ir_diag_error(&ctx->diag, (SrcLoc){e->m->g->source, 0, 0},
                      "no profile: the model was not compiled with profiling (--profile)");
        return SLIMC_ERROR;
    }
    int runs = rt_exec_runs(e->ex);
    if (runs <= 0) {
        ir_diag_error(&ctx->diag, (SrcLoc){e->m->g->source, 0, 0},
                      "no profile: the model has not run since the last profile");
        return SLIMC_ERROR;
    }
    const Graph *g = e->m->g;
    const int64_t *syms = rt_exec_last_syms(e->ex);
    ProfRow *rows = calloc((size_t)g->n_nodes + 1, sizeof *rows);
    SLIMC_ASSERT(rows);
    int n = 0;
    double total = 0;
    for (NodeId i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead || ms[i] <= 0)
            continue; /* views and in-place concats take no time */
        rows[n].id = i;
        rows[n].ms = ms[i] / runs;
        total += rows[n].ms;
        n++;
    }
    qsort(rows, (size_t)n, sizeof *rows, by_time);
    if (out) {
        fprintf(out, "profile: %d run%s, %.4f ms per run in %d nodes (%d thread%s)\n", runs,
                runs == 1 ? "" : "s", total, n, e->threads, e->threads == 1 ? "" : "s");
        fprintf(out, "%10s %7s %9s %8s  %s\n", "ms/run", "share", "GFLOP/s", "GB/s", "node (op)");
        for (int r = 0; r < n; r++) {
            const Node *nd = &g->nodes[rows[r].id];
            double s = rows[r].ms * 1e-3;
            double fl = ir_ops[nd->op].flops(g, nd, syms), by = ir_ops[nd->op].bytes(g, nd, syms);
            char op[256];
            op_text(nd, op, sizeof op);
            fprintf(out, "%10.4f %6.1f%% %9.2f %8.2f  ", rows[r].ms,
                    total > 0 ? 100 * rows[r].ms / total : 0, s > 0 ? fl / s * 1e-9 : 0,
                    s > 0 ? by / s * 1e-9 : 0);
            slimc_fputs_escaped(nd->name ? nd->name : "?", out);
            fprintf(out, " (%s)\n", op);
        }
    }
    bool ok = !trace_path || write_trace(ctx, e, start, last, syms, trace_path);
    free(rows);
    api_exec_profile_reset(e);
    return ok ? SLIMC_OK : SLIMC_ERROR;
}
