#!/usr/bin/env python3
"""Moves top-level C items, each with the comment block right above it, from one file to
another: how issue 14 split the frontend files (see their commits). A pure move: the text
of each run of neighbouring items is copied byte for byte; whatever must change for the
move (a static that becomes extern, a prototype) is a separate, reviewable step.

usage: move_defs.py [--head FILE] SRC DST ITEM|FIRST..LAST ...
       move_defs.py --list SRC
  DST, when it does not exist, starts with the text of --head; else it is appended to.
  An item is named as --list prints it: a function or table by its name, a typedef by the
  type's name, 'struct X' for a bare struct definition, 'decl:NAME' for a prototype,
  '----TITLE' for a section ruler (/* ---- TITLE ---- */). FIRST..LAST takes every item
  from FIRST through LAST. Items keep their order of SRC.
"""
import re, sys

def chunks(lines):
    """[(name, start, end)] for the top-level items of lines (end exclusive), each with the
    comment block right above it (no blank line between)."""
    out, i, n = [], 0, len(lines)
    while i < n:
        l = lines[i]
        if not l.strip():
            i += 1; continue
        start = i
        # a comment block: a ruler is its own chunk; another comment belongs to what follows
        if l.startswith('/*'):
            j = i
            while '*/' not in lines[j]:
                j += 1
            m = re.match(r'/\* -+ (.*?) -+ \*/$', l.strip())
            if m and j == i:
                out.append(('----' + m.group(1), i, i + 1)); i += 1; continue
            if j + 1 < n and lines[j + 1].strip() and not lines[j + 1].startswith('/*'):
                i = j + 1
            else:
                out.append(('comment@%d' % (i + 1), i, j + 1)); i = j + 1; continue
        l = lines[i]
        if l.startswith('#'):
            j = i
            while lines[j].rstrip().endswith('\\'):
                j += 1
            out.append(('#@%d' % (i + 1), start, j + 1)); i = j + 1; continue
        # a definition or declaration: up to a line that is `}...` at column 0 or that ends
        # with `;` at depth 0
        depth, j = 0, i
        while True:
            s = re.sub(r'"(\\.|[^"\\])*"|\'(\\.|[^\'\\])*\'', '""', lines[j])
            s = re.sub(r'/\*.*?\*/|//.*', '', s)
            depth += s.count('{') - s.count('}')
            if depth == 0 and (s.rstrip().endswith(';') or s.rstrip().endswith('}')) and \
               (lines[j].startswith('}') or '{' not in ''.join(lines[i:j + 1])):
                break
            j += 1
        text = ''.join(lines[i:j + 1])
        m = (re.match(r'typedef\s+struct\s+\w*\s*\{.*\}\s*(\w+)\s*;', text, re.S) or
             re.match(r'typedef\s+[^;{]*?\(\s*\*\s*(\w+)\s*\)', text, re.S) or
             re.match(r'(struct\s+\w+)\s*\{', text, re.S) or
             re.match(r'[^(=]*?\b(\w+)\s*\[[^\]]*\]\s*=', text, re.S) or
             re.match(r'[^(=;]*?\b(\w+)\s*\(', text, re.S) or
             re.match(r'.*?\b(\w+)\s*;\s*$', text, re.S))
        name = m.group(1) if m else 'item@%d' % (i + 1)
        if not lines[j].startswith('}') and text.rstrip().endswith(');'):
            name = 'decl:' + name  # a prototype
        out.append((name, start, j + 1)); i = j + 1
    return out

def main():
    args = sys.argv[1:]
    head = None
    if args[0] == '--head':
        head, args = args[1], args[2:]
    src, dst, wanted = args[0], args[1], args[2:]
    lines = open(src).read().splitlines(True)
    cs = chunks(lines)
    names = [c[0] for c in cs]
    pick = set()
    for w in wanted:
        a, _, b = w.partition('..')
        # a name defined twice (an #if and its #else) means its last definition
        ia = max((k for k, x in enumerate(names) if x == a), default=None)
        if ia is None:
            sys.exit('%s: no top-level item %s (have: %s)' % (src, a, ' '.join(names)))
        ib = next((k for k in range(ia, len(names)) if names[k] == b), None) if b else ia
        if ib is None:
            sys.exit('%s: no top-level item %s after %s' % (src, b, a))
        pick.update(range(ia, ib + 1))
    moved = [(s, e) for k, (name, s, e) in enumerate(cs) if k in pick]
    # runs of chunks next to each other in SRC keep the text between them (blank lines or none)
    runs = []
    for k in sorted(pick):
        if runs and runs[-1][1] == k - 1:
            runs[-1][1] = k
        else:
            runs.append([k, k])
    body = '\n'.join(''.join(lines[cs[a][1]:cs[b][2]]) for a, b in runs)
    drop = set()
    for a, b in runs:
        s, e = cs[a][1], cs[b][2]
        drop.update(range(s, e))
        if e < len(lines) and not lines[e].strip():
            drop.add(e)
    # kept text: everything not in a moved run, less one blank line after each run
    rest = [l for i, l in enumerate(lines) if i not in drop]
    try:
        cur = open(dst).read()
    except FileNotFoundError:
        cur = open(head).read() if head else ''
    if cur and not cur.endswith('\n\n'):
        cur += '\n'
    open(dst, 'w').write(cur + body)
    open(src, 'w').write(''.join(rest))
    print('%s -> %s: %d items, %d lines' % (src, dst, len(moved), sum(e - s for s, e in moved)))

if __name__ == '__main__':
    if len(sys.argv) > 2 and sys.argv[1] == '--list':
        for name, s, e in chunks(open(sys.argv[2]).read().splitlines(True)):
            print('%5d %5d %s' % (s + 1, e - s, name))
    else:
        main()
