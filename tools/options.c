/* The command line's one option table: the rows, the commands and what each takes, the
 * parser and the help text made from them (tools/options.h). Adding an option is a row
 * here, its name in the commands that take it, a case in the command, a line in
 * docs/cli.md (tests/cli/help_docs.sh checks the last). */
#include "tools/options.h"

#include "tools/cli.h"

#include <stdlib.h>
#include <string.h>

const CliOptionInfo cli_options[CLI_OPT_COUNT] = {
    [CLI_PASSES] = {"--passes", "P", false,
                    "the pass pipeline, replacing the default one (docs/passes.md)"},
    [CLI_PRINT_AFTER] = {"--print-after", "PASS", false,
                         "print the IR to stderr after each run of PASS (all: every pass)"},
    [CLI_THREADS] = {"--threads", "N", false,
                     "threads to run on (1 to 1024; default: the CPUs it may use)"},
    [CLI_TIME] = {"--time", NULL, false, "print the time spent in each stage"},
    [CLI_DEVICE] = {"--device", "cpu|cuda|auto", false,
                    "where the model runs (default cpu; auto: placement, docs/placement.md)"},
    [CLI_TARGET] = {"--target", "cpu|cuda|auto", false, "the older name of --device"},
    [CLI_PRECISION] = {"--precision", "fp32|fp16|bf16", false,
                       "what CUDA GEMMs and convolutions multiply in (CUDA only)"},
    [CLI_OPT_LEVEL] = {"--opt-level", "N", false, "the C compiler's -O level, 0 to 3 (default 2)"},
    [CLI_CPU] = {"--cpu", "NAME", false, "the CPU the code is for (-march; default native)"},
    [CLI_CC] = {"--cc", "CC", false, "compile with this C compiler instead of in-process Clang"},
    [CLI_CACHE_DIR] = {"--cache-dir", "DIR", false, "the compile cache's directory"},
    [CLI_NO_CACHE] = {"--no-cache", NULL, false, "compile without the cache"},
    [CLI_MAX_MEMORY] = {"--max-memory", "SIZE", false,
                        "what the model may ask for (512M, 4G; default: half the memory)"},
    [CLI_DEVICE_PROFILE] = {"--device-profile", "FILE", false,
                            "the device profile: what --device auto places with, and what "
                            "decides int8 or float per layer"},
    [CLI_QUANTIZE] = {"--quantize", "MODE", false,
                      "int8 (with --calibrate), int8-dynamic, int8-weight, int4, fp16 or bf16: "
                      "the default pipeline with quantize at its place (docs/quantization.md)"},
    [CLI_CALIBRATE] = {"--calibrate", "FILE.npy|FILE.npz|NAME=FILE.npy", true,
                       "calibration samples for --quantize int8 (alone: implies it); a model of "
                       "several inputs: NAME=FILE.npy once per input, or a .npz"},
    /* fixed shapes (FIXED_SHAPES below) */
    [CLI_SHAPE] = {"--shape", "NAME=D0,D1,...", true,
                   "fix an input's dims (NAME: its name or position)"},
    [CLI_DIM] = {"--dim", "SYMBOL=N", true, "fix a symbolic dim (an ONNX dim_param) by name"},
    [CLI_OUT] = {"-o", "PATH", false, "the output file or folder"},
    [CLI_INPUT] = {"--input", "NAME=FILE.npy", true,
                   "an input by name (FILE.npy alone for a model with one input)"},
    [CLI_OUTPUT_DIR] = {"--output-dir", "DIR", false,
                        "write each output as DIR/NAME.npy (DIR made with its parents)"},
    [CLI_COMPARE] = {"--compare", "[NAME=]REF.npy", true,
                     "check an output against REF as numpy.allclose; exit 1 on a mismatch"},
    [CLI_RTOL] = {"--rtol", "R", false, "--compare's relative tolerance (default 1e-5)"},
    [CLI_ATOL] = {"--atol", "A", false, "--compare's absolute tolerance (default 1e-8)"},
    [CLI_TOP] = {"--top", "K", false, "print the K largest values of each row of the first output"},
    [CLI_RUNS] = {"--runs", "N", false, "timed runs (default 100)"},
    [CLI_DURATION] = {"--duration", "S", false, "run for S seconds (with --runs: both)"},
    [CLI_WARMUP] = {"--warmup", "N", false,
                    "bench: untimed runs first (default 1); train: epochs of linear warm-up (0)"},
    [CLI_SEED] = {"--seed", "N", false,
                  "the seed: bench's random inputs; train's shuffles and initialisation (0)"},
    [CLI_JSON] = {"--json", "FILE", false, "write every figure to FILE as JSON"},
    [CLI_PROFILE] = {"--profile", NULL, false,
                     "time each node (or fused group): a table, slowest first (CPU); build: "
                     "compile the timers into the executable (its --profile prints them)"},
    [CLI_TRACE] = {"--trace", "FILE", false,
                   "with --profile's timers, write the last run as a Chrome trace JSON"},
    [CLI_LIB] = {"--lib", NULL, false, "a header and a static library instead of an executable"},
    [CLI_NAME] = {"--name", "ID", false, "the library's name (default: the model's)"},
    [CLI_EMIT_SOURCE] = {"--emit-source", NULL, false, "--lib: also write DIR/ID.c"},
    [CLI_WEIGHTS_FILE] = {"--weights-file", NULL, false,
                          "--lib: keep the weights in DIR/ID.weights, not in the library"},
    [CLI_TARGET_TRIPLE] = {"--target-triple", "TRIPLE", false,
                           "cross-compile with TRIPLE-gcc (aarch64-linux-gnu, say)"},
    [CLI_IR] = {"--ir", NULL, false, "the IR (as loaded, or after --passes)"},
    [CLI_DOT] = {"--dot", NULL, false, "the graph as Graphviz DOT, alone"},
    [CLI_MEMORY] = {"--memory", NULL, false, "weight bytes and the planned arena"},
    [CLI_FLOPS] = {"--flops", NULL, false, "the floating-point operations of one run"},
    [CLI_QUANT] = {"--quant", NULL, false, "each conv/linear layer: int8 or float, and why"},
    [CLI_SPARSITY] = {"--sparsity", NULL, false, "each conv/linear weight's density and pattern"},
    [CLI_PLACEMENT] = {"--placement", NULL, false, "each node's device and why"},
    [CLI_SHOW] = {"--show", NULL, false, "print the profile --device auto would use"},
    [CLI_DENSE] = {"--dense", NULL, false,
                   "dense weights only: a state_dict PyTorch loads (default: sparse ones compact)"},
    [CLI_DATA] = {"--data", "X.npy", false, "the training samples, f32 [N, ...]"},
    [CLI_LABELS] = {"--labels", "Y.npy", false, "their labels, i64 or i32 [N] (-100: none)"},
    [CLI_VAL] = {"--val", "X.npy", false, "validation samples (accuracy after each epoch)"},
    [CLI_VAL_LABELS] = {"--val-labels", "Y.npy", false, "the validation samples' labels"},
    [CLI_TARGETS] = {"--targets", "T.npy", false,
                     "train: regression targets, f32 [N, ...output] (MSE instead of labels)"},
    [CLI_VAL_TARGETS] = {"--val-targets", "T.npy", false,
                         "the validation samples' targets (MSE after each epoch)"},
    [CLI_EPOCHS] = {"--epochs", "N", false, "passes over the data (default 1)"},
    [CLI_BATCH] = {"--batch", "B", false, "samples per step (default 64; the last may be fewer)"},
    [CLI_OPTIMIZER] = {"--optimizer", "sgd|adam|adamw", false, "the optimizer (default adam)"},
    [CLI_LR] = {"--lr", "LR", false, "the learning rate (default 1e-3)"},
    [CLI_MOMENTUM] = {"--momentum", "M", false, "SGD's momentum (default 0)"},
    [CLI_NESTEROV] = {"--nesterov", NULL, false, "SGD: Nesterov momentum"},
    [CLI_WEIGHT_DECAY] = {"--weight-decay", "WD", false, "default 0 (sgd, adam), 0.01 (adamw)"},
    [CLI_BETAS] = {"--betas", "B1,B2", false, "Adam's betas (default 0.9,0.999)"},
    [CLI_EPS] = {"--eps", "E", false, "Adam's eps (default 1e-8)"},
    [CLI_SCHEDULE] = {"--schedule", "constant|step|cosine", false,
                      "the learning-rate schedule, per epoch (default constant)"},
    [CLI_STEP_SIZE] = {"--step-size", "N", false, "step: epochs between decays"},
    [CLI_GAMMA] = {"--gamma", "G", false, "step: the decay factor (default 0.1)"},
    [CLI_T_MAX] = {"--t-max", "N", false, "cosine: its period in epochs (default: --epochs)"},
    [CLI_ETA_MIN] = {"--eta-min", "LR", false, "cosine: the lowest rate (default 0)"},
    [CLI_WARMUP_START] = {"--warmup-start", "F", false, "the warm-up's first factor (default 1/3)"},
    [CLI_NO_SHUFFLE] = {"--no-shuffle", NULL, false, "the samples in file order each epoch"},
    [CLI_KEEP_ZEROS] = {"--keep-zeros", NULL, false,
                        "weights that are 0 at the start stay 0 (fine-tuning a pruned model)"},
    [CLI_CHECKPOINT_DIR] = {"--checkpoint-dir", "D", false,
                            "write D/checkpoint.safetensors after each epoch"},
    [CLI_RESUME] = {"--resume", "CKPT", false, "go on from a checkpoint"},
    [CLI_TEACHER] = {"--teacher", "T", false, "the teacher model (.slim or .onnx)"},
    [CLI_STUDENT] = {"--student", "S", false, "the model to train (.slim)"},
    [CLI_TEMPERATURE] = {"--temperature", "T", false, "the distillation loss's T (default 4)"},
    [CLI_ALPHA] = {"--alpha", "A", false, "the weight of the teacher's term (default 0.7)"},
    [CLI_LOSS] = {"--loss", "ce|nll|mse|distill", false, "grad: the loss (default ce)"},
    [CLI_REPEAT] = {"--repeat", "N", false, "grad: run the step N times"},
};

