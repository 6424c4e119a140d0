/* The graph: values, nodes, attributes, and the edits passes make. */
#include "ir/graph.h"

#include "ir/limits.h"
#include "ir/op_fns.h"

#include <stdlib.h>
#include <string.h>

const AttrInfo ir_attr_info[IR_NUM_ATTRS] = {
#define ATTR(id, nm, kind, dflt, ann) [IR_A_##id] = {nm, IR_ATTR_##kind, ann},
#include "ir/attrs.def"
#undef ATTR
};

/* Each row's attribute kinds must be the ones ir/attrs.def gives those ids. */
enum {
#define ATTR(id, nm, kind, dflt, ann) IR_AK_##id = IR_ATTR_##kind,
#include "ir/attrs.def"
#undef ATTR
};
#define A(id, kind)                                                                                \
    _Static_assert((int)IR_AK_##id == (int)IR_ATTR_##kind,                                         \
                   "ops.def: attribute " #id " is not " #kind);
#define ATTRS(...)                                                           __VA_ARGS__
#define OP(e, name, fam, mn, mx, flags, cost, bytes, be, shape, attrs, expr) attrs
#include "ir/ops.def"
#undef OP
#undef A

/* Each op's attribute list (a leading IR_NUM_ATTRS keeps an empty list a valid array). */
#define A(id, kind) IR_A_##id,
#define OP(e, name, fam, mn, mx, flags, cost, bytes, be, shape, attrs, expr)                       \
    static const IrAttrId op_attrs_##e[] = {IR_NUM_ATTRS, attrs};
#include "ir/ops.def"
#undef OP
#undef A
#undef ATTRS

#define E(...)      #__VA_ARGS__
#define NOEXPR      NULL
#define A(id, kind) +1
#define ATTRS(...)  (0 __VA_ARGS__)
const OpInfo ir_ops[IR_NUM_OPS] = {
#define OP(e, name, fam, mn, mx, flags, cost, bytes, be, shape, attrs, expr)                       \
    [IR_OP_##e] = {name,                                                                           \
                   IR_FAM_##fam,                                                                   \
                   mn,                                                                             \
                   mx,                                                                             \
                   flags,                                                                          \
                   be,                                                                             \
                   op_attrs_##e + 1,                                                               \
                   attrs,                                                                          \
                   expr,                                                                           \
                   ir_shape_##shape,                                                               \
                   ir_flops_##cost,                                                                \
                   ir_bytes_##bytes},
#include "ir/ops.def"
#undef OP
};
#undef A
#undef ATTRS
#undef E
#undef NOEXPR

bool ir_op_takes_attr(OpKind op, IrAttrId a)
{
    SLIMC_ASSERT((unsigned)op < IR_NUM_OPS && (unsigned)a < IR_NUM_ATTRS);
    if (ir_attr_info[a].annotation)
        return true;
    for (int i = 0; i < ir_ops[op].n_attrs; i++)
        if (ir_ops[op].attrs[i] == a)
            return true;
    return false;
}

bool ir_op_lookup(const char *name, OpKind *out)
{
    for (int i = 0; i < IR_NUM_OPS; i++)
        if (strcmp(ir_ops[i].name, name) == 0) {
            *out = (OpKind)i;
            return true;
        }
    return false;
}

typedef struct GraphCleanup {
    void (*fn)(void *);
    void *arg;
    struct GraphCleanup *next;
} GraphCleanup;

Graph *ir_graph_new(const char *name)
{
    Arena *a = ir_arena_new();
    Graph *g = ir_arena_alloc(a, sizeof *g);
    g->arena = a;
    g->name = ir_arena_strdup(a, name ? name : "model");
    g->max_memory = ir_default_max_memory();
    return g;
}

void ir_graph_free(Graph *g)
{
    if (!g)
        return;
    for (GraphCleanup *c = g->cleanups; c; c = c->next)
        c->fn(c->arg);
    ir_arena_free(g->arena);
}

static void *dup_array(Arena *a, const void *src, size_t bytes)
{
    void *p = ir_arena_alloc(a, bytes ? bytes : 1);
    if (bytes)
        memcpy(p, src, bytes);
    return p;
}

Graph *ir_graph_clone(const Graph *g)
{
    Graph *c = ir_graph_new(g->name);
    Arena *a = c->arena;
    *c = *g;
    c->arena = a;
    c->cleanups = NULL;
    c->values = dup_array(a, g->values, sizeof(Value) * (size_t)g->cap_values);
    c->nodes = dup_array(a, g->nodes, sizeof(Node) * (size_t)g->cap_nodes);
    for (int i = 0; i < g->n_nodes; i++) {
        Node *n = &c->nodes[i];
        n->inputs = dup_array(a, n->inputs, sizeof(ValueId) * (size_t)n->n_inputs);
        n->outputs = dup_array(a, n->outputs, sizeof(ValueId) * (size_t)n->n_outputs);
        n->attrs = dup_array(a, n->attrs, sizeof(Attr) * (size_t)n->n_attrs);
    }
    c->inputs = dup_array(a, g->inputs, sizeof(ValueId) * (size_t)g->n_inputs);
    c->outputs = dup_array(a, g->outputs, sizeof(ValueId) * (size_t)g->n_outputs);
    if (g->output_names)
        c->output_names = dup_array(a, g->output_names, sizeof(char *) * (size_t)g->n_outputs);
    return c;
}

void ir_graph_on_free(Graph *g, void (*fn)(void *), void *arg)
{
    GraphCleanup *c = ir_arena_alloc(g->arena, sizeof *c);
    c->fn = fn;
    c->arg = arg;
    c->next = g->cleanups;
    g->cleanups = c;
}

int ir_graph_symbol(Graph *g, const char *name)
{
    for (int i = 0; i < g->n_syms; i++)
        if (strcmp(g->sym_names[i], name) == 0)
            return i;
    if (g->n_syms == IR_MAX_SYMS)
        return -1;
    g->sym_names[g->n_syms] = ir_arena_strdup(g->arena, name);
    return g->n_syms++;
}

static ValueId add_value(Graph *g, const char *name, ValueKind kind, Type type, SrcLoc loc)
{
    if (g->n_values == g->cap_values) {
        int cap = g->cap_values ? 2 * g->cap_values : 64;
        g->values = ir_arena_grow(g->arena, g->values, sizeof(Value) * (size_t)g->n_values,
                                  sizeof(Value) * (size_t)cap);
        g->cap_values = cap;
    }
    ValueId id = g->n_values++;
    Value *v = &g->values[id];
    memset(v, 0, sizeof *v);
    v->name = ir_arena_strdup(g->arena, name ? name : "v");
    v->kind = kind;
    v->type = type;
    v->loc = loc;
    v->producer = IR_NONE;
    v->alias_of = IR_NONE;
    return id;
}

ValueId ir_value_new(Graph *g, const char *name, Type type, SrcLoc loc)
{
    return add_value(g, name, IR_VALUE_TEMP, type, loc);
}

ValueId ir_const_new(Graph *g, const char *name, Type type, const void *data, size_t bytes,
                     SrcLoc loc)
{
    ValueId v = add_value(g, name, IR_VALUE_CONST, type, loc);
    g->values[v].data = data;
    g->values[v].data_bytes = bytes;
    return v;
}

ValueId ir_input_new(Graph *g, const char *name, Type type, SrcLoc loc)
{
    ValueId v = add_value(g, name, IR_VALUE_INPUT, type, loc);
    g->inputs = ir_arena_grow(g->arena, g->inputs, sizeof(ValueId) * (size_t)g->n_inputs,
                              sizeof(ValueId) * (size_t)(g->n_inputs + 1));
    g->inputs[g->n_inputs++] = v;
    return v;
}

void ir_output_add(Graph *g, ValueId v)
{
    g->outputs = ir_arena_grow(g->arena, g->outputs, sizeof(ValueId) * (size_t)g->n_outputs,
                               sizeof(ValueId) * (size_t)(g->n_outputs + 1));
    g->output_names =
        ir_arena_grow(g->arena, g->output_names, sizeof(char *) * (size_t)g->n_outputs,
                      sizeof(char *) * (size_t)(g->n_outputs + 1));
    g->outputs[g->n_outputs++] = v;
    g->values[v].is_output = true;
}

void ir_output_set_name(Graph *g, int k, const char *name)
{
    SLIMC_ASSERT(k >= 0 && k < g->n_outputs);
    g->output_names[k] = name ? ir_arena_strdup(g->arena, name) : NULL;
}

void ir_graph_place_all(Graph *g, Device dev)
{
    g->device = dev;
    for (int i = 0; i < g->n_nodes; i++)
        g->nodes[i].device = dev;
}

void ir_values_read_on(const Graph *g, Device dev, bool *out)
{
    memset(out, 0, sizeof *out * (size_t)g->n_values);
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead || n->device != dev)
            continue;
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] != IR_NONE)
                out[n->inputs[k]] = true;
        for (int k = 0; k < n->n_epilogue; k++)
            if (n->epilogue[k].operand != IR_NONE)
                out[n->epilogue[k].operand] = true;
    }
}

