/* slimc build / emit / inspect. */
#include "tools/cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

typedef struct BuildArgs {
    CliCommon c;
    const char *model, *out;
    bool ir, dot, memory, flops, quant, placement;
    bool lib, emit_source, weights_file;
    const char *name, *triple;
    bool sparsity; /* inspect --sparsity */
} BuildArgs;

/* api/build.c (to move into slimc.h with the public API). */

static int parse_args(int argc, char **argv, BuildArgs *a, const char *cmd_name)
{
    memset(a, 0, sizeof *a);
    cli_common_init(&a->c);
    const CliCommand *cmd = cli_command(cmd_name);
    static CliArgs args; /* large; one command line per process */
    if (!cli_parse(cmd, argc, argv, &args))
        return 1;
    for (int k = 0; k < args.n; k++) {
        CliOpt o = args.o[k].opt;
        const char *v = args.o[k].val;
        int r = cli_common_apply(&a->c, o, v);
        if (r < 0)
            return 1;
        if (r > 0)
            continue;
        switch (o) {
        case CLI_OUT: a->out = v; break;
        case CLI_IR: a->ir = true; break;
        case CLI_DOT: a->dot = true; break;
        case CLI_MEMORY: a->memory = true; break;
        case CLI_SPARSITY: a->sparsity = true; break;
        case CLI_FLOPS: a->flops = true; break;
        case CLI_QUANT: a->quant = true; break;
        case CLI_PLACEMENT: a->placement = true; break;
        case CLI_LIB: a->lib = true; break;
        case CLI_EMIT_SOURCE: a->emit_source = true; break;
        case CLI_WEIGHTS_FILE: a->weights_file = true; break;
        case CLI_TARGET_TRIPLE: a->triple = v; break;
        case CLI_NAME: a->name = v; break;
        case CLI_PROFILE: a->c.opt.profile = true; break;
        default: return cli_unhandled(o);
        }
    }
    if (args.n_operands > 1)
        return cli_error("more than one model given ('%s' and '%s')", args.operands[0],
                         args.operands[1]);
    a->model = args.n_operands ? args.operands[0] : NULL;
    if (!a->model)
        return cli_error("no model given (see slimc help %s)", cmd->name);
    return cli_common_finish(&a->c);
}

int cmd_build(int argc, char **argv)
{
    BuildArgs a;
    if (parse_args(argc, argv, &a, "build"))
        return 1;
    if (!a.out)
        return cli_error(a.lib ? "no output folder given: slimc build MODEL --lib -o DIR"
                               : "no output file given: slimc build MODEL -o FILE");
    if (!a.lib && (a.emit_source || a.weights_file || a.name))
        return cli_error("--name, --emit-source and --weights-file go with --lib");
    /* --device auto: the place pass splits the model when this machine has a GPU (or the
     * emulation) to place it on; else the CPU, with a note */
    SlimcContext *ctx = slimc_context_new();
    SlimcModel *m = cli_load(ctx, a.model, &a.c, true);
    int status = 1;
    if (a.lib) {
        SlimcLibOptions lo = {.name = a.name,
                              .emit_source = a.emit_source,
                              .weights_file = a.weights_file,
                              .target_triple = a.triple};
        if (m && slimc_build_library(ctx, m, &a.c.opt, &lo, a.out) == SLIMC_OK)
            status = 0;
    } else if (m && slimc_build_executable_for(ctx, m, &a.c.opt, a.triple, a.out) == SLIMC_OK) {
        status = 0;
    }
    cli_flush(ctx);
    if (a.c.time && m)
        cli_print_times(ctx);
    slimc_model_free(m);
    slimc_context_free(ctx);
    return status;
}

