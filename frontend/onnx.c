/* The ONNX importer's driver: reads a ModelProto with protobuf-c, checks it (opsets,
 * initializers, external data, names, cycles), binds inputs and initializers, then walks
 * the nodes in a topological order, handing each to onnx_ops.c. Tensor data and the reader
 * of TensorProto (.pb) files are frontend/onnx_tensor.c's. Without protobuf-c in the build,
 * every entry point says so. */
#include "frontend/onnx.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SLIMC_WITH_ONNX

Graph *fe_onnx_load(const char *path, Diag *d)
{
    ir_diag_error(d, (SrcLoc){path, 0, 0},
                  "this slimc was built without ONNX import (needs protoc-c, libprotobuf-c and "
                  "libonnx-dev at build time; see scripts/install-deps.sh)");
    return NULL;
}

Graph *fe_onnx_parse(const char *path, const void *buf, size_t len, Diag *d)
{
    (void)buf;
    (void)len;
    return fe_onnx_load(path, d);
}

Graph *fe_onnx_load_ex(const char *path, const FeOnnxOptions *o, Diag *d)
{
    (void)o;
    return fe_onnx_load(path, d);
}

Graph *fe_onnx_parse_ex(const char *path, const void *buf, size_t len, const FeOnnxOptions *o,
                        Diag *d)
{
    (void)o;
    return fe_onnx_parse(path, buf, len, d);
}

bool fe_onnx_tensor_read(const char *path, NpyArray *out, char **name, Diag *d)
{
    (void)name;
    memset(out, 0, sizeof *out);
    fe_onnx_load(path, d);
    return false;
}

bool fe_onnx_tensor_parse(const char *path, const void *buf, size_t len, NpyArray *out, char **name,
                          Diag *d)
{
    (void)buf;
    (void)len;
    return fe_onnx_tensor_read(path, out, name, d);
}

#else

#include "frontend/files.h"
#include "frontend/onnx_internal.h"
#include "frontend/dim_fix.h"
#include "ir/text_escape.h"
#include "ir/limits.h"
#include "runtime/model_desc.h" /* rt_file_kind */

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- constants ---- */

/* v as an integer, saturating (NaN is 0): no undefined conversions on hostile input. */
static int64_t to_int(double v)
{
    if (!(v == v))
        return 0;
    if (v >= 9.2e18)
        return INT64_MAX;
    if (v <= -9.2e18)
        return INT64_MIN;
    return (int64_t)v;
}

int64_t ox_const_numel(const OxConst *c)
{
    int64_t n;
    SLIMC_ASSERT(ir_ckd_numel(c->shape, c->rank, &n)); /* checked where c was made */
    return n;
}

double ox_const_get(const OxConst *c, int64_t i)
{
    return ir_dtype_get(c->dtype, c->data, i);
}

int64_t ox_const_get_i(const OxConst *c, int64_t i)
{
    if (c->dtype == IR_I64) {
        int64_t v;
        memcpy(&v, (const unsigned char *)c->data + 8 * i, 8);
        return v;
    }
    return to_int(ox_const_get(c, i));
}

bool ox_const_make(OxImporter *im, OxConst *c, DType dt, int rank, const int64_t *shape)
{
    memset(c, 0, sizeof *c);
    c->dtype = dt;
    /* The size in double first: dims from the file may multiply past 2^64. */
    double bytes = (double)ir_dtype_bits(dt) / 8;
    for (int i = 0; i < rank; i++)
        bytes *= (double)shape[i];
    if (!(bytes <= (double)im->g->max_memory)) {
        char what[320];
        snprintf(what, sizeof what, "node '%.256s': constant result", im->node ? im->node : "?");
        ir_check_memory(bytes, im->g->max_memory, what, (SrcLoc){im->path, 0, 0}, im->d);
        c->data = ir_arena_alloc(im->g->arena, 8); /* a zero scalar, for callers that go on */
        memset((void *)c->data, 0, 8);
        return false;
    }
    c->rank = rank;
    for (int i = 0; i < rank; i++)
        c->shape[i] = shape[i];
    int64_t numel;
    const char *fault = NULL;
    if (!ir_ckd_numel(shape, rank, &numel))
        fault = "element count overflows";
    else if (!ir_ckd_bytes(dt, numel, &c->nbytes))
        fault = "byte size overflows";
    if (fault) {
        char dims[IR_MAX_RANK * 24 + 8] = "";
        size_t len = 0;
        for (int i = 0; i < rank; i++)
            len += (size_t)snprintf(dims + len, sizeof dims - len, "%s%lld", i ? " x " : "",
                                    (long long)shape[i]);
        ir_diag_error(im->d, (SrcLoc){im->path, 0, 0},
                      "node '%s': the %s constant it needs is too large: %s (dims %s)",
                      im->node ? im->node : "?", ir_dtype_name(dt), fault, dims);
        c->rank = 1;
        c->shape[0] = 0;
        c->nbytes = 0;
    }
    void *p = ir_arena_alloc(im->g->arena, c->nbytes ? c->nbytes : 1);
    memset(p, 0, c->nbytes ? c->nbytes : 1);
    c->data = p;
    return !fault;
}

