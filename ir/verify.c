/* The IR checker that runs between passes: structural invariants only (a failure is a bug
 * in slimc, not the user's mistake). */
#include "ir/checked.h"
#include "ir/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Why shape s of dtype t is not a tensor slimc can hold (NULL when it is): a negative
 * dimension, an element count over int64_t, or more than IR_MAX_TENSOR_BYTES bytes.
 * Symbols count as 1, their smallest value; run time checks them again with their values. */
static const char *size_fault(DType t, const Shape *s)
{
    int64_t dims[IR_MAX_RANK], numel;
    size_t bytes;
    for (int i = 0; i < s->rank; i++)
        if ((dims[i] = s->d[i].c) < 0)
            return "negative dimension";
    if (!ir_ckd_numel(dims, s->rank, &numel))
        return "element count overflows";
    if (!ir_ckd_bytes(t, numel, &bytes))
        return "byte size overflows";
    return NULL;
}

bool ir_check_size(const Graph *g, ValueId v, Diag *d)
{
    const Value *val = &g->values[v];
    const Shape *s = &val->type.shape;
    const char *fault =
        s->rank >= 0 && s->rank <= IR_MAX_RANK ? size_fault(val->type.dtype, s) : NULL;
    if (!fault)
        return true;
    char dims[IR_MAX_RANK * 48 + 8] = "";
    size_t len = 0;
    for (int i = 0; i < s->rank; i++) {
        char dim[40];
        if (s->d[i].c < 0)
            snprintf(dim, sizeof dim, "%lld", (long long)s->d[i].c);
        else
            ir_dim_str(g, s->d[i], dim, sizeof dim);
        len += (size_t)snprintf(dims + len, sizeof dims - len, "%s%s", i ? " x " : "", dim);
    }
    ir_diag_error(d, val->loc, "tensor '%s': %s (dims %s, %s)", val->name, fault, dims,
                  ir_dtype_name(val->type.dtype));
    return false;
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        ir_diag_error(d, (SrcLoc){0}, "internal: IR verifier: " __VA_ARGS__);                      \
        ok = false;                                                                                \
    } while (0)

static bool valid_value(const Graph *g, ValueId v)
{
    return v >= 0 && v < g->n_values;
}

/* Whether a node's attribute of kind have can be read as an attribute of kind want (the
 * accessors' conversions: one int stands for a list, an int for a float). */
static bool attr_kind_fits(AttrKind have, AttrKind want)
{
    return have == want || (have == IR_ATTR_INT && (want == IR_ATTR_INTS || want == IR_ATTR_FLOAT));
}

/* Why attribute a does not fit op's row (ops.def, attrs.def), or NULL when it does. */
static const char *attr_fault(OpKind op, const Attr *a)
{
    bool named = false;
    for (int k = 0; k < IR_NUM_ATTRS; k++) {
        if (strcmp(ir_attr_info[k].name, a->name) != 0)
            continue;
        named = true;
        if (ir_op_takes_attr(op, (IrAttrId)k) && attr_kind_fits(a->kind, ir_attr_info[k].kind))
            return NULL;
    }
    return named ? "is not one its op takes with that kind" : "is no attribute of the IR";
}

bool ir_verify(const Graph *g, Diag *d)
{
    bool ok = true;
    /* defined[v]: v is available at this point of the node order. */
    bool *defined = calloc((size_t)g->n_values + 1, 1);
    SLIMC_ASSERT(defined);
    for (int i = 0; i < g->n_values; i++) {
        const Value *v = &g->values[i];
        if (v->kind == IR_VALUE_CONST) {
            defined[i] = true;
            if (!v->data && ir_dtype_bytes(v->type.dtype, 1) && v->data_bytes)
                FAIL("constant '%s' has no data", v->name);
        }
        if (v->kind == IR_VALUE_INPUT)
            defined[i] = true;
        if (v->type.shape.rank < 0 || v->type.shape.rank > IR_MAX_RANK)
            FAIL("value '%s' has no valid type", v->name);
        if ((unsigned)v->type.dtype >= IR_NUM_DTYPES)
            FAIL("value '%s' has a bad dtype", v->name);
        else if (v->type.shape.rank >= 0 && v->type.shape.rank <= IR_MAX_RANK &&
                 size_fault(v->type.dtype, &v->type.shape))
            FAIL("value '%s': %s", v->name, size_fault(v->type.dtype, &v->type.shape));
    }
    for (int i = 0; i < g->n_inputs; i++)
        if (!valid_value(g, g->inputs[i]) || g->values[g->inputs[i]].kind != IR_VALUE_INPUT)
            FAIL("graph input %d is not an input value", i);
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead)
            continue;
        if ((unsigned)n->op >= IR_NUM_OPS) {
            FAIL("node %d has a bad op", i);
            continue;
        }
        const OpInfo *info = &ir_ops[n->op];
        if (n->n_inputs < info->min_inputs || n->n_inputs > info->max_inputs)
            FAIL("node '%s' (%s) has %d inputs", n->name, info->name, n->n_inputs);
        for (int j = 0; j < n->n_inputs; j++) {
            ValueId v = n->inputs[j];
            if (v == IR_NONE)
                continue;
            if (!valid_value(g, v))
                FAIL("node '%s' input %d is out of range", n->name, j);
            else if (!defined[v])
                FAIL("node '%s' reads '%s' before it is defined", n->name, g->values[v].name);
        }
        if (n->n_epilogue < 0 || n->n_epilogue > IR_MAX_EPILOGUE)
            FAIL("node '%s' has a bad epilogue", n->name);
        for (int j = 0; j < n->n_epilogue && j < IR_MAX_EPILOGUE; j++) {
            const Epilogue *e = &n->epilogue[j];
            unsigned f = (unsigned)e->op < IR_NUM_OPS ? ir_ops[e->op].flags : 0;
            if (!(f & IR_F_ELEMENTWISE))
                FAIL("node '%s' epilogue %d is not elementwise", n->name, j);
            else if (!(f & IR_F_EPILOGUE))
                FAIL("node '%s' epilogue %d is not an epilogue op", n->name, j);
            if ((f & IR_F_BINARY) && (!valid_value(g, e->operand) || !defined[e->operand]))
                FAIL("node '%s' epilogue %d has a bad operand", n->name, j);
            if (!(f & IR_F_BINARY) && e->operand != IR_NONE)
                FAIL("node '%s' epilogue %d: a unary op has an operand", n->name, j);
        }
        for (int j = 0; j < n->n_attrs; j++) {
            const char *why = attr_fault(n->op, &n->attrs[j]);
            if (why)
                FAIL("node '%s' (%s): attribute '%s' %s", n->name, info->name, n->attrs[j].name,
                     why);
        }
        if (n->n_epilogue && !(info->flags & (IR_F_FUSE_HEAD | IR_F_ELEMENTWISE)))
            FAIL("node '%s' (%s) cannot carry an epilogue", n->name, info->name);
        for (int j = 0; j < n->n_outputs; j++) {
            ValueId v = n->outputs[j];
            if (!valid_value(g, v)) {
                FAIL("node '%s' output %d is out of range", n->name, j);
                continue;
            }
            if (defined[v])
                FAIL("value '%s' is defined twice", g->values[v].name);
            if (g->values[v].producer != i)
                FAIL("value '%s' does not name node '%s' as its producer", g->values[v].name,
                     n->name);
            defined[v] = true;
        }
    }
    for (int i = 0; i < g->n_outputs; i++)
        if (!valid_value(g, g->outputs[i]) || !defined[g->outputs[i]])
            FAIL("graph output %d is never computed", i);
    free(defined);
    return ok;
}
