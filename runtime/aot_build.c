/* AOT: compiling `slimc build`'s C into an executable or a static library with the
 * system C compiler (or TRIPLE-gcc for a cross build), in a private build folder, the
 * constants linked in through an assembler file's `.incbin`. */
#define _GNU_SOURCE 1 /* memfd_create */
#include "runtime/jit_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Writes data to path (a fresh file, mode 0600). */
static bool write_new(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return false;
    bool written = rt_jit_write_all(fd, data, len);
    return close(fd) == 0 && written;
}

/* A private build folder (in the cache dir, else /tmp) with the source and, when there
 * is a blob, the blob and an assembler file that .incbin's it. */
typedef struct BuildDir {
    char dir[4200], cpath[4300], bpath[4300], spath[4300];
} BuildDir;

static bool build_dir_open(BuildDir *b, const char *src, size_t len, const void *blob,
                           size_t blob_len, const char *blob_symbol, const RtOptions *o, Diag *d)
{
    char *cdir = o && o->no_cache ? NULL : rt_jit_cache_dir(o, d);
    snprintf(b->dir, sizeof b->dir, "%s/.build-XXXXXX", cdir ? cdir : "/tmp");
    free(cdir);
    if (!mkdtemp(b->dir)) {
        ir_diag_error(d, (SrcLoc){0}, "cannot make a temporary directory '%s': %s", b->dir,
                      strerror(errno));
        return false;
    }
    snprintf(b->cpath, sizeof b->cpath, "%s/model.c", b->dir);
    snprintf(b->bpath, sizeof b->bpath, "%s/weights.bin", b->dir);
    snprintf(b->spath, sizeof b->spath, "%s/weights.s", b->dir);
    bool ok = write_new(b->cpath, src, len);
    if (ok && blob_len > 0) {
        char *asm_text = NULL;
        size_t asm_len = 0;
        FILE *f = open_memstream(&asm_text, &asm_len);
        ok = f != NULL;
        if (ok) {
            /* .incbin: the weights are linked as they are, never as a C array literal */
            fprintf(
                f,
                "    .section .rodata\n    .globl %s\n    .balign 64\n    .type %s, @object\n%s:\n"
                "    .incbin \"%s\"\n    .size %s, . - %s\n    .section "
                ".note.GNU-stack,\"\",@progbits\n",
                blob_symbol, blob_symbol, blob_symbol, b->bpath, blob_symbol, blob_symbol);
            fclose(f);
            ok = write_new(b->bpath, blob, blob_len) && write_new(b->spath, asm_text, asm_len);
        }
        free(asm_text);
    }
    if (!ok)
        ir_diag_error(d, (SrcLoc){0}, "cannot write the build files in '%s': %s", b->dir,
                      strerror(errno));
    return ok;
}

static void build_dir_close(BuildDir *b, const char *const *extra, int n_extra)
{
    unlink(b->cpath);
    unlink(b->bpath);
    unlink(b->spath);
    for (int i = 0; i < n_extra; i++)
        unlink(extra[i]);
    rmdir(b->dir);
}

/* The AOT compiler: for a target triple, TRIPLE-gcc unless a compiler was named. NULL
 * (with an error) when that cross compiler is not installed. */
static const char *aot_compiler(const RtOptions *o, char *buf, size_t size, Diag *d)
{
    if (!o || !o->triple || !*o->triple || (o->cc && *o->cc))
        return rt_jit_compiler_name(o);
    for (const char *t = o->triple; *t; t++)
        if (!(isalnum((unsigned char)*t) || *t == '_' || *t == '-' || *t == '.')) {
            ir_diag_error(d, (SrcLoc){0}, "'%s' is not a target triple", o->triple);
            return NULL;
        }
    snprintf(buf, size, "%s-gcc", o->triple);
    const char *path = getenv("PATH");
    char dirs[8192], exe[8400];
    snprintf(dirs, sizeof dirs, "%s", path && *path ? path : "/usr/bin:/bin");
    for (char *save = NULL, *dir = strtok_r(dirs, ":", &save); dir;
         dir = strtok_r(NULL, ":", &save)) {
        snprintf(exe, sizeof exe, "%s/%s", dir, buf);
        if (access(exe, X_OK) == 0)
            return buf;
    }
    ir_diag_error(d, (SrcLoc){0},
                  "no C compiler for target '%s': '%s' is not installed (Debian: apt-get install "
                  "gcc-%s), or name "
                  "one with --cc",
                  o->triple, buf, o->triple);
    return NULL;
}

