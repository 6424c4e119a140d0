/* slimc — a model compiler. The public C API: load a model, transform it, emit C,
 * compile and run it, build it ahead of time. The slimc CLI uses nothing else.
 *
 * Errors: every call returns a SlimcStatus; on failure the message (one or more
 * `file:line:col: error: ...` diagnostics) is in slimc_error(ctx). Warnings and notes
 * collected by a successful call are in slimc_messages(ctx). Nothing here exits. */
#ifndef SLIMC_H
#define SLIMC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SLIMC_VERSION       "0.1.0"
#define SLIMC_VERSION_MAJOR 0
#define SLIMC_VERSION_MINOR 1
#define SLIMC_VERSION_PATCH 0
/* Version of the .slim language and of the generated header's ABI. */
#define SLIMC_FORMAT_VERSION 1

typedef enum SlimcStatus {
    SLIMC_OK = 0,
    SLIMC_ERROR = 1, /* the user's input is wrong (see slimc_error) */
} SlimcStatus;

/* Same order as the IR's dtypes. */
typedef enum SlimcDType {
    SLIMC_F64,
    SLIMC_F32,
    SLIMC_F16,
    SLIMC_BF16,
    SLIMC_I64,
    SLIMC_I32,
    SLIMC_I16,
    SLIMC_I8,
    SLIMC_U8,
    SLIMC_I4,
    SLIMC_BOOL,
    SLIMC_U16,
    SLIMC_U32,
    SLIMC_U64,
    SLIMC_F8E4M3FN,
    SLIMC_F8E4M3FNUZ,
    SLIMC_F8E5M2,
    SLIMC_F8E5M2FNUZ,
    SLIMC_U4,
    SLIMC_I2,
    SLIMC_U2,
    SLIMC_F4E2M1,
    SLIMC_F8E8M0
} SlimcDType;

#define SLIMC_MAX_RANK 8
typedef struct SlimcTensor {
    SlimcDType dtype;
    int ndim;
    int64_t shape[SLIMC_MAX_RANK];
    void *data; /* C order; owned by the tensor when it came from slimc */
    size_t nbytes;
} SlimcTensor;

typedef struct SlimcContext SlimcContext;
typedef struct SlimcModel SlimcModel; /* a model's graph, before or after passes */
typedef struct SlimcExec SlimcExec;   /* compiled code, ready to run */

/* Where a model runs: the CPU (C code), a CUDA GPU (CUDA code: NVRTC and the driver,
 * loaded at run time; docs/cuda.md), or auto: CUDA when a device is found and the CUDA
 * backend has a kernel for every op, else the CPU (with a note). */
typedef enum SlimcDevice { SLIMC_DEVICE_CPU, SLIMC_DEVICE_CUDA, SLIMC_DEVICE_AUTO } SlimcDevice;

/* What the CUDA backend's GEMMs and convolutions multiply in: fp32, or fp16 / bf16 on
 * tensor cores with fp32 accumulation (tensors stay f32 in memory). Only CUDA code has a
 * choice: asking for fp16 or bf16 with SLIMC_DEVICE_CPU is an error. */
typedef enum SlimcPrecision {
    SLIMC_PRECISION_FP32,
    SLIMC_PRECISION_FP16,
    SLIMC_PRECISION_BF16
} SlimcPrecision;

typedef struct SlimcOptions {
    int threads;             /* threads when running; 0 (default): slimc_default_threads() */
    const char *passes;      /* pipeline; NULL: the model's compress block + defaults */
    const char *print_after; /* pass name after which to print the IR, or "all" */
    FILE *print_to;          /* where --print-after goes (default stderr) */
    int opt_level;           /* -O level for the C compiler (default 2) */
    const char *cpu;         /* -march value: "native" for JIT (default), or a CPU name */
    const char *cc;          /* C compiler (default $SLIMC_CC, $CC, then cc) */
    const char *cache_dir;   /* compile cache (default $SLIMC_CACHE_DIR or the XDG cache) */
    bool no_cache;
    bool profile;             /* time each node (CPU): slimc_exec_profile reports (--profile) */
    SlimcDevice device;       /* default SLIMC_DEVICE_CPU */
    bool cuda_emulate;        /* CUDA code runs on the CPU emulation (also $SLIMC_CUDA_EMULATE=1) */
    SlimcPrecision precision; /* default SLIMC_PRECISION_FP32 */
    /* The device profile JSON file (docs/placement.md) that --device auto places from;
     * NULL (default): the one slimc_profile_device stored in the cache directory, else a
     * built-in default */
    const char *device_profile;
    /* A quantize pass call, e.g. "quantize(int8, calibrate=\"c.npy\")", that the default
     * pipeline (passes NULL) runs at its place: after fold, bn_fold and cse, before place,
     * qchain, layout and fuse (docs/quantization.md). NULL (default): none. Ignored when
     * passes is set. */
    const char *quantize;
} SlimcOptions;

