/* Facts about a kernel read from a cubin (an ELF image from NVRTC, runtime/cuda.h): what
 * `slimc inspect --device cuda` shows without a GPU. */
#ifndef SLIMC_RUNTIME_CUBIN_INFO_H
#define SLIMC_RUNTIME_CUBIN_INFO_H

#include <stdbool.h>
#include <stddef.h>

/* The static shared memory of kernel in the cubin data[len]: the size of its section
 * .nv.shared.KERNEL (0 when it has none). false when data is not an ELF64 image that can
 * be read (a bound out of range): the image is never trusted. */
bool rt_cubin_shared_bytes(const unsigned char *data, size_t len, const char *kernel,
                           size_t *bytes);

#endif
