/* The model-language front end (frontend/lexer.l, parser.y, builder.c...):
 *  - the sample models (samples/) build the expected graphs: ops, node and parameter
 *    names, shapes, symbols, attributes;
 *  - language features on small inline models whose weights the test writes itself;
 *  - golden error tests: for each tests/parser/NAME.slim, every diagnostic of loading it
 *    must equal tests/parser/NAME.err (SLIMC_UPDATE_GOLDEN=1 rewrites the .err files).
 *    NAME.weights, when present, says which weights files to write beside the model
 *    first (see write_spec);
 *  - robustness: mutated and pathological inputs end with diagnostics, never a crash or
 *    a hang. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "frontend/safetensors.h"
#include "frontend/slim.h"
#include "passes/pass.h"

#include "support_fs.h"

#include <check.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ---- */

static const char *source_dir(void)
{
    const char *src = getenv("SLIMC_SOURCE_DIR");
    return src ? src : ".";
}

/* The whole file (NUL-terminated, malloc'd), or NULL. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = 0;
    fclose(f);
    return buf;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* Writes the weights files a spec describes, into dir. Lines:
 *   file NAME.safetensors        the file the next tensors go to
 *   TENSOR DTYPE D0 D1 ...       a tensor (values 0.25 * (i % 8) for floats)
 *   raw NAME TEXT...             a file holding TEXT (for unreadable weights)
 *   dir NAME                     a folder
 * '#' starts a comment. */
static void write_spec(const char *dir, const char *spec)
{
    enum { MAX_T = 256 };
    StWriteTensor t[MAX_T];
    int64_t shapes[MAX_T][IR_MAX_RANK];
    void *datas[MAX_T];
    char *names[MAX_T];
    int n = 0;
    char file[512] = "";
    char *copy = strdup(spec);
    Diag d;
    ir_diag_init(&d);
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save);;
         line = strtok_r(NULL, "\n", &save)) {
        char path[1024];
        bool flush = !line || strncmp(line, "file ", 5) == 0;
        if (flush && file[0]) {
            snprintf(path, sizeof path, "%s/%s", dir, file);
            ck_assert_msg(fe_st_write(path, t, n, NULL, &d), "%s", ir_diag_text(&d));
            for (int i = 0; i < n; i++) {
                free(datas[i]);
                free(names[i]);
            }
            n = 0;
            file[0] = 0;
        }
        if (!line)
            break;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char word[256], dt[32];
        int used = 0;
        if (sscanf(line, " %255s%n", word, &used) != 1)
            continue;
        if (strcmp(word, "file") == 0) {
            ck_assert(sscanf(line + used, " %511s", file) == 1);
        } else if (strcmp(word, "raw") == 0) {
            char name[256];
            int more = 0;
            ck_assert(sscanf(line + used, " %255s %n", name, &more) == 1);
            snprintf(path, sizeof path, "%s/%s", dir, name);
            write_text(path, line + used + more);
        } else if (strcmp(word, "dir") == 0) {
            char name[256];
            ck_assert(sscanf(line + used, " %255s", name) == 1);
            snprintf(path, sizeof path, "%s/%s", dir, name);
            ck_assert(mkdir(path, 0700) == 0);
        } else {
            ck_assert_int_lt(n, MAX_T);
            int more = 0;
            ck_assert(sscanf(line + used, " %31s%n", dt, &more) == 1);
            DType dtype;
            ck_assert_msg(ir_dtype_parse(dt, &dtype), "bad dtype %s", dt);
            const char *p = line + used + more;
            int ndim = 0;
            int64_t count = 1;
            for (long long v; ndim < IR_MAX_RANK && sscanf(p, " %lld%n", &v, &more) == 1;
                 p += more) {
                shapes[n][ndim++] = v;
                count *= v;
            }
            size_t nbytes = ir_dtype_bytes(dtype, count);
            unsigned char *data = calloc(1, nbytes + 1);
            for (int64_t i = 0; i < count; i++) {
                double v = 0.25 * (double)(i % 8);
                if (dtype == IR_F32) {
                    float f = (float)v;
                    memcpy(data + 4 * i, &f, 4);
                } else if (dtype == IR_F64) {
                    memcpy(data + 8 * i, &v, 8);
                } else if (dtype == IR_F16) { /* 1.0 */
                    uint16_t h = 0x3c00;
                    memcpy(data + 2 * i, &h, 2);
                } else if (dtype == IR_BF16) { /* 0.5 */
                    uint16_t h = 0x3f00;
                    memcpy(data + 2 * i, &h, 2);
                }
            }
            names[n] = strdup(word);
            datas[n] = data;
            t[n] = (StWriteTensor){names[n], dtype, ndim, shapes[n], data, nbytes};
            n++;
        }
    }
    ir_diag_fini(&d);
    free(copy);
}

