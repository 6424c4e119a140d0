/* Text from a model file never becomes code (issue 13): the escaping helpers of
 * ir/text_escape.h for generated C, DOT and the terminal; diagnostics escaped and bounded;
 * the C emitter's own check of what it writes; and a graph whose every name is hostile,
 * emitted, compiled and run. */
#include "codegen/c/cg_internal.h"
#include "ir/diag.h"
#include "ir/text_escape.h"

#include "support_cg.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The hostile text: closes a comment, opens another, starts lines of its own, holds
 * quotes, backslashes, a trigraph, ANSI escapes, a C1 control, a direction override and a
 * byte that is not UTF-8. "HOSTILE" marks what must never be outside a comment. */
static const char hostile[] = "x */ int HOSTILE = 1; /* \"q\" \\ \\\n#define HOSTILE2 ?\?/\n"
                              "\x1b[31mred\x1b[0m \xc2\x9b \xe2\x80\xae \xff /";

static const char *c_text(const char *s, size_t max)
{
    static char buf[4096];
    return ir_esc_c(buf, sizeof buf, s, max);
}

static const char *term_text(const char *s)
{
    static char buf[4096];
    return ir_esc_term(buf, sizeof buf, s);
}

static char *dot_text(const char *s, size_t max)
{
    static char buf[4096];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    ir_esc_dot_put(f, s, max);
    fclose(f);
    return buf;
}

START_TEST(test_c_escape)
{
    ck_assert_str_eq(c_text("a*/b", 0), "a*\\057b");
    ck_assert_str_eq(c_text("a/*b", 0), "a/\\052b");
    ck_assert_str_eq(c_text("?\?/", 0), "?\\077/");
    ck_assert_str_eq(c_text("a\nb\\c\"d", 0), "a\\012b\\134c\\042d");
    ck_assert_str_eq(c_text("\x1b[1m\t\xff", 0), "\\033[1m\\011\\377");
    ck_assert_str_eq(c_text("int main return", 0), "int main return");
    const char *h = c_text(hostile, 0);
    ck_assert(ir_text_is_plain_ascii(h, strlen(h)));
    ck_assert(!strstr(h, "*/") && !strstr(h, "/*") && !strstr(h, "??") && !strchr(h, '\n') &&
              !strchr(h, '"'));
    for (const char *p = strchr(h, '\\'); p; p = strchr(p + 1, '\\')) /* only \ooo escapes */
        ck_assert_msg(p[1] >= '0' && p[1] <= '3', "escape at '%s'", p);
    /* a 10 KB name: the first IR_ESC_NAME_MAX bytes, its length and a hash */
    char *big = malloc(10241);
    memset(big, 'L', 10240);
    big[10240] = 0;
    const char *cut = c_text(big, IR_ESC_NAME_MAX);
    ck_assert_uint_lt(strlen(cut), IR_ESC_NAME_MAX + 40);
    ck_assert_ptr_nonnull(strstr(cut, "...[10240 bytes, hash "));
    big[10239] = 'M'; /* two long names differ in their hash */
    char first[256];
    snprintf(first, sizeof first, "%s", cut);
    ck_assert_str_ne(first, c_text(big, IR_ESC_NAME_MAX));
    free(big);
    /* a short buffer is cut at a whole escape */
    char small[7];
    ck_assert_str_eq(ir_esc_c(small, sizeof small, "ab\ncd", 0), "ab\\012");
    ck_assert_str_eq(ir_esc_c(small, 6, "ab\ncd", 0), "ab");
}
END_TEST