/* Milliseconds spent in each stage by the calls on this context. */
typedef struct SlimcTimings {
    double parse, passes, codegen, compile, load, run;
} SlimcTimings;

void slimc_options_default(SlimcOptions *o);
/* The thread count of a run whose SlimcOptions.threads is 0 (the default): the CPUs this
 * process may run on (its affinity mask), at most 256. */
int slimc_default_threads(void);

SlimcContext *slimc_context_new(void);
void slimc_context_free(SlimcContext *ctx);
const char *slimc_error(const SlimcContext *ctx);
const char *slimc_messages(const SlimcContext *ctx);
void slimc_clear_messages(SlimcContext *ctx);
SlimcTimings slimc_timings(const SlimcContext *ctx);
const char *slimc_version(void);
/* Writes s to f as text safe for a terminal: control characters, Unicode direction
 * overrides and bytes that are not UTF-8 shown as \xNN (names from model files are data). */
void slimc_fputs_escaped(const char *s, FILE *f);

/* ---- limits ---- */
/* The memory one model may ask for, in bytes: its weights, its arena, its outputs and the
 * constants folded while it is imported or optimized. A model that needs more is refused
 * with an error naming the size (never an abort). Default: half of the machine's physical
 * memory; 0 restores the default. Applies to the models loaded, optimized and run on ctx
 * after the call. */
void slimc_set_max_memory(SlimcContext *ctx, uint64_t bytes);
uint64_t slimc_max_memory(const SlimcContext *ctx);
/* Parses a size as --max-memory takes it: bytes ("1048576") or a number with a binary
 * suffix K, M, G or T ("512M", "4G", "1.5T", "4GiB"). False for anything else and for 0. */
bool slimc_parse_size(const char *s, uint64_t *bytes);

/* ---- fixed input shapes and symbolic dims (--shape, --dim; docs/cli.md) ---- */
/* They apply to the models loaded on ctx after the call, while the model is imported: a
 * fixed dim is static from the first node on, so shape arithmetic over it folds and ops
 * that need a known size (a convolution's spatial dims, Resize) import.
 * slimc_fix_shape fixes every dim of one input, named, or by its position ("0", "1"...),
 * ndim of them, each >= 1; a static dim of the model must match, and the symbols its dims
 * had (an ONNX dim_param, a .slim N) take those values wherever they appear.
 * slimc_fix_dim fixes one symbolic dim by its name (an ONNX dim_param, a .slim dim name).
 * An input or a symbol the loaded model lacks is an error of slimc_model_load (with a
 * suggestion); so are a wrong rank and two different values for one symbol. Giving the
 * same input or symbol again replaces the value. */
SlimcStatus slimc_fix_shape(SlimcContext *ctx, const char *input, int ndim, const int64_t *dims);
SlimcStatus slimc_fix_dim(SlimcContext *ctx, const char *symbol, int64_t value);
/* The same from the CLI's text: "NAME=D0,D1,..." and "SYMBOL=N" (split at the last '='). */
SlimcStatus slimc_fix_shape_arg(SlimcContext *ctx, const char *arg);
SlimcStatus slimc_fix_dim_arg(SlimcContext *ctx, const char *arg);
/* Forgets every fixed shape and dim. */
void slimc_clear_fixes(SlimcContext *ctx);
/* Fixes the shape of every input of m that has a symbolic dim to the shape of in[i] (as
 * slimc_fix_shape does), for the next load: how `slimc run` and `bench` specialise a model
 * whose symbolic code is impossible (a symbol squared) to the shapes of their inputs.
 * Returns how many inputs it fixed (0: m has no symbolic input). */
int slimc_fix_inputs_to(SlimcContext *ctx, const SlimcModel *m, const SlimcTensor *in, int n);

