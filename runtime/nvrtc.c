/* NVRTC, loaded with dlopen (see runtime/cuda.h for where it is looked for): compiles the
 * CUDA backend's files to PTX or cubin, through the compile cache (runtime/jit_cache.c's
 * blob entries KEY.ptx / KEY.cubin). No CUDA header is needed to build this file: the few
 * NVRTC entry points are declared here with their C types (nvrtc.h, stable since CUDA 8). */
#define _GNU_SOURCE 1 /* dladdr */
#include "runtime/cuda.h"
#include "runtime/jit_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- the library ---- */

typedef int NvrtcResult; /* nvrtcResult: 0 is NVRTC_SUCCESS */
typedef struct NvrtcProgram *NvrtcProgram;

static struct {
    void *handle;
    char path[1024];
    char version[32];
    char why[2048]; /* what was tried, when nothing loaded */
    const char *(*error_string)(NvrtcResult);
    NvrtcResult (*version_fn)(int *, int *);
    NvrtcResult (*num_archs)(int *);
    NvrtcResult (*archs)(int *);
    NvrtcResult (*create)(NvrtcProgram *, const char *, const char *, int, const char *const *,
                          const char *const *);
    NvrtcResult (*destroy)(NvrtcProgram *);
    NvrtcResult (*compile)(NvrtcProgram, int, const char *const *);
    NvrtcResult (*log_size)(NvrtcProgram, size_t *);
    NvrtcResult (*log)(NvrtcProgram, char *);
    NvrtcResult (*ptx_size)(NvrtcProgram, size_t *);
    NvrtcResult (*ptx)(NvrtcProgram, char *);
    NvrtcResult (*cubin_size)(NvrtcProgram, size_t *);
    NvrtcResult (*cubin)(NvrtcProgram, char *);
} nv;
static pthread_once_t nv_once = PTHREAD_ONCE_INIT;

/* Appends "; " (unless first), a and b to what was tried. */
static void why_add(const char *a, const char *b)
{
    size_t n = strlen(nv.why);
    if (n < sizeof nv.why - 1)
        snprintf(nv.why + n, sizeof nv.why - n, "%s%s%s", n ? "; " : "", a, b);
}

/* dlopens name and binds every entry point; false (noting why) when either fails. */
static bool try_load(const char *name)
{
    void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        why_add(e ? e : name, "");
        return false;
    }
#define BIND(field, sym)                                                                           \
    if (!(*(void **)&nv.field = dlsym(h, sym))) {                                                  \
        why_add(name, " lacks " sym);                                                              \
        dlclose(h);                                                                                \
        return false;                                                                              \
    }
    BIND(error_string, "nvrtcGetErrorString")
    BIND(version_fn, "nvrtcVersion")
    BIND(num_archs, "nvrtcGetNumSupportedArchs")
    BIND(archs, "nvrtcGetSupportedArchs")
    BIND(create, "nvrtcCreateProgram")
    BIND(destroy, "nvrtcDestroyProgram")
    BIND(compile, "nvrtcCompileProgram")
    BIND(log_size, "nvrtcGetProgramLogSize")
    BIND(log, "nvrtcGetProgramLog")
    BIND(ptx_size, "nvrtcGetPTXSize")
    BIND(ptx, "nvrtcGetPTX")
    BIND(cubin_size, "nvrtcGetCUBINSize")
    BIND(cubin, "nvrtcGetCUBIN")
#undef BIND
    int major = 0, minor = 0;
    nv.version_fn(&major, &minor);
    snprintf(nv.version, sizeof nv.version, "%d.%d", major, minor);
    /* the file the loader picked, for messages and `slimc cache info` */
    Dl_info info;
    if (dladdr(*(void **)&nv.compile, &info) && info.dli_fname)
        snprintf(nv.path, sizeof nv.path, "%s", info.dli_fname);
    else
        snprintf(nv.path, sizeof nv.path, "%s", name);
    nv.handle = h;
    return true;
}

/* A pip install of nvidia-cuda-nvrtc in the site-packages folder root (a glob pattern):
 * nvidia/cu13/lib (CUDA 13 wheels) or nvidia/cuda_nvrtc/lib (CUDA 12). */