#define END CLI_OPT_COUNT
/* --shape and --dim: every command that loads a model (cli_load; import, compress) */
#define FIXED_SHAPES CLI_SHAPE, CLI_DIM
#define COMPILING                                                                                  \
    CLI_PASSES, CLI_PRINT_AFTER, CLI_THREADS, CLI_TIME, CLI_DEVICE, CLI_TARGET, CLI_PRECISION,     \
        CLI_DEVICE_PROFILE, CLI_OPT_LEVEL, CLI_CPU, CLI_CC, CLI_CACHE_DIR, CLI_NO_CACHE,           \
        CLI_MAX_MEMORY, CLI_QUANTIZE, CLI_CALIBRATE, FIXED_SHAPES
static const CliOpt run_opts[] = {CLI_INPUT, CLI_OUTPUT_DIR, CLI_COMPARE, CLI_RTOL,  CLI_ATOL,
                                  CLI_TOP,   CLI_PROFILE,    CLI_TRACE,   COMPILING, END};
static const CliOpt bench_opts[] = {CLI_RUNS,    CLI_DURATION, CLI_WARMUP, CLI_SEED,  CLI_JSON,
                                    CLI_PROFILE, CLI_TRACE,    CLI_INPUT,  COMPILING, END};
static const CliOpt build_opts[] = {CLI_OUT,
                                    CLI_LIB,
                                    CLI_NAME,
                                    CLI_EMIT_SOURCE,
                                    CLI_WEIGHTS_FILE,
                                    CLI_TARGET_TRIPLE,
                                    CLI_PASSES,
                                    CLI_PRINT_AFTER,
                                    CLI_THREADS,
                                    CLI_TIME,
                                    CLI_DEVICE,
                                    CLI_TARGET,
                                    CLI_PRECISION,
                                    CLI_DEVICE_PROFILE,
                                    CLI_OPT_LEVEL,
                                    CLI_CPU,
                                    CLI_CC,
                                    CLI_MAX_MEMORY,
                                    CLI_PROFILE,
                                    CLI_QUANTIZE,
                                    CLI_CALIBRATE,
                                    FIXED_SHAPES,
                                    END};