/* ---- tensors and .npy files ---- */
SlimcStatus slimc_npy_load(SlimcContext *ctx, const char *path, SlimcTensor *out);
/* Writes atomically: a failed write leaves no partial file. */
SlimcStatus slimc_npy_save(SlimcContext *ctx, const char *path, const SlimcTensor *t);
void slimc_tensor_free(SlimcTensor *t);
const char *slimc_dtype_name(SlimcDType t);
size_t slimc_dtype_size(SlimcDType t); /* bytes per element (i4: 1, two per byte) */

/* ---- models ---- */
/* Parses a .slim file, binds its weights and infers shapes. */
SlimcStatus slimc_model_load(SlimcContext *ctx, const char *path, SlimcModel **out);
void slimc_model_free(SlimcModel *m);
const char *slimc_model_name(const SlimcModel *m);
int slimc_model_num_inputs(const SlimcModel *m);
int slimc_model_num_outputs(const SlimcModel *m);
const char *slimc_model_input_name(const SlimcModel *m, int i);
/* Output file name: the output's name reduced to [A-Za-z0-9_.-], or outputK. */
const char *slimc_model_output_name(const SlimcModel *m, int i);
/* Index of the input called name, or -1. */
int slimc_model_input_index(const SlimcModel *m, const char *name);
/* "f32[N, 1, 28, 28]" */
const char *slimc_model_input_type(const SlimcModel *m, int i);
const char *slimc_model_output_type(const SlimcModel *m, int i);

/* Runs the pipeline (o->passes, or the model's compress block followed by the default
 * pipeline), verifying the graph after every pass. Idempotent per model. */
SlimcStatus slimc_model_optimize(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o);

enum {
    SLIMC_INSPECT_SUMMARY = 1 << 0,
    SLIMC_INSPECT_IR = 1 << 1,
    SLIMC_INSPECT_DOT = 1 << 2, /* Graphviz DOT alone: with it, the other flags are ignored */
    SLIMC_INSPECT_MEMORY = 1 << 3,
    SLIMC_INSPECT_FLOPS = 1 << 4,
    SLIMC_INSPECT_QUANT = 1 << 5, /* per-layer int8 parameters, errors, bytes; float layers */
    /* A model optimized for CUDA: each kernel and launch of a run, its grid (expressions
     * over the symbols), block and static shared memory (from NVRTC's cubin for sm_80) */
    SLIMC_INSPECT_KERNELS = 1 << 6,
    /* Per conv2d/linear layer: the weight's measured density, the pattern of its zeros,
     * bytes, FLOPs and the kernel that runs it (docs/pruning.md) */
    SLIMC_INSPECT_SPARSITY = 1 << 7,
};
/* Optimizes m with the defaults (the CPU) first when --memory or --quant need it and it
 * was not optimized; a model optimized for CUDA (SlimcOptions.device) shows --memory per
 * device, and SLIMC_INSPECT_KERNELS needs one. */
SlimcStatus slimc_model_inspect(SlimcContext *ctx, SlimcModel *m, unsigned what, FILE *out);
/* Writes where each node of m runs and why (inspect --placement): per node the predicted
 * time on the CPU and the GPU, the copies of its inputs, the device and the reason (the
 * cost, a pin, a missing kernel, the GPU memory budget), then the predicted total against
 * all-CPU and all-GPU, the transfers, the GPU memory and the device profile. A model not
 * placed by the place pass (--device cpu or cuda) gets the predictions for where it is.
 * Optimizes m with the defaults first if it was not optimized. docs/placement.md. */
SlimcStatus slimc_model_placement(SlimcContext *ctx, SlimcModel *m, FILE *out);

/* Writes the model's C source (self-contained) to out. */
SlimcStatus slimc_model_emit_c(SlimcContext *ctx, SlimcModel *m, FILE *out);
/* Writes DIR/NAME.c and DIR/NAME.weights (the constants the code reads) and a README line. */
/* Creates the output folder path and its missing parents (mkdir -p); SLIMC_ERROR with
 * "PATH: error: cannot create the output folder: why" otherwise. Every command that writes
 * into a folder (run --output-dir, emit, build --lib, build --device cuda) calls it. */
SlimcStatus slimc_make_output_dir(SlimcContext *ctx, const char *path);
/* `slimc emit -o DIR`: the C a program compiles with the model, in the --lib form (the
 * entry points of docs/embedding.md: NAME_init, NAME_run, ...): DIR/NAME.c, DIR/NAME.h and
 * DIR/NAME.weights (the weights, packed as the code reads them, loaded by NAME_init), with
 * no compiler run; slimc_build_library with source_only and weights_file. */
