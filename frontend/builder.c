/* Elaboration of a parsed .slim file: every model is built into a Graph (the first is
 * kept, the others are built only to report their errors), blocks are instantiated where
 * models and other blocks declare them, and statements are run in order. Expressions are
 * in build_expr.c, modules and weights in build_module.c. */
#include "frontend/builder.h"
#include "frontend/dim_fix.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors ---- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* True if key was seen before; remembers it otherwise. */
static bool seen_before(Builder *b, const char *key)
{
    if (b->n_seen * 2 >= b->cap_seen) {
        int cap = b->cap_seen ? 2 * b->cap_seen : 64;
        char **slots = ir_arena_alloc(b->arena, sizeof(char *) * (size_t)cap);
        for (int i = 0; i < b->cap_seen; i++) {
            if (!b->seen[i])
                continue;
            size_t j = hash_str(b->seen[i]) & (size_t)(cap - 1);
            while (slots[j])
                j = (j + 1) & (size_t)(cap - 1);
            slots[j] = b->seen[i];
        }
        b->seen = slots;
        b->cap_seen = cap;
    }
    size_t j = hash_str(key) & (size_t)(b->cap_seen - 1);
    for (; b->seen[j]; j = (j + 1) & (size_t)(b->cap_seen - 1))
        if (strcmp(b->seen[j], key) == 0)
            return true;
    b->seen[j] = ir_arena_strdup(b->arena, key);
    b->n_seen++;
    return false;
}

void fe_instance_notes(Builder *b)
{
    for (int i = b->depth - 1; i >= 0; i--)
        ir_diag_note(b->d, b->inst[i]->loc, "in '%s', an instance of block '%s'", b->inst[i]->path,
                     b->inst[i]->type_name);
}

void fe_error(Builder *b, SrcLoc loc, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (b->depth > 0) {
        char key[1100];
        snprintf(key, sizeof key, "%d:%d:%s", loc.line, loc.col, msg);
        if (seen_before(b, key)) {
            return; /* reported for another instance of the block */
        }
    }
    ir_diag_error(b->d, loc, "%s", msg);
    fe_instance_notes(b);
}

SrcLoc fe_gloc(const Builder *b, SrcLoc loc)
{
    if (b->g && loc.file)
        loc.file = b->g->source;
    return loc;
}

/* ---- suggestions ---- */

/* Edit distance of a and b, giving up (returning limit + 1) beyond limit. */
static int edit_distance(const char *a, const char *b, int limit)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64 || (la > lb ? la - lb : lb - la) > (size_t)limit)
        return limit + 1;
    int row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            int best = diag + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *fe_suggest(const char *name, const char *const *names, int n)
{
    const char *best = NULL;
    size_t len = strlen(name);
    if (len <= 2)
        return NULL; /* every short name is close to another */
    int best_d = len <= 4 ? 1 : 2;
    for (int i = 0; i < n; i++) {
        if (!names[i] || strcmp(names[i], name) == 0)
            continue;
        int dist = edit_distance(name, names[i], best_d);
        if (dist <= best_d && (!best || dist < best_d)) {
            best = names[i];
            best_d = dist;
        }
    }
    return best;
}

void fe_unknown(Builder *b, Scope *s, SrcLoc loc, const char *what, const char *name)
{
    /* Each unknown name is reported once a model, at its first use. */
    char key[300];
    snprintf(key, sizeof key, "unknown %s %.250s", what, name);
    if (seen_before(b, key))
        return;
    /* Candidates: names in scope, built-in functions and modules, blocks, symbols. */
    int cap = fe_builtin_function_names(NULL) + fe_builtin_module_names(NULL) +
              ast_len(b->ast->sections) + IR_MAX_SYMS;
    for (Scope *t = s; t; t = t->parent)
        cap += t->n;
    const char **names = malloc(sizeof(char *) * (size_t)(cap + 1));
    int n = 0;
    if (names) {
        for (Scope *t = s; t; t = t->parent)
            for (int i = 0; i < t->n; i++)
                names[n++] = t->items[i].name;
        n += fe_builtin_function_names(names + n);
        n += fe_builtin_module_names(names + n);
        for (int i = 0; i < ast_len(b->ast->sections); i++) {
            const AstSection *sec = ast_at(b->ast->sections, i);
            if (sec->kind == AST_BLOCK)
                names[n++] = sec->name;
        }
        for (int i = 0; b->g && i < b->g->n_syms; i++)
            names[n++] = b->g->sym_names[i];
    }
    const char *hint = names ? fe_suggest(name, names, n) : NULL;
    free(names);
    if (hint)
        fe_error(b, loc, "unknown %s '%s'; did you mean '%s'?", what, name, hint);
    else
        fe_error(b, loc, "unknown %s '%s'", what, name);
}

