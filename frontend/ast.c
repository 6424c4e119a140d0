/* Construction of the syntax tree (see ast.h). Nodes are arena-allocated and never
 * freed one by one. Expression constructors enforce FE_MAX_EXPR_DEPTH. */
#include "frontend/ast.h"

#include <string.h>

AstList *fe_ast_list_new(FeParse *p)
{
    return ir_arena_alloc(p->arena, sizeof(AstList));
}

AstList *fe_ast_list_push(FeParse *p, AstList *l, void *item)
{
    if (!l)
        l = fe_ast_list_new(p);
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 4;
        l->items = ir_arena_grow(p->arena, l->items, sizeof(void *) * (size_t)l->n,
                                 sizeof(void *) * (size_t)cap);
        l->cap = cap;
    }
    l->items[l->n++] = item;
    return l;
}

static AstExpr *new_expr(FeParse *p, AstKind kind, SrcLoc loc)
{
    AstExpr *e = ir_arena_alloc(p->arena, sizeof *e);
    e->kind = kind;
    e->loc = loc;
    e->depth = 1;
    return e;
}

/* Sets e's depth from its children. A tree that grows past the limit is reported once
 * (at the node where it crosses it) and becomes AST_ERROR, which its parents inherit
 * silently. */
static AstExpr *check_depth(FeParse *p, AstExpr *e, AstExpr *const *kids, int n)
{
    int depth = 0;
    bool broken = false;
    for (int i = 0; i < n; i++) {
        if (!kids[i])
            continue;
        if (kids[i]->depth > depth)
            depth = kids[i]->depth;
        if (kids[i]->kind == AST_ERROR && kids[i]->depth > FE_MAX_EXPR_DEPTH)
            broken = true;
    }
    e->depth = depth + 1;
    if (e->depth > FE_MAX_EXPR_DEPTH) {
        if (!broken) {
            ir_diag_error(p->d, e->loc, "expression is nested too deeply (more than %d levels)",
                          FE_MAX_EXPR_DEPTH);
            p->n_syntax_errors++;
        }
        AstExpr *err = new_expr(p, AST_ERROR, e->loc);
        err->depth = FE_MAX_EXPR_DEPTH + 1;
        return err;
    }
    return e;
}

AstExpr *fe_ast_error(FeParse *p, SrcLoc loc)
{
    return new_expr(p, AST_ERROR, loc);
}

AstExpr *fe_ast_int(FeParse *p, SrcLoc loc, int64_t v, const char *text, bool bad)
{
    AstExpr *e = new_expr(p, AST_INT, loc);
    e->ival = v;
    e->text = text;
    e->bad = bad;
    return e;
}

AstExpr *fe_ast_float(FeParse *p, SrcLoc loc, double v, const char *text)
{
    AstExpr *e = new_expr(p, AST_FLOAT, loc);
    e->fval = v;
    e->text = text;
    return e;
}

AstExpr *fe_ast_string(FeParse *p, SrcLoc loc, const char *text)
{
    AstExpr *e = new_expr(p, AST_STRING, loc);
    e->text = text;
    return e;
}

AstExpr *fe_ast_bool(FeParse *p, SrcLoc loc, bool v)
{
    AstExpr *e = new_expr(p, AST_BOOL, loc);
    e->ival = v;
    e->text = v ? "true" : "false";
    return e;
}

AstExpr *fe_ast_name(FeParse *p, SrcLoc loc, const char *name)
{
    AstExpr *e = new_expr(p, AST_NAME, loc);
    e->text = name;
    return e;
}

/* Depth of a call or list: one more than its deepest argument. */
static AstExpr *check_args_depth(FeParse *p, AstExpr *e)
{
    AstExpr *deepest = NULL;
    for (int i = 0; i < ast_len(e->args); i++) {
        AstArg *a = ast_at(e->args, i);
        if (!deepest || a->value->depth > deepest->depth ||
            (a->value->kind == AST_ERROR && a->value->depth > FE_MAX_EXPR_DEPTH))
            deepest = a->value;
    }
    return check_depth(p, e, &deepest, 1);
}

