/* Shared by the ONNX importer's files (frontend/onnx.c: reading and the graph walk;
 * frontend/onnx_ops.c: one mapping function per ONNX op; frontend/onnx_fold.c: import-time
 * evaluation of shape subgraphs). Only built with protobuf-c (SLIMC_WITH_ONNX). */
#ifndef SLIMC_FE_ONNX_INTERNAL_H
#define SLIMC_FE_ONNX_INTERNAL_H

#include "frontend/onnx.h"
#include "ir/checked.h"

#include <onnx.pb-c.h>

/* A tensor known at import time: an initializer, a Constant, or a folded shape
 * computation. data points into the protobuf message or the graph's arena. */
typedef struct OxConst {
    DType dtype;
    int rank;
    int64_t shape[IR_MAX_RANK];
    const void *data;
    size_t nbytes;
} OxConst;

/* A shape value over symbolic dims (frontend/onnx_symshape.c). */
typedef struct OxSym OxSym;

/* What an ONNX name stands for. */
typedef struct OxEntry {
    const char *name;
    ValueId v;     /* its IR value (IR_NONE until a constant is needed as one) */
    bool is_const; /* c holds its data */
    OxConst c;
    bool broken; /* made by an unsupported or failed node: users stay quiet */
    /* A shape computed over symbolic dims (Shape of a tensor with a batch dim...): no IR
     * value; only the shape ops of onnx_symshape.c read it. */
    const OxSym *sym;
} OxEntry;

typedef struct OxImporter {
    Graph *g;
    Diag *d;
    const char *path;
    const char *dir;           /* the model's folder, for external data */
    const int *resize_sym;     /* set by sym_resize around ox_import_resize: size i of the Resize is
                                * symbol resize_sym[i]'s length (-1: the number in the sizes) */
    int opset;                 /* of the default domain */
    const FeOnnxOptions *opts; /* never NULL */
    OxEntry *entries;
    int n_entries, cap_entries;
    int *hash; /* open addressing over entries, -1 empty */
    int hash_cap;
    FILE *unsupported; /* one line per unsupported node */
    char *unsupported_buf;
    size_t unsupported_len;
    int n_unsupported;
    const char *node; /* the node being imported, for messages; NULL between nodes */
    /* A model with f16 / bf16 weights computes in f32, as ONNX Runtime's CPU provider does:
     * its f16 constants become f32, its f16 inputs are cast to f32 on entry, a Cast to f16
     * rounds and comes back to f32, and its f16 outputs are cast back (onnx.c). */
    bool f16_as_f32;
} OxImporter;

/* A node being imported: its inputs resolved (NULL for an absent optional one). */
typedef struct OxNode {
    const Onnx__NodeProto *p;
    const char *name;    /* the ONNX node name, or "OpType_K" when it has none */
    const char *ir_name; /* the same reduced to [A-Za-z0-9_.] for the IR */
    SrcLoc loc;
    int n_in;
    OxEntry **in;
    int n_out;
    const char **out; /* "" for an output nobody wants */
} OxNode;

typedef enum OxResult { OX_OK, OX_UNSUPPORTED, OX_ERROR } OxResult;

/* ---- onnx.c ---- */
OxEntry *ox_lookup(OxImporter *im, const char *name);
/* Binds an ONNX name to an IR value / a constant. */
void ox_bind_value(OxImporter *im, const char *name, ValueId v);
void ox_bind_const(OxImporter *im, const char *name, const OxConst *c);
/* The IR value of e (a constant is added to the graph on first use). */
ValueId ox_value(OxImporter *im, OxEntry *e);
/* Converts a TensorProto to a constant (data referred to where it can be); false with
 * an error naming the node/initializer what. */
bool ox_tensor_to_const(OxImporter *im, const Onnx__TensorProto *t, const char *what, OxConst *out);
/* ONNX TensorProto.DataType t as ours (false for the ones slimc has no dtype for), and its
 * ONNX name ("unknown" out of range) (frontend/onnx_tensor.c). */
