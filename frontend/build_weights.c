/* Module parameters and the weights file they are bound to by PyTorch state_dict names:
 * opening the file, checking each parameter's shape and dtype against it, converting to
 * f32 where declared so, and reporting tensors of the file that nothing used. */
#include "frontend/builder.h"
#include "frontend/files.h"
#include "frontend/st_sparse.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- parameters and the weights file ---- */

static char *shape_str(const StTensor *t, char *buf, size_t size)
{
    size_t len = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < t->ndim && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%lld", i ? ", " : "",
                                (long long)t->shape[i]);
    if (len < size)
        snprintf(buf + len, size - len, "]");
    return buf;
}

static char *want_str(const Param *p, char *buf, size_t size)
{
    StTensor t = {.ndim = p->shape.rank};
    for (int i = 0; i < p->shape.rank; i++)
        t.shape[i] = p->shape.d[i].c;
    return shape_str(&t, buf, size);
}

static void close_weights(void *st)
{
    fe_st_close(st);
}

void fe_weights_open(Builder *b, const AstStmt *line)
{
    b->weights = line;
    SrcLoc at = line->value->loc;
    if (!line->text[0]) {
        fe_error(b, at, "the weights file name is empty");
        return;
    }
    const char *path =
        line->text[0] == '/' ? line->text : ir_arena_printf(b->arena, "%s%s", b->dir, line->text);
    char shown[1200];
    if (strcmp(path, line->text) == 0)
        snprintf(shown, sizeof shown, "'%s'", line->text);
    else
        snprintf(shown, sizeof shown, "'%s' (%s)", line->text, path);
    struct stat sb;
    const char *why;
    int fd = fe_open_regular(path, &sb, &why); /* no FIFO, device, folder or /proc file */
    if (fd < 0) {
        if (why)
            fe_error(b, at, "weights file %s %s", shown, why);
        else
            fe_error(b, at, "cannot open weights file %s: %s", shown, strerror(errno));
        return;
    }
    close(fd);
    fe_note_input(b->g, path, &sb);
    b->st = fe_st_open(path, b->d);
    if (!b->st) {
        ir_diag_note(b->d, at, "while reading the weights of model '%s'", b->model->name);
        return;
    }
    ir_graph_on_free(b->g, close_weights, b->st);
}

/* t's data as f32 in the graph's arena (converted, or copied when misaligned). */
static const void *to_f32(Builder *b, const StTensor *t, size_t count)
{
    float *out = ir_arena_alloc(b->g->arena, count * sizeof(float) + 1);
    const unsigned char *src = t->data;
    for (size_t i = 0; i < count; i++) {
        switch (t->dtype) {
        case IR_F64: {
            double v;
            memcpy(&v, src + 8 * i, sizeof v);
            out[i] = (float)v;
            break;
        }
        case IR_F16: {
            uint16_t h;
            memcpy(&h, src + 2 * i, sizeof h);
            out[i] = (float)ir_f16_value(h);
            break;
        }
        case IR_BF16: {
            uint16_t h;
            memcpy(&h, src + 2 * i, sizeof h);
            uint32_t bits = (uint32_t)h << 16;
            memcpy(&out[i], &bits, sizeof bits);
            break;
        }
        default: memcpy(&out[i], src + 4 * i, sizeof(float)); break;
        }
    }
    return out;
}

/* The compact sparse form of p (frontend/st_sparse.h): true when p's metadata entry says
 * it is stored so, and then p holds the rebuilt dense tensor (arena-owned) or an error was
 * reported naming the file and the tensor. dense_too: the file also holds p densely. */
static bool compact_bind(Builder *b, Module *m, Param *p, bool dense_too)
{
    int64_t want[IR_MAX_RANK];
    size_t count = 1;
    for (int i = 0; i < p->shape.rank; i++) {
        want[i] = p->shape.d[i].c;
        count *= (size_t)want[i]; /* a module's static shape: checked when declared */
    }
    const char *meta = fe_st_metadata_get(b->st, p->name);
    if (!meta || strncmp(meta, "sparse_", 7) != 0)
        return false;
    if (dense_too) {
        fe_error(b, m->loc,
                 "parameter '%s' is in weights file '%s' both densely and in a compact form "
                 "(its \"__metadata__\" entry)",
                 p->name, b->weights->text);
        return true;
    }
    if (p->dtype != IR_F32) {
        fe_error(b, m->loc,
                 "parameter '%s' (%s) has a compact form in weights file '%s'; only f32 "
                 "parameters may",
                 p->name, ir_dtype_name(p->dtype), b->weights->text);
        return true;
    }
    bool present;
    char why[1600];
    if (!fe_st_sparse_decode(b->st, p->name, want, p->shape.rank, NULL, &present, why,
                             sizeof why)) {
        fe_error(b, m->loc, "weights file '%s': %s (of %s '%s')", b->weights->text, why,
                 m->type_name, m->path);
        return true;
    }
    /* checked first: the dense tensor is allocated for a valid form only */
    float *out = ir_arena_alloc(b->g->arena, count * sizeof(float) + 1);
    bool done =
        fe_st_sparse_decode(b->st, p->name, want, p->shape.rank, out, &present, why, sizeof why);
    SLIMC_ASSERT(done);
    p->data = out;
    p->bytes = count * sizeof(float);
    return true;
}