/* A model written to dir/name with the weights of spec, loaded as dir/name. */
static Graph *load_inline(const char *dir, const char *name, const char *src, const char *spec,
                          Diag *d)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    write_text(path, src);
    if (spec)
        write_spec(dir, spec);
    return fe_slim_load(path, d);
}

static const Node *find_node(const Graph *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].name, name) == 0)
            return &g->nodes[i];
    return NULL;
}

static ValueId find_value(const Graph *g, const char *name)
{
    for (int i = 0; i < g->n_values; i++)
        if (strcmp(g->values[i].name, name) == 0)
            return i;
    return IR_NONE;
}

/* "f32[N, 10]" of v. */
static const char *type_of(const Graph *g, ValueId v)
{
    static char buf[4][200];
    static int k;
    k = (k + 1) % 4;
    return ir_type_str(g, &g->values[v].type, buf[k], sizeof buf[k]);
}

static void check_ops(const Graph *g, const char *const *names, const char *const *ops, int n)
{
    ck_assert_int_eq(g->n_nodes, n);
    for (int i = 0; i < n; i++) {
        ck_assert_str_eq(g->nodes[i].name, names[i]);
        ck_assert_str_eq(ir_ops[g->nodes[i].op].name, ops[i]);
    }
}

static Graph *load_sample(const char *name, Diag *d)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/samples/%s/%s.slim", source_dir(), name, name);
    ir_diag_init(d);
    Graph *g = fe_slim_load(path, d);
    ck_assert_msg(g != NULL, "%s", ir_diag_text(d));
    ck_assert_int_eq(d->n_errors, 0);
    ck_assert_int_eq(d->n_warnings, 0);
    Diag v;
    ir_diag_init(&v);
    ck_assert_msg(ir_verify(g, &v), "%s", ir_diag_text(&v));
    ir_diag_fini(&v);
    return g;
}

/* ---- the samples ---- */

START_TEST(test_sample_lenet)
{
    Diag d;
    Graph *g = load_sample("lenet", &d);
    ck_assert_str_eq(g->name, "lenet");
    ck_assert_ptr_nonnull(strstr(g->source, "lenet.slim"));
    static const char *const names[] = {"conv1",       "max_pool2d0", "relu0",       "conv2",
                                        "max_pool2d1", "relu1",       "flatten0",    "fc1",
                                        "relu2",       "fc2",         "log_softmax0"};
    static const char *const ops[] = {"conv2d",     "max_pool2d", "relu",       "conv2d",
                                      "max_pool2d", "relu",       "flatten",    "linear",
                                      "relu",       "linear",     "log_softmax"};
    check_ops(g, names, ops, 11);
    ck_assert_int_eq(g->n_syms, 1);
    ck_assert_str_eq(g->sym_names[0], "N");
    ck_assert_int_eq(g->n_inputs, 1);
    ck_assert_str_eq(g->values[g->inputs[0]].name, "x");
    ck_assert_str_eq(type_of(g, g->inputs[0]), "f32[N, 1, 28, 28]");
    ck_assert_int_eq(g->n_outputs, 1);
    ck_assert_str_eq(type_of(g, g->outputs[0]), "f32[N, 10]");
    /* Parameters by their state_dict names, bound to the file's data. */
    const Node *conv1 = find_node(g, "conv1");
    ck_assert_int_eq(conv1->n_inputs, 3);
    const Value *w = &g->values[conv1->inputs[1]];
    ck_assert_str_eq(w->name, "conv1.weight");
    ck_assert_int_eq(w->kind, IR_VALUE_CONST);
    ck_assert_str_eq(type_of(g, conv1->inputs[1]), "f32[20, 1, 5, 5]");
    ck_assert_uint_eq(w->data_bytes, 20 * 25 * 4);
    ck_assert_ptr_nonnull(w->data);
    ck_assert_str_eq(g->values[conv1->inputs[2]].name, "conv1.bias");
    ck_assert_int_eq(conv1->loc.line, 10);
    ck_assert_int_eq(conv1->loc.col, 25);
    int64_t st[2];
    ck_assert_int_eq(ir_attr_stride_or(conv1, st, 2, 0), 2);
    ck_assert_int_eq(st[0], 1);
    ck_assert_int_eq(ir_attr_groups_or(conv1, 0), 1);
    const Node *pool = find_node(g, "max_pool2d0");
    ck_assert_int_eq(ir_attr_kernel_or(pool, st, 2, 0), 2);
    ck_assert_int_eq(st[1], 2);
    ck_assert_int_eq(ir_attr_stride_or(pool, st, 2, 0), 2);
    ck_assert_int_eq(st[0], 2);
    ck_assert_str_eq(type_of(g, find_node(g, "flatten0")->outputs[0]), "f32[N, 800]");
    ck_assert_str_eq(g->values[find_node(g, "fc1")->inputs[1]].name, "fc1.weight");
    ck_assert_str_eq(type_of(g, find_node(g, "fc1")->inputs[1]), "f32[500, 800]");
    ck_assert_int_eq(ir_attr_axis(find_node(g, "log_softmax0")), 1);
    /* Values bound to a name take it. */
    ck_assert_str_eq(g->values[find_node(g, "relu2")->outputs[0]].name, "h");
    ck_assert_ptr_null(g->compress);
    ck_assert_ptr_null(g->output_names[0]);
    ir_graph_free(g);
    ir_diag_fini(&d);
}
END_TEST

