/* The pass manager: the registry of passes, the parser of pipeline strings (grammar in
 * pass.h and docs/passes.md) into a PassPipeline, the runner that verifies and prints the
 * IR between passes, and the argument helpers passes use to check what they were given. */
#include "passes/pass.h"
#include "passes/finetune.h"
#include "passes/prune.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool pass_cse(Graph *g, const PassArgs *args, Diag *d);      /* passes/cse.c (not in pass.h yet) */
bool pass_quantize(Graph *g, const PassArgs *args, Diag *d); /* passes/quantize.c */
bool pass_qdq(Graph *g, const PassArgs *args, Diag *d);      /* passes/qdq.c */
bool pass_qchain(Graph *g, const PassArgs *args, Diag *d);   /* passes/qchain.c */
bool pass_place(Graph *g, const PassArgs *args, Diag *d);    /* passes/place.c (place.h) */
bool pass_sparse(Graph *g, const PassArgs *args, Diag *d);   /* passes/sparse.c (sparse.h) */

/* Every pass by name, in the order a pipeline usually runs them, with the keys of its
 * arguments that name a .npy file (space-separated; the API layer reads them before the
 * pipeline runs, see pass.h). */
static const struct {
    const char *name;
    PassFn fn;
    const char *file_args;
} pass_registry[] = {
    {"fold", pass_fold, ""},           /* constant folding and exact simplifications */
    {"dce", pass_dce, ""},             /* dead code elimination (and compaction) */
    {"cse", pass_cse, ""},             /* common subexpression elimination */
    {"bn_fold", pass_bn_fold, ""},     /* batch_norm into conv2d/linear, or into mul + add */
    {"conv_taps", pass_conv_taps, ""}, /* padding-heavy convs as 1x1s per tap (conv_taps.c) */
    {"linearize", pass_linearize, ""}, /* matmul by a constant into linear (passes/linearize.c) */
    {"gelu", pass_gelu, ""},           /* exported GELU chains into gelu (passes/gelu.c) */
    {"act", pass_act, ""},             /* exported SiLU, HardSwish, clip ReLU6 (passes/act.c) */
    {"lnorm", pass_lnorm, ""},         /* exported LayerNorm chains (passes/lnorm.c) */
    {"attention", pass_attention, ""}, /* matmul-softmax-matmul chains (passes/attention.c) */
    {"layout", pass_layout, ""},       /* linear weights to [K, N] */
    {"sparse", pass_sparse, ""},       /* density; CSR weights where faster (passes/sparse.c) */
    {"qtaps", pass_qtaps, ""},         /* int8 convs read without a panel (passes/qtaps.c) */
    {"fuse", pass_fuse, ""},           /* elementwise ops into their producer's epilogue */
    {"memplan", pass_memplan, ""},     /* static buffer planning (passes/memplan.c) */
    {"quantize", pass_quantize,
     "calibrate validate labels"}, /* static int8 and low-bit (passes/quantize.c) */
    {"qdq", pass_qdq, ""},         /* int8 kernels for pre-quantized models (passes/qdq.c) */
    {"qchain", pass_qchain, ""},   /* int8 layers that write u8 for the next (passes/qchain.c) */
    {"prune", pass_prune, ""},     /* zeros in conv/linear weights (passes/prune.c) */
    {"finetune", pass_finetune,
     "data labels"},           /* trains the graph, in slimc compress only (passes/finetune.c) */
    {"place", pass_place, ""}, /* each node on the CPU or the GPU (passes/place.c) */
};
enum { N_PASSES = sizeof pass_registry / sizeof pass_registry[0] };

