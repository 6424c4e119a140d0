/* PLACEHOLDER until the portability layer lands (see the CUDA design). */
#define SLIMC_KERNEL extern "C" __global__ void
#define SLIMC_DEV    static __device__ __forceinline__
#define SLIMC_INF    __int_as_float(0x7f800000)
#define SLIMC_NAN    __int_as_float(0x7fffffff)
