/* fuse: elementwise ops into their producer's epilogue.
 *
 * A head H (an op with IR_F_FUSE_HEAD or IR_F_ELEMENTWISE, one output O) takes its
 * consumer E into its epilogue when:
 *   - O has exactly one use, and that use is an input of the live node E (not an epilogue
 *     operand, not a graph output);
 *   - E is relu, sigmoid or tanh, or add/sub/mul/div whose other operand P is not O and is
 *     available before H runs: a graph input, a constant, or the output of a node earlier
 *     than H in the node order;
 *   - E's output has O's dtype (f32) and shape (so P broadcasts to O without changing it), and
 *     neither is quantized; E runs on H's device; H's epilogue has room for E and E's own
 *     epilogue (whose operands must be available before H too).
 * Then H appends E (operand_first when O is E's second operand of a sub or div; add and
 * mul are commutative in IEEE and keep out op operand), then E's own epilogue, and
 * produces E's output value itself (names and uses downstream stay); E goes dead. This
 * repeats from H until no consumer qualifies, taking whole chains (conv -> +bias -> relu,
 * a residual add then relu) up to IR_MAX_EPILOGUE ops. */
#include "passes/pass.h"

#include <stdlib.h>

/* True when v can be read by node h: an input, a constant, or written before h. */
static bool available_before(const Graph *g, ValueId v, NodeId h)
{
    const Value *val = &g->values[v];
    if (val->kind == IR_VALUE_INPUT || val->kind == IR_VALUE_CONST)
        return true;
    return val->producer != IR_NONE && val->producer < h && !g->nodes[val->producer].dead;
}

static bool same_type(const Type *a, const Type *b)
{
    return a->dtype == b->dtype && !a->quant && !b->quant && ir_shape_eq(&a->shape, &b->shape);
}

/* Takes H's consumer into H's epilogue if the conditions above hold; true if it did. */
static bool fuse_one(Graph *g, NodeId h, NodeId *sole)
{
    const Node *hn = &g->nodes[h];
    ValueId o = hn->outputs[0];
    NodeId e = sole[o]; /* ir_sole_consumer(g, o), kept up to date below */
    if (e == IR_NONE)
        return false;
    const Node *en = &g->nodes[e];
    if (!ir_op_is_epilogue(en->op) || en->n_outputs != 1 || en->device != hn->device ||
        hn->n_epilogue + 1 + en->n_epilogue > IR_MAX_EPILOGUE ||
        !same_type(&g->values[o].type, &g->values[en->outputs[0]].type) ||
        g->values[o].type.dtype != IR_F32) /* epilogues compute in f32 */
        return false;
    Epilogue step = {.op = en->op, .operand = IR_NONE, .operand_first = false};
    if (ir_ops[en->op].flags & IR_F_BINARY) {
        bool o_first = en->inputs[0] == o;
        ValueId p = o_first ? en->inputs[1] : en->inputs[0];
        if (p == o || !available_before(g, p, h))
            return false;
        step.operand = p;
        step.operand_first =
            !o_first && (en->op == IR_OP_SUB || en->op == IR_OP_DIV || en->op == IR_OP_POW);
    }
    for (int j = 0; j < en->n_epilogue; j++)
        if (en->epilogue[j].operand != IR_NONE && !available_before(g, en->epilogue[j].operand, h))
            return false;
    if (step.operand != IR_NONE)
        sole[step.operand] = IR_NONE; /* read by H's epilogue now */
    Node *hw = &g->nodes[h];
    hw->epilogue[hw->n_epilogue++] = step;
    for (int j = 0; j < en->n_epilogue; j++)
        hw->epilogue[hw->n_epilogue++] = en->epilogue[j];
    ValueId y = en->outputs[0];
    hw->outputs[0] = y;
    g->values[y].producer = h;
    g->values[o].producer = IR_NONE; /* unused now; dropped by ir_compact */
    g->nodes[e].dead = true;
    return true;
}

bool pass_fuse(Graph *g, const PassArgs *args, Diag *d)
{
    if (!pass_args_check(args, NULL, d))
        return false;
    /* Every value's sole consumer, found once: a query per fusion would make the pass
     * quadratic in the nodes. */
    int *uses = malloc(sizeof(int) * ((size_t)g->n_values + 1));
    NodeId *sole = malloc(sizeof(NodeId) * ((size_t)g->n_values + 1));
    SLIMC_ASSERT(uses && sole);
    ir_uses(g, uses, sole);
    for (NodeId h = 0; h < g->n_nodes; h++) {
        const Node *n = &g->nodes[h];
        if (n->dead || n->n_outputs != 1 ||
            !(ir_ops[n->op].flags & (IR_F_FUSE_HEAD | IR_F_ELEMENTWISE)))
            continue;
        while (fuse_one(g, h, sole))
            ;
    }
    free(uses);
    free(sole);
    ir_compact(g);
    return true;
}
