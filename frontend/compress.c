/* A model's compress block as a pipeline (passes/pass.h: PassPipeline), built straight from
 * the grammar's AST: one step a line, each step and argument keeping its place in the
 * model file, so that the pass manager's and the passes' messages point into it. Numbers
 * keep their spelling (with their % and sign) in PassArg.text. Pass names are not checked
 * here: the API does that (pass_pipeline_check). */
#include "frontend/builder.h"

#include "passes/pass.h"

#include <stdlib.h>
#include <string.h>

static bool build_call(const Builder *b, Arena *a, const AstExpr *c, PassArgs *out);

/* One argument's value; false when it did not parse (already reported). */
static bool build_value(const Builder *b, Arena *a, const AstExpr *v, PassArg *out)
{
    switch (v->kind) {
    case AST_INT:
    case AST_FLOAT: {
        /* the value as pass_pipeline_parse computes it from the same spelling */
        out->kind = PASS_ARG_NUMBER;
        out->text =
            ir_arena_printf(a, "%s%s%s", v->negative ? "-" : "", v->text, v->percent ? "%" : "");
        out->number = strtod(v->text, NULL) * (v->negative ? -1 : 1) / (v->percent ? 100.0 : 1);
        return true;
    }
    case AST_STRING:
        out->kind = PASS_ARG_STRING;
        out->text = ir_arena_strdup(a, v->text);
        return true;
    case AST_NAME:
        out->kind = PASS_ARG_NAME;
        out->text = ir_arena_strdup(a, v->text);
        return true;
    case AST_CALL: {
        PassArgs *call = ir_arena_alloc(a, sizeof *call);
        if (!build_call(b, a, v, call))
            return false;
        out->kind = PASS_ARG_CALL;
        out->call = call;
        out->text = call->name;
        return true;
    }
    default: return false; /* AST_ERROR: nested too deep (or did not parse), reported */
    }
}

/* A call (a step, or a call in an argument): AST_NAME or AST_CALL. */
static bool build_call(const Builder *b, Arena *a, const AstExpr *c, PassArgs *out)
{
    if (c->kind != AST_NAME && c->kind != AST_CALL)
        return false; /* AST_ERROR: reported */
    out->name = ir_arena_strdup(a, c->text);
    out->loc = fe_gloc(b, c->loc);
    out->n = c->kind == AST_CALL ? ast_len(c->args) : 0;
    out->args = out->n ? ir_arena_alloc(a, sizeof(PassArg) * (size_t)out->n) : NULL;
    for (int i = 0; i < out->n; i++) {
        const AstArg *ar = ast_at(c->args, i);
        PassArg *pa = &out->args[i];
        memset(pa, 0, sizeof *pa);
        pa->key = ar->key ? ir_arena_strdup(a, ar->key) : NULL;
        pa->loc = fe_gloc(b, ar->loc);
        if (!build_value(b, a, ar->value, pa))
            return false;
    }
    return true;
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

PassPipeline *fe_pipeline_build(const Builder *b, Arena *a, const AstSection *c)
{
    int n = 0;
    for (int i = 0; i < ast_len(c->stmts); i++)
        n += ((const AstStmt *)ast_at(c->stmts, i))->kind == AST_STMT_PASS;
    if (!n)
        return NULL;
    PassPipeline *p = ir_arena_alloc(a, sizeof *p);
    p->steps = ir_arena_alloc(a, sizeof(PassArgs) * (size_t)n);
    p->n = 0;
    for (int i = 0; i < ast_len(c->stmts); i++) {
        const AstStmt *st = ast_at(c->stmts, i);
        if (st->kind != AST_STMT_PASS)
            continue;
        PassArgs *step = &p->steps[p->n];
        memset(step, 0, sizeof *step);
        if (build_call(b, a, st->value, step))
            p->n++;
    }
    return p;
}