bool ir_graph_mixed(const Graph *g)
{
    int first = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead)
            continue;
        if (first < 0)
            first = (int)n->device;
        else if ((int)n->device != first)
            return true;
    }
    return false;
}

NodeId ir_node_new(Graph *g, OpKind op, const char *name, SrcLoc loc, const ValueId *inputs,
                   int n_inputs, int n_outputs)
{
    SLIMC_ASSERT((unsigned)op < IR_NUM_OPS);
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? 2 * g->cap_nodes : 64;
        g->nodes = ir_arena_grow(g->arena, g->nodes, sizeof(Node) * (size_t)g->n_nodes,
                                 sizeof(Node) * (size_t)cap);
        g->cap_nodes = cap;
    }
    NodeId id = g->n_nodes++;
    Node *n = &g->nodes[id];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->device = g->device;
    n->name = ir_arena_strdup(g->arena, name ? name : ir_ops[op].name);
    n->loc = loc;
    n->n_inputs = n_inputs;
    n->inputs = ir_arena_alloc(g->arena, sizeof(ValueId) * (size_t)(n_inputs ? n_inputs : 1));
    if (n_inputs)
        memcpy(n->inputs, inputs, sizeof(ValueId) * (size_t)n_inputs);
    n->n_outputs = n_outputs;
    n->outputs = ir_arena_alloc(g->arena, sizeof(ValueId) * (size_t)(n_outputs ? n_outputs : 1));
    for (int i = 0; i < n_outputs; i++) {
        const char *vname =
            n_outputs == 1 ? n->name : ir_arena_printf(g->arena, "%s.%d", n->name, i);
        Type t = {.dtype = IR_F32, .shape = {.rank = -1}};
        ValueId v = add_value(g, vname, IR_VALUE_TEMP, t, loc);
        g->values[v].producer = id;
        n->outputs[i] = v;
    }
    return id;
}

