/* The model descriptor and the input binder that every way of running a compiled model
 * shares: the JIT (runtime/exec.c), the main() of a built executable (runtime/slimc_main.c)
 * and, through the same numbers, the AOT library's header. Plain C and libc only, no ir/:
 * `slimc build` pastes this header and runtime/model_io.c into every executable it writes.
 *
 * A descriptor is generated per model (codegen/c/aot.c prints it as C for executables,
 * codegen/c/desc.c builds it in memory for the JIT). model_io.c also holds the one .npy
 * reader: frontend/npy.c (`slimc run`, calibration data) and built executables parse with
 * the same code, so they accept and refuse the same files with the same messages. */
#ifndef SLIMC_RUNTIME_MODEL_DESC_H
#define SLIMC_RUNTIME_MODEL_DESC_H

#include <stddef.h>
#include <stdint.h>

/* The linkage of model_io.c's functions: external in libslimc and executables; static
 * where a static library pastes them (`slimc build --lib`, SLIMC_MODEL_IO_STATIC), so that
 * two models' libraries link into one program. */
#ifdef SLIMC_MODEL_IO_STATIC
#define RT_IO_FN static __attribute__((unused))
#else
#define RT_IO_FN
#endif

#define RT_MAX_RANK 8  /* = IR_MAX_RANK (checked in codegen/c/desc.c) */
#define RT_MAX_SYMS 16 /* = IR_MAX_SYMS */
#define RT_MAX_POLY 8  /* terms of the arena polynomial, = IR_POLY_TERMS */
/* The most bytes one array may take (= IR_MAX_TENSOR_BYTES). */
#define RT_MAX_TENSOR_BYTES ((int64_t)1 << 62)

/* Element types: the numbers of ir/types.h's DType and of the public SlimcDType (checked
 * by _Static_asserts in codegen/c/desc.c). RT_DT_COUNT: the number of dtypes. */
enum {
    RT_DT_F64,
    RT_DT_F32,
    RT_DT_F16,
    RT_DT_BF16,
    RT_DT_I64,
    RT_DT_I32,
    RT_DT_I16,
    RT_DT_I8,
    RT_DT_U8,
    RT_DT_I4,
    RT_DT_BOOL,
    RT_DT_U16,
    RT_DT_U32,
    RT_DT_U64,
    RT_DT_COUNT = 23
};

/* A dim: c times the product of the symbols in the mask syms. */
typedef struct RtDimDesc {
    int64_t c;
    uint32_t syms;
} RtDimDesc;

/* One input or output. name: as --input matches it; shown: the name as it may be printed
 * on a terminal (escaped by slimc); type: the type as slimc prints it ("f32[N, 784]");
 * file/line/col: where the model declares it (JIT messages point there; 0 when unknown). */
typedef struct RtIoDesc {
    const char *name, *shown, *type;
    int dtype, rank;
    RtDimDesc dims[RT_MAX_RANK];
    const char *file;
    int line, col;
} RtIoDesc;

/* A derived symbol (ir/types.h SymDef): floor((xa * xb + y + add) / div), >= 1; origin
 * the node that derives it ("pad 'Pad_0'", Graph.sym_origins; may be NULL), for messages.
 * For every symbol, derived or not: max > 0 bounds its value (Graph.sym_max), max_of
 * names what needs the bound ("slice of 'bias'"; may be NULL). eq, when its c != 0: the
 * value the model assumes the symbol equals (Graph.sym_eq), eq_of what assumes it. */
typedef struct RtSymDef {
    RtDimDesc xa, xb, y;
    int64_t add, div;
    const char *origin;
    int64_t max;
    const char *max_of;
    RtDimDesc eq; /* c != 0: the symbol must equal this dim (Graph.sym_eq), for eq_of */
    const char *eq_of;
} RtSymDef;