START_TEST(test_sample_resnet_tiny)
{
    Diag d;
    Graph *g = load_sample("resnet_tiny", &d);
    /* PyTorch's names through blocks, Sequential and the conditional downsample. */
    static const char *const present[] = {
        "layer1.0.conv1.weight",
        "layer1.0.bn1.running_mean",
        "layer1.1.bn2.running_var",
        "layer2.0.downsample.0.weight",
        "layer2.0.downsample.1.running_mean",
        "layer4.0.downsample.1.bias",
        "layer4.1.conv2.weight",
        "fc.weight",
        "bn1.weight",
    };
    for (size_t i = 0; i < sizeof present / sizeof present[0]; i++) {
        ValueId v = find_value(g, present[i]);
        ck_assert_msg(v != IR_NONE, "no value %s", present[i]);
        ck_assert_int_eq(g->values[v].kind, IR_VALUE_CONST);
    }
    /* The downsample of a block whose condition is false does not exist. */
    ck_assert_int_eq(find_value(g, "layer1.0.downsample.0.weight"), IR_NONE);
    ck_assert_int_eq(find_value(g, "layer2.1.downsample.0.weight"), IR_NONE);
    ck_assert_ptr_null(find_node(g, "layer1.0.downsample.0"));
    ck_assert_str_eq(type_of(g, find_value(g, "layer2.0.downsample.0.weight")), "f32[16, 8, 1, 1]");
    const Node *ds = find_node(g, "layer3.0.downsample.0");
    ck_assert_ptr_nonnull(ds);
    int64_t st[2];
    ir_attr_stride_or(ds, st, 2, 0);
    ck_assert_int_eq(st[0], 2);
    ck_assert_int_eq(ds->n_inputs, 2); /* bias=false */
    /* batch_norm takes (x, running_mean, running_var, weight, bias). */
    const Node *bn = find_node(g, "layer2.0.downsample.1");
    ck_assert_int_eq(bn->op, IR_OP_BATCH_NORM);
    ck_assert_str_eq(g->values[bn->inputs[1]].name, "layer2.0.downsample.1.running_mean");
    ck_assert_str_eq(g->values[bn->inputs[2]].name, "layer2.0.downsample.1.running_var");
    ck_assert_str_eq(g->values[bn->inputs[3]].name, "layer2.0.downsample.1.weight");
    ck_assert_str_eq(g->values[bn->inputs[4]].name, "layer2.0.downsample.1.bias");
    ck_assert_double_eq_tol(ir_attr_eps_or(bn, 0), 1e-5, 1e-12);
    /* One residual add a block; functions inside a block are named after the instance. */
    int adds = 0;
    for (int i = 0; i < g->n_nodes; i++)
        adds += g->nodes[i].op == IR_OP_ADD;
    ck_assert_int_eq(adds, 8);
    ck_assert_ptr_nonnull(find_node(g, "layer1.0.add0"));
    ck_assert_str_eq(type_of(g, find_node(g, "layer4.1.conv2")->outputs[0]), "f32[N, 64, 4, 4]");
    ck_assert_str_eq(type_of(g, g->outputs[0]), "f32[N, 10]");
    ck_assert_str_eq(g->nodes[g->n_nodes - 1].name, "fc");
    ir_graph_free(g);
    ir_diag_fini(&d);
}
END_TEST

START_TEST(test_sample_textcls)
{
    Diag d;
    Graph *g = load_sample("textcls", &d);
    static const char *const names[] = {"emb",  "norm", "flatten0", "fc1", "tanh0",   "sigmoid0",
                                        "mul0", "div0", "sub0",     "fc2", "softmax0"};
    static const char *const ops[] = {"embedding", "layer_norm", "flatten", "linear",
                                      "tanh",      "sigmoid",    "mul",     "div",
                                      "sub",       "linear",     "softmax"};
    check_ops(g, names, ops, 11);
    ck_assert_str_eq(type_of(g, g->inputs[0]), "i64[N, 16]");
    ck_assert_str_eq(type_of(g, find_node(g, "emb")->outputs[0]), "f32[N, 16, 32]");
    const Node *ln = find_node(g, "norm");
    ck_assert_int_eq(ir_attr_normalized_ndim_or(ln, 0), 1);
    ck_assert_str_eq(g->values[ln->inputs[1]].name, "norm.weight");
    /* h / 2.0: a 0-d f32 constant. */
    const Node *div = find_node(g, "div0");
    const Value *two = &g->values[div->inputs[1]];
    ck_assert_int_eq(two->kind, IR_VALUE_CONST);
    ck_assert_int_eq(two->type.shape.rank, 0);
    ck_assert_int_eq(two->type.dtype, IR_F32);
    ck_assert(*(const float *)two->data == 2.0f);
    ck_assert_int_eq(ir_attr_axis(find_node(g, "softmax0")), -1);
    /* The declared output name. */
    ck_assert_str_eq(g->values[g->outputs[0]].name, "probs");
    ck_assert_str_eq(g->output_names[0], "probs");
    ck_assert_str_eq(type_of(g, g->outputs[0]), "f32[N, 4]");
    ir_graph_free(g);
    ir_diag_fini(&d);
}
END_TEST