static Attr *attr_slot(Graph *g, NodeId id, const char *name)
{
    Node *n = &g->nodes[id];
    for (int i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0)
            return &n->attrs[i];
    n->attrs = ir_arena_grow(g->arena, n->attrs, sizeof(Attr) * (size_t)n->n_attrs,
                             sizeof(Attr) * (size_t)(n->n_attrs + 1));
    Attr *a = &n->attrs[n->n_attrs++];
    a->name = ir_arena_strdup(g->arena, name);
    return a;
}

void ir_node_set_int(Graph *g, NodeId n, const char *attr, int64_t v)
{
    Attr *a = attr_slot(g, n, attr);
    a->kind = IR_ATTR_INT;
    a->i = v;
}

void ir_node_set_ints(Graph *g, NodeId n, const char *attr, const int64_t *v, int count)
{
    Attr *a = attr_slot(g, n, attr);
    int64_t *copy = ir_arena_alloc(g->arena, sizeof(int64_t) * (size_t)(count ? count : 1));
    if (count)
        memcpy(copy, v, sizeof(int64_t) * (size_t)count);
    a->kind = IR_ATTR_INTS;
    a->ints = copy;
    a->n_ints = count;
}

void ir_node_set_float(Graph *g, NodeId n, const char *attr, double v)
{
    Attr *a = attr_slot(g, n, attr);
    a->kind = IR_ATTR_FLOAT;
    a->f = v;
}