/* ---- scopes ---- */

Scope *fe_scope_new(Builder *b, Scope *parent)
{
    Scope *s = ir_arena_alloc(b->arena, sizeof *s);
    s->parent = parent;
    return s;
}

static int *slot_of(Scope *s, const char *name)
{
    size_t mask = (size_t)s->n_slots - 1;
    for (size_t j = hash_str(name) & mask;; j = (j + 1) & mask)
        if (!s->slots[j] || strcmp(s->items[s->slots[j] - 1].name, name) == 0)
            return &s->slots[j];
}

Binding *fe_scope_find(Scope *s, const char *name, bool this_scope_only)
{
    for (; s; s = this_scope_only ? NULL : s->parent) {
        if (!s->n_slots)
            continue;
        int *slot = slot_of(s, name);
        if (*slot)
            return &s->items[*slot - 1];
    }
    return NULL;
}

void fe_scope_set(Builder *b, Scope *s, const char *name, Val v, SrcLoc loc)
{
    Binding *old = fe_scope_find(s, name, true);
    if (old) {
        old->val = v;
        old->loc = loc;
        return;
    }
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 8;
        s->items = ir_arena_grow(b->arena, s->items, sizeof(Binding) * (size_t)s->n,
                                 sizeof(Binding) * (size_t)cap);
        s->cap = cap;
    }
    if ((s->n + 1) * 2 > s->n_slots) {
        int n_slots = s->n_slots ? 2 * s->n_slots : 16;
        s->slots = ir_arena_alloc(b->arena, sizeof(int) * (size_t)n_slots);
        s->n_slots = n_slots;
        for (int i = 0; i < s->n; i++)
            *slot_of(s, s->items[i].name) = i + 1;
    }
    s->items[s->n] = (Binding){name, v, loc};
    *slot_of(s, name) = ++s->n;
}

const AstSection *fe_find_block(const Builder *b, const char *name)
{
    for (int i = 0; i < ast_len(b->ast->sections); i++) {
        const AstSection *s = ast_at(b->ast->sections, i);
        if (s->kind == AST_BLOCK && s->name && strcmp(s->name, name) == 0)
            return s;
    }
    return NULL;
}

/* ---- statements ---- */

typedef enum StmtCtx {
    CTX_MODEL,   /* a model body: modules and tensors */
    CTX_MODULES, /* a block before forward: parameters' consequences and modules */
    CTX_FORWARD, /* a block's forward: tensors only */
} StmtCtx;

/* What a run of statements returned. */
typedef struct Returned {
    const AstStmt *stmt; /* NULL when there was no return */
    Val *values;
    int n;
} Returned;

/* True when e declares a module: a call of a module or block, possibly conditional. */
static bool declares_module(const Builder *b, const AstExpr *e)
{
    if (e->kind == AST_COND)
        return declares_module(b, e->a) || (e->c && declares_module(b, e->c));
    return e->kind == AST_CALL && (fe_is_builtin_module(e->text) || fe_find_block(b, e->text));
}

static void exec_assign(Builder *b, Scope *s, const AstStmt *st, StmtCtx ctx, const char *prefix)
{
    Binding *old = fe_scope_find(s, st->name, false);
    if (old && (old->val.kind == VAL_MODULE || old->val.kind == VAL_ABSENT)) {
        fe_error(b, st->loc,
                 "'%s' is a module (declared at line %d); a module's name cannot be bound again",
                 st->name, old->loc.line);
        return;
    }
    bool module = declares_module(b, st->value);
    if (module && ctx == CTX_FORWARD) {
        fe_error(b, st->loc, "modules are declared before forward(...), not inside it");
        fe_scope_set(b, s, st->name, fe_err_val(st->loc), st->loc);
        return;
    }
    if (module && old && fe_scope_find(s, st->name, true)) {
        fe_error(b, st->loc,
                 "'%s' is already defined (at line %d); a module needs a name of its own", st->name,
                 old->loc.line);
        return;
    }
    const char *path = prefix[0] ? ir_arena_printf(b->arena, "%s.%s", prefix, st->name) : st->name;
    int n_values = b->g->n_values;
    Val v = fe_eval(b, s, st->value, module ? path : NULL);
    if (v.kind == VAL_NONE) /* a conditional module whose condition is false */
        v = (Val){.kind = VAL_ABSENT, .loc = st->loc, .s = st->name, .i = st->loc.line};
    if (v.kind == VAL_TENSOR && ctx == CTX_MODULES) {
        fe_error(b, st->loc, "tensor computations belong in the block's forward(...)");
        v = fe_err_val(st->loc);
    }
    if (v.kind == VAL_TENSOR && v.v >= n_values && b->g->values[v.v].kind == IR_VALUE_TEMP)
        b->g->values[v.v].name = ir_arena_strdup(b->g->arena, st->name);
    fe_scope_set(b, s, st->name, v, st->loc);
}

