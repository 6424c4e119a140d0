/* slimc: the command-line driver. */
#include "tools/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary, *usage;
} commands[] = {
    {"run", cmd_run, "compile a model and run it at once (JIT)",
     "slimc run MODEL [--input NAME=FILE.npy]... [--output-dir DIR] [--passes P] [--print-after "
     "PASS]\n"
     "                [--compare [NAME=]REF.npy]... [--rtol R] [--atol A] [--top K]\n"
     "                [--threads N] [--time] [--device cpu|cuda|auto] [--precision P]\n"
     "                [--opt-level N] [--cpu NAME]\n"
     "                [--cc CC] [--cache-dir DIR] [--no-cache] [--max-memory SIZE]\n\n"
     "Compiles MODEL (a .slim or .onnx file) to C, builds it (in-process Clang, else the C "
     "compiler;\n"
     "cached on disk) and runs it on the inputs. Prints each output's shape, dtype and first\n"
     "values; with --output-dir writes each output as DIR/NAME.npy (unnamed outputs are output0,\n"
     "output1...). A model with one input also takes --input FILE.npy. Inputs of another float\n"
     "dtype (numpy's float64) are converted with a note. The inputs are checked before the\n"
     "compile. --max-memory caps what the model may ask for (weights, arena, outputs, folded\n"
     "constants; 512M, 4G...; default: half of the physical memory). --device cuda runs it on\n"
     "a CUDA GPU (NVRTC and the driver are loaded at run time; SLIMC_CUDA_EMULATE=1 emulates\n"
     "the GPU on the CPU; docs/cuda.md); auto picks cuda when it can; --target is an alias.\n"
     "--precision fp32|fp16|bf16: what CUDA GEMMs and convolutions multiply in (fp16/bf16 on\n"
     "tensor cores, fp32 accumulation); CUDA only.\n"
     "--compare [NAME=]REF.npy checks an output (the first, or NAME) against REF as\n"
     "numpy.allclose does (|out - ref| <= atol + rtol * |ref|; --rtol R, default 1e-5, --atol A,\n"
     "default 1e-8): prints the largest errors and the worst element; exit 1 on a mismatch.\n"
     "--top K prints the K largest values (index and value) of each row of the first output.\n"
     "Options with a value take --opt VALUE or --opt=VALUE.\n"},
    {"build", cmd_build, "compile a model ahead of time into an executable or a library",
     "slimc build MODEL -o FILE [--passes P] [--print-after PASS] [--cpu NAME] [--opt-level N]\n"
     "                  [--threads N] [--time] [--device cpu|cuda] [--precision P] [--cc CC]\n"
     "                  [--target-triple TRIPLE] [--max-memory SIZE]\n"
     "slimc build MODEL --lib -o DIR [--name ID] [--emit-source] [--weights-file] [same "
     "options]\n\n"
     "Writes a standalone executable with the weights embedded. It takes --input NAME=FILE.npy,\n"
     "--output-dir DIR, --threads N, --bench N, --max-memory SIZE and --help. The code\n"
     "targets x86-64-v2 unless --cpu names another CPU (--cpu native for this machine's).\n"
     "With --lib, writes DIR/ID.h and DIR/libID.a (ID: the model's name, or --name): ID_init,\n"
     "ID_run, ID_run_arena (the caller's arena, ID_ARENA_BYTES(...)), ID_free and shape macros;\n"
     "--emit-source also writes DIR/ID.c, --weights-file keeps the weights in DIR/ID.weights.\n"
     "--target-triple cross-compiles with TRIPLE-gcc (aarch64-linux-gnu, say).\n"
     "--device cuda builds for CUDA GPUs (sm_75 on): PTX for compute_75/80/90 embedded (cubin\n"
     "too where ptxas is installed); needs NVRTC to build, a GPU to run; --lib then declares\n"
     "ID_init, ID_run (host pointers), ID_run_device (device pointers), ID_error, ID_free.\n"},
    {"emit", cmd_emit, "write the C or CUDA that slimc generates for a model",
     "slimc emit MODEL --target c|cuda [-o DIR] [--passes P] [--precision P] [--max-memory "
     "SIZE]\n\n"
     "Writes the model's self-contained C to DIR/NAME.c (or to standard output without -o);\n"
     "--target cuda writes the CUDA backend's file (DIR/NAME.cu): kernels and host half.\n"},
    {"inspect", cmd_inspect, "show a model's IR, memory and FLOPs",
     "slimc inspect MODEL [--ir] [--dot] [--memory] [--flops] [--quant] [--sparsity]\n"
     "                    [--placement] [--passes P] [--device cpu|cuda|auto] [--precision P]\n"
     "                    [--device-profile FILE] [--max-memory SIZE]\n\n"
     "With no flag prints a summary. --ir prints the IR as loaded (or after --passes), --dot as\n"
     "Graphviz, --memory the weight bytes and the peak arena after planning, --flops the\n"
     "floating-point operations of one run, --quant each conv/linear layer: int8 (weight\n"
     "scales and error, the input's scale and zero point) or float (and why), and the bytes.\n"
     "--device cuda lists each CUDA kernel with its grid, block and shared memory, and\n"
     "--memory then says what is on the GPU and what on the host. --placement shows each\n"
     "node's device and why: its predicted time on each, its input copies, the reason.\n"
     "--sparsity each conv/linear weight's density, the pattern of its zeros, its bytes.\n"},
    {"bench", cmd_bench, "time a model on seeded random or given inputs",
     "slimc bench MODEL [--runs N] [--duration S] [--warmup N] [--seed N] [--json FILE]\n"
     "                  [--threads T] [--input NAME=FILE.npy]... [--passes P]\n"
     "                  [--device cpu|cuda|auto] [--precision P] [--max-memory SIZE]\n\n"
     "Runs the model --warmup times (default 1) untimed, then --runs N times (default 100), or\n"
     "until --duration S seconds have passed (with both: at least N runs and S seconds).\n"
     "Prints the median latency (first line), then min, p50, p90, p99, max, mean and std in ms,\n"
     "and the throughput in inferences/s and samples/s (batch: the first input's first dim).\n"
     "Inputs not given are seeded random values (f32 uniform in [-1, 1), --seed N, default 0;\n"
     "integer inputs zeros) with symbolic dims at 1, said on stderr. --json FILE writes every\n"
     "figure (keys in docs/cli.md). Options with a value take --opt VALUE or --opt=VALUE.\n"},
    {"import", cmd_import, "convert an ONNX model to a .slim file and its weights",
     "slimc import MODEL.onnx [--max-memory SIZE] -o MODEL.slim\n\n"
     "Writes MODEL.slim (a flat, readable model in the slimc language) and MODEL.safetensors\n"
     "(its weights, by the names the .slim file uses). `slimc run MODEL.slim` computes what\n"
     "`slimc run MODEL.onnx` does; input names are reduced to identifiers of the language.\n"},
    {"compress", cmd_compress, "shrink a model (quantize...) and save it as .slim + weights",
     "slimc compress MODEL [--passes P] [--max-memory SIZE] -o OUT.slim\n\n"
     "Runs fold,bn_fold,fold,dce,cse, then P (or the model's compress block), then dce, and\n"
     "writes OUT.slim with OUT.safetensors. With quantize(int8, calibrate=FILE.npy) the int8\n"
     "layers are saved as QuantConv2d / QuantLinear with their i8 weights, per-channel scales\n"
     "and sums (docs/quantization.md); `slimc run OUT.slim` runs the int8 model.\n"},
    {"cache", cmd_cache, "show or clear the JIT's compile cache",
     "slimc cache info|clear [--cache-dir DIR]\n\n"
     "info prints the cache directory, its entries and size, the size cap (512 MB, or\n"
     "$SLIMC_CACHE_MAX_MB; the least recently used entries are deleted first) and the compiler\n"
     "the JIT uses, and NVRTC's version (CUDA). clear deletes every entry and stale temp file\n"
     "(nothing else).\n"},
    {"profile-device", cmd_profile_device,
     "measure this machine's devices for --device auto (placement)",
     "slimc profile-device [-o FILE] [--device cpu|cuda|auto] [--threads N] [--cache-dir DIR]\n"
     "slimc profile-device --show [--device-profile FILE] [--cache-dir DIR]\n\n"
     "Measures the CPU (with N threads) and, when one can run code, the CUDA device and the\n"
     "host <-> GPU link with micro-benchmarks of slimc's own kernels (a few seconds; the\n"
     "compiles are cached), and writes the profile as JSON to FILE, or to device-profile.json\n"
     "in the cache directory, where --device auto finds it. --device cpu measures the CPU\n"
     "alone, cuda requires a GPU (SLIMC_CUDA_EMULATE=1 emulates one). Prints the numbers.\n"
     "--show prints the profile --device auto would use: --device-profile FILE, else the\n"
     "stored one, else the built-in default. The format is in docs/placement.md.\n"},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

/* Commands of later issues, named here so that users get a clear answer. */
static const char *const later_commands[] = {"distill"};

static void usage(FILE *out)
{
    fprintf(out, "slimc %s — a model compiler\n\nusage: slimc COMMAND [ARGS]\n\ncommands:\n",
            slimc_version());
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-14s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "  %-14s show a command's options: slimc help COMMAND\n\n"
            "slimc --version prints the version.\n",
            "help");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("slimc %s (model format %d)\n", slimc_version(), SLIMC_FORMAT_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "help")) {
        if (argc < 3) {
            usage(stdout);
            return 0;
        }
        for (int i = 0; i < N_COMMANDS; i++)
            if (!strcmp(argv[2], commands[i].name)) {
                fputs(commands[i].usage, stdout);
                return 0;
            }
        return cli_error("no command '%s' (see slimc help)", argv[2]);
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(cmd, commands[i].name)) {
            for (int j = 2; j < argc; j++)
                if (!strcmp(argv[j], "--help") || !strcmp(argv[j], "-h")) {
                    fputs(commands[i].usage, stdout);
                    return 0;
                }
            return commands[i].fn(argc - 2, argv + 2);
        }
    for (size_t i = 0; i < sizeof later_commands / sizeof later_commands[0]; i++)
        if (!strcmp(cmd, later_commands[i]))
            return cli_error("'slimc %s' is not available in this version of slimc yet", cmd);
    cli_error("unknown command '%s'", cmd);
    usage(stderr);
    return 1;
}