const Attr *ir_node_attr(const Node *n, const char *attr)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, attr) == 0)
            return &n->attrs[i];
    return NULL;
}

int64_t ir_attr_int(const Node *n, const char *attr, int64_t dflt)
{
    const Attr *a = ir_node_attr(n, attr);
    if (!a)
        return dflt;
    if (a->kind == IR_ATTR_INT)
        return a->i;
    if (a->kind == IR_ATTR_INTS && a->n_ints > 0)
        return a->ints[0];
    if (a->kind == IR_ATTR_FLOAT)
        return (int64_t)a->f;
    return dflt;
}

double ir_attr_float(const Node *n, const char *attr, double dflt)
{
    const Attr *a = ir_node_attr(n, attr);
    if (!a)
        return dflt;
    if (a->kind == IR_ATTR_FLOAT)
        return a->f;
    if (a->kind == IR_ATTR_INT)
        return (double)a->i;
    return dflt;
}

int ir_attr_ints(const Node *n, const char *attr, int64_t *out, int max, int64_t dflt)
{
    const Attr *a = ir_node_attr(n, attr);
    if (!a || (a->kind != IR_ATTR_INT && a->kind != IR_ATTR_INTS)) {
        for (int i = 0; i < max; i++)
            out[i] = dflt;
        return 0;
    }
    if (a->kind == IR_ATTR_INT) {
        for (int i = 0; i < max; i++)
            out[i] = a->i;
        return max;
    }
    int count = a->n_ints < max ? a->n_ints : max;
    for (int i = 0; i < count; i++)
        out[i] = a->ints[i];
    /* A single entry stands for all (stride=2 means (2, 2)). */
    for (int i = count; i < max; i++)
        out[i] = count == 1 ? a->ints[0] : dflt;
    return a->n_ints;
}

NodeId ir_sole_consumer(const Graph *g, ValueId v)
{
    if (g->values[v].is_output || ir_use_count(g, v) != 1)
        return IR_NONE;
    for (NodeId i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] == v)
                return i;
    }
    return IR_NONE; /* the use is an epilogue operand */
}

void ir_replace_uses(Graph *g, ValueId old_v, ValueId new_v)
{
    for (int i = 0; i < g->n_nodes; i++) {
        Node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] == old_v)
                n->inputs[j] = new_v;
        for (int j = 0; j < n->n_epilogue; j++)
            if (n->epilogue[j].operand == old_v)
                n->epilogue[j].operand = new_v;
    }
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == old_v) {
            g->outputs[i] = new_v;
            g->values[old_v].is_output = false;
            g->values[new_v].is_output = true;
        }
}

int ir_use_count(const Graph *g, ValueId v)
{
    int count = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int j = 0; j < n->n_inputs; j++)
            count += n->inputs[j] == v;
        for (int j = 0; j < n->n_epilogue; j++)
            count += n->epilogue[j].operand == v;
    }
    for (int i = 0; i < g->n_outputs; i++)
        count += g->outputs[i] == v;
    return count;
}

