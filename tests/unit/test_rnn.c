/* The rnn op (ir/rnn.c): its C kernel (runtime/kernels/rnn.c, through the emitter and the
 * JIT, at 1 and 3 threads) against the reference evaluator's plain loops (ir_eval_rnn, which
 * shares no code with the kernel), over every mode, direction and layout, sequence_lens
 * given at run time (entries shorter than T), initial states, peepholes,
 * linear_before_reset, clip, the state columns (states 1 and 2) and activations other than
 * the defaults, w and r as given and transposed (w_transposed); then shape errors named by
 * the shape function. ONNX Runtime checks the
 * same semantics end to end (tests/cli/onnx_rnn.sh, onnx_rnn_dyn.sh). */
#include "support_cg.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

typedef struct RnnCase {
    int mode, dir, layout, states;
    int64_t T, B, I, H;
    bool bias, lens, h0, c0, peep, lbr;
    double clip;
    int64_t act[6]; /* all 0: the defaults */
    bool tr;        /* w_transposed: w [D, I, G*H], r [D, H, G*H] */
} RnnCase;

static void run_case(const RnnCase *a, int idx)
{
    char what[64];
    snprintf(what, sizeof what, "rnn case %d (mode %d dir %d layout %d)", idx, a->mode, a->dir,
             a->layout);
    unsigned seed = 1234u + (unsigned)idx;
    const int64_t D = a->dir == 2 ? 2 : 1, G = a->mode == 0 ? 1 : a->mode == 1 ? 3 : 4;
    Graph *g = ir_graph_new("rnn");
    RtTensor in[4];
    int n_in = 0;
    ValueId ins[8] = {IR_NONE, IR_NONE, IR_NONE, IR_NONE, IR_NONE, IR_NONE, IR_NONE, IR_NONE};
    const int64_t xd[3] = {a->layout ? a->B : a->T, a->layout ? a->T : a->B, a->I};
    ins[0] = sup_input(g, "x", 3, xd, &in[n_in++], &seed);
    const int64_t wd[3] = {D, a->tr ? a->I : G * a->H, a->tr ? G * a->H : a->I},
                  rd[3] = {D, a->tr ? a->H : G * a->H, a->tr ? G * a->H : a->H},
                  bd[2] = {D, 2 * G * a->H}, pd[2] = {D, 3 * a->H}, ld[1] = {a->B};
    const int64_t sd[3] = {a->layout ? a->B : D, a->layout ? D : a->B, a->H};
    ins[1] = sup_const_rand(g, "w", 3, wd, &seed);
    ins[2] = sup_const_rand(g, "r", 3, rd, &seed);
    int nin = 3;
    if (a->bias)
        ins[3] = sup_const_rand(g, "b", 2, bd, &seed), nin = 4;
    if (a->lens)
        ins[4] = sup_input_int(g, "lens", IR_I32, 1, ld, 1, (int)a->T, &in[n_in++], &seed), nin = 5;
    if (a->h0)
        ins[5] = sup_input(g, "h0", 3, sd, &in[n_in++], &seed), nin = 6;
    if (a->c0)
        ins[6] = sup_input(g, "c0", 3, sd, &in[n_in++], &seed), nin = 7;
    if (a->peep)
        ins[7] = sup_const_rand(g, "p", 2, pd, &seed), nin = 8;
    NodeId n = ir_node_new(g, IR_OP_RNN, "cell", (SrcLoc){0}, ins, nin, 1);
    ir_node_set_int(g, n, "mode", a->mode);
    ir_node_set_int(g, n, "direction", a->dir);
    ir_node_set_int(g, n, "layout", a->layout);
    ir_node_set_int(g, n, "states", a->states);
    ir_node_set_int(g, n, "linear_before_reset", a->lbr);
    ir_node_set_int(g, n, "w_transposed", a->tr);
    if (a->clip > 0)
        ir_node_set_float(g, n, "clip", a->clip);
    if (a->act[0] || a->act[1] || a->act[2] || a->act[3])
        ir_node_set_ints(g, n, "activations", a->act, (int)(3 * D));
    ir_output_add(g, g->nodes[n].outputs[0]);
    sup_run_check(g, in, n_in, 1e-5, what);
}