int cmd_emit(int argc, char **argv)
{
    BuildArgs a;
    if (parse_args(argc, argv, &a, "emit"))
        return 1;
    const bool automatic = a.c.opt.device == SLIMC_DEVICE_AUTO;
    if (automatic && a.c.device_flag && !strcmp(a.c.device_flag, "--target"))
        return cli_error("emit --target auto: name the language, c or cuda (--device auto lets "
                         "the place pass choose)");
    if (automatic && a.out)
        return cli_error("emit --device auto -o DIR: the file's language is known after "
                         "placement: emit to stdout, or name the device");
    const bool cuda = a.c.opt.device == SLIMC_DEVICE_CUDA || automatic;
    SlimcContext *ctx = slimc_context_new();
    SlimcModel *m = cli_load(ctx, a.model, &a.c, true);
    int status = 1;
    if (m && cuda && a.out) {
        /* DIR/NAME.cu: the CUDA backend's file (its weights are the caller's to bind) */
        char path[4200];
        snprintf(path, sizeof path, "%s/%s.cu", a.out, slimc_model_name(m));
        FILE *f = NULL;
        if (slimc_make_output_dir(ctx, a.out) == SLIMC_OK &&
            slimc_model_check_output(ctx, m, path) == SLIMC_OK && !(f = fopen(path, "w")))
            cli_error("cannot write '%s': %s", path, strerror(errno));
        if (f) {
            SlimcStatus st = slimc_model_emit(ctx, m, &a.c.opt, f);
            status = fclose(f) == 0 && st == SLIMC_OK ? 0 : 1;
            if (status)
                remove(path);
            else
                fprintf(stderr, "wrote %s\n", path);
        }
    } else if (m) {
        SlimcStatus st = a.out  ? slimc_model_emit_dir(ctx, m, a.out)
                         : cuda ? slimc_model_emit(ctx, m, &a.c.opt, stdout)
                                : slimc_model_emit_c(ctx, m, stdout);
        status = st == SLIMC_OK ? 0 : 1;
        if (st == SLIMC_OK && a.out)
            fprintf(stderr, "wrote NAME.c, NAME.h and NAME.weights into %s (docs/cli.md)\n", a.out);
    }
    cli_flush(ctx);
    slimc_model_free(m);
    slimc_context_free(ctx);
    return status;
}

int cmd_inspect(int argc, char **argv)
{
    BuildArgs a;
    if (parse_args(argc, argv, &a, "inspect"))
        return 1;
    SlimcContext *ctx = slimc_context_new();
    /* --ir shows the model as loaded unless --passes asks for a pipeline first; --device
     * cuda shows it as optimized for CUDA, with its kernels; --placement and --sparsity after
     * the pipeline (which decides placement and the sparse kernels). */
    const bool cuda = a.c.opt.device == SLIMC_DEVICE_CUDA;
    SlimcModel *m = cli_load(ctx, a.model, &a.c,
                             a.c.opt.passes != NULL || a.c.opt.quantize != NULL || cuda ||
                                 a.placement || a.sparsity);
    int status = 1;
    if (m) {
        unsigned what = SLIMC_INSPECT_SUMMARY;
        if (a.ir)
            what |= SLIMC_INSPECT_IR;
        if (a.dot)
            what = SLIMC_INSPECT_DOT; /* Graphviz alone, so the output can be piped to dot */
        if (a.memory)
            what |= SLIMC_INSPECT_MEMORY;
        if (a.sparsity)
            what |= SLIMC_INSPECT_SPARSITY;
        if (a.flops)
            what |= SLIMC_INSPECT_FLOPS;
        if (a.quant)
            what |= SLIMC_INSPECT_QUANT;
        if (cuda && !a.dot)
            what |= SLIMC_INSPECT_KERNELS;
        status = slimc_model_inspect(ctx, m, what, stdout) == SLIMC_OK ? 0 : 1;
        if (status == 0 && a.placement && !a.dot)
            status = slimc_model_placement(ctx, m, stdout) == SLIMC_OK ? 0 : 1;
    }
    cli_flush(ctx);
    slimc_model_free(m);
    slimc_context_free(ctx);
    return status;
}