START_TEST(test_term_escape)
{
    ck_assert_str_eq(term_text("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
    ck_assert_str_eq(term_text("a\nb\rc\td\x7f"), "a\\x0ab\\x0dc\td\\x7f");
    ck_assert_str_eq(term_text("caf\xc3\xa9 \xe6\x97\xa5"), "caf\xc3\xa9 \xe6\x97\xa5"); /* UTF-8 */
    ck_assert_str_eq(term_text("\xff\xc3(\xc0\x80"), "\\xff\\xc3(\\xc0\\x80"); /* not UTF-8 */
    ck_assert_str_eq(term_text("\xc2\x9b"), "\\xc2\\x9b");                     /* C1 CSI */
    ck_assert_str_eq(term_text("\xe2\x80\xae"), "\\xe2\\x80\\xae");            /* RLO */
    ck_assert_str_eq(term_text("\xed\xa0\x80"), "\\xed\\xa0\\x80");            /* surrogate */
    const char *h = term_text(hostile);
    ck_assert(!strchr(h, '\x1b') && !strchr(h, '\n'));
}
END_TEST

START_TEST(test_dot_escape)
{
    ck_assert_str_eq(dot_text("a\"b\\c", 0), "a\\\"b\\\\c");
    ck_assert_str_eq(dot_text("x\ny\x1b", 0), "x\\\\x0ay\\\\x1b");
    const char *h = dot_text(hostile, 0);
    for (const char *p = h; *p; p++) { /* every quote escaped, nothing raw */
        ck_assert(*p != '\n' && *p != '\x1b');
        if (*p == '\\')
            p++;
        else
            ck_assert(*p != '"');
    }
}
END_TEST

/* Diagnostics: the message and the quoted line escaped, at most 50 errors shown. */
START_TEST(test_diag_escaped_and_bounded)
{
    Diag d;
    ir_diag_init(&d);
    static const char src[] = "ok line\nbad \x1b[2J line\n";
    ir_diag_add_source(&d, "f\x1b.slim", src, sizeof src - 1);
    ir_diag_error(&d, (SrcLoc){"f\x1b.slim", 2, 5}, "name '%s'", "\x1b]0;title\x07");
    const char *t = ir_diag_text(&d);
    ck_assert_msg(!strchr(t, '\x1b') && !strchr(t, '\x07'), "%s", t);
    ck_assert_ptr_nonnull(strstr(t, "f\\x1b.slim:2:5: error: name '\\x1b]0;title\\x07'"));
    ck_assert_ptr_nonnull(strstr(t, "  bad \\x1b[2J line\n      ^\n"));
    /* a newline from an argument is escaped; one the format holds (a list) stays */
    ir_diag_error(&d, (SrcLoc){0}, "value '%s'", "a\nb");
    ir_diag_error(&d, (SrcLoc){0}, "list:\n%s", "  one\n  two");
    t = ir_diag_text(&d);
    ck_assert_ptr_nonnull(strstr(t, "value 'a\\x0ab'\n"));
    ck_assert_ptr_nonnull(strstr(t, "list:\n  one\n  two\n"));
    for (int i = 0; i < 1000; i++)
        ir_diag_error(&d, (SrcLoc){"f\x1b.slim", 1, 1}, "error %d", i);
    ck_assert_int_eq(d.n_errors, 1003);
    t = ir_diag_text(&d);
    int lines = 0;
    for (const char *p = t; *p; p++)
        lines += *p == '\n';
    ck_assert_int_le(lines, 3 + 3 * 50);
    ck_assert_ptr_nonnull(strstr(t, "too many errors"));
    /* a long line is quoted as a window around the column */
    ir_diag_clear(&d);
    char *long_src = malloc(100001);
    memset(long_src, 'a', 100000);
    long_src[100000] = 0;
    ir_diag_add_source(&d, "g.slim", long_src, 100000);
    ir_diag_error(&d, (SrcLoc){"g.slim", 1, 50000}, "here");
    ck_assert_uint_lt(strlen(ir_diag_text(&d)), 600);
    free(long_src);
    ir_diag_fini(&d);
}
END_TEST

/* The emitter's own check: an argument that opens or closes a comment, or a byte that is
 * not printable ASCII, is an internal error and is not written. */
START_TEST(test_cg_refuses_raw_text)
{
    Graph *g = ir_graph_new("t");
    Diag d;
    ir_diag_init(&d);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    CgCtx c = {.g = g, .out = f, .d = &d, .arena = ir_arena_new(), .ok = true};
    cg_printf(&c, "/* %s */\n", cg_text(&c, "x */ int HOSTILE; /*"));
    ck_assert(c.ok);
    cg_printf(&c, "/* %s */\n", "x */ int HOSTILE; /*");
    ck_assert(!c.ok);
    c.ok = true;
    cg_printf(&c, "/* %s */\n", "\x1b[31m");
    ck_assert(!c.ok);
    fclose(f);
    ck_assert_ptr_null(strstr(out, "*/ int HOSTILE"));
    ck_assert(ir_text_is_plain_ascii(out, len));
    ck_assert_ptr_nonnull(strstr(ir_diag_text(&d), "internal error"));
    free(out);
    ir_arena_free(c.arena);
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

/* The generated text with its comments and literals blanked: what the compiler sees. */
static char *code_only(const char *s)
{
    char *r = strdup(s), *o = r;
    while (*s) {
        if (s[0] == '/' && s[1] == '*') {
            const char *e = strstr(s + 2, "*/");
            s = e ? e + 2 : s + strlen(s);
            *o++ = ' ';
        } else if (s[0] == '/' && s[1] == '/') {
            while (*s && *s != '\n')
                s++;
        } else if (*s == '"' || *s == '\'') {
            char q = *s++;
            while (*s && *s != q)
                s += s[0] == '\\' && s[1] ? 2 : 1;
            s += *s ? 1 : 0;
            *o++ = '0';
        } else {
            *o++ = *s++;
        }
    }
    *o = 0;
    return r;
}

/* A graph whose every name (graph, symbol, input, constant, node, value) is hostile: the C
 * is plain ASCII, the code in the names is only in comments, and the code compiles and computes
 * relu(x + w). */
START_TEST(test_hostile_graph_emits_and_runs)
{
    Graph *g = ir_graph_new(hostile);
    int n = ir_graph_symbol(g, hostile);
    Type t = {IR_F32, {2, {{1, 1u << n}, ir_dim(4)}}, NULL};
    ValueId x = ir_input_new(g, hostile, t, (SrcLoc){0});
    float w_data[4] = {1, -2, 3, -4};
    Type wt = {IR_F32, {1, {ir_dim(4)}}, NULL};
    ValueId w = ir_const_new(g, "w */ int HOSTILE3; /*", wt, w_data, sizeof w_data, (SrcLoc){0});
    ValueId in[] = {x, w};
    NodeId add = ir_node_new(g, IR_OP_ADD, hostile, (SrcLoc){0}, in, 2, 1);
    g->values[g->nodes[add].outputs[0]].name = (char *)"int";
    ValueId a = g->nodes[add].outputs[0];
    NodeId relu = ir_node_new(g, IR_OP_RELU, "return", (SrcLoc){0}, &a, 1, 1);
    ir_output_add(g, g->nodes[relu].outputs[0]);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);

    char msg[4096];
    size_t len;
    Graph *copy = ir_graph_clone(g);
    char *src = sup_emit_as(copy, false, &len, msg, sizeof msg);
    ir_graph_free(copy);
    ck_assert_msg(src, "%s", msg);
    const char *gen = strstr(src, "Generated by slimc"); /* after the runtime header */
    ck_assert_ptr_nonnull(gen);
    ck_assert(ir_text_is_plain_ascii(gen, strlen(gen)));
    char *code = code_only(gen);
    /* (identifiers made from the names, like node_x____int_HOSTILE_..., are slimc's own) */
    ck_assert_msg(!strstr(code, " HOSTILE") && !strstr(code, "#define HOSTILE") &&
                      !strstr(code, "HOSTILE3;"),
                  "a name became code");
    free(code);
    free(src);

    unsigned seed = 7;
    int64_t dims[] = {3, 4};
    RtTensor xin = sup_input_rand(2, dims, &seed);
    int threads[] = {1};
    ck_assert_msg(sup_check(g, &xin, threads, 1, 0, msg, sizeof msg), "%s", msg);
    free(xin.data);
    ir_graph_free(g);
}
END_TEST

static Suite *text_escape_suite(void)
{
    Suite *s = suite_create("text_escape");
    TCase *tc = tcase_create("text_escape");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_c_escape);
    tcase_add_test(tc, test_term_escape);
    tcase_add_test(tc, test_dot_escape);
    tcase_add_test(tc, test_diag_escaped_and_bounded);
    tcase_add_test(tc, test_cg_refuses_raw_text);
    tcase_add_test(tc, test_hostile_graph_emits_and_runs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(text_escape_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
