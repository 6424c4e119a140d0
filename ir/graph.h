/* The graph IR: values (typed tensors, possibly constant), nodes (ops from ops.def) and
 * the graph that owns both in one arena. Values and nodes are referred to by index. */
#ifndef SLIMC_IR_GRAPH_H
#define SLIMC_IR_GRAPH_H

#include "ir/arena.h"
#include "ir/diag.h"
#include "ir/types.h"

#include <math.h>
#include <stdio.h>

typedef int32_t ValueId; /* index into Graph.values; IR_NONE for none */
typedef int32_t NodeId;  /* index into Graph.nodes */
#define IR_NONE (-1)

/* ---- ops (from ops.def) ---- */
enum {
    IR_F_ELEMENTWISE = 1 << 0,  /* out[i] = f(in[i]) after broadcasting */
    IR_F_BINARY = 1 << 1,       /* two operands, numpy broadcasting */
    IR_F_FUSE_HEAD = 1 << 3,    /* may take an epilogue of elementwise ops */
    IR_F_WEIGHTED = 1 << 4,     /* has parameter inputs (weights) */
    IR_F_VIEW = 1 << 5,         /* output is the input's data with another shape */
    IR_F_ANY_DTYPE = 1 << 6,    /* moves, compares or converts data of any dtype but i4 (the
                                 * shape function checks how the dtypes fit); others are f32 */
    IR_F_EPILOGUE = 1 << 7,     /* may be an epilogue step of a fuse head (no attributes) */
    IR_F_FLOATS = 1 << 8,       /* computes in f64, f16 and bf16 too (ir/dtype_ops.c) */
    IR_F_INTS = 1 << 9,         /* computes in the integer dtypes too */
    IR_F_INT_ONLY = 1 << 10,    /* integer dtypes only (the bitwise ops) */
    IR_F_QUANTIZABLE = 1 << 11, /* passes/quantize.c and qdq.c may make it int8 */
    IR_F_DIFF = 1 << 12,        /* differentiable: the training path gives it a gradient */
    IR_F_SPARSE = 1 << 13,      /* a C kernel for sparse weights exists (passes/sparse.c) */
    IR_F_FOLDABLE = 1 << 14,    /* constant folding may evaluate it (passes/fold.c) */
};

/* The op's family: which file of each backend holds it, and what a cost model assumes. */
typedef enum OpFamily {
    IR_FAM_CONV,
    IR_FAM_GEMM,
    IR_FAM_POOL,
    IR_FAM_NORM,
    IR_FAM_ELEMENTWISE,
    IR_FAM_COMPARE,
    IR_FAM_REDUCE,
    IR_FAM_DATA,
    IR_FAM_INDEX,
    IR_FAM_RESAMPLE,
    IR_FAM_QUANT,
    IR_FAM_LOWBIT,
} OpFamily;

/* Which implementations an op has (ops.def's backends column). */
enum {
    IR_BE_REF = 1 << 0,  /* the reference evaluator, ir/eval*.c (also constant folding) */
    IR_BE_C = 1 << 1,    /* the C backend, codegen/c */
    IR_BE_CUDA = 1 << 2, /* the CUDA backend (codegen/cuda/; scripts/cuda_claims.py sets it) */
};

/* ---- attributes ---- */
typedef enum AttrKind { IR_ATTR_INT, IR_ATTR_INTS, IR_ATTR_FLOAT, IR_ATTR_STRING } AttrKind;

typedef struct Attr {
    const char *name;
    AttrKind kind;
    int64_t i;
    double f;
    const char *s;
    const int64_t *ints;
    int n_ints;
} Attr;

/* Every attribute name (ir/attrs.def). */
typedef enum IrAttrId {
#define ATTR(id, name, kind, dflt, ann) IR_A_##id,
#include "ir/attrs.def"
#undef ATTR
    IR_NUM_ATTRS
} IrAttrId;

typedef struct AttrInfo {
    const char *name;
    AttrKind kind;
    bool annotation; /* any op may carry it */
} AttrInfo;
extern const AttrInfo ir_attr_info[IR_NUM_ATTRS];

typedef enum OpKind {
#define OP(e, name, fam, mn, mx, flags, cost, bytes, be, shape, attrs, expr) IR_OP_##e,
#include "ir/ops.def"
#undef OP
    IR_NUM_OPS
} OpKind;

typedef struct Graph Graph;
typedef struct Node Node;