/* a, b, ... = value: value must be a list of as many values (split, chunk, a block with
 * several returns); each name is bound as by exec_assign. */
static void exec_unpack(Builder *b, Scope *s, const AstStmt *st, StmtCtx ctx)
{
    const int k = ast_len(st->params);
    Val v = fe_eval(b, s, st->value, NULL);
    bool ok = v.kind == VAL_LIST && v.n == k;
    if (v.kind != VAL_ERROR && !ok) {
        if (v.kind == VAL_LIST)
            fe_error(b, st->loc, "%d names to bind, but the right side gives %d values", k, v.n);
        else
            fe_error(b, st->loc,
                     "%d names to bind, but the right side is one value (split or chunk give "
                     "several)",
                     k);
    }
    if (ok && ctx == CTX_MODULES) {
        fe_error(b, st->loc, "tensor computations belong in the block's forward(...)");
        ok = false;
    }
    for (int i = 0; i < k; i++) {
        const AstParam *pn = ast_at(st->params, i);
        Binding *old = fe_scope_find(s, pn->name, false);
        if (old && (old->val.kind == VAL_MODULE || old->val.kind == VAL_ABSENT)) {
            fe_error(b, pn->loc, "'%s' is a module (declared at line %d); it cannot be bound again",
                     pn->name, old->loc.line);
            continue;
        }
        Val item = ok ? v.items[i] : fe_err_val(pn->loc);
        if (item.kind == VAL_TENSOR && b->g->values[item.v].kind == IR_VALUE_TEMP)
            b->g->values[item.v].name = ir_arena_strdup(b->g->arena, pn->name);
        fe_scope_set(b, s, pn->name, item, pn->loc);
    }
}

/* Runs stmts[from, to) in scope s; a return stops the run (statements after it are
 * reported). */
static void exec_stmts(Builder *b, Scope *s, const AstList *stmts, int from, int to, StmtCtx ctx,
                       const char *prefix, Returned *ret)
{
    for (int i = from; i < to; i++) {
        const AstStmt *st = ast_at(stmts, i);
        if (++b->n_steps > FE_MAX_STEPS) {
            if (!b->too_big)
                fe_error(b, st->loc,
                         "the model is too large to elaborate (more than %d statements run)",
                         FE_MAX_STEPS);
            b->too_big = true;
            return;
        }
        if (ret->stmt) {
            if (st->kind != AST_STMT_BROKEN && st->kind != AST_STMT_WEIGHTS)
                fe_error(b, st->loc, "statement after return");
            if (st->kind != AST_STMT_WEIGHTS)
                return;
            continue;
        }
        switch (st->kind) {
        case AST_STMT_BROKEN:
        case AST_STMT_PASS: break;
        case AST_STMT_WEIGHTS:
            if (ctx != CTX_MODEL)
                fe_error(b, st->loc, "a weights line belongs in a model, not in a block");
            break;
        case AST_STMT_FORWARD: /* a second one in a block was reported by check_file */
            if (ctx == CTX_MODEL)
                fe_error(b, st->loc,
                         "forward(...) belongs in a block; a model's body is its forward");
            break;
        case AST_STMT_ASSIGN: exec_assign(b, s, st, ctx, prefix); break;
        case AST_STMT_UNPACK: exec_unpack(b, s, st, ctx); break;
        case AST_STMT_EXPR:
            fe_error(b, st->loc,
                     "the value of this expression is not used; bind it to a name (h = ...) or "
                     "return it");
            break;
        case AST_STMT_RETURN:
            if (ctx == CTX_MODULES) {
                fe_error(b, st->loc, "return belongs in the block's forward(...)");
                break;
            }
            ret->stmt = st;
            ret->n = ast_len(st->values);
            ret->values = ir_arena_alloc(b->arena, sizeof(Val) * (size_t)(ret->n ? ret->n : 1));
            for (int j = 0; j < ret->n; j++)
                ret->values[j] = fe_eval(b, s, ast_at(st->values, j), NULL);
            break;
        }
    }
}

