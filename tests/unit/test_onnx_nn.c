/* The ONNX ops of frontend/onnx_ops_nn.c, each lowered to IR ops: a tiny model per op
 * family is built here with protobuf-c, imported, run with the IR's reference semantics
 * (ir_eval_graph) and compared with values computed in the test by plain loops (Trilu,
 * NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss, Attention). The ONNX node tests
 * (tests/onnx/run_node_tests) are the main check; these keep the lowerings honest in the
 * unit suite. */
#include "frontend/onnx.h"
#include "ir/eval.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef SLIMC_WITH_ONNX
#include <onnx.pb-c.h>

/* ---- building one-node models ---- */

typedef struct Model {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto opset, *opsets[1];
    Onnx__NodeProto node, *nodes[1];
    Onnx__AttributeProto attrs[4], *attr_ptrs[4];
    Onnx__ValueInfoProto vi[8], *ins[8], *outs[4];
    Onnx__TypeProto tp[8];
    Onnx__TypeProto__Tensor tt[8];
    Onnx__TensorShapeProto sp[8];
    Onnx__TensorShapeProto__Dimension dims[8][4], *dim_ptrs[8][4];
    char *in_names[8], *out_names[4];
    int n_vi;
} Model;

static void model_init(Model *m, const char *op, int opset)
{
    memset(m, 0, sizeof *m);
    onnx__model_proto__init(&m->m);
    onnx__graph_proto__init(&m->g);
    onnx__operator_set_id_proto__init(&m->opset);
    m->opset.domain = (char *)"";
    m->opset.has_version = 1;
    m->opset.version = opset;
    m->opsets[0] = &m->opset;
    m->m.n_opset_import = 1;
    m->m.opset_import = m->opsets;
    m->m.has_ir_version = 1;
    m->m.ir_version = 9;
    m->m.graph = &m->g;
    m->g.name = (char *)"g";
    onnx__node_proto__init(&m->node);
    m->node.op_type = (char *)op;
    m->node.name = (char *)"n";
    m->node.input = m->in_names;
    m->node.output = m->out_names;
    m->node.attribute = m->attr_ptrs;
    m->nodes[0] = &m->node;
    m->g.node = m->nodes;
    m->g.n_node = 1;
    m->g.input = m->ins;
    m->g.output = m->outs;
}

