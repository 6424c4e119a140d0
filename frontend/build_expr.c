/* Expressions: compile-time arithmetic on integers, bools and numbers, names, calls,
 * conditionals, and the tensor operators (+ - * / and unary minus) that become nodes.
 * Every result carries the place it was written, so conversions can point at it. */
#include "frontend/builder.h"
#include "frontend/dim_fix.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

Val fe_err_val(SrcLoc loc)
{
    return (Val){.kind = VAL_ERROR, .loc = loc};
}

static Val int_val(int64_t i, SrcLoc loc)
{
    return (Val){.kind = VAL_INT, .loc = loc, .i = i};
}

static Val bool_val(bool v, SrcLoc loc)
{
    return (Val){.kind = VAL_BOOL, .loc = loc, .i = v};
}

static Val float_val(double f, SrcLoc loc)
{
    return (Val){.kind = VAL_FLOAT, .loc = loc, .f = f};
}

static Val tensor_val(ValueId v, SrcLoc loc)
{
    return (Val){.kind = VAL_TENSOR, .loc = loc, .v = v};
}

const char *fe_describe(const Val *v, char *buf, size_t size)
{
    switch (v->kind) {
    case VAL_ERROR: snprintf(buf, size, "an invalid value"); break;
    case VAL_NONE: snprintf(buf, size, "no value"); break;
    case VAL_INT: snprintf(buf, size, "the integer %lld", (long long)v->i); break;
    case VAL_BOOL: snprintf(buf, size, "the bool %s", v->i ? "true" : "false"); break;
    case VAL_FLOAT: snprintf(buf, size, "the number %g", v->f); break;
    case VAL_STRING: snprintf(buf, size, "a string"); break;
    case VAL_LIST: snprintf(buf, size, "a list"); break;
    case VAL_SYMBOL: snprintf(buf, size, "the symbolic dimension '%s'", v->s); break;
    case VAL_TENSOR: snprintf(buf, size, "a tensor"); break;
    case VAL_MODULE: snprintf(buf, size, "module '%s' (%s)", v->m->path, v->m->type_name); break;
    case VAL_ABSENT: snprintf(buf, size, "module '%s', which does not exist here", v->s); break;
    }
    return buf;
}

/* Reports that v is not what was expected ("expected an integer for 'groups' of Conv2d,
 * found a tensor"); silent for values that are already errors. */
static bool wrong(Builder *b, const Val *v, const char *expected, const char *what)
{
    if (v->kind == VAL_ERROR)
        return false;
    char desc[200];
    fe_describe(v, desc, sizeof desc);
    if (what)
        fe_error(b, v->loc, "expected %s for %s, found %s", expected, what, desc);
    else
        fe_error(b, v->loc, "expected %s, found %s", expected, desc);
    return false;
}

bool fe_to_int(Builder *b, const Val *v, const char *what, int64_t *out)
{
    if (v->kind != VAL_INT)
        return wrong(b, v, "an integer", what);
    *out = v->i;
    return true;
}

bool fe_to_bool(Builder *b, const Val *v, const char *what, bool *out)
{
    if (v->kind == VAL_BOOL || (v->kind == VAL_INT && (v->i == 0 || v->i == 1))) {
        *out = v->i != 0;
        return true;
    }
    return wrong(b, v, "true or false", what);
}

bool fe_to_float(Builder *b, const Val *v, const char *what, double *out)
{
    if (v->kind == VAL_FLOAT || v->kind == VAL_INT) {
        *out = v->kind == VAL_FLOAT ? v->f : (double)v->i;
        return true;
    }
    return wrong(b, v, "a number", what);
}

bool fe_to_pair(Builder *b, const Val *v, const char *what, int64_t out[2])
{
    if (v->kind == VAL_INT) {
        out[0] = out[1] = v->i;
        return true;
    }
    if (v->kind == VAL_LIST && v->n == 2 && v->items[0].kind == VAL_INT &&
        v->items[1].kind == VAL_INT) {
        out[0] = v->items[0].i;
        out[1] = v->items[1].i;
        return true;
    }
    return wrong(b, v, "an integer or a pair [a, b]", what);
}

ValueId fe_scalar_const(Builder *b, double v, SrcLoc loc)
{
    float *data = ir_arena_alloc(b->g->arena, sizeof(float));
    *data = (float)v;
    Type t = {.dtype = IR_F32, .shape = {.rank = 0}};
    return ir_const_new(b->g, "const", t, data, sizeof(float), fe_gloc(b, loc));
}

