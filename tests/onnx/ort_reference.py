"""Records ONNX Runtime's output for each NAME.onnx + NAME.input.npy in a folder as
NAME.ort.npy. Run with the python3 that has onnxruntime (pip), after export_models.py:

    python3 tests/onnx/ort_reference.py DIR"""
import glob
import os
import sys

import numpy as np
import onnxruntime as ort

for model in sorted(glob.glob(os.path.join(sys.argv[1], "*.onnx"))):
    base = model[:-len(".onnx")]
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    x = np.load(base + ".input.npy")
    y = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    np.save(base + ".ort.npy", y)
    print("wrote", base + ".ort.npy", y.shape)
