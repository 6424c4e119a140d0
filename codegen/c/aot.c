/* The AOT emitter: what `slimc build` writes around the model's C. For an executable, the
 * model's descriptor (runtime/model_desc.h) and constants table, which the runtime's
 * shared input code (runtime/model_io.c) and main() (runtime/slimc_main.c) read; for a
 * library, NAME.h (the io macros, the arena size) and the small API around the generated
 * code (init / run / run with the caller's arena / free). api/build.c drives it: it
 * compiles, links and writes the files. Every name from the model goes through
 * ir/text_escape.h's helpers before it reaches the C. */
#include "codegen/c/aot.h"

#include "ir/text_escape.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Every constant the graph reads, packed 64-byte aligned into one blob; offsets[v] is
 * constant v's place in it (or -1). */
unsigned char *cg_aot_pack_constants(const Graph *g, int64_t *offsets, size_t *len)
{
    size_t total = 0;
    int *uses = calloc((size_t)g->n_values + 1, sizeof *uses); /* one sweep, not one a value */
    SLIMC_ASSERT(uses);
    ir_uses(g, uses, NULL);
    for (int v = 0; v < g->n_values; v++) {
        offsets[v] = -1;
        if (g->values[v].kind == IR_VALUE_CONST && uses[v] > 0) {
            offsets[v] = (int64_t)total;
            total += (g->values[v].data_bytes + 63) / 64 * 64;
        }
    }
    free(uses);
    unsigned char *blob = calloc(total ? total : 1, 1);
    SLIMC_ASSERT(blob);
    for (int v = 0; v < g->n_values; v++)
        if (offsets[v] >= 0 && g->values[v].data_bytes)
            memcpy(blob + offsets[v], g->values[v].data, g->values[v].data_bytes);
    *len = total;
    return blob;
}

/* A C string literal whose value is s (names come from the model file: ir_esc_c). */
static void put_cstring(FILE *f, const char *s)
{
    fputc('"', f);
    ir_esc_c_put(f, s, 0);
    fputc('"', f);
}

/* A C string literal of s as the program may print it (ir_esc_term, then ir_esc_c). */
static void put_shown_cstring(FILE *f, const char *s)
{
    char *shown = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&shown, &len);
    SLIMC_ASSERT(mem);
    ir_esc_term_put(mem, s);
    fclose(mem);
    put_cstring(f, shown);
    free(shown);
}

/* Text from the model inside a comment of the generated C or header. */
static void put_comment_text(FILE *f, const char *s)
{
    ir_esc_c_put(f, s, IR_ESC_NAME_MAX);
}

/* One RtIoDesc initializer: name to match --input against, shown and type to print. */
static void put_io(FILE *f, const CgAotModel *m, ValueId v, const char *name, const char *type)
{
    const Type *t = &m->g->values[v].type;
    fputs("    {", f);
    put_cstring(f, name);
    fputs(", ", f);
    put_shown_cstring(f, name);
    fputs(", ", f);
    put_shown_cstring(f, type);
    fprintf(f, ", %d, %d, {", (int)t->dtype, t->shape.rank);
    for (int j = 0; j < t->shape.rank; j++) {
        Dim d = t->shape.d[j];
        fprintf(f, "%s{%lldLL, %uu}", j ? ", " : "", (long long)d.c, (unsigned)d.syms);
    }
    fputs("}, 0, 0, 0},\n", f);
}