/* True when one of stmts[from, to) did not parse: what it was is unknown, so errors
 * about something missing (a return, a weights line) would only be guesses. */
static bool has_broken(const AstList *stmts, int from, int to)
{
    for (int i = from; i < to; i++)
        if (((const AstStmt *)ast_at(stmts, i))->kind == AST_STMT_BROKEN)
            return true;
    return false;
}

/* ---- blocks ---- */

Val fe_instantiate_block(Builder *b, Scope *caller, const AstExpr *call, const AstSection *blk,
                         const char *path)
{
    if (blk->broken)
        return fe_err_val(call->loc);
    for (int i = 0; i < b->depth; i++)
        if (b->inst_block[i] == blk) {
            char chain[512];
            size_t len = 0;
            chain[0] = 0;
            for (int j = i; j < b->depth && len < sizeof chain; j++)
                len += (size_t)snprintf(chain + len, sizeof chain - len, "%s -> ",
                                        b->inst_block[j]->name);
            if (len < sizeof chain)
                snprintf(chain + len, sizeof chain - len, "%s", blk->name);
            fe_error(b, call->loc, "block '%s' contains itself (%s)", blk->name, chain);
            return fe_err_val(call->loc);
        }
    if (b->depth == FE_MAX_NESTING) {
        fe_error(b, call->loc, "blocks are nested more than %d deep", FE_MAX_NESTING);
        return fe_err_val(call->loc);
    }
    /* The parameters, bound in the instance's own scope: defaults may use earlier ones. */
    int n = ast_len(blk->params);
    const char **names = ir_arena_alloc(b->arena, sizeof(char *) * (size_t)(n ? n : 1));
    Val *args = ir_arena_alloc(b->arena, sizeof(Val) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++)
        names[i] = ((const AstParam *)ast_at(blk->params, i))->name;
    char what[160];
    snprintf(what, sizeof what, "block '%s'", blk->name);
    /* Missing arguments are found below: a parameter without default may follow one with. */
    bool ok = fe_bind_args(b, caller, call, what, names, n, 0, args);
    Module *m = ir_arena_alloc(b->arena, sizeof *m);
    m->kind = MOD_BLOCK;
    m->type_name = blk->name;
    m->path = path;
    m->loc = call->loc;
    m->block = blk;
    m->scope = fe_scope_new(b, NULL);
    m->forward_at = -1;
    for (int i = 0; i < n; i++) {
        const AstParam *prm = ast_at(blk->params, i);
        Val v = args[i];
        if (v.kind == VAL_NONE) {
            if (!prm->dflt) {
                if (ok)
                    fe_error(b, call->loc, "missing argument '%s' of block '%s'", prm->name,
                             blk->name);
                ok = false;
                v = fe_err_val(call->loc);
            } else {
                b->inst[b->depth] = m; /* errors in defaults point into the block */
                b->inst_block[b->depth++] = blk;
                v = fe_eval(b, m->scope, prm->dflt, NULL);
                b->depth--;
            }
        }
        bool constant =
            v.kind == VAL_INT || v.kind == VAL_BOOL || v.kind == VAL_FLOAT || v.kind == VAL_LIST;
        if (!constant && v.kind != VAL_ERROR) {
            char desc[160];
            fe_error(b, v.loc,
                     "block parameter '%s' must be a compile-time integer, bool or number, not %s",
                     prm->name, fe_describe(&v, desc, sizeof desc));
            v = fe_err_val(v.loc);
        }
        fe_scope_set(b, m->scope, prm->name, v, prm->loc);
    }
    if (!ok) {
        m->broken = true;
        return (Val){.kind = VAL_MODULE, .loc = call->loc, .m = m};
    }
    int n_stmts = ast_len(blk->stmts);
    for (int i = 0; i < n_stmts && m->forward_at < 0; i++)
        if (((const AstStmt *)ast_at(blk->stmts, i))->kind == AST_STMT_FORWARD)
            m->forward_at = i;
    b->inst[b->depth] = m;
    b->inst_block[b->depth++] = blk;
    Returned ret = {0};
    exec_stmts(b, m->scope, blk->stmts, 0, m->forward_at < 0 ? n_stmts : m->forward_at, CTX_MODULES,
               path, &ret);
    if (m->forward_at < 0)
        fe_error(b, blk->loc, "block '%s' has no forward(...) section", blk->name);
    b->depth--;
    if (m->forward_at < 0)
        m->broken = true;
    return (Val){.kind = VAL_MODULE, .loc = call->loc, .m = m};
}