static const CliOpt emit_opts[] = {
    CLI_TARGET, CLI_DEVICE,         CLI_OUT,        CLI_PASSES,   CLI_PRINT_AFTER, CLI_PRECISION,
    CLI_CPU,    CLI_DEVICE_PROFILE, CLI_MAX_MEMORY, CLI_QUANTIZE, CLI_CALIBRATE,   FIXED_SHAPES,
    END};
static const CliOpt inspect_opts[] = {CLI_IR,
                                      CLI_DOT,
                                      CLI_MEMORY,
                                      CLI_FLOPS,
                                      CLI_QUANT,
                                      CLI_SPARSITY,
                                      CLI_PLACEMENT,
                                      CLI_PASSES,
                                      CLI_PRINT_AFTER,
                                      CLI_DEVICE,
                                      CLI_TARGET,
                                      CLI_PRECISION,
                                      CLI_DEVICE_PROFILE,
                                      CLI_MAX_MEMORY,
                                      CLI_QUANTIZE,
                                      CLI_CALIBRATE,
                                      FIXED_SHAPES,
                                      END};
static const CliOpt import_opts[] = {CLI_OUT, CLI_MAX_MEMORY, FIXED_SHAPES, END};
static const CliOpt compress_opts[] = {
    CLI_OUT,       CLI_PASSES,         CLI_MAX_MEMORY, CLI_DENSE,    CLI_QUANTIZE,
    CLI_CALIBRATE, CLI_DEVICE_PROFILE, CLI_CACHE_DIR,  FIXED_SHAPES, END};