bool fe_to_tensor(Builder *b, const Val *v, ValueId *out)
{
    switch (v->kind) {
    case VAL_TENSOR: *out = v->v; return true;
    case VAL_INT:
    case VAL_FLOAT:
        *out = fe_scalar_const(b, v->kind == VAL_INT ? (double)v->i : v->f, v->loc);
        return true;
    case VAL_MODULE:
        fe_error(b, v->loc, "module '%s' (%s) is not a tensor; call it: %s(...)", v->m->path,
                 v->m->type_name, v->m->path);
        return false;
    case VAL_ABSENT:
        fe_error(b, v->loc,
                 "module '%s' does not exist here: the condition of its declaration (line %lld) is "
                 "false",
                 v->s, (long long)v->i);
        return false;
    default: return wrong(b, v, "a tensor", NULL);
    }
}

/* ---- nodes ---- */

NodeId fe_node(Builder *b, OpKind op, const char *name, SrcLoc loc, const ValueId *inputs, int n)
{
    Graph *g = b->g;
    if (b->too_big)
        return IR_NONE;
    if (g->n_nodes >= FE_MAX_NODES) {
        fe_error(b, loc, "the model is too large (more than %d operations)", FE_MAX_NODES);
        b->too_big = true;
        return IR_NONE;
    }
    char buf[512];
    if (!name) {
        int k = b->op_count[op]++;
        if (b->depth > 0)
            snprintf(buf, sizeof buf, "%s.%s%d", b->inst[b->depth - 1]->path, ir_ops[op].name, k);
        else
            snprintf(buf, sizeof buf, "%s%d", ir_ops[op].name, k);
        name = buf;
    }
    return ir_node_new(g, op, name, fe_gloc(b, loc), inputs, n, 1);
}

Val fe_node_done(Builder *b, NodeId n, SrcLoc loc)
{
    if (n == IR_NONE)
        return fe_err_val(loc);
    if (!ir_infer_node(b->g, n, b->d))
        fe_instance_notes(b);
    return tensor_val(b->g->nodes[n].outputs[0], loc);
}

/* A binary tensor op on two values that may be numbers (which become constants). */
static Val tensor_binary(Builder *b, OpKind op, const Val *l, const Val *r, SrcLoc loc)
{
    ValueId in[2];
    bool ok_l = fe_to_tensor(b, l, &in[0]);
    bool ok_r = fe_to_tensor(b, r, &in[1]);
    if (!ok_l || !ok_r)
        return fe_err_val(loc);
    NodeId n = fe_node(b, op, NULL, loc, in, 2);
    return fe_node_done(b, n, loc);
}

/* ---- compile-time arithmetic ---- */

static bool is_number(const Val *v)
{
    return v->kind == VAL_INT || v->kind == VAL_FLOAT;
}

static Val int_arith(Builder *b, AstOp op, int64_t x, int64_t y, SrcLoc loc)
{
    int64_t r = 0;
    bool overflow = false;
    switch (op) {
    case AST_OP_ADD: overflow = __builtin_add_overflow(x, y, &r); break;
    case AST_OP_SUB: overflow = __builtin_sub_overflow(x, y, &r); break;
    case AST_OP_MUL: overflow = __builtin_mul_overflow(x, y, &r); break;
    case AST_OP_DIV:
    case AST_OP_FLOORDIV:
    case AST_OP_MOD:
        if (y == 0) {
            fe_error(b, loc, "division by zero");
            return fe_err_val(loc);
        }
        if (x == INT64_MIN && y == -1) {
            overflow = true;
            break;
        }
        if (op == AST_OP_MOD) { /* the sign of the divisor, as in Python */
            r = x % y;
            if (r != 0 && (r < 0) != (y < 0))
                r += y;
        } else { /* rounded toward minus infinity, as in Python */
            r = x / y;
            if (x % y != 0 && (x < 0) != (y < 0))
                r--;
        }
        break;
    default: slimc_assert_fail("not an arithmetic operator", __FILE__, __LINE__);
    }
    if (overflow) {
        fe_error(b, loc, "integer overflow in %lld %s %lld", (long long)x, fe_ast_op_str(op),
                 (long long)y);
        return fe_err_val(loc);
    }
    return int_val(r, loc);
}