void ox_const_set(OxConst *c, int64_t i, double v)
{
    unsigned char *p = (unsigned char *)c->data;
    SLIMC_ASSERT(i >= 0 && i < ox_const_numel(c)); /* never past the buffer */
    if (c->dtype != IR_F32 && c->dtype != IR_F64 && c->dtype != IR_BOOL && c->dtype != IR_F16 &&
        c->dtype != IR_BF16)
        v = (double)to_int(v);
    if (c->dtype == IR_I32)
        v = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v;
    else if (c->dtype == IR_I16)
        v = v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : v;
    else if (c->dtype == IR_I8)
        v = v > INT8_MAX ? INT8_MAX : v < INT8_MIN ? INT8_MIN : v;
    else if (c->dtype == IR_U8)
        v = v > UINT8_MAX ? UINT8_MAX : v < 0 ? 0 : v;
    else if (c->dtype == IR_U16)
        v = v > UINT16_MAX ? UINT16_MAX : v < 0 ? 0 : v;
    else if (c->dtype == IR_U32)
        v = v > UINT32_MAX ? UINT32_MAX : v < 0 ? 0 : v;
    else if (c->dtype == IR_U64)
        v = v < 0 ? 0 : v;
    switch (c->dtype) {
    case IR_F32: {
        float x = (float)v;
        memcpy(p + 4 * i, &x, 4);
        break;
    }
    case IR_F64: memcpy(p + 8 * i, &v, 8); break;
    case IR_I64: {
        int64_t x = to_int(v);
        memcpy(p + 8 * i, &x, 8);
        break;
    }
    case IR_I32: {
        int32_t x = (int32_t)v;
        memcpy(p + 4 * i, &x, 4);
        break;
    }
    case IR_I16: {
        int16_t x = (int16_t)v;
        memcpy(p + 2 * i, &x, 2);
        break;
    }
    case IR_I8: p[i] = (unsigned char)(int8_t)v; break;
    case IR_U8: p[i] = (unsigned char)v; break;
    case IR_BOOL: p[i] = v != 0; break;
    case IR_F16:
    case IR_BF16: {
        uint16_t x = c->dtype == IR_F16 ? ir_f16_bits(v) : ir_bf16_bits(v);
        memcpy(p + 2 * i, &x, 2);
        break;
    }
    case IR_U16: {
        uint16_t x = (uint16_t)v;
        memcpy(p + 2 * i, &x, 2);
        break;
    }
    case IR_U32: {
        uint32_t x = (uint32_t)v;
        memcpy(p + 4 * i, &x, 4);
        break;
    }
    case IR_U64: {
        uint64_t x = (uint64_t)to_int(v);
        memcpy(p + 8 * i, &x, 8);
        break;
    }
    default: break;
    }
}

/* ---- the name table ---- */

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int *find_slot(OxImporter *im, const char *name)
{
    uint32_t mask = (uint32_t)im->hash_cap - 1;
    for (uint32_t i = hash_str(name) & mask;; i = (i + 1) & mask) {
        int *slot = &im->hash[i];
        if (*slot < 0 || strcmp(im->entries[*slot].name, name) == 0)
            return slot;
    }
}

OxEntry *ox_lookup(OxImporter *im, const char *name)
{
    if (im->hash_cap == 0)
        return NULL;
    int *slot = find_slot(im, name);
    return *slot < 0 ? NULL : &im->entries[*slot];
}

static OxEntry *bind(OxImporter *im, const char *name)
{
    if (2 * (im->n_entries + 1) > im->hash_cap) {
        int cap = im->hash_cap ? im->hash_cap * 2 : 64;
        free(im->hash);
        im->hash = malloc(sizeof(int) * (size_t)cap);
        SLIMC_ASSERT(im->hash);
        memset(im->hash, 0xff, sizeof(int) * (size_t)cap);
        im->hash_cap = cap;
        for (int i = 0; i < im->n_entries; i++)
            *find_slot(im, im->entries[i].name) = i;
    }
    int *slot = find_slot(im, name);
    if (*slot < 0) {
        if (im->n_entries == im->cap_entries) {
            im->cap_entries = im->cap_entries ? 2 * im->cap_entries : 64;
            im->entries = realloc(im->entries, sizeof(OxEntry) * (size_t)im->cap_entries);
            SLIMC_ASSERT(im->entries);
        }
        *slot = im->n_entries++;
    }
    OxEntry *e = &im->entries[*slot];
    memset(e, 0, sizeof *e);
    e->name = ir_arena_strdup(im->g->arena, name);
    e->v = IR_NONE;
    return e;
}

void ox_bind_value(OxImporter *im, const char *name, ValueId v)
{
    if (!name || !*name)
        return;
    OxEntry *e = bind(im, name);
    e->v = v;
    if (v != IR_NONE && im->g->values[v].type.shape.rank < 0)
        e->broken = true;
}

void ox_bind_const(OxImporter *im, const char *name, const OxConst *c)
{
    if (!name || !*name)
        return;
    OxEntry *e = bind(im, name);
    e->is_const = true;
    e->c = *c;
}

void ox_bind_sym(OxImporter *im, const char *name, const OxSym *s)
{
    if (name && *name)
        bind(im, name)->sym = s;
}

static void bind_broken(OxImporter *im, const char *name)
{
    if (*name)
        bind(im, name)->broken = true;
}

ValueId ox_value(OxImporter *im, OxEntry *e)
{
    if (e->v == IR_NONE && e->is_const) {
        Type t = {e->c.dtype, {e->c.rank, {{0}}}, NULL};
        for (int i = 0; i < e->c.rank; i++)
            t.shape.d[i] = ir_dim(e->c.shape[i]);
        e->v = ir_const_new(im->g, e->name, t, e->c.data, e->c.nbytes, (SrcLoc){im->path, 0, 0});
    }
    return e->v;
}

void ox_needs_constant(OxImporter *im, const OxEntry *e)
{
    if (e && !e->is_const && e->v != IR_NONE && im->g->values[e->v].kind == IR_VALUE_INPUT &&
        im->opts->needs_constant)
        im->opts->needs_constant(im->opts->arg, e->name);
}