void cg_aot_put_metadata(FILE *f, const CgAotModel *m, const int64_t *offsets)
{
    const Graph *g = m->g;
    fputs("\n/* ---- the model's descriptor (runtime/model_desc.h) and constants ---- */\n", f);
    fputs("#define SLIMC_MODEL_NAME ", f);
    put_shown_cstring(f, g->name);
    fprintf(f,
            "\n#define SLIMC_N_INPUTS %d\n#define SLIMC_N_OUTPUTS %d\n#define SLIMC_N_SYMS %d\n"
            "#define SLIMC_N_VALUES %d\n",
            g->n_inputs, g->n_outputs, g->n_syms, g->n_values);
    fputs("static const char *const slimc_sym_names[SLIMC_N_SYMS + 1] = {", f);
    for (int s = 0; s < g->n_syms; s++) {
        put_shown_cstring(f, g->sym_names[s] ? g->sym_names[s] : "?");
        fputs(", ", f);
    }
    fputs("0};\nstatic const RtIoDesc slimc_inputs[SLIMC_N_INPUTS + 1] = {\n", f);
    for (int i = 0; i < g->n_inputs; i++)
        put_io(f, m, g->inputs[i], m->input_names[i], m->input_types[i]);
    fputs("    {0}};\nstatic const RtIoDesc slimc_outputs[SLIMC_N_OUTPUTS + 1] = {\n", f);
    for (int i = 0; i < g->n_outputs; i++)
        put_io(f, m, g->outputs[i], m->output_names[i], m->output_types[i]);
    fputs("    {0}};\nstatic const RtModelDesc slimc_desc = {\n    SLIMC_MODEL_NAME, 0, "
          "SLIMC_N_INPUTS, SLIMC_N_OUTPUTS, SLIMC_N_SYMS, slimc_sym_names, slimc_inputs,\n"
          "    slimc_outputs, ",
          f);
    fprintf(f, "%d, {", g->arena_bytes.n);
    for (int t = 0; t < g->arena_bytes.n; t++)
        fprintf(f, "%s{%uu, %lldLL}", t ? ", " : "", (unsigned)g->arena_bytes.t[t].mask,
                (long long)g->arena_bytes.t[t].c);
    fprintf(f, "}, %uu, {", (unsigned)g->derived_syms);
    for (int s = 0; s < g->n_syms; s++) {
        const SymDef *d = &g->sym_defs[s];
        fprintf(f, "%s{{%lldLL, %uu}, {%lldLL, %uu}, {%lldLL, %uu}, %lldLL, %lldLL, ",
                s ? ", " : "", (long long)d->xa.c, (unsigned)d->xa.syms, (long long)d->xb.c,
                (unsigned)d->xb.syms, (long long)d->y.c, (unsigned)d->y.syms, (long long)d->add,
                (long long)d->div);
        if (g->sym_origins[s])
            put_shown_cstring(f, g->sym_origins[s]);
        else
            fputs("0", f);
        fprintf(f, ", %lldLL, ", (long long)g->sym_max[s]);
        if (g->sym_max_of[s])
            put_shown_cstring(f, g->sym_max_of[s]);
        else
            fputs("0", f);
        fprintf(f, ", {%lldLL, %uu}, ", (long long)g->sym_eq[s].c, (unsigned)g->sym_eq[s].syms);
        if (g->sym_eq_of[s])
            put_shown_cstring(f, g->sym_eq_of[s]);
        else
            fputs("0", f);
        fputs("}", f);
    }
    fputs(g->n_syms ? "}};\n" : "{{0, 0}, {0, 0}, {0, 0}, 0, 0, 0, 0, 0, {0, 0}, 0}}};\n", f);
    if (!offsets) /* a library: its wrapper has its own constants table */
        return;
    fputs("static const struct { int id; size_t offset; } slimc_consts[] = {\n", f);
    for (int v = 0; v < g->n_values; v++)
        if (offsets[v] >= 0) {
            fprintf(f, "    {%d, %lld}, /* ", v, (long long)offsets[v]);
            put_comment_text(f, g->values[v].name);
            fputs(" */\n", f);
        }
    fputs("    {-1, 0}};\nextern const unsigned char slimc_weights_blob[];\n\n", f);
}

/* ---- static libraries ---- */