bool ox_onnx_dtype(int32_t t, DType *out);
const char *ox_onnx_dtype_name(int32_t t);
/* Reports node n as unsupported, with a reason. */
OxResult ox_unsupported(OxImporter *im, const OxNode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Imports the nodes of subgraph gp (an If branch) into im's graph and name table, after
 * binding its initializers; its nodes read the enclosing scope's names. False after an
 * error (unsupported nodes are reported as in the main graph and leave their outputs
 * broken). */
bool ox_import_subgraph(OxImporter *im, const Onnx__GraphProto *gp);

/* Tells the caller (FeOnnxOptions.needs_constant) that graph input e had to be constant. */
void ox_needs_constant(OxImporter *im, const OxEntry *e);

/* [0, 1, ..., len - 1] of dtype dt for a dim that may be symbolic (an expand of ones and
 * an exclusive cumsum); IR_NONE when len is not a dim an expand can take (onnx_symshape.c). */
ValueId ox_sym_iota(OxImporter *im, const OxNode *n, Dim len, DType dt);

/* Binds an ONNX name to a symbolic shape value (onnx_symshape.c). */
void ox_bind_sym(OxImporter *im, const char *name, const OxSym *s);

/* ---- onnx_symshape.c ---- */
/* Evaluates n when it computes a shape over symbolic dims (Shape, Size, Gather, Unsqueeze,
 * Concat, Slice, Cast, Add/Sub/Mul/Div, Equal, Where on shapes) or consumes one (Reshape, Expand,
 * ConstantOfShape): true with *r when it took the node. A node it takes but cannot
 * express is refused naming the symbols and --dim / --shape. */
bool ox_symshape(OxImporter *im, OxNode *n, OxResult *r);
/* Reports n as unsupported because what depends on symbolic dims: the message names the
 * node's symbols and the way out (--dim NAME=N, --shape INPUT=...). */
OxResult ox_unsupported_symbolic(OxImporter *im, const OxNode *n, const char *what);

/* ---- inputs of a node ---- */
static inline bool ox_has_in(const OxNode *n, int i)
{
    return i < n->n_in && n->in[i];
}
/* Input i's IR value (a constant is added to the graph), or IR_NONE when absent. */
static inline ValueId ox_in(OxImporter *im, const OxNode *n, int i)
{
    return ox_has_in(n, i) ? ox_value(im, n->in[i]) : IR_NONE;
}
static inline const OxConst *ox_const_in(const OxNode *n, int i)
{
    return ox_has_in(n, i) && n->in[i]->is_const ? &n->in[i]->c : NULL;
}
static inline const Type *ox_ty(OxImporter *im, ValueId v)
{
    return &im->g->values[v].type;
}

/* ---- onnx_ops.c ---- */
/* An integer list from constant input i (the caller told when it is not constant).
 * Returns the count, -1 when absent, -2 when not constant. */
int ox_ints_input(OxImporter *im, const OxNode *n, int i, int64_t *vals, int max);
/* Imports one node: binds its outputs. */
OxResult ox_import_node(OxImporter *im, OxNode *n);
/* Whether op (default domain) has a mapping at all. */
bool ox_op_known(const char *op);
/* Helpers of the mapping functions, shared with onnx_ops_nn.c. ox_wants: output i is used;
 * ox_mk: a new node of IR op (by name), IR_NONE when the IR lacks it; ox_done: infers its
 * types and returns output 0; ox_un/ox_bin: unary/binary IR op; ox_scalar: a 0-d constant;
 * ox_out: binds output 0 (OX_ERROR for IR_NONE); ox_need_const: constant input i, NULL (and
 * the caller told) when not constant; ox_slice1: one IR slice. */
bool ox_wants(const OxNode *n, int i);
NodeId ox_mk(OxImporter *im, const OxNode *n, const char *op, const ValueId *ins, int k);
ValueId ox_done(OxImporter *im, NodeId id);
OxResult ox_no_ir_op(OxImporter *im, const OxNode *n, const char *op);
ValueId ox_un(OxImporter *im, const OxNode *n, const char *op, ValueId v);
ValueId ox_bin(OxImporter *im, const OxNode *n, const char *op, ValueId a, ValueId b);
ValueId ox_scalar(OxImporter *im, const OxNode *n, DType dt, double v);
OxResult ox_out(OxImporter *im, const OxNode *n, ValueId v);
ValueId ox_reshape_to(OxImporter *im, const OxNode *n, ValueId v, const Shape *target);
const OxConst *ox_need_const(OxImporter *im, const OxNode *n, int i);
ValueId ox_permute(OxImporter *im, const OxNode *n, ValueId x, const int64_t *perm, int r);
ValueId ox_slice1(OxImporter *im, const OxNode *n, ValueId x, int64_t axis, int64_t st, int64_t en,
                  int64_t step);
/* axis (negative from the end) as an index into rank dims (a 0-d value has one); false
 * when out of range. */
bool ox_norm_axis(int64_t axis, int rank, int64_t *outp);
/* The mappings of onnx_ops_conv.c and onnx_ops_shape.c, dispatched by ox_import_node
 * (onnx_ops.c). Conv and ConvTranspose; MaxPool (is_max) and AveragePool; the global pools
 * (irop: reduce_mean or reduce_max); the normalizations. */
OxResult ox_op_conv(OxImporter *im, OxNode *n);
OxResult ox_op_conv_transpose(OxImporter *im, OxNode *n);
OxResult ox_op_pool(OxImporter *im, OxNode *n, bool is_max);
OxResult ox_op_global_pool(OxImporter *im, OxNode *n, const char *irop);
OxResult ox_op_batch_norm(OxImporter *im, OxNode *n);
OxResult ox_op_rms_norm(OxImporter *im, OxNode *n);
OxResult ox_op_lp_norm(OxImporter *im, OxNode *n);
OxResult ox_op_mvn(OxImporter *im, OxNode *n);
OxResult ox_op_layer_norm(OxImporter *im, OxNode *n);
OxResult ox_op_instance_norm(OxImporter *im, OxNode *n);
OxResult ox_op_group_norm(OxImporter *im, OxNode *n);
/* Flatten, Reshape, Squeeze (un_: Unsqueeze), Transpose, Concat, Slice, Split, Pad, Gather,
 * Expand, DepthToSpace (to_space) / SpaceToDepth, Resize before opset 11 and Upsample. */
OxResult ox_op_flatten(OxImporter *im, OxNode *n);
OxResult ox_op_reshape(OxImporter *im, OxNode *n);
OxResult ox_op_squeeze(OxImporter *im, OxNode *n, bool un_);
OxResult ox_op_transpose(OxImporter *im, OxNode *n);
OxResult ox_op_concat(OxImporter *im, OxNode *n);
OxResult ox_op_slice(OxImporter *im, OxNode *n);
OxResult ox_op_split(OxImporter *im, OxNode *n);
OxResult ox_op_pad(OxImporter *im, OxNode *n);
OxResult ox_op_gather(OxImporter *im, OxNode *n);
OxResult ox_op_expand(OxImporter *im, OxNode *n);
OxResult ox_op_depth_space(OxImporter *im, OxNode *n, bool to_space);
OxResult ox_op_resize(OxImporter *im, OxNode *n);
/* The mappings of onnx_ops_nn.c (the losses, Trilu, Einsum, RNNs ...; Attention and
 * RotaryEmbedding through onnx_ops_attention.c): true when it handled op, its result in *r. */
bool ox_import_nn(OxImporter *im, OxNode *n, OxResult *r);
bool ox_op_known_nn(const char *op);
/* onnx_ops_nn.c's helpers, shared with onnx_ops_attention.c (IR_NONE in, IR_NONE out):
 * ox_nn_const_value: constant c as a graph constant named after n and what; ox_nn_cast: v
 * as dtype dt; ox_nn_where; ox_nn_concat: k values along axis; ox_nn_reshape: v reshaped
 * to the rank dims in d; ox_nn_copy: a computed copy of v (an output may not be a graph
 * input or a constant). */
ValueId ox_nn_const_value(OxImporter *im, const OxNode *n, const OxConst *c, const char *what);
ValueId ox_nn_cast(OxImporter *im, const OxNode *n, ValueId v, DType dt);
ValueId ox_nn_where(OxImporter *im, const OxNode *n, ValueId c, ValueId a, ValueId b);
ValueId ox_nn_concat(OxImporter *im, const OxNode *n, const ValueId *ins, int k, int64_t axis);
ValueId ox_nn_reshape(OxImporter *im, const OxNode *n, ValueId v, const Dim *d, int rank);
ValueId ox_nn_copy(OxImporter *im, const OxNode *n, ValueId v);
/* Attention and RotaryEmbedding (onnx_ops_attention.c), dispatched by ox_import_nn. */
OxResult ox_op_attention(OxImporter *im, OxNode *n);
OxResult ox_op_rotary(OxImporter *im, OxNode *n);
/* RNN (kind 0), GRU (1) and LSTM (2), unrolled (onnx_ops_rnn.c), dispatched by ox_import_nn. */
OxResult ox_op_recurrent(OxImporter *im, OxNode *n, int kind);
/* If (onnx_ops_if.c), dispatched by ox_import_nn. */
OxResult ox_op_if(OxImporter *im, OxNode *n);

/* ---- onnx_ops_ext.c ---- */
/* Imports n when its op is one onnx_ops_ext.c maps (result in *r); false otherwise. */
bool ox_import_ext(OxImporter *im, OxNode *n, OxResult *r);
bool ox_op_known_ext(const char *op);
/* Resize from opset 11 (onnx_ops.c keeps Upsample and Resize-10). */
OxResult ox_import_resize(OxImporter *im, OxNode *n);
/* MaxPool/AveragePool cases the 2-D IR pools lack (3-D; averages dilated, asymmetric or
 * padded over half the kernel): true when it handled n (result in *r). */
bool ox_pool_ext(OxImporter *im, OxNode *n, bool is_max, OxResult *r);

/* ---- onnx_ops_quant.c ---- */
/* Imports n when it is one of ONNX's quantization ops (QuantizeLinear, QLinearConv...):
 * true with *r set; false for any other op. */
bool ox_import_quant(OxImporter *im, OxNode *n, OxResult *r);
bool ox_op_known_quant(const char *op);

/* ---- onnx_check.c ---- */
/* Checks what ONNX requires of n before it is mapped (required inputs present, window
 * attributes, Range's count, Gather's constant indices); false after an error naming it. */
bool ox_check_node(OxImporter *im, const OxNode *n);

/* ---- onnx_fold.c ---- */
/* Evaluates n at import when it is a shape computation on constants; true when it did. */
bool ox_fold(OxImporter *im, const OxNode *n);

/* ---- attributes ---- */
const Onnx__AttributeProto *ox_attr(const OxNode *n, const char *name);
int64_t ox_attr_int(const OxNode *n, const char *name, int64_t dflt);
float ox_attr_float(const OxNode *n, const char *name, float dflt);
/* Count of ints (0 when absent), copied into out (at most max). */
int ox_attr_ints(const OxNode *n, const char *name, int64_t *out, int max);
const char *ox_attr_string(OxImporter *im, const OxNode *n, const char *name, const char *dflt);

/* ---- constants ---- */
int64_t ox_const_numel(const OxConst *c);
double ox_const_get(const OxConst *c, int64_t i);    /* element i as a double */
int64_t ox_const_get_i(const OxConst *c, int64_t i); /* element i as an integer */
/* A zero-filled constant of dtype and shape in the graph's arena. A shape with a negative
 * dim, or whose element count or byte size overflows, or that exceeds the graph's memory
 * limit (ir/limits.h), is the user's error: reported naming the node being imported, and
 * false (c is then an empty or scalar zero constant: a caller that fills c by its own counts
 * must return). Scalars and shapes of a few elements cannot fail. */
bool ox_const_make(OxImporter *im, OxConst *c, DType dt, int rank, const int64_t *shape);
void ox_const_set(OxConst *c, int64_t i, double v);

/* frontend/onnx_unpack.c. buf's ModelProto unpacked, its payloads of 64 KB and more in
 * huge-page regions; NULL when protobuf-c rejects it. *owner (NULL on failure) owns the
 * message and the regions: release both with ox_model_free(*owner) (an ir_graph_on_free
 * callback), never with onnx__model_proto__free_unpacked. */
typedef struct OxUnpacked OxUnpacked;
Onnx__ModelProto *ox_model_unpack(const void *buf, size_t len, OxUnpacked **owner);
void ox_model_free(void *owner);

#endif