OxResult ox_unsupported(OxImporter *im, const OxNode *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *domain = n->p->domain && *n->p->domain ? n->p->domain : "ai.onnx";
    /* one line per node: its names escaped here, newlines included (diag keeps the
     * message's newlines: its format has one) */
    char *text = NULL;
    size_t len = 0;
    FILE *line = open_memstream(&text, &len);
    SLIMC_ASSERT(line);
    fprintf(line, "node '%s': %s (%s opset %d): ", n->name, n->p->op_type, domain, im->opset);
    vfprintf(line, fmt, ap);
    fclose(line);
    fputs(im->n_unsupported ? "\n  " : "  ", im->unsupported);
    ir_esc_term_putn(im->unsupported, text, len, false);
    free(text);
    va_end(ap);
    im->n_unsupported++;
    return OX_UNSUPPORTED;
}

/* ---- attributes ---- */

const Onnx__AttributeProto *ox_attr(const OxNode *n, const char *name)
{
    for (size_t i = 0; i < n->p->n_attribute; i++)
        if (n->p->attribute[i]->name && strcmp(n->p->attribute[i]->name, name) == 0)
            return n->p->attribute[i];
    return NULL;
}

/* The first attribute of the node being mapped that a mapping read as another type than
 * the file says (an INT read where a FLOAT or a TENSOR is given...): the accessors below
 * return their default for it, and import_nodes reports it once the node is mapped, as ORT
 * refuses such a model. One node at a time per thread. */
static _Thread_local const Onnx__AttributeProto *attr_mismatch;
static _Thread_local const char *attr_wanted;

static const char *attr_type_name(int t)
{
    static const char *const names[] = {
        "UNDEFINED",      "FLOAT",      "INT",        "STRING",  "TENSOR", "GRAPH",
        "FLOATS",         "INTS",       "STRINGS",    "TENSORS", "GRAPHS", "SPARSE_TENSOR",
        "SPARSE_TENSORS", "TYPE_PROTO", "TYPE_PROTOS"};
    return t >= 0 && t < (int)(sizeof names / sizeof names[0]) ? names[t] : "of an unknown type";
}

static const Onnx__AttributeProto *attr_typed(const OxNode *n, const char *name, int type,
                                              const char *type_name)
{
    const Onnx__AttributeProto *a = ox_attr(n, name);
    if (a && a->has_type && (int)a->type != type) {
        if (!attr_mismatch) {
            attr_mismatch = a;
            attr_wanted = type_name;
        }
        return NULL;
    }
    return a;
}

int64_t ox_attr_int(const OxNode *n, const char *name, int64_t dflt)
{
    const Onnx__AttributeProto *a =
        attr_typed(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, "INT");
    return a && a->has_i ? a->i : dflt;
}

float ox_attr_float(const OxNode *n, const char *name, float dflt)
{
    const Onnx__AttributeProto *a =
        attr_typed(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, "FLOAT");
    return a && a->has_f ? a->f : dflt;
}

int ox_attr_ints(const OxNode *n, const char *name, int64_t *out, int max)
{
    const Onnx__AttributeProto *a =
        attr_typed(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS, "INTS");
    if (!a)
        return 0;
    int k = (int)a->n_ints;
    for (int i = 0; i < k && i < max; i++)
        out[i] = a->ints[i];
    return k;
}

const char *ox_attr_string(OxImporter *im, const OxNode *n, const char *name, const char *dflt)
{
    const Onnx__AttributeProto *a =
        attr_typed(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING, "STRING");
    if (!a || !a->has_s)
        return dflt;
    return ir_arena_strndup(im->g->arena, (const char *)a->s.data, a->s.len);
}

/* ---- the graph ---- */

/* An identifier from s: [A-Za-z0-9_.], others '_'. */
static char *ir_ident(Arena *a, const char *s)
{
    char *r = ir_arena_strdup(a, s);
    for (char *p = r; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '.'))
            *p = '_';
    return r;
}

/* Graph inputs (those without an initializer) with their declared types. */
/* The constant bound to graph input name by the caller (FeOnnxOptions), or NULL. */
static const NpyArray *bound_constant(const OxImporter *im, const char *name)
{
    for (int k = 0; k < im->opts->n_constants; k++)
        if (strcmp(im->opts->constants[k].name, name) == 0)
            return im->opts->constants[k].value;
    return NULL;
}

/* The dim_param of dim k of vi, or NULL (a value, or neither). */
static const char *dim_param(const Onnx__ValueInfoProto *vi, size_t k)
{
    const Onnx__TypeProto__Tensor *tt =
        vi->type && vi->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE
            ? vi->type->tensor_type
            : NULL;
    if (!tt || !tt->shape || k >= tt->shape->n_dim)
        return NULL;
    const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[k];
    return dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                   dim->dim_param && *dim->dim_param
               ? dim->dim_param
               : NULL;
}

/* Tells fx (--shape, --dim) about the graph inputs: their names and dim_params. */
static void fixer_start(OxImporter *im, const Onnx__GraphProto *gp, FeFixer *fx)
{
    const char **names = ir_arena_alloc(im->g->arena, sizeof(char *) * (gp->n_input + 1));
    int *which = ir_arena_alloc(im->g->arena, sizeof(int) * (gp->n_input + 1));
    int n = 0;
    for (size_t i = 0; i < gp->n_input; i++) {
        const char *name = gp->input[i]->name ? gp->input[i]->name : "";
        if (!ox_lookup(im, name) && !bound_constant(im, name)) {
            which[n] = (int)i;
            names[n++] = name;
        }
    }
    fe_fixer_init(fx, im->opts->fixes, names, n, im->path, im->d);
    for (int j = 0; j < n; j++) {
        const Onnx__ValueInfoProto *vi = gp->input[which[j]];
        /* type is a oneof: tensor_type is only valid for a tensor (a sequence or an
         * optional input shares its storage) */
        const Onnx__TypeProto__Tensor *tt =
            vi->type && vi->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE
                ? vi->type->tensor_type
                : NULL;
        if (!tt || !tt->shape || tt->shape->n_dim > IR_MAX_RANK)
            continue; /* reported by bind_inputs */
        const char *syms[IR_MAX_RANK];
        for (size_t k = 0; k < tt->shape->n_dim; k++)
            syms[k] = dim_param(vi, k);
        fe_fixer_learn(fx, j, (int)tt->shape->n_dim, syms);
    }
}