static bool try_wheel(const char *root)
{
    static const char *const wheel_dirs[] = {"nvidia/cu13/lib/libnvrtc.so*",
                                             "nvidia/cuda_nvrtc/lib/libnvrtc.so*"};
    for (size_t w = 0; w < sizeof wheel_dirs / sizeof wheel_dirs[0]; w++) {
        char pattern[4200];
        glob_t gl;
        if (snprintf(pattern, sizeof pattern, "%s/%s", root, wheel_dirs[w]) >=
                (int)sizeof pattern ||
            glob(pattern, 0, NULL, &gl) != 0)
            continue;
        bool ok = false;
        /* glob sorts: libnvrtc.so, libnvrtc.so.12, ...; try the last (versioned) first */
        for (size_t i = gl.gl_pathc; i-- > 0 && !ok;)
            ok = !strstr(gl.gl_pathv[i], "builtins") && try_load(gl.gl_pathv[i]);
        globfree(&gl);
        if (ok)
            return true;
    }
    return false;
}

/* The wheel in the usual site-packages folders (a virtualenv, the user's, the system's),
 * then in those of the python3 on PATH (asked: pyenv, conda and the like put them
 * anywhere). */
static bool try_pip(void)
{
    const char *venv = getenv("VIRTUAL_ENV"), *home = getenv("HOME");
    char root[1100];
    if (venv && *venv &&
        snprintf(root, sizeof root, "%s/lib/python3*/site-packages", venv) < (int)sizeof root &&
        try_wheel(root))
        return true;
    if (home && *home &&
        snprintf(root, sizeof root, "%s/.local/lib/python3*/site-packages", home) <
            (int)sizeof root &&
        try_wheel(root))
        return true;
    if (try_wheel("/usr/local/lib/python3*/dist-packages") ||
        try_wheel("/usr/local/lib/python3*/site-packages") ||
        try_wheel("/usr/lib/python3/dist-packages"))
        return true;
    char *argv[] = {"python3", "-c",
                    "import site\nfor p in site.getsitepackages() + [site.getusersitepackages()]: "
                    "print(p)",
                    NULL};
    char *out = NULL;
    bool found = false;
    if (rt_jit_run_capture(argv, &out) == 0 && out)
        for (char *line = strtok(out, "\n"); line && !found; line = strtok(NULL, "\n"))
            found = line[0] == '/' && !strchr(line, '*') && !strchr(line, '?') &&
                    !strchr(line, '[') && try_wheel(line);
    free(out);
    if (!found)
        why_add("no nvidia-cuda-nvrtc wheel in python's site-packages", "");
    return found;
}

static void load_nvrtc(void)
{
    const char *env = getenv("SLIMC_NVRTC");
    if (env && *env) {
        try_load(env); /* named: nothing else is tried */
        return;
    }
    static const char *const names[] = {"libnvrtc.so.13",
                                        "libnvrtc.so.12",
                                        "libnvrtc.so",
                                        "/usr/local/cuda/lib64/libnvrtc.so.13",
                                        "/usr/local/cuda/lib64/libnvrtc.so.12",
                                        "/usr/local/cuda/lib64/libnvrtc.so"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct stat st;
        if (names[i][0] == '/' && stat(names[i], &st) != 0)
            continue;
        if (try_load(names[i]))
            return;
    }
    try_pip();
}

bool rt_nvrtc_available(char *why, size_t cap)
{
    pthread_once(&nv_once, load_nvrtc);
    if (!nv.handle && why && cap)
        snprintf(why, cap, "%s", nv.why[0] ? nv.why : "not found");
    return nv.handle != NULL;
}

const char *rt_nvrtc_path(void)
{
    return nv.handle ? nv.path : NULL;
}

const char *rt_nvrtc_version(void)
{
    return nv.handle ? nv.version : NULL;
}

int rt_nvrtc_archs(int *out, int cap)
{
    int n = 0;
    if (!rt_nvrtc_available(NULL, 0) || nv.num_archs(&n) != 0 || n <= 0)
        return 0;
    int *all = calloc((size_t)n, sizeof *all);
    if (!all || nv.archs(all) != 0) {
        free(all);
        return 0;
    }
    int k = 0;
    for (int i = 0; i < n && k < cap; i++)
        out[k++] = all[i];
    free(all);
    return k;
}

void rt_cu_image_free(RtCuImage *img)
{
    if (!img)
        return;
    free(img->data);
    memset(img, 0, sizeof *img);
}

/* ---- compiling ---- */

#define NVRTC_MAX_OPTS 8