void ir_uses(const Graph *g, int *counts, NodeId *sole)
{
    for (ValueId v = 0; v < g->n_values; v++) {
        counts[v] = 0;
        if (sole)
            sole[v] = IR_NONE;
    }
    for (NodeId i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] >= 0) {
                counts[n->inputs[j]]++;
                if (sole)
                    sole[n->inputs[j]] = i;
            }
        for (int j = 0; j < n->n_epilogue; j++)
            if (n->epilogue[j].operand >= 0)
                counts[n->epilogue[j].operand]++;
    }
    for (int i = 0; i < g->n_outputs; i++)
        counts[g->outputs[i]]++;
    if (!sole)
        return;
    /* sole[v] is the last node reading v as an input; it is the only use when the count is
     * one, v is no graph output, and that node reads v once (else an epilogue is the use). */
    for (ValueId v = 0; v < g->n_values; v++) {
        if (sole[v] == IR_NONE)
            continue;
        const Node *n = &g->nodes[sole[v]];
        int reads = 0;
        for (int j = 0; j < n->n_inputs; j++)
            reads += n->inputs[j] == v;
        if (counts[v] != 1 || reads != 1 || g->values[v].is_output)
            sole[v] = IR_NONE;
    }
}

static void reset_producers(Graph *g)
{
    for (ValueId v = 0; v < g->n_values; v++)
        if (g->values[v].kind == IR_VALUE_TEMP)
            g->values[v].producer = IR_NONE;
    /* a dead node still lists the outputs it had, which a pass may have handed to a live
     * node (bn_fold gives a batch_norm's output to the conv it folds into) */
    for (NodeId i = 0; i < g->n_nodes; i++)
        for (int j = 0; !g->nodes[i].dead && j < g->nodes[i].n_outputs; j++)
            g->values[g->nodes[i].outputs[j]].producer = i;
}

void ir_node_move_last(Graph *g, NodeId pos)
{
    const Node last = g->nodes[g->n_nodes - 1];
    memmove(&g->nodes[pos + 1], &g->nodes[pos], sizeof(Node) * (size_t)(g->n_nodes - 1 - pos));
    g->nodes[pos] = last;
    reset_producers(g);
}

void ir_nodes_place_appended(Graph *g, NodeId first, const NodeId *before)
{
    const int n_new = g->n_nodes - first;
    if (n_new <= 0)
        return;
    /* A counting sort of the new nodes by their spot: start[s] is where the new nodes
     * placed before old node s begin in order[]. */
    int *start = calloc((size_t)first + 2, sizeof *start);
    NodeId *order = malloc(sizeof *order * (size_t)n_new);
    Node *out = malloc(sizeof *out * (size_t)g->n_nodes);
    SLIMC_ASSERT(start && order && out);
    for (int k = 0; k < n_new; k++) {
        SLIMC_ASSERT(before[k] >= 0 && before[k] <= first);
        start[before[k] + 1]++;
    }
    for (NodeId s = 0; s <= first; s++)
        start[s + 1] += start[s];
    for (int k = 0; k < n_new; k++)
        order[start[before[k]]++] = first + k; /* start[s] now ends spot s */
    int m = 0, k = 0;
    for (NodeId s = 0; s <= first; s++) {
        for (; k < start[s]; k++)
            out[m++] = g->nodes[order[k]];
        if (s < first)
            out[m++] = g->nodes[s];
    }
    SLIMC_ASSERT(m == g->n_nodes);
    memcpy(g->nodes, out, sizeof *out * (size_t)m);
    free(out);
    free(order);
    free(start);
    reset_producers(g);
}

