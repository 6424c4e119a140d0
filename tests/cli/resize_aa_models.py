#!/usr/bin/env python3
"""ONNX models of tests/cli/onnx_resize_aa.sh (issue 19): antialiased Resize (opset 18,
torchvision's resize(antialias=True) as exported) of a symbolic image x [batch, 3, H, W],
built with onnx.helper, and ONNX Runtime's outputs for them. Each model has one output y.

  aa_lin_half   linear x0.5 half_pixel (2x down)
  aa_cub_mixed  cubic x0.25 along H, x0.75 along W (per axis, non-integer)
  aa_lin_sizes  linear to the sizes 5 x 7 with axes [2, 3] (3x, non-integer or upsampling
                with the input; the scale size / len when it runs, so H <= 80 and W <= 112:
                a bound of the model)
  aa_tv         as torchvision's resize(x, [6, 4], antialias=True) exports: the sizes a
                Concat of Shape(x)[0:2] and [6, 4], bilinear half_pixel
  aa_cub_up     cubic x2 along H, x1.5 along W (upsampling: antialias has no effect)
  aa_lin_asym   linear x0.5 asymmetric
  aa_cub_align  cubic to the sizes 6 x 6 align_corners
  aa_lin_pthp   linear x0.25 along H, x0.5 along W pytorch_half_pixel
  aa_cub_excl   cubic x0.5 half_pixel exclude_outside, cubic_coeff_a -0.5
  aa_policy     linear to 6 x 9 with axes [2, 3] and keep_aspect_ratio_policy not_larger
                (one scale for both: computed per shape)

  resize_aa_models.py make DIR                 writes DIR/NAME.onnx for every model above
  resize_aa_models.py refs MODEL.onnx:SHAPE... the input (MODEL.SHAPE.x.npy) and ORT's
                                               output (MODEL.SHAPE.ref.npy) for each
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shapes_models  # noqa: E402  (refs, seeded, the command line)

MODELS = {
    "aa_lin_half": dict(scales=[1, 1, 0.5, 0.5], mode="linear"),
    "aa_cub_mixed": dict(scales=[1, 1, 0.25, 0.75], mode="cubic"),
    "aa_lin_sizes": dict(sizes=[5, 7], axes=[2, 3], mode="linear"),
    "aa_cub_up": dict(scales=[1, 1, 2, 1.5], mode="cubic"),
    "aa_lin_asym": dict(scales=[1, 1, 0.5, 0.5], mode="linear",
                        coordinate_transformation_mode="asymmetric"),
    "aa_cub_align": dict(sizes=[1, 3, 6, 6], mode="cubic",
                         coordinate_transformation_mode="align_corners"),
    "aa_lin_pthp": dict(scales=[1, 1, 0.25, 0.5], mode="linear",
                        coordinate_transformation_mode="pytorch_half_pixel"),
    "aa_cub_excl": dict(scales=[1, 1, 0.5, 0.5], mode="cubic", exclude_outside=1,
                        cubic_coeff_a=-0.5),
    "aa_policy": dict(sizes=[6, 9], axes=[2, 3], mode="linear",
                      keep_aspect_ratio_policy="not_larger"),
}


def make(out):
    import onnx
    from onnx import TensorProto as T
    from onnx import helper as h
    from onnx import numpy_helper as nh

    for name, spec in MODELS.items():
        spec = dict(spec)
        scales, sizes = spec.pop("scales", None), spec.pop("sizes", None)
        inits = []
        ins = ["x", "", "", ""]
        if scales:
            inits.append(nh.from_array(np.array(scales, np.float32), "scales"))
            ins[2] = "scales"
            ins.pop()
        else:
            inits.append(nh.from_array(np.array(sizes, np.int64), "sizes"))
            ins[3] = "sizes"
        nodes = [h.make_node("Resize", ins, ["y"], antialias=1, **spec)]
        g = h.make_graph(nodes, name,
                         [h.make_tensor_value_info("x", T.FLOAT, ["batch", 3, "H", "W"])],
                         [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
        onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 18)]),
                  f"{out}/{name}.onnx")
    nodes = [h.make_node("Shape", ["x"], ["s"]),
             h.make_node("Slice", ["s", "zero", "two"], ["nc"]),
             h.make_node("Concat", ["nc", "hw"], ["sizes"], axis=0),
             h.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode="linear", antialias=1)]
    inits = [nh.from_array(np.array(v, np.int64), k)
             for k, v in [("zero", [0]), ("two", [2]), ("hw", [6, 4])]]
    g = h.make_graph(nodes, "aa_tv",
                     [h.make_tensor_value_info("x", T.FLOAT, ["batch", 3, "H", "W"])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 18)]), f"{out}/aa_tv.onnx")


if __name__ == "__main__":
    shapes_models.main(make)