/* The options of a compile: arch and kind, then the fixed ones (see runtime/cuda.h). */
static int make_options(int arch, RtCuImageKind kind, unsigned flags, char arch_opt[32],
                        char part_opt[2][40], const char *opts[NVRTC_MAX_OPTS])
{
    int n = 0;
    snprintf(arch_opt, 32, "-arch=%s_%d", kind == RT_CU_CUBIN ? "sm" : "compute", arch);
    opts[n++] = arch_opt;
    opts[n++] = "--std=c++17";
    if (flags & RT_NVRTC_NO_FMAD)
        opts[n++] = "-fmad=false";
    const unsigned parts = (flags >> 24) & 0xffu, part = (flags >> 16) & 0xffu;
    if (parts > 1) { /* one part of the file (RT_NVRTC_PART) */
        snprintf(part_opt[0], 40, "-DSLIMC_CU_PARTS=%u", parts);
        snprintf(part_opt[1], 40, "-DSLIMC_CU_PART=%u", part);
        opts[n++] = part_opt[0];
        opts[n++] = part_opt[1];
    }
    return n;
}

/* Keeps the source of a failed compile: DIR/failed/KEY.cu, or a temp file without a cache.
 * Writes the path kept to path[cap] ("" when nothing could be written). */
static void keep_failed(const char *dir, const char *key, const char *src, size_t len, char *path,
                        size_t cap)
{
    path[0] = 0;
    if (dir) {
        char fdir[4200];
        snprintf(fdir, sizeof fdir, "%s/failed", dir);
        if (mkdir(fdir, 0700) == 0 || errno == EEXIST) {
            char p[4300];
            snprintf(p, sizeof p, "%s/%s.cu", fdir, key);
            if (rt_jit_write_atomic(fdir, p, src, len)) {
                snprintf(path, cap, "%s", p);
                return;
            }
        }
    }
    char tmp[] = "/tmp/slimc-failed-XXXXXX.cu";
    int fd = mkstemps(tmp, 3);
    if (fd < 0)
        return;
    bool ok = rt_jit_write_all(fd, src, len);
    close(fd);
    if (ok)
        snprintf(path, cap, "%s", tmp);
}

/* One NVRTC compile, no cache. On failure *log gets NVRTC's log (malloc'd). */
static bool nvrtc_run(const char *src, int n_opts, const char *const *opts, RtCuImageKind kind,
                      RtCuImage *out, char **log, char *err, size_t err_cap)
{
    NvrtcProgram prog = NULL;
    *log = NULL;
    /* the source must be NUL-terminated for NVRTC; the caller's may not be */
    NvrtcResult rc = nv.create(&prog, src, "slimc_model.cu", 0, NULL, NULL);
    if (rc != 0) {
        snprintf(err, err_cap, "nvrtcCreateProgram: %s", nv.error_string(rc));
        return false;
    }
    rc = nv.compile(prog, n_opts, opts);
    size_t n = 0;
    if (rc != 0) {
        snprintf(err, err_cap, "%s", nv.error_string(rc));
        if (nv.log_size(prog, &n) == 0 && n > 0 && (*log = malloc(n + 1))) {
            if (nv.log(prog, *log) != 0)
                (*log)[0] = 0;
            (*log)[n] = 0;
        }
        nv.destroy(&prog);
        return false;
    }
    bool ptx = kind == RT_CU_PTX;
    rc = ptx ? nv.ptx_size(prog, &n) : nv.cubin_size(prog, &n);
    unsigned char *data = rc == 0 ? malloc(n + 1) : NULL;
    if (data)
        rc = ptx ? nv.ptx(prog, (char *)data) : nv.cubin(prog, (char *)data);
    nv.destroy(&prog);
    if (!data || rc != 0) {
        free(data);
        snprintf(err, err_cap, "cannot read NVRTC's output: %s",
                 rc ? nv.error_string(rc) : "out of memory");
        return false;
    }
    if (ptx && n > 0 && data[n - 1] == 0)
        n--; /* nvrtcGetPTXSize counts the NUL */
    data[n] = 0;
    out->data = data;
    out->len = n;
    return true;
}