SlimcStatus slimc_model_emit_dir(SlimcContext *ctx, SlimcModel *m, const char *dir);
/* Writes the source of the backend for o->device to out: C for SLIMC_DEVICE_CPU (as
 * slimc_model_emit_c), the CUDA backend's file for SLIMC_DEVICE_CUDA (a device half of
 * kernels and a host half that launches them; o->precision applies; docs/cuda.md). The
 * model is optimized with o first (or must have been optimized for that device). No GPU
 * is needed. o NULL: C. */
SlimcStatus slimc_model_emit(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o, FILE *out);
/* "fp32", "fp16", "bf16"; NULL out of range. */
const char *slimc_precision_name(SlimcPrecision p);

/* ---- JIT ---- */
SlimcStatus slimc_compile(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o, SlimcExec **out);
void slimc_exec_free(SlimcExec *e);
/* Runs on inputs given in the model's input order; fills outputs[0..n_outputs) with new
 * tensors (free with slimc_tensor_free). Inputs of another float dtype are converted
 * with a note; any other dtype or shape mismatch is an error naming the input. */
SlimcStatus slimc_exec_run(SlimcContext *ctx, SlimcExec *e, const SlimcTensor *inputs, int n_inputs,
                           SlimcTensor *outputs, int n_outputs);
/* slimc_exec_run into buffers the caller owns, with no output allocated (the arena is kept
 * in e): outputs[j] has the dtype, ndim and shape that output j has for these inputs
 * (slimc_model_output_type with each symbol at the value the inputs bind), data, and
 * nbytes at least that output's size; the buffers stay the caller's and must not overlap
 * the inputs or each other. A wrong dtype, rank or shape, too few bytes, or NULL data is
 * an error naming the output, with nothing written. Inputs are checked (other floats
 * converted) as slimc_exec_run does. On a GPU the outputs are copied into the buffers.
 * docs/embedding.md, "Running into your buffers". */
SlimcStatus slimc_exec_run_into(SlimcContext *ctx, SlimcExec *e, const SlimcTensor *inputs,
                                int n_inputs, const SlimcTensor *outputs, int n_outputs);
/* Checks inputs (in the model's input order) against the model's declared inputs as
 * slimc_exec_run does — dtype (other floats pass where f32 is declared), rank, static dims,
 * each symbol bound to one value, bytes of data — and that the outputs for the symbols
 * they bind fit the memory limit, without compiling anything: a caller that checks first
 * does not wait for a compile to hear that an input has the wrong rank. A model not yet
 * optimized also remembers the largest symbol value they bind: --device auto places its
 * nodes for that size (docs/placement.md), unless a place(auto, symbols=S) step says. */
SlimcStatus slimc_model_check_inputs(SlimcContext *ctx, const SlimcModel *m,
                                     const SlimcTensor *inputs, int n_inputs);
/* Where e runs: "cpu", or the CUDA device ("NVIDIA H100 ... (sm_90)", "emulated CUDA
 * device (CPU)"). */
const char *slimc_exec_device(const SlimcExec *e);
/* After runs of an exec compiled with SlimcOptions.profile (CPU): prints to out (if not
 * NULL) one line per node or fused group, slowest first — ms per run (the runs since the
 * last reset), share of the total, GFLOP/s and GB/s at the last run's shapes, its name and
 * op — and writes trace_path (if not NULL) as a Chrome trace (chrome://tracing, Perfetto:
 * the last run's timeline, one event per node). Then resets the counters. SLIMC_ERROR when
 * e was compiled without profile, runs on a GPU, or has not run. docs/cli.md, "--profile". */
SlimcStatus slimc_exec_profile(SlimcContext *ctx, SlimcExec *e, FILE *out, const char *trace_path);
/* Median latency in ms of runs repetitions on the given inputs. */
SlimcStatus slimc_exec_bench(SlimcContext *ctx, SlimcExec *e, const SlimcTensor *inputs,
                             int n_inputs, int runs, double *median_ms);
/* On a GPU, after slimc_exec_bench: the median GPU time in ms of its runs, from CUDA events
 * around the kernels (the input and output copies excluded). 0 on the CPU, emulated, or
 * before a bench. */
double slimc_exec_bench_device_ms(const SlimcExec *e);