static const CliOpt cache_opts[] = {CLI_CACHE_DIR, END};
static const CliOpt profile_opts[] = {
    CLI_OUT, CLI_SHOW, CLI_DEVICE, CLI_THREADS, CLI_DEVICE_PROFILE, CLI_CC, CLI_CACHE_DIR, END};
#define TRAINING                                                                                   \
    CLI_OUT, CLI_DATA, CLI_LABELS, CLI_VAL, CLI_VAL_LABELS, CLI_EPOCHS, CLI_BATCH, CLI_OPTIMIZER,  \
        CLI_LR, CLI_MOMENTUM, CLI_NESTEROV, CLI_WEIGHT_DECAY, CLI_BETAS, CLI_EPS, CLI_SCHEDULE,    \
        CLI_STEP_SIZE, CLI_GAMMA, CLI_T_MAX, CLI_ETA_MIN, CLI_WARMUP, CLI_WARMUP_START, CLI_SEED,  \
        CLI_NO_SHUFFLE, CLI_KEEP_ZEROS, CLI_CHECKPOINT_DIR, CLI_RESUME, CLI_THREADS,               \
        CLI_CACHE_DIR, CLI_NO_CACHE, CLI_MAX_MEMORY, CLI_TIME
static const CliOpt train_opts[] = {CLI_TARGETS, CLI_VAL_TARGETS, TRAINING, END};
static const CliOpt distill_opts[] = {CLI_TEACHER, CLI_STUDENT, CLI_TEMPERATURE,
                                      CLI_ALPHA,   TRAINING,    END};
static const CliOpt grad_opts[] = {
    CLI_INPUT,     CLI_LABELS,   CLI_LOSS,       CLI_TARGET,  CLI_TEMPERATURE,
    CLI_ALPHA,     CLI_OUT,      CLI_REPEAT,     CLI_THREADS, CLI_TIME,
    CLI_CACHE_DIR, CLI_NO_CACHE, CLI_MAX_MEMORY, CLI_PROFILE, END};
#undef TRAINING
#undef COMPILING
#undef FIXED_SHAPES

