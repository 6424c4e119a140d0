/* The API calls for programs that load libslimc at run time (python/slimc over ctypes,
 * docs/python.md): a model from memory, the kind of an error, inspect as JSON, and the
 * sizes of the public structs a binding mirrors. */
#define _GNU_SOURCE 1 /* fopencookie */
#include "api/api_internal.h"

#include "frontend/onnx.h"
#include "frontend/slim.h"

#include <stdlib.h>
#include <string.h>

/* ---- a model from memory ---- */

static bool name_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

SlimcStatus slimc_model_load_memory(SlimcContext *ctx, const void *data, size_t len,
                                    const char *name, SlimcModel **out)
{
    *out = NULL;
    const unsigned char *bytes = data;
    bool onnx;
    if (name && name_ends_with(name, ".onnx"))
        onnx = true;
    else if (name && name_ends_with(name, ".slim"))
        onnx = false;
    else /* a ModelProto starts with ir_version: field 1, varint (tag 0x08) */
        onnx = len > 0 && bytes[0] == 0x08;
    if (!name)
        name = onnx ? "model.onnx" : "model.slim";
    double t0 = api_now_ms();
    FeOnnxOptions fo = {.max_memory = ctx->max_memory};
    Graph *g = onnx ? fe_onnx_parse_ex(name, data, len, &fo, &ctx->diag)
                    : fe_slim_parse_ex(name, data, len, NULL, &ctx->diag);
    ctx->t.parse += api_now_ms() - t0;
    return api_model_wrap(ctx, g, out);
}

/* ---- the kind of an error ---- */

/* Phrases of the messages, the first match deciding (more specific kinds first). Each
 * row is a substring of the text after the first "error: ". */
static const struct {
    const char *phrase;
    SlimcErrorKind kind;
} error_phrases[] = {
    {"cannot open", SLIMC_ERROR_IO},
    {"cannot read", SLIMC_ERROR_IO},
    {"cannot write", SLIMC_ERROR_IO},
    {"cannot create", SLIMC_ERROR_IO},
    {"No such file", SLIMC_ERROR_IO},
    {"Permission denied", SLIMC_ERROR_IO},
    {"is a directory", SLIMC_ERROR_IO},
    {"memory limit", SLIMC_ERROR_LIMIT},
    {"out of memory", SLIMC_ERROR_LIMIT},
    {"overflow", SLIMC_ERROR_LIMIT},
    {"too many", SLIMC_ERROR_LIMIT},
    {"too deeply", SLIMC_ERROR_LIMIT},
    {"too large", SLIMC_ERROR_LIMIT},
    {"cannot be imported", SLIMC_ERROR_UNSUPPORTED},
    {"not supported", SLIMC_ERROR_UNSUPPORTED},
    {"unsupported", SLIMC_ERROR_UNSUPPORTED},
    {"syntax error", SLIMC_ERROR_PARSE},
    {"unexpected", SLIMC_ERROR_PARSE},
    {"unterminated", SLIMC_ERROR_PARSE},
    {"unknown", SLIMC_ERROR_PARSE},
    {"did you mean", SLIMC_ERROR_PARSE},
    {"missing argument", SLIMC_ERROR_PARSE},
    {"already defined", SLIMC_ERROR_PARSE},
    {"protobuf", SLIMC_ERROR_PARSE},
    {"wrong rank", SLIMC_ERROR_SHAPE},
    {"the largest the model's", SLIMC_ERROR_SHAPE}, /* a symbol over its bound */
    {"shape", SLIMC_ERROR_SHAPE},
    {"expected f", SLIMC_ERROR_SHAPE},
    {"declares", SLIMC_ERROR_SHAPE},
    {"features", SLIMC_ERROR_SHAPE},
    {"rank", SLIMC_ERROR_SHAPE},
    {"dtype", SLIMC_ERROR_SHAPE},
    {"broadcast", SLIMC_ERROR_SHAPE},
    {"dimension", SLIMC_ERROR_SHAPE},
    {"takes", SLIMC_ERROR_PARSE},
    {"has no parameter", SLIMC_ERROR_PARSE},
};

SlimcErrorKind slimc_error_kind(const SlimcContext *ctx)
{
    if (ctx->diag.n_errors == 0)
        return SLIMC_ERROR_NONE;
    const char *text = slimc_error(ctx);
    const char *msg = text ? strstr(text, "error: ") : NULL;
    if (!msg)
        return SLIMC_ERROR_OTHER;
    msg += strlen("error: ");
    const char *eol = strchr(msg, '\n');
    size_t n = eol ? (size_t)(eol - msg) : strlen(msg);
    char line[1024];
    if (n >= sizeof line)
        n = sizeof line - 1;
    memcpy(line, msg, n);
    line[n] = 0;
    for (size_t i = 0; i < sizeof error_phrases / sizeof error_phrases[0]; i++)
        if (strstr(line, error_phrases[i].phrase))
            return error_phrases[i].kind;
    return SLIMC_ERROR_OTHER;
}

const char *slimc_error_kind_name(SlimcErrorKind k)
{
    switch (k) {
    case SLIMC_ERROR_NONE: return "none";
    case SLIMC_ERROR_PARSE: return "parse";
    case SLIMC_ERROR_SHAPE: return "shape";
    case SLIMC_ERROR_UNSUPPORTED: return "unsupported";
    case SLIMC_ERROR_IO: return "io";
    case SLIMC_ERROR_LIMIT: return "limit";
    case SLIMC_ERROR_OTHER: return "other";
    }
    return NULL;
}

/* ---- inspect as JSON ---- */

/* s as a JSON string: quotes, backslashes and control characters escaped; other bytes as
 * they are (names are UTF-8; a reader decodes invalid bytes as it chooses). */