typedef struct RtModelDesc {
    const char *name;   /* the model's name (shown form) */
    const char *source; /* the model file (messages about the model as a whole); may be NULL */
    int n_inputs, n_outputs, n_syms;
    const char *const *sym_names;
    const RtIoDesc *inputs, *outputs;
    int n_arena_terms; /* the arena's bytes: the sum of c * (product of mask's symbols) */
    struct {
        uint32_t mask;
        int64_t c;
    } arena[RT_MAX_POLY];
    /* bit s: symbol s is derived, its value defs[s] of the earlier ones (computed after the
     * inputs bind the others; an input that binds one too must agree) */
    uint32_t derived;
    RtSymDef defs[RT_MAX_SYMS];
} RtModelDesc;

/* An input as the caller holds it. */
typedef struct RtInputView {
    int dtype, ndim;
    const int64_t *shape;
    const void *data;
    size_t nbytes;
} RtInputView;

/* Why binding failed: input >= 0 names the input (why then completes "input 'x': expected
 * T, got G: why"), input < 0 a message about the whole model in why. */
typedef struct RtBindError {
    int input;
    char why[224];
} RtBindError;

/* Checks every input against the descriptor (dtype, rank, static dims, each symbol bound
 * consistently to a value >= 1 and within its max, bytes of data) and binds syms[RT_MAX_SYMS] from
 * the inputs' shapes; also that the arena's size fits for these symbols. 0 on success. */
RT_IO_FN int rt_desc_bind(const RtModelDesc *m, const RtInputView *in, int64_t *syms,
                          RtBindError *err);
/* Sets the derived symbols of m in syms (in order) from the others; an input that bound
 * one too (bit in known) must agree. 0 on success, else 1 with err->why. */
RT_IO_FN int rt_desc_derive(const RtModelDesc *m, int64_t *syms, uint32_t known, RtBindError *err);
/* The value of a dim for the symbol values; 0 when it overflows int64_t. */
RT_IO_FN int rt_dim_eval(RtDimDesc d, const int64_t *syms, int64_t *out);
/* Bytes for count elements of dtype (sub-byte dtypes packed); 0 when it exceeds
 * RT_MAX_TENSOR_BYTES or count < 0. */
RT_IO_FN int rt_dtype_bytes(int dtype, int64_t count, size_t *out);
RT_IO_FN const char *rt_dtype_name(int dtype); /* "f32"; "?" out of range */
/* The descr numpy writes for dtype ("<f4"; bf16 as "<u2"); NULL: no .npy form. */
RT_IO_FN const char *rt_npy_descr(int dtype);

/* ---- .npy files (versions 1.0, 2.0, 3.0; C order; docs/formats.md) ---- */

/* Read '<u2' as bf16 bit patterns; without it uint16 is u16. */
#define RT_NPY_U2_AS_BF16 1u

typedef struct RtNpyInfo {
    int dtype, ndim;
    int64_t shape[RT_MAX_RANK];
    size_t data_offset; /* where the data starts in the image */
    size_t nbytes;      /* of data */
    int swap;           /* big-endian data: swap each element's bytes after copying */
} RtNpyInfo;

/* Parses and checks an in-memory .npy image of len bytes: every header field (magic,
 * version, header length, dict syntax, descr, fortran_order, shape), the data size against
 * the image's, and each bool byte. 0 with the message in msg[cap] (the caller adds the
 * file name) when something is wrong. */
RT_IO_FN int rt_npy_parse(const void *buf, size_t len, unsigned flags, RtNpyInfo *info, char *msg,
                          size_t cap);
/* ---- files given in the wrong place (docs/formats.md, "Which file goes where") ---- */