static Val float_arith(Builder *b, AstOp op, double x, double y, SrcLoc loc)
{
    double r = 0;
    switch (op) {
    case AST_OP_ADD: r = x + y; break;
    case AST_OP_SUB: r = x - y; break;
    case AST_OP_MUL: r = x * y; break;
    case AST_OP_DIV:
    case AST_OP_FLOORDIV:
    case AST_OP_MOD:
        if (y == 0) {
            fe_error(b, loc, "division by zero");
            return fe_err_val(loc);
        }
        if (op == AST_OP_DIV)
            r = x / y;
        else if (op == AST_OP_FLOORDIV)
            r = floor(x / y);
        else {
            r = fmod(x, y);
            if (r != 0 && (r < 0) != (y < 0))
                r += y;
        }
        break;
    default: slimc_assert_fail("not an arithmetic operator", __FILE__, __LINE__);
    }
    if (!isfinite(r)) {
        fe_error(b, loc, "the result of %g %s %g is out of range", x, fe_ast_op_str(op), y);
        return fe_err_val(loc);
    }
    return float_val(r, loc);
}

static Val compare(Builder *b, AstOp op, const Val *l, const Val *r, SrcLoc loc)
{
    bool eq_op = op == AST_OP_EQ || op == AST_OP_NE;
    if (l->kind == VAL_BOOL && r->kind == VAL_BOOL && eq_op)
        return bool_val((l->i == r->i) == (op == AST_OP_EQ), loc);
    if (l->kind == VAL_STRING && r->kind == VAL_STRING && eq_op)
        return bool_val((strcmp(l->s, r->s) == 0) == (op == AST_OP_EQ), loc);
    if (!is_number(l) || !is_number(r)) {
        const Val *bad = is_number(l) ? r : l;
        wrong(b, bad, "a compile-time number",
              ir_arena_printf(b->arena, "'%s'", fe_ast_op_str(op)));
        return fe_err_val(loc);
    }
    int c;
    if (l->kind == VAL_INT && r->kind == VAL_INT)
        c = (l->i > r->i) - (l->i < r->i);
    else {
        double x = l->kind == VAL_INT ? (double)l->i : l->f,
               y = r->kind == VAL_INT ? (double)r->i : r->f;
        c = (x > y) - (x < y);
    }
    switch (op) {
    case AST_OP_EQ: return bool_val(c == 0, loc);
    case AST_OP_NE: return bool_val(c != 0, loc);
    case AST_OP_LT: return bool_val(c < 0, loc);
    case AST_OP_LE: return bool_val(c <= 0, loc);
    case AST_OP_GT: return bool_val(c > 0, loc);
    default: return bool_val(c >= 0, loc);
    }
}

/* A condition: a compile-time bool or integer. */
static bool to_cond(Builder *b, const Val *v, bool *out)
{
    if (v->kind == VAL_BOOL || v->kind == VAL_INT) {
        *out = v->i != 0;
        return true;
    }
    return wrong(b, v, "a compile-time condition (a bool or an integer)", NULL);
}

/* l op r over symbolic sizes (seq+1, side*side, (w+1)//2: a derived symbol, ir/symbols.c)
 * and integers: a symbol (3*w a symbol naming that product), or an integer when the result
 * is one; VAL_ABSENT when it is neither. */
static Val symbol_binary(Builder *b, AstOp op, const Val *l, const Val *r, SrcLoc loc)
{
    Dim a = l->kind == VAL_SYMBOL ? (Dim){1, 1u << l->i} : ir_dim(l->i);
    Dim c = r->kind == VAL_SYMBOL ? (Dim){1, 1u << r->i} : ir_dim(r->i);
    Dim out = {0, 0};
    bool ok = false;
    switch (op) {
    case AST_OP_ADD: ok = ir_dim_add(b->g, a, c, &out); break;
    case AST_OP_SUB:
        ok = c.c != INT64_MIN && ir_dim_derive(b->g, a, ir_dim(1), (Dim){-c.c, c.syms}, 0, 1, &out);
        break;
    case AST_OP_MUL: ok = ir_dim_mul_any(b->g, a, c, &out); break;
    case AST_OP_FLOORDIV: ok = ir_dim_static(c) && ir_dim_floordiv(b->g, a, c.c, &out); break;
    default: break;
    }
    if (ok && ir_dim_static(out))
        return (Val){.kind = VAL_INT, .loc = loc, .i = out.c};
    int64_t enc; /* a bare symbol, or one that names the product (3*w: ir_dim_attr) */
    if (ok && ir_dim_attr(b->g, out, &enc) && enc <= -1000) {
        int i = (int)(-(enc + 1000));
        return (Val){.kind = VAL_SYMBOL, .loc = loc, .i = i, .s = b->g->sym_names[i]};
    }
    return (Val){.kind = VAL_ABSENT, .loc = loc};
}