static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void json_ports(FILE *f, const SlimcModel *m, bool inputs)
{
    int n = inputs ? slimc_model_num_inputs(m) : slimc_model_num_outputs(m);
    fputc('[', f);
    for (int i = 0; i < n; i++) {
        fputs(i ? ", {\"name\": " : "{\"name\": ", f);
        json_string(f, inputs ? slimc_model_input_name(m, i) : slimc_model_output_name(m, i));
        fputs(", \"type\": ", f);
        json_string(f, inputs ? slimc_model_input_type(m, i) : slimc_model_output_type(m, i));
        fputc('}', f);
    }
    fputc(']', f);
}

SlimcStatus slimc_model_inspect_json(SlimcContext *ctx, SlimcModel *m, unsigned what, char **json)
{
    static const struct {
        unsigned flag;
        const char *key;
    } reports[] = {
        {SLIMC_INSPECT_SUMMARY, "summary"}, {SLIMC_INSPECT_IR, "ir"},
        {SLIMC_INSPECT_DOT, "dot"},         {SLIMC_INSPECT_MEMORY, "memory"},
        {SLIMC_INSPECT_FLOPS, "flops"},     {SLIMC_INSPECT_QUANT, "quant"},
        {SLIMC_INSPECT_KERNELS, "kernels"}, {SLIMC_INSPECT_SPARSITY, "sparsity"},
    };
    *json = NULL;
    char *buf = NULL, *text = NULL;
    size_t len = 0, text_len = 0;
    FILE *f = open_memstream(&buf, &len);
    SLIMC_ASSERT(f);
    SlimcStatus st = SLIMC_OK;
    /* the reports first: one may optimize m, which changes its types and weights */
    char *texts[sizeof reports / sizeof reports[0]] = {0};
    for (size_t i = 0; i < sizeof reports / sizeof reports[0] && st == SLIMC_OK; i++) {
        if (!(what & reports[i].flag))
            continue;
        FILE *t = open_memstream(&text, &text_len);
        SLIMC_ASSERT(t);
        st = slimc_model_inspect(ctx, m, reports[i].flag, t);
        fclose(t);
        texts[i] = text;
        text = NULL;
    }
    fputs("{\"name\": ", f);
    json_string(f, slimc_model_name(m));
    fputs(", \"inputs\": ", f);
    json_ports(f, m, true);
    fputs(", \"outputs\": ", f);
    json_ports(f, m, false);
    /* the numbers of the reports, with every symbol 1 */
    const Graph *g = m->g;
    int64_t ones[IR_MAX_SYMS];
    for (int i = 0; i < IR_MAX_SYMS; i++)
        ones[i] = 1;
    fprintf(f, ", \"weight_bytes\": %zu, \"weight_bytes_loaded\": %zu, \"optimized\": %s",
            ir_weight_bytes(g), m->weight_bytes_loaded, m->optimized ? "true" : "false");
    fprintf(f, ", \"flops_per_run\": %.0f", ir_flops(g, ones));
    if (g->planned)
        fprintf(f, ", \"arena_bytes\": %lld", (long long)ir_poly_eval(&g->arena_bytes, ones));
    fputs(", \"symbols\": [", f);
    for (int i = 0; i < g->n_syms; i++) {
        fputs(i ? ", " : "", f);
        json_string(f, g->sym_names[i]);
    }
    fputc(']', f);
    for (size_t i = 0; i < sizeof reports / sizeof reports[0]; i++) {
        if (!texts[i])
            continue;
        fprintf(f, ", \"%s\": ", reports[i].key);
        json_string(f, texts[i]);
        free(texts[i]);
    }
    fputs("}", f);
    fclose(f);
    if (st != SLIMC_OK) {
        free(buf);
        return st;
    }
    *json = buf;
    return SLIMC_OK;
}

/* ---- progress through a callback ---- */

typedef struct ProgressCookie {
    SlimcProgressFn fn;
    void *arg;
} ProgressCookie;

static ssize_t progress_write(void *cookie, const char *buf, size_t size)
{
    ProgressCookie *c = cookie;
    /* hand over one piece per line or redraw, each ending with its '\n' or '\r' */
    size_t start = 0;
    for (size_t i = 0; i < size; i++)
        if (buf[i] == '\n' || buf[i] == '\r') {
            c->fn(c->arg, buf + start, i + 1 - start);
            start = i + 1;
        }
    if (start < size)
        c->fn(c->arg, buf + start, size - start);
    return (ssize_t)size;
}

static int progress_close(void *cookie)
{
    free(cookie);
    return 0;
}

FILE *slimc_progress_stream(SlimcProgressFn fn, void *arg)
{
    if (!fn)
        return NULL;
    ProgressCookie *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    c->fn = fn;
    c->arg = arg;
    cookie_io_functions_t io = {.write = progress_write, .close = progress_close};
    FILE *f = fopencookie(c, "w", io);
    if (!f) {
        free(c);
        return NULL;
    }
    setvbuf(f, NULL, _IOLBF, 0); /* a line at a time */
    return f;
}

void slimc_free(void *p)
{
    free(p);
}

size_t slimc_sizeof(const char *type_name)
{
    static const struct {
        const char *name;
        size_t size;
    } sizes[] = {
        {"SlimcOptions", sizeof(SlimcOptions)},
        {"SlimcTensor", sizeof(SlimcTensor)},
        {"SlimcBenchOptions", sizeof(SlimcBenchOptions)},
        {"SlimcBenchStats", sizeof(SlimcBenchStats)},
        {"SlimcTrainOptions", sizeof(SlimcTrainOptions)},
    };
    for (size_t i = 0; type_name && i < sizeof sizes / sizeof sizes[0]; i++)
        if (strcmp(type_name, sizes[i].name) == 0)
            return sizes[i].size;
    return 0;
}
