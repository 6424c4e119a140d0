# The structure of codegen/ (issue 14): the include chain of codegen/c/ runs one way (text
# helpers <- op families <- op table <- C backend <- driver), and no switch over op kinds
# has a default: (the op table replaces them; a missing row fails unit_backend).
source "$(dirname "$0")/lib.bash"
C=$SLIMC_SOURCE_DIR/codegen

# The text helpers know no op family, table or backend.
for f in "$C"/backend.h "$C"/driver.c "$C"/c/text.h "$C"/c/text.c "$C"/c/op_table.c; do
  [ -f "$f" ] || bad "no $f"
done
inc=$(grep -h '#include "codegen/' "$C"/c/text.h "$C"/c/text.c | grep -vE '"codegen/(backend|c/text)\.h"')
if [ -z "$inc" ]; then ok "text helpers include no family"; else bad "text helpers include: $inc"; fi

# The family files call no table, backend or driver, and do not include the table.
fam_bad=
for f in "$C"/c/*.c; do
  case $(basename "$f") in emit.c | op_table.c | text.c) continue ;; esac
  if grep -nE 'codegen/c/op_table\.h|\bcg_c_ops\b|\bcg_backend_c\b|\bcg_emit\(|\bcg_make_names\b|\bcg_entry_prefix\b' "$f"; then
    fam_bad="$fam_bad $(basename "$f")"
  fi
done
if [ -z "$fam_bad" ]; then ok "op families depend on helpers only"; else bad "families that reach up:$fam_bad"; fi

# The driver knows no target: it includes only the interface.
inc=$(grep -h '#include "' "$C"/driver.c | grep -v '"codegen/backend.h"')
if [ -z "$inc" ]; then ok "the driver includes only codegen/backend.h"; else bad "driver includes: $inc"; fi

# No default: in a switch over op kinds (a switch whose expression names an op), in any
# file of codegen/ (the elementwise ones included).
op_defaults() {
  awk '
    FNR == 1 { depth = 0; inop = 0 }
    { code = $0; gsub(/"([^"\\]|\\.)*"|\047([^\047\\]|\\.)*\047/, "", code) } # no literals
    code ~ /switch \(/ && code ~ /(->|\.|[^a-z_])op\)/ { inop = 1; start = depth }
    { depth += gsub(/\{/, "{", code) }
    inop && code ~ /^[ \t]*default:/ { print FILENAME ":" FNR ": " $0 }
    { depth -= gsub(/\}/, "}", code); if (inop && depth <= start) inop = 0 }
  ' "$@"
}
defaults=$(op_defaults "$C"/*.c "$C"/c/*.c)
if [ -z "$defaults" ]; then ok "no default: in a switch over op kinds"; else bad "default: over op kinds: $defaults"; fi

# The check can fail: it finds a planted one, and not one in a switch over something else.
printf 'void f(const Node *n, int t)\n{\n    switch (t) {\n    default: break;\n    }\n    switch (n->op) {\n    case IR_OP_ADD: break;\n    default: break;\n    }\n}\n' >planted.c
found=$(op_defaults planted.c)
if [ "$found" = "planted.c:8:     default: break;" ]; then ok "the default: check finds a planted one"; else bad "the default: check found: '$found'"; fi

finish