/* A cast of v to dt (named name), its type inferred; IR_NONE after an error. */
static ValueId cast_to(Graph *g, ValueId v, DType dt, const char *name, SrcLoc at, Diag *d)
{
    OpKind cast;
    SLIMC_ASSERT(ir_op_lookup("cast", &cast));
    NodeId id = ir_node_new(g, cast, ir_ident(g->arena, name), at, &v, 1, 1);
    ir_node_set_int(g, id, "dtype", dt);
    return ir_infer_node(g, id, d) ? g->nodes[id].outputs[0] : IR_NONE;
}

/* Whether gp has f16 / bf16 initializers: then it computes in f32 (OxImporter.f16_as_f32). */
static bool has_half_weights(const Onnx__GraphProto *gp)
{
    for (size_t i = 0; i < gp->n_initializer; i++)
        if (gp->initializer[i]->has_data_type &&
            (gp->initializer[i]->data_type == 10 || gp->initializer[i]->data_type == 16))
            return true;
    return false;
}

static bool bind_inputs(OxImporter *im, const Onnx__GraphProto *gp)
{
    bool ok = true;
    FeFixer fx;
    fixer_start(im, gp, &fx);
    int position = 0; /* among the inputs that are not constants */
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        const char *name = vi->name ? vi->name : "";
        if (ox_lookup(im, name))
            continue; /* an initializer: a constant (ONNX lets it be overridden; slimc does not) */
        const NpyArray *fixed = bound_constant(im, name);
        if (fixed) {
            OxConst c = {fixed->dtype, fixed->ndim, {0}, NULL, fixed->nbytes};
            for (int k = 0; k < fixed->ndim; k++)
                c.shape[k] = fixed->shape[k];
            void *copy = ir_arena_alloc(im->g->arena, fixed->nbytes + 1);
            if (fixed->nbytes)
                memcpy(copy, fixed->data, fixed->nbytes);
            c.data = copy;
            ox_bind_const(im, name, &c);
            continue;
        }
        int pos = position++;
        SrcLoc at = {im->path, 0, 0};
        if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
            ir_diag_error(im->d, at, "graph input '%s': only tensor inputs are supported", name);
            ok = false;
            continue;
        }
        const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
        Type t = {IR_F32, {0, {{0}}}, NULL};
        if (!ox_onnx_dtype(tt->elem_type, &t.dtype)) {
            ir_diag_error(im->d, at, "graph input '%s': type %s is not supported", name,
                          ox_onnx_dtype_name(tt->elem_type));
            ok = false;
            continue;
        }
        if (!tt->shape) {
            ir_diag_error(im->d, at,
                          "graph input '%s': its shape is not given (slimc needs the rank)", name);
            ok = false;
            continue;
        }
        if (tt->shape->n_dim > IR_MAX_RANK) {
            ir_diag_error(im->d, at, "graph input '%s': rank %zu is more than %d", name,
                          tt->shape->n_dim, IR_MAX_RANK);
            ok = false;
            continue;
        }
        t.shape.rank = (int)tt->shape->n_dim;
        for (size_t k = 0; k < tt->shape->n_dim; k++) {
            const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[k];
            if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
                dim->dim_value >= 0) {
                t.shape.d[k] = ir_dim(dim->dim_value);
                continue;
            }
            const char *sym = dim_param(vi, k) ? ir_ident(im->g->arena, dim_param(vi, k))
                                               : ir_arena_printf(im->g->arena, "%s_dim%zu",
                                                                 ir_ident(im->g->arena, name), k);
            int64_t given;
            if (fe_fixer_symbol(&fx, dim_param(vi, k) ? dim_param(vi, k) : sym, &given)) {
                t.shape.d[k] = ir_dim(given); /* --dim, or a --shape that named it */
                continue;
            }
            if (fe_fixer_shape(&fx, pos)) {
                t.shape.d[k] = ir_dim(1); /* fe_fixer_apply sets it */
                continue;
            }
            int s = ir_graph_symbol(im->g, sym);
            if (s < 0) {
                ir_diag_error(im->d, at, "graph input '%s': more than %d symbolic dims", name,
                              IR_MAX_SYMS);
                ok = false;
                break;
            }
            t.shape.d[k] = (Dim){1, 1u << s};
        }
        if (!fe_fixer_apply(&fx, pos, name, &t.shape)) {
            ok = false;
            continue;
        }
        ValueId v = ir_input_new(im->g, name, t, at);
        ok &= ir_check_size(im->g, v, im->d);
        if (im->f16_as_f32 && (t.dtype == IR_F16 || t.dtype == IR_BF16))
            v = cast_to(im->g, v, IR_F32, ir_arena_printf(im->g->arena, "%s_f32", name), at, im->d);
        if (v == IR_NONE) {
            ok = false;
            continue;
        }
        ox_bind_value(im, name, v);
    }
    return fe_fixer_finish(&fx) && ok;
}

