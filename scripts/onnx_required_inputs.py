"""Prints the table of frontend/onnx_check.c: for each ONNX op the importer maps (the string
lists of frontend/onnx_ops*.c) and each opset version where it changes, how many leading
inputs ONNX requires and whether the op is variadic (its inputs may not be omitted). Made
from onnx.defs (the schemas), for opsets FE_ONNX_MIN_OPSET .. FE_ONNX_MAX_OPSET. Run from
the repository root and paste the output over the table:
    python3 scripts/onnx_required_inputs.py
"""
import re

import onnx.defs as D

src = "".join(open(f"frontend/{f}.c").read()
              for f in ("onnx_ops", "onnx_ops_nn", "onnx_ops_ext", "onnx_ops_quant"))
ops = set()
for m in re.finditer(r"static const char \*const \w+\[\] = \{(.*?)\};", src, re.S):
    ops |= set(re.findall(r'"([A-Z]\w+)"', m.group(1)))
ops |= set(re.findall(r'\{"([A-Z]\w+)", "\w+"\}', src))  # the unary/binary tables

history = {}
for s in D.get_all_schemas_with_history():
    if s.domain in ("", "ai.onnx") and s.name in ops:
        history.setdefault(s.name, []).append(s)

Opt = D.OpSchema.FormalParameterOption
for op in sorted(history):
    prev = None
    for s in sorted(history[op], key=lambda s: s.since_version):
        required, variadic = 0, False
        for p in s.inputs:
            if p.option == Opt.Single:
                required += 1
            elif p.option == Opt.Variadic:
                variadic = True
                required += 1 if p.min_arity >= 1 else 0
            else:
                break  # ONNX's optional inputs all come after the required ones
        row = (required, variadic)
        if row != prev:
            print(f'    {{"{op}", {s.since_version}, {required}, {"true" if variadic else "false"}}},')
        prev = row
