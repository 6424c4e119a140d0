/* Text and Graphviz forms of the IR. The text form is what --print-after and
 * `inspect --ir` show: one line per node, `%value = op(inputs) {attrs} -> type`. */
#include "ir/graph.h"
#include "ir/text_escape.h"

#include <string.h>

char *ir_dim_str(const Graph *g, Dim d, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = 0;
    if (d.c != 1 || !d.syms)
        len += (size_t)snprintf(buf, size, "%lld", (long long)d.c);
    for (int i = 0; i < IR_MAX_SYMS && len < size; i++)
        if (d.syms & (1u << i)) {
            const char *name = g && i < g->n_syms ? g->sym_names[i] : "?";
            /* a derived symbol's name is its expression: 2*(S+1), not 2*S+1 */
            bool wrap = g && (g->derived_syms & (1u << i)) && (d.c != 1 || (d.syms & (d.syms - 1)));
            len += (size_t)snprintf(buf + len, size - len, "%s%s%s%s", len ? "*" : "",
                                    wrap ? "(" : "", name, wrap ? ")" : "");
        }
    return buf;
}

char *ir_type_str(const Graph *g, const Type *t, char *buf, size_t size)
{
    size_t len = (size_t)snprintf(buf, size, "%s", ir_dtype_name(t->dtype));
    if (t->shape.rank < 0) {
        snprintf(buf + len, size - len, "[?]");
        return buf;
    }
    len += (size_t)snprintf(buf + len, size - len, "[");
    for (int i = 0; i < t->shape.rank && len < size; i++) {
        char dim[64];
        if (t->shape.d[i].c < 0)
            snprintf(dim, sizeof dim, "%lld", (long long)t->shape.d[i].c);
        else
            ir_dim_str(g, t->shape.d[i], dim, sizeof dim);
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "", dim);
    }
    if (len < size)
        snprintf(buf + len, size - len, "]");
    return buf;
}

/* Names and types (with their symbol names) come from the model: the text form is read on
 * a terminal, the dot form by Graphviz; each goes through its escaping helper. */
static void put_type(const Graph *g, const Type *t, FILE *out)
{
    char buf[200];
    ir_esc_term_put(out, ir_type_str(g, t, buf, sizeof buf));
}

static void print_value_ref(const Graph *g, ValueId v, FILE *out)
{
    if (v == IR_NONE) {
        fputs("_", out);
    } else {
        fprintf(out, "%%%d:", v);
        ir_esc_term_put(out, g->values[v].name);
    }
}

static void print_attrs(const Node *n, FILE *out)
{
    if (!n->n_attrs)
        return;
    fputs(" {", out);
    for (int i = 0; i < n->n_attrs; i++) {
        const Attr *a = &n->attrs[i];
        fputs(i ? ", " : "", out);
        ir_esc_term_put(out, a->name);
        fputc('=', out);
        switch (a->kind) {
        case IR_ATTR_INT: fprintf(out, "%lld", (long long)a->i); break;
        case IR_ATTR_FLOAT: fprintf(out, "%g", a->f); break;
        case IR_ATTR_STRING:
            fputc('"', out);
            ir_esc_term_put(out, a->s ? a->s : "");
            fputc('"', out);
            break;
        case IR_ATTR_INTS:
            fputc('[', out);
            for (int j = 0; j < a->n_ints; j++)
                fprintf(out, "%s%lld", j ? ", " : "", (long long)a->ints[j]);
            fputc(']', out);
            break;
        }
    }
    fputc('}', out);
}

