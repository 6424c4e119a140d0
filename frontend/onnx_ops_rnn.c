/* ONNX RNN, GRU and LSTM as one rnn op of the IR (ir/rnn.c has its semantics; the kernel,
 * runtime/kernels/rnn.c, loops over the steps), so the sequence length and the batch may
 * be symbolic and a long sequence stays one node. Forward, reverse and bidirectional,
 * sequence_lens (a constant or a run-time input, cast to i32), initial_h / initial_c, LSTM
 * peepholes, GRU's linear_before_reset, clip and layout 1 are taken; activations Sigmoid,
 * Tanh and Relu; input_forget and every other activation are refused by name. The op has
 * one output: ONNX's Y in its first H columns, and when Y_h (Y_c) is wanted the hidden
 * (cell) state after each step in the next H columns, which the importer slices at the
 * direction's last step. Dispatched from frontend/onnx_ops_nn.c. */
#ifdef SLIMC_WITH_ONNX
#include "frontend/onnx_internal.h"

#include <stdio.h>
#include <string.h>

/* The rnn op's code for ONNX activation name s (0 sigmoid, 1 tanh, 2 relu), -1 for one
 * slimc does not take. */
static int activation_code(const char *s)
{
    static const char *const names[] = {"Sigmoid", "Tanh", "Relu"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

/* Checks the attributes; fills the activation codes of each direction (nd of them) in
 * act, 3 per direction (the ones a kind does not use are 1). OX_OK, or the refusal naming
 * the attribute and its value. */
static OxResult rnn_attrs(OxImporter *im, const OxNode *n, int kind, int nd, int64_t *act)
{
    static const char *const defaults[3][3] = {
        {"Tanh"}, {"Sigmoid", "Tanh"}, {"Sigmoid", "Tanh", "Tanh"}};
    int na = kind + 1;
    const Onnx__AttributeProto *a = ox_attr(n, "activations");
    if (a && (int)a->n_strings != na * nd)
        return ox_unsupported(im, n, "activations: %d given, %d expected (%d per direction)",
                              (int)a->n_strings, na * nd, na);
    for (int d = 0; d < nd; d++)
        for (int k = 0; k < 3; k++) {
            char name[64] = "Tanh";
            if (a && k < na) {
                const ProtobufCBinaryData *s = &a->strings[d * na + k];
                size_t len = s->len < sizeof name - 1 ? s->len : sizeof name - 1;
                memcpy(name, s->data, len);
                name[len] = 0;
            } else if (k < na) {
                strcpy(name, defaults[kind][k]);
            }
            act[d * 3 + k] = activation_code(name);
            if (act[d * 3 + k] < 0)
                return ox_unsupported(
                    im, n, "activation '%.40s' (slimc takes Sigmoid, Tanh and Relu)", name);
        }
    if (ox_attr_int(n, "input_forget", 0) != 0)
        return ox_unsupported(im, n, "input_forget=%lld (coupled input and forget gates)",
                              (long long)ox_attr_int(n, "input_forget", 0));
    int64_t layout = ox_attr_int(n, "layout", 0);
    if (layout != 0 && layout != 1)
        return ox_unsupported(im, n, "layout=%lld (ONNX defines 0 and 1)", (long long)layout);
    const Onnx__AttributeProto *clip = ox_attr(n, "clip");
    if (clip && !(clip->f > 0.0f))
        return ox_unsupported(im, n, "clip=%g (a threshold must be positive)", (double)clip->f);
    return OX_OK;
}

/* The state (k = 1 hidden, 2 cell) at each direction's last step out of the rnn op's output
 * out ([T, D, B, (1 + states) H], layout 1: [B, T, D, ...]), as ONNX's Y_h / Y_c [D, B, H]
 * (layout 1: [B, D, H]): step T-1 of the forward direction, step 0 of the reverse one. */
static ValueId last_state(OxImporter *im, const OxNode *n, ValueId out, int nd, bool reverse_only,
                          bool batch_first, int64_t H, int k)
{
    const int64_t tax = batch_first ? 1 : 0, dax = batch_first ? 2 : 1, big = INT64_MAX / 4;
    ValueId parts[2];
    for (int d = 0; d < nd; d++) {
        bool rev = reverse_only || d == 1;
        ValueId v = ox_slice1(im, n, out, tax, rev ? 0 : -1, rev ? 1 : big, 1);
        parts[d] = nd == 2 ? ox_slice1(im, n, v, dax, d, d + 1, 1) : v;
    }
    ValueId s = nd == 2 ? ox_nn_concat(im, n, parts, 2, dax) : parts[0];
    s = ox_slice1(im, n, s, 3, k * H, (k + 1) * H, 1);
    if (s == IR_NONE)
        return IR_NONE;
    const Shape *ss = &im->g->values[s].type.shape; /* drop the step axis (size 1) */
    Dim dims[3];
    for (int i = 0, j = 0; i < 4; i++)
        if (i != tax)
            dims[j++] = ss->d[i];
    return ox_nn_reshape(im, n, s, dims, 3);
}

/* Whether input i of n, when present, has the static shape want (rank dims); reports the
 * mismatch naming the input (what) otherwise. */
static bool input_shape_is(OxImporter *im, const OxNode *n, int i, const char *what,
                           const int64_t *want, int rank)
{
    if (!ox_has_in(n, i))
        return true;
    const Shape *s = &ox_ty(im, ox_in(im, n, i))->shape;
    bool same = s->rank == rank;
    for (int k = 0; same && k < rank; k++)
        same = ir_dim_static(s->d[k]) && s->d[k].c == want[k];
    if (!same) {
        char buf[128];
        int len = 0;
        for (int k = 0; k < rank && len < 100; k++)
            len += snprintf(buf + len, sizeof buf - (size_t)len, k ? ", %lld" : "%lld",
                            (long long)want[k]);
        ir_diag_error(im->d, n->loc, "node '%s' (%s): %s is not of shape [%s]", n->name,
                      n->p->op_type, what, buf);
    }
    return same;
}

OxResult ox_op_recurrent(OxImporter *im, OxNode *n, int kind)
{
    int64_t G = kind == 0 ? 1 : kind == 1 ? 3 : 4;
    if (!ox_has_in(n, 1) || !ox_has_in(n, 2))
        return ox_unsupported(im, n, "needs W and R");
    const char *dir = ox_attr_string(im, n, "direction", "forward");
    int nd = !strcmp(dir, "bidirectional") ? 2 : 1;
    bool reverse_only = !strcmp(dir, "reverse");
    if (nd == 1 && !reverse_only && strcmp(dir, "forward") != 0)
        return ox_unsupported(im, n,
                              "direction '%.40s' (ONNX defines forward, reverse and "
                              "bidirectional)",
                              dir);
    int64_t act[6];
    OxResult ar = rnn_attrs(im, n, kind, nd, act);
    if (ar != OX_OK)
        return ar;
    bool batch_first = ox_attr_int(n, "layout", 0) != 0;
    ValueId x = ox_in(im, n, 0), rr = ox_in(im, n, 2);
    const Shape *xs = &ox_ty(im, x)->shape, *rs = &ox_ty(im, rr)->shape;
    if (xs->rank != 3 || ox_ty(im, x)->dtype != IR_F32)
        return ox_unsupported(im, n, "X must be f32 [T, B, I] (layout 1: [B, T, I])");
    if (rs->rank != 3 || !ir_shape_static(rs))
        return ox_unsupported(im, n,
                              "R must be [num_directions, %lld*hidden_size, hidden_size] "
                              "with static dims",
                              (long long)G);
    int64_t H = ox_attr_int(n, "hidden_size", rs->d[2].c);
    if (H < 1 || rs->d[0].c != nd || rs->d[1].c != G * H || rs->d[2].c != H)
        return ox_unsupported(im, n,
                              "R is not [%d, %lld, %lld] (num_directions, %lld*hidden_size, "
                              "hidden_size)",
                              nd, (long long)(G * H), (long long)H, (long long)G);
    const Dim Td = xs->d[batch_first ? 1 : 0], Id = xs->d[2];
    int64_t ws[3] = {nd, G * H, Id.c}, bs[2] = {nd, 2 * G * H}, ps[2] = {nd, 3 * H};
    bool shapes_ok = !ir_dim_static(Id) || input_shape_is(im, n, 1, "W", ws, 3);
    shapes_ok = input_shape_is(im, n, 3, "B", bs, 2) && shapes_ok;
    shapes_ok = (kind != 2 || input_shape_is(im, n, 7, "P", ps, 2)) && shapes_ok;
    if (!shapes_ok)
        return OX_ERROR;
    const OxConst *lens = ox_const_in(n, 4);
    for (int64_t b = 0; lens && b < ox_const_numel(lens); b++) {
        int64_t l = ox_const_get_i(lens, b);
        if (l < 1 || (ir_dim_static(Td) && l > Td.c))
            return ox_unsupported(im, n, "sequence_lens[%lld] = %lld (slimc takes 1 to %s)",
                                  (long long)b, (long long)l,
                                  ir_dim_static(Td) ? "the sequence length" : "T");
    }
    ValueId ins[8];
    int nin = 3;
    for (int i = 0; i < 8; i++) {
        ins[i] = ox_has_in(n, i) ? ox_in(im, n, i) : IR_NONE;
        if (ins[i] != IR_NONE)
            nin = i + 1;
    }
    if (ins[6] != IR_NONE && kind != 2)
        return ox_unsupported(im, n, "initial_c outside an LSTM");
    if (ins[4] != IR_NONE && ox_ty(im, ins[4])->dtype != IR_I32) {
        DType lt = ox_ty(im, ins[4])->dtype;
        if (lt != IR_I64)
            return ox_unsupported(im, n, "sequence_lens of dtype %s (int32 or int64)",
                                  ir_dtype_name(lt));
        ins[4] = ox_nn_cast(im, n, ins[4], IR_I32);
    }
    /* what the output holds past Y: the hidden states (for Y_h), and the cell states */
    int64_t states = 0;
    if (n->n_out > 1 && ox_wants(n, 1))
        states = 1;
    if (kind == 2 && n->n_out > 2 && ox_wants(n, 2))
        states = 2;
    /* W and R as W^T [D, I, G*H] and R^T [D, H, G*H]: for constant weights the permutes
     * fold at compile time, so the kernel's GEMMs read them in place */
    const int64_t tperm[3] = {0, 2, 1};
    ins[1] = ox_permute(im, n, ins[1], tperm, 3);
    ins[2] = ox_permute(im, n, ins[2], tperm, 3);
    NodeId id = ox_mk(im, n, "rnn", ins, nin);
    if (id == IR_NONE)
        return ox_unsupported(im, n, "the rnn op is missing");
    ir_node_set_int(im->g, id, "mode", kind);
    ir_node_set_int(im->g, id, "w_transposed", 1);
    ir_node_set_int(im->g, id, "direction", nd == 2 ? 2 : reverse_only ? 1 : 0);
    ir_node_set_ints(im->g, id, "activations", act, 3 * nd);
    const Onnx__AttributeProto *clip = ox_attr(n, "clip");
    if (clip)
        ir_node_set_float(im->g, id, "clip", (double)clip->f);
    if (kind == 1 && ox_attr_int(n, "linear_before_reset", 0) != 0)
        ir_node_set_int(im->g, id, "linear_before_reset", 1);
    if (batch_first)
        ir_node_set_int(im->g, id, "layout", 1);
    if (states)
        ir_node_set_int(im->g, id, "states", states);
    ValueId out = ox_done(im, id);
    if (im->g->values[out].type.shape.rank != 4)
        return OX_ERROR; /* the shape function said why */
    if (ox_wants(n, 0))
        ox_bind_value(im, n->out[0],
                      ox_nn_copy(im, n, states ? ox_slice1(im, n, out, 3, 0, H, 1) : out));
    for (int k = 1; k <= (kind == 2 ? 2 : 1); k++) {
        if (n->n_out <= k || !ox_wants(n, k))
            continue;
        ValueId s = last_state(im, n, out, nd, reverse_only, batch_first, H, k);
        if (s == IR_NONE)
            return OX_ERROR;
        ox_bind_value(im, n->out[k], ox_nn_copy(im, n, s));
    }
    return OX_OK;
}

#endif