START_TEST(test_kernel)
{
    static const RnnCase cases[] = {
        /* mode dir layout states  T  B  I  H  bias lens h0 c0 peep lbr clip act */
        {2, 0, 0, 2, 7, 1, 5, 16, true, false, false, false, false, false, 0, {0}, false},
        {2, 2, 0, 2, 9, 3, 6, 5, true, true, true, true, true, false, 0, {0}, false},
        {2, 1, 1, 1, 6, 4, 3, 33, true, true, false, true, false, false, 0.8, {0}, false},
        {2,
         2,
         1,
         0,
         5,
         2,
         4,
         7,
         false,
         false,
         true,
         false,
         true,
         false,
         0,
         {0, 2, 1, 0, 1, 2},
         false},
        {1, 0, 0, 1, 8, 2, 5, 9, true, true, true, false, false, false, 0, {0}, false},
        {1, 1, 0, 1, 8, 3, 5, 9, true, true, false, false, false, true, 0, {0}, false},
        {1, 2, 1, 1, 4, 5, 2, 17, true, true, true, false, false, true, 0.6, {0}, false},
        {1,
         2,
         0,
         0,
         6,
         1,
         3,
         4,
         false,
         false,
         false,
         false,
         false,
         false,
         0,
         {2, 1, 0, 0, 2, 0},
         false},
        {0, 0, 0, 1, 10, 2, 3, 6, true, true, true, false, false, false, 0, {0}, false},
        {0,
         2,
         1,
         1,
         5,
         3,
         4,
         8,
         true,
         true,
         false,
         false,
         false,
         false,
         0.5,
         {2, 0, 0, 1, 0, 0},
         false},
        {0, 1, 0, 0, 1, 1, 1, 1, false, false, false, false, false, false, 0, {0}, false},
        /* w_transposed (what the importer emits) */
        {2, 2, 0, 2, 9, 3, 6, 5, true, true, true, true, true, false, 0, {0}, true},
        {1, 2, 1, 1, 4, 5, 2, 17, true, true, true, false, false, false, 0.6, {0}, true},
        {1, 0, 0, 1, 7, 2, 3, 40, true, false, true, false, false, true, 0, {0}, true},
        {0, 1, 1, 1, 5, 3, 4, 8, true, true, false, false, false, false, 0, {0}, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i], (int)i);
}
END_TEST

/* Bad operands are errors naming the op, the node and what is wrong. */
START_TEST(test_shape_errors)
{
    unsigned seed = 7;
    for (int k = 0; k < 3; k++) {
        Graph *g = ir_graph_new("rnn_bad");
        RtTensor x;
        const int64_t xd[3] = {4, 2, 3}, wd[3] = {1, 4 * 5, k == 0 ? 2 : 3}, rd[3] = {1, 4 * 5, 5},
                      hd[3] = {1, 3, 5};
        ValueId ins[6] = {sup_input(g, "x", 3, xd, &x, &seed),
                          sup_const_rand(g, "w", 3, wd, &seed),
                          sup_const_rand(g, "r", 3, rd, &seed),
                          IR_NONE,
                          IR_NONE,
                          sup_const_rand(g, "h0", 3, hd, &seed)};
        NodeId n = ir_node_new(g, IR_OP_RNN, "cell", (SrcLoc){0}, ins, k == 1 ? 6 : 3, 1);
        ir_node_set_int(g, n, "mode", k == 2 ? 1 : 2);
        Diag d;
        ir_diag_init(&d);
        ck_assert(!ir_infer_shapes(g, &d));
        static const char *const want[] = {"w must be f32 [D, G*H, I]", "initial_h must be",
                                           "r must be [D, G*H, H]"};
        ck_assert_msg(strstr(ir_diag_text(&d), want[k]) && strstr(ir_diag_text(&d), "rnn 'cell'"),
                      "case %d: %s", k, ir_diag_text(&d));
        ir_diag_fini(&d);
        free(x.data);
        ir_graph_free(g);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("rnn");
    TCase *t = tcase_create("rnn");
    tcase_add_test(t, test_kernel);
    tcase_add_test(t, test_shape_errors);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
