/* The elaborator's internals: the syntax tree (ast.h) to a Graph. Shared by builder.c
 * (files, models, blocks, statements), build_expr.c (expressions, constants, nodes),
 * build_func.c (built-in functions), build_module.c (built-in modules, parameters and the
 * weights file) and compress.c (compress blocks). Not a public interface. */
#ifndef SLIMC_FE_BUILDER_H
#define SLIMC_FE_BUILDER_H

#include "frontend/ast.h"
#include "frontend/safetensors.h"
#include "frontend/slim.h"
#include "ir/graph.h"

/* Limits that keep absurd input from exhausting time or memory. */
#define FE_MAX_DIM       ((int64_t)1 << 40) /* a declared dimension */
#define FE_MAX_NESTING   32                 /* blocks instantiated inside blocks */
#define FE_MAX_INSTANCES 100000             /* module instances in one model */
#define FE_MAX_NODES     250000             /* nodes in one model */
#define FE_MAX_STEPS     4000000 /* statements run for one model (forwards run per call) */

typedef struct Module Module;

typedef enum ValKind {
    VAL_ERROR, /* an error that was reported: every use of it is silent */
    VAL_NONE,  /* no value: an argument not given, a conditional without else */
    VAL_INT,
    VAL_BOOL,
    VAL_FLOAT,
    VAL_STRING,
    VAL_LIST,   /* [a, b, ...] of compile-time values */
    VAL_SYMBOL, /* a symbolic dimension (N): i is its index in the graph */
    VAL_TENSOR, /* an IR value */
    VAL_MODULE, /* a module instance */
    VAL_ABSENT, /* a conditional module whose condition is false; s is its name */
} ValKind;

/* What an expression evaluates to at elaboration time. */
typedef struct Val {
    ValKind kind;
    SrcLoc loc; /* where it was written */
    int64_t i;
    double f;
    const char *s;
    struct Val *items; /* VAL_LIST */
    int n;
    ValueId v; /* VAL_TENSOR */
    Module *m; /* VAL_MODULE */
} Val;

typedef struct Binding {
    const char *name;
    Val val;
    SrcLoc loc; /* where it was bound */
} Binding;

/* Names in one scope (a model body, a block instance, one call of a forward), with a
 * parent to look further in. A small open-addressing table keeps lookups constant time. */
typedef struct Scope {
    struct Scope *parent;
    Binding *items;
    int n, cap;
    int *slots; /* index + 1 into items, 0 when free */
    int n_slots;
} Scope;

typedef enum ModKind {
    MOD_CONV2D,
    MOD_LINEAR,
    MOD_BATCHNORM2D,
    MOD_LAYERNORM,
    MOD_EMBEDDING,
    MOD_SEQUENTIAL,
    MOD_BLOCK,
    MOD_ACT,      /* a parameterless elementwise module (ReLU, GELU...): op, slope */
    MOD_IDENTITY, /* Identity, Dropout: no node */
    MOD_FLATTEN,
    MOD_POOL, /* MaxPool2d, AvgPool2d: op and the pool fields */
    MOD_ADAPTIVE_POOL,
    MOD_GROUPNORM,
    MOD_CONVT,     /* ConvTranspose2d */
    MOD_MHA,       /* MultiheadAttention */
    MOD_PARAMETER, /* Parameter(d0, d1, ...): one tensor, named by the module's path */
    MOD_QCONV2D,   /* QuantConv2d: what quantize(int8) makes of a Conv2d */
    MOD_QLINEAR,   /* QuantLinear */
    MOD_WLINEAR,   /* WeightOnlyLinear: i8 / i4 weights with group scales, or f16 / bf16 */
    MOD_DQLINEAR,  /* DynamicQuantLinear: i8 weights, activations quantized per run */
} ModKind;

/* One parameter tensor of a module, bound to the weights file by its PyTorch name. */
typedef struct Param {
    const char *name; /* "layer1.0.conv1.weight" */
    Shape shape;      /* what the module's arguments say it must be */
    DType dtype;      /* f32; i8 and i32 for the quantized modules' weights and sums */
    const void *data; /* payload (mmapped or converted), NULL when not bound */
    size_t bytes;
    ValueId v; /* the graph value, made at the module's first call */
} Param;

#define FE_MAX_PARAMS 4