void fe_param_bind(Builder *b, Module *m, Param *p)
{
    if (!b->weights && b->init_missing_weights) {
        fe_param_init(b, m, p);
        return;
    }
    if (!b->weights) {
        if (!b->no_weights_reported)
            fe_error(b, m->loc,
                     "'%s' has parameters, but model '%s' has no weights line (weights "
                     "\"FILE.safetensors\")",
                     m->path, b->model->name);
        b->no_weights_reported = true;
        return;
    }
    if (!b->st)
        return; /* the file could not be read: reported at the weights line */
    char want[200], got[200];
    want_str(p, want, sizeof want);
    StTensor *t = fe_st_find(b->st, p->name);
    if (compact_bind(b, m, p, t != NULL))
        return;
    if (!t) {
        const char **names =
            ir_arena_alloc(b->arena, sizeof(char *) * (size_t)(b->st->n_tensors + 1));
        for (int i = 0; i < b->st->n_tensors; i++)
            names[i] = b->st->tensors[i].used ? NULL : b->st->tensors[i].name;
        const char *hint = fe_suggest(p->name, names, b->st->n_tensors);
        fe_error(b, m->loc,
                 "parameter '%s' (%s%s, of %s '%s') is missing from weights file '%s'%s%s%s",
                 p->name, ir_dtype_name(p->dtype), want, m->type_name, m->path, b->weights->text,
                 hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
        return;
    }
    t->used = true;
    bool same = t->ndim == p->shape.rank;
    for (int i = 0; same && i < t->ndim; i++)
        same = t->shape[i] == p->shape.d[i].c;
    if (!same) {
        fe_error(b, m->loc, "parameter '%s' has shape %s in '%s', but %s '%s' needs %s", p->name,
                 shape_str(t, got, sizeof got), b->weights->text, m->type_name, m->path, want);
        return;
    }
    size_t count = 1;
    for (int i = 0; i < t->ndim; i++)
        count *= (size_t)t->shape[i];
    if (p->dtype != IR_F32) { /* the integer tensors of quantized modules: no conversion */
        const size_t size = ir_dtype_bytes(p->dtype, (int64_t)count);
        const size_t align = (size_t)ir_dtype_bits(p->dtype) / 8;
        if (t->dtype != p->dtype) {
            fe_error(b, m->loc, "parameter '%s' is %s in '%s'; %s '%s' needs %s", p->name,
                     ir_dtype_name(t->dtype), b->weights->text, m->type_name, m->path,
                     ir_dtype_name(p->dtype));
            return;
        }
        if ((uintptr_t)t->data % align == 0) {
            p->data = t->data;
        } else {
            void *copy = ir_arena_alloc(b->g->arena, size + 1);
            memcpy(copy, t->data, size);
            p->data = copy;
        }
        p->bytes = size;
        return;
    }
    switch (t->dtype) {
    case IR_F32:
        p->data =
            t->aligned && (uintptr_t)t->data % sizeof(float) == 0 ? t->data : to_f32(b, t, count);
        break;
    case IR_F64:
    case IR_F16:
    case IR_BF16:
        p->data = to_f32(b, t, count);
        b->n_converted++;
        b->converted_from |= 1u << t->dtype;
        break;
    default:
        fe_error(b, m->loc,
                 "parameter '%s' is %s in '%s'; it must be a float type (f32, f16, bf16 or f64)",
                 p->name, ir_dtype_name(t->dtype), b->weights->text);
        return;
    }
    p->bytes = count * sizeof(float);
}

ValueId fe_param_value(Builder *b, Module *m, int i)
{
    Param *p = &m->params[i];
    if (p->v == IR_NONE) {
        Type t = {.dtype = p->dtype, .shape = p->shape};
        SrcLoc loc = fe_gloc(b, m->loc);
        /* Without data (an error was reported) a typed placeholder keeps shapes going. */
        p->v = p->data ? ir_const_new(b->g, p->name, t, p->data, p->bytes, loc)
                       : ir_value_new(b->g, p->name, t, loc);
    }
    return p->v;
}

void fe_weights_finish(Builder *b)
{
    if (!b->st)
        return;
    SrcLoc at = b->weights->loc;
    if (b->n_converted) {
        char from[64];
        size_t len = 0;
        from[0] = 0;
        for (int t = 0; t < IR_NUM_DTYPES; t++)
            if (b->converted_from & (1u << t))
                len += (size_t)snprintf(from + len, sizeof from - len, "%s%s", len ? ", " : "",
                                        ir_dtype_name((DType)t));
        ir_diag_note(b->d, at, "%d parameter%s converted to f32 (from %s)", b->n_converted,
                     b->n_converted == 1 ? "" : "s", from);
    }
    if (b->d->n_errors > b->errors_at_start)
        return; /* parameters of broken declarations would show up as unused */
    int unused = 0;
    for (int i = 0; i < b->st->n_tensors; i++)
        unused += !b->st->tensors[i].used;
    if (!unused)
        return;
    enum { SHOWN = 5 };
    char list[1024];
    size_t len = 0;
    list[0] = 0;
    for (int i = 0, k = 0; i < b->st->n_tensors && k < SHOWN && len < sizeof list; i++)
        if (!b->st->tensors[i].used)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s'%s'", k++ ? ", " : "",
                                    b->st->tensors[i].name);
    if (unused > SHOWN && len < sizeof list)
        snprintf(list + len, sizeof list - len, " and %d more", unused - SHOWN);
    ir_diag_warning(b->d, at, "%d tensor%s in '%s' %s not used by model '%s': %s", unused,
                    unused == 1 ? "" : "s", b->weights->text, unused == 1 ? "is" : "are",
                    b->model->name, list);
}