const CliCommand cli_commands[] = {
    {"run", cmd_run, "compile a model and run it at once (JIT)", "MODEL", run_opts,
     "Compiles MODEL (a .slim or .onnx file) to C, builds it (in-process Clang, else the C\n"
     "compiler; cached on disk) and runs it on the inputs. Prints each output's shape, dtype\n"
     "and first values. Inputs of another float dtype (numpy's float64) are converted with a\n"
     "note. The inputs are checked before the compile. --device cuda runs it on a CUDA GPU\n"
     "(SLIMC_CUDA_EMULATE=1 emulates the GPU on the CPU; docs/cuda.md); auto places each node\n"
     "on the CPU or the GPU. --compare REF.npy prints the largest errors and the worst element.\n"},
    {"build", cmd_build, "compile a model ahead of time into an executable or a library", "MODEL",
     build_opts,
     "Writes a standalone executable (-o FILE) with the weights embedded. It takes --input\n"
     "NAME=FILE.npy, --output-dir DIR, --threads N (default: build's --threads, else the CPUs\n"
     "it may use), --bench N, --max-memory SIZE and --help. The code targets x86-64-v2 unless\n"
     "--cpu names another CPU\n"
     "(--cpu native for this machine's).\n"
     "With --lib, writes DIR/ID.h and DIR/libID.a (-o DIR; ID: the model's name, or --name):\n"
     "ID_init, ID_run, ID_run_arena (the caller's arena, ID_ARENA_BYTES(...)), ID_free and\n"
     "shape macros; the caller passes the thread count to ID_run.\n"
     "--device cuda builds for CUDA GPUs (sm_75 on): PTX for compute_75/80/90 embedded (cubin\n"
     "too where ptxas is installed); needs NVRTC to build, a GPU to run; --lib then declares\n"
     "ID_init, ID_run (host pointers), ID_run_device (device pointers), ID_error, ID_free.\n"},
    {"emit", cmd_emit, "write the C or CUDA that slimc generates for a model", "MODEL", emit_opts,
     "Writes the model's self-contained C to DIR/NAME.c (or to standard output without -o);\n"
     "--target cuda writes the CUDA backend's file (DIR/NAME.cu): kernels and host half.\n"},
    {"inspect", cmd_inspect, "show a model's IR, memory and FLOPs", "MODEL", inspect_opts,
     "With no flag prints a summary. --device cuda lists each CUDA kernel with its grid, block\n"
     "and shared memory, and --memory then says what is on the GPU and what on the host.\n"
     "--placement shows each node's device and why: its predicted time on each, its input\n"
     "copies, the reason.\n"},
    {"bench", cmd_bench, "time a model on seeded random or given inputs", "MODEL", bench_opts,
     "Runs the model --warmup times untimed, then --runs N times, or until --duration S\n"
     "seconds have passed (with both: at least N runs and S seconds). Prints the median\n"
     "latency (first line), then min, p50, p90, p99, max, mean and std in ms, and the\n"
     "throughput in inferences/s and samples/s (batch: the first input's first dim). Inputs\n"
     "not given are seeded random values (f32 uniform in [-1, 1), integer inputs zeros) with\n"
     "symbolic dims at 1, said on stderr. --json's keys are in docs/cli.md.\n"},
    {"import", cmd_import, "convert an ONNX model to a .slim file and its weights", "MODEL.onnx",
     import_opts,
     "Writes MODEL.slim (-o; a flat, readable model in the slimc language) and\n"
     "MODEL.safetensors (its weights, by the names the .slim file uses). `slimc run\n"
     "MODEL.slim` computes what `slimc run MODEL.onnx` does; input names are reduced to\n"
     "identifiers of the language.\n"},
    {"compress", cmd_compress, "shrink a model (quantize, prune...) and save it as .slim + weights",
     "MODEL", compress_opts,
     "Runs fold,bn_fold,fold,dce,cse, then P (or the model's compress block), then dce, and\n"
     "writes OUT.slim (-o) with OUT.safetensors. With quantize(int8, calibrate=FILE.npy) the\n"
     "int8 layers are saved as QuantConv2d / QuantLinear with their i8 weights, per-channel\n"
     "scales and sums (docs/quantization.md); `slimc run OUT.slim` runs the int8 model.\n"
     "A conv/linear weight with enough zeros (after prune) is stored compactly (its nonzero\n"
     "values and a bitmask, docs/formats.md) when that is smaller; --dense writes every\n"
     "weight densely, an ordinary state_dict.\n"},
    {"cache", cmd_cache, "show or clear the JIT's compile cache", "info|clear", cache_opts,
     "info prints the cache directory, its entries and size, the size cap (512 MB, or\n"
     "$SLIMC_CACHE_MAX_MB; the least recently used entries are deleted first) and the compiler\n"
     "the JIT uses, and NVRTC's version (CUDA). clear deletes every entry and stale temp file\n"
     "(nothing else).\n"},
    {"profile-device", cmd_profile_device,
     "measure this machine's devices for --device auto (placement)", "", profile_opts,
     "Measures the CPU (with N threads) and, when one can run code, the CUDA device and the\n"
     "host <-> GPU link with micro-benchmarks of slimc's own kernels (a few seconds; the\n"
     "compiles are cached), and writes the profile as JSON to FILE (-o), or to\n"
     "device-profile.json in the cache directory, where --device auto finds it. --device cpu\n"
     "measures the CPU alone, cuda requires a GPU (SLIMC_CUDA_EMULATE=1 emulates one).\n"
     "--show prints the profile --device auto would use: --device-profile FILE, else the\n"
     "stored one, else the built-in default. The format is in docs/placement.md.\n"},
    {"train", cmd_train, "train a model's weights on .npy data (SGD, Adam, AdamW)", "MODEL",
     train_opts,
     "Trains MODEL's parameters with cross entropy (labels of -100 are skipped) and writes them\n"
     "with its batch-norm statistics to OUT.safetensors (-o) under the state_dict names\n"
     "(torch's load_state_dict takes it; the .slim model's weights line reads it). A .slim model\n"
     "with no weights line starts from PyTorch's default initialisation, seeded by --seed.\n"
     "Mini-batches are shuffled each epoch by a generator seeded by --seed (default 0); the\n"
     "last partial batch is kept. Schedules step once per epoch. --checkpoint-dir D writes\n"
     "D/checkpoint.safetensors after each epoch; --resume CKPT goes on from one. Formats,\n"
     "formulas and defaults: docs/training.md.\n"},
    {"distill", cmd_distill, "train a student model from a teacher's outputs", "", distill_opts,
     "Trains the student (--student S) with Hinton's loss: alpha * T^2 * KL(softmax(t/T) ||\n"
     "softmax(s/T)) + (1 - alpha) * CE(s, labels), t the teacher's output (--teacher: any model\n"
     "slimc runs, .slim or .onnx, compiled for inference). The hard-label term is averaged over\n"
     "the labelled samples of a batch (labels of -100 learn from the teacher alone); without\n"
     "--labels only the teacher counts. Every option of slimc train applies.\n"},
    {"grad", cmd_grad, "one training step's loss and gradients, written as .npy", "MODEL",
     grad_opts,
     "Builds MODEL's training step (forward, loss, backward; docs/training.md), compiles it\n"
     "and runs it on one batch: X the model's input, Y the i64 labels (ce, nll, distill; -100\n"
     "marks a sample without one), --target T.npy the target (mse) or the teacher's output\n"
     "(distill). Writes DIR/loss.npy and DIR/NAME.grad.npy (-o DIR) for each parameter.\n"},
};
const int cli_n_commands = (int)(sizeof cli_commands / sizeof cli_commands[0]);
#undef END

