/* .npy reader and writer, and the file helpers (read-only mapping, atomic write) that
 * the safetensors code shares. The header parser is runtime/model_io.c's, which built
 * executables share (they accept and refuse the same files). The format: "\x93NUMPY", a major and a
 * minor version byte, the header length (2 bytes LE in 1.0, 4 bytes in 2.0 and 3.0), the header — a
 * Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
 * spaces and a '\n' so the data starts at a multiple of 64 — then the raw C-order data. */
#include "frontend/npy.h"

#include "frontend/files.h"
#include "ir/arena.h"
#include "runtime/model_desc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "slimc's file readers and writers assume a little-endian host"
#endif

#define NPY_MAGIC     "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN     64
/* numpy leaves room after the header for the first dim to grow to this many digits */
#define NPY_GROWTH_DIGITS 21

/* runtime/model_io.c numbers dtypes as ir/types.h does */
_Static_assert(RT_DT_F64 == (int)IR_F64 && RT_DT_F32 == (int)IR_F32 && RT_DT_F16 == (int)IR_F16 &&
                   RT_DT_BF16 == (int)IR_BF16 && RT_DT_I64 == (int)IR_I64 &&
                   RT_DT_I32 == (int)IR_I32 && RT_DT_I16 == (int)IR_I16 && RT_DT_I8 == (int)IR_I8 &&
                   RT_DT_U8 == (int)IR_U8 && RT_DT_I4 == (int)IR_I4 && RT_DT_BOOL == (int)IR_BOOL &&
                   RT_DT_U16 == (int)IR_U16 && RT_DT_U32 == (int)IR_U32 &&
                   RT_DT_U64 == (int)IR_U64 && RT_DT_COUNT == (int)IR_NUM_DTYPES,
               "runtime/model_desc.h's dtype numbers differ from ir/types.h's");
_Static_assert(RT_MAX_RANK == IR_MAX_RANK, "RT_MAX_RANK differs from IR_MAX_RANK");

bool fe_file_error(const char *name, Diag *d, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ir_diag_error(d, (SrcLoc){name, 0, 0}, "%s", msg);
    return false;
}

bool fe_npy_parse_ex(const char *name, const void *buf, size_t len, unsigned flags, NpyArray *out,
                     Diag *d)
{
    /* the parser is runtime/model_io.c's, shared with the executables slimc builds */
    char msg[512];
    RtNpyInfo info;
    memset(out, 0, sizeof *out);
    if (!rt_npy_parse(buf, len, flags & FE_NPY_U2_AS_BF16 ? RT_NPY_U2_AS_BF16 : 0, &info, msg,
                      sizeof msg))
        return fe_file_error(name, d, "%s", msg);
    unsigned char *data = malloc(info.nbytes ? info.nbytes : 1);
    if (!data)
        return fe_file_error(name, d, "out of memory for %zu bytes of data", info.nbytes);
    if (info.nbytes)
        memcpy(data, (const unsigned char *)buf + info.data_offset, info.nbytes);
    if (info.swap)
        rt_npy_byteswap(data, info.nbytes, (size_t)ir_dtype_bits((DType)info.dtype) / 8);
    out->dtype = (DType)info.dtype;
    out->ndim = info.ndim;
    memcpy(out->shape, info.shape, sizeof out->shape);
    out->data = data;
    out->nbytes = info.nbytes;
    return true;
}

bool fe_npy_parse(const char *name, const void *buf, size_t len, NpyArray *out, Diag *d)
{
    return fe_npy_parse_ex(name, buf, len, 0, out, d);
}

bool fe_npy_read_ex(const char *path, unsigned flags, NpyArray *out, Diag *d)
{
    void *map;
    size_t len;
    memset(out, 0, sizeof *out);
    if (!fe_map_file(path, &map, &len, d))
        return false;
    static const char empty[1];
    bool ok = fe_npy_parse_ex(path, map ? map : empty, len, flags, out, d);
    fe_unmap_file(map, len);
    return ok;
}

bool fe_npy_read(const char *path, NpyArray *out, Diag *d)
{
    return fe_npy_read_ex(path, 0, out, d);
}