static Val eval_binary(Builder *b, Scope *s, const AstExpr *e)
{
    if (e->op == AST_OP_AND || e->op == AST_OP_OR) {
        Val l = fe_eval(b, s, e->a, NULL);
        bool x;
        if (!to_cond(b, &l, &x))
            return fe_err_val(e->loc);
        if (x == (e->op == AST_OP_OR)) /* decided by the left side */
            return bool_val(x, e->loc);
        Val r = fe_eval(b, s, e->b, NULL);
        bool y;
        if (!to_cond(b, &r, &y))
            return fe_err_val(e->loc);
        return bool_val(y, e->loc);
    }
    Val l = fe_eval(b, s, e->a, NULL);
    Val r = fe_eval(b, s, e->b, NULL);
    if (l.kind == VAL_ERROR || r.kind == VAL_ERROR)
        return fe_err_val(e->loc);
    switch (e->op) {
    case AST_OP_EQ:
    case AST_OP_NE:
    case AST_OP_LT:
    case AST_OP_LE:
    case AST_OP_GT:
    case AST_OP_GE:
        if (l.kind == VAL_TENSOR || r.kind == VAL_TENSOR) { /* elementwise, a bool tensor */
            static const OpKind cmp[] = {
                [AST_OP_EQ] = IR_OP_EQ, [AST_OP_NE] = IR_OP_NE, [AST_OP_LT] = IR_OP_LT,
                [AST_OP_LE] = IR_OP_LE, [AST_OP_GT] = IR_OP_GT, [AST_OP_GE] = IR_OP_GE};
            return fe_tensor_op2(b, cmp[e->op], &l, &r, e->loc);
        }
        return compare(b, e->op, &l, &r, e->loc);
    default: break;
    }
    if (l.kind == VAL_TENSOR || r.kind == VAL_TENSOR || l.kind == VAL_MODULE ||
        r.kind == VAL_MODULE || l.kind == VAL_ABSENT || r.kind == VAL_ABSENT) {
        static const OpKind ops[] = {[AST_OP_ADD] = IR_OP_ADD,
                                     [AST_OP_SUB] = IR_OP_SUB,
                                     [AST_OP_MUL] = IR_OP_MUL,
                                     [AST_OP_DIV] = IR_OP_DIV};
        if (e->op == AST_OP_FLOORDIV || e->op == AST_OP_MOD) {
            fe_error(b, e->loc, "'%s' is for compile-time integers; tensors have + - * /",
                     fe_ast_op_str(e->op));
            return fe_err_val(e->loc);
        }
        return tensor_binary(b, ops[e->op], &l, &r, e->loc);
    }
    if ((l.kind == VAL_SYMBOL || r.kind == VAL_SYMBOL) && b->g &&
        (l.kind == VAL_SYMBOL || l.kind == VAL_INT) &&
        (r.kind == VAL_SYMBOL || r.kind == VAL_INT)) {
        Val v = symbol_binary(b, e->op, &l, &r, e->loc);
        if (v.kind != VAL_ABSENT)
            return v;
    }
    if (!is_number(&l) || !is_number(&r)) {
        const Val *bad = is_number(&l) ? &r : &l;
        wrong(b, bad, "a number or a tensor",
              ir_arena_printf(b->arena, "'%s'", fe_ast_op_str(e->op)));
        return fe_err_val(e->loc);
    }
    if (l.kind == VAL_INT && r.kind == VAL_INT)
        return int_arith(b, e->op, l.i, r.i, e->loc);
    return float_arith(b, e->op, l.kind == VAL_INT ? (double)l.i : l.f,
                       r.kind == VAL_INT ? (double)r.i : r.f, e->loc);
}

