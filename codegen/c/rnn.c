/* rnn (ir/rnn.c has its semantics): the body fills a slimc_rt_rnn and calls slimc_rt_rnn_run
 * (runtime/kernels/rnn.c) on its items, one per direction; the steps run inside the kernel,
 * so a symbolic sequence length or batch is a value the body reads at run time. */
#include "codegen/c/cg_internal.h"

void cg_emit_rnn(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *rs = cg_shape(c, n->inputs[2]);
    const int64_t layout = ir_attr_layout(n), dir = ir_attr_direction(n);
    int64_t act[2][3];
    ir_rnn_activations(n, act);
    static const char *const names[] = {"x", "w", "r", "bias", "lens", "h0", "c0", "peep"};
    const char *present[8]; /* an absent input is a NULL pointer of its own type */
    for (int i = 0; i < 8; i++)
        present[i] = i < n->n_inputs && n->inputs[i] != IR_NONE ? names[i] : NULL;
    cg_body_begin(c, id, present, n->n_inputs);
    for (int i = 0; i < 8; i++)
        if (!present[i])
            cg_printf(c, "    const %s *%s = NULL;\n", i == 4 ? "int32_t" : "float", names[i]);
    cg_printf(c, "    slimc_rt_rnn s = {0};\n");
    cg_printf(c, "    s.T = %s;\n", cg_dim(c, xs->d[layout ? 1 : 0]));
    cg_printf(c, "    s.B = %s;\n", cg_dim(c, xs->d[layout ? 0 : 1]));
    cg_printf(c, "    s.I = %s;\n", cg_dim(c, xs->d[2]));
    const bool tr = ir_attr_w_transposed(n) != 0;
    cg_printf(c, "    s.H = %s;\n", cg_dim(c, rs->d[tr ? 1 : 2]));
    cg_printf(c, "    s.wt = %d;\n", tr);
    cg_printf(c, "    s.mode = %lld;\n", (long long)ir_attr_mode(n));
    cg_printf(c, "    s.dir = %lld;\n", (long long)dir);
    cg_printf(c, "    s.lbr = %d;\n", ir_attr_linear_before_reset(n) != 0);
    cg_printf(c, "    s.layout = %lld;\n", (long long)layout);
    cg_printf(c, "    s.states = %lld;\n", (long long)ir_attr_states(n));
    for (int d = 0; d < 2; d++)
        for (int j = 0; j < 3; j++)
            cg_printf(c, "    s.act[%d][%d] = %lld;\n", d, j, (long long)act[d][j]);
    cg_printf(c, "    s.clip = %s;\n", cg_float(c, ir_attr_clip(n)));
    cg_printf(c, "    slimc_rt_rnn_run(&s, x, w, r, bias, lens, h0, c0, peep, out, i0, i1);\n");
    cg_body_end(c);
    const char *T = cg_dim(c, xs->d[0]), *B = cg_dim(c, xs->d[1]);
    k->items = dir == 2 ? "2" : "1";
    k->work = cg_strf(c, "%s * %s * %lld * (%s + %lld)", T, B,
                      (long long)(rs->d[0].c * rs->d[tr ? 2 : 1].c), cg_dim(c, xs->d[2]),
                      (long long)rs->d[tr ? 1 : 2].c);
    k->ep_done = false;
}