START_TEST(test_sample_mlp)
{
    Diag d;
    Graph *g = load_sample("mlp", &d);
    static const char *const names[] = {"fc1", "relu0", "fc2", "relu1", "fc3"};
    static const char *const ops[] = {"linear", "relu", "linear", "relu", "linear"};
    check_ops(g, names, ops, 5);
    ir_graph_free(g);
    ir_diag_fini(&d);
}
END_TEST

/* ---- language features ---- */

START_TEST(test_reshape_symbols_and_outputs)
{
    char *dir = fs_make_tmp();
    Diag d;
    ir_diag_init(&d);
    Graph *g =
        load_inline(dir, "m.slim",
                    "model two(x: f32[N, 4, 8], y: f32[N, 32]) -> (a: f32[N, 32], f32[N, 2, 16])\n"
                    "    a = reshape(x, N, -1)\n"
                    "    b = reshape(y, [N, 2, 16])\n"
                    "    c = reshape(a, -1, 4*4*2)\n"
                    "    return a + c, b\n",
                    NULL, &d);
    ck_assert_msg(g != NULL, "%s", ir_diag_text(&d));
    const Node *r = find_node(g, "reshape0");
    int64_t shape[4];
    ck_assert_int_eq(ir_attr_shape(r, shape, 4), 2);
    ck_assert_int_eq(shape[0], -1000); /* symbol 0 */
    ck_assert_int_eq(shape[1], -1);
    ck_assert_int_eq(ir_attr_shape(find_node(g, "reshape2"), shape, 4), 2);
    ck_assert_int_eq(shape[1], 32);
    ck_assert_int_eq(g->n_outputs, 2);
    ck_assert_str_eq(g->values[g->outputs[0]].name, "a");
    ck_assert_str_eq(g->output_names[0], "a");
    ck_assert_ptr_null(g->output_names[1]);
    ck_assert_str_eq(type_of(g, g->outputs[0]), "f32[N, 32]");
    ck_assert_str_eq(type_of(g, g->outputs[1]), "f32[N, 2, 16]");
    ck_assert_int_eq(g->n_inputs, 2);
    ir_graph_free(g);
    ir_diag_fini(&d);
    fs_rm_tree(dir);
}
END_TEST