static Onnx__ValueInfoProto *value_info(Model *m, const char *name, int elem, int rank,
                                        const int64_t *d)
{
    int k = m->n_vi++;
    Onnx__ValueInfoProto *v = &m->vi[k];
    onnx__value_info_proto__init(v);
    v->name = (char *)name;
    onnx__type_proto__init(&m->tp[k]);
    onnx__type_proto__tensor__init(&m->tt[k]);
    onnx__tensor_shape_proto__init(&m->sp[k]);
    m->tt[k].has_elem_type = 1;
    m->tt[k].elem_type = elem;
    for (int i = 0; i < rank; i++) {
        onnx__tensor_shape_proto__dimension__init(&m->dims[k][i]);
        m->dims[k][i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        m->dims[k][i].dim_value = d[i];
        m->dim_ptrs[k][i] = &m->dims[k][i];
    }
    m->sp[k].n_dim = (size_t)rank;
    m->sp[k].dim = m->dim_ptrs[k];
    m->tt[k].shape = &m->sp[k];
    m->tp[k].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    m->tp[k].tensor_type = &m->tt[k];
    v->type = &m->tp[k];
    return v;
}

/* Input / output of the node and the graph; elem is the ONNX type (1 f32, 7 i64). */
static void input(Model *m, const char *name, int elem, int rank, const int64_t *d)
{
    m->in_names[m->node.n_input++] = (char *)name;
    m->ins[m->g.n_input++] = value_info(m, name, elem, rank, d);
}

static void output(Model *m, const char *name, int rank, const int64_t *d)
{
    m->out_names[m->node.n_output++] = (char *)name;
    m->outs[m->g.n_output++] = value_info(m, name, 1, rank, d);
}

static void attr_int(Model *m, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = &m->attrs[m->node.n_attribute];
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = 1;
    a->i = v;
    m->attr_ptrs[m->node.n_attribute++] = a;
}

static void attr_str(Model *m, const char *name, const char *v)
{
    Onnx__AttributeProto *a = &m->attrs[m->node.n_attribute];
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    a->has_s = 1;
    a->s.data = (uint8_t *)v;
    a->s.len = strlen(v);
    m->attr_ptrs[m->node.n_attribute++] = a;
}

/* Imports m, runs it on inputs and checks output k (n floats) against want. */
static void run_and_check(Model *m, const void *const *inputs, int k, const float *want, int n)
{
    size_t len = onnx__model_proto__get_packed_size(&m->m);
    uint8_t *buf = malloc(len);
    onnx__model_proto__pack(&m->m, buf);
    Diag d;
    ir_diag_init(&d);
    Graph *g = fe_onnx_parse("m.onnx", buf, len, &d);
    free(buf);
    ck_assert_msg(g != NULL, "%s", ir_diag_text(&d));
    void *outs[4] = {NULL};
    ck_assert_msg(ir_eval_graph(g, inputs, outs, NULL, &d), "%s", ir_diag_text(&d));
    const float *y = outs[k];
    for (int i = 0; i < n; i++)
        ck_assert_msg(fabsf(y[i] - want[i]) <= 1e-5f + 1e-4f * fabsf(want[i]),
                      "element %d: %g, want %g", i, (double)y[i], (double)want[i]);
    for (int i = 0; i < g->n_outputs; i++)
        free(outs[i]);
    ir_graph_free(g);
    ir_diag_fini(&d);
}

/* ---- the ops ---- */

START_TEST(test_trilu)
{
    static const int64_t xd[2] = {3, 4};
    float x[12];
    for (int i = 0; i < 12; i++)
        x[i] = (float)(i + 1);
    for (int upper = 0; upper <= 1; upper++) {
        Model m;
        model_init(&m, "Trilu", 14);
        input(&m, "x", 1, 2, xd);
        output(&m, "y", 2, xd);
        attr_int(&m, "upper", upper);
        float want[12];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++)
                want[i * 4 + j] = (upper ? j >= i : j <= i) ? x[i * 4 + j] : 0.0f;
        const void *ins[1] = {x};
        run_and_check(&m, ins, 0, want, 12);
    }
}
END_TEST

/* input [N=2, C=3, D=2] of log-probabilities, target [2, 2]; class 1 ignored. */
static const float nll_x[12] = {-1.0f,  -2.0f,  -0.5f, -1.5f, -3.0f, -0.25f,
                                -0.75f, -1.25f, -2.5f, -0.1f, -0.2f, -4.0f};
static const int64_t nll_t[4] = {0, 1, 2, 2};
static const float nll_w[3] = {0.5f, 2.0f, 4.0f};

/* loss[n, d] = -x[n, t, d] * w[t] (0 where t == 1), and sum(w[t]) over kept targets. */
static void nll_reference(const float *x, float *loss, float *wsum)
{
    *wsum = 0;
    for (int n = 0; n < 2; n++)
        for (int d = 0; d < 2; d++) {
            int64_t t = nll_t[n * 2 + d];
            float w = t == 1 ? 0.0f : nll_w[t];
            loss[n * 2 + d] = -x[(n * 3 + t) * 2 + d] * w;
            *wsum += w;
        }
}

START_TEST(test_nll_loss)
{
    static const int64_t xd[3] = {2, 3, 2}, td[2] = {2, 2}, wd[1] = {3};
    float loss[4], wsum;
    nll_reference(nll_x, loss, &wsum);
    const char *reds[3] = {"none", "sum", "mean"};
    for (int r = 0; r < 3; r++) {
        Model m;
        model_init(&m, "NegativeLogLikelihoodLoss", 22);
        input(&m, "x", 1, 3, xd);
        input(&m, "t", 7, 2, td);
        input(&m, "w", 1, 1, wd);
        output(&m, "loss", r == 0 ? 2 : 0, td);
        attr_str(&m, "reduction", reds[r]);
        attr_int(&m, "ignore_index", 1);
        float total = loss[0] + loss[1] + loss[2] + loss[3];
        float want = r == 1 ? total : total / wsum;
        const void *ins[3] = {nll_x, nll_t, nll_w};
        run_and_check(&m, ins, 0, r == 0 ? loss : &want, r == 0 ? 4 : 1);
    }
}
END_TEST