void ir_print(const Graph *g, FILE *out)
{
    fputs("graph ", out);
    ir_esc_term_put(out, g->name);
    fputc('(', out);
    for (int i = 0; i < g->n_inputs; i++) {
        fputs(i ? ", " : "", out);
        print_value_ref(g, g->inputs[i], out);
        fputs(": ", out);
        put_type(g, &g->values[g->inputs[i]].type, out);
    }
    fputs(")\n", out);
    for (int i = 0; i < g->n_values; i++) {
        const Value *v = &g->values[i];
        if (v->kind != IR_VALUE_CONST)
            continue;
        fputs("  const ", out);
        print_value_ref(g, i, out);
        fputs(": ", out);
        put_type(g, &v->type, out);
        fprintf(out, "  (%zu bytes)\n", v->data_bytes);
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead)
            continue;
        fputs("  ", out);
        for (int j = 0; j < n->n_outputs; j++) {
            if (j)
                fputs(", ", out);
            print_value_ref(g, n->outputs[j], out);
        }
        fprintf(out, " = %s(", ir_ops[n->op].name);
        for (int j = 0; j < n->n_inputs; j++) {
            if (j)
                fputs(", ", out);
            print_value_ref(g, n->inputs[j], out);
        }
        fputc(')', out);
        print_attrs(n, out);
        for (int j = 0; j < n->n_epilogue; j++) {
            const Epilogue *e = &n->epilogue[j];
            fprintf(out, " |> %s", ir_ops[e->op].name);
            if (e->operand != IR_NONE) {
                fputs(e->operand_first ? "(" : "(_, ", out);
                print_value_ref(g, e->operand, out);
                fputs(e->operand_first ? ", _)" : ")", out);
            }
        }
        if (n->n_outputs) {
            fputs(" : ", out);
            put_type(g, &g->values[n->outputs[0]].type, out);
        }
        if (n->device != IR_DEVICE_CPU)
            fprintf(out, " @%s", ir_device_name(n->device));
        fputs("   ; ", out);
        ir_esc_term_put(out, n->name);
        fputc('\n', out);
    }
    fputs("  return ", out);
    for (int i = 0; i < g->n_outputs; i++) {
        if (i)
            fputs(", ", out);
        print_value_ref(g, g->outputs[i], out);
    }
    fputc('\n', out);
}

/* s inside a DOT quoted string (ir_esc_dot, names cut at IR_ESC_NAME_MAX). */
static void dot_text(FILE *out, const char *s)
{
    ir_esc_dot_put(out, s, IR_ESC_NAME_MAX);
}

static const char *dot_type(const Graph *g, const Type *t, char *buf, size_t size)
{
    char plain[200];
    ir_type_str(g, t, plain, sizeof plain);
    FILE *f = fmemopen(buf, size, "w");
    SLIMC_ASSERT(f);
    ir_esc_dot_put(f, plain, 0);
    fclose(f);
    buf[size - 1] = 0;
    return buf;
}

/* Graphviz: nodes are ops (boxes), inputs and constants ellipses, edges carry types. */
void ir_print_dot(const Graph *g, FILE *out)
{
    char t[1024];
    fputs("digraph \"", out);
    dot_text(out, g->name);
    fputs("\" {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n", out);
    int *uses = ir_arena_alloc(g->arena, sizeof *uses * ((size_t)g->n_values + 1));
    ir_uses(g, uses, NULL); /* one sweep, not one a value */
    for (int i = 0; i < g->n_values; i++) {
        const Value *v = &g->values[i];
        bool input = v->kind == IR_VALUE_INPUT;
        if (!input && !(v->kind == IR_VALUE_CONST && uses[i] > 0))
            continue;
        fprintf(out, "  v%d [shape=ellipse, %slabel=\"", i, input ? "" : "style=dashed, ");
        dot_text(out, v->name);
        fprintf(out, "\\n%s\"];\n", dot_type(g, &v->type, t, sizeof t));
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead)
            continue;
        fprintf(out, "  n%d [shape=box, style=rounded, label=\"", i);
        dot_text(out, n->name);
        fprintf(out, "\\n%s", ir_ops[n->op].name);
        for (int j = 0; j < n->n_epilogue; j++)
            fprintf(out, " + %s", ir_ops[n->epilogue[j].op].name);
        fputs("\"];\n", out);
        for (int j = 0; j < n->n_inputs + n->n_epilogue; j++) {
            ValueId v = j < n->n_inputs ? n->inputs[j] : n->epilogue[j - n->n_inputs].operand;
            if (v == IR_NONE)
                continue;
            const Value *val = &g->values[v];
            if (val->producer != IR_NONE)
                fprintf(out, "  n%d -> n%d [label=\"%s\"];\n", val->producer, i,
                        dot_type(g, &val->type, t, sizeof t));
            else
                fprintf(out, "  v%d -> n%d;\n", v, i);
        }
    }
    for (int i = 0; i < g->n_outputs; i++) {
        ValueId v = g->outputs[i];
        fprintf(out, "  out%d [shape=ellipse, label=\"output %d\\n%s\"];\n", i, i,
                dot_type(g, &g->values[v].type, t, sizeof t));
        if (g->values[v].producer != IR_NONE)
            fprintf(out, "  n%d -> out%d;\n", g->values[v].producer, i);
        else
            fprintf(out, "  v%d -> out%d;\n", v, i);
    }
    fputs("}\n", out);
}