typedef struct OpInfo {
    const char *name;
    OpFamily family;
    int min_inputs, max_inputs;
    unsigned flags;
    unsigned backends;     /* IR_BE_* */
    const IrAttrId *attrs; /* the attributes it takes, ops.def's order */
    int n_attrs;
    /* For elementwise ops: the scalar expression over x (and y; p0, p1 for attribute
     * parameters) as written in ops.def, with the SC_ helper names (ir/scalar.h); NULL
     * for the others. */
    const char *expr;
    /* Sets the types of n's outputs from its inputs and attributes; reports a user
     * error (naming the node, the shapes and where they came from) and returns false. */
    bool (*shape)(Graph *g, Node *n, Diag *d);
    /* FLOPs (a multiply-add is 2) and bytes read and written of one run of n with the
     * symbols set to syms (ir/cost.c), for a cost model and `inspect`. */
    double (*flops)(const Graph *g, const Node *n, const int64_t *syms);
    double (*bytes)(const Graph *g, const Node *n, const int64_t *syms);
} OpInfo;

extern const OpInfo ir_ops[IR_NUM_OPS];
/* Finds an op by name; returns false if none. */
bool ir_op_lookup(const char *name, OpKind *out);

static inline bool ir_op_is_elementwise(OpKind op)
{
    return (ir_ops[op].flags & IR_F_ELEMENTWISE) != 0;
}
/* May be a step of another node's epilogue (passes/fuse.c). */
static inline bool ir_op_is_epilogue(OpKind op)
{
    return (ir_ops[op].flags & IR_F_EPILOGUE) != 0;
}
/* Whether op takes attribute a (its ops.def row lists it, or a is an annotation). */
bool ir_op_takes_attr(OpKind op, IrAttrId a);

/* ---- values ---- */
typedef enum ValueKind {
    IR_VALUE_TEMP,  /* produced by a node */
    IR_VALUE_INPUT, /* a graph input */
    IR_VALUE_CONST, /* data known at compile time (weights, folded results) */
} ValueKind;

typedef struct Value {
    const char *name;
    ValueKind kind;
    Type type;
    const void *data; /* IR_VALUE_CONST: the payload, C order (mmapped or arena-owned) */
    size_t data_bytes;
    NodeId producer; /* IR_NONE for inputs and constants */
    SrcLoc loc;      /* where it was defined */
    float sparsity;  /* fraction of zero elements, for constants (0 unless measured) */
    bool is_output;  /* one of the graph's outputs */
    /* Set by memplan: byte offset in the arena (for temps that own storage). */
    bool planned;
    Poly offset;
    ValueId alias_of; /* views share their input's storage; IR_NONE otherwise */
} Value;

/* An elementwise op fused into a node's epilogue: out = op(out) or op(out, operand). */
typedef struct Epilogue {
    OpKind op;
    ValueId operand;    /* IR_NONE for unary; otherwise broadcast to the output */
    bool operand_first; /* operand op out, for sub/div */
} Epilogue;

#define IR_MAX_EPILOGUE 8

struct Node {
    OpKind op;
    const char *name; /* for messages and generated code comments */
    SrcLoc loc;
    int n_inputs, n_outputs;
    ValueId *inputs; /* IR_NONE for an absent optional input */
    ValueId *outputs;
    int n_attrs;
    Attr *attrs;
    Device device; /* where it runs: the graph's device when made (ir_graph_place_all) */
    bool pinned;   /* a user's place(..., device=D) chose device: the place pass keeps it */
    bool dead;     /* removed by a pass; dropped by ir_compact */
    int n_epilogue;
    Epilogue epilogue[IR_MAX_EPILOGUE];
};

