/* Private to frontend/onnx_ops_ext.c and frontend/onnx_ops_spatial.c (the ONNX mappings of
 * the index, pooling, resampling and signal ops): their small helpers and the spatial
 * mappings the dispatcher in onnx_ops_ext.c calls. Only built with SLIMC_WITH_ONNX. */
#ifndef SLIMC_FE_ONNX_OPS_EXT_H
#define SLIMC_FE_ONNX_OPS_EXT_H

#include "frontend/onnx_internal.h"

#include <string.h>

/* ox_mk, ox_done and ox_no_ir_op are onnx_ops.c's (frontend/onnx_internal.h). */
static inline OxResult bind(OxImporter *im, const OxNode *n, ValueId v)
{
    ox_bind_value(im, n->out[0], v);
    return OX_OK;
}

/* Inputs 0 .. k-1, all required. */
static inline bool inputs(OxImporter *im, const OxNode *n, ValueId *ins, int k)
{
    for (int i = 0; i < k; i++) {
        if (!ox_has_in(n, i)) {
            ir_diag_error(im->d, n->loc, "node '%s' (%s): input %d is required but missing",
                          n->name, n->p->op_type, i);
            return false;
        }
        ins[i] = ox_in(im, n, i);
    }
    return true;
}

/* Index of s in the list (NULL-terminated), -1 when absent. */
static inline int pick(const char *s, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (!strcmp(s, list[i]))
            return i;
    return -1;
}

/* Constant input i with elements, NULL when absent or empty; *bad when present but not
 * constant. */
static inline const OxConst *opt_const(OxImporter *im, const OxNode *n, int i, bool *bad)
{
    if (!ox_has_in(n, i))
        return NULL;
    const OxConst *c = ox_need_const(im, n, i);
    if (!c) {
        *bad = true;
        return NULL;
    }
    return ox_const_numel(c) > 0 ? c : NULL;
}

/* The DType of an ONNX TensorProto data type; false for one slimc lacks. */
static inline bool onnx_dtype(int64_t t, DType *out)
{
    static const struct {
        int64_t onnx;
        DType dt;
    } map[] = {{1, IR_F32}, {2, IR_U8},   {3, IR_I8},   {5, IR_I16},  {6, IR_I32},
               {7, IR_I64}, {9, IR_BOOL}, {10, IR_F16}, {11, IR_F64}, {16, IR_BF16}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (map[i].onnx == t) {
            *out = map[i].dt;
            return true;
        }
    return false;
}

/* A new constant value of n's, named NAME.SUFFIX, from c. */
static inline ValueId const_value(OxImporter *im, const OxNode *n, const char *suffix,
                                  const OxConst *c)
{
    Type t = {c->dtype, {c->rank, {{0}}}, NULL};
    for (int i = 0; i < c->rank; i++)
        t.shape.d[i] = ir_dim(c->shape[i]);
    return ir_const_new(im->g, ir_arena_printf(im->g->arena, "%s.%s", n->ir_name, suffix), t,
                        c->data, c->nbytes, n->loc);
}

/* A node computing v (graph outputs need one even when v is a constant). */
static inline OxResult bind_copy(OxImporter *im, const OxNode *n, ValueId v)
{
    ValueId c = ox_slice1(im, n, v, 0, 0, INT64_MAX, 1);
    return c == IR_NONE ? ox_no_ir_op(im, n, "slice") : bind(im, n, c);
}

/* A constant i64 tensor of shape s (static) to fill. */
static inline void index_const(OxImporter *im, const Shape *s, OxConst *c)
{
    int64_t shape[IR_MAX_RANK];
    for (int i = 0; i < s->rank; i++)
        shape[i] = s->d[i].c;
    ox_const_make(im, c, IR_I64, s->rank, shape);
}

/* gather_elements / scatter_elements of v along axis with constant indices c. */
static inline ValueId by_index(OxImporter *im, const OxNode *n, const char *op, ValueId v,
                               const OxConst *c, ValueId upd, int64_t axis, int64_t red)
{
    ValueId ins[3] = {v, const_value(im, n, "index", c), upd};
    NodeId id = ox_mk(im, n, op, ins, upd == IR_NONE ? 2 : 3);
    if (id == IR_NONE)
        return IR_NONE;
    ir_node_set_int(im->g, id, "axis", axis);
    if (upd != IR_NONE)
        ir_node_set_int(im->g, id, "reduction", red);
    return ox_done(im, id);
}

/* ---- onnx_ops_spatial.c ---- */
OxResult ox_ext_grid_sample(OxImporter *im, OxNode *n);
OxResult ox_ext_lp_pool(OxImporter *im, OxNode *n);
OxResult ox_ext_affine_grid(OxImporter *im, OxNode *n);
OxResult ox_ext_window(OxImporter *im, OxNode *n, const char *op);
OxResult ox_ext_col2im(OxImporter *im, OxNode *n);
OxResult ox_ext_dft(OxImporter *im, OxNode *n);
OxResult ox_ext_roi_align(OxImporter *im, OxNode *n);

#endif
