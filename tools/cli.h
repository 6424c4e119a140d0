/* The slimc command line: one function per subcommand, built only on slimc.h. */
#ifndef SLIMC_TOOLS_CLI_H
#define SLIMC_TOOLS_CLI_H

#include "slimc/slimc.h"
#include "tools/options.h"

/* Options shared by the subcommands that compile. */
typedef struct CliCommon {
    SlimcOptions opt;
    bool time;
    const char *target;
    const char *device_flag;   /* "--device" or "--target" (its older name), as given */
    uint64_t max_memory;       /* --max-memory; 0: the library's default */
    const char *quantize;      /* --quantize MODE, as given */
    const char *calibrate;     /* --calibrate FILE (or the NAME=FILE.npy list, joined) */
    char calibrate_list[4096]; /* where several --calibrate NAME=FILE.npy are joined */
    char quantize_step[4200];  /* the quantize(...) call opt.quantize points at */
    /* --shape and --dim as given, applied by cli_load (slimc_fix_shape_arg...) */
    const char *shapes[64], *dims[64];
    int n_shapes, n_dims;
} CliCommon;

void cli_common_init(CliCommon *c);
/* Applies a shared option (a row before CLI_COMMON_END) to c: 1 when o is one, 0 when it is
 * the command's own, -1 after printing an error about val. */
int cli_common_apply(CliCommon *c, CliOpt o, const char *val);
/* After every option is applied: checks --quantize / --calibrate against each other and
 * --passes and points c->opt.quantize at the quantize(...) call they ask for; warns when a
 * --passes pipeline leaves out fuse or memplan. 0, or 1 after printing an error. */
int cli_common_finish(CliCommon *c);
/* The quantize(...) pass call of --quantize mode (NULL: int8 when calibrate is given) and
 * --calibrate calibrate (or NULL) into buf; false after printing an error. */
bool cli_quantize_step(const char *mode, const char *calibrate, char *buf, size_t size);
/* One more --calibrate val: the first is kept as it is (FILE.npy, FILE.npz or NAME=FILE.npy);
 * each later one must be NAME=FILE.npy, and they are joined with ',' into buf, the list
 * quantize's calibrate= takes (docs/quantization.md); *cal points at the result. False
 * after printing an error. */
bool cli_calibrate_add(const char **cal, const char *val, char *buf, size_t size);
/* Prints the context's messages to stderr and clears them. */
void cli_flush(SlimcContext *ctx);
/* Loads a model and runs the passes; prints errors. NULL on failure. */
SlimcModel *cli_load(SlimcContext *ctx, const char *path, const CliCommon *c, bool optimize);
void cli_print_times(SlimcContext *ctx);
/* Notes this process's CPU time so far (user + system, every thread): run and bench call
 * it once the model is compiled and loaded, and --time then prints it as the start's CPU
 * time (on a shared machine the stages' wall times also measure the other load). */
void cli_mark_started(void);
/* An option cli_parse let through that the command does not handle: a bug (aborts). */
int cli_unhandled(CliOpt o);
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Hands --shape and --dim to ctx (cli_load does it); false after printing an error. */
bool cli_apply_fixes(SlimcContext *ctx, const CliCommon *c);
/* Parses the value of --max-memory into *out; false after printing an error. */
bool cli_max_memory(const char *val, uint64_t *out);

int cmd_run(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_emit(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_cache(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_compress(int argc, char **argv);
int cmd_profile_device(int argc, char **argv);
int cmd_train(int argc, char **argv);   /* tools/cmd_train.c */
int cmd_distill(int argc, char **argv); /* tools/cmd_train.c */
int cmd_grad(int argc, char **argv);    /* tools/cmd_grad.c */

#endif