/* "'name' (Op)" of node i, into buf. */
static const char *node_label(const Onnx__GraphProto *gp, size_t i, char *buf, size_t size)
{
    const Onnx__NodeProto *np = gp->node[i];
    const char *op = np->op_type ? np->op_type : "?";
    if (np->name && *np->name)
        snprintf(buf, size, "'%s' (%s)", np->name, op);
    else
        snprintf(buf, size, "'%s_%zu' (%s)", op, i, op);
    return buf;
}

/* Binds name, an output of node i, to i in the side map tmp. ONNX graphs are SSA, and ONNX
 * Runtime refuses a name defined twice: a second writer, or a node writing a graph input or
 * an initializer, is an error naming both (false). */
static bool bind_output(OxImporter *im, OxImporter *tmp, const Onnx__GraphProto *gp, size_t i,
                        const char *name)
{
    char a[256], b[256];
    const OxEntry *prev = ox_lookup(tmp, name), *def = ox_lookup(im, name);
    if (prev && (size_t)prev->v == i)
        ir_diag_error(im->d, (SrcLoc){im->path, 0, 0}, "node %s writes '%s' twice",
                      node_label(gp, i, a, sizeof a), name);
    else if (prev)
        ir_diag_error(im->d, (SrcLoc){im->path, 0, 0},
                      "nodes %s and %s both write '%s': the graph is not SSA",
                      node_label(gp, (size_t)prev->v, a, sizeof a), node_label(gp, i, b, sizeof b),
                      name);
    else if (def)
        ir_diag_error(im->d, (SrcLoc){im->path, 0, 0}, "node %s writes '%s', which is %s",
                      node_label(gp, i, a, sizeof a), name,
                      def->is_const ? "an initializer" : "a graph input");
    else {
        bind(tmp, name)->v = (ValueId)i;
        return true;
    }
    return false;
}

/* Appends to v (at *k, grown to *cap) the names the nodes of np's subgraphs (If's
 * branches, Loop's body, recursively) read: np's implicit inputs from the enclosing scope,
 * with names the subgraphs make themselves among them (topo_order skips those). */
static void subgraph_reads(const Onnx__NodeProto *np, const char ***v, size_t *k, size_t *cap)
{
    for (size_t a = 0; a < np->n_attribute; a++) {
        const Onnx__AttributeProto *at = np->attribute[a];
        size_t ng = at->g ? 1 : at->n_graphs;
        for (size_t gi = 0; gi < ng; gi++) {
            const Onnx__GraphProto *g = at->g ? at->g : at->graphs[gi];
            for (size_t i = 0; g && i < g->n_node; i++) {
                for (size_t j = 0; j < g->node[i]->n_input; j++) {
                    if (*k == *cap) {
                        *cap = *cap ? 2 * *cap : 16;
                        *v = realloc(*v, sizeof(char *) * *cap);
                        SLIMC_ASSERT(*v);
                    }
                    (*v)[(*k)++] = g->node[i]->input[j];
                }
                subgraph_reads(g->node[i], v, k, cap);
            }
            for (size_t i = 0; g && i < g->n_output; i++) { /* an output may be an outer name */
                if (*k == *cap) {
                    *cap = *cap ? 2 * *cap : 16;
                    *v = realloc(*v, sizeof(char *) * *cap);
                    SLIMC_ASSERT(*v);
                }
                (*v)[(*k)++] = g->output[i]->name;
            }
        }
    }
}

/* The names node np depends on: its inputs (the first np->n_input) then its implicit
 * inputs (subgraph_reads); a malloc'd array of *count. */
static const char **node_reads(const Onnx__NodeProto *np, size_t *count)
{
    size_t k = np->n_input, cap = np->n_input + 1;
    const char **v = malloc(sizeof(char *) * cap);
    SLIMC_ASSERT(v);
    for (size_t j = 0; j < np->n_input; j++)
        v[j] = np->input[j];
    subgraph_reads(np, &v, &k, &cap);
    *count = k;
    return v;
}

/* Orders the nodes so that each comes after the producers of its inputs (Kahn), the
 * implicit inputs of its subgraphs included. Reports a name nothing produces, and a
 * cycle; returns the order or NULL. */
