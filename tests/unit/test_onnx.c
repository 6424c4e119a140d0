/* The ONNX importer on models built here with protobuf-c: a small graph imports with
 * the right types and symbolic dims, shape subgraphs fold, every unsupported op is listed
 * in one message, and bad input (not protobuf, truncated, future opset, cycle, dangling
 * name, initializer of the wrong size, external data outside the folder) fails cleanly
 * with a message naming the file and node. */
#include "frontend/onnx.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef SLIMC_WITH_ONNX
#include <onnx.pb-c.h>

/* ---- building models ---- */

typedef struct Builder {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    Onnx__NodeProto *nodes[16];
    Onnx__TensorProto *inits[8];
    Onnx__ValueInfoProto *ins[4], *outs[4];
} Builder;

/* The protobuf structures a test builds are allocated here and freed when the next model
 * starts (b_init), so that nothing leaks between tests. */
static void *allocs[512];
static int n_allocs;

static void *talloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_lt(n_allocs, 512);
    allocs[n_allocs++] = p;
    return p;
}

static void free_allocs(void)
{
    while (n_allocs > 0)
        free(allocs[--n_allocs]);
}

static void b_init(Builder *b, int opset)
{
    free_allocs();
    memset(b, 0, sizeof *b);
    onnx__model_proto__init(&b->m);
    onnx__graph_proto__init(&b->g);
    onnx__operator_set_id_proto__init(&b->opset);
    b->opset.domain = (char *)"";
    b->opset.has_version = 1;
    b->opset.version = opset;
    b->opsets[0] = &b->opset;
    b->m.n_opset_import = 1;
    b->m.opset_import = b->opsets;
    b->m.has_ir_version = 1;
    b->m.ir_version = 8;
    b->m.graph = &b->g;
    b->g.name = (char *)"g";
    b->g.node = b->nodes;
    b->g.initializer = b->inits;
    b->g.input = b->ins;
    b->g.output = b->outs;
}