START_TEST(test_softmax_cross_entropy)
{
    static const int64_t xd[3] = {2, 3, 2}, td[2] = {2, 2}, wd[1] = {3};
    float logp[12], loss[4], wsum;
    for (int n = 0; n < 2; n++)
        for (int d = 0; d < 2; d++) {
            double s = 0;
            for (int c = 0; c < 3; c++)
                s += exp(nll_x[(n * 3 + c) * 2 + d]);
            for (int c = 0; c < 3; c++)
                logp[(n * 3 + c) * 2 + d] = (float)(nll_x[(n * 3 + c) * 2 + d] - log(s));
        }
    nll_reference(logp, loss, &wsum);
    Model m;
    model_init(&m, "SoftmaxCrossEntropyLoss", 13);
    input(&m, "x", 1, 3, xd);
    input(&m, "t", 7, 2, td);
    input(&m, "w", 1, 1, wd);
    output(&m, "loss", 0, td);
    output(&m, "log_prob", 3, xd);
    attr_int(&m, "ignore_index", 1);
    float want = (loss[0] + loss[1] + loss[2] + loss[3]) / wsum;
    const void *ins[3] = {nll_x, nll_t, nll_w};
    run_and_check(&m, ins, 0, &want, 1);
    run_and_check(&m, ins, 1, logp, 12);
}
END_TEST

/* Q [1, 2, 2, 2] (2 query heads), K/V [1, 1, 3, 2] (1 kv head: GQA), causal: query i sees
 * keys j <= i; the reference is the loop of the definition. */
START_TEST(test_attention_gqa_causal)
{
    static const int64_t qd[4] = {1, 2, 2, 2}, kd[4] = {1, 1, 3, 2};
    static const float q[8] = {0.1f, 0.2f, -0.3f, 0.4f, 0.5f, -0.6f, 0.7f, 0.8f};
    static const float k[6] = {0.3f, -0.1f, 0.2f, 0.6f, -0.5f, 0.4f};
    static const float v[6] = {1.0f, 2.0f, -1.0f, 0.5f, 3.0f, -2.0f};
    float want[8];
    for (int h = 0; h < 2; h++)
        for (int i = 0; i < 2; i++) {
            double s[3], mx = -INFINITY, sum = 0;
            for (int j = 0; j < 3; j++) {
                s[j] = (q[(h * 2 + i) * 2] * k[j * 2] + q[(h * 2 + i) * 2 + 1] * k[j * 2 + 1]) /
                       sqrt(2.0);
                if (j > i)
                    s[j] = -INFINITY;
                mx = s[j] > mx ? s[j] : mx;
            }
            for (int j = 0; j < 3; j++)
                sum += (s[j] = exp(s[j] - mx));
            for (int e = 0; e < 2; e++) {
                double acc = 0;
                for (int j = 0; j < 3; j++)
                    acc += s[j] / sum * v[j * 2 + e];
                want[(h * 2 + i) * 2 + e] = (float)acc;
            }
        }
    Model m;
    model_init(&m, "Attention", 23);
    input(&m, "Q", 1, 4, qd);
    input(&m, "K", 1, 4, kd);
    input(&m, "V", 1, 4, kd);
    output(&m, "Y", 4, qd);
    attr_int(&m, "is_causal", 1);
    const void *ins[3] = {q, k, v};
    run_and_check(&m, ins, 0, want, 8);
}
END_TEST

static Suite *onnx_nn_suite(void)
{
    Suite *s = suite_create("onnx_nn");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_trilu);
    tcase_add_test(tc, test_nll_loss);
    tcase_add_test(tc, test_softmax_cross_entropy);
    tcase_add_test(tc, test_attention_gqa_causal);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(onnx_nn_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#else
int main(void)
{
    return 0; /* built without ONNX import */
}
#endif