static int *topo_order(OxImporter *im, const Onnx__GraphProto *gp)
{
    size_t n = gp->n_node;
    int *order = malloc(sizeof(int) * (n + 1));
    int *pending = calloc(n + 1, sizeof(int));
    SLIMC_ASSERT(order && pending);
    /* producer of each name: reuse the name table temporarily through a side map */
    OxImporter tmp = *im;
    tmp.entries = NULL;
    tmp.n_entries = tmp.cap_entries = 0;
    tmp.hash = NULL;
    tmp.hash_cap = 0;
    bool ok = true;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < gp->node[i]->n_output; k++)
            if (gp->node[i]->output[k] && *gp->node[i]->output[k])
                ok &= bind_output(im, &tmp, gp, i, gp->node[i]->output[k]);
    /* users of node i: users[start[i] .. start[i] + n_users[i]) */
    int *n_users = calloc(n + 1, sizeof(int)), *start = calloc(n + 2, sizeof(int));
    SLIMC_ASSERT(n_users && start);
    for (size_t i = 0; i < n; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        size_t nr;
        const char **reads = node_reads(np, &nr);
        for (size_t k = 0; k < nr; k++) {
            const char *in = reads[k];
            if (!in || !*in || ox_lookup(im, in))
                continue;
            OxEntry *e = ox_lookup(&tmp, in);
            if (k >= np->n_input && (!e || (size_t)e->v == i))
                continue; /* made inside the subgraph */
            if (!e) {
                ir_diag_error(im->d, (SrcLoc){im->path, 0, 0},
                              "node '%s' (%s): input '%s' is produced by no node, initializer or "
                              "graph input",
                              np->name && *np->name ? np->name : "(unnamed)",
                              np->op_type ? np->op_type : "?", in);
                ok = false;
                continue;
            }
            pending[i]++;
            n_users[e->v]++;
        }
        free(reads);
    }
    for (size_t i = 0; i < n; i++)
        start[i + 1] = start[i] + n_users[i];
    int total = ok ? start[n] : 0;
    int *users = malloc(sizeof(int) * (size_t)(total + 1));
    int *fill = calloc(n + 1, sizeof(int));
    SLIMC_ASSERT(users && fill);
    for (size_t i = 0; i < n && ok; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        size_t nr;
        const char **reads = node_reads(np, &nr);
        for (size_t k = 0; k < nr; k++) {
            const char *in = reads[k];
            if (!in || !*in || ox_lookup(im, in))
                continue;
            OxEntry *e = ox_lookup(&tmp, in);
            if (k >= np->n_input && (!e || (size_t)e->v == i))
                continue;
            users[start[e->v] + fill[e->v]++] = (int)i;
        }
        free(reads);
    }
    int head = 0, tail = 0;
    if (ok) {
        for (size_t i = 0; i < n; i++)
            if (pending[i] == 0)
                order[tail++] = (int)i;
        while (head < tail) {
            int i = order[head++];
            for (int u = start[i]; u < start[i] + n_users[i]; u++)
                if (--pending[users[u]] == 0)
                    order[tail++] = users[u];
        }
        if ((size_t)tail != n) {
            for (size_t i = 0; i < n; i++)
                if (pending[i] > 0) {
                    const Onnx__NodeProto *np = gp->node[i];
                    ir_diag_error(im->d, (SrcLoc){im->path, 0, 0},
                                  "node '%s' (%s) is part of a cycle: the graph is not a DAG",
                                  np->name && *np->name ? np->name : "(unnamed)",
                                  np->op_type ? np->op_type : "?");
                    break;
                }
            ok = false;
        }
    }
    free(users);
    free(fill);
    free(n_users);
    free(start);
    free(pending);
    free(tmp.entries);
    free(tmp.hash);
    if (!ok) {
        free(order);
        return NULL;
    }
    return order;
}

static bool import_nodes(OxImporter *im, const Onnx__GraphProto *gp, const int *order)
{
    bool ok = true;
    for (size_t k = 0; k < gp->n_node; k++) {
        const Onnx__NodeProto *np = gp->node[order[k]];
        OxNode n = {.p = np};
        if (!np->op_type) {
            ir_diag_error(im->d, (SrcLoc){im->path, 0, 0}, "node %d has no op_type", order[k]);
            ok = false;
            continue;
        }
        n.name = np->name && *np->name
                     ? np->name
                     : ir_arena_printf(im->g->arena, "%s_%d", np->op_type, order[k]);
        n.ir_name = ir_ident(im->g->arena, n.name);
        n.loc = (SrcLoc){im->path, 0, 0};
        im->node = n.name;
        n.n_in = (int)np->n_input;
        n.in = ir_arena_alloc(im->g->arena, sizeof(OxEntry *) * (np->n_input + 1));
        bool broken = false;
        for (size_t i = 0; i < np->n_input; i++) {
            n.in[i] = np->input[i] && *np->input[i] ? ox_lookup(im, np->input[i]) : NULL;
            if (n.in[i] && n.in[i]->broken)
                broken = true;
        }
        n.n_out = (int)np->n_output;
        n.out = ir_arena_alloc(im->g->arena, sizeof(char *) * (np->n_output + 1));
        for (size_t i = 0; i < np->n_output; i++)
            n.out[i] = np->output[i] ? np->output[i] : "";
        OxResult r = OX_UNSUPPORTED;
        bool other_domain = np->domain && *np->domain && strcmp(np->domain, "ai.onnx") != 0;
        if (broken && (other_domain || !ox_op_known(np->op_type)))
            ox_unsupported(im, &n,
                           other_domain ? "operator domain '%s' is not supported"
                                        : "no mapping to slimc's IR%s",
                           other_domain ? np->domain : "");
        if (!broken) {
            int errors = im->d->n_errors;
            im->node = n.name;
            attr_mismatch = NULL;
            r = ox_import_node(im, &n);
            im->node = NULL;
            if (attr_mismatch && r != OX_ERROR) {
                ir_diag_error(im->d, n.loc, "node '%s' (%s): attribute '%s' is %s, not %s", n.name,
                              np->op_type, attr_mismatch->name,
                              attr_type_name((int)attr_mismatch->type), attr_wanted);
                r = OX_ERROR;
            }
            if (r == OX_OK && im->d->n_errors > errors)
                r = OX_ERROR;
            if (r == OX_ERROR && im->d->n_errors == errors) /* never a failure without a word */
                ox_unsupported(im, &n, "its outputs cannot be expressed in slimc's IR");
            if (r == OX_ERROR)
                ok = false;
        }
        if (r != OX_OK)
            for (int i = 0; i < n.n_out; i++)
                bind_broken(im, n.out[i]);
        else
            for (int i = 0; i < n.n_out; i++)
                if (*n.out[i] && !ox_lookup(im, n.out[i]))
                    bind_broken(im, n.out[i]); /* an optional output this importer does not make */
    }
    return ok;
}