/* A float tensor value info with dims (0 = the symbol "N"). */
static Onnx__ValueInfoProto *vinfo(const char *name, int rank, const int64_t *dims)
{
    Onnx__ValueInfoProto *v = talloc(1, sizeof *v);
    onnx__value_info_proto__init(v);
    v->name = (char *)name;
    Onnx__TypeProto *t = talloc(1, sizeof *t);
    onnx__type_proto__init(t);
    Onnx__TypeProto__Tensor *tt = talloc(1, sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = 1;
    Onnx__TensorShapeProto *s = talloc(1, sizeof *s);
    onnx__tensor_shape_proto__init(s);
    s->n_dim = (size_t)rank;
    s->dim = talloc((size_t)rank + 1, sizeof *s->dim);
    for (int i = 0; i < rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = talloc(1, sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        if (dims[i]) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = dims[i];
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = (char *)"N";
        }
        s->dim[i] = d;
    }
    tt->shape = s;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = tt;
    v->type = t;
    return v;
}

static Onnx__NodeProto *node(Builder *b, const char *op, const char *name, const char *in0,
                             const char *in1, const char *out)
{
    Onnx__NodeProto *n = talloc(1, sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = (char *)op;
    n->name = (char *)name;
    n->input = talloc(2, sizeof(char *));
    n->input[n->n_input++] = (char *)in0;
    if (in1)
        n->input[n->n_input++] = (char *)in1;
    n->output = talloc(1, sizeof(char *));
    n->output[n->n_output++] = (char *)out;
    b->nodes[b->g.n_node++] = n;
    return n;
}

/* A float initializer of shape dims holding raw bytes (raw_len may be wrong on purpose). */
static Onnx__TensorProto *init_f32(Builder *b, const char *name, int rank, const int64_t *dims,
                                   const float *data, size_t raw_len)
{
    Onnx__TensorProto *t = talloc(1, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = (char *)name;
    t->has_data_type = 1;
    t->data_type = 1;
    t->n_dims = (size_t)rank;
    t->dims = (int64_t *)dims;
    t->has_raw_data = 1;
    t->raw_data.len = raw_len;
    t->raw_data.data = (uint8_t *)data;
    b->inits[b->g.n_initializer++] = t;
    return t;
}

static Graph *import(Builder *b, Diag *d)
{
    size_t len = onnx__model_proto__get_packed_size(&b->m);
    uint8_t *buf = malloc(len + 1);
    onnx__model_proto__pack(&b->m, buf);
    Graph *g = fe_onnx_parse("m.onnx", buf, len, d);
    free(buf);
    return g;
}

/* x: f32[N, 4] -> Relu -> MatMul(w [4, 3]) -> y */
static void simple(Builder *b, int opset)
{
    static const int64_t xd[2] = {0, 4}, yd[2] = {0, 3}, wd[2] = {4, 3};
    static float w[12];
    b_init(b, opset);
    b->ins[b->g.n_input++] = vinfo("x", 2, xd);
    b->outs[b->g.n_output++] = vinfo("y", 2, yd);
    init_f32(b, "w", 2, wd, w, sizeof w);
    node(b, "Relu", "r", "x", NULL, "h");
    node(b, "MatMul", "mm", "h", "w", "y");
}

START_TEST(test_simple_model)
{
    Builder b;
    simple(&b, 13);
    Diag d;
    ir_diag_init(&d);
    Graph *g = import(&b, &d);
    ck_assert_msg(g != NULL, "%s", ir_diag_text(&d));
    ck_assert_int_eq(g->n_inputs, 1);
    ck_assert_int_eq(g->n_outputs, 1);
    ck_assert_int_eq(g->n_syms, 1);
    ck_assert_str_eq(g->sym_names[0], "N");
    char buf[128];
    ck_assert_str_eq(ir_type_str(g, &g->values[g->outputs[0]].type, buf, sizeof buf), "f32[N, 3]");
    ck_assert_str_eq(g->output_names[0], "y");
    ir_graph_free(g);
    ir_diag_fini(&d);
}
END_TEST

static void expect_error(Builder *b, const char *needle)
{
    Diag d;
    ir_diag_init(&d);
    Graph *g = import(b, &d);
    ck_assert_msg(g == NULL, "imported although it should fail with '%s'", needle);
    ck_assert_msg(strstr(ir_diag_text(&d), needle), "message lacks '%s':\n%s", needle,
                  ir_diag_text(&d));
    ck_assert_msg(strstr(ir_diag_text(&d), "m.onnx"), "message lacks the file:\n%s",
                  ir_diag_text(&d));
    ir_diag_fini(&d);
}

START_TEST(test_future_opset)
{
    Builder b;
    simple(&b, 99);
    expect_error(&b, "opset 99 is not supported");
    simple(&b, 3);
    expect_error(&b, "opset 3 is not supported");
}
END_TEST

START_TEST(test_dangling_name)
{
    Builder b;
    simple(&b, 13);
    b.nodes[1]->input[0] = (char *)"nothing";
    expect_error(&b, "node 'mm' (MatMul): input 'nothing' is produced by no node");
}
END_TEST

START_TEST(test_cycle)
{
    Builder b;
    simple(&b, 13);
    b.nodes[0]->input[0] = (char *)"y"; /* Relu reads MatMul's output, MatMul reads Relu's */
    expect_error(&b, "is part of a cycle");
}
END_TEST

START_TEST(test_initializer_size)
{
    Builder b;
    simple(&b, 13);
    b.inits[0]->raw_data.len = 20;
    expect_error(&b, "initializer 'w': raw_data holds 20 bytes");
}
END_TEST

START_TEST(test_external_escape)
{
    static Onnx__StringStringEntryProto kv;
    static Onnx__StringStringEntryProto *kvs[1] = {&kv};
    const char *bad[] = {"../w.bin", "/etc/passwd", "a/../../w.bin"};
    for (int i = 0; i < 3; i++) {
        Builder b;
        simple(&b, 13);
        onnx__string_string_entry_proto__init(&kv);
        kv.key = (char *)"location";
        kv.value = (char *)bad[i];
        Onnx__TensorProto *t = b.inits[0];
        t->has_raw_data = 0;
        t->has_data_location = 1;
        t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
        t->n_external_data = 1;
        t->external_data = kvs;
        expect_error(&b, "is outside the model's folder");
    }
}
END_TEST

START_TEST(test_unsupported_listed_once)
{
    Builder b;
    simple(&b, 13);
    node(&b, "Frobnicate", "f1", "x", NULL, "a");
    node(&b, "Quux", "q1", "a", NULL, "b2");
    Diag d;
    ir_diag_init(&d);
    Graph *g = import(&b, &d);
    ck_assert(g == NULL);
    const char *t = ir_diag_text(&d);
    ck_assert_msg(strstr(t, "2 nodes of this model cannot be imported"), "%s", t);
    ck_assert_msg(strstr(t, "node 'f1': Frobnicate (ai.onnx opset 13)"), "%s", t);
    ck_assert_msg(strstr(t, "node 'q1': Quux (ai.onnx opset 13)"), "%s", t);
    ck_assert_int_eq(d.n_errors, 1);
    ir_diag_fini(&d);
}
END_TEST

START_TEST(test_shape_subgraph_folds)
{
    /* y = Reshape(x, Concat(Gather(Shape(x), 0), [-1]))  with x: f32[2, 3, 4] */
    static const int64_t xd[3] = {2, 3, 4}, yd[2] = {2, 12}, one[1] = {1};
    static const int64_t zero = 0, minus1 = -1;
    Builder b;
    b_init(&b, 13);
    b.ins[b.g.n_input++] = vinfo("x", 3, xd);
    b.outs[b.g.n_output++] = vinfo("y", 2, yd);
    Onnx__TensorProto *idx = init_f32(&b, "idx", 0, NULL, (const float *)&zero, 8);
    idx->data_type = 7;
    Onnx__TensorProto *m1 = init_f32(&b, "m1", 1, one, (const float *)&minus1, 8);
    m1->data_type = 7;
    node(&b, "Shape", "shape", "x", NULL, "s");
    node(&b, "Gather", "gather", "s", "idx", "n0");
    node(&b, "Unsqueeze", "unsq", "n0", "zero_axes", "n1");
    Onnx__TensorProto *ax = init_f32(&b, "zero_axes", 1, one, (const float *)&zero, 8);
    ax->data_type = 7;
    Onnx__NodeProto *cat = node(&b, "Concat", "concat", "n1", "m1", "shp");
    Onnx__AttributeProto axis;
    onnx__attribute_proto__init(&axis);
    axis.name = (char *)"axis";
    axis.has_i = 1;
    axis.i = 0;
    axis.has_type = 1;
    axis.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    Onnx__AttributeProto *attrs[1] = {&axis};
    cat->n_attribute = 1;
    cat->attribute = attrs;
    node(&b, "Reshape", "reshape", "x", "shp", "y");
    Diag d;
    ir_diag_init(&d);
    Graph *g = import(&b, &d);
    ck_assert_msg(g != NULL, "%s", ir_diag_text(&d));
    char buf[128];
    ck_assert_str_eq(ir_type_str(g, &g->values[g->outputs[0]].type, buf, sizeof buf), "f32[2, 12]");
    int live = 0;
    for (int i = 0; i < g->n_nodes; i++)
        live += !g->nodes[i].dead;
    ck_assert_int_eq(live, 1); /* only the reshape: the shape code folded away */
    ir_graph_free(g);
    ir_diag_fini(&d);
}
END_TEST

START_TEST(test_garbage)
{
    Diag d;
    ir_diag_init(&d);
    const char junk[] = "this is not a protobuf file at all \xff\xff\xff\xff";
    ck_assert(fe_onnx_parse("m.onnx", junk, sizeof junk, &d) == NULL);
    ck_assert_msg(strstr(ir_diag_text(&d), "m.onnx") &&
                      strstr(ir_diag_text(&d), "not a valid ONNX model"),
                  "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    /* every truncation of a valid model fails cleanly or imports */
    Builder b;
    simple(&b, 13);
    size_t len = onnx__model_proto__get_packed_size(&b.m);
    uint8_t *buf = malloc(len);
    onnx__model_proto__pack(&b.m, buf);
    for (size_t cut = 0; cut < len; cut++) {
        ir_diag_init(&d);
        Graph *g = fe_onnx_parse("m.onnx", buf, cut, &d);
        ck_assert(g != NULL || d.n_errors > 0);
        ir_graph_free(g);
        ir_diag_fini(&d);
    }
    free(buf);
}
END_TEST

START_TEST(test_tensor_pb)
{
    static const int64_t dims[2] = {2, 2};
    static const float data[4] = {1, 2, 3, 4};
    Builder b;
    b_init(&b, 13);
    Onnx__TensorProto *t = init_f32(&b, "t", 2, dims, data, sizeof data);
    size_t len = onnx__tensor_proto__get_packed_size(t);
    uint8_t *buf = malloc(len);
    onnx__tensor_proto__pack(t, buf);
    Diag d;
    ir_diag_init(&d);
    NpyArray a;
    char *name;
    ck_assert_msg(fe_onnx_tensor_parse("t.pb", buf, len, &a, &name, &d), "%s", ir_diag_text(&d));
    ck_assert_int_eq(a.dtype, IR_F32);
    ck_assert_int_eq(a.ndim, 2);
    ck_assert_str_eq(name, "t");
    ck_assert(memcmp(a.data, data, sizeof data) == 0);
    fe_npy_free(&a);
    free(name);
    free(buf);
    ir_diag_fini(&d);
}
END_TEST

static Suite *onnx_suite(void)
{
    Suite *s = suite_create("onnx");
    TCase *tc = tcase_create("onnx");
    tcase_add_test(tc, test_simple_model);
    tcase_add_test(tc, test_future_opset);
    tcase_add_test(tc, test_dangling_name);
    tcase_add_test(tc, test_cycle);
    tcase_add_test(tc, test_initializer_size);
    tcase_add_test(tc, test_external_escape);
    tcase_add_test(tc, test_unsupported_listed_once);
    tcase_add_test(tc, test_shape_subgraph_folds);
    tcase_add_test(tc, test_garbage);
    tcase_add_test(tc, test_tensor_pb);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(onnx_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#else
int main(void)
{
    puts("slimc built without ONNX import: nothing to test");
    return 0;
}
#endif
