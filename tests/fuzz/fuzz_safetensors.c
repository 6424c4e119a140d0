/* libFuzzer harness for the safetensors reader (and the JSON reader under it): any input
 * must parse or fail cleanly; a success must keep every tensor inside the buffer, sorted
 * by name, findable, and without overlaps. Each compact sparse weight the metadata names
 * (frontend/st_sparse.h) is decoded at its own dense shape: accepted or refused, never a
 * read out of bounds. */
#include "frontend/safetensors.h"
#include "frontend/st_sparse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly size bytes, so that ASan sees any read past the end */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    Diag d;
    ir_diag_init(&d);
    StFile *f = fe_st_parse("fuzz.safetensors", buf, size, &d);
    if ((f != NULL) != (d.n_errors == 0))
        __builtin_trap();
    if (f) {
        const uint8_t *end = buf + size;
        for (int i = 0; i < f->n_tensors; i++) {
            StTensor *t = &f->tensors[i];
            const uint8_t *p = t->data;
            if (p < buf || p > end || t->nbytes > (size_t)(end - p))
                __builtin_trap();
            if (i > 0 && strcmp(f->tensors[i - 1].name, t->name) >= 0)
                __builtin_trap(); /* sorted, no duplicates */
            if (fe_st_find(f, t->name) != t || t->ndim < 0 || t->ndim > IR_MAX_RANK)
                __builtin_trap();
            size_t n = (size_t)ir_dtype_bits(t->dtype) / 8;
            for (int k = 0; k < t->ndim; k++)
                n *= (size_t)t->shape[k];
            if (n != t->nbytes)
                __builtin_trap();
            volatile uint8_t sum = 0;
            for (size_t k = 0; k < t->nbytes; k++)
                sum ^= p[k];
            (void)sum;
        }
        for (int i = 0; i < f->n_metadata; i++)
            if (fe_st_metadata_get(f, f->metadata[i].key) != f->metadata[i].value)
                __builtin_trap();
        for (int i = 0; i < f->n_metadata; i++) {
            int64_t dims[IR_MAX_RANK];
            int rank;
            if (!fe_st_sparse_shape(f->metadata[i].value, dims, &rank))
                continue;
            size_t count = 1; /* at most 8 elements a byte of input, as the mask needs */
            for (int k = 0; k < rank && count; k++)
                count = dims[k] > 0 && (uint64_t)dims[k] <= 8 * (uint64_t)size + 8 &&
                                count <= (8 * size + 8) / (size_t)dims[k]
                            ? count * (size_t)dims[k]
                            : 0;
            if (!count)
                continue;
            float *out = malloc(count * sizeof(float));
            bool present = false;
            char why[512] = "";
            bool done = out && fe_st_sparse_decode(f, f->metadata[i].key, dims, rank, out, &present,
                                                   why, sizeof why);
            if (out && (!present || (!done && !why[0])))
                __builtin_trap(); /* decoded, or refused with a reason */
            free(out);
        }
        fe_st_close(f);
    }
    ir_diag_fini(&d);
    free(buf);
    return 0;
}