bool ox_import_subgraph(OxImporter *im, const Onnx__GraphProto *gp)
{
    bool ok = true;
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *t = gp->initializer[i];
        const char *name = t->name ? t->name : "";
        OxConst c;
        if (!ox_tensor_to_const(im, t, ir_arena_printf(im->g->arena, "initializer '%s'", name),
                                &c)) {
            ok = false;
            continue;
        }
        ox_bind_const(im, name, &c);
    }
    /* the enclosing node's state, which the subgraph's nodes overwrite */
    const char *outer = im->node, *wanted = attr_wanted;
    const Onnx__AttributeProto *mismatch = attr_mismatch;
    int *order = ok ? topo_order(im, gp) : NULL;
    ok = order && import_nodes(im, gp, order);
    im->node = outer;
    attr_mismatch = mismatch;
    attr_wanted = wanted;
    free(order);
    return ok;
}

static const char *base_name(Arena *a, const char *path)
{
    const char *s = strrchr(path, '/');
    s = s ? s + 1 : path;
    char *r = ir_ident(a, s);
    char *dot = strrchr(r, '.');
    if (dot && dot != r)
        *dot = 0;
    if (r[0] >= '0' && r[0] <= '9')
        r = ir_arena_printf(a, "m_%s", r);
    return r;
}

/* Reads a varint at *p (below end); false when it runs off the end or past 64 bits. */
static bool wire_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

/* How deeply the messages in buf nest, walking the protobuf wire format with the message
 * descriptors (iteratively across fields, recursing only into submessages, at most
 * IR_MAX_DEPTH deep): protobuf-c's unpacker recurses without a limit, so a few MB of
 * nested subgraphs would overflow the stack. True when the nesting stays within the
 * limit; malformed data is left for the unpacker to reject. */
static bool wire_depth_ok(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len,
                          int depth)
{
    if (depth > IR_MAX_DEPTH)
        return false;
    const uint8_t *end = p + len;
    while (p < end) {
        uint64_t key, n;
        if (!wire_varint(&p, end, &key))
            return true;
        switch (key & 7) {
        case 0:
            if (!wire_varint(&p, end, &n))
                return true;
            break;
        case 1:
            if (end - p < 8)
                return true;
            p += 8;
            break;
        case 5:
            if (end - p < 4)
                return true;
            p += 4;
            break;
        case 2: {
            if (!wire_varint(&p, end, &n) || n > (uint64_t)(end - p))
                return true;
            const ProtobufCFieldDescriptor *f =
                key >> 3 <= UINT32_MAX
                    ? protobuf_c_message_descriptor_get_field(desc, (unsigned)(key >> 3))
                    : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                !wire_depth_ok(f->descriptor, p, (size_t)n, depth + 1))
                return false;
            p += n;
            break;
        }
        default: return true; /* groups: the unpacker decides */
        }
    }
    return true;
}

/* After a failed import that a symbolic dim may have caused (a message says "symbolic"):
 * a note naming the model's symbolic inputs and how to fix their dims (--shape, --dim). */
static void symbolic_note(const Graph *g, Diag *d, SrcLoc at)
{
    const char *text = ir_diag_text(d);
    if (!g->n_syms || !text || !strstr(text, "symbolic"))
        return;
    for (int i = 0; i < g->n_inputs; i++) {
        const Type *t = &g->values[g->inputs[i]].type;
        if (ir_shape_static(&t->shape))
            continue;
        char type[256], names[256];
        size_t len = 0;
        names[0] = 0;
        for (int s = 0; s < g->n_syms && len + 1 < sizeof names; s++) {
            if (g->derived_syms & (1u << s)) /* computed from the others: not for --dim */
                continue;
            int w =
                snprintf(names + len, sizeof names - len, "%s%s", len ? ", " : "", g->sym_names[s]);
            len += w > 0 ? (size_t)w : 0;
        }
        ir_diag_note(d, at,
                     "the model's symbolic dims are %s (input '%s' is %s); fix them at import: "
                     "--shape %s=D0,D1,... or --dim %s=N",
                     names, g->values[g->inputs[i]].name, ir_type_str(g, t, type, sizeof type),
                     g->values[g->inputs[i]].name, g->sym_names[0]);
        return;
    }
}

Graph *fe_onnx_parse(const char *path, const void *buf, size_t len, Diag *d)
{
    return fe_onnx_parse_ex(path, buf, len, NULL, d);
}

