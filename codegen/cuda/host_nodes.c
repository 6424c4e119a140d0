/* The CPU's part of a mixed-device graph (ir_graph_mixed: the place pass put some nodes on
 * the CPU). The CUDA backend's host half is C already; it takes the C backend's code for
 * those nodes too: the C runtime (runtime/slimc_rt.h) and each CPU node's body function,
 * written by the C backend's own stages into a buffer (CuCtx.host) and pasted into the host
 * half, and in P_run each CPU node's call where the C backend's P_run would make it. The
 * transfer nodes (passes/place_transfers.c) become rt->to_host / rt->to_device copies,
 * which wait for the stream, so a CPU node never reads what a kernel has not finished
 * writing and a kernel never reads a host buffer the CPU reuses. */
#include "codegen/backend.h"
#include "codegen/c/entry.h"
#include "codegen/cuda/cu.h"
#include "ir/dtype_ops.h"

#include <stdlib.h>

bool cu_host_begin(CgCtx *c, const CgOptions *o)
{
    CuCtx *cu = cu_ctx(c);
    if (!ir_graph_mixed(c->g))
        return true;
    cu->host_out = open_memstream(&cu->host_text, &cu->host_len);
    SLIMC_ASSERT(cu->host_out);
    CgOptions co = {
        .prefix = c->prefix, .source_name = o ? o->source_name : NULL, .shared_kernels = false};
    cu->host = cg_backend_c.begin(c->g, &co, cu->host_out, c->d);
    cu->host->label = "C backend (the CPU's nodes of a mixed model)";
    return cu->host->ok;
}

bool cu_host_node(CgCtx *c, NodeId id)
{
    CuCtx *cu = cu_ctx(c);
    const Node *n = &c->g->nodes[id];
    SLIMC_ASSERT(cu->host);
    if (n->op == IR_OP_TRANSFER) {
        cg_printf(c, "/* (a copy to the %s: in the host half) */\n\n", ir_device_name(n->device));
        return c->ok;
    }
    cg_printf(c, "/* (on the CPU: its C code is in the host half) */\n\n");
    if (!cg_backend_c.node(cu->host, id))
        c->ok = false;
    return c->ok;
}

void cu_host_paste(CgCtx *c)
{
    CuCtx *cu = cu_ctx(c);
    if (!cu->host)
        return;
    fflush(cu->host_out);
    cg_printf(c, "/* ---- the CPU's nodes (the C backend's code) ---- */\n\n");
    fwrite(cu->host_text, 1, cu->host_len, c->out);
    cg_printf(c, "\n/* ---- the GPU's launches ---- */\n\n");
    cg_entry_host_arena_fn(c);
}

void cu_host_entry_locals(CgCtx *c)
{
    if (!cu_ctx(c)->host)
        return;
    cg_printf(c, "    /* the CPU's part: its arena, the weights it reads, its threads */\n"
                 "    unsigned char *hbase = (unsigned char *)rt->host_arena;\n"
                 "    const void *const *host_consts = rt->host_consts;\n"
                 "    const int nthreads = rt->nthreads;\n"
                 "    (void)hbase;\n    (void)host_consts;\n    (void)nthreads;\n");
}

/* A transfer: the copy, synchronous with the stream. */
static void transfer_call(CgCtx *c, NodeId id)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    const ValueId in = n->inputs[0], out = n->outputs[0];
    Dim ne;
    if (!cg_numel(c, id, &g->values[out].type.shape, &ne))
        return;
    const bool up = n->device == IR_DEVICE_CUDA;
    cg_printf(c, "    /* %s: %s to the %s */\n", cg_text(c, n->name),
              cg_text(c, g->values[in].name), up ? "GPU" : "CPU");
    cg_printf(c, "    if (rt->%s(rt->ctx, %s, %s, %s))\n        return 5;\n",
              up ? "to_device" : "to_host", c->val_names[out], c->val_names[in],
              cg_strf(c, "%zu * (size_t)%s", ir_dtype_bytes(g->values[out].type.dtype, 1),
                      cg_dim(c, ne)));
}

bool cu_host_call(CgCtx *c, NodeId id)
{
    CuCtx *cu = cu_ctx(c);
    const Node *n = &c->g->nodes[id];
    if (n->op == IR_OP_TRANSFER) {
        transfer_call(c, id);
        return c->ok;
    }
    /* the C backend's statements; a body's call in a block of its own: its slimc_args `a`
     * and error flag, beside the launches' slimc_kargs `a` (views and in-place concats call
     * nothing) */
    const bool body = !(ir_ops[n->op].flags & IR_F_VIEW) && !cg_concat_in_place(c->g, n);
    if (body)
        cg_printf(c, "    {\n    slimc_args a;\n    int err = 0;\n");
    FILE *keep = cu->host->out;
    cu->host->out = c->out;
    const bool ok = cg_backend_c.call(cu->host, id);
    cu->host->out = keep;
    if (body)
        cg_printf(c, "    if (err)\n        return 3;\n    }\n");
    if (!ok)
        c->ok = false;
    return c->ok;
}

bool cu_host_end(CgCtx *c)
{
    CuCtx *cu = cu_ctx(c);
    bool ok = true;
    if (cu->host) {
        ok = cg_backend_c.end(cu->host);
        cu->host = NULL;
    }
    if (cu->host_out)
        fclose(cu->host_out);
    free(cu->host_text);
    cu->host_out = NULL;
    cu->host_text = NULL;
    return ok;
}
