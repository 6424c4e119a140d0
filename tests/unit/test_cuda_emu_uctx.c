/* test_cuda_emu.c again with the portable context switch (swapcontext) instead of the
 * x86-64 assembly one. */
#define SLIMC_EMU_UCONTEXT 1
#include "test_cuda_emu.c"