/* The default pipeline: the int8 kernels of pre-quantized (QDQ) models first (before fold
 * evaluates their weights to f32), then fold constants (so bn_fold sees constant parameters even
 * when they were computed), take the activations exporters write as arithmetic (SiLU,
 * HardSwish, ReLU6 as a clip) as their ops (before bn_fold would fold a hardsigmoid's
 * "x * 1/6 + 0.5" into the conv before it), fold batch norms and constant per-channel
 * mul/adds after convs, fold what that exposed, drop what is dead,
 * merge duplicates, split the convs whose taps mostly read padding into a 1x1 conv per tap
 * (after quantize: an int8 conv keeps its kernel), take exported matmuls by constant weights as
 * linears (and split a sliced fused projection), exported GELU chains as gelu, LayerNorm written
 * out as layer_norm and attention chains (matmul, scale, mask, softmax, matmul) as attention,
 * decide each node's device when the model is placed automatically
 * (--device auto, place(auto): a no-op otherwise; before the passes that respect a node's
 * device), chain int8 layers in u8 (before fuse takes their relus), set the GEMM layout,
 * measure weight densities and give the CPU linears the cost model predicts faster sparse
 * their CSR kernel, reorder the weights of int8 convs for the kernel without a panel, fuse
 * epilogues, drop the fused-away nodes, plan memory. A quantize pass asked for with the default
 * pipeline (--quantize) runs between the two halves: after the clean-up (its weights folded, batch
 * norms in them), before placement (which times the int8 layers), qchain (which chains them),
 * layout and fuse. */
#define DEFAULT_CLEANUP "qdq,fold,act,bn_fold,fold,dce,cse"
#define DEFAULT_LOWER                                                                              \
    "conv_taps,linearize,gelu,lnorm,attention,place,qchain,layout,sparse,qtaps,fuse,dce,memplan"
static const char default_pipeline[] = DEFAULT_CLEANUP "," DEFAULT_LOWER;

const char *pass_default_pipeline(void)
{
    return default_pipeline;
}

const char *pass_default_pipeline_with(Graph *g, const char *quantize)
{
    if (!quantize)
        return default_pipeline;
    return ir_arena_printf(g->arena, "%s,%s,%s", DEFAULT_CLEANUP, quantize, DEFAULT_LOWER);
}

static int pass_index(const char *name)
{
    for (int i = 0; i < N_PASSES; i++)
        if (strcmp(pass_registry[i].name, name) == 0)
            return i;
    return -1;
}

PassFn pass_lookup(const char *name)
{
    int i = pass_index(name);
    return i < 0 ? NULL : pass_registry[i].fn;
}

static bool in_list(const char *list, const char *key);

bool pass_file_arg(const char *pass, const char *key)
{
    int i = pass_index(pass);
    return i >= 0 && key && in_list(pass_registry[i].file_args, key);
}

/* ---- the parser ---- */

typedef struct Parser {
    Graph *g;
    const char *text; /* the pipeline */
    size_t pos;
    SrcLoc loc; /* where the pipeline is written (line 0: the command line) */
    Diag *d;
    bool failed;
} Parser;

/* The source place of the pipeline's byte at offset: inside the model file when loc has a
 * line (the pipeline's text starting at loc.col, newlines in it counted), otherwise on
 * line 1 of the pseudo-file "--passes" (whose text the diagnostics quote). */
static SrcLoc place_of(const Parser *p, size_t offset)
{
    if (p->loc.line <= 0)
        return (SrcLoc){"--passes", 1, (int)offset + 1};
    SrcLoc l = p->loc;
    size_t line_start = 0;
    for (size_t i = 0; i < offset && p->text[i]; i++)
        if (p->text[i] == '\n') {
            l.line++;
            line_start = i + 1;
        }
    l.col = line_start ? (int)(offset - line_start) + 1 : p->loc.col + (int)offset;
    return l;
}

static void parse_error(Parser *p, size_t offset, const char *what)
{
    if (p->failed)
        return; /* one error per pipeline: what follows the first one is noise */
    p->failed = true;
    ir_diag_error(p->d, place_of(p, offset), "%s", what);
}