Val fe_call_block(Builder *b, Module *m, const Val *inputs, int n, SrcLoc loc)
{
    const AstSection *blk = m->block;
    const AstStmt *fwd = ast_at(blk->stmts, m->forward_at);
    int n_params = ast_len(fwd->params);
    if (n != n_params) {
        fe_error(b, loc, "'%s' (block %s) takes %d input%s, got %d", m->path, blk->name, n_params,
                 n_params == 1 ? "" : "s", n);
        return fe_err_val(loc);
    }
    if (b->depth == FE_MAX_NESTING) {
        fe_error(b, loc, "blocks are nested more than %d deep", FE_MAX_NESTING);
        return fe_err_val(loc);
    }
    if (b->too_big)
        return fe_err_val(loc);
    Scope *s = fe_scope_new(b, m->scope);
    for (int i = 0; i < n; i++) {
        const AstParam *prm = ast_at(fwd->params, i);
        fe_scope_set(b, s, prm->name, inputs[i], prm->loc);
    }
    bool was_in_forward = b->in_forward;
    b->in_forward = true;
    b->inst[b->depth] = m;
    b->inst_block[b->depth++] = blk;
    Returned ret = {0};
    exec_stmts(b, s, blk->stmts, m->forward_at + 1, ast_len(blk->stmts), CTX_FORWARD, m->path,
               &ret);
    Val out = fe_err_val(loc);
    if (!ret.stmt) {
        /* Unless the return was on a line that did not parse. */
        if (!has_broken(blk->stmts, m->forward_at + 1, ast_len(blk->stmts)))
            fe_error(b, fwd->loc, "forward of block '%s' has no return", blk->name);
    } else if (ret.n != 1)
        fe_error(b, ret.stmt->loc, "forward of block '%s' must return one tensor, not %d",
                 blk->name, ret.n);
    else
        out = ret.values[0];
    b->depth--;
    b->in_forward = was_in_forward;
    if (out.kind != VAL_TENSOR && out.kind != VAL_ERROR) {
        ValueId v;
        out = fe_to_tensor(b, &out, &v) ? (Val){.kind = VAL_TENSOR, .loc = loc, .v = v}
                                        : fe_err_val(loc);
    }
    return out;
}

/* ---- models ---- */

/* One dimension of a declared type: an integer, a symbol name or a product of them. */
static bool eval_dim(Builder *b, const AstExpr *e, bool add_symbols, Dim *out)
{
    int64_t given;
    if (e->kind == AST_NAME && b->fixer && fe_fixer_symbol(b->fixer, e->text, &given)) {
        *out = ir_dim(given); /* --dim, or a --shape of an input declared with it */
        return true;
    }
    if (e->kind == AST_NAME) {
        int sym = -1;
        for (int i = 0; i < b->g->n_syms; i++)
            if (strcmp(b->g->sym_names[i], e->text) == 0)
                sym = i;
        if (sym < 0 && !add_symbols) {
            fe_error(b, e->loc,
                     "unknown dimension '%s' (the symbolic sizes come from the inputs' types)",
                     e->text);
            return false;
        }
        if (sym < 0 && strchr(e->text, '.')) {
            fe_error(b, e->loc, "'%s' cannot name a dimension", e->text);
            return false;
        }
        if (sym < 0)
            sym = ir_graph_symbol(b->g, e->text);
        if (sym < 0) {
            fe_error(b, e->loc, "too many symbolic dimensions (at most %d)", IR_MAX_SYMS);
            return false;
        }
        *out = (Dim){1, 1u << sym};
        return true;
    }
    if (e->kind == AST_BINARY && e->op == AST_OP_MUL) {
        Dim l, r;
        if (!eval_dim(b, e->a, add_symbols, &l) || !eval_dim(b, e->b, add_symbols, &r))
            return false;
        if ((l.syms & r.syms) && add_symbols) { /* inputs bind symbols: plain ones only */
            fe_error(b, e->loc, "a symbolic dimension may appear only once in a product");
            return false;
        }
        /* in an output's type a symbol twice is its square, a derived symbol */
        if (!ir_dim_mul_any(b->g, l, r, out) || out->c > FE_MAX_DIM) {
            fe_error(b, e->loc, "the dimension is too large (more than %lld)",
                     (long long)FE_MAX_DIM);
            return false;
        }
        return true;
    }
    Val v = fe_eval(b, fe_scope_new(b, NULL), e, NULL);
    int64_t n;
    if (v.kind == VAL_SYMBOL && !add_symbols) /* an output's seq+1, 3*w (symbol_binary) */
        return ir_dim_of_attr(b->g, -(1000 + (int64_t)v.i), out);
    if (v.kind == VAL_SYMBOL) {
        fe_error(b, e->loc,
                 "an input's dimension must be a number, a symbol or a product of distinct "
                 "symbols (the inputs bind the symbols; '%s' is computed from them)",
                 v.s);
        return false;
    }
    if (!fe_to_int(b, &v, "a dimension", &n))
        return false;
    if (n < 1 || n > FE_MAX_DIM) {
        fe_error(b, e->loc, "a dimension must be between 1 and %lld, not %lld",
                 (long long)FE_MAX_DIM, (long long)n);
        return false;
    }
    *out = ir_dim(n);
    return true;
}