AstExpr *fe_ast_call(FeParse *p, SrcLoc loc, const char *callee, AstList *args)
{
    AstExpr *e = new_expr(p, AST_CALL, loc);
    e->text = callee;
    e->args = args ? args : fe_ast_list_new(p);
    return check_args_depth(p, e);
}

AstExpr *fe_ast_list(FeParse *p, SrcLoc loc, AstList *items)
{
    AstExpr *e = new_expr(p, AST_LIST, loc);
    e->args = items ? items : fe_ast_list_new(p);
    return check_args_depth(p, e);
}

AstExpr *fe_ast_unary(FeParse *p, SrcLoc loc, AstOp op, AstExpr *a)
{
    AstExpr *e = new_expr(p, AST_UNARY, loc);
    e->op = op;
    e->a = a;
    return check_depth(p, e, &e->a, 1);
}

AstExpr *fe_ast_binary(FeParse *p, SrcLoc loc, AstOp op, AstExpr *a, AstExpr *b)
{
    AstExpr *e = new_expr(p, AST_BINARY, loc);
    e->op = op;
    e->a = a;
    e->b = b;
    AstExpr *kids[2] = {a, b};
    return check_depth(p, e, kids, 2);
}

AstExpr *fe_ast_cond(FeParse *p, SrcLoc loc, AstExpr *then, AstExpr *cond, AstExpr *otherwise)
{
    AstExpr *e = new_expr(p, AST_COND, loc);
    e->a = then;
    e->b = cond;
    e->c = otherwise;
    AstExpr *kids[3] = {then, cond, otherwise};
    return check_depth(p, e, kids, 3);
}

AstArg *fe_ast_arg(FeParse *p, SrcLoc loc, const char *key, AstExpr *value)
{
    AstArg *a = ir_arena_alloc(p->arena, sizeof *a);
    a->key = key;
    a->loc = loc;
    a->value = value;
    return a;
}

AstStmt *fe_ast_stmt(FeParse *p, AstStmtKind kind, SrcLoc loc)
{
    AstStmt *s = ir_arena_alloc(p->arena, sizeof *s);
    s->kind = kind;
    s->loc = loc;
    return s;
}

AstParam *fe_ast_param(FeParse *p, SrcLoc loc, const char *name, AstType *type, AstExpr *dflt)
{
    AstParam *a = ir_arena_alloc(p->arena, sizeof *a);
    a->name = name;
    a->loc = loc;
    a->type = type;
    a->dflt = dflt;
    return a;
}

AstType *fe_ast_type(FeParse *p, SrcLoc loc, const char *dtype, AstList *dims)
{
    AstType *t = ir_arena_alloc(p->arena, sizeof *t);
    t->dtype = dtype;
    t->loc = loc;
    t->dims = dims;
    return t;
}

AstSection *fe_ast_section(FeParse *p, AstSectionKind kind, SrcLoc loc)
{
    AstSection *s = ir_arena_alloc(p->arena, sizeof *s);
    s->kind = kind;
    s->loc = loc;
    s->name_loc = loc;
    s->params = fe_ast_list_new(p);
    s->stmts = fe_ast_list_new(p);
    return s;
}

const char *fe_ast_op_str(AstOp op)
{
    switch (op) {
    case AST_OP_ADD: return "+";
    case AST_OP_SUB: return "-";
    case AST_OP_MUL: return "*";
    case AST_OP_DIV: return "/";
    case AST_OP_FLOORDIV: return "//";
    case AST_OP_MOD: return "%";
    case AST_OP_EQ: return "==";
    case AST_OP_NE: return "!=";
    case AST_OP_LT: return "<";
    case AST_OP_LE: return "<=";
    case AST_OP_GT: return ">";
    case AST_OP_GE: return ">=";
    case AST_OP_AND: return "and";
    case AST_OP_OR: return "or";
    case AST_OP_NOT: return "not";
    case AST_OP_NEG: return "-";
    case AST_OP_POS: return "+";
    }
    return "?";
}
