/* cuda_emu.h - PLACEHOLDER until the emulation of issue 15 lands (branch i15-emu, which
 * replaces this file whole): runs each thread of each block in turn, in a plain loop. Good
 * for kernels without barriers or warp operations only; __syncthreads() makes the launch
 * fail. The runtime pastes it (after runtime/slimc_cuda_abi.h) in front of a generated
 * CUDA file compiled as C with SLIMC_CUDA_EMULATE (runtime/cuda_exec.c). */
#ifndef SLIMC_CUDA_EMU_H
#define SLIMC_CUDA_EMU_H

#include "runtime/slimc_cuda_abi.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#pragma STDC FP_CONTRACT OFF

typedef struct slimc_emu_dim3 {
    unsigned x, y, z;
} slimc_emu_dim3;

static slimc_emu_dim3 slimc_emu_thread, slimc_emu_block, slimc_emu_bdim, slimc_emu_gdim;
static int slimc_emu_failed;

#define SLIMC_KERNEL static void
#define SLIMC_DEV    static inline
#define __restrict__ restrict
#define __shared__      static
#define threadIdx       slimc_emu_thread
#define blockIdx        slimc_emu_block
#define blockDim        slimc_emu_bdim
#define gridDim         slimc_emu_gdim
#define __syncthreads() (slimc_emu_failed = 1)
#define SLIMC_INF       (__builtin_inff())
#define SLIMC_NAN       (__builtin_nanf(""))

static inline int slimc_emu_launch(void (*fn)(slimc_kargs), const unsigned grid[3],
                                   const unsigned block[3], const slimc_kargs *a)
{
    if (!grid[0] || !grid[1] || !grid[2] || !block[0] || !block[1] || !block[2] ||
        (uint64_t)block[0] * block[1] * block[2] > 1024)
        return 1;
    slimc_emu_failed = 0;
    slimc_emu_gdim = (slimc_emu_dim3){grid[0], grid[1], grid[2]};
    slimc_emu_bdim = (slimc_emu_dim3){block[0], block[1], block[2]};
    for (unsigned bz = 0; bz < grid[2]; bz++)
        for (unsigned by = 0; by < grid[1]; by++)
            for (unsigned bx = 0; bx < grid[0]; bx++)
                for (unsigned tz = 0; tz < block[2]; tz++)
                    for (unsigned ty = 0; ty < block[1]; ty++)
                        for (unsigned tx = 0; tx < block[0]; tx++) {
                            slimc_emu_block = (slimc_emu_dim3){bx, by, bz};
                            slimc_emu_thread = (slimc_emu_dim3){tx, ty, tz};
                            fn(*a);
                        }
    return slimc_emu_failed;
}

#endif