static bool eval_type(Builder *b, const AstType *t, bool add_symbols, Type *out)
{
    memset(out, 0, sizeof *out);
    bool ok = true;
    if (!ir_dtype_parse(t->dtype, &out->dtype)) {
        fe_error(b, t->loc,
                 "unknown element type '%s' (one of f64 f32 f16 bf16 i64 i32 i16 i8 u8 i4 bool)",
                 t->dtype);
        ok = false;
    }
    int rank = ast_len(t->dims);
    if (rank > IR_MAX_RANK) {
        fe_error(b, t->loc, "a tensor has at most %d dimensions, not %d", IR_MAX_RANK, rank);
        return false;
    }
    out->shape.rank = rank;
    for (int i = 0; i < rank; i++)
        ok &= eval_dim(b, ast_at(t->dims, i), add_symbols, &out->shape.d[i]);
    return ok;
}

static void check_outputs(Builder *b, const AstSection *m, const Returned *ret, const Type *types,
                          const bool *typed)
{
    Graph *g = b->g;
    int n_decl = ast_len(m->outputs);
    if (m->outputs && ret->n != n_decl) {
        fe_error(b, ret->stmt->loc, "model '%s' declares %d output%s but returns %d", m->name,
                 n_decl, n_decl == 1 ? "" : "s", ret->n);
        return;
    }
    for (int i = 0; i < ret->n; i++) {
        ValueId v;
        if (!fe_to_tensor(b, &ret->values[i], &v))
            continue;
        if (!m->outputs) {
            ir_output_add(g, v);
            continue;
        }
        const AstParam *decl = ast_at(m->outputs, i);
        Type want = types[i];
        const Type *got = &g->values[v].type;
        if (typed[i] && got->shape.rank >= 0 &&
            (got->dtype != want.dtype || !ir_shape_eq(&got->shape, &want.shape))) {
            char a[160], c[160];
            ir_type_str(g, got, a, sizeof a);
            ir_type_str(g, &want, c, sizeof c);
            fe_error(b, ret->values[i].loc, "output %d%s%s%s is %s, but the model declares %s", i,
                     decl->name ? " ('" : "", decl->name ? decl->name : "", decl->name ? "')" : "",
                     a, c);
            ir_diag_note(b->d, decl->loc, "declared here");
        }
        if (decl->name && g->values[v].kind == IR_VALUE_TEMP)
            g->values[v].name = ir_arena_strdup(g->arena, decl->name);
        ir_output_add(g, v);
        ir_output_set_name(g, g->n_outputs - 1, decl->name);
    }
}

/* Tells b->fixer (--shape, --dim) about m's inputs: their names and the symbols their
 * declared dims name. */
static void fixer_start(Builder *b, const AstSection *m)
{
    int n = ast_len(m->params);
    const char **names = ir_arena_alloc(b->arena, sizeof(char *) * (size_t)(n + 1));
    for (int i = 0; i < n; i++)
        names[i] = ((const AstParam *)ast_at(m->params, i))->name;
    fe_fixer_init(b->fixer, b->fixes, names, n, b->file, b->d);
    for (int i = 0; i < n; i++) {
        const AstType *t = ((const AstParam *)ast_at(m->params, i))->type;
        int rank = t ? ast_len(t->dims) : 0;
        if (!t || rank > IR_MAX_RANK)
            continue; /* reported by eval_type */
        const char *syms[IR_MAX_RANK];
        for (int k = 0; k < rank; k++) {
            const AstExpr *e = ast_at(t->dims, k);
            syms[k] = e->kind == AST_NAME ? e->text : NULL;
        }
        fe_fixer_learn(b->fixer, i, rank, syms);
    }
}