START_TEST(test_blocks_conditionals_and_int_exprs)
{
    char *dir = fs_make_tmp();
    Diag d;
    ir_diag_init(&d);
    Graph *g = load_inline(
        dir, "m.slim",
        "block Head(width, wide=false, classes=10 // 2)\n"
        "    hidden = width * 2 if wide else width\n"
        "    fc = Linear(width, hidden)\n"
        "    extra = Linear(hidden, hidden) if wide and not width % 2 == 1\n"
        "    out = Linear(hidden, classes)\n"
        "    forward(x)\n"
        "        h = relu(fc(x))\n"
        "        h = extra(h) if wide else h\n"
        "        return out(h)\n"
        "\n"
        "model m(x: f32[B, 6]) -> f32[B, 5]\n"
        "    weights \"m.safetensors\"\n"
        "    heads = Sequential(Head(6, wide=true), Head(5, classes=(7 - 2)))\n"
        "    h = -heads(x) * 3 + 1\n"
        "    return layer(h) if 1 < 0 else heads.1.out(heads.1.fc(h))\n"
        "\n"
        "compress m\n"
        "    quantize(int8, per_channel, calibrate=\"calib.npy\", method=percentile(99.99))\n"
        "    prune(heads.0.fc, amount=50%, start=-1, flag=true)\n"
        "    fold\n",
        "file m.safetensors\n"
        "heads.0.fc.weight f32 12 6\nheads.0.fc.bias f32 12\n"
        "heads.0.extra.weight f16 12 12\nheads.0.extra.bias bf16 12\n"
        "heads.0.out.weight f64 5 12\nheads.0.out.bias f32 5\n"
        "heads.1.fc.weight f32 5 5\nheads.1.fc.bias f32 5\n"
        "heads.1.out.weight f32 5 5\nheads.1.out.bias f32 5\n",
        &d);
    ck_assert_msg(g != NULL, "%s", ir_diag_text(&d));
    /* One note about the converted parameters, nothing else. */
    ck_assert_int_eq(d.n_warnings, 0);
    ck_assert_ptr_nonnull(strstr(ir_diag_text(&d), "note: 3 parameters converted to f32"));
    ck_assert_ptr_nonnull(find_node(g, "heads.0.extra"));
    ck_assert_ptr_null(find_node(g, "heads.1.extra"));
    ValueId ew = find_value(g, "heads.0.extra.weight");
    ck_assert_int_eq(g->values[ew].kind, IR_VALUE_CONST);
    ck_assert(((const float *)g->values[ew].data)[5] == 1.0f);
    ck_assert(((const float *)g->values[find_value(g, "heads.0.extra.bias")].data)[0] == 0.5f);
    ck_assert(((const float *)g->values[find_value(g, "heads.0.out.weight")].data)[3] == 0.75f);
    ck_assert_str_eq(type_of(g, g->outputs[0]), "f32[B, 5]");
    /* The block's lines are the pipeline's steps, built from the AST (not printed and parsed
     * again): each step and each argument at its place in the file, values typed. */
    const PassPipeline *pl = g->compress;
    ck_assert_ptr_nonnull(pl);
    ck_assert_int_eq(pl->n, 3);
    const PassArgs *q = &pl->steps[0], *pr = &pl->steps[1];
    ck_assert_str_eq(q->name, "quantize");
    ck_assert_str_eq(q->loc.file, g->source);
    ck_assert_int_eq(q->loc.line, 18);
    ck_assert_int_eq(q->loc.col, 5);
    ck_assert_int_eq(q->n, 4);
    ck_assert_ptr_null(q->args[0].key);
    ck_assert_int_eq(q->args[0].kind, PASS_ARG_NAME);
    ck_assert_str_eq(q->args[0].text, "int8");
    ck_assert_int_eq(q->args[0].loc.col, 14);
    ck_assert_str_eq(q->args[1].text, "per_channel");
    ck_assert_int_eq(q->args[1].loc.col, 20);
    ck_assert_str_eq(q->args[2].key, "calibrate");
    ck_assert_int_eq(q->args[2].kind, PASS_ARG_STRING);
    ck_assert_str_eq(q->args[2].text, "calib.npy");
    ck_assert_int_eq(q->args[2].loc.line, 18);
    ck_assert_int_eq(q->args[2].loc.col, 33);
    ck_assert_ptr_null(q->args[2].file); /* files are read by the API, not the front end */
    ck_assert_str_eq(q->args[3].key, "method");
    ck_assert_int_eq(q->args[3].kind, PASS_ARG_CALL);
    ck_assert_str_eq(q->args[3].call->name, "percentile");
    ck_assert_int_eq(q->args[3].call->loc.col, 63);
    ck_assert_int_eq(q->args[3].call->args[0].kind, PASS_ARG_NUMBER);
    ck_assert_double_eq_tol(q->args[3].call->args[0].number, 99.99, 1e-12);
    ck_assert_int_eq(q->args[3].call->args[0].loc.col, 74);
    ck_assert_str_eq(pr->name, "prune");
    ck_assert_int_eq(pr->loc.line, 19);
    ck_assert_int_eq(pr->n, 4);
    ck_assert_str_eq(pr->args[0].text, "heads.0.fc");
    ck_assert_int_eq(pr->args[1].kind, PASS_ARG_NUMBER);
    ck_assert_str_eq(pr->args[1].text, "50%");
    ck_assert_double_eq_tol(pr->args[1].number, 0.5, 1e-15);
    ck_assert_int_eq(pr->args[1].loc.col, 23);
    ck_assert_str_eq(pr->args[2].text, "-1");
    ck_assert_double_eq(pr->args[2].number, -1);
    ck_assert_int_eq(pr->args[3].kind, PASS_ARG_NAME);
    ck_assert_str_eq(pr->args[3].text, "true");
    ck_assert_int_eq(pr->args[3].loc.line, 19);
    ck_assert_int_eq(pr->args[3].loc.col, 45);
    ck_assert_str_eq(pl->steps[2].name, "fold");
    ck_assert_int_eq(pl->steps[2].n, 0);
    ck_assert_int_eq(pl->steps[2].loc.line, 20);
    /* -heads(x) is a multiplication by -1. */
    ck_assert_ptr_nonnull(find_node(g, "mul0"));
    ir_graph_free(g);
    ir_diag_fini(&d);
    fs_rm_tree(dir);
}
END_TEST

