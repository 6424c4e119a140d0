"""The common half of tests/onnx/make_qdq_matmul.py and make_qdq_resblock.py: an fp32 model
quantized by ONNX Runtime's quantize_static into QDQ form (u8 activations per tensor, s8
weights per channel, MinMax over 8 calibration samples drawn from rng), then a held-out
input drawn from rng and ONNX Runtime's output for it: OUT/NAME.onnx, NAME.input.npy and
NAME.ort.npy."""
import os
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                      QuantType, quantize_static)


class Reader(CalibrationDataReader):
    def __init__(self, rng, shape):
        self.it = iter([{"x": rng.standard_normal(shape).astype(np.float32)} for _ in range(8)])

    def get_next(self):
        return next(self.it, None)


def write(out, name, model, shape, rng):
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "fp32.onnx")
        onnx.save(model, src)
        dst = os.path.join(out, name + ".onnx")
        quantize_static(src, dst, Reader(rng, shape), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax)
    x = rng.standard_normal(shape).astype(np.float32)
    np.save(os.path.join(out, name + ".input.npy"), x)
    s = ort.InferenceSession(dst, providers=["CPUExecutionProvider"])
    np.save(os.path.join(out, name + ".ort.npy"), s.run(None, {"x": x})[0])