static void skip_space(Parser *p)
{
    while (isspace((unsigned char)p->text[p->pos]))
        p->pos++;
}

static bool is_name_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}
static bool is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.';
}

/* NAME := [A-Za-z_][A-Za-z0-9_.]* ; returns NULL (no error) when there is none. */
static const char *parse_name(Parser *p)
{
    if (!is_name_start(p->text[p->pos]))
        return NULL;
    size_t start = p->pos;
    while (is_name_char(p->text[p->pos]))
        p->pos++;
    return ir_arena_strndup(p->g->arena, p->text + start, p->pos - start);
}

/* "what" followed by a description of the character at the current position. */
static const char *found(Parser *p, const char *what)
{
    char c = p->text[p->pos];
    if (!c)
        return ir_arena_printf(p->g->arena, "%s, found the end of the pipeline", what);
    return ir_arena_printf(p->g->arena, "%s, found '%c'", what, c);
}

/* NUMBER := [+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)? '%'? */
static bool parse_number(Parser *p, PassArg *a)
{
    const char *s = p->text + p->pos;
    char *end;
    double v = strtod(s, &end);
    /* strtod also takes "inf", "nan" and hex; the grammar does not */
    size_t n = (size_t)(end - s);
    for (size_t i = 0; i < n; i++)
        if (!strchr("+-.0123456789eE", s[i])) {
            parse_error(p, p->pos, "malformed number");
            return false;
        }
    if (n == 0) {
        parse_error(p, p->pos, "malformed number");
        return false;
    }
    if (s[n] == '%') {
        v /= 100.0;
        n++;
    }
    if (is_name_char(s[n])) {
        parse_error(p, p->pos + n, "malformed number");
        return false;
    }
    a->kind = PASS_ARG_NUMBER;
    a->number = v;
    a->text = ir_arena_strndup(p->g->arena, s, n);
    p->pos += n;
    return true;
}

/* STRING := '"' ( [^"\\] | '\\' ["\\] )* '"' */
static bool parse_string(Parser *p, PassArg *a)
{
    size_t start = p->pos++;
    char *buf = ir_arena_alloc(p->g->arena, strlen(p->text + start) + 1);
    size_t len = 0;
    for (;;) {
        char c = p->text[p->pos];
        if (!c || c == '\n') {
            parse_error(p, start, "unterminated string");
            return false;
        }
        p->pos++;
        if (c == '"')
            break;
        if (c == '\\') {
            char e = p->text[p->pos];
            if (e != '"' && e != '\\') {
                parse_error(p, p->pos - 1,
                            "unknown escape in string (only \\\" and \\\\ are allowed)");
                return false;
            }
            c = e;
            p->pos++;
        }
        buf[len++] = c;
    }
    a->kind = PASS_ARG_STRING;
    a->text = buf;
    return true;
}

static PassArgs *parse_call(Parser *p, bool top);

/* arg := [NAME '='] value ; value := NAME | NUMBER ['%'] | STRING | call */
static bool parse_arg(Parser *p, PassArg *a)
{
    skip_space(p);
    size_t start = p->pos;
    a->loc = place_of(p, start);
    const char *name = parse_name(p);
    if (name) {
        skip_space(p);
        if (p->text[p->pos] == '=') {
            a->key = name;
            p->pos++;
            skip_space(p);
            start = p->pos;
            name = parse_name(p);
        } else {
            p->pos = start; /* re-read it as a value below */
            name = parse_name(p);
        }
    }
    if (name) {
        size_t after = p->pos;
        skip_space(p);
        if (p->text[p->pos] == '(') {
            p->pos = start;
            const PassArgs *call = parse_call(p, false);
            if (!call)
                return false;
            a->kind = PASS_ARG_CALL;
            a->call = call;
            a->text = call->name;
            return true;
        }
        p->pos = after;
        a->kind = PASS_ARG_NAME;
        a->text = name;
        return true;
    }
    char c = p->text[p->pos];
    if (c == '"')
        return parse_string(p, a);
    if (isdigit((unsigned char)c) || c == '.' || c == '-' || c == '+')
        return parse_number(p, a);
    parse_error(p, p->pos, found(p, "expected an argument (a name, number, string or call)"));
    return false;
}

