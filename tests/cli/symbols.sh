# Every global symbol libslimc.a defines carries a module prefix, so that a program linking
# the library cannot clash with it (issue 14: a program that defined `out` failed to link).
#   slimc_  the public API (include/slimc/slimc.h) and the embedded runtime blobs
#   ir_     ir/ (ir_arena_*, ir_diag_* included)     fe_   frontend/ (fe_ast_* included)
#   ox_     the ONNX importer (frontend/onnx*)          pass_ passes/ (pass_qcal_* included)
#   cg_     codegen/                                    rt_   runtime/
#   cu_     codegen/cuda/ (the CUDA backend's own helpers)
#   api_    api/ (internal glue of the public API)
#   cost_   passes/cost_model.c (the cost model)       place_ passes/place*.c (placement)
#   mc_     passes/mincut.c (the minimum cut)
# The one exception: protobuf-c's generated onnx__* (in libslimc_onnx_proto.a, which
# libslimc needs at link time). Sanitizer builds add the compiler's own __asan_* and
# __odr_asan.NAME (one per global variable NAME).
# Adding a prefix is adding it to `allowed` below, with its directory in the legend above.
source "$(dirname "$0")/lib.bash"
command -v nm >/dev/null || { bad "nm not found (binutils)"; finish; exit; }

build_dir=$(dirname "$SLIMC")
lib=${SLIMC_LIB:-$build_dir/libslimc.a}
[ -f "$lib" ] && ok "found $lib" || { bad "no libslimc.a beside $SLIMC (set SLIMC_LIB)"; finish; exit; }

allowed='^(slimc_|ir_|fe_|ox_|pass_|cg_|cu_|rt_|api_|cost_|place_|mc_|__asan_|__odr_asan[._])'

# nm -g --defined-only: "ADDR TYPE NAME" per defined global (weak and common included).
nm -g --defined-only "$lib" 2>nm.err | awk 'NF == 3 { print $3 }' | sort -u > globals.txt
n=$(wc -l < globals.txt)
[ -s nm.err ] && { bad "nm printed errors"; cat nm.err; }
# A floor, so that an nm that reads nothing cannot pass: the public API alone is 40-odd symbols.
[ "$n" -ge 100 ] && ok "nm lists $n global symbols" || bad "nm lists only $n global symbols"
grep -qx slimc_compile globals.txt && ok "the public API is among them" || bad "slimc_compile missing from nm output"

grep -vE "$allowed" globals.txt > unprefixed.txt
if [ -s unprefixed.txt ]; then
  bad "$(wc -l < unprefixed.txt) global symbols of libslimc.a lack a module prefix:"
  sed 's/^/    /' unprefixed.txt
else
  ok "every global symbol of libslimc.a has a module prefix"
fi

# The issue's reproducer: a program that links libslimc and defines common names of its own.
# Every slimc_* call below pulls in the objects that once defined them (the ONNX importer,
# the arena, the diagnostics, the parser, calibration).
cat > clash.c <<'C'
#include <slimc/slimc.h>
int out, done, mk, bin, un, scalar, wants, permute;
void *arena_new(void) { return 0; }
int diag_error(void) { return 0; }
int ast_call(void) { return 0; }
int qcal_run(void) { return 0; }
int ext_dft(void) { return 0; }
int main(void)
{
    SlimcOptions o;
    slimc_options_default(&o);
    SlimcContext *ctx = slimc_context_new();
    SlimcModel *m = NULL;
    SlimcExec *e = NULL;
    if (slimc_model_load(ctx, "nowhere.onnx", &m) == SLIMC_OK) {
        slimc_model_optimize(ctx, m, &o);
        slimc_model_compress(ctx, m, "quantize(int8)");
        slimc_compile(ctx, m, &o, &e);
    }
    slimc_exec_free(e);
    slimc_model_free(m);
    slimc_context_free(ctx);
    return out + done + mk + bin + un + scalar + wants + permute;
}
C
extra=()
[ -f "$build_dir/libslimc_onnx_proto.a" ] && extra=("$build_dir/libslimc_onnx_proto.a" -lprotobuf-c)
# a sanitizer build's library needs the sanitizers' runtimes
nm "$lib" 2>/dev/null | grep ' U __asan_' >/dev/null && extra+=(-fsanitize=address,undefined)
if cc -std=c11 -I "$SLIMC_SOURCE_DIR/include" clash.c "$lib" "${extra[@]}" -lpthread -ldl -lm -o clash \
    2>clash.err; then
  ok "a program defining out, done, mk, arena_new, diag_error ... links with libslimc"
else
  bad "a program defining common names does not link with libslimc:"; head -20 clash.err
fi

# The generated protobuf-c library: onnx__* only.
proto=$build_dir/libslimc_onnx_proto.a
if [ -f "$proto" ]; then
  nm -g --defined-only "$proto" | awk 'NF == 3 { print $3 }' | sort -u > proto.txt
  grep -qE '^onnx__' proto.txt && ok "libslimc_onnx_proto.a defines onnx__*" || bad "no onnx__ symbols in $proto"
  if grep -vE '^(onnx__|__odr_asan[._]onnx__)' proto.txt > proto_other.txt; [ -s proto_other.txt ]; then
    bad "libslimc_onnx_proto.a defines more than onnx__*:"; sed 's/^/    /' proto_other.txt
  else
    ok "libslimc_onnx_proto.a defines onnx__* only"
  fi
fi
finish