bool cg_aot_is_identifier(const char *s)
{
    if (!s || !(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

bool cg_aot_is_lib_name(const char *s)
{
    static const char *const keywords[] = {
        "auto",     "break",      "case",     "char",   "const",    "continue", "default",
        "do",       "double",     "else",     "enum",   "extern",   "float",    "for",
        "goto",     "if",         "inline",   "int",    "long",     "register", "restrict",
        "return",   "short",      "signed",   "sizeof", "static",   "struct",   "switch",
        "typedef",  "union",      "unsigned", "void",   "volatile", "while",    "_Bool",
        "_Complex", "_Imaginary", "bool",     "true",   "false",    "asm",      "typeof"};
    if (!cg_aot_is_identifier(s) || !isalpha((unsigned char)*s))
        return false;
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (!strcmp(s, keywords[i]))
            return false;
    return true;
}

/* Symbol s as a parameter of the header's macros: its name when every symbol's name is a
 * C identifier of at most 64 bytes, else sym0, sym1, ... for all (the names come from the
 * model file and must not become code). */
static void put_dim_expr(FILE *f, const Graph *g, Dim d);

/* A derived symbol (ir/symbols.c) is its expression over the others: the macros take only
 * the inputs' symbols (its numerator is >= 0 where it is defined, so / is floor). */
static void put_sym_param(FILE *f, const Graph *g, int s)
{
    if (g->derived_syms & (1u << s)) {
        const SymDef *d = &g->sym_defs[s];
        fputs("((", f);
        put_dim_expr(f, g, d->xa);
        fputs(" * ", f);
        put_dim_expr(f, g, d->xb);
        fputs(" + ", f);
        put_dim_expr(f, g, d->y);
        fprintf(f, " + %lldLL) / %lldLL)", (long long)d->add, (long long)d->div);
        return;
    }
    bool names = true;
    for (int i = 0; i < g->n_syms; i++)
        if (!(g->derived_syms & (1u << i)))
            names &= cg_aot_is_identifier(g->sym_names[i]) && strlen(g->sym_names[i]) <= 64;
    if (names)
        fputs(g->sym_names[s], f);
    else
        fprintf(f, "sym%d", s);
}

/* A dim as a C expression in the macro's parameters (the symbol names). */
static void put_dim_expr(FILE *f, const Graph *g, Dim d)
{
    fprintf(f, "%lld", (long long)d.c);
    for (int s = 0; s < g->n_syms; s++)
        if (d.syms & (1u << s)) {
            fputs(" * (int64_t)(", f);
            put_sym_param(f, g, s);
            fputc(')', f);
        }
}

static void put_sym_params(FILE *f, const Graph *g)
{
    fputc('(', f);
    for (int s = 0, first = 1; s < g->n_syms; s++) {
        if (g->derived_syms & (1u << s))
            continue; /* an expression of the others */
        fputs(first ? "" : ", ", f);
        put_sym_param(f, g, s);
        first = 0;
    }
    fputc(')', f);
}

/* The io macros: NAME_INPUTk_RANK, _SHAPE(syms) (an initializer), _ELEMS(syms). */
static void put_io_macros(FILE *f, const CgAotModel *m, const char *up, const char *kind, int k,
                          ValueId v, const char *name, const char *type)
{
    const Graph *g = m->g;
    const Type *t = &g->values[v].type;
    fprintf(f, "/* %s %d '", kind, k);
    put_comment_text(f, name);
    fputs("': ", f);
    put_comment_text(f, type);
    fputs(" */\n", f);
    fprintf(f, "#define %s_%s%d_DTYPE %d /* %s */\n", up, kind[0] == 'i' ? "INPUT" : "OUTPUT", k,
            (int)t->dtype, ir_dtype_name(t->dtype));
    fprintf(f, "#define %s_%s%d_RANK %d\n", up, kind[0] == 'i' ? "INPUT" : "OUTPUT", k,
            t->shape.rank);
    fprintf(f, "#define %s_%s%d_SHAPE", up, kind[0] == 'i' ? "INPUT" : "OUTPUT", k);
    put_sym_params(f, g);
    fputs(" {", f);
    for (int j = 0; j < t->shape.rank; j++) {
        fputs(j ? ", " : "", f);
        put_dim_expr(f, g, t->shape.d[j]);
    }
    fprintf(f, "}\n#define %s_%s%d_ELEMS", up, kind[0] == 'i' ? "INPUT" : "OUTPUT", k);
    put_sym_params(f, g);
    fputs(" ((size_t)1", f);
    for (int j = 0; j < t->shape.rank; j++) {
        fputs(" * (size_t)(", f);
        put_dim_expr(f, g, t->shape.d[j]);
        fputc(')', f);
    }
    fputs(")\n", f);
}

void cg_aot_put_header_macros(FILE *f, const CgAotModel *m, const char *name, size_t blob_len,
                              bool weights_file)
{
    const Graph *g = m->g;
    char up[256];
    snprintf(up, sizeof up, "%s", name);
    for (char *p = up; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    fprintf(f, "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n#include <stdint.h>\n\n", up,
            up);
    fprintf(f, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    fprintf(f, "/* Version of slimc's generated-header ABI. */\n#define %s_FORMAT_VERSION %d\n", up,
            m->format_version);
    fprintf(f, "#define %s_N_INPUTS %d\n#define %s_N_OUTPUTS %d\n#define %s_N_SYMS %d /*", up,
            g->n_inputs, up, g->n_outputs, up, g->n_syms);
    for (int s = 0; s < g->n_syms; s++) {
        fputc(' ', f);
        put_comment_text(f, g->sym_names[s]);
    }
    fprintf(f, " */\n#define %s_WEIGHTS_BYTES ((size_t)%zu)%s\n\n", up, blob_len,
            weights_file ? " /* the size of NAME.weights */" : "");
    for (int i = 0; i < g->n_inputs; i++)
        put_io_macros(f, m, up, "input", i, g->inputs[i], m->input_names[i], m->input_types[i]);
    for (int i = 0; i < g->n_outputs; i++)
        put_io_macros(f, m, up, "output", i, g->outputs[i], m->output_names[i], m->output_types[i]);
    fprintf(f,
            "\n/* The exact scratch a run needs (from the memory plan). */\n#define %s_ARENA_BYTES",
            up);
    put_sym_params(f, g);
    fputs(" ((size_t)(0", f);
    for (int t = 0; t < g->arena_bytes.n; t++) {
        fprintf(f, " + %lldLL", (long long)g->arena_bytes.t[t].c);
        for (int s = 0; s < g->n_syms; s++)
            if (g->arena_bytes.t[t].mask & (1u << s)) {
                fputs(" * (int64_t)(", f);
                put_sym_param(f, g, s);
                fputc(')', f);
            }
    }
    fputs("))\n\n", f);
}

void cg_aot_put_header(FILE *f, const CgAotModel *m, const char *name, size_t blob_len,
                       bool weights_file)
{
    const Graph *g = m->g;
    char up[256];
    snprintf(up, sizeof up, "%s", name);
    for (char *p = up; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    fprintf(f, "/* %s.h -- the model '", name);
    put_comment_text(f, g->name);
    fprintf(f, "', compiled ahead of time by slimc %s.\n *\n", m->version);
    fprintf(
        f,
        " * Usage (link lib%s.a, -lpthread -lm):\n"
        " *\n"
        " *     %s *m = %s_init(%s);           // NULL on failure (errno set)\n"
        " *     int64_t syms[%s_N_SYMS + 1] = {batch};     // one value per symbol, in order\n"
        " *     const void *in[%s_N_INPUTS] = {x};        // C order, shapes below\n"
        " *     void *out[%s_N_OUTPUTS] = {y};            // the caller's buffers\n"
        " *     int rc = %s_run(m, syms, in, out, 1);     // 0 on success; 1 thread (0: all CPUs)\n"
        " *     %s_free(m);\n"
        " *\n"
        " * %s_run keeps a growing arena in m (one call at a time per m). %s_run_arena takes the\n"
        " * caller's arena instead -- %s_ARENA_BYTES(syms...) bytes, 64-byte aligned -- and never\n"
        " * calls malloc (with nthreads > 1 the first call starts the worker threads); it is\n"
        " * reentrant with one arena per thread (calls from two threads share the workers: one\n"
        " * waits for the other's parallel step). nthreads 0: the CPUs the process may run on.\n"
        " * No OpenMP: the code has its own thread pool. */\n",
        name, name, name, weights_file ? "\"path/to/NAME.weights\"" : "NULL", up, up, up, name,
        name, name, name, up);
    cg_aot_put_header_macros(f, m, name, blob_len, weights_file);
    fprintf(
        f,
        "typedef struct %s %s;\n"
        "/* weights_path: the NAME.weights file when built with --weights-file; ignored (may be\n"
        " * NULL) when the weights are embedded. */\n"
        "%s *%s_init(const char *weights_path);\n"
        "int %s_run(%s *m, const int64_t *syms, const void *const *inputs, void *const *outputs, "
        "int nthreads);\n"
        "int %s_run_arena(const %s *m, const int64_t *syms, const void *const *inputs, void *const "
        "*outputs,\n"
        "        void *arena, int nthreads);\n"
        "size_t %s_arena_bytes(const int64_t *syms);\n"
        "void %s_free(%s *m);\n\n",
        name, name, name, name, name, name, name, name, name, name, name);
    fprintf(
        f,
        "/* An input as %s_run_checked takes it: dtype is slimc's number for its element type\n"
        " * (%s_INPUTk_DTYPE; as SlimcDType in slimc/slimc.h), shape[ndim] in C order, nbytes\n"
        " * the bytes at data. */\n"
        "typedef struct %s_tensor {\n    int dtype, ndim;\n    const int64_t *shape;\n"
        "    const void *data;\n    size_t nbytes;\n} %s_tensor;\n"
        "/* %s_run with the inputs checked against the model's descriptor as `slimc run` and\n"
        " * built executables check them (dtype, rank, dims, each symbol bound consistently,\n"
        " * bytes), the symbols taken from their shapes: 0 on success; 2 when an input is\n"
        " * refused, with slimc run's message in err[err_cap] (when err is not NULL); else\n"
        " * %s_run's result. */\n"
        "int %s_run_checked(%s *m, const %s_tensor *inputs, void *const *outputs, int nthreads,\n"
        "        char *err, size_t err_cap);\n\n",
        name, up, name, name, name, name, name, name, name);
    fprintf(f, "#ifdef __cplusplus\n}\n#endif\n#endif\n");
}

/* The API around the generated code (appended to it in NAME.c). */
void cg_aot_put_wrapper(FILE *f, const CgAotModel *m, const char *name, const int64_t *offsets,
                        bool weights_file)
{
    const Graph *g = m->g;
    char up[256];
    snprintf(up, sizeof up, "%s", name);
    for (char *p = up; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    fprintf(f,
            "\n/* ---- the library API (see %s.h) ---- */\n#include <errno.h>\n#include <stdio.h>\n"
            "#include <stdlib.h>\n\n",
            name);
    fprintf(f, "static const struct { int id; size_t offset; } %s_consts[] = {\n", name);
    for (int v = 0; v < g->n_values; v++)
        if (offsets[v] >= 0) {
            fprintf(f, "    {%d, %lld}, /* ", v, (long long)offsets[v]);
            put_comment_text(f, g->values[v].name);
            fputs(" */\n", f);
        }
    fprintf(f, "    {-1, 0}};\n");
    if (!weights_file)
        fprintf(f, "extern const unsigned char %s_weights_blob[];\n", name);
    fprintf(f,
            "struct %s {\n    const void *consts[%d];\n    unsigned char *weights; /* owned, with "
            "--weights-file */\n"
            "    void *arena;\n    size_t arena_size;\n};\n\n",
            name, g->n_values + 1);
    fprintf(f,
            "%s *%s_init(const char *weights_path)\n{\n    %s *m = calloc(1, sizeof *m);\n"
            "    if (!m)\n        return NULL;\n    const unsigned char *blob;\n",
            name, name, name);
    if (weights_file) {
        fprintf(f,
                "    FILE *file = weights_path ? fopen(weights_path, \"rb\") : NULL;\n"
                "    m->weights = aligned_alloc(64, (%s_WEIGHTS_BYTES + 63) / 64 * 64 + 64);\n"
                "    int ok = file && m->weights && fread(m->weights, 1, %s_WEIGHTS_BYTES, file) "
                "== %s_WEIGHTS_BYTES\n"
                "             && fgetc(file) == EOF;\n"
                "    if (file)\n        fclose(file);\n"
                "    if (!ok) {\n        free(m->weights);\n        free(m);\n        errno = "
                "weights_path ? EINVAL : ENOENT;\n"
                "        return NULL;\n    }\n    blob = m->weights;\n",
                up, up, up);
    } else {
        fprintf(f, "    (void)weights_path;\n    blob = %s_weights_blob;\n", name);
    }
    fprintf(f,
            "    for (int c = 0; %s_consts[c].id >= 0; c++)\n        m->consts[%s_consts[c].id] = "
            "blob + %s_consts[c].offset;\n"
            "    return m;\n}\n\n",
            name, name, name);
    fprintf(f,
            "size_t %s_arena_bytes(const int64_t *syms) { return %s_model_arena_bytes(syms); }\n\n"
            "int %s_run_arena(const %s *m, const int64_t *syms, const void *const *inputs, void "
            "*const *outputs,\n"
            "        void *arena, int nthreads)\n{\n"
            "    return %s_model_run(m->consts, inputs, outputs, syms, arena, nthreads > 0 ? "
            "nthreads : slimc_rt_cpu_count());\n}\n\n",
            name, name, name, name, name);
    fprintf(f,
            "int %s_run(%s *m, const int64_t *syms, const void *const *inputs, void *const "
            "*outputs, int nthreads)\n{\n"
            "    size_t need = (%s_model_arena_bytes(syms) + 63) / 64 * 64 + 64;\n"
            "    if (need > m->arena_size) {\n        free(m->arena);\n        m->arena = "
            "aligned_alloc(64, need);\n"
            "        m->arena_size = m->arena ? need : 0;\n        if (!m->arena)\n            "
            "return -1;\n    }\n"
            "    return %s_run_arena(m, syms, inputs, outputs, m->arena, nthreads);\n}\n\n",
            name, name, name, name);
    fprintf(
        f,
        "int %s_run_checked(%s *m, const %s_tensor *inputs, void *const *outputs, int nthreads,\n"
        "        char *err, size_t err_cap)\n{\n"
        "    RtInputView view[SLIMC_N_INPUTS + 1];\n    const void *ptr[SLIMC_N_INPUTS + 1];\n"
        "    for (int i = 0; i < SLIMC_N_INPUTS; i++) {\n"
        "        view[i].dtype = inputs[i].dtype;\n        view[i].ndim = inputs[i].ndim;\n"
        "        view[i].shape = inputs[i].shape;\n        view[i].data = inputs[i].data;\n"
        "        view[i].nbytes = inputs[i].nbytes;\n        ptr[i] = inputs[i].data;\n    }\n"
        "    int64_t syms[RT_MAX_SYMS + 1] = {0};\n    RtBindError e;\n"
        "    if (rt_desc_bind(&slimc_desc, view, syms, &e) == 0)\n"
        "        return %s_run(m, syms, ptr, outputs, nthreads);\n"
        "    if (err && err_cap && e.input < 0)\n        snprintf(err, err_cap, \"%%s\", e.why);\n"
        "    else if (err && err_cap) {\n"
        "        const %s_tensor *t = &inputs[e.input];\n        char got[256];\n"
        "        size_t n = (size_t)snprintf(got, sizeof got, \"%%s[\", rt_dtype_name(t->dtype));\n"
        "        for (int j = 0; j < t->ndim && j < RT_MAX_RANK && n < sizeof got; j++)\n"
        "            n += (size_t)snprintf(got + n, sizeof got - n, \"%%s%%lld\", j ? \", \" : "
        "\"\",\n                                  (long long)t->shape[j]);\n"
        "        if (n < sizeof got)\n            snprintf(got + n, sizeof got - n, \"]\");\n"
        "        snprintf(err, err_cap, \"input '%%s': expected %%s, got %%s: %%s\", "
        "slimc_inputs[e.input].shown,\n"
        "                 slimc_inputs[e.input].type, got, e.why);\n    }\n    return 2;\n}\n\n",
        name, name, name, name, name);
    fprintf(f,
            "void %s_free(%s *m)\n{\n    if (!m)\n        return;\n    free(m->arena);\n    "
            "free(m->weights);\n"
            "    free(m);\n}\n",
            name, name);
}
