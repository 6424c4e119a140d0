/* The default thread count: SlimcOptions.threads == 0 runs on the CPUs this process may use.
 * (Generated code has its own copy of this rule, slimc_rt_cpu_count in
 * runtime/kernels/threadpool.c, for built executables and libraries.) */
#define _GNU_SOURCE 1 /* sched_getaffinity, CPU_COUNT */
#include "slimc/slimc.h"

#include <sched.h>
#include <unistd.h>

int slimc_default_threads(void)
{
    long n = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n; /* 256: the pool's SLIMC_RT_MAX_THREADS */
}