/* Shrinks the model for saving (`slimc compress`): the canonical clean-up passes
 * (fold,bn_fold,fold,dce,cse), then passes — or, when passes is NULL, the model's compress
 * block — then dce. No layout, fusion or memory plan: the result is still a model that
 * slimc_model_save_slim can write, and that runs (or compiles) like any other. */
SlimcStatus slimc_model_compress(SlimcContext *ctx, SlimcModel *m, const char *passes);
/* The same, with the device profile the cost model's choices come from (quantize keeps a
 * layer float where int8 is predicted slower on that CPU; docs/quantization.md): o's
 * device_profile, else the one `slimc profile-device` stored in o's cache_dir (or the
 * default cache directory), else the built-in profile of this host. o may be NULL (as
 * slimc_model_compress); its other fields are not used. */
SlimcStatus slimc_model_compress_with(SlimcContext *ctx, SlimcModel *m, const char *passes,
                                      const SlimcOptions *o);

/* ---- saving and the compile cache ---- */
/* Writes the model (as loaded, or as slimc_model_compress left it) as a readable .slim
 * file at path and its constants as the .safetensors file beside it (path with .slim
 * replaced); int8 layers become QuantConv2d / QuantLinear with their i8 / i32 tensors. */
SlimcStatus slimc_model_save_slim(SlimcContext *ctx, SlimcModel *m, const char *path);
/* What slimc_model_save_slim_compact wrote. */
typedef struct SlimcSaveInfo {
    uint64_t weights_bytes; /* the size of the .safetensors file */
    uint64_t saved_bytes;   /* bytes the compact form saved over dense tensors */
    int n_compact;          /* weights stored in the compact form */
} SlimcSaveInfo;
/* slimc_model_save_slim (`slimc compress`), but with compact true each conv2d/linear f32
 * weight whose compact sparse form is smaller is stored so (NAME.values + NAME.mask and a
 * "__metadata__" entry, docs/formats.md "Compact sparse weights"); slimc reloads it bit for
 * bit. compact false writes an ordinary state_dict. info, when not NULL, gets the sizes. */
SlimcStatus slimc_model_save_slim_compact(SlimcContext *ctx, SlimcModel *m, const char *path,
                                          bool compact, SlimcSaveInfo *info);
/* SLIMC_ERROR, with a message, when writing path would replace a file the model was read
 * from (the model, its weights, ONNX external data), by name, through a symlink or a hard
 * link. Every writer of the API checks its outputs this way before writing. */
SlimcStatus slimc_model_check_output(SlimcContext *ctx, const SlimcModel *m, const char *path);

typedef struct SlimcCacheInfo {
    char dir[4096];
    int entries, temp_files;
    int cuda_entries; /* of the entries, NVRTC's PTX / cubin */
    unsigned long long bytes, max_bytes;
    const char *compiler; /* which compiler the JIT uses */
    const char *nvrtc;    /* "13.0 (/usr/local/cuda/lib64/libnvrtc.so.13)"; NULL: not found */
} SlimcCacheInfo;
/* cache_dir NULL: the default ($SLIMC_CACHE_DIR, $XDG_CACHE_HOME/slimc, ~/.cache/slimc). */
SlimcStatus slimc_cache_info(SlimcContext *ctx, const char *cache_dir, SlimcCacheInfo *info);
/* Removes every entry and stale temp file (only files slimc names). */
SlimcStatus slimc_cache_clear(SlimcContext *ctx, const char *cache_dir, int *removed);

/* ---- the device profile (docs/placement.md) ---- */
/* Measures this machine's devices with micro-benchmarks of the real kernels (a few
 * seconds): the CPU (with o->threads), and the CUDA device with the host <-> GPU link when
 * one can run code (o->device SLIMC_DEVICE_AUTO, the default of `slimc profile-device`, or
 * SLIMC_DEVICE_CUDA, which requires one; SLIMC_DEVICE_CPU profiles the CPU alone; under
 * emulation the "GPU" is the emulation). Writes the profile's JSON to out_path, or, NULL,
 * to device-profile.json in the cache directory (o->cache_dir, else the default), where
 * --device auto finds it. A note in slimc_messages says where it wrote. */
