/* The command line's one option table (tools/options.c): every option of every command is
 * one row (name, value, help); every command lists the rows it takes. Parsing, "did you
 * mean", the refusal of an option a command does not use, and the help text all come from
 * it, and tests/cli/help_docs.sh checks docs/cli.md against it (`slimc help --options`). */
#ifndef SLIMC_TOOLS_OPTIONS_H
#define SLIMC_TOOLS_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

typedef enum CliOpt {
    /* shared by the commands that compile (CliCommon, cli_common_apply) */
    CLI_PASSES,
    CLI_PRINT_AFTER,
    CLI_THREADS,
    CLI_TIME,
    CLI_DEVICE,
    CLI_TARGET,
    CLI_PRECISION,
    CLI_OPT_LEVEL,
    CLI_CPU,
    CLI_CC,
    CLI_CACHE_DIR,
    CLI_NO_CACHE,
    CLI_MAX_MEMORY,
    CLI_DEVICE_PROFILE,
    CLI_QUANTIZE,
    CLI_CALIBRATE,
    /* fixed input shapes and symbolic dims (cli_load) */
    CLI_SHAPE,
    CLI_DIM,
    CLI_COMMON_END, /* the command-specific rows follow */
    CLI_OUT = CLI_COMMON_END,
    CLI_INPUT,
    CLI_OUTPUT_DIR,
    CLI_COMPARE,
    CLI_RTOL,
    CLI_ATOL,
    CLI_TOP,
    CLI_RUNS,
    CLI_DURATION,
    CLI_WARMUP,
    CLI_SEED,
    CLI_JSON,
    CLI_PROFILE,
    CLI_TRACE,
    CLI_LIB,
    CLI_NAME,
    CLI_EMIT_SOURCE,
    CLI_WEIGHTS_FILE,
    CLI_TARGET_TRIPLE,
    CLI_IR,
    CLI_DOT,
    CLI_MEMORY,
    CLI_FLOPS,
    CLI_QUANT,
    CLI_SPARSITY,
    CLI_PLACEMENT,
    CLI_SHOW,
    CLI_DENSE,
    /* train, distill (tools/cmd_train.c) */
    CLI_DATA,
    CLI_LABELS,
    CLI_VAL,
    CLI_VAL_LABELS,
    CLI_TARGETS,
    CLI_VAL_TARGETS,
    CLI_EPOCHS,
    CLI_BATCH,
    CLI_OPTIMIZER,
    CLI_LR,
    CLI_MOMENTUM,
    CLI_NESTEROV,
    CLI_WEIGHT_DECAY,
    CLI_BETAS,
    CLI_EPS,
    CLI_SCHEDULE,
    CLI_STEP_SIZE,
    CLI_GAMMA,
    CLI_T_MAX,
    CLI_ETA_MIN,
    CLI_WARMUP_START,
    CLI_NO_SHUFFLE,
    CLI_KEEP_ZEROS,
    CLI_CHECKPOINT_DIR,
    CLI_RESUME,
    CLI_TEACHER,
    CLI_STUDENT,
    CLI_TEMPERATURE,
    CLI_ALPHA,
    /* grad (tools/cmd_grad.c) */
    CLI_LOSS,
    CLI_REPEAT,
    CLI_OPT_COUNT
} CliOpt;

typedef struct CliOptionInfo {
    const char *name;    /* "--threads", "-o" */
    const char *metavar; /* "N"; NULL: a flag, which takes no value */
    bool repeat;         /* may be given more than once */
    const char *help;    /* one line */
} CliOptionInfo;
extern const CliOptionInfo cli_options[CLI_OPT_COUNT];

/* One command: its name, entry point, one-line summary, what it takes besides options
 * ("MODEL"), the options it takes (in help order, CLI_OPT_COUNT-terminated) and the
 * paragraph its help prints after the options. */
typedef struct CliCommand {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary, *operands;
    const CliOpt *opts;
    const char *about;
} CliCommand;
extern const CliCommand cli_commands[];
extern const int cli_n_commands;
const CliCommand *cli_command(const char *name);
/* Whether cmd takes option o. */
bool cli_takes(const CliCommand *cmd, CliOpt o);

/* The parsed command line of one command: the options in the order given (each with its
 * value, NULL for a flag) and the operands. */
enum { CLI_MAX_ARGS = 160, CLI_MAX_OPERANDS = 8 };
typedef struct CliArgs {
    struct {
        CliOpt opt;
        const char *val;
    } o[CLI_MAX_ARGS];
    int n;
    const char *operands[CLI_MAX_OPERANDS];
    int n_operands;
} CliArgs;
/* Parses argv (after the command's name) against cmd's rows: `--opt VALUE`, `--opt=VALUE`,
 * flags, operands (and everything after `--` as operands). False after printing the error:
 * an unknown option (with "did you mean"), an option of another command, a value missing
 * or given to a flag, an option given twice that takes one value, too many arguments. */
bool cli_parse(const CliCommand *cmd, int argc, char **argv, CliArgs *out);

/* The closest of names[0..n) to s within a small edit distance, else NULL. */
const char *cli_did_you_mean(const char *s, const char *const *names, int n);

/* `slimc help CMD`: the synopsis made from the rows, the options with their help, the
 * paragraph. */
void cli_print_help(const CliCommand *cmd, FILE *out);
/* `slimc help --options`: "COMMAND OPTION" per line, for the docs test. */
void cli_print_option_list(FILE *out);

#endif