const CliCommand *cli_command(const char *name)
{
    for (int i = 0; i < cli_n_commands; i++)
        if (!strcmp(cli_commands[i].name, name))
            return &cli_commands[i];
    return NULL;
}

bool cli_takes(const CliCommand *cmd, CliOpt o)
{
    for (const CliOpt *p = cmd->opts; *p != CLI_OPT_COUNT; p++)
        if (*p == o)
            return true;
    return false;
}

/* Levenshtein distance of a and b, capped: strings longer than 63 are "far". */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    int row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *cli_did_you_mean(const char *s, const char *const *names, int n)
{
    const char *best = NULL;
    int best_d = 99;
    size_t len = strlen(s);
    for (int i = 0; i < n; i++) {
        int d = edit_distance(s, names[i]);
        /* a prefix of one name only (--thr for --threads) counts as close */
        if (len >= 4 && !strncmp(names[i], s, len))
            d = 1;
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    int limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
    return best_d <= limit ? best : NULL;
}

/* The row named name (its part before any '='), or -1. */
static int find_option(const char *arg, size_t len)
{
    for (int o = 0; o < CLI_OPT_COUNT; o++)
        if (strlen(cli_options[o].name) == len && !strncmp(cli_options[o].name, arg, len))
            return o;
    return -1;
}

static bool unknown_option(const CliCommand *cmd, const char *arg, size_t len)
{
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)(len < 100 ? len : 100), arg);
    const char *names[CLI_OPT_COUNT];
    int n = 0;
    for (const CliOpt *p = cmd->opts; *p != CLI_OPT_COUNT; p++)
        names[n++] = cli_options[*p].name;
    names[n++] = "--help";
    const char *near = cli_did_you_mean(name, names, n);
    if (near)
        cli_error("unknown option '%s' for slimc %s: did you mean '%s'? (see slimc help %s)", name,
                  cmd->name, near, cmd->name);
    else
        cli_error("unknown option '%s' for slimc %s (see slimc help %s)", name, cmd->name,
                  cmd->name);
    return false;
}