static Val eval_unary(Builder *b, Scope *s, const AstExpr *e)
{
    Val v = fe_eval(b, s, e->a, NULL);
    if (v.kind == VAL_ERROR)
        return fe_err_val(e->loc);
    if (e->op == AST_OP_NOT) {
        bool x;
        return to_cond(b, &v, &x) ? bool_val(!x, e->loc) : fe_err_val(e->loc);
    }
    bool neg = e->op == AST_OP_NEG;
    switch (v.kind) {
    case VAL_INT:
        if (neg && v.i == INT64_MIN) {
            fe_error(b, e->loc, "integer overflow in -(%lld)", (long long)v.i);
            return fe_err_val(e->loc);
        }
        return int_val(neg ? -v.i : v.i, e->loc);
    case VAL_FLOAT: return float_val(neg ? -v.f : v.f, e->loc);
    case VAL_TENSOR:
    case VAL_MODULE:
    case VAL_ABSENT: {
        if (!neg) {
            ValueId t;
            return fe_to_tensor(b, &v, &t) ? tensor_val(t, e->loc) : fe_err_val(e->loc);
        }
        Val minus_one = float_val(-1.0, e->loc);
        return tensor_binary(b, IR_OP_MUL, &v, &minus_one, e->loc);
    }
    default:
        wrong(b, &v, "a number or a tensor",
              ir_arena_printf(b->arena, "unary '%s'", fe_ast_op_str(e->op)));
        return fe_err_val(e->loc);
    }
}

/* ---- names ---- */

/* The child called part of module m (a Sequential's index or a block's module). */
static Module *child_of(Module *m, const char *part)
{
    if (m->kind == MOD_SEQUENTIAL) {
        for (int i = 0; i < m->n_children; i++) {
            char idx[16];
            snprintf(idx, sizeof idx, "%d", i);
            if (strcmp(idx, part) == 0)
                return m->children[i];
        }
        return NULL;
    }
    if (m->kind == MOD_BLOCK && m->scope) {
        Binding *bd = fe_scope_find(m->scope, part, true);
        if (bd && bd->val.kind == VAL_MODULE)
            return bd->val.m;
    }
    return NULL;
}

static Val lookup(Builder *b, Scope *s, const char *name, SrcLoc loc)
{
    const char *dot = strchr(name, '.');
    if (dot) { /* a submodule: layer1.0.conv1 */
        char *head = ir_arena_strndup(b->arena, name, (size_t)(dot - name));
        Val v = lookup(b, s, head, loc);
        if (v.kind == VAL_ERROR)
            return v;
        if (v.kind != VAL_MODULE) {
            char desc[200];
            fe_error(b, loc, "'%s' is %s; only modules have parts", head,
                     fe_describe(&v, desc, sizeof desc));
            return fe_err_val(loc);
        }
        Module *m = v.m;
        while (dot) {
            const char *part = dot + 1;
            dot = strchr(part, '.');
            char *p = ir_arena_strndup(b->arena, part, dot ? (size_t)(dot - part) : strlen(part));
            Module *c = m->broken ? NULL : child_of(m, p);
            if (!c) {
                if (!m->broken)
                    fe_error(b, loc, "module '%s' (%s) has no part '%s'", m->path, m->type_name, p);
                return fe_err_val(loc);
            }
            m = c;
        }
        return (Val){.kind = VAL_MODULE, .loc = loc, .m = m};
    }
    Binding *bd = fe_scope_find(s, name, false);
    if (bd) {
        Val v = bd->val;
        v.loc = loc;
        return v;
    }
    int64_t given;
    if (b->fixer && fe_fixer_symbol_seen(b->fixer, name, &given))
        return (Val){.kind = VAL_INT, .loc = loc, .i = given}; /* a symbol fixed by --dim */
    for (int i = 0; b->g && i < b->g->n_syms; i++)
        if (strcmp(b->g->sym_names[i], name) == 0)
            return (Val){.kind = VAL_SYMBOL, .loc = loc, .i = i, .s = b->g->sym_names[i]};
    if (fe_is_builtin_function(name)) {
        fe_error(b, loc, "'%s' is a function; call it: %s(...)", name, name);
        return fe_err_val(loc);
    }
    if (fe_is_builtin_module(name) || fe_find_block(b, name)) {
        fe_error(b, loc, "'%s' is a kind of module; declare one: name = %s(...)", name, name);
        return fe_err_val(loc);
    }
    fe_unknown(b, s, loc, "name", name);
    return fe_err_val(loc);
}

/* ---- calls ---- */