START_TEST(test_first_model_is_built)
{
    char *dir = fs_make_tmp();
    Diag d;
    ir_diag_init(&d);
    Graph *g = load_inline(dir, "m.slim",
                           "# two models; the first is built\n"
                           "model first(x: f32[2, 3]) -> f32[2, 3]\n"
                           "    return sigmoid(x)\n"
                           "model second(x: f32[4]) \\\n"
                           "      -> f32[4]\n"
                           "    return tanh(x)\n",
                           NULL, &d);
    ck_assert_msg(g != NULL, "%s", ir_diag_text(&d));
    ck_assert_str_eq(g->name, "first");
    ck_assert_int_eq(g->n_nodes, 1);
    ck_assert_int_eq(g->nodes[0].op, IR_OP_SIGMOID);
    ck_assert_str_eq(ir_diag_text(&d), "");
    ir_graph_free(g);
    /* fe_slim_parse from memory, with no trailing newline. */
    const char *text = "model m(x: f32[3]) -> f32[3]\n  return relu(x) * 2";
    g = fe_slim_parse("mem.slim", text, strlen(text), &d);
    ck_assert_msg(g != NULL, "%s", ir_diag_text(&d));
    ck_assert_int_eq(g->n_nodes, 2);
    ir_graph_free(g);
    /* A missing model file. */
    ck_assert_ptr_null(fe_slim_load("/nonexistent/x.slim", &d));
    ck_assert_ptr_nonnull(
        strstr(ir_diag_text(&d), "/nonexistent/x.slim: error: cannot open model file"));
    ir_diag_fini(&d);
    fs_rm_tree(dir);
}
END_TEST

START_TEST(test_unreadable_weights)
{
    /* The reader's own message (its wording is safetensors.c's), then a note at the line. */
    char *dir = fs_make_tmp();
    Diag d;
    ir_diag_init(&d);
    Graph *g = load_inline(dir, "m.slim",
                           "model o(x: f32[N, 4]) -> f32[N, 2]\n"
                           "    weights \"garbage.safetensors\"\n"
                           "    fc = Linear(4, 2)\n"
                           "    return fc(x)\n",
                           "raw garbage.safetensors this is not a safetensors file\n", &d);
    ck_assert_ptr_null(g);
    const char *text = ir_diag_text(&d);
    ck_assert_ptr_nonnull(strstr(text, "garbage.safetensors: error: "));
    ck_assert_ptr_nonnull(
        strstr(text, "m.slim:2:13: note: while reading the weights of model 'o'"));
    /* Nothing more: no missing parameters, no unused tensors. */
    ck_assert_ptr_null(strstr(text, "missing"));
    ck_assert_int_eq(d.n_warnings, 0);
    ir_diag_fini(&d);
    fs_rm_tree(dir);
}
END_TEST

/* ---- golden error tests ---- */

enum { MAX_GOLDEN = 256 };
static char *golden[MAX_GOLDEN];
static int n_golden;

static int by_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void find_golden(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/parser", source_dir());
    DIR *dp = opendir(path);
    if (!dp)
        return;
    for (struct dirent *e; (e = readdir(dp)) && n_golden < MAX_GOLDEN;) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".slim") == 0)
            golden[n_golden++] = strndup(e->d_name, len - 5);
    }
    closedir(dp);
    qsort(golden, (size_t)n_golden, sizeof golden[0], by_str);
}

/* Splits text into lines (in place). */
static int split_lines(char *text, char ***out)
{
    int n = 0, cap = 16;
    char **lines = malloc(sizeof(char *) * (size_t)cap);
    for (char *p = text; *p;) {
        if (n == cap)
            lines = realloc(lines, sizeof(char *) * (size_t)(cap *= 2));
        lines[n++] = p;
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = 0;
        p = nl + 1;
    }
    *out = lines;
    return n;
}

/* Prints a line diff of want and got (longest common subsequence) to stderr. */
static void print_diff(const char *name, const char *want, const char *got)
{
    char *w = strdup(want), *g = strdup(got), **wl, **gl;
    int nw = split_lines(w, &wl), ng = split_lines(g, &gl);
    int *lcs = calloc((size_t)(nw + 1) * (size_t)(ng + 1), sizeof(int));
#define LCS(i, j) lcs[(size_t)(i) * (size_t)(ng + 1) + (size_t)(j)]
    for (int i = nw - 1; i >= 0; i--)
        for (int j = ng - 1; j >= 0; j--)
            LCS(i, j) = strcmp(wl[i], gl[j]) == 0       ? LCS(i + 1, j + 1) + 1
                        : LCS(i + 1, j) > LCS(i, j + 1) ? LCS(i + 1, j)
                                                        : LCS(i, j + 1);
    fprintf(stderr, "--- tests/parser/%s.err (expected)\n+++ diagnostics (got)\n", name);
    int i = 0, j = 0;
    while (i < nw || j < ng) {
        if (i < nw && j < ng && strcmp(wl[i], gl[j]) == 0) {
            fprintf(stderr, " %s\n", wl[i]);
            i++;
            j++;
        } else if (i < nw && (j == ng || LCS(i + 1, j) >= LCS(i, j + 1))) {
            fprintf(stderr, "-%s\n", wl[i++]);
        } else {
            fprintf(stderr, "+%s\n", gl[j++]);
        }
    }
#undef LCS
    free(lcs);
    free(wl);
    free(gl);
    free(w);
    free(g);
}