SlimcStatus slimc_profile_device(SlimcContext *ctx, const SlimcOptions *o, const char *out_path);
/* Prints the profile --device auto would use with o (o->device_profile, else the stored
 * one, else the built-in default) as a table: each device's GFLOP/s per class, bandwidth,
 * launch cost and memory, the link, and where it came from. An unreadable or malformed
 * o->device_profile is an error naming FILE:line:col. */
SlimcStatus slimc_device_profile_show(SlimcContext *ctx, const SlimcOptions *o, FILE *out);

/* ---- AOT ---- */
/* Writes a standalone executable with the weights embedded. With o->device CUDA the
 * executable embeds the kernels as PTX for compute_75, compute_80 and compute_90 (and
 * cubin for sm_75/80/90 where ptxas is installed) beside the weights, and loads the CUDA
 * driver when it starts (docs/cuda.md): building needs NVRTC, not a GPU. */
SlimcStatus slimc_build_executable(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o,
                                   const char *out_path);
typedef struct SlimcLibOptions {
    const char *name;          /* C identifier for NAME_*; NULL: the model's name */
    bool emit_source;          /* also write DIR/NAME.c */
    bool weights_file;         /* weights in DIR/NAME.weights, read by NAME_init, not embedded */
    const char *target_triple; /* cross-compile (TRIPLE-gcc); NULL: the host */
    bool source_only;          /* write NAME.h, NAME.c (and NAME.weights) but build no
                                * libNAME.a: what `slimc emit -o DIR` writes */
} SlimcLibOptions;
/* slimc_build_executable for another target (NULL triple: the host). */
SlimcStatus slimc_build_executable_for(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o,
                                       const char *triple, const char *out_path);
/* Writes DIR/NAME.h and DIR/libNAME.a (and NAME.c / NAME.weights as lo asks): NAME_init,
 * NAME_run, NAME_run_arena, NAME_free and NAME_ARENA_BYTES(n); see docs/embedding.md.
 * With o->device CUDA: NAME_init (opens the GPU, uploads the weights), NAME_run (host
 * pointers), NAME_run_device (device pointers), NAME_free; the device arena belongs to
 * the NAME object (docs/cuda.md). */
SlimcStatus slimc_build_library(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o,
                                const SlimcLibOptions *lo, const char *dir);

/* ---- benchmarking with statistics (`slimc bench`; docs/cli.md#slimc-bench) ---- */
typedef struct SlimcBenchOptions {
    int warmup;        /* untimed runs first (0 allowed) */
    int runs;          /* timed runs (at least this many) */
    double duration_s; /* > 0: also run until the timed runs have taken this many seconds */
    int max_runs;      /* cap on the timed runs with duration_s (0: 10000000) */
} SlimcBenchOptions;
typedef struct SlimcBenchStats {
    int runs, warmup;                       /* timed runs done, warm-up runs done */
    double total_ms;                        /* wall time of the timed runs, end to end */
    double min_ms, max_ms, mean_ms, std_ms; /* std: population standard deviation */
    /* percentiles of the sorted latencies t[0..runs): pP = t[min(floor(P/100 * runs),
     * runs - 1)], so p50 is the median slimc_exec_bench returns */
    double p50_ms, p90_ms, p99_ms;
    double inferences_per_s; /* runs / total_ms */
    double gpu_median_ms;    /* as slimc_exec_bench_device_ms; 0 on the CPU */
} SlimcBenchStats;
/* o NULL: 1 warm-up, 100 runs. Also sets what slimc_exec_bench_device_ms returns. */
SlimcStatus slimc_exec_bench_stats(SlimcContext *ctx, SlimcExec *e, const SlimcTensor *inputs,
                                   int n_inputs, const SlimcBenchOptions *o, SlimcBenchStats *out);

/* ---- training (`slimc train`, `slimc distill`; docs/training.md) ---- */
/* slimc_model_load for training: a .slim model with no weights line is allowed, its
 * parameters starting from PyTorch's default initialisation (reset_parameters: conv and
 * linear weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)), norms 1 and 0, embeddings
 * N(0, 1)) drawn from slimc's generator seeded with seed (the distributions are torch's,
 * the values are not). A model with a weights line loads as slimc_model_load loads it. */
SlimcStatus slimc_model_load_for_training(SlimcContext *ctx, const char *path, uint64_t seed,
                                          SlimcModel **out);

typedef enum SlimcOptimizer {
    SLIMC_OPTIM_SGD,  /* torch.optim.SGD: momentum, dampening 0, nesterov, weight_decay */
    SLIMC_OPTIM_ADAM, /* torch.optim.Adam: L2 weight decay added to the gradient */
    SLIMC_OPTIM_ADAMW /* torch.optim.AdamW: decoupled weight decay */
} SlimcOptimizer;