struct Module {
    ModKind kind;
    const char *type_name; /* "Conv2d", or the block's name */
    const char *path;      /* "layer1.0.conv1": the prefix of its parameters' names */
    SrcLoc loc;            /* its declaration */
    bool broken;           /* declared with errors: calling it gives a silent error */
    Param params[FE_MAX_PARAMS];
    int n_params;
    /* Conv2d */
    int64_t stride[2], padding[2], dilation[2], groups;
    /* BatchNorm2d, LayerNorm */
    double eps;
    double momentum; /* BatchNorm2d: for training (the running statistics' update) */
    int norm_ndim;
    int64_t norm_shape[IR_MAX_RANK];
    /* the modules of issue 3 */
    OpKind op;     /* MOD_ACT, MOD_POOL */
    double slope;  /* LeakyReLU */
    double drop_p; /* Dropout: kept in a model loaded for training */
    int64_t kernel[2], output_padding[2], out_size[2], start_dim, end_dim;
    bool ceil_mode, count_include_pad;
    int64_t num_groups, embed_dim, num_heads;
    bool batch_first;
    /* QuantConv2d, QuantLinear: the u8 input's scale and zero point */
    double x_scale;
    int64_t x_zero_point;
    int64_t group; /* WeightOnlyLinear */
    /* Sequential */
    Module **children;
    int n_children;
    /* block instances */
    const AstSection *block;
    Scope *scope;   /* the block's parameters and modules */
    int forward_at; /* index of the forward statement in block->stmts */
};

typedef struct Builder {
    Diag *d;
    Arena *arena; /* elaboration scratch, freed when the build ends */
    const AstFile *ast;
    const char *file; /* the model file as named by the caller */
    const char *dir;  /* its folder with a trailing '/', or "" */
    /* The model being built. */
    Graph *g;
    const AstSection *model;
    int errors_at_start;
    StFile *st;             /* its weights file (NULL when none or unreadable) */
    const AstStmt *weights; /* its weights line (NULL when none) */
    bool no_weights_reported;
    int n_converted;         /* parameters converted to f32 */
    unsigned converted_from; /* 1 << dtype of each converted source type */
    int op_count[IR_NUM_OPS];
    int n_instances;
    int n_steps;     /* statements run, against FE_MAX_STEPS */
    bool too_big;    /* a limit was reached (and reported): stop elaborating */
    bool in_forward; /* evaluating a block's forward: no module declarations */
    /* Block instances being elaborated, outermost first (for recursion and notes). */
    Module *inst[FE_MAX_NESTING];
    const AstSection *inst_block[FE_MAX_NESTING];
    int depth;
    /* Messages already given inside blocks, so that an error in a block's text is
     * reported once, not once per instance. */
    char **seen;
    int n_seen, cap_seen;
    /* fe_slim_load_ex's init_missing_weights: a model without a weights line gets
     * PyTorch's default initialisation (init_params.c), drawn from init_rng */
    bool init_missing_weights;
    uint64_t init_rng;
    bool training; /* fe_slim_load_ex's training: dropout nodes are kept */
    /* --shape / --dim (fe_slim_load_ex's fixes): applied to the first model of the file
     * while it is built; NULL for the others or when nothing is fixed */
    const struct FeFixes *fixes;
    struct FeFixer *fixer;
} Builder;

/* ---- builder.c ---- */
/* Elaborates every model of the file (file: the name used in messages and for relative
 * paths). Returns the first model's graph, or NULL when the file has none; the caller
 * checks d for errors. */
Graph *fe_build(const AstFile *ast, const char *file, Diag *d);
/* Same, with fe_slim_load_ex's options (NULL: the defaults). */
Graph *fe_build_ex(const AstFile *ast, const char *file, const FeSlimOptions *opt, Diag *d);
/* Reports a user error at loc. Inside a block instance the same message at the same place
 * is reported once, followed by notes naming the instances it happened in. */