/* What a file is, judged by its first bytes: RT_FILE_UNKNOWN when none of these. */
enum {
    RT_FILE_UNKNOWN,
    RT_FILE_NPY,         /* "\x93NUMPY" */
    RT_FILE_NPZ,         /* a zip of .npy files (np.savez) */
    RT_FILE_SAFETENSORS, /* 8-byte header length, then '{' */
    RT_FILE_TORCH,       /* torch.save: a zip holding data.pkl, or a pickle (legacy) */
    RT_FILE_PICKLE,      /* any other Python pickle */
    RT_FILE_ONNX,        /* a protobuf that starts as a ModelProto does */
    RT_FILE_GGUF,
    RT_FILE_HDF5, /* Keras .h5 */
    RT_FILE_TFLITE,
    RT_FILE_ZIP, /* any other zip */
    RT_FILE_GZIP,
    RT_FILE_ELF,
};
/* Where a file was given: as a model, as a model's weights file, as an input array. */
enum { RT_ROLE_MODEL, RT_ROLE_WEIGHTS, RT_ROLE_INPUT };
RT_IO_FN int rt_file_kind(const void *buf, size_t len);
/* What to say of a file of kind given as role ("this is a safetensors file: name it in
 * the model's `weights` line"); NULL when the kind is unknown or is the one role reads.
 * Every reader appends it to its own error, so run, built executables and the library say
 * the same words. */
RT_IO_FN const char *rt_file_kind_hint(int kind, int role);
/* "(2, 3)" as numpy prints a shape tuple into buf[cap]: "()" for 0-d, "(3,)" for one dim. */
/* Length of the valid UTF-8 sequence at s[0..avail) (1 for ASCII), 0 if it is not one. */
RT_IO_FN size_t rt_utf8_seq(const unsigned char *s, size_t avail);
/* s[len] for a message: valid UTF-8 and printable ASCII as they are, other bytes as \xNN,
 * cut with "..." to fit cap; returns dst. */
RT_IO_FN char *rt_quote_for_message(char *dst, size_t cap, const char *s, size_t len);
RT_IO_FN void rt_npy_format_shape(char *buf, size_t cap, const int64_t *shape, int ndim);
/* Byte size of a C-order array: 0 when the shape is too large, that is when the product
 * of its dims -- zeros counted as ones, so that every stride fits as well -- times esize
 * does not fit in int64_t. */
RT_IO_FN int rt_npy_shape_bytes(const int64_t *shape, int ndim, size_t esize, size_t *nbytes);
/* A whole .npy file read (built executables; libslimc maps files, see frontend/npy.c):
 * a regular file only (the messages of frontend/files.c), parsed by rt_npy_parse, the
 * data malloc'd and in host order. 0 with the message in msg[cap] on error. */
typedef struct RtNpyArray {
    int dtype, ndim;
    int64_t shape[RT_MAX_RANK];
    void *data;
    size_t nbytes;
} RtNpyArray;
RT_IO_FN int rt_npy_read_file(const char *path, unsigned flags, RtNpyArray *out, char *msg,
                              size_t cap);
/* What st is instead of a regular file, as a phrase after the file's name ("is a
 * directory, not a file"): the words of every file check (frontend/files.c too). */
struct stat;
RT_IO_FN const char *rt_file_not_regular(const struct stat *st);
/* Creates the folder path with its missing parents (mkdir -p, each made with mode, less the
 * umask: 0777 for outputs, 0700 for the compile cache); 1 when it is (or now is) a folder,
 * *created (if not NULL) saying whether the last one was made here; else 0 with the reason
 * in msg[cap] for the words every writer of outputs uses: "PATH: error: cannot create the
 * output folder: MSG". */
RT_IO_FN int rt_make_dirs(const char *path, unsigned mode, int *created, char *msg, size_t cap);
/* Swaps the bytes of each esize-byte element (big-endian data). */
RT_IO_FN void rt_npy_byteswap(void *data, size_t nbytes, size_t esize);
/* data (n elements of f64, f16 or bf16) as f32 into out; 0 for any other dtype. */
RT_IO_FN int rt_convert_to_f32(int dtype, const void *data, size_t n, float *out);

#endif