/* ---- graph ---- */
struct Graph {
    Arena *arena;
    const char *name;   /* model identifier */
    const char *source; /* file it came from, for messages */
    Value *values;
    int n_values, cap_values;
    Node *nodes; /* in a topological order */
    int n_nodes, cap_nodes;
    ValueId *inputs;
    int n_inputs;
    ValueId *outputs;
    int n_outputs;
    const char **output_names; /* [n_outputs] the names the model declares, NULL if unnamed */
    const char *sym_names[IR_MAX_SYMS];
    int n_syms;
    /* Symbols defined by an expression over earlier ones (ir/symbols.c): bit s of
     * derived_syms set means sym_defs[s] gives symbol s's value; the others are bound
     * from the inputs' shapes. A derived symbol's name is its expression ("S+1"). */
    uint32_t derived_syms;
    SymDef sym_defs[IR_MAX_SYMS];
    /* For a derived symbol, the node whose shape first needed it ("pad 'Pad_0'"), named
     * when an input makes it < 1; NULL if it came from outside a shape function. Set from
     * shaping, the node ir_infer_node is inferring (NULL between nodes). */
    const char *sym_origins[IR_MAX_SYMS];
    const Node *shaping;
    /* Upper bounds the model assumes of its symbols (0: none): a slice x[:T] of a static
     * length L reads L elements at most, where ONNX's Slice would clamp T to L (ir/shape.c,
     * slice's end_sym). sym_max_of[s] names what sets the bound ("slice of 'bias'");
     * the inputs are checked against them where they bind the symbols. */
    int64_t sym_max[IR_MAX_SYMS];
    const char *sym_max_of[IR_MAX_SYMS];
    /* Equalities the model assumes (ir_dim_assume_eq): where sym_eq[s].c != 0, symbol s
     * must equal the dim sym_eq[s] (a skip concat of h//2 and 2*((h//2)//2), equal for even
     * h//2 only); sym_eq_of[s] names what needs it ("concat 'Concat_3'"). Checked where the
     * inputs bind the symbols, as the bounds are. assume_eq: shape inference may assume
     * them (set by the ONNX importer: exporters write such models; ONNX Runtime checks
     * the shapes when it runs). */
    Dim sym_eq[IR_MAX_SYMS];
    const char *sym_eq_of[IR_MAX_SYMS];
    bool assume_eq;
    /* Set by memplan: the arena size (a polynomial in the symbols). In a graph with nodes
     * on both devices (ir_graph_mixed) arena_bytes is the GPU's arena and host_arena_bytes
     * the CPU's: each value lives in the arena of its producer's device. */
    bool planned;
    Poly arena_bytes;
    Poly host_arena_bytes;
    /* Heterogeneous placement (passes/place.c, docs/placement.md): what the place pass
     * decides from, set by the API (--device auto, --device-profile) and place(...) steps. */
    struct {
        bool automatic;       /* place decides each unpinned node's device */
        bool fixed;           /* --device cpu or cuda (or auto without a GPU): pins are checked,
                               * not applied, unless a place(auto) step asks for placement */
        double gpu_memory_mb; /* the GPU's budget for weights + arena; 0: none */
        int64_t sym_value;    /* the symbols' value costs are taken at (0: 1) */
        const struct CostProfile *profile; /* passes/cost_model.h; NULL: none measured */
        struct PlaceReport *report;        /* the last solve's decisions (inspect) */
    } place;
    /* The device new nodes are placed on (ir_node_new); ir_graph_place_all sets it. */
    Device device;
    /* The model's `compress` block as a pipeline (passes/pass.h; NULL if none). */
    const struct PassPipeline *compress;
    /* Resources to release with the graph (mmapped weight files), see ir_graph_on_free. */
    struct GraphCleanup *cleanups;
    /* The files the graph was read from (frontend/files.h); shared by clones. */
    struct GraphFile *files;
    /* Bytes this model may ask for: weights + arena + outputs, and any constant that a
     * pass folds (ir/limits.h); ir_default_max_memory() unless the caller sets it. */
    uint64_t max_memory;
};

/* A file a graph was read from (model, weights, external data), by identity: no output
 * of the command may replace it. */
typedef struct GraphFile {
    const char *path; /* as named, for messages */
    unsigned long long dev, ino;
    struct GraphFile *next;
} GraphFile;

Graph *ir_graph_new(const char *name);
void ir_graph_free(Graph *g);
/* A copy of g that passes can rewrite without touching g: nodes, values and attributes
 * are copied; names and constant payloads are shared, so g must outlive the copy (which
 * owns no cleanups). */
Graph *ir_graph_clone(const Graph *g);
/* Registers fn(arg) to run when g is freed (e.g. munmap of a weights file). */
void ir_graph_on_free(Graph *g, void (*fn)(void *), void *arg);

/* Returns the index of symbol name, adding it; -1 if there are too many. */
int ir_graph_symbol(Graph *g, const char *name);

/* Derived dims (ir/symbols.c). Each returns in *out the Dim of
 *     floor((xa * xb + y + add) / div)
 * simplified to a constant or a monomial where a Dim can hold it exactly, else a derived
 * symbol defined by that expression (the same expression gives the same symbol). False
 * when a derived symbol would be needed and the graph has IR_MAX_SYMS symbols already,
 * when div < 1, when a constant overflows, or when the result is a constant < 0. */