void fe_error(Builder *b, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Notes naming the enclosing block instances (after an error reported elsewhere). */
void fe_instance_notes(Builder *b);
SrcLoc fe_gloc(const Builder *b, SrcLoc loc); /* loc with a file name the graph owns */
Scope *fe_scope_new(Builder *b, Scope *parent);
Binding *fe_scope_find(Scope *s, const char *name, bool this_scope_only);
void fe_scope_set(Builder *b, Scope *s, const char *name, Val v, SrcLoc loc);
const AstSection *fe_find_block(const Builder *b, const char *name);
/* Elaborates one call of a block instance's forward with the given inputs. */
Val fe_call_block(Builder *b, Module *m, const Val *inputs, int n, SrcLoc loc);
/* Elaborates a block's parameters and module section into a new instance. */
Val fe_instantiate_block(Builder *b, Scope *caller, const AstExpr *call, const AstSection *blk,
                         const char *path);
/* The closest of names[0..n) to name (at most 2 edits), or NULL. */
const char *fe_suggest(const char *name, const char *const *names, int n);
/* "unknown X 'name'" with a did-you-mean from the scope chain and the built-ins. */
void fe_unknown(Builder *b, Scope *s, SrcLoc loc, const char *what, const char *name);

/* ---- init_params.c ---- */
/* Fills p (a parameter of m, in a model with no weights line, loaded with
 * init_missing_weights) as PyTorch's reset_parameters does, from b->init_rng; reports an
 * error for a module whose parameters cannot start from a default (quantized ones). */
void fe_param_init(Builder *b, Module *m, Param *p);

/* ---- build_expr.c ---- */
Val fe_err_val(SrcLoc loc);
Val fe_eval(Builder *b, Scope *s, const AstExpr *e, const char *define_path);
bool fe_to_int(Builder *b, const Val *v, const char *what, int64_t *out);
bool fe_to_bool(Builder *b, const Val *v, const char *what, bool *out);
bool fe_to_float(Builder *b, const Val *v, const char *what, double *out);
/* An int or a list of two ints ([3, 1]) into out[2]. */
bool fe_to_pair(Builder *b, const Val *v, const char *what, int64_t out[2]);
/* A tensor; numbers become 0-d f32 constants. */
bool fe_to_tensor(Builder *b, const Val *v, ValueId *out);
/* "a tensor", "the integer 3", "module 'conv1' (Conv2d)"... */
const char *fe_describe(const Val *v, char *buf, size_t size);
/* A new node named name (or op + a counter when NULL) with its attributes still to set;
 * IR_NONE (reported) when the model grew too big. */
NodeId fe_node(Builder *b, OpKind op, const char *name, SrcLoc loc, const ValueId *inputs, int n);
/* Infers the node's output type (reporting shape errors) and returns the output. */
Val fe_node_done(Builder *b, NodeId n, SrcLoc loc);
ValueId fe_scalar_const(Builder *b, double v, SrcLoc loc);
/* Binds call's arguments to the parameter names (aliases separated by '|'), evaluating
 * each; out[i] is VAL_NONE for an argument not given. Reports too many arguments,
 * unknown or repeated keywords and missing required ones (the first n_required) at the
 * call, and returns false then. */
bool fe_bind_args(Builder *b, Scope *s, const AstExpr *call, const char *what,
                  const char *const *names, int n_names, int n_required, Val *out);

/* ---- build_func.c ---- */
bool fe_is_builtin_function(const char *name);
Val fe_call_builtin(Builder *b, Scope *s, const AstExpr *call);
/* Puts the functions' names in out (when not NULL) and returns how many there are. */
int fe_builtin_function_names(const char **out);
/* Helpers the modules lower with (each returns IR_NONE, reported, on error). */
ValueId fe_op_node(Builder *b, OpKind op, const char *name, const ValueId *in, int n, SrcLoc loc,
                   NodeId *node);
ValueId fe_permute(Builder *b, ValueId x, const int64_t *perm, int rank, const char *name,
                   SrcLoc loc);
/* reshape to dims (symbols kept; at most one dim that is neither static nor one symbol) */
ValueId fe_reshape(Builder *b, ValueId x, const Dim *dims, int rank, const char *name, SrcLoc loc);
/* A binary op on two values, a number taking the other operand's dtype (comparisons). */
Val fe_tensor_op2(Builder *b, OpKind op, const Val *l, const Val *r, SrcLoc loc);
Val fe_adaptive_pool(Builder *b, ValueId x, const int64_t os[2], const char *name, SrcLoc loc);
/* dropout(x) with probability p of a zero (name: the node's, NULL for one made up): a
 * dropout node in a model loaded for training, else x itself (build_func.c). */
Val fe_dropout(Builder *b, ValueId x, double p, const char *name, SrcLoc loc);
/* p in [0, 1], as PyTorch asks; else an error at loc. */
bool fe_dropout_p_ok(Builder *b, SrcLoc loc, double p);
void fe_conv_transpose_attrs(Builder *b, NodeId id, const int64_t st[2], const int64_t pad[2],
                             const int64_t opad[2], const int64_t dil[2], int64_t groups);

/* ---- build_module.c ---- */
bool fe_is_builtin_module(const char *name);
/* Puts the modules' names in out (when not NULL) and returns how many there are. */
int fe_builtin_module_names(const char **out);
/* Declares the module call constructs (a built-in module or a block) at path. */
Val fe_declare_module(Builder *b, Scope *s, const AstExpr *call, const char *path);
/* Calls a module on its inputs. */
Val fe_call_module(Builder *b, Module *m, const Val *inputs, int n, SrcLoc loc);
/* The weights line of the model: opens the file (relative to the model file). */
void fe_weights_open(Builder *b, const AstStmt *line);
/* Checks p against the weights file and binds its data; reports what is wrong. */
void fe_param_bind(Builder *b, Module *m, Param *p);
/* The graph value of parameter i of m, made on first use. */
ValueId fe_param_value(Builder *b, Module *m, int i);
/* After the model: the conversion note and the unused-tensor warning. */
void fe_weights_finish(Builder *b);

/* ---- compress.c ---- */
/* The compress block's lines as a pipeline (passes/pass.h), one step a line, each step and
 * argument at its place in the file; allocated in arena a. NULL when the block has no call. */
struct PassPipeline *fe_pipeline_build(const Builder *b, Arena *a, const AstSection *c);
/* A string argument the pipeline syntax cannot carry (one holding a newline), or NULL. */
const AstExpr *fe_pipeline_bad_string(const AstSection *c);

#endif