START_TEST(test_golden_found)
{
    ck_assert_msg(n_golden >= 20,
                  "only %d golden tests in %s/tests/parser (is SLIMC_SOURCE_DIR right?)", n_golden,
                  source_dir());
}
END_TEST

START_TEST(test_golden)
{
    const char *name = golden[_i];
    char src[1024], path[1200], cwd[4096];
    snprintf(src, sizeof src, "%s/tests/parser", source_dir());
    char *dir = fs_make_tmp();
    /* The model and its weights are copied to a scratch folder that becomes the working
     * directory, so that the messages hold paths relative to it. */
    snprintf(path, sizeof path, "%s/%s.slim", src, name);
    char *model = read_text(path);
    ck_assert_ptr_nonnull(model);
    snprintf(path, sizeof path, "%s/%s.slim", dir, name);
    write_text(path, model);
    snprintf(path, sizeof path, "%s/%s.weights", src, name);
    char *spec = read_text(path);
    if (spec)
        write_spec(dir, spec);
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(dir), 0);
    Diag d;
    ir_diag_init(&d);
    snprintf(path, sizeof path, "%s.slim", name);
    Graph *g = fe_slim_load(path, &d);
    ck_assert_int_eq(chdir(cwd), 0);
    ck_assert_msg((g != NULL) == (d.n_errors == 0),
                  "%s: a graph must come back exactly when there is no error", name);
    const char *got = ir_diag_text(&d);
    snprintf(path, sizeof path, "%s/%s.err", src, name);
    char *want = read_text(path);
    const char *update = getenv("SLIMC_UPDATE_GOLDEN");
    if (update && strcmp(update, "1") == 0) {
        write_text(path, got);
    } else if (!want || strcmp(want, got) != 0) {
        print_diff(name, want ? want : "", got);
        ck_abort_msg("diagnostics of tests/parser/%s.slim differ from %s.err (diff above; "
                     "SLIMC_UPDATE_GOLDEN=1 rewrites it)",
                     name, name);
    }
    ir_graph_free(g);
    ir_diag_fini(&d);
    free(want);
    free(spec);
    free(model);
    fs_rm_tree(dir);
}
END_TEST

/* ---- robustness ---- */

/* Loads text as a model from memory; must give a graph exactly when there is no error. */
static void parse_quietly(const char *text, size_t len)
{
    Diag d;
    ir_diag_init(&d);
    Graph *g = fe_slim_parse("/nonexistent-slimc-test/fuzz.slim", text, len, &d);
    ck_assert((g != NULL) == (d.n_errors == 0));
    (void)ir_diag_text(&d);
    ir_graph_free(g);
    ir_diag_fini(&d);
}

START_TEST(test_pathological_inputs)
{
    enum { BIG = 300000 };
    char *buf = malloc(BIG + 200);
    /* Deep parentheses, long unary chains, long binary chains, deep lists. */
    const char *fills[][3] = {
        {"model m(x: f32[1]) -> f32[1]\n  return ", "(", "x\n"},
        {"model m(x: f32[1]) -> f32[1]\n  return ", "-", "x\n"},
        {"model m(x: f32[1]) -> f32[1]\n  return ", "not ", "x\n"},
        {"model m(x: f32[1]) -> f32[1]\n  return x", "+x", "\n"},
        {"model m(x: f32[1]) -> f32[1]\n  y = ", "[", "\n"},
        {"model m(x: f32[1]) -> f32[1]\n  y = ", "f(", "\n"},
        {"", "model m(", "\n"},
        {"compress m\n  ", "a(", "\n"},
        {"", "\n", ""},
        {"model m(x: f32[1]) -> f32[1]\n", "  y = x\n", "  return y\n"},
    };
    for (size_t k = 0; k < sizeof fills / sizeof fills[0]; k++) {
        size_t len = (size_t)sprintf(buf, "%s", fills[k][0]);
        size_t step = strlen(fills[k][1]);
        while (len + step < BIG) {
            memcpy(buf + len, fills[k][1], step);
            len += step;
        }
        len += (size_t)sprintf(buf + len, "%s", fills[k][2]);
        parse_quietly(buf, len);
    }
    /* NUL bytes, bytes above 127, carriage returns, a file that is one string. */
    static const char odd[] = "model m(x: f32[2])\0 -> f32[2]\r\n\xff\xfe  return x\n\"";
    parse_quietly(odd, sizeof odd - 1);
    /* Exponential elaboration: 30 blocks, each calling (or declaring) the next twice. */
    for (int declare = 0; declare < 2; declare++) {
        size_t len = 0;
        len += (size_t)sprintf(buf + len, "block B0\n    forward(x)\n        return relu(x)\n");
        for (int i = 1; i < 30; i++) {
            if (declare)
                len += (size_t)sprintf(buf + len,
                                       "block B%d\n    a = Sequential(B%d(), B%d())\n"
                                       "    forward(x)\n        return a(x)\n",
                                       i, i - 1, i - 1);
            else
                len += (size_t)sprintf(buf + len,
                                       "block B%d\n    c = B%d()\n    forward(x)\n"
                                       "        return c(c(x))\n",
                                       i, i - 1);
        }
        len += (size_t)sprintf(buf + len,
                               "model m(x: f32[4]) -> f32[4]\n    b = B29()\n    return b(x)\n");
        Diag d;
        ir_diag_init(&d);
        ck_assert_ptr_null(fe_slim_parse("big.slim", buf, len, &d));
        ck_assert_ptr_nonnull(strstr(ir_diag_text(&d), "the model is too large"));
        ir_diag_fini(&d);
    }
    parse_quietly("", 0);
    parse_quietly("\"", 1);
    parse_quietly("\\", 1);
    free(buf);
}
END_TEST

