/* libFuzzer harness for the C emitter: a model from the input (a model file, as
 * fuzz_model.h reads it), the default pipeline, then cg_emit (C backend) into memory; the C is not
 * compiled. Whatever names the model holds, the text after the runtime header must be
 *   - printable ASCII and newlines only (no control bytes, escapes, NUL or UTF-8);
 *   - comments that close at the end of the line they open on ("... * /" then a newline),
 *     or go on over lines that begin with " * " (the emitter's header comment), and no
 *     "* /" outside a comment: a name holding "* /" would end a comment early;
 *   - string and character literals closed on their line;
 *   - free of every name of the graph that holds a newline, "* /" or a control byte,
 *     verbatim (the escaping helper must have changed it).
 * (Written "* /" here to keep this comment closed.) These are the checks that a name turned
 * into code would fail. */
#define _GNU_SOURCE /* memmem */
#include "codegen/c/cg.h"
#include "fuzz_model.h"
#include "passes/pass.h"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const char slimc_rt_header[];
extern const size_t slimc_rt_header_len;

/* Says what is wrong and quotes the emitted line, then stops the run. */
__attribute__((noreturn)) static void fail(const char *why, const char *t, size_t n, size_t at)
{
    size_t a = at, b = at;
    while (a > 0 && t[a - 1] != '\n')
        a--;
    while (b < n && t[b] != '\n')
        b++;
    fprintf(stderr, "fuzz_codegen: %s, in the emitted line:\n%.*s\n", why, (int)(b - a), t + a);
    __builtin_trap();
}

/* Leading blanks, then "* " or "*" + "/": a continuation line of a multi-line comment. */
static bool continues_comment(const char *t, size_t i, size_t n)
{
    while (i < n && t[i] == ' ')
        i++;
    return i + 1 < n && t[i] == '*' && (t[i + 1] == ' ' || t[i + 1] == '/');
}

static void check_c(const char *t, size_t n)
{
    enum { CODE, COMMENT, LINE_COMMENT } st = CODE;
    for (size_t i = 0; i < n; i++) {
        const char c = t[i];
        if (c != '\n' && (c < 0x20 || c > 0x7e))
            fail("a byte that is not printable ASCII", t, n, i);
        const char next = i + 1 < n ? t[i + 1] : 0;
        switch (st) {
        case CODE:
            if (c == '/' && next == '*') {
                st = COMMENT;
                i++;
            } else if (c == '/' && next == '/') {
                st = LINE_COMMENT;
                i++;
            } else if (c == '*' && next == '/') {
                fail("a comment's end outside a comment", t, n, i);
            } else if (c == '"' || c == '\'') {
                size_t k = i + 1;
                while (k < n && t[k] != c && t[k] != '\n')
                    k += t[k] == '\\' ? 2 : 1;
                if (k >= n || t[k] != c)
                    fail("a literal not closed on its line", t, n, i);
                i = k;
            }
            break;
        case COMMENT:
            if (c == '*' && next == '/') {
                if (i + 2 < n && t[i + 2] != '\n')
                    fail("a comment closed before the end of its line", t, n, i);
                st = CODE;
                i++;
            } else if (c == '\n' && !continues_comment(t, i + 1, n)) {
                fail("a comment running on over a line that is not ' * '", t, n, i + 1);
            }
            break;
        case LINE_COMMENT:
            if (c == '\n')
                st = CODE;
            break;
        }
    }
    if (st == COMMENT)
        fail("a comment not closed at the end", t, n, n);
}

/* A name that the emitter must not copy verbatim: it holds a newline, a comment's end or a
 * control byte (three bytes at least, so that it cannot match by chance). */
static void check_name(const char *t, size_t n, const char *name)
{
    if (!name)
        return;
    size_t len = strlen(name);
    bool hostile = false;
    for (size_t i = 0; i < len; i++)
        hostile |= (unsigned char)name[i] < 0x20 || name[i] == 0x7f ||
                   (name[i] == '*' && name[i + 1] == '/');
    const char *at = hostile && len >= 3 ? memmem(t, n, name, len) : NULL;
    if (at)
        fail("a name holding a newline, a comment's end or a control byte, verbatim", t, n,
             (size_t)(at - t));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Diag d;
    ir_diag_init(&d);
    Graph *g = fuzz_graph(data, size, &d);
    if (g) {
        PassRunOptions ro = {.verify = true};
        bool ok = pass_pipeline_run(g, pass_default_pipeline(), (SrcLoc){0}, &ro, &d);
        if (ok != (d.n_errors == 0))
            __builtin_trap();
        char *buf = NULL;
        size_t len = 0;
        FILE *f = ok ? open_memstream(&buf, &len) : NULL;
        if (f) {
            CgOptions co = {.prefix = NULL, .source_name = g->source, .shared_kernels = true};
            ok = cg_emit(&cg_backend_c, g, &co, f, &d);
            fclose(f);
            if (ok != (d.n_errors == 0))
                __builtin_trap();
            const char *h = ok ? memmem(buf, len, slimc_rt_header, slimc_rt_header_len) : NULL;
            if (ok && !h)
                __builtin_trap(); /* the runtime header is pasted whole */
            if (ok) {
                const char *t = h + slimc_rt_header_len;
                const size_t n = len - (size_t)(t - buf);
                check_c(t, n);
                check_name(t, n, g->name);
                check_name(t, n, g->source);
                for (int i = 0; i < g->n_values; i++)
                    check_name(t, n, g->values[i].name);
                for (int i = 0; i < g->n_nodes; i++)
                    check_name(t, n, g->nodes[i].name);
            }
            free(buf);
        }
        ir_graph_free(g);
    }
    ir_diag_fini(&d);
    return 0;
}