bool rt_build_executable(const char *src, size_t len, const void *blob, size_t blob_len,
                         const char *blob_symbol, const RtOptions *o, const char *out_path, Diag *d)
{
    char cc_buf[300];
    const char *cc = aot_compiler(o, cc_buf, sizeof cc_buf, d);
    if (!cc)
        return false;
    BuildDir b;
    char tmp_out[4300];
    snprintf(tmp_out, sizeof tmp_out, "%s.tmp-%ld", out_path, (long)getpid());
    /* an unwritable output path is said plainly, before any compiling */
    int probe = open(tmp_out, O_WRONLY | O_CREAT | O_TRUNC, 0700);
    if (probe < 0) {
        ir_diag_error(d, (SrcLoc){0}, "cannot write '%s': %s", out_path, strerror(errno));
        return false;
    }
    close(probe);
    bool ok = build_dir_open(&b, src, len, blob, blob_len, blob_symbol, o, d);
    Argv a = {0};
    if (ok && !rt_jit_argv_begin(&a, cc)) {
        ir_diag_error(d, (SrcLoc){0}, "C compiler '%s' not found (set SLIMC_CC or CC)", cc);
        ok = false;
    }
    if (ok) {
        rt_jit_argv_flags(&a, o, "x86-64-v2");
        rt_jit_argv_add(&a, "-o");
        rt_jit_argv_add(&a, tmp_out);
        rt_jit_argv_add(&a, b.cpath);
        if (blob_len > 0)
            rt_jit_argv_add(&a, b.spath);
        rt_jit_argv_add(&a, "-lm");
        if (o && o->link_dl)
            rt_jit_argv_add(&a, "-ldl");
        ok = rt_jit_run_cc(&a, cc, o ? o->compile_ms : NULL, d);
        if (ok && rename(tmp_out, out_path) != 0) {
            ir_diag_error(d, (SrcLoc){0}, "cannot write '%s': %s", out_path, strerror(errno));
            ok = false;
        }
    }
    free(a.words);
    unlink(tmp_out);
    build_dir_close(&b, NULL, 0);
    return ok;
}

/* cc -c IN -o OUT with the AOT flags. */
static bool compile_object(const char *cc, const RtOptions *o, const char *in, const char *out,
                           Diag *d)
{
    Argv a;
    bool ok = rt_jit_argv_begin(&a, cc);
    if (!ok) {
        ir_diag_error(d, (SrcLoc){0}, "C compiler '%s' not found (set SLIMC_CC or CC)", cc);
    } else {
        rt_jit_argv_flags(&a, o, "x86-64-v2");
        rt_jit_argv_add(&a, "-fPIC");
        rt_jit_argv_add(&a, "-c");
        rt_jit_argv_add(&a, "-o");
        rt_jit_argv_add(&a, out);
        rt_jit_argv_add(&a, in);
        ok = rt_jit_run_cc(&a, cc, o ? o->compile_ms : NULL, d);
    }
    free(a.words);
    return ok;
}

bool rt_build_library(const char *src, size_t len, const void *blob, size_t blob_len,
                      const char *blob_symbol, const RtOptions *o, const char *lib_path, Diag *d)
{
    char cc_buf[300];
    const char *cc = aot_compiler(o, cc_buf, sizeof cc_buf, d);
    if (!cc)
        return false;
    BuildDir b;
    char model_o[4300], weights_o[4300], tmp_lib[4300];
    bool ok = build_dir_open(&b, src, len, blob, blob_len, blob_symbol, o, d);
    snprintf(model_o, sizeof model_o, "%s/model.o", b.dir);
    snprintf(weights_o, sizeof weights_o, "%s/weights.o", b.dir);
    snprintf(tmp_lib, sizeof tmp_lib, "%s.tmp-%ld", lib_path, (long)getpid());
    ok = ok && compile_object(cc, o, b.cpath, model_o, d);
    if (ok && blob_len > 0)
        ok = compile_object(cc, o, b.spath, weights_o, d);
    if (ok) {
        const char *ar = getenv("AR");
        char cross_ar[300];
        if ((!ar || !*ar) && o && o->triple && *o->triple && cc == cc_buf) {
            snprintf(cross_ar, sizeof cross_ar, "%s-ar", o->triple);
            ar = cross_ar;
        }
        Argv a;
        if (!rt_jit_argv_begin(&a, ar && *ar ? ar : "ar")) {
            ir_diag_error(d, (SrcLoc){0}, "archiver '%s' not found (set AR)",
                          ar && *ar ? ar : "ar");
            ok = false;
        } else {
            unlink(tmp_lib);
            rt_jit_argv_add(&a, "rcs");
            rt_jit_argv_add(&a, tmp_lib);
            rt_jit_argv_add(&a, model_o);
            if (blob_len > 0)
                rt_jit_argv_add(&a, weights_o);
            ok = rt_jit_run_cc(&a, a.v[0], NULL, d);
        }
        free(a.words);
        if (ok && rename(tmp_lib, lib_path) != 0) {
            ir_diag_error(d, (SrcLoc){0}, "cannot write '%s': %s", lib_path, strerror(errno));
            ok = false;
        }
    }
    unlink(tmp_lib);
    const char *extra[] = {model_o, weights_o};
    build_dir_close(&b, extra, 2);
    return ok;
}