/* The message for an unknown pass name. */
static const char *unknown_pass(Arena *a, const char *name)
{
    const char *known = pass_registry[0].name;
    for (int i = 1; i < N_PASSES; i++)
        known = ir_arena_printf(a, "%s, %s", known, pass_registry[i].name);
    return ir_arena_printf(a, "unknown pass '%s' (known passes: %s)", name, known);
}

/* call := NAME [ '(' [ arg (',' arg)* ] ')' ] ; for a pass (top), NAME must be known. */
static PassArgs *parse_call(Parser *p, bool top)
{
    skip_space(p);
    size_t start = p->pos;
    const char *name = parse_name(p);
    if (!name) {
        parse_error(p, p->pos, found(p, top ? "expected a pass name" : "expected a name"));
        return NULL;
    }
    PassArgs *call = ir_arena_alloc(p->g->arena, sizeof *call);
    call->name = name;
    call->loc = place_of(p, start);
    if (top && !pass_lookup(name)) {
        parse_error(p, start, unknown_pass(p->g->arena, name));
        return NULL;
    }
    skip_space(p);
    if (p->text[p->pos] != '(')
        return call;
    p->pos++;
    skip_space(p);
    int cap = 0;
    if (p->text[p->pos] == ')') {
        p->pos++;
        return call;
    }
    for (;;) {
        if (call->n == cap) {
            int ncap = cap ? 2 * cap : 4;
            call->args = ir_arena_grow(p->g->arena, call->args, sizeof(PassArg) * (size_t)cap,
                                       sizeof(PassArg) * (size_t)ncap);
            cap = ncap;
        }
        if (!parse_arg(p, &call->args[call->n]))
            return NULL;
        call->n++;
        skip_space(p);
        if (p->text[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->text[p->pos] == ')') {
            p->pos++;
            return call;
        }
        parse_error(p, p->pos, found(p, "expected ',' or ')' in the arguments"));
        return NULL;
    }
}

bool pass_pipeline_parse(Graph *g, const char *pipeline, SrcLoc loc, PassPipeline *out, Diag *d)
{
    Parser p = {.g = g, .text = pipeline ? pipeline : "", .loc = loc, .d = d};
    if (loc.line <= 0)
        ir_diag_add_source(d, "--passes", p.text, strlen(p.text));
    int cap = 0, n = 0;
    PassArgs *list = NULL;
    skip_space(&p);
    /* An empty pipeline runs no pass. */
    while (p.text[p.pos] && !p.failed) {
        PassArgs *c = parse_call(&p, true);
        if (!c)
            break;
        if (n == cap) {
            int ncap = cap ? 2 * cap : 8;
            list = ir_arena_grow(g->arena, list, sizeof(PassArgs) * (size_t)cap,
                                 sizeof(PassArgs) * (size_t)ncap);
            cap = ncap;
        }
        list[n++] = *c;
        skip_space(&p);
        if (!p.text[p.pos])
            break;
        if (p.text[p.pos] != ',') {
            parse_error(&p, p.pos, found(&p, "expected ',' between passes"));
            break;
        }
        p.pos++;
        skip_space(&p);
        if (!p.text[p.pos])
            parse_error(&p, p.pos, "expected a pass name after ','");
    }
    out->steps = p.failed ? NULL : list;
    out->n = p.failed ? 0 : n;
    return !p.failed;
}

bool pass_pipeline_check(const PassPipeline *p, Diag *d)
{
    bool ok = true;
    for (int i = 0; i < p->n; i++)
        if (!pass_lookup(p->steps[i].name)) {
            /* the message is built in a scratch arena: d copies it */
            Arena *a = ir_arena_new();
            ir_diag_error(d, p->steps[i].loc, "%s", unknown_pass(a, p->steps[i].name));
            ir_arena_free(a);
            ok = false;
        }
    return ok;
}

/* ---- running ---- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Runs ir_verify after pass name; a failure there is slimc's bug, reported as such with
 * the verifier's findings. */
static bool verify_after(const Graph *g, const PassArgs *call, Diag *d)
{
    Diag vd;
    ir_diag_init(&vd);
    bool ok = ir_verify(g, &vd);
    if (!ok)
        ir_diag_error(d, call->loc,
                      "internal error: the IR is invalid after pass '%s' (a bug in slimc):\n%s",
                      call->name, ir_diag_text(&vd));
    ir_diag_fini(&vd);
    return ok;
}

bool pass_pipeline_run(Graph *g, const char *pipeline, SrcLoc loc, const PassRunOptions *o, Diag *d)
{
    PassPipeline p;
    return pass_pipeline_parse(g, pipeline, loc, &p, d) && pass_pipeline_exec(g, &p, o, d);
}

bool pass_pipeline_exec(Graph *g, const PassPipeline *p, const PassRunOptions *o, Diag *d)
{
    static const PassRunOptions none = {0};
    if (!o)
        o = &none;
    if (!pass_pipeline_check(p, d))
        return false;
    const PassArgs *calls = p->steps;
    const int n_calls = p->n;
    if (o->print_after && strcmp(o->print_after, "all") != 0 && !pass_lookup(o->print_after))
        ir_diag_warning(d, (SrcLoc){0}, "--print-after names an unknown pass '%s'", o->print_after);
    FILE *out = o->print_to ? o->print_to : stderr;
    double t0 = now_ms();
    bool ok = true;
    for (int i = 0; i < n_calls && ok; i++) {
        const PassArgs *call = &calls[i];
        int errors = d->n_errors;
        ok = pass_lookup(call->name)(g, call, d) && d->n_errors == errors;
        if (ok && o->verify)
            ok = verify_after(g, call, d);
        if (ok && o->print_after &&
            (strcmp(o->print_after, "all") == 0 || strcmp(o->print_after, call->name) == 0)) {
            fprintf(out, "; IR after %s\n", call->name);
            ir_print(g, out);
        }
    }
    if (o->ms)
        *o->ms += now_ms() - t0;
    return ok;
}

/* ---- argument helpers ---- */

const PassArg *pass_arg(const PassArgs *a, const char *key)
{
    for (int i = 0; a && i < a->n; i++)
        if (a->args[i].key && strcmp(a->args[i].key, key) == 0)
            return &a->args[i];
    return NULL;
}

const PassFile *pass_file(const PassArg *a, Diag *d)
{
    SLIMC_ASSERT(a->file); /* a pipeline with file arguments runs through api/pipeline.c */
    if (a->file->error) {
        ir_diag_append(d, a->file->error);
        return NULL;
    }
    return a->file;
}

/* True when key is one of the space-separated words of list. */
static bool in_list(const char *list, const char *key)
{
    size_t k = strlen(key);
    for (const char *s = list; *s;) {
        while (*s == ' ')
            s++;
        size_t w = strcspn(s, " ");
        if (w == k && strncmp(s, key, k) == 0)
            return true;
        s += w;
    }
    return false;
}

/* allowed_keys: the keys a pass accepts, separated by spaces; NULL when the pass takes no
 * arguments at all. Positional arguments are left to the pass (they are its flags or its
 * values, e.g. quantize(int8, per_channel)). A key given twice is an error too. An error
 * about one argument is reported at its place. */
bool pass_args_check(const PassArgs *a, const char *allowed_keys, Diag *d)
{
    bool ok = true;
    if (!allowed_keys) {
        if (a && a->n > 0) {
            ir_diag_error(d, a->loc, "pass '%s' takes no arguments", a->name);
            return false;
        }
        return true;
    }
    for (int i = 0; a && i < a->n; i++) {
        const char *key = a->args[i].key;
        if (!key)
            continue;
        if (!in_list(allowed_keys, key)) {
            ir_diag_error(d, a->args[i].loc, "pass '%s' has no argument '%s' (its arguments: %s)",
                          a->name, key, *allowed_keys ? allowed_keys : "none");
            ok = false;
        } else if (pass_arg(a, key) != &a->args[i]) {
            ir_diag_error(d, a->args[i].loc, "pass '%s': argument '%s' is given twice", a->name,
                          key);
            ok = false;
        }
    }
    return ok;
}

static const PassRunner *the_runner;

void pass_set_runner(const PassRunner *r)
{
    __atomic_store_n(&the_runner, r, __ATOMIC_RELEASE);
}

const PassRunner *pass_get_runner(void)
{
    return __atomic_load_n(&the_runner, __ATOMIC_ACQUIRE);
}

static bool all_digits(const char *s, size_t n)
{
    return n > 0 && strspn(s, "0123456789") >= n;
}

/* Whether the module path pat (parts separated by '.') is a scope prefix of name at its
 * position pos, prev the scope component before it (len np). PyTorch's exporter names a
 * node "/layer1/layer1.0/conv1/Conv", which the importer makes "_layer1_layer1.0_conv1_Conv":
 * a numbered child's component is its parent's component, a dot and the number, and a
 * ModuleList (never called) has no component of its own ("/enc/layers.0/linear1/MatMul"). */
static bool scope_prefix(const char *pat, const char *name, size_t pos, const char *prev, size_t np,
                         int depth)
{
    if (!*pat)
        return pos > 0 && name[pos - 1] == '_';
    if (depth > 32)
        return false;
    size_t k = strcspn(pat, ".");
    const char *next = pat[k] ? pat + k + 1 : pat + k;
    char comp[256];
    int n;
    if (all_digits(pat, k) && prev) /* "layers.8" of parts layers, 8 */
        n = snprintf(comp, sizeof comp, "%.*s.%.*s", (int)np, prev, (int)k, pat);
    else
        n = snprintf(comp, sizeof comp, "%.*s", (int)k, pat);
    if (n < 0 || (size_t)n >= sizeof comp)
        return false;
    size_t c = (size_t)n;
    if (!strncmp(name + pos, comp, c) && name[pos + c] == '_' &&
        scope_prefix(next, name, pos + c + 1, name + pos, c, depth + 1))
        return true;
    /* a list's item without the list's own component: "layers.0" directly */
    size_t k2 = strcspn(next, ".");
    if (!all_digits(pat, k) && *next && all_digits(next, k2)) {
        n = snprintf(comp, sizeof comp, "%.*s.%.*s", (int)k, pat, (int)k2, next);
        if (n < 0 || (size_t)n >= sizeof comp)
            return false;
        c = (size_t)n;
        const char *after = next[k2] ? next + k2 + 1 : next + k2;
        if (!strncmp(name + pos, comp, c) && name[pos + c] == '_' &&
            scope_prefix(after, name, pos + c + 1, name + pos, c, depth + 1))
            return true;
    }
    return false;
}

bool pass_name_matches(const char *pattern, const char *name)
{
    size_t k = strlen(pattern);
    if (name && name[0] == '_' && k > 0 && pattern[0] != '_' && pattern[k - 1] != '.' &&
        scope_prefix(pattern, name, 1, NULL, 0, 0))
        return true; /* an exported node's scope: fc1 names _fc1_MatMul */
    if (!name || strncmp(name, pattern, k) != 0)
        return false;
    if (name[k] == 0)
        return true;
    return (k > 0 && (pattern[k - 1] == '.' || pattern[k - 1] == '/')) || name[k] == '.' ||
           name[k] == '/';
}
