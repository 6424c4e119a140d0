/* ONNX If. A condition known at import (a constant, or folded from static shapes) imports
 * the taken branch only: its nodes join the graph and If's outputs are its outputs, so
 * nothing of the other branch is compiled (it may use ops or shapes slimc lacks). A
 * condition computed at run time imports both branches and selects each output with a
 * where on the 0-d condition: both are computed, so each output pair must agree in dtype
 * and shape (the IR has no value of a run-time shape), and the branches may not define the
 * same name (one scope holds both). Dispatched from frontend/onnx_ops_nn.c. */
#ifdef SLIMC_WITH_ONNX
#include "frontend/onnx_internal.h"

#include <string.h>

/* The branch attribute name ("then_branch"/"else_branch") of n, NULL (and the caller told)
 * when absent or not a graph. */
static const Onnx__GraphProto *branch(const OxNode *n, const char *name)
{
    const Onnx__AttributeProto *a = ox_attr(n, name);
    return a && a->g ? a->g : NULL;
}

/* The entries of gp's outputs after its import, in out[]; false after a refusal. */
static bool branch_outputs(OxImporter *im, const OxNode *n, const Onnx__GraphProto *gp,
                           const char *which, OxEntry *out, OxResult *r)
{
    if ((int)gp->n_output != n->n_out) {
        ir_diag_error(im->d, n->loc, "node '%s' (If): its %s has %d outputs for %d", n->name, which,
                      (int)gp->n_output, n->n_out);
        *r = OX_ERROR;
        return false;
    }
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *nm = gp->output[i]->name ? gp->output[i]->name : "";
        OxEntry *e = ox_lookup(im, nm);
        if (!e || e->broken) {
            *r = ox_unsupported(im, n,
                                "its %s's output '%.80s' is not computed (a node of it "
                                "cannot be imported)",
                                which, nm);
            return false;
        }
        out[i] = *e; /* a copy: the other branch may rebind the name */
    }
    return true;
}

/* Whether a node of gp writes a name already bound (by the other branch); *name set. */
static bool writes_bound(OxImporter *im, const Onnx__GraphProto *gp, const char **name)
{
    for (size_t i = 0; i < gp->n_node; i++)
        for (size_t k = 0; k < gp->node[i]->n_output; k++) {
            const char *o = gp->node[i]->output[k];
            if (o && *o && ox_lookup(im, o)) {
                *name = o;
                return true;
            }
        }
    return false;
}

static void type_text(const Type *t, char *buf, size_t size)
{
    int k = snprintf(buf, size, "%s[", ir_dtype_name(t->dtype));
    for (int i = 0; i < t->shape.rank && k > 0 && (size_t)k < size; i++)
        k += snprintf(buf + k, size - (size_t)k, i ? ", %lld" : "%lld", (long long)t->shape.d[i].c);
    if (k > 0 && (size_t)k < size)
        snprintf(buf + k, size - (size_t)k, "]");
}

OxResult ox_op_if(OxImporter *im, OxNode *n)
{
    const Onnx__GraphProto *gt = branch(n, "then_branch"), *ge = branch(n, "else_branch");
    if (!gt || !ge) {
        ir_diag_error(im->d, n->loc,
                      "node '%s' (If): then_branch and else_branch are required "
                      "graph attributes",
                      n->name);
        return OX_ERROR;
    }
    OxEntry *outs[2];
    outs[0] = ir_arena_alloc(im->g->arena, sizeof(OxEntry) * (size_t)(n->n_out + 1));
    outs[1] = ir_arena_alloc(im->g->arena, sizeof(OxEntry) * (size_t)(n->n_out + 1));
    OxResult r = OX_OK;
    const OxConst *cc = ox_const_in(n, 0);
    if (cc) { /* known now: the taken branch only */
        if (ox_const_numel(cc) != 1) {
            ir_diag_error(im->d, n->loc, "node '%s' (If): the condition has %lld elements, not 1",
                          n->name, (long long)ox_const_numel(cc));
            return OX_ERROR;
        }
        bool taken = ox_const_get(cc, 0) != 0;
        const Onnx__GraphProto *gp = taken ? gt : ge;
        const char *which = taken ? "then_branch" : "else_branch";
        if (!ox_import_subgraph(im, gp))
            return OX_ERROR;
        if (!branch_outputs(im, n, gp, which, outs[0], &r))
            return r;
        for (int i = 0; i < n->n_out; i++) {
            if (outs[0][i].is_const)
                ox_bind_const(im, n->out[i], &outs[0][i].c);
            else
                ox_bind_value(im, n->out[i], ox_nn_copy(im, n, outs[0][i].v));
        }
        return OX_OK;
    }
    ValueId cond = ox_in(im, n, 0);
    if (ox_ty(im, cond)->dtype != IR_BOOL || !ir_shape_static(&ox_ty(im, cond)->shape))
        return ox_unsupported(im, n, "a condition that is not a static bool");
    const char *dup = NULL;
    if (!ox_import_subgraph(im, gt) || !branch_outputs(im, n, gt, "then_branch", outs[0], &r))
        return r == OX_OK ? OX_ERROR : r;
    if (writes_bound(im, ge, &dup))
        return ox_unsupported(im, n,
                              "both branches define '%.80s' (a run-time condition imports "
                              "both into one scope)",
                              dup);
    if (!ox_import_subgraph(im, ge) || !branch_outputs(im, n, ge, "else_branch", outs[1], &r))
        return r == OX_OK ? OX_ERROR : r;
    cond = ox_nn_reshape(im, n, cond, NULL, 0); /* 0-d: broadcasts to any output */
    for (int i = 0; i < n->n_out; i++) {
        ValueId a = ox_value(im, &outs[0][i]), b = ox_value(im, &outs[1][i]);
        const Type *ta = ox_ty(im, a), *tb = ox_ty(im, b);
        bool same = ta->dtype == tb->dtype && ta->shape.rank == tb->shape.rank;
        for (int k = 0; same && k < ta->shape.rank; k++)
            same = ir_dim_eq(ta->shape.d[k], tb->shape.d[k]);
        if (!same) {
            char sa[96], sb[96];
            type_text(ta, sa, sizeof sa);
            type_text(tb, sb, sizeof sb);
            return ox_unsupported(im, n,
                                  "output %d is %s in then_branch and %s in else_branch "
                                  "(a run-time condition needs both alike)",
                                  i, sa, sb);
        }
        ValueId v = ox_nn_where(im, n, cond, a, b);
        if (v == IR_NONE)
            return ox_no_ir_op(im, n, "where");
        ox_bind_value(im, n->out[i], v);
    }
    return OX_OK;
}

#endif