bool ir_dim_derive(Graph *g, Dim xa, Dim xb, Dim y, int64_t add, int64_t div, Dim *out);
/* a + b, a + k, a * b (a symbol may repeat), floor(a / k) for k >= 1. */
bool ir_dim_add(Graph *g, Dim a, Dim b, Dim *out);
bool ir_dim_add_const(Graph *g, Dim a, int64_t k, Dim *out);
bool ir_dim_mul_any(Graph *g, Dim a, Dim b, Dim *out);
bool ir_dim_floordiv(Graph *g, Dim a, int64_t k, Dim *out);
/* A dim as an entry of a reshape's or an expand's shape attribute: its size, or
 * -(1000 + s) for symbol s; a monomial that is not one bare symbol (4*B, H*W) gets a
 * derived symbol that names it (interned: the same product, the same symbol). False when
 * the graph has IR_MAX_SYMS symbols already. ir_dim_of_attr reads an entry back (such a
 * name as its product, so shapes compare equal however they were built); false for an
 * entry that is neither a size nor a symbol of g. */
bool ir_dim_attr(Graph *g, Dim d, int64_t *out);
bool ir_dim_of_attr(const Graph *g, int64_t v, Dim *out);
/* A slice [start, end) of a symbolic length len (a monomial, >= len.c when bound) with
 * PyTorch's clamping, where clamping cannot change the result: each bound is at rel * len
 * + k (rel 0 or 1). A bound v in [0, len.c] is k = v; v in [-len.c, 0) is len + v;
 * v >= IR_SLICE_TO_END is len (the exporters' INT64_MAX; no tensor has a dim that long).
 * A start past len.c from the front or an end past -len.c from the back may clamp, but
 * not when the slice's length (len + end - start over the step) comes out >= 1, which the
 * derived dim of that length checks when the inputs bind it. False where the length has
 * -len in it or both bounds may clamp (x[2:5], x[-3:4]: min() of the length, which the
 * expressions of ir/symbols.c cannot hold). */
#define IR_SLICE_TO_END (INT64_MAX / 4)
typedef struct IrSliceSym {
    int64_t start, end;      /* the constant terms k */
    bool start_rel, end_rel; /* + len */
} IrSliceSym;
bool ir_slice_sym(Dim len, int64_t start, int64_t end, IrSliceSym *out);
/* The same for a negative step, with ONNX's clamping for it: start into [0, len - 1], end
 * into [-1, len - 1] (a negative bound counts from the end first; v <= -IR_SLICE_TO_END,
 * the exporters' INT64_MIN, is -1: before the first element). True where both bounds are
 * constants that cannot clamp, or the start is len + k (k >= -len.c) and the end a
 * constant (x.flip(), x[-2::-1]): the length ceil((len + k - end) / -step) is then >= 1 only where
 * neither clamps, which its derived dim checks when the inputs bind it. */
bool ir_slice_sym_neg(Dim len, int64_t start, int64_t end, IrSliceSym *out);
/* Along a static length len: the first index a slice (start, end, step != 0) reads, and
 * its element count, with ONNX's clamping for the step's sign. */
int64_t ir_slice_first(int64_t start, int64_t len, int64_t step);
int64_t ir_slice_count(int64_t start, int64_t end, int64_t len, int64_t step);
/* The element count of s as one monomial, a symbol in two dims as its square S*S (a
 * derived symbol, added to g when new); false when a count overflows or a symbol is
 * needed beyond IR_MAX_SYMS. */
bool ir_shape_numel_g(Graph *g, const Shape *s, Dim *out);
/* The same with the squares g has already (codegen, after memplan made them). */
bool ir_shape_numel_known(const Graph *g, const Shape *s, Dim *out);
/* Bounds symbol s by max (the least bound is kept), of naming what needs it. */
void ir_sym_bound(Graph *g, int s, int64_t max, const char *of);
/* Whether dims a and b are equal, or may be assumed equal for node n (Graph.assume_eq):
 * both symbolic over a common input symbol, one of them a single symbol s that the other
 * does not use; then s == the other is recorded (Graph.sym_eq) and checked at run time. */