/* Builds model m into a new graph; NULL only when out of limits. */
static Graph *build_model(Builder *b, const AstSection *m)
{
    Graph *g = ir_graph_new(m->name);
    g->source = ir_arena_strdup(g->arena, b->file);
    b->g = g;
    b->model = m;
    b->errors_at_start = b->d->n_errors;
    b->st = NULL;
    b->weights = NULL;
    /* A line that did not parse may have been the weights line. */
    b->no_weights_reported = has_broken(m->stmts, 0, ast_len(m->stmts));
    b->n_converted = 0;
    b->converted_from = 0;
    memset(b->op_count, 0, sizeof b->op_count);
    b->n_instances = 0;
    b->n_steps = 0;
    b->too_big = false;
    b->depth = 0;
    b->in_forward = false;
    b->seen = NULL; /* the scratch arena keeps the old table; it is small */
    b->n_seen = b->cap_seen = 0;

    Scope *s = fe_scope_new(b, NULL);
    if (b->fixer)
        fixer_start(b, m);
    for (int i = 0; i < ast_len(m->params); i++) {
        const AstParam *prm = ast_at(m->params, i);
        Type t;
        if (fe_scope_find(s, prm->name, true)) {
            fe_error(b, prm->loc, "input '%s' is declared twice", prm->name);
            continue;
        }
        if (!eval_type(b, prm->type, true, &t)) {
            fe_scope_set(b, s, prm->name, fe_err_val(prm->loc), prm->loc);
            continue;
        }
        if (b->fixer && !fe_fixer_apply(b->fixer, i, prm->name, &t.shape)) {
            fe_scope_set(b, s, prm->name, fe_err_val(prm->loc), prm->loc);
            continue;
        }
        ValueId v = ir_input_new(g, prm->name, t, fe_gloc(b, prm->loc));
        if (!ir_check_size(g, v, b->d))
            g->values[v].type.shape.rank = -1; /* reported; stay quiet about what follows */
        fe_scope_set(b, s, prm->name, (Val){.kind = VAL_TENSOR, .loc = prm->loc, .v = v}, prm->loc);
    }
    /* The declared output types (they only name symbols of the inputs). */
    int n_out = ast_len(m->outputs);
    Type *out_types = ir_arena_alloc(b->arena, sizeof(Type) * (size_t)(n_out ? n_out : 1));
    bool *out_ok = ir_arena_alloc(b->arena, sizeof(bool) * (size_t)(n_out ? n_out : 1));
    for (int i = 0; i < n_out; i++) {
        const AstParam *o = ast_at(m->outputs, i);
        out_ok[i] = eval_type(b, o->type, false, &out_types[i]);
    }

    /* The weights line may stand anywhere in the body. */
    for (int i = 0; i < ast_len(m->stmts); i++) {
        const AstStmt *st = ast_at(m->stmts, i);
        if (st->kind != AST_STMT_WEIGHTS)
            continue;
        if (b->weights)
            fe_error(b, st->loc, "a model has one weights line (the first is at line %d)",
                     b->weights->loc.line);
        else
            fe_weights_open(b, st);
    }

    Returned ret = {0};
    exec_stmts(b, s, m->stmts, 0, ast_len(m->stmts), CTX_MODEL, "", &ret);
    if (ret.stmt)
        check_outputs(b, m, &ret, out_types, out_ok);
    else if (!has_broken(m->stmts, 0, ast_len(m->stmts)))
        fe_error(b, m->loc, "model '%s' has no return statement", m->name);
    fe_weights_finish(b);

    /* Its compress block. */
    const AstSection *first = NULL;
    for (int i = 0; i < ast_len(b->ast->sections); i++) {
        const AstSection *c = ast_at(b->ast->sections, i);
        if (c->kind != AST_COMPRESS || !c->name || strcmp(c->name, m->name) != 0)
            continue;
        if (first) {
            fe_error(b, c->loc, "model '%s' already has a compress block (at line %d)", m->name,
                     first->loc.line);
            continue;
        }
        first = c;
        const AstExpr *bad = fe_pipeline_bad_string(c);
        if (bad) {
            fe_error(b, bad->loc, "a string in a compress block cannot hold a newline");
            continue;
        }
        g->compress = fe_pipeline_build(b, g->arena, c);
        if (!g->compress && !c->broken)
            ir_diag_warning(b->d, c->loc, "the compress block of '%s' is empty", m->name);
    }
    b->g = NULL;
    return g;
}