/* The learning rate of each epoch e (0-based), as a scheduler stepped once per epoch:
 * CONSTANT lr; STEP lr * gamma^floor(e / step_size) (StepLR); COSINE eta_min + (lr -
 * eta_min) * (1 + cos(pi * e / t_max)) / 2 (CosineAnnealingLR's closed form). A warm-up
 * multiplies it by LinearLR's factor: warmup_start + (1 - warmup_start) * min(e,
 * warmup_epochs) / warmup_epochs. */
typedef enum SlimcSchedule {
    SLIMC_SCHEDULE_CONSTANT,
    SLIMC_SCHEDULE_STEP,
    SLIMC_SCHEDULE_COSINE
} SlimcSchedule;

typedef struct SlimcTrainOptions {
    /* The data (.npy): data f32 [N, ...] (each sample the shape of the model's input
     * without its batch dimension); labels i64 or i32 [N], class indices into the model
     * output's last axis, or -100 for a sample without a label (distillation). */
    const char *data, *labels;
    const char *val_data, *val_labels; /* optional: accuracy after each epoch */
    /* Regression instead of classes: targets f32 [N, ...] (each the model output's shape
     * without its batch dimension) and the loss F.mse_loss (the mean over every element);
     * labels must then be NULL. val_targets: validation MSE after each epoch. */
    const char *targets, *val_targets;
    int epochs;     /* default 1 */
    int batch_size; /* default 64; the last partial batch is kept (drop_last=False) */
    bool shuffle;   /* default true: a new permutation of the samples each epoch */
    uint64_t seed;  /* shuffles (and slimc_model_load_for_training's initialisation) */

    SlimcOptimizer optimizer; /* default SLIMC_OPTIM_ADAM */
    double lr;                /* default 1e-3 */
    double momentum;          /* SGD (default 0) */
    bool nesterov;            /* SGD (needs momentum > 0) */
    /* default -1: the optimizer's own default, 0 (SGD, Adam) or 0.01 (AdamW) */
    double weight_decay;
    double beta1, beta2, eps; /* Adam, AdamW: defaults 0.9, 0.999, 1e-8 */

    SlimcSchedule schedule; /* default SLIMC_SCHEDULE_CONSTANT */
    int step_size;          /* STEP: epochs between decays (required) */
    double gamma;           /* STEP: default 0.1 */
    int t_max;              /* COSINE: default 0, meaning epochs */
    double eta_min;         /* COSINE: default 0 */
    int warmup_epochs;      /* default 0: no warm-up */
    double warmup_start;    /* the first epoch's factor, default 1/3 (LinearLR's) */

    /* slimc_train with a teacher: Hinton's loss, alpha * T^2 * KL(softmax(t/T) ||
     * softmax(s/T)) + (1 - alpha) * CE(s, labels over the labeled samples) */
    double temperature; /* default 4 */
    double alpha;       /* default 0.7 */

    /* A checkpoint after each epoch, DIR/checkpoint.safetensors (replaced atomically);
     * NULL: none. resume: a checkpoint to go on from (its epoch, parameters, optimizer
     * state and shuffling state); the options must name the same optimizer. */
    const char *checkpoint_dir, *resume;
    const SlimcOptions *compile; /* threads, compiler and cache (NULL: the defaults) */
    /* Masked fine-tuning (a pruned model): every element of a weight of rank >= 2 (conv,
     * linear, embedding) that is exactly 0 at the start stays 0: it is set back to 0 after
     * each optimizer update and its optimizer state cleared, as torch's prune keeps weight
     * = weight_orig * mask. Default false; the finetune pass of slimc compress sets it. */
    bool keep_zeros;
    /* Progress: on a terminal one line redrawn (epoch, step, loss, samples/s, ETA), else
     * one line per epoch (epoch, mean loss, validation accuracy, time); NULL: silent. */
    FILE *progress;
} SlimcTrainOptions;

void slimc_train_options_default(SlimcTrainOptions *o);