bool fe_bind_args(Builder *b, Scope *s, const AstExpr *call, const char *what,
                  const char *const *names, int n_names, int n_required, Val *out)
{
    int n = ast_len(call->args);
    Val *vals = ir_arena_alloc(b->arena, sizeof(Val) * (size_t)(n ? n : 1));
    for (int j = 0; j < n; j++) {
        const AstArg *a = ast_at(call->args, j);
        vals[j] = fe_eval(b, s, a->value, NULL);
    }
    for (int i = 0; i < n_names; i++)
        out[i] = (Val){.kind = VAL_NONE, .loc = call->loc};
    bool ok = true, keywords = false;
    int positional = 0;
    for (int j = 0; j < n; j++) {
        const AstArg *a = ast_at(call->args, j);
        int idx = -1;
        if (a->key) {
            keywords = true;
            size_t klen = strlen(a->key);
            for (int i = 0; i < n_names && idx < 0; i++)
                for (const char *p = names[i]; p && *p;) {
                    const char *bar = strchr(p, '|');
                    size_t len = bar ? (size_t)(bar - p) : strlen(p);
                    if (len == klen && strncmp(p, a->key, len) == 0) {
                        idx = i;
                        break;
                    }
                    p = bar ? bar + 1 : NULL;
                }
            if (idx < 0) {
                const char *all[32]; /* every name and alias, for a suggestion */
                char list[400];
                size_t len = 0;
                list[0] = 0;
                int nf = 0;
                for (int i = 0; i < n_names; i++) {
                    const char *bar = strchr(names[i], '|');
                    int w = bar ? (int)(bar - names[i]) : (int)strlen(names[i]);
                    for (const char *p = names[i]; p && nf < 32;) {
                        const char *q = strchr(p, '|');
                        all[nf++] = q ? ir_arena_strndup(b->arena, p, (size_t)(q - p)) : p;
                        p = q ? q + 1 : NULL;
                    }
                    if (len < sizeof list)
                        len += (size_t)snprintf(list + len, sizeof list - len, "%s%.*s",
                                                i ? ", " : "", w, names[i]);
                }
                const char *hint = fe_suggest(a->key, all, nf);
                if (hint)
                    fe_error(b, a->loc, "%s has no parameter '%s'; did you mean '%s'?", what,
                             a->key, hint);
                else if (n_names)
                    fe_error(b, a->loc, "%s has no parameter '%s' (its parameters: %s)", what,
                             a->key, list);
                else
                    fe_error(b, a->loc, "%s takes no arguments", what);
                ok = false;
                continue;
            }
        } else {
            if (keywords) {
                fe_error(b, a->loc, "a positional argument cannot follow keyword arguments");
                ok = false;
                continue;
            }
            if (positional >= n_names) {
                if (positional == n_names)
                    fe_error(b, a->loc, "%s takes %s%d argument%s, got %d", what,
                             n_required < n_names ? "at most " : "", n_names,
                             n_names == 1 ? "" : "s", n);
                positional++;
                ok = false;
                continue;
            }
            idx = positional++;
        }
        if (out[idx].kind != VAL_NONE) {
            const char *bar = strchr(names[idx], '|');
            int w = bar ? (int)(bar - names[idx]) : (int)strlen(names[idx]);
            fe_error(b, a->loc, "argument '%.*s' of %s is given twice", w, names[idx], what);
            ok = false;
            continue;
        }
        out[idx] = vals[j];
    }
    if (!ok)
        return false;
    for (int i = 0; i < n_required; i++)
        if (out[i].kind == VAL_NONE) {
            const char *bar = strchr(names[i], '|');
            int w = bar ? (int)(bar - names[i]) : (int)strlen(names[i]);
            fe_error(b, call->loc, "missing argument '%.*s' of %s", w, names[i], what);
            ok = false;
        }
    return ok;
}

