/* The code-generation driver (codegen/backend.h): runs a backend's stages over a graph in
 * the order every backend shares. It knows no op and no target syntax. */
#include "codegen/backend.h"

#include <string.h>

const CgBackend *const cg_backends[] = {&cg_backend_c, &cg_backend_cuda, NULL};

const CgBackend *cg_backend_find(const char *name)
{
    for (int i = 0; cg_backends[i]; i++)
        if (strcmp(cg_backends[i]->name, name) == 0)
            return cg_backends[i];
    return NULL;
}

bool cg_emit(const CgBackend *b, const Graph *g, const CgOptions *o, FILE *out, Diag *d)
{
    if (!g->planned) {
        ir_diag_error(d, (SrcLoc){0}, "%s: the graph has no memory plan (run the memplan pass)",
                      b->label);
        return false;
    }
    CgCtx *c = b->begin(g, o, out, d);
    bool ok = true;
    for (int i = 0; i < g->n_nodes && ok; i++)
        if (!g->nodes[i].dead)
            ok = b->node(c, i);
    if (ok) { /* the entry's stages all run, so that each reports its errors */
        ok = b->arena(c);
        ok = b->entry_begin(c) && ok;
        ok = b->buffers(c) && ok;
        for (int i = 0; i < g->n_nodes && ok; i++)
            if (!g->nodes[i].dead)
                ok = b->call(c, i);
        ok = b->entry_end(c) && ok;
    }
    return b->end(c) && ok;
}