/* File-level checks: stray statements, names defined twice, compress targets. */
static void check_file(Builder *b)
{
    for (int i = 0; i < ast_len(b->ast->stray); i++) {
        const AstStmt *st = ast_at(b->ast->stray, i);
        fe_error(b, st->loc,
                 "statement outside of a model or block (a file starts with 'model' or 'block')");
    }
    int n = ast_len(b->ast->sections);
    bool any_model = false;
    for (int i = 0; i < n; i++) {
        const AstSection *s = ast_at(b->ast->sections, i);
        any_model |= s->kind == AST_MODEL;
        if (!s->name || s->kind == AST_COMPRESS)
            continue;
        if (s->kind == AST_BLOCK &&
            (fe_is_builtin_module(s->name) || fe_is_builtin_function(s->name)))
            fe_error(b, s->name_loc, "block '%s' has the name of a built-in", s->name);
        for (int j = 0; j < i; j++) {
            const AstSection *t = ast_at(b->ast->sections, j);
            if (t->name && t->kind != AST_COMPRESS && strcmp(t->name, s->name) == 0) {
                fe_error(b, s->name_loc, "'%s' is already defined at line %d", s->name,
                         t->loc.line);
                break;
            }
        }
        if (s->kind == AST_BLOCK) {
            for (int j = 0; j < ast_len(s->params); j++) {
                const AstParam *p = ast_at(s->params, j);
                for (int k = 0; k < j; k++)
                    if (strcmp(((const AstParam *)ast_at(s->params, k))->name, p->name) == 0)
                        fe_error(b, p->loc, "parameter '%s' is declared twice", p->name);
            }
            int forwards = 0;
            for (int j = 0; j < ast_len(s->stmts); j++) {
                const AstStmt *st = ast_at(s->stmts, j);
                if (st->kind == AST_STMT_FORWARD && ++forwards > 1)
                    fe_error(b, st->loc, "block '%s' has more than one forward(...)", s->name);
            }
        }
    }
    for (int i = 0; i < n; i++) {
        const AstSection *c = ast_at(b->ast->sections, i);
        if (c->kind != AST_COMPRESS || !c->name)
            continue;
        bool found = false;
        const char *models[64];
        int n_models = 0;
        for (int j = 0; j < n; j++) {
            const AstSection *m = ast_at(b->ast->sections, j);
            if (m->kind == AST_MODEL && m->name) {
                found |= strcmp(m->name, c->name) == 0;
                if (n_models < 64)
                    models[n_models++] = m->name;
            }
        }
        if (found)
            continue;
        const char *hint = fe_suggest(c->name, models, n_models);
        if (hint)
            fe_error(b, c->name_loc,
                     "compress names no model of this file: '%s'; did you mean '%s'?", c->name,
                     hint);
        else
            fe_error(b, c->name_loc, "compress names no model of this file: '%s'", c->name);
    }
    if (!any_model)
        fe_error(b, (SrcLoc){b->file, 0, 0},
                 "no model in this file (a model starts with 'model NAME(inputs) -> outputs')");
}

Graph *fe_build(const AstFile *ast, const char *file, Diag *d)
{
    return fe_build_ex(ast, file, NULL, d);
}

Graph *fe_build_ex(const AstFile *ast, const char *file, const FeSlimOptions *opt, Diag *d)
{
    Builder b = {0};
    if (opt) {
        b.init_missing_weights = opt->init_missing_weights;
        b.training = opt->training;
        b.init_rng = opt->seed;
        b.fixes = opt->fixes;
    }
    b.d = d;
    b.arena = ir_arena_new();
    b.ast = ast;
    b.file = file;
    const char *slash = strrchr(file, '/');
    b.dir = slash ? ir_arena_strndup(b.arena, file, (size_t)(slash - file + 1)) : "";
    check_file(&b);
    Graph *result = NULL;
    for (int i = 0; i < ast_len(ast->sections); i++) {
        const AstSection *m = ast_at(ast->sections, i);
        if (m->kind != AST_MODEL || !m->name || m->broken)
            continue;
        bool again = false; /* a model defined twice (reported) is built once */
        for (int j = 0; j < i && !again; j++) {
            const AstSection *o = ast_at(ast->sections, j);
            again = o->kind == AST_MODEL && o->name && strcmp(o->name, m->name) == 0;
        }
        if (again)
            continue;
        FeFixer fixer;
        b.fixer = !result && b.fixes ? &fixer : NULL;
        Graph *g = build_model(&b, m);
        if (b.fixer)
            fe_fixer_finish(b.fixer);
        b.fixer = NULL;
        if (!result)
            result = g;
        else
            ir_graph_free(g);
    }
    ir_arena_free(b.arena);
    return result;
}