static Val eval_call(Builder *b, Scope *s, const AstExpr *e, const char *define_path)
{
    const char *name = e->text;
    bool dotted = strchr(name, '.') != NULL;
    Binding *bound = dotted ? NULL : fe_scope_find(s, name, false);
    if (!bound && !dotted && (fe_is_builtin_module(name) || fe_find_block(b, name))) {
        if (define_path)
            return fe_declare_module(b, s, e, define_path);
        if (b->in_forward)
            fe_error(b, e->loc,
                     "'%s' makes a module; declare it before forward(...) (name = %s(...)) and "
                     "call it by name",
                     name, name);
        else
            fe_error(b, e->loc,
                     "'%s' makes a module; declare it on a line of its own (name = %s(...)) and "
                     "call it by name",
                     name, name);
        return fe_err_val(e->loc);
    }
    if (bound || dotted) {
        Val callee = lookup(b, s, name, e->loc);
        if (callee.kind == VAL_ERROR)
            return callee;
        if (callee.kind != VAL_MODULE) {
            if (callee.kind == VAL_ABSENT) {
                ValueId unused;
                fe_to_tensor(b, &callee, &unused); /* says why it does not exist */
            } else {
                char desc[200];
                fe_error(b, e->loc, "'%s' is %s, not a module or function; it cannot be called",
                         name, fe_describe(&callee, desc, sizeof desc));
            }
            return fe_err_val(e->loc);
        }
        int n = ast_len(e->args);
        Val *inputs = ir_arena_alloc(b->arena, sizeof(Val) * (size_t)(n ? n : 1));
        bool ok = true;
        for (int i = 0; i < n; i++) {
            const AstArg *a = ast_at(e->args, i);
            if (a->key) {
                fe_error(b, a->loc, "module '%s' takes its inputs by position, not by keyword",
                         callee.m->path);
                ok = false;
            }
            inputs[i] = fe_eval(b, s, a->value, NULL);
        }
        if (!ok)
            return fe_err_val(e->loc);
        return fe_call_module(b, callee.m, inputs, n, e->loc);
    }
    if (fe_is_builtin_function(name))
        return fe_call_builtin(b, s, e);
    fe_unknown(b, s, e->loc, isupper((unsigned char)name[0]) ? "module" : "function", name);
    return fe_err_val(e->loc);
}

static Val eval_cond(Builder *b, Scope *s, const AstExpr *e, const char *define_path)
{
    if (!e->c && !define_path) {
        fe_error(b, e->loc,
                 "this conditional needs an else; only a module declaration (name = Module(...) if "
                 "condition) may leave it out");
        return fe_err_val(e->loc);
    }
    Val c = fe_eval(b, s, e->b, NULL);
    bool taken;
    if (!to_cond(b, &c, &taken))
        return fe_err_val(e->loc);
    /* The branch not taken is not elaborated: its modules do not exist. */
    const AstExpr *branch = taken ? e->a : e->c;
    if (!branch)
        return (Val){.kind = VAL_NONE, .loc = e->loc};
    Val v = fe_eval(b, s, branch, define_path);
    if (define_path && v.kind != VAL_MODULE && v.kind != VAL_ERROR && v.kind != VAL_NONE) {
        char desc[200];
        fe_error(b, branch->loc,
                 "both branches of a conditional module declaration must be modules, not %s",
                 fe_describe(&v, desc, sizeof desc));
        return fe_err_val(e->loc);
    }
    return v;
}

Val fe_eval(Builder *b, Scope *s, const AstExpr *e, const char *define_path)
{
    switch (e->kind) {
    case AST_ERROR: return fe_err_val(e->loc);
    case AST_INT: return e->bad ? fe_err_val(e->loc) : int_val(e->ival, e->loc);
    case AST_FLOAT: return float_val(e->fval, e->loc);
    case AST_STRING: return (Val){.kind = VAL_STRING, .loc = e->loc, .s = e->text};
    case AST_BOOL: return bool_val(e->ival != 0, e->loc);
    case AST_NAME: return lookup(b, s, e->text, e->loc);
    case AST_LIST: {
        int n = ast_len(e->args);
        Val v = {.kind = VAL_LIST, .loc = e->loc, .n = n};
        v.items = ir_arena_alloc(b->arena, sizeof(Val) * (size_t)(n ? n : 1));
        bool ok = true;
        for (int i = 0; i < n; i++) {
            const AstArg *a = ast_at(e->args, i);
            if (a->key) {
                fe_error(b, a->loc, "a list holds values, not key=value pairs");
                ok = false;
                continue;
            }
            v.items[i] = fe_eval(b, s, a->value, NULL);
            ok &= v.items[i].kind != VAL_ERROR;
        }
        return ok ? v : fe_err_val(e->loc);
    }
    case AST_CALL: return eval_call(b, s, e, define_path);
    case AST_UNARY: return eval_unary(b, s, e);
    case AST_BINARY: return eval_binary(b, s, e);
    case AST_COND: return eval_cond(b, s, e, define_path);
    }
    return fe_err_val(e->loc);
}