/* A small deterministic generator for mutations. */
static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

START_TEST(test_mutated_samples)
{
    static const char *const samples[] = {"lenet", "resnet_tiny", "textcls"};
    static const char *const tokens[] = {
        "(",           ")",
        "[",           "]",
        ",",           "=",
        ":",           "->",
        "\n",          " if ",
        " else ",      "forward(x)\n",
        "return ",     "model ",
        "block ",      "compress ",
        "Sequential(", "BasicBlock(",
        "-1",          "99999999999999999999",
        "\"",          "#",
        "\\\n",        "N",
        "x",           "Conv2d(1, 1, 1)",
        " and ",       "//",
        "%",           "1e400",
        "[3, 1]",
    };
    for (size_t s = 0; s < sizeof samples / sizeof samples[0]; s++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/samples/%s/%s.slim", source_dir(), samples[s], samples[s]);
        char *text = read_text(path);
        ck_assert_ptr_nonnull(text);
        size_t len = strlen(text);
        char *buf = malloc(len + 4096);
        for (int iter = 0; iter < 300; iter++) {
            memcpy(buf, text, len);
            size_t n = len;
            int edits = 1 + (int)(rng() % 4);
            for (int e = 0; e < edits && n > 0; e++) {
                size_t at = rng() % n;
                switch (rng() % 4) {
                case 0: /* delete a span */ {
                    size_t k = 1 + rng() % 8;
                    if (at + k > n)
                        k = n - at;
                    memmove(buf + at, buf + at + k, n - at - k);
                    n -= k;
                    break;
                }
                case 1: /* flip a byte */ buf[at] = (char)(rng() % 256); break;
                case 2: /* insert a token */ {
                    const char *t = tokens[rng() % (sizeof tokens / sizeof tokens[0])];
                    size_t k = strlen(t);
                    if (n + k < len + 4096) {
                        memmove(buf + at + k, buf + at, n - at);
                        memcpy(buf + at, t, k);
                        n += k;
                    }
                    break;
                }
                default: /* truncate */ n = at; break;
                }
            }
            parse_quietly(buf, n);
        }
        free(buf);
        free(text);
    }
}
END_TEST

static Suite *parser_suite(void)
{
    Suite *s = suite_create("parser");
    TCase *tc = tcase_create("models");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_sample_lenet);
    tcase_add_test(tc, test_sample_resnet_tiny);
    tcase_add_test(tc, test_sample_textcls);
    tcase_add_test(tc, test_sample_mlp);
    tcase_add_test(tc, test_reshape_symbols_and_outputs);
    tcase_add_test(tc, test_blocks_conditionals_and_int_exprs);
    tcase_add_test(tc, test_first_model_is_built);
    tcase_add_test(tc, test_unreadable_weights);
    suite_add_tcase(s, tc);
    TCase *tg = tcase_create("golden");
    tcase_set_timeout(tg, 300);
    find_golden();
    tcase_add_test(tg, test_golden_found);
    tcase_add_loop_test(tg, test_golden, 0, n_golden);
    suite_add_tcase(s, tg);
    TCase *tr = tcase_create("robustness");
    tcase_set_timeout(tr, 600);
    tcase_add_test(tr, test_pathological_inputs);
    tcase_add_test(tr, test_mutated_samples);
    suite_add_tcase(s, tr);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(parser_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    for (int i = 0; i < n_golden; i++)
        free(golden[i]);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
