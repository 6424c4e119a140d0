#!/usr/bin/env python3
"""Small ONNX models with symbolic dims for tests/cli/shapes_fix.sh and
tests/cli/onnx_dynamic_axes.sh, built with onnx.helper (no torch), and ONNX Runtime's
outputs for them.

  shapes_models.py make DIR           writes DIR/NAME.onnx for every model below
  shapes_models.py refs MODEL.onnx:SHAPE...  for each, the input (MODEL.SHAPE.x.npy) and
                                             ORT's output (MODEL.SHAPE.ref.npy), in one run
"""
import sys

import numpy as np


def make(out):
    import onnx
    from onnx import TensorProto as T
    from onnx import helper as h
    from onnx import numpy_helper as nh

    rng = np.random.default_rng(0)

    def save(name, nodes, inputs, inits):
        g = h.make_graph(nodes, name, inputs, [h.make_tensor_value_info("y", T.FLOAT, None)],
                         [nh.from_array(v, k) for k, v in inits.items()])
        m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
        onnx.save(m, f"{out}/{name}.onnx")

    def i64(*v):  # a 1-d tensor
        return np.array(v, np.int64)

    def s64(v):  # a scalar (Gather's index, a dim)
        return np.array(v, np.int64)

    # Conv over [batch, 3, H, W]: needs its spatial dims fixed (--shape / --dim).
    # conv2d and a max pool with ceil_mode keep H and W symbolic (derived dims); a slice
    # [0:3] of W does not (its length min(3, W') clamps)
    save("conv_dyn",
         [h.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
          h.make_node("Relu", ["c"], ["r"]),
          h.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2],
                      ceil_mode=1),
          h.make_node("Slice", ["p", "s0", "s3", "ax3"], ["y"])],
         [h.make_tensor_value_info("x", T.FLOAT, ["batch", 3, "H", "W"])],
         {"W": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
          "B": rng.standard_normal(4).astype(np.float32),
          "s0": i64(0), "s3": i64(3), "ax3": i64(3)})
    # PyTorch's shape code: y = reshape(x, [Shape(x)[0] * Shape(x)[1], -1]) * 2, named /Shape
    # as the exporter names it.
    save("shape_dyn",
         [h.make_node("Shape", ["x"], ["s"], name="/Shape"),
          h.make_node("Gather", ["s", "i0"], ["d0"], axis=0),
          h.make_node("Gather", ["s", "i1"], ["d1"], axis=0),
          h.make_node("Mul", ["d0", "d1"], ["bs"]),
          h.make_node("Unsqueeze", ["bs", "ax0"], ["bsu"]),
          h.make_node("Concat", ["bsu", "m1"], ["tgt"], axis=0),
          h.make_node("Reshape", ["x", "tgt"], ["r"]),
          h.make_node("Mul", ["r", "two"], ["y"])],
         [h.make_tensor_value_info("x", T.FLOAT, ["batch", "seq", 8])],
         {"i0": s64(0), "i1": s64(1), "ax0": i64(0), "m1": i64(-1),
          "two": np.array(2, np.float32)})
    # Heads split as a transformer does: [B, S, 8] -> [B, S, 2, 4] (Div of the last dim),
    # transposed, then merged back with Slice/Concat of the shape; plus Expand and
    # ConstantOfShape to [B, S, 8] and Sub (S - S = 0 kept static, 2S - S = S).
    save("heads_dyn",
         [h.make_node("Shape", ["x"], ["s"]),
          h.make_node("Slice", ["s", "st0", "en2"], ["bs"]),
          h.make_node("Gather", ["s", "i2"], ["hid"], axis=0),
          h.make_node("Div", ["hid", "nh"], ["hd"]),
          h.make_node("Unsqueeze", ["hd", "ax0"], ["hdu"]),
          h.make_node("Concat", ["bs", "nh1", "hdu"], ["t4"], axis=0),
          h.make_node("Reshape", ["x", "t4"], ["r4"]),
          h.make_node("Transpose", ["r4"], ["tr"], perm=[0, 2, 1, 3]),
          h.make_node("Transpose", ["tr"], ["tb"], perm=[0, 2, 1, 3]),
          h.make_node("Concat", ["bs", "m1"], ["t3"], axis=0),
          h.make_node("Reshape", ["tb", "t3"], ["r3"]),
          h.make_node("Gather", ["s", "i1"], ["sq"], axis=0),
          h.make_node("Add", ["sq", "sq"], ["s2"]),
          h.make_node("Sub", ["s2", "sq"], ["s1"]),
          h.make_node("Unsqueeze", ["s1", "ax0"], ["s1u"]),
          h.make_node("Slice", ["s", "st0", "en1"], ["b1"]),
          h.make_node("Concat", ["b1", "s1u", "hidu"], ["t3b"], axis=0),
          h.make_node("Expand", ["bias", "t3b"], ["eb"]),
          h.make_node("ConstantOfShape", ["t3b"], ["ones"],
                      value=h.make_tensor("v", T.FLOAT, [1], [0.5])),
          h.make_node("Add", ["r3", "eb"], ["a"]),
          h.make_node("Mul", ["a", "ones"], ["y"])],
         [h.make_tensor_value_info("x", T.FLOAT, ["batch", "seq", 8])],
         {"st0": i64(0), "en2": i64(2), "en1": i64(1), "i1": s64(1), "i2": s64(2),
          "nh": s64(2), "nh1": i64(2), "ax0": i64(0), "m1": i64(-1), "hidu": i64(8),
          "bias": rng.standard_normal(8).astype(np.float32)})
    # Nearest 2x upsampling of [batch, 2, 4, 4] by scales (1, 1, 2, 2): the batch stays.
    save("resize_dyn",
         [h.make_node("Resize", ["x", "", "sc"], ["y"], mode="nearest")],
         [h.make_tensor_value_info("x", T.FLOAT, ["batch", 2, 4, 4])],
         {"sc": np.array([1, 1, 2, 2], np.float32)})
    # Resize to sizes Concat(Shape(x)[:2], [6, 10]) (PyTorch's interpolate(size=...) with a
    # dynamic batch), linear: the batch stays, H and W change.
    save("resize_sizes_dyn",
         [h.make_node("Shape", ["x"], ["s"]),
          h.make_node("Slice", ["s", "st0", "en2"], ["bc"]),
          h.make_node("Concat", ["bc", "hw"], ["sz"], axis=0),
          h.make_node("Resize", ["x", "", "", "sz"], ["y"], mode="linear")],
         [h.make_tensor_value_info("x", T.FLOAT, ["batch", 2, 4, 4])],
         {"st0": i64(0), "en2": i64(2), "hw": i64(6, 10)})
    # Shape(x) + 1: the derived symbol seq+1 (ir/symbols.c), symbolic; also with --dim seq=N.
    save("add1",
         [h.make_node("Shape", ["x"], ["s"]),
          h.make_node("Add", ["s", "one"], ["s1"]),
          h.make_node("ConstantOfShape", ["s1"], ["y"],
                      value=h.make_tensor("v", T.FLOAT, [1], [1.0]))],
         [h.make_tensor_value_info("x", T.FLOAT, ["seq"])],
         {"one": i64(1)})
    # Attention scores softmax(x @ x^T) @ x: [batch, seq, seq] has seq squared, the derived
    # symbol seq*seq (ir/symbols.c): compiled once, symbolically. The softmax runs over
    # axis 1 (not attention's last axis; the test compares with ONNX Runtime on the same
    # file), which keeps the attention pass from fusing the chain away.
    save("scores_dyn",
         [h.make_node("Transpose", ["x"], ["xt"], perm=[0, 2, 1]),
          h.make_node("MatMul", ["x", "xt"], ["s"]),
          h.make_node("Softmax", ["s"], ["p"], axis=1),
          h.make_node("MatMul", ["p", "x"], ["y"])],
         [h.make_tensor_value_info("x", T.FLOAT, ["batch", "seq", 8])],
         {})
    # PyTorch's export of b.expand(x.shape): ConstantOfShape(Shape(shape)) of -1, Equal, Where
    # (ones where the shape is -1), Expand; then y = reshape(x + b, [Size(x)]), flat.
    save("expand_where",
         [h.make_node("Shape", ["x"], ["s"]),
          h.make_node("Shape", ["s"], ["ss"]),
          h.make_node("ConstantOfShape", ["ss"], ["neg"],
                      value=h.make_tensor("v", T.INT64, [1], [-1])),
          h.make_node("Equal", ["s", "neg"], ["eq"]),
          h.make_node("Where", ["eq", "ones3", "s"], ["tgt"]),
          h.make_node("Expand", ["b", "tgt"], ["be"]),
          h.make_node("Add", ["x", "be"], ["a"]),
          h.make_node("Size", ["x"], ["n"]),
          h.make_node("Unsqueeze", ["n", "ax0"], ["nu"]),
          h.make_node("Reshape", ["a", "nu"], ["y"])],
         [h.make_tensor_value_info("x", T.FLOAT, ["batch", "seq", 4])],
         {"ones3": i64(1, 1, 1), "ax0": i64(0),
          "b": rng.standard_normal((1, 1, 4)).astype(np.float32)})
    # Dropout at inference with its mask output used, over a symbolic batch (torchvision's
    # swin_t exports it so): the mask is all true, so y = where(mask, 2 * d, 0) = 2x.
    save("dropout_mask_dyn",
         [h.make_node("Dropout", ["x", "ratio", "train"], ["d", "mask"]),
          h.make_node("Mul", ["d", "two"], ["d2"]),
          h.make_node("Where", ["mask", "d2", "zero"], ["y"])],
         [h.make_tensor_value_info("x", T.FLOAT, ["batch", 3, 4])],
         {"ratio": np.array(0.1, np.float32), "train": np.array(False),
          "two": np.array(2, np.float32), "zero": np.array(0, np.float32)})
    # Position ids as PyTorch exports torch.arange(x.size(1)): Range(0, seq, 1) into an
    # embedding table, added to x; the Range stays symbolic (length seq).
    save("range_pos",
         [h.make_node("Shape", ["x"], ["s"]),
          h.make_node("Gather", ["s", "i1"], ["sq"], axis=0),
          h.make_node("Range", ["z", "sq", "one"], ["pos"]),
          h.make_node("Gather", ["tab", "pos"], ["pe"], axis=0),
          h.make_node("Add", ["x", "pe"], ["y"])],
         [h.make_tensor_value_info("x", T.FLOAT, ["batch", "seq", 8])],
         {"i1": s64(1), "z": s64(0), "one": s64(1),
          "tab": rng.standard_normal((64, 8)).astype(np.float32)})
    # Range(1, seq, 2) (length seq // 2) cast to float, times 0.5.
    save("range_step",
         [h.make_node("Shape", ["x"], ["s"]),
          h.make_node("Gather", ["s", "i0"], ["sq"], axis=0),
          h.make_node("Range", ["st", "sq", "two"], ["r"]),
          h.make_node("Cast", ["r"], ["rf"], to=T.FLOAT),
          h.make_node("Mul", ["rf", "half"], ["y"])],
         [h.make_tensor_value_info("x", T.FLOAT, ["seq"])],
         {"i0": s64(0), "st": s64(1), "two": s64(2), "half": np.array(0.5, np.float32)})
    # Einsums as exporters write attention and projections, over a symbolic batch and
    # sequence (each a batched matmul, frontend/onnx_ops_nn.c ein_matmul): scores
    # bsd,btd->bst, weights bst,btd->bsd, a projection bsd,dk->bsk, a vector bsk,k->bs, an
    # elementwise product with a permuted output bsk,bsk->bks and back bks,bsk->bsk.
    save("einsum_dyn",
         [h.make_node("Einsum", ["x", "x"], ["sc"], equation="bsd,btd->bst"),
          h.make_node("Softmax", ["sc"], ["p"], axis=-1),
          h.make_node("Einsum", ["p", "x"], ["a"], equation="bst,btd->bsd"),
          h.make_node("Einsum", ["a", "W"], ["pr"], equation="bsd,dk->bsk"),
          h.make_node("Einsum", ["pr", "v"], ["e4"], equation="bsk,k->bs"),
          h.make_node("Einsum", ["pr", "pr"], ["e5"], equation="bsk, bsk -> bks"),
          h.make_node("Einsum", ["e5", "pr"], ["e6"], equation="bks,bsk->bsk"),
          h.make_node("Unsqueeze", ["e4", "axm1"], ["e4u"]),
          h.make_node("Mul", ["pr", "e4u"], ["m"]),
          h.make_node("Add", ["m", "e6"], ["y"])],
         [h.make_tensor_value_info("x", T.FLOAT, ["batch", "seq", 8])],
         {"W": rng.standard_normal((8, 6)).astype(np.float32),
          "v": rng.standard_normal(6).astype(np.float32), "axm1": i64(-1)})
    # Einsums of three operands over a symbolic batch and sequence (ein_chain: two-operand
    # matmuls from the left, each keeping the indices still needed): attention without its
    # softmax bsd,btd,bte->bse, a scaled projection bsd,d,dk->bsk, and a chain through a
    # product that keeps an index for the last operand bsd,bse,ek->bdk
    save("einsum3_dyn",
         [h.make_node("Einsum", ["x", "x", "x"], ["a"], equation="bsd,btd,bte->bse"),
          h.make_node("Einsum", ["a", "g", "W"], ["p"], equation="bsd,d,dk->bsk"),
          h.make_node("Einsum", ["x", "p", "V"], ["q"], equation="bsd,bse,ek->bdk"),
          h.make_node("ReduceMean", ["q"], ["qm"], axes=[1], keepdims=1),
          h.make_node("Add", ["p", "qm"], ["y"])],
         [h.make_tensor_value_info("x", T.FLOAT, ["batch", "seq", 8])],
         {"g": rng.standard_normal(8).astype(np.float32),
          "W": rng.standard_normal((8, 6)).astype(np.float32),
          "V": rng.standard_normal((6, 6)).astype(np.float32)})
    # A UNet's skip connection over a symbolic image: the encoder's h//2 joins the decoder's
    # 2*((h//2)//2) (pooled twice, upsampled once), equal for even h//2 only: concat and
    # add assume them equal (ir_dim_assume_eq) and the binder checks it per run
    save("unet_dyn",
         [h.make_node("Conv", ["x", "W1"], ["c1"], pads=[1, 1, 1, 1]),
          h.make_node("MaxPool", ["c1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
          h.make_node("MaxPool", ["p1"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
          h.make_node("Conv", ["p2", "W2"], ["c2"], pads=[1, 1, 1, 1]),
          h.make_node("Resize", ["c2", "", "sc"], ["u"], mode="nearest"),
          h.make_node("Concat", ["p1", "u"], ["cat"], axis=1),
          h.make_node("Add", ["p1", "u"], ["sk"]),
          h.make_node("Conv", ["cat", "W3"], ["c3"], pads=[1, 1, 1, 1]),
          h.make_node("ReduceMean", ["sk"], ["skm"], axes=[1], keepdims=1),
          h.make_node("Add", ["c3", "skm"], ["y"])],
         [h.make_tensor_value_info("x", T.FLOAT, ["N", 1, "H", "W"])],
         {"W1": rng.standard_normal((4, 1, 3, 3)).astype(np.float32),
          "W2": rng.standard_normal((4, 4, 3, 3)).astype(np.float32),
          "W3": rng.standard_normal((2, 8, 3, 3)).astype(np.float32),
          "sc": np.array([1, 1, 2, 2], np.float32)})
    # A decoder resized back to the input's size, F.interpolate(low, size=x.shape[2:]) as
    # exported: Resize's sizes from Shape(x), another tensor's symbolic dims (H//2 -> H,
    # size_sym); linear half_pixel and nearest asymmetric floor
    save("resize_to_dyn",
         [h.make_node("MaxPool", ["x"], ["low"], kernel_shape=[2, 2], strides=[2, 2]),
          h.make_node("Shape", ["low"], ["ls"]),
          h.make_node("Slice", ["ls", "z1", "two"], ["nc"]),
          h.make_node("Shape", ["x"], ["xs"]),
          h.make_node("Slice", ["xs", "two", "four"], ["hw"]),
          h.make_node("Concat", ["nc", "hw"], ["sizes"], axis=0),
          h.make_node("Resize", ["low", "", "", "sizes"], ["u1"], mode="linear",
                      coordinate_transformation_mode="half_pixel"),
          h.make_node("Resize", ["low", "", "", "sizes"], ["u2"], mode="nearest",
                      coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
          h.make_node("Add", ["u1", "u2"], ["u"]),
          h.make_node("Add", ["u", "x"], ["y"])],
         [h.make_tensor_value_info("x", T.FLOAT, ["N", 2, "H", "W"])],
         {"z1": i64(0), "two": i64(2), "four": i64(4)})
    # A decoder's causal mask over a symbolic sequence, as PyTorch exports
    # torch.triu(torch.full((T, T), -inf), 1): Trilu of a ConstantOfShape [seq, seq], added to
    # attention-like scores; plus a lower Trilu (k = -1) of the scores themselves.
    save("trilu_dyn",
         [h.make_node("Shape", ["x"], ["s"]),
          h.make_node("Gather", ["s", "i1"], ["sq"], axis=0),
          h.make_node("Unsqueeze", ["sq", "ax0"], ["squ"]),
          h.make_node("Concat", ["squ", "squ"], ["ss"], axis=0),
          h.make_node("ConstantOfShape", ["ss"], ["full"],
                      value=h.make_tensor("v", T.FLOAT, [1], [float("-inf")])),
          h.make_node("Trilu", ["full", "one"], ["mask"], upper=1),
          h.make_node("Transpose", ["x"], ["xt"], perm=[0, 2, 1]),
          h.make_node("MatMul", ["x", "xt"], ["sc"]),
          h.make_node("Add", ["sc", "mask"], ["scm"]),
          h.make_node("Softmax", ["scm"], ["p"], axis=-1),
          h.make_node("Trilu", ["sc", "mone"], ["low"], upper=0),
          h.make_node("Add", ["p", "low"], ["y"])],
         [h.make_tensor_value_info("x", T.FLOAT, ["batch", "seq", 4])],
         {"i1": s64(1), "ax0": i64(0), "one": s64(1), "mone": s64(-1)})
    # An LSTM (hidden 3) over [seq, batch, 4]: one rnn op, both dims kept symbolic.
    save("lstm_dyn",
         [h.make_node("LSTM", ["x", "W", "R", "B"], ["yl"], hidden_size=3),
          h.make_node("Squeeze", ["yl", "ax1"], ["y"])],
         [h.make_tensor_value_info("x", T.FLOAT, ["seq", "batch", 4])],
         {"W": (0.5 * rng.standard_normal((1, 12, 4))).astype(np.float32),
          "R": (0.5 * rng.standard_normal((1, 12, 3))).astype(np.float32),
          "B": (0.1 * rng.standard_normal((1, 24))).astype(np.float32), "ax1": i64(1)})
    # ConvTranspose (stride 2, padding 1, output_padding 1, dilation 1; then stride (2, 3)
    # with dilation 2) over a symbolic H, W: the output's sizes are derived dims (2H, ...).
    save("convt_dyn",
         [h.make_node("ConvTranspose", ["x", "W1", "B1"], ["u"], strides=[2, 2],
                      pads=[1, 1, 1, 1], output_padding=[1, 1], kernel_shape=[3, 3]),
          h.make_node("Relu", ["u"], ["r"]),
          h.make_node("ConvTranspose", ["r", "W2"], ["y"], strides=[2, 3], dilations=[2, 2],
                      group=2)],
         [h.make_tensor_value_info("x", T.FLOAT, ["batch", 3, "H", "W"])],
         {"W1": rng.standard_normal((3, 4, 3, 3)).astype(np.float32),
          "B1": rng.standard_normal(4).astype(np.float32),
          "W2": rng.standard_normal((4, 3, 2, 2)).astype(np.float32)})
    # nn.MultiheadAttention's key-padding mask as exported: ConstantOfShape of
    # [batch*4, 1, seq] (heads 4), here filled with 0.5 and added to x summed over the batch.
    save("cos_dyn",
         [h.make_node("Shape", ["x"], ["s"]),
          h.make_node("Gather", ["s", "i0"], ["b"], axis=0),
          h.make_node("Gather", ["s", "i1"], ["t"], axis=0),
          h.make_node("Mul", ["b", "four"], ["b4"]),
          h.make_node("Unsqueeze", ["b4", "ax0"], ["b4u"]),
          h.make_node("Unsqueeze", ["t", "ax0"], ["tu"]),
          h.make_node("Concat", ["b4u", "one", "tu"], ["tgt"], axis=0),
          h.make_node("ConstantOfShape", ["tgt"], ["z"],
                      value=h.make_tensor("v", T.FLOAT, [1], [0.5])),
          h.make_node("ReduceSum", ["x", "ax0"], ["xr"], keepdims=1),
          h.make_node("Add", ["z", "xr"], ["y"])],
         [h.make_tensor_value_info("x", T.FLOAT, ["batch", "seq"])],
         {"i0": s64(0), "i1": s64(1), "four": s64(4), "ax0": i64(0), "one": i64(1)})
    # ReduceProd of shapes as exporters emit it: x.flatten(1)'s [batch, seq*4] target
    # (symbolic) and x.std()'s divisor over the static last dim (a Cast to float), and a
    # ConvTranspose1d (stride 2, output_padding 1) over a symbolic length.
    save("reduce_shape",
         [h.make_node("Shape", ["x"], ["s"]),
          h.make_node("Gather", ["s", "i12"], ["g"], axis=0),
          h.make_node("ReduceProd", ["g"], ["p"], keepdims=1),
          h.make_node("Gather", ["s", "i0"], ["b"], axis=0),
          h.make_node("Concat", ["b", "p"], ["tgt"], axis=0),
          h.make_node("Reshape", ["x", "tgt"], ["r"]),
          h.make_node("Gather", ["s", "i2"], ["g2"], axis=0),
          h.make_node("ReduceProd", ["g2"], ["p2"], keepdims=0),
          h.make_node("Cast", ["p2"], ["pf"], to=T.FLOAT),
          h.make_node("Div", ["r", "pf"], ["y"])],
         [h.make_tensor_value_info("x", T.FLOAT, ["batch", "seq", 4])],
         {"i12": i64(1, 2), "i0": i64(0), "i2": i64(2)})
    save("convt1d_dyn",
         [h.make_node("ConvTranspose", ["x", "W", "B"], ["y"], strides=[2], pads=[1, 1],
                      output_padding=[1], kernel_shape=[4])],
         [h.make_tensor_value_info("x", T.FLOAT, ["batch", 3, "L"])],
         {"W": rng.standard_normal((3, 5, 4)).astype(np.float32),
          "B": rng.standard_normal(5).astype(np.float32)})
    # Conv3d over a symbolic batch and depth T (stride 2 and pads 1/1 in depth, dilation 2
    # and asymmetric pads in H, bias), a grouped 1x3x3 Conv3d, and a (1, 2, 2) MaxPool3d.
    save("conv3d_dyn",
         [h.make_node("Conv", ["x", "W", "B"], ["c"], strides=[2, 1, 2], dilations=[1, 2, 1],
                      pads=[1, 2, 0, 1, 1, 1]),
          h.make_node("Relu", ["c"], ["r"]),
          h.make_node("Conv", ["r", "W2"], ["c2"], group=2, pads=[0, 1, 1, 0, 1, 1]),
          h.make_node("MaxPool", ["c2"], ["y"], kernel_shape=[1, 2, 2], strides=[1, 2, 2])],
         [h.make_tensor_value_info("x", T.FLOAT, ["batch", 2, "T", 7, 6])],
         {"W": rng.standard_normal((4, 2, 3, 3, 2)).astype(np.float32),
          "B": rng.standard_normal(4).astype(np.float32),
          "W2": rng.standard_normal((6, 2, 1, 3, 3)).astype(np.float32)})
    # x[:, -1] + x[:, 0] over a symbolic seq (a sequence model's last and first steps):
    # slices, symbolic (x[:, -2] would need seq >= 2: per shape).
    save("gather_dyn",
         [h.make_node("Gather", ["x", "m1"], ["a"], axis=1),
          h.make_node("Gather", ["x", "z"], ["b"], axis=1),
          h.make_node("Add", ["a", "b"], ["y"])],
         [h.make_tensor_value_info("x", T.FLOAT, ["batch", "seq", 4])],
         {"m1": s64(-1), "z": s64(0)})
    # TensorFlow-style auto_pad SAME convs (3x3 SAME_UPPER, 4x4 SAME_LOWER) and a
    # 3x3 SAME_UPPER max pool, stride 1, over a symbolic H, W: their pads are k-1 for
    # every size, so they stay symbolic.
    save("same_dyn",
         [h.make_node("Conv", ["x", "W1"], ["a"], auto_pad="SAME_UPPER"),
          h.make_node("Conv", ["a", "W2"], ["b"], auto_pad="SAME_LOWER"),
          h.make_node("MaxPool", ["b"], ["y"], kernel_shape=[3, 3], auto_pad="SAME_UPPER")],
         [h.make_tensor_value_info("x", T.FLOAT, ["batch", 2, "H", "W"])],
         {"W1": rng.standard_normal((3, 2, 3, 3)).astype(np.float32),
          "W2": rng.standard_normal((2, 3, 4, 4)).astype(np.float32)})
    # x.sum(1) / x.shape[1] (a mean written by hand) over a symbolic seq: the Cast of the
    # size to float is data computed when the model runs.
    save("mean_dyn",
         [h.make_node("Shape", ["x"], ["s"]),
          h.make_node("Gather", ["s", "i1"], ["t"], axis=0),
          h.make_node("Cast", ["t"], ["tf"], to=T.FLOAT),
          h.make_node("ReduceSum", ["x", "ax1"], ["sm"], keepdims=0),
          h.make_node("Div", ["sm", "tf"], ["y"])],
         [h.make_tensor_value_info("x", T.FLOAT, ["batch", "seq", 4])],
         {"i1": s64(1), "ax1": i64(1)})
    # DepthToSpace (CRD) over a symbolic H, W (2*H and 2*W: two compound dims in one
    # reshape), and SpaceToDepth then DepthToSpace (DCR) over a symbolic batch.
    save("d2s_dyn",
         [h.make_node("DepthToSpace", ["x"], ["d"], blocksize=2, mode="CRD"),
          h.make_node("Mul", ["d", "two"], ["y"])],
         [h.make_tensor_value_info("x", T.FLOAT, ["batch", 8, "H", "W"])],
         {"two": np.array(2, np.float32)})
    save("s2d_dyn",
         [h.make_node("SpaceToDepth", ["x"], ["s"], blocksize=2),
          h.make_node("Mul", ["s", "w"], ["m"]),
          h.make_node("DepthToSpace", ["m"], ["y"], blocksize=2)],
         [h.make_tensor_value_info("x", T.FLOAT, ["batch", 2, 4, 6])],
         {"w": rng.standard_normal((1, 8, 1, 1)).astype(np.float32)})
    # A float16 model (weights, input and output f16, as a model.half() export or a float16
    # conversion writes it): Conv + Relu, GlobalAveragePool, Gemm, and an f32 island
    # (Cast to float and back, a mixed-precision export's pattern). slimc computes it in f32
    # as ORT's CPU provider does.
    half = T.FLOAT16
    g16 = h.make_graph(
        [h.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
         h.make_node("Relu", ["c"], ["r"]),
         h.make_node("GlobalAveragePool", ["r"], ["p"]),
         h.make_node("Flatten", ["p"], ["f"]),
         h.make_node("Cast", ["f"], ["f32"], to=T.FLOAT),
         h.make_node("Mul", ["f32", "s32"], ["m32"]),
         h.make_node("Cast", ["m32"], ["m"], to=half),
         h.make_node("Gemm", ["m", "G", "GB"], ["y"], transB=1)],
        "half_cnn", [h.make_tensor_value_info("x", half, ["batch", 3, 6, 6])],
        [h.make_tensor_value_info("y", half, None)],
        [nh.from_array(v, k) for k, v in {
            "W": rng.standard_normal((4, 3, 3, 3)).astype(np.float16),
            "B": rng.standard_normal(4).astype(np.float16),
            "s32": np.array(1.5, np.float32),
            "G": rng.standard_normal((5, 4)).astype(np.float16),
            "GB": rng.standard_normal(5).astype(np.float16)}.items()])
    onnx.save(h.make_model(g16, opset_imports=[h.make_opsetid("", 17)]), f"{out}/half_cnn.onnx")
    # Two inputs sharing the dim_param batch (a --shape of one fixes the other's).
    save("two_in",
         [h.make_node("Add", ["image", "mask"], ["y"])],
         [h.make_tensor_value_info("image", T.FLOAT, ["batch", 4]),
          h.make_tensor_value_info("mask", T.FLOAT, ["batch", 4])],
         {})


def seeded(shape):
    return np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32)


def refs(cases, per_output=False):
    """For each MODEL:SHAPE, a seeded input STEM.x.npy and ONNX Runtime's output: STEM.ref.npy
    (the first output), or STEM.NAME.ref.npy for every output with per_output."""
    import onnxruntime as ort

    for case in cases:
        model, shape = case.rsplit(":", 1)
        x = seeded([int(v) for v in shape.split(",")])
        stem = f"{model[:-5]}.{shape}"
        np.save(f"{stem}.x.npy", x)
        s = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
        if s.get_inputs()[0].type == "tensor(float16)":
            x = x.astype(np.float16)
            np.save(f"{stem}.x.npy", x)
        if s.get_inputs()[0].type == "tensor(int64)":  # token ids in [0, 50)
            x = (np.abs(x) * 20).astype(np.int64) % 50
            np.save(f"{stem}.x.npy", x)
        outs = s.run(None, {s.get_inputs()[0].name: x})
        if not per_output:
            np.save(f"{stem}.ref.npy", outs[0])
            continue
        for o, v in zip(s.get_outputs(), outs):
            np.save(f"{stem}.{o.name}.ref.npy", v)


def main(make_models=None, per_output=False):
    """`make DIR` writes the models, `refs MODEL:SHAPE...` the inputs and references."""
    cmd = sys.argv[1]
    if cmd == "make":
        (make_models or make)(sys.argv[2])
    elif cmd == "refs":
        refs(sys.argv[2:], per_output)
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
