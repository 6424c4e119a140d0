/* AOT: `slimc build MODEL -o FILE` — the model's C, a block of metadata and the main()
 * of runtime/slimc_main.c in one translation unit, the constants linked in as one blob. */
#include "api/api_internal.h"

#include <stdlib.h>
#include <string.h>

extern const char slimc_main_source[];
extern const size_t slimc_main_source_len;

/* Every constant the graph reads, packed 64-byte aligned into one blob; offsets[v] is
 * constant v's place in it (or -1). */
static unsigned char *pack_constants(const Graph *g, int64_t *offsets, size_t *len)
{
    size_t total = 0;
    for (int v = 0; v < g->n_values; v++) {
        offsets[v] = -1;
        if (g->values[v].kind == IR_VALUE_CONST && ir_use_count(g, v) > 0) {
            offsets[v] = (int64_t)total;
            total += (g->values[v].data_bytes + 63) / 64 * 64;
        }
    }
    unsigned char *blob = calloc(total ? total : 1, 1);
    SLIMC_ASSERT(blob);
    for (int v = 0; v < g->n_values; v++)
        if (offsets[v] >= 0 && g->values[v].data_bytes)
            memcpy(blob + offsets[v], g->values[v].data, g->values[v].data_bytes);
    *len = total;
    return blob;
}

/* A C string literal for s (names come from the model file). */
static void put_cstring(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 32 || c > 126)
            fprintf(f, "\\%03o", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void put_io(FILE *f, const SlimcModel *m, ValueId v, const char *name, const char *type)
{
    const Type *t = &m->g->values[v].type;
    fputs("    {", f);
    put_cstring(f, name);
    fputs(", ", f);
    put_cstring(f, type);
    fprintf(f, ", %d, %d, {", (int)t->dtype, t->shape.rank);
    for (int j = 0; j < t->shape.rank; j++) {
        Dim d = t->shape.d[j];
        int sym = -1;
        for (int s = 0; s < IR_MAX_SYMS; s++)
            if (d.syms == (1u << s) && d.c == 1)
                sym = s;
        fprintf(f, "%s{%lld, %d, %uu}", j ? ", " : "", (long long)d.c, sym, (unsigned)d.syms);
    }
    fputs("}},\n", f);
}

/* The metadata block runtime/slimc_main.c expects (see its header comment). */
static void put_metadata(FILE *f, const SlimcModel *m, const int64_t *offsets)
{
    const Graph *g = m->g;
    fputs("\n/* ---- metadata for main() ---- */\n", f);
    fputs("#define SLIMC_MODEL_NAME ", f);
    put_cstring(f, g->name);
    fprintf(f, "\n#define SLIMC_N_INPUTS %d\n#define SLIMC_N_OUTPUTS %d\n#define SLIMC_N_SYMS %d\n"
               "#define SLIMC_N_VALUES %d\n",
            g->n_inputs, g->n_outputs, g->n_syms, g->n_values);
    fputs("typedef struct SlimcIoInfo {\n    const char *name, *type;\n    int dtype, rank;\n"
          "    struct { int64_t c; int sym; uint32_t mask; } dims[8];\n} SlimcIoInfo;\n", f);
    fputs("static const SlimcIoInfo slimc_inputs[SLIMC_N_INPUTS + 1] = {\n", f);
    for (int i = 0; i < g->n_inputs; i++)
        put_io(f, m, g->inputs[i], slimc_model_input_name(m, i), m->input_types[i]);
    fputs("    {0}};\nstatic const SlimcIoInfo slimc_outputs[SLIMC_N_OUTPUTS + 1] = {\n", f);
    for (int i = 0; i < g->n_outputs; i++)
        put_io(f, m, g->outputs[i], m->output_names[i], m->output_types[i]);
    fputs("    {0}};\nstatic const struct { int id; size_t offset; } slimc_consts[] = {\n", f);
    for (int v = 0; v < g->n_values; v++)
        if (offsets[v] >= 0)
            fprintf(f, "    {%d, %lld}, /* %s */\n", v, (long long)offsets[v], g->values[v].name);
    fputs("    {-1, 0}};\nextern const unsigned char slimc_weights_blob[];\n\n", f);
}

SlimcStatus slimc_build_executable(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o,
                                   const char *out_path)
{
    if (slimc_model_optimize(ctx, m, o) != SLIMC_OK)
        return SLIMC_ERROR;
    size_t len;
    char *model_src = api_emit_source(ctx, m, "slimc_model", &len);
    if (!model_src)
        return SLIMC_ERROR;
    int64_t *offsets = calloc((size_t)m->g->n_values + 1, sizeof *offsets);
    SLIMC_ASSERT(offsets);
    size_t blob_len;
    unsigned char *blob = pack_constants(m->g, offsets, &blob_len);
    char *src = NULL;
    size_t src_len = 0;
    FILE *f = open_memstream(&src, &src_len);
    SLIMC_ASSERT(f);
    fwrite(model_src, 1, len, f);
    put_metadata(f, m, offsets);
    fwrite(slimc_main_source, 1, slimc_main_source_len, f);
    fclose(f);
    free(model_src);
    free(offsets);

    RtOptions ro;
    api_rt_options(o, &ro, &ctx->t);
    if (!o || !o->cpu)
        ro.cpu = "x86-64-v2"; /* portable by default; --cpu native trades that for speed */
    /* A model without constants still needs the symbol main() refers to. */
    static const unsigned char one_byte[64];
    bool ok = rt_build_executable(src, src_len, blob_len ? blob : one_byte, blob_len ? blob_len : 1,
                                  "slimc_weights_blob", &ro, out_path, &ctx->diag);
    free(src);
    free(blob);
    return ok ? SLIMC_OK : SLIMC_ERROR;
}
