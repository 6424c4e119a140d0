/* The pass manager: passes registered by name, and pipelines: a PassPipeline is the list of
 * steps (pass name, typed arguments, the source place of each) that both a `--passes`
 * string (parsed here) and a model's compress block (built from the grammar's AST by
 * frontend/compress.c) produce, and that pass_pipeline_exec runs. The text form:
 *
 *   pipeline := call (',' call)*
 *   call     := NAME [ '(' [ arg (',' arg)* ] ')' ]
 *   arg      := [ NAME '=' ] value
 *   value    := NAME | NUMBER ['%'] | STRING | call
 *
 * e.g. "fold,fuse,quantize(int8, per_channel, calibrate=\"calib.npy\", method=percentile(99.99))".
 * The full grammar is in docs/passes.md.
 *
 * Passes do no I/O: an argument that names a file (pass_file_arg, e.g. quantize's
 * calibrate=) is read by the API layer before the pipeline runs (api/pipeline.c), which
 * hangs the array on the argument (PassArg.file). */
#ifndef SLIMC_PASSES_PASS_H
#define SLIMC_PASSES_PASS_H

#include "ir/graph.h"

typedef enum PassArgKind {
    PASS_ARG_NAME,
    PASS_ARG_NUMBER,
    PASS_ARG_STRING,
    PASS_ARG_CALL
} PassArgKind;

/* The contents of a file argument, read by the API layer before the pipeline runs: a
 * .npy (C order, dtype as in the file), or a set of named arrays, one per model input: a
 * .npz (np.savez) or the list "NAME=FILE.npy,NAME=FILE.npy" (docs/quantization.md). When
 * it could not be read, data is NULL and error holds the reader's messages, reported only
 * if the pass asks for the data (pass_file), so that a pass that does not need it (nothing
 * to quantize) runs as if it had not been given. Owned by whoever loaded it
 * (api_pipeline_load / api_pipeline_release). */
typedef struct PassFile {
    const char *path; /* as opened (resolved against the model file's folder) */
    DType dtype;
    int ndim;
    int64_t shape[IR_MAX_RANK];
    const void *data;
    size_t nbytes;
    Diag *error; /* NULL when read */
    /* the model input this array feeds (a .npz entry's name without ".npy", the NAME of
     * NAME=FILE.npy); NULL for a plain .npy */
    const char *key;
    /* a set of named arrays: parts[0..n_parts), each with its key and path (a .npz's
     * parts: "FILE.npz:NAME.npy"); this one then has no data of its own */
    int n_parts;
    struct PassFile *parts;
} PassFile;

/* Samples of one model input, as the calibration runs take them: shape[0] samples, C
 * order, of the input's dtype (int64 ids and masks are fed as int64). */
typedef struct PassTensor {
    DType dtype;
    int ndim;
    int64_t shape[IR_MAX_RANK];
    const void *data;
} PassTensor;

typedef struct PassArgs PassArgs;
typedef struct PassArg {
    const char *key; /* NULL for a positional argument */
    SrcLoc loc;      /* of the key, or of the value when positional */
    PassArgKind kind;
    const char *text;     /* the name, the string's contents, or the number as written */
    double number;        /* PASS_ARG_NUMBER (a trailing % divides by 100) */
    const PassArgs *call; /* PASS_ARG_CALL */
    const PassFile *file; /* a file argument once loaded (NULL before, or when not a file) */
} PassArg;

/* One step of a pipeline (a pass and its arguments), or a nested call in an argument. */
struct PassArgs {
    const char *name; /* the pass (or nested call) name */
    SrcLoc loc;
    int n;
    PassArg *args;
};

/* A pipeline: its steps in the order they run. */
typedef struct PassPipeline {
    int n;
    PassArgs *steps;
} PassPipeline;

typedef bool (*PassFn)(Graph *g, const PassArgs *args, Diag *d);

typedef struct PassRunOptions {
    const char *print_after; /* print the IR after this pass ("all" for every pass) */
    FILE *print_to;
    bool verify; /* run ir_verify after every pass (tests, debug) */
    double *ms;  /* if set, accumulates time spent */
} PassRunOptions;

/* Parses a pipeline string (allocating from g's arena) into *out; errors are reported at
 * loc (with the column of the fault when loc has one; line 0: the pseudo-file "--passes").
 * Checks that every pass exists. On error *out is empty. */
bool pass_pipeline_parse(Graph *g, const char *pipeline, SrcLoc loc, PassPipeline *out, Diag *d);
/* Checks that every step of p names a known pass (one error per unknown one, at its place);
 * for pipelines built elsewhere than pass_pipeline_parse (a compress block). */
