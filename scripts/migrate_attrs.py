#!/usr/bin/env python3
"""Rewrites attribute reads by string to the typed accessors generated from ir/attrs.def.

    scripts/migrate_attrs.py FILE...      (rewrites in place; prints what it left alone)

  ir_attr_int(n, "groups", 1)           -> ir_attr_groups(n)            (1 is attrs.def's default)
  ir_attr_int(n, "axis", -1)            -> ir_attr_axis_or(n, -1)       (another default)
  ir_attr_float(n, "eps", 1e-5)         -> ir_attr_eps(n)
  ir_attr_ints(n, "stride", s, 2, 1)    -> ir_attr_stride(n, s, 2)
  ir_node_attr(n, "perm")               -> ir_node_attr_id(n, IR_A_perm)

The id is the row of ir/attrs.def with that name and the call's kind (ir_attr_int: INT,
ir_attr_float: FLOAT, ir_attr_ints: INTS), so `padding` read as an int becomes
padding_mode. A read whose name is not a string literal, or names no row of that kind, is
left alone and listed. Idempotent: rerun it after merging code that still reads by string.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ATTR_RE = re.compile(r'^ATTR\(\s*(\w+),\s*"(\w+)",\s*(\w+),\s*(.*?),\s*([01])\)\s*$', re.M)
KIND_OF_CALL = {"ir_attr_int": "INT", "ir_attr_float": "FLOAT", "ir_attr_ints": "INTS"}
CALL_RE = re.compile(r'\b(ir_attr_int|ir_attr_float|ir_attr_ints|ir_node_attr)\(')


def load_attrs():
    text = open(os.path.join(ROOT, "ir", "attrs.def")).read()
    rows = {}
    for m in ATTR_RE.finditer(text):
        ident, name, kind, dflt, _ = m.groups()
        rows.setdefault(name, []).append((ident, kind, dflt.strip()))
    return rows


def split_args(s, start):
    """The arguments of the call whose '(' is at s[start - 1]: (list, index after ')')."""
    depth, args, cur, i = 0, [], [], start
    while i < len(s):
        ch = s[i]
        if ch in '"\'':  # a string or char literal
            j = i + 1
            while s[j] != ch:
                j += 2 if s[j] == "\\" else 1
            cur.append(s[i:j + 1])
            i = j + 1
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                args.append("".join(cur))
                return args, i + 1
            depth -= 1
        elif ch == "," and depth == 0:
            args.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(ch)
        i += 1
    raise ValueError("unbalanced call")


def same_default(a, b):
    a, b = a.strip().replace(" ", ""), b.strip().replace(" ", "")
    if a == b:
        return True
    try:
        return float(a.rstrip("f")) == float(b.rstrip("f"))
    except ValueError:
        return False


def migrate(text, rows, path, left):
    out, pos = [], 0
    for m in CALL_RE.finditer(text):
        if m.start() < pos:
            continue
        fn = m.group(1)
        line = text.count("\n", 0, m.start()) + 1
        # skip the declarations and definitions of the string readers themselves
        before = text[max(0, m.start() - 20):m.start()]
        if re.search(r"(int64_t|double|int|Attr \*)\s*$", before):
            continue
        args, end = split_args(text, m.end())
        lit = re.fullmatch(r'\s*"(\w+)"\s*', args[1]) if len(args) > 1 else None
        if not lit:
            left.append("%s:%d: %s with a name that is not a literal" % (path, line, fn))
            continue
        name = lit.group(1)
        cands = rows.get(name, [])
        if fn == "ir_node_attr":
            if len(cands) != 1:
                left.append("%s:%d: ir_node_attr(\"%s\"): %d ids" % (path, line, name, len(cands)))
                continue
            new = "ir_node_attr_id(%s, IR_A_%s)" % (args[0].strip(), cands[0][0])
        else:
            kind = KIND_OF_CALL[fn]
            match = [c for c in cands if c[1] == kind]
            if len(match) != 1:
                left.append("%s:%d: %s(\"%s\"): no %s row in ir/attrs.def" % (path, line, fn, name, kind))
                continue
            ident, _, dflt = match[0]
            rest = [a.strip() for a in args[2:]]
            d = rest[-1]
            keep = [args[0].strip()] + rest[:-1]
            if same_default(d, dflt):
                new = "ir_attr_%s(%s)" % (ident, ", ".join(keep))
            else:
                new = "ir_attr_%s_or(%s)" % (ident, ", ".join(keep + [d]))
        out.append(text[pos:m.start()])
        out.append(new)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def main(paths):
    rows = load_attrs()
    left = []
    for p in paths:
        text = open(p).read()
        new = migrate(text, rows, p, left)
        if new != text:
            open(p, "w").write(new)
    for l in left:
        print("left alone: " + l)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