Graph *fe_onnx_parse_ex(const char *path, const void *buf, size_t len, const FeOnnxOptions *o,
                        Diag *d)
{
    static const FeOnnxOptions none;
    SrcLoc at = {path, 0, 0};
    int errors_before = d->n_errors;
    int kind = rt_file_kind(buf, len);
    if (kind != RT_FILE_UNKNOWN && kind != RT_FILE_ONNX) {
        ir_diag_error(d, at, "not an ONNX model: %s", rt_file_kind_hint(kind, RT_ROLE_MODEL));
        return NULL;
    }
    if (!wire_depth_ok(&onnx__model_proto__descriptor, buf, len, 0)) {
        ir_diag_error(d, at, "messages (subgraphs, types) nest more than %d levels deep",
                      IR_MAX_DEPTH);
        return NULL;
    }
    OxUnpacked *owner;
    Onnx__ModelProto *m = ox_model_unpack(buf, len, &owner);
    if (!m) {
        ir_diag_error(d, at, "not a valid ONNX model: the file is not protobuf or is truncated");
        return NULL;
    }
    if (!m->graph) {
        ir_diag_error(d, at, "not a valid ONNX model: it has no graph");
        ox_model_free(owner);
        return NULL;
    }
    int64_t opset = -1; /* as the file says: a negative or huge version is refused below */
    bool found = false;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *os = m->opset_import[i];
        if (!os->domain || !*os->domain || strcmp(os->domain, "ai.onnx") == 0) {
            opset = os->has_version ? os->version : 1;
            found = true;
        }
    }
    if (m->n_opset_import == 0)
        opset = 1; /* IR version 2 models without opset_import mean opset 1 */
    else if (!found)
        opset = FE_ONNX_MAX_OPSET; /* only other domains: their nodes are reported one by one */
    if (opset < FE_ONNX_MIN_OPSET || opset > FE_ONNX_MAX_OPSET) {
        ir_diag_error(d, at, "ONNX opset %lld is not supported: slimc imports opsets %d to %d",
                      (long long)opset, FE_ONNX_MIN_OPSET, FE_ONNX_MAX_OPSET);
        ox_model_free(owner);
        return NULL;
    }
    if (m->graph->n_node > IR_MAX_NODES) {
        ir_diag_error(d, at, "the graph has %zu nodes, more than the %d slimc imports",
                      m->graph->n_node, IR_MAX_NODES);
        ox_model_free(owner);
        return NULL;
    }
    Graph *g = ir_graph_new("model");
    ir_graph_on_free(g, ox_model_free, owner);
    g->name = base_name(g->arena, path);
    g->assume_eq = true; /* a skip concat of h//2 and 2*((h//2)//2): checked at run time */
    g->source = ir_arena_strdup(g->arena, path);
    OxImporter im = {.g = g, .d = d, .path = g->source, .opset = (int)opset, .opts = o ? o : &none};
    if (im.opts->max_memory)
        g->max_memory = im.opts->max_memory;
    const char *slash = strrchr(path, '/');
    im.dir = slash ? ir_arena_strndup(g->arena, path, (size_t)(slash - path)) : ".";
    im.unsupported = open_memstream(&im.unsupported_buf, &im.unsupported_len);
    SLIMC_ASSERT(im.unsupported);
    const Onnx__GraphProto *gp = m->graph;
    bool ok = true;
    im.f16_as_f32 = has_half_weights(gp);
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *t = gp->initializer[i];
        const char *name = t->name ? t->name : "";
        OxConst c;
        if (!ox_tensor_to_const(&im, t, ir_arena_printf(g->arena, "initializer '%s'", name), &c)) {
            ok = false;
            continue;
        }
        ox_bind_const(&im, name, &c);
    }
    int *order = NULL;
    if (ok)
        ok = bind_inputs(&im, gp);
    if (ok)
        ok = (order = topo_order(&im, gp)) != NULL;
    if (ok)
        ok = import_nodes(&im, gp, order);
    free(order);
    fclose(im.unsupported);
    if (im.n_unsupported) {
        ir_diag_error(d, at, "%d node%s of this model cannot be imported:\n%s", im.n_unsupported,
                      im.n_unsupported == 1 ? "" : "s", im.unsupported_buf);
        ok = false;
    }
    free(im.unsupported_buf);
    for (size_t i = 0; ok && i < gp->n_output; i++) {
        const char *name = gp->output[i]->name ? gp->output[i]->name : "";
        OxEntry *e = ox_lookup(&im, name);
        if (!e) {
            ir_diag_error(d, at, "graph output '%s' is produced by no node", name);
            ok = false;
            break;
        }
        if (e->sym) {
            ir_diag_error(d, at,
                          "graph output '%s' is a shape computed from symbolic dims: fix them "
                          "at import with --dim NAME=N or --shape INPUT=D0,D1,...",
                          name);
            ok = false;
            break;
        }
        ValueId v = ox_value(&im, e);
        if (v == IR_NONE || e->broken) {
            ir_diag_error(d, at,
                          "graph output '%s' is not computed: its node has no such output in "
                          "slimc",
                          name);
            ok = false;
            break;
        }
        if (g->values[v].kind != IR_VALUE_TEMP || g->values[v].is_output) {
            /* a constant (folded at import), an input or a repeated output: a copy of it */
            OpKind cast;
            SLIMC_ASSERT(ir_op_lookup("cast", &cast));
            NodeId id = ir_node_new(g, cast, ir_ident(g->arena, name), at, &v, 1, 1);
            ir_node_set_int(g, id, "dtype", g->values[v].type.dtype);
            if (!ir_infer_node(g, id, d)) {
                ok = false;
                break;
            }
            v = g->nodes[id].outputs[0];
        }
        const Onnx__TypeProto *ot = gp->output[i]->type;
        const int32_t want = ot && ot->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE
                                 ? ot->tensor_type->elem_type
                                 : 0;
        if (im.f16_as_f32 && g->values[v].type.dtype == IR_F32 && (want == 10 || want == 16)) {
            /* computed in f32: the declared half type again */
            v = cast_to(g, v, want == 10 ? IR_F16 : IR_BF16, name, at, d);
            if (v == IR_NONE) {
                ok = false;
                break;
            }
        }
        ir_output_add(g, v);
        ir_output_set_name(g, g->n_outputs - 1, name);
    }
    free(im.entries);
    free(im.hash);
    if (ok && g->n_outputs == 0) {
        ir_diag_error(d, at, "the graph has no outputs");
        ok = false;
    }
    if (!ok || d->n_errors > errors_before) {
        symbolic_note(g, d, at);
        ir_graph_free(g);
        return NULL;
    }
    return g;
}

Graph *fe_onnx_load(const char *path, Diag *d)
{
    return fe_onnx_load_ex(path, NULL, d);
}

Graph *fe_onnx_load_ex(const char *path, const FeOnnxOptions *o, Diag *d)
{
    void *map;
    size_t len;
    if (!fe_map_file(path, &map, &len, d))
        return NULL;
    Graph *g = fe_onnx_parse_ex(path, map ? map : "", len, o, d);
    fe_unmap_file(map, len);
    if (g)
        fe_note_input_path(g, path);
    return g;
}

#endif
