#!/usr/bin/env python3
"""Marks IR_BE_CUDA in ir/ops.def for exactly the ops with a row in the CUDA backend's op
table (codegen/cuda/op_table.c: its explicit [IR_OP_X] rows, and every op with an E(...)
expression, which the table's generated rows cover). Idempotent; run after adding a CUDA
kernel. tests/unit/test_backend.c checks that the column and the table agree."""
import re
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
table = (root / "codegen/cuda/op_table.c").read_text()
rows = set(re.findall(r"\[IR_OP_([A-Z0-9_]+)\]\s*=\s*\{", table))
ops = root / "ir/ops.def"
text = ops.read_text()
out, changed = [], 0
# a row: OP(NAME, ... up to the next OP( or the end
parts = re.split(r"(?m)^(?=OP\()", text)
for part in parts:
    m = re.match(r"OP\(([A-Z0-9_]+),", part)
    if not m:
        out.append(part)
        continue
    name = m.group(1)
    want = name in rows or re.search(r"\n\s*E\(", part) is not None
    has = "IR_BE_CUDA" in part
    new = part
    if want and not has:
        new = re.sub(r"IR_BE_REF \| IR_BE_C\b(?! \| IR_BE_CUDA)", "IR_BE_REF | IR_BE_C | IR_BE_CUDA", part, count=1)
    elif has and not want:
        new = part.replace(" | IR_BE_CUDA", "", 1)
    changed += new != part
    out.append(new)
ops.write_text("".join(out))
print(f"ir/ops.def: {changed} rows changed", file=sys.stderr)