bool pass_pipeline_check(const PassPipeline *p, Diag *d);
/* Runs the steps of p in order (stopping at the first that fails), verifying and printing
 * the IR between them as o asks. File arguments must have been loaded (api/pipeline.c). */
bool pass_pipeline_exec(Graph *g, const PassPipeline *p, const PassRunOptions *o, Diag *d);
/* Parses and runs a pipeline string that has no file arguments to load (or whose passes
 * do not need them): internal pipelines and tests. */
bool pass_pipeline_run(Graph *g, const char *pipeline, SrcLoc loc, const PassRunOptions *o,
                       Diag *d);
/* A faster way than the reference evaluator to run a graph, for calibration and the
 * accuracy guard of quantize: the API layer installs the JIT (api/pass_runner.c); when
 * none is installed, or it cannot compile, the passes use ir_eval. */
typedef struct PassExec PassExec;
typedef struct PassRunner {
    /* g's values watch[0..n) become readable after each run; g is not modified */
    PassExec *(*compile)(const Graph *g, const ValueId *watch, int n_watch, Diag *d);
    /* inputs[i]: the data of the graph's input i (every input, in order); outs[i] gets
     * watch[i] as malloc'd data of its dtype (its element count: the value's shape with
     * the inputs' symbols bound) */
    bool (*run)(PassExec *e, const PassTensor *inputs, void **outs, Diag *d);
    void (*release)(PassExec *e);
} PassRunner;
void pass_set_runner(const PassRunner *r);
const PassRunner *pass_get_runner(void);

/* Looks a pass up by name; NULL if unknown. */
PassFn pass_lookup(const char *name);
/* Whether argument key of pass `pass` names a file that the API layer loads for it. */
bool pass_file_arg(const char *pass, const char *key);
/* The pipeline used when none is given. */
const char *pass_default_pipeline(void);
/* The same with the pass call `quantize` (e.g. "quantize(int8, dynamic)") at its place,
 * after the clean-up passes and before place, qchain, layout and fuse; allocated in g's
 * arena (NULL quantize: the default pipeline). */
const char *pass_default_pipeline_with(Graph *g, const char *quantize);

/* Argument helpers for pass implementations: report unknown keys as errors. */
const PassArg *pass_arg(const PassArgs *a, const char *key);
/* The contents of file argument a (pass_file_arg, given as a string or name), or NULL after
 * reporting to d why the file could not be read. */
const PassFile *pass_file(const PassArg *a, Diag *d);
bool pass_args_check(const PassArgs *a, const char *allowed_keys, Diag *d);
/* Whether a node called name is what a pass argument pattern names (place's pins, prune's
 * layers): the whole name, or a prefix of it ending at a '.' or a '/' (layer3 names
 * layer3.0.conv1 and layer3/conv, not layer30), or a module path of a node exported by
 * PyTorch (layer1.0.conv1 names _layer1_layer1.0_conv1_Conv, the importer's form of
 * "/layer1/layer1.0/conv1/Conv"; enc.layers.0.linear1 names _enc_layers.0_linear1_MatMul). */
bool pass_name_matches(const char *pattern, const char *name);

/* The passes (one file each in passes/). */
bool pass_fold(Graph *g, const PassArgs *args, Diag *d);
bool pass_dce(Graph *g, const PassArgs *args, Diag *d);
bool pass_cse(Graph *g, const PassArgs *args, Diag *d);
bool pass_bn_fold(Graph *g, const PassArgs *args, Diag *d);
bool pass_linearize(Graph *g, const PassArgs *args, Diag *d);
bool pass_conv_taps(Graph *g, const PassArgs *args, Diag *d);
/* int8 convs read without an im2col panel: their weights reordered (passes/qtaps.c). */
bool pass_qtaps(Graph *g, const PassArgs *args, Diag *d);
bool pass_gelu(Graph *g, const PassArgs *args, Diag *d);
bool pass_act(Graph *g, const PassArgs *args, Diag *d);
bool pass_lnorm(Graph *g, const PassArgs *args, Diag *d);
bool pass_attention(Graph *g, const PassArgs *args, Diag *d);
bool pass_layout(Graph *g, const PassArgs *args, Diag *d);
/* dst [cols, rows] = the transpose of src [rows, cols] (f32, no overlap), in cache-sized
 * tiles: the weight transposes of linearize and layout run on every start, cached or not. */
void pass_transpose_f32(float *dst, const float *src, int64_t rows, int64_t cols);
bool pass_fuse(Graph *g, const PassArgs *args, Diag *d);
bool pass_memplan(Graph *g, const PassArgs *args, Diag *d);

#endif