bool ir_dim_assume_eq(Graph *g, Dim a, Dim b, const Node *n);
/* Sets every derived symbol's value in syms[] from the others (in order). False, with a
 * message naming the symbol in why, when one overflows, comes out < 1 or exceeds its
 * bound (Graph.sym_max). */
bool ir_syms_derive(const Graph *g, int64_t *syms, char *why, size_t why_size);

ValueId ir_value_new(Graph *g, const char *name, Type type, SrcLoc loc);
ValueId ir_const_new(Graph *g, const char *name, Type type, const void *data, size_t bytes,
                     SrcLoc loc);
ValueId ir_input_new(Graph *g, const char *name, Type type, SrcLoc loc);
void ir_output_add(Graph *g, ValueId v);
/* Gives graph output k the name the model declares for it (what `run` names its file). */
void ir_output_set_name(Graph *g, int k, const char *name);

/* Places every node, and every node made from now on, on device dev (the whole model on
 * one device; the placement pass of a mixed model sets Node.device itself). */
void ir_graph_place_all(Graph *g, Device dev);
/* Whether g's live nodes run on more than one device (the place pass split it). */
bool ir_graph_mixed(const Graph *g);
/* Sets out[v] (of n_values, cleared first) for every value a live node on dev reads, as an
 * input or an epilogue operand: the weights a split model's GPU holds, and which its CPU. */
void ir_values_read_on(const Graph *g, Device dev, bool *out);

/* Adds a node with the given inputs and n_outputs fresh outputs (typed by shape inference
 * later). Names of outputs are made from the node name. */
NodeId ir_node_new(Graph *g, OpKind op, const char *name, SrcLoc loc, const ValueId *inputs,
                   int n_inputs, int n_outputs);
void ir_node_set_int(Graph *g, NodeId n, const char *attr, int64_t v);
void ir_node_set_ints(Graph *g, NodeId n, const char *attr, const int64_t *v, int count);
void ir_node_set_float(Graph *g, NodeId n, const char *attr, double v);
const Attr *ir_node_attr(const Node *n, const char *attr);
int64_t ir_attr_int(const Node *n, const char *attr, int64_t dflt);
double ir_attr_float(const Node *n, const char *attr, double dflt);
/* Copies up to max ints into out (a scalar int attribute is repeated); returns count, or
 * fills out with dflt (max entries) and returns 0 when absent. */
int ir_attr_ints(const Node *n, const char *attr, int64_t *out, int max, int64_t dflt);

/* Typed accessors, one per row of ir/attrs.def: ir_attr_groups(n) is groups or its default;
 * ir_attr_groups_or(n, d) where an op's default differs; for INTS, ir_attr_stride(n, out,
 * max) as ir_attr_ints. A misspelt name is a build error, not a silent default. */
#define IR_ATTR_ACCESSORS_INT(id, nm, dflt)                                                        \
    static inline int64_t ir_attr_##id(const Node *n)                                              \
    {                                                                                              \
        return ir_attr_int(n, nm, (int64_t)(dflt));                                                \
    }                                                                                              \
    static inline int64_t ir_attr_##id##_or(const Node *n, int64_t d)                              \
    {                                                                                              \
        return ir_attr_int(n, nm, d);                                                              \
    }
#define IR_ATTR_ACCESSORS_FLOAT(id, nm, dflt)                                                      \
    static inline double ir_attr_##id(const Node *n)                                               \
    {                                                                                              \
        return ir_attr_float(n, nm, (double)(dflt));                                               \
    }                                                                                              \
    static inline double ir_attr_##id##_or(const Node *n, double d)                                \
    {                                                                                              \
        return ir_attr_float(n, nm, d);                                                            \
    }
#define IR_ATTR_ACCESSORS_INTS(id, nm, dflt)                                                       \
    static inline int ir_attr_##id(const Node *n, int64_t *out, int max)                           \
    {                                                                                              \
        return ir_attr_ints(n, nm, out, max, (int64_t)(dflt));                                     \
    }                                                                                              \
    static inline int ir_attr_##id##_or(const Node *n, int64_t *out, int max, int64_t d)           \
    {                                                                                              \
        return ir_attr_ints(n, nm, out, max, d);                                                   \
    }
#define ATTR(id, nm, kind, dflt, ann) IR_ATTR_ACCESSORS_##kind(id, nm, dflt)
#include "ir/attrs.def"
#undef ATTR
/* attention (ir/attention.c): its scale attribute, 1 / sqrt(D) when absent; at most this
 * many leading dims before [Sq, D]. */