bool rt_nvrtc_compile(const char *src, size_t len, int arch, RtCuImageKind kind, unsigned flags,
                      const RtOptions *o, RtCuImage *out, Diag *d)
{
    memset(out, 0, sizeof *out);
    out->kind = kind;
    out->arch = arch;
    char why[2048];
    if (!rt_nvrtc_available(why, sizeof why)) {
        ir_diag_error(d, (SrcLoc){0},
                      "NVRTC (the CUDA runtime compiler) not found: %s (install the CUDA toolkit, "
                      "or `pip install nvidia-cuda-nvrtc`, or set SLIMC_NVRTC to libnvrtc.so)",
                      why);
        return false;
    }
    char arch_opt[32], part_opt[2][40];
    const char *opts[NVRTC_MAX_OPTS];
    int n_opts = make_options(arch, kind, flags, arch_opt, part_opt, opts);
    /* the key: the source, NVRTC's version, the options (arch and kind among them) */
    const void *parts[NVRTC_MAX_OPTS + 3];
    size_t lens[NVRTC_MAX_OPTS + 3];
    int np = 0;
    parts[np] = "slimc nvrtc v1", lens[np] = strlen("slimc nvrtc v1"), np++;
    parts[np] = src, lens[np] = len, np++;
    parts[np] = nv.version, lens[np] = strlen(nv.version), np++;
    for (int i = 0; i < n_opts; i++)
        parts[np] = opts[i], lens[np] = strlen(opts[i]), np++;
    char key[40];
    rt_jit_key_of(parts, lens, np, key);
    const char *ext = kind == RT_CU_PTX ? "ptx" : "cubin";
    char *dir = o && o->no_cache ? NULL : rt_jit_cache_dir(o, d);
    if (dir && rt_jit_blob_get(dir, key, ext, &out->data, &out->len)) {
        free(dir);
        return true;
    }
    char *copy = malloc(len + 1); /* NUL-terminated for NVRTC */
    if (!copy) {
        free(dir);
        ir_diag_error(d, (SrcLoc){0}, "out of memory");
        return false;
    }
    memcpy(copy, src, len);
    copy[len] = 0;
    char *log = NULL, err[512] = "";
    double t0 = 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    t0 = (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
    bool ok = nvrtc_run(copy, n_opts, opts, kind, out, &log, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (o && o->compile_ms)
        *o->compile_ms += (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6 - t0;
    free(copy);
    if (!ok) {
        char kept[4400];
        keep_failed(dir, key, src, len, kept, sizeof kept);
        ir_diag_error(d, (SrcLoc){0},
                      "NVRTC %s failed to compile the generated CUDA code for %s (%s); this is a "
                      "bug in slimc, please report it with the source kept at %s\n%s",
                      nv.version, arch_opt + 6, err, kept[0] ? kept : "(could not be written)",
                      log ? log : "");
        free(log);
        free(dir);
        return false;
    }
    if (dir && !rt_jit_blob_put(dir, key, ext, out->data, out->len, o))
        ir_diag_warning(d, (SrcLoc){0}, "cannot write the cache entry %s/%s.%s: %s", dir, key, ext,
                        strerror(errno));
    free(dir);
    return true;
}

/* ---- ptxas ---- */

int rt_ptxas_check(const RtCuImage *ptx, int arch, Diag *d)
{
    const char *env = getenv("SLIMC_PTXAS");
    const char *ptxas = env && *env ? env : "/usr/local/cuda/bin/ptxas";
    if (access(ptxas, X_OK) != 0)
        return -1;
    char in[] = "/tmp/slimc-ptx-XXXXXX.ptx", outp[] = "/tmp/slimc-cubin-XXXXXX";
    int fd = mkstemps(in, 4);
    if (fd < 0) {
        ir_diag_error(d, (SrcLoc){0}, "cannot write a temp file for ptxas: %s", strerror(errno));
        return 0;
    }
    bool written = rt_jit_write_all(fd, ptx->data, ptx->len);
    close(fd);
    int ofd = mkstemp(outp);
    if (ofd >= 0)
        close(ofd);
    char sm[32];
    snprintf(sm, sizeof sm, "-arch=sm_%d", arch);
    char *argv[] = {(char *)ptxas, sm, "-o", outp, in, NULL};
    char *output = NULL;
    int rc = written && ofd >= 0 ? rt_jit_run_capture(argv, &output) : -1;
    unlink(in);
    if (ofd >= 0)
        unlink(outp);
    /* a ptxas older than NVRTC (a pip NVRTC beside an older toolkit) cannot judge its PTX */
    bool too_old = rc != 0 && output && strstr(output, "Unsupported .version");
    if (rc != 0 && !too_old)
        ir_diag_error(d, (SrcLoc){0}, "ptxas (%s, sm_%d) refused NVRTC's PTX (status %d):\n%s",
                      ptxas, arch, rc, output ? output : "");
    free(output);
    return too_old ? -1 : rc == 0;
}