/* Trains model (loaded, not optimized: slimc_model_load or slimc_model_load_for_training)
 * with o and writes its weights to out_path as safetensors under the state_dict names
 * (the parameters, batch norms' running statistics and num_batches_tracked: the file
 * torch's load_state_dict takes and the .slim model's weights line reads). The loss is
 * cross entropy with ignore_index -100, or, with a teacher (any model slimc runs, compiled
 * here for inference), the distillation loss against its outputs (o->labels may then be
 * NULL: the teacher alone). Errors name the file at fault: data and labels of different
 * lengths, a label out of range, samples of the wrong shape, teacher and student outputs
 * of different shapes, an op without a gradient. A NaN or infinite loss stops training
 * with an error giving the step and the last finite loss; the last checkpoint stays. */
SlimcStatus slimc_train(SlimcContext *ctx, SlimcModel *model, SlimcModel *teacher,
                        const SlimcTrainOptions *o, const char *out_path);

/* ---- for programs that load slimc at run time (the Python package, docs/python.md) ---- */
/* Loads a model from memory: ONNX (a ModelProto) or .slim text, by name's ending (".onnx",
 * ".slim"), else by the bytes (a protobuf's first field tag, 0x08, means ONNX). name (NULL:
 * "model.onnx" or "model.slim") names the model in messages, and relative paths in it (a
 * .slim weights line, ONNX external data) resolve from name's folder. data need not outlive
 * the call. Otherwise as slimc_model_load. */
SlimcStatus slimc_model_load_memory(SlimcContext *ctx, const void *data, size_t len,
                                    const char *name, SlimcModel **out);

/* What kind of mistake the first error in slimc_error(ctx) is, read from its message (the
 * messages are the contract; the kinds are a coarse, stable index into them, for bindings
 * that raise a different exception per kind). SLIMC_ERROR_NONE without an error. */
typedef enum SlimcErrorKind {
    SLIMC_ERROR_NONE,
    SLIMC_ERROR_PARSE,       /* syntax, unknown names, bad arguments, bad protobuf */
    SLIMC_ERROR_SHAPE,       /* shapes, ranks and dtypes of inputs, weights or outputs */
    SLIMC_ERROR_UNSUPPORTED, /* an ONNX op, opset, dtype or form slimc does not import */
    SLIMC_ERROR_IO,          /* a file that cannot be opened, read or written */
    SLIMC_ERROR_LIMIT,       /* the memory limit, or a size or count over slimc's limits */
    SLIMC_ERROR_OTHER        /* anything else (compiler failures, options, devices) */
} SlimcErrorKind;
SlimcErrorKind slimc_error_kind(const SlimcContext *ctx);
/* "none", "parse", "shape", "unsupported", "io", "limit", "other"; NULL out of range. */
const char *slimc_error_kind_name(SlimcErrorKind k);

/* slimc_model_inspect as JSON text in *json (malloc'd: free with slimc_free): an object with
 * "name", "inputs" and "outputs" (arrays of {"name", "type"}), "weight_bytes",
 * "weight_bytes_loaded", "optimized", "flops_per_run" and (once memory-planned)
 * "arena_bytes" with every symbol 1, "symbols" (their names), and for each flag of what
 * (SLIMC_INSPECT_SUMMARY, _MEMORY, _FLOPS, _QUANT, _SPARSITY, _IR, _DOT, _KERNELS), a key
 * "summary", "memory", ... holding that report's text. */
SlimcStatus slimc_model_inspect_json(SlimcContext *ctx, SlimcModel *m, unsigned what, char **json);
/* A progress callback: text is what the call wrote (len bytes, not NUL-terminated), a line or
 * a redrawn progress line at a time. */
typedef void (*SlimcProgressFn)(void *arg, const char *text, size_t len);
/* A write-only stream that hands what is written to it to fn(arg, ...) at each newline,
 * carriage return or fflush: a FILE * for SlimcTrainOptions.progress that a program without
 * a terminal (a binding, a GUI) turns into its own progress display. fclose it after the
 * call; NULL when the C library cannot make one. */
FILE *slimc_progress_stream(SlimcProgressFn fn, void *arg);
/* Frees memory the API handed over (slimc_model_inspect_json's text). */
void slimc_free(void *p);
/* sizeof the public struct named ("SlimcOptions", "SlimcTensor", "SlimcBenchOptions",
 * "SlimcBenchStats", "SlimcTrainOptions"), 0 for another name: a binding that mirrors the
 * structs checks its layout against the library it loaded. */
size_t slimc_sizeof(const char *type_name);

#ifdef __cplusplus
}
#endif
#endif