bool cli_parse(const CliCommand *cmd, int argc, char **argv, CliArgs *out)
{
    memset(out, 0, sizeof *out);
    bool seen[CLI_OPT_COUNT] = {0};
    bool operands_only = false;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (operands_only || arg[0] != '-' || !arg[1]) {
            if (out->n_operands == CLI_MAX_OPERANDS)
                return cli_error("too many arguments for slimc %s (see slimc help %s)", cmd->name,
                                 cmd->name) == 0;
            out->operands[out->n_operands++] = arg;
            continue;
        }
        if (!strcmp(arg, "--")) {
            operands_only = true;
            continue;
        }
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        int o = find_option(arg, len);
        if (o < 0)
            return unknown_option(cmd, arg, len);
        const CliOptionInfo *info = &cli_options[o];
        if (!cli_takes(cmd, (CliOpt)o)) {
            char others[256] = "";
            size_t k = 0;
            for (int c = 0; c < cli_n_commands && k < sizeof others - 40; c++)
                if (cli_takes(&cli_commands[c], (CliOpt)o))
                    k += (size_t)snprintf(others + k, sizeof others - k, "%s%s", k ? ", " : "",
                                          cli_commands[c].name);
            return cli_error("slimc %s does not take %s (it is an option of %s)", cmd->name,
                             info->name, others) == 0;
        }
        const char *val = NULL;
        if (info->metavar) {
            if (eq)
                val = eq + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else
                return cli_error("%s needs a value (%s %s)", info->name, info->name,
                                 info->metavar) == 0;
        } else if (eq) {
            return cli_error("%s takes no value (given '%s')", info->name, eq + 1) == 0;
        }
        if (seen[o] && !info->repeat && info->metavar)
            return cli_error("%s given twice", info->name) == 0;
        seen[o] = true;
        if (out->n == CLI_MAX_ARGS)
            return cli_error("too many options") == 0;
        out->o[out->n].opt = (CliOpt)o;
        out->o[out->n].val = val;
        out->n++;
    }
    return true;
}

/* "[--input NAME=FILE.npy]..." for row o. */
static int format_option(char *buf, size_t cap, CliOpt o)
{
    const CliOptionInfo *info = &cli_options[o];
    return snprintf(buf, cap, "[%s%s%s]%s", info->name, info->metavar ? " " : "",
                    info->metavar ? info->metavar : "", info->repeat ? "..." : "");
}

void cli_print_help(const CliCommand *cmd, FILE *out)
{
    char line[256];
    int indent = snprintf(line, sizeof line, "slimc %s%s%s", cmd->name, *cmd->operands ? " " : "",
                          cmd->operands);
    fputs(line, out);
    int col = indent;
    for (const CliOpt *p = cmd->opts; *p != CLI_OPT_COUNT; p++) {
        char opt[128];
        int w = format_option(opt, sizeof opt, *p);
        if (col + 1 + w > 92) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        }
        fprintf(out, " %s", opt);
        col += 1 + w;
    }
    fputs("\n\n", out);
    fputs(cmd->about, out);
    fputs("\noptions (--opt VALUE or --opt=VALUE):\n", out);
    for (const CliOpt *p = cmd->opts; *p != CLI_OPT_COUNT; p++) {
        const CliOptionInfo *info = &cli_options[*p];
        char head[96];
        snprintf(head, sizeof head, "%s%s%s", info->name, info->metavar ? " " : "",
                 info->metavar ? info->metavar : "");
        if (strlen(head) > 26)
            fprintf(out, "  %s\n  %-26s  %s\n", head, "", info->help);
        else
            fprintf(out, "  %-26s  %s\n", head, info->help);
    }
}

void cli_print_option_list(FILE *out)
{
    for (int c = 0; c < cli_n_commands; c++)
        for (const CliOpt *p = cli_commands[c].opts; *p != CLI_OPT_COUNT; p++)
            fprintf(out, "%s %s\n", cli_commands[c].name, cli_options[*p].name);
}