#define IR_ATTENTION_MAX_LEAD 4
double ir_attention_scale(const Node *n, int64_t D);
/* rnn (ir/rnn.c): its gate count G (1 RNN, 3 GRU, 4 LSTM) for mode; its activation
 * codes (0 sigmoid, 1 tanh, 2 relu) f, g, h per direction, ONNX's defaults when absent. */
int ir_rnn_gates(int64_t mode);
void ir_rnn_activations(const Node *n, int64_t act[2][3]);
/* The attribute a node carries under a's name, NULL if none. */
static inline const Attr *ir_node_attr_id(const Node *n, IrAttrId a)
{
    return ir_node_attr(n, ir_attr_info[a].name);
}

static inline Value *ir_val(Graph *g, ValueId v)
{
    return &g->values[v];
}
static inline Node *ir_node(Graph *g, NodeId n)
{
    return &g->nodes[n];
}
static inline const Type *ir_type(Graph *g, ValueId v)
{
    return &g->values[v].type;
}

/* Replaces every use of old (as node input, epilogue operand or graph output) by new. */
void ir_replace_uses(Graph *g, ValueId old_v, ValueId new_v);
/* Number of uses of v (node inputs of live nodes, epilogue operands, graph outputs). */
int ir_use_count(const Graph *g, ValueId v);
/* The one live node that reads v as an input, when that is v's only use and v is not a
 * graph output; else IR_NONE. */
NodeId ir_sole_consumer(const Graph *g, ValueId v);
/* ir_use_count of every value into counts[0..n_values) and, when sole is not NULL,
 * ir_sole_consumer of every value into sole[0..n_values), in one sweep over the graph:
 * passes that ask for many values use this, not a sweep per value. */
void ir_uses(const Graph *g, int *counts, NodeId *sole);
/* Drops dead nodes and values nothing refers to, renumbering; keeps order. */
void ir_compact(Graph *g);
/* Moves the last node to position pos (the nodes from pos on move up by one) and sets
 * every temporary value's producer again from the nodes' outputs. */
void ir_node_move_last(Graph *g, NodeId pos);

/* Puts the nodes [first, n_nodes) that a pass appended each just before the node before[k -
 * first] (a node below first; first itself means after all of them), keeping the order of
 * the old nodes and, among the new ones placed at one spot, the order they were appended
 * in; then sets every temporary value's producer again. One O(nodes) sweep for any number
 * of insertions, where ir_node_move_last costs a sweep each. */
void ir_nodes_place_appended(Graph *g, NodeId first, const NodeId *before);
/* Runs shape inference over all nodes in order; false (with diagnostics) on error. */
bool ir_infer_shapes(Graph *g, Diag *d);
bool ir_infer_node(Graph *g, NodeId n, Diag *d);

/* Checks structural invariants (ids in range, topological order, arity, types set,
 * epilogues legal); reports each violation as an internal error to d. */
bool ir_verify(const Graph *g, Diag *d);
/* The user error for a value whose shape no memory can hold: a negative dimension, an
 * element count that overflows int64_t or a byte size over IR_MAX_TENSOR_BYTES
 * ("tensor 'x': element count overflows (dims 2305843009213693952 x 64, f32)"); true when
 * the size is sound. Frontends call it on graph inputs, shape inference on every output. */
bool ir_check_size(const Graph *g, ValueId v, Diag *d);

/* Text and Graphviz dumps. */
void ir_print(const Graph *g, FILE *out);
void ir_print_dot(const Graph *g, FILE *out);
/* "f32[N, 1, 28, 28]" into buf; returns buf. */
char *ir_type_str(const Graph *g, const Type *t, char *buf, size_t size);
char *ir_dim_str(const Graph *g, Dim d, char *buf, size_t size);

/* Statistics for `inspect`. */
size_t ir_weight_bytes(const Graph *g); /* constants read by live nodes */
/* FLOPs of one run (multiply-add counted as 2) with the symbols set to sym_values: the sum
 * of each live node's ops.def cost function (ir/cost.c). */
double ir_flops(const Graph *g, const int64_t *sym_values);
/* The bytes of value v with its symbols at sym_values (NULL: every symbol 1); 0 untyped. */
double ir_value_bytes(const Graph *g, ValueId v, const int64_t *sym_values);
/* Bytes read and written by one run, the same way. */
double ir_bytes_moved(const Graph *g, const int64_t *sym_values);

#endif