void fe_npy_free(NpyArray *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

bool fe_npy_write(const char *path, DType dtype, int ndim, const int64_t *shape, const void *data,
                  Diag *d)
{
    const char *descr = rt_npy_descr((int)dtype);
    if (!descr)
        return fe_file_error(
            path, d,
            "cannot write %s to .npy: the format has no such dtype (unpack i4 to i8 first)",
            ir_dtype_name(dtype));
    if (ndim < 0 || ndim > IR_MAX_RANK)
        return fe_file_error(path, d, "cannot write an array of rank %d (at most %d)", ndim,
                             IR_MAX_RANK);
    SLIMC_ASSERT(ndim == 0 || shape);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0)
            return fe_file_error(path, d, "cannot write an array with the negative dimension %lld",
                                 (long long)shape[i]);
    size_t nbytes;
    char shape_text[256];
    rt_npy_format_shape(shape_text, sizeof shape_text, shape, ndim);
    if (!rt_npy_shape_bytes(shape, ndim, (size_t)ir_dtype_bits(dtype) / 8, &nbytes))
        return fe_file_error(path, d, "cannot write an array of shape %s: too large", shape_text);
    SLIMC_ASSERT(nbytes == 0 || data);

    /* As numpy's _write_array_header: the dict with sorted keys, room for the first dim to
     * grow, then spaces and '\n' up to a multiple of 64 (always at least one space). */
    char header[512];
    int n = snprintf(header, sizeof header,
                     "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape_text);
    SLIMC_ASSERT(n > 0 && (size_t)n < sizeof header - 2 * NPY_ALIGN);
    size_t hlen = (size_t)n;
    if (ndim > 0) {
        char first[24];
        int digits = snprintf(first, sizeof first, "%lld", (long long)shape[0]);
        for (int i = digits; i < NPY_GROWTH_DIGITS; i++)
            header[hlen++] = ' ';
    }
    size_t pad = NPY_ALIGN - (10 + hlen + 1) % NPY_ALIGN;
    memset(header + hlen, ' ', pad);
    hlen += pad;
    header[hlen++] = '\n';
    unsigned char pre[10];
    memcpy(pre, NPY_MAGIC, NPY_MAGIC_LEN);
    pre[6] = 1;
    pre[7] = 0;
    pre[8] = (unsigned char)(hlen & 0xFF);
    pre[9] = (unsigned char)(hlen >> 8);
    FeChunk chunks[3] = {{pre, sizeof pre}, {header, hlen}, {data, nbytes}};
    return fe_write_file_atomic(path, chunks, 3, d);
}

/* ---- file helpers ---- */

bool fe_map_file(const char *path, void **map, size_t *len, Diag *d)
{
    *map = NULL;
    *len = 0;
    struct stat st;
    const char *why;
    int fd = fe_open_regular(path, &st, &why); /* no FIFO, device, folder or /proc file */
    if (fd < 0)
        return why ? fe_file_error(path, d, "%s", why)
                   : fe_file_error(path, d, "cannot open: %s", strerror(errno));
    if ((uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return fe_file_error(path, d, "file too large to map");
    }
    size_t n = (size_t)st.st_size;
    if (n > 0) {
        void *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return fe_file_error(path, d, "cannot map: %s", strerror(e));
        }
        *map = p;
    }
    close(fd);
    *len = n;
    return true;
}

void fe_unmap_file(void *map, size_t len)
{
    if (map)
        munmap(map, len);
}

/* write(2) until done, retrying on EINTR and short writes. */
static bool write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        c += w;
        n -= (size_t)w;
    }
    return true;
}

bool fe_write_file_atomic(const char *path, const FeChunk *chunks, int n_chunks, Diag *d)
{
    static atomic_uint counter;
    size_t cap = strlen(path) + 48;
    char *tmp = malloc(cap);
    if (!tmp)
        return fe_file_error(path, d, "out of memory");
    int fd = -1;
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(tmp, cap, "%s.tmp%ld.%u", path, (long)getpid(), atomic_fetch_add(&counter, 1u));
        /* 0666 less the umask, as any file the user creates */
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            break;
    }
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return fe_file_error(path, d, "cannot create a file in its folder: %s", strerror(e));
    }
    const char *what = NULL;
    for (int i = 0; i < n_chunks && !what; i++)
        if (chunks[i].len && !write_all(fd, chunks[i].data, chunks[i].len))
            what = "cannot write";
    if (!what && fsync(fd) != 0)
        what = "cannot flush to disk";
    int e = errno;
    if (close(fd) != 0 && !what) {
        what = "cannot write";
        e = errno;
    }
    if (!what && rename(tmp, path) != 0) {
        what = "cannot replace";
        e = errno;
    }
    if (what) {
        unlink(tmp);
        free(tmp);
        return fe_file_error(path, d, "%s: %s", what, e ? strerror(e) : "short write");
    }
    free(tmp);
    return true;
}