void ir_compact(Graph *g)
{
    /* Which values survive: inputs, outputs, and everything live nodes read or write. */
    bool *keep = calloc((size_t)g->n_values + 1, 1);
    ValueId *remap = malloc(sizeof(ValueId) * ((size_t)g->n_values + 1));
    SLIMC_ASSERT(keep && remap);
    for (int i = 0; i < g->n_inputs; i++)
        keep[g->inputs[i]] = true;
    for (int i = 0; i < g->n_outputs; i++)
        keep[g->outputs[i]] = true;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] != IR_NONE)
                keep[n->inputs[j]] = true;
        for (int j = 0; j < n->n_outputs; j++)
            keep[n->outputs[j]] = true;
        for (int j = 0; j < n->n_epilogue; j++)
            if (n->epilogue[j].operand != IR_NONE)
                keep[n->epilogue[j].operand] = true;
    }
    int nv = 0;
    for (int i = 0; i < g->n_values; i++) {
        remap[i] = keep[i] ? nv : IR_NONE;
        if (keep[i])
            g->values[nv++] = g->values[i];
    }
    g->n_values = nv;
    NodeId *node_remap = malloc(sizeof(NodeId) * ((size_t)g->n_nodes + 1));
    SLIMC_ASSERT(node_remap);
    int nn = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        node_remap[i] = g->nodes[i].dead ? IR_NONE : nn;
        if (!g->nodes[i].dead)
            g->nodes[nn++] = g->nodes[i];
    }
    g->n_nodes = nn;
    for (int i = 0; i < nn; i++) {
        Node *n = &g->nodes[i];
        for (int j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] != IR_NONE)
                n->inputs[j] = remap[n->inputs[j]];
        for (int j = 0; j < n->n_outputs; j++)
            n->outputs[j] = remap[n->outputs[j]];
        for (int j = 0; j < n->n_epilogue; j++)
            if (n->epilogue[j].operand != IR_NONE)
                n->epilogue[j].operand = remap[n->epilogue[j].operand];
    }
    for (int i = 0; i < nv; i++) {
        Value *v = &g->values[i];
        if (v->producer != IR_NONE)
            v->producer = node_remap[v->producer];
        if (v->alias_of != IR_NONE)
            v->alias_of = remap[v->alias_of];
    }
    for (int i = 0; i < g->n_inputs; i++)
        g->inputs[i] = remap[g->inputs[i]];
    for (int i = 0; i < g->n_outputs; i++)
        g->outputs[i] = remap[g->outputs[i]];
    free(keep);
    free(remap);
    free(node_remap);
}

bool ir_infer_node(Graph *g, NodeId id, Diag *d)
{
    Node *n = &g->nodes[id];
    const OpInfo *info = &ir_ops[n->op];
    if (n->n_inputs < info->min_inputs || n->n_inputs > info->max_inputs) {
        ir_diag_error(d, n->loc, "%s '%s' takes %d to %d inputs, got %d", info->name, n->name,
                      info->min_inputs, info->max_inputs, n->n_inputs);
        for (int i = 0; i < n->n_outputs; i++)
            g->values[n->outputs[i]].type.shape.rank = -1;
        return false;
    }
    /* An input left unknown by an earlier error: stay quiet, stay unknown. */
    for (int i = 0; i < n->n_inputs; i++)
        if (n->inputs[i] != IR_NONE && g->values[n->inputs[i]].type.shape.rank < 0) {
            for (int j = 0; j < n->n_outputs; j++)
                g->values[n->outputs[j]].type.shape.rank = -1;
            return true;
        }
    g->shaping = n; /* a derived symbol it interns names it (ir/symbols.c) */
    bool ok = info->shape(g, n, d);
    g->shaping = NULL;
    for (int i = 0; ok && i < n->n_outputs; i++)
        ok = ir_check_size(g, n->outputs[i], d);
    if (!ok) {
        for (int i = 0; i < n->n_outputs; i++)
            g->values[n->outputs[i]].type.shape.rank = -1;
        return false;
    }
    return true;
}

bool ir_infer_shapes(Graph *g, Diag *d)
{
    bool ok = true;
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead)
            ok &= ir_infer_node(g, i, d);
    return ok;
}

size_t ir_weight_bytes(const Graph *g)
{
    bool *seen = calloc((size_t)g->n_values + 1, 1);
    SLIMC_ASSERT(seen);
    size_t total = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int j = 0; j < n->n_inputs + n->n_epilogue; j++) {
            ValueId v = j < n->n_inputs ? n->inputs[j] : n->epilogue[j - n->n_inputs].operand;
            if (v == IR_NONE || seen[v] || g->values[v].kind != IR_VALUE_CONST)
                continue;
            seen[v] = true;
            total += g->values[v].data_bytes;
        }
    }
    free(seen);
    return total;
}
