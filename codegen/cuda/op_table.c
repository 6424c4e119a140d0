/* The CUDA backend's op table (codegen/cuda/op_table.h): one row per op kind, by family. A
 * new kernel adds its row here and IR_BE_CUDA to its ops.def row. */
#include "codegen/cuda/op_table.h"
#include "codegen/cuda/quant.h"

/* Views (squeeze, unsqueeze, flatten, reshape) have no kernel: the host half aliases the
 * buffer (emit.c never calls this; the row says the op is implemented). */
static void emit_view(CgCtx *c, NodeId id)
{
    (void)c, (void)id;
}

#define ANY .check = CU_CHECK_ANY
#define OWN .check = CU_CHECK_OWN

const CuOpEmitter cu_ops[IR_NUM_OPS] = {
/* elementwise.c: every op whose ops.def row has a scalar expression, E(...) */
#define CU_ROW_IF_1(e) [IR_OP_##e] = {.emit = cu_emit_elementwise},
#define CU_ROW_IF_0(e)
#define CU_ROW_CAT_(a, b) a##b
#define CU_ROW_CAT(a, b)  CU_ROW_CAT_(a, b)
#define E(...)            1
#define NOEXPR            0
#define OP(e, name, fam, mn, mx, flags, cost, bytes, be, shape, attrs, expr)                       \
    CU_ROW_CAT(CU_ROW_IF_, expr)(e)
#include "ir/ops.def"
#undef OP
#undef E
#undef NOEXPR
#undef CU_ROW_CAT
#undef CU_ROW_CAT_
#undef CU_ROW_IF_0
#undef CU_ROW_IF_1
    /* views: no code */
    [IR_OP_SQUEEZE] = {.emit = emit_view, ANY},
    [IR_OP_UNSQUEEZE] = {.emit = emit_view, ANY},
    [IR_OP_FLATTEN] = {.emit = emit_view, ANY},
    [IR_OP_RESHAPE] = {.emit = emit_view, ANY},
    /* quant.c: the int8 path (u8 activations, s8 / s4 weights; the emitters check dtypes) */
    [IR_OP_QUANTIZE] = {.emit = cu_emit_qdq, OWN},
    [IR_OP_DEQUANTIZE] = {.emit = cu_emit_qdq, OWN},
    [IR_OP_QLINEAR] = {.emit = cu_emit_qlinear, OWN},
    [IR_OP_QCONV2D] = {.emit = cu_emit_qconv2d, OWN},
    [IR_OP_DQLINEAR] = {.emit = cu_emit_dqlinear, OWN},
    [IR_OP_WLINEAR] = {.emit = cu_emit_wlinear, OWN},
};
