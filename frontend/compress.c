/* A model's compress block as a pipeline string in the syntax of passes/pass.h: the calls
 * (one a line in the file) joined by ",", each token where the file has it, so that the
 * pass manager's messages point into the model file. Numbers keep their spelling (with
 * their % and sign), strings are re-quoted. Pass names are not checked here: the API does
 * that. */
#include "frontend/builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes tokens where the file has them: before each token, newlines and spaces up to its
 * line and column, so that a place in the pipeline string is the same place in the file
 * (pass_pipeline_parse counts the string's lines from compress_loc, see passes/pass.c). */
typedef struct Emitter {
    FILE *f;
    int line, col;
} Emitter;

static void move_to(Emitter *e, SrcLoc loc)
{
    if (loc.line > e->line) {
        for (; e->line < loc.line; e->line++)
            fputc('\n', e->f);
        e->col = 1;
    }
    for (; e->col < loc.col; e->col++)
        fputc(' ', e->f);
}

static void put(Emitter *e, const char *s)
{
    fputs(s, e->f);
    e->col += (int)strlen(s);
}

static void emit_value(Emitter *e, const AstExpr *v);

static void emit_call(Emitter *e, const AstExpr *c)
{
    if (c->kind == AST_ERROR) /* nested too deep (or did not parse): reported, no text */
        return;
    move_to(e, c->loc);
    put(e, c->text);
    if (c->kind != AST_CALL)
        return;
    put(e, "(");
    for (int i = 0; i < ast_len(c->args); i++) {
        const AstArg *a = ast_at(c->args, i);
        if (i)
            put(e, ",");
        if (a->key) {
            move_to(e, a->loc);
            put(e, a->key);
            put(e, "=");
        }
        emit_value(e, a->value);
    }
    put(e, ")");
}

static void emit_value(Emitter *e, const AstExpr *v)
{
    switch (v->kind) {
    case AST_INT:
    case AST_FLOAT:
        move_to(e, v->loc);
        if (v->negative)
            put(e, "-");
        put(e, v->text);
        if (v->percent)
            put(e, "%");
        break;
    case AST_STRING:
        move_to(e, v->loc);
        put(e, "\"");
        for (const char *p = v->text; *p; p++) {
            char c[3] = {*p, 0, 0};
            if (*p == '"' ||
                *p == '\\') { /* newlines are refused before (fe_pipeline_bad_string) */
                c[0] = '\\';
                c[1] = *p;
            }
            put(e, c);
        }
        put(e, "\"");
        break;
    default: emit_call(e, v); break;
    }
}

/* The first string argument in e that holds a newline, or NULL. */
static const AstExpr *bad_string(const AstExpr *e)
{
    if (e->kind == AST_STRING)
        return strchr(e->text, '\n') ? e : NULL;
    for (int i = 0; e->kind == AST_CALL && i < ast_len(e->args); i++) {
        const AstExpr *bad = bad_string(((const AstArg *)ast_at(e->args, i))->value);
        if (bad)
            return bad;
    }
    return NULL;
}

const AstExpr *fe_pipeline_bad_string(const AstSection *c)
{
    for (int i = 0; i < ast_len(c->stmts); i++) {
        const AstStmt *st = ast_at(c->stmts, i);
        const AstExpr *bad = st->kind == AST_STMT_PASS ? bad_string(st->value) : NULL;
        if (bad)
            return bad;
    }
    return NULL;
}

char *fe_pipeline_string(Arena *a, const AstSection *c, SrcLoc *first)
{
    char *buf = NULL;
    size_t len = 0;
    Emitter e = {open_memstream(&buf, &len), 0, 0};
    SLIMC_ASSERT(e.f);
    int n = 0;
    for (int i = 0; i < ast_len(c->stmts); i++) {
        const AstStmt *st = ast_at(c->stmts, i);
        if (st->kind != AST_STMT_PASS)
            continue;
        if (n++) {
            put(&e, ",");
        } else {
            *first = st->loc;
            e.line = st->loc.line;
            e.col = st->loc.col;
        }
        emit_call(&e, st->value);
    }
    fclose(e.f);
    char *out = n ? arena_strdup(a, buf) : NULL;
    free(buf);
    return out;
}
