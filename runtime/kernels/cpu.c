/* cpu.c — the CPU-feature probes: which instruction sets the kernels may use, detected on
 * the first call (CPUID, XGETBV, and for AMX the Linux permission request), cached, and
 * capped by the environment (SLIMC_MAX_ISA, SLIMC_NO_VNNI, SLIMC_NO_AMX, SLIMC_NO_BF16). */
#include "runtime/kernels/internal.h"

static SLIMC_RT_UNUSED int slimc_rt_isa_detect(void)
{
    int best = SLIMC_RT_ISA_GENERIC, cap = SLIMC_RT_ISA_AVX512;
#ifdef SLIMC_RT_X86
    unsigned a = 0, b = 0, c = 0, d = 0;
    /* OSXSAVE, AVX and FMA, then the OS saves ymm (XCR0 bits 1-2) and zmm (bits 5-7) */
    if (__get_cpuid(1, &a, &b, &c, &d) && (c >> 27 & 1u) && (c >> 28 & 1u) && (c >> 12 & 1u)) {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        (void)hi;
        if ((lo & 6u) == 6u && __get_cpuid_count(7, 0, &a, &b, &c, &d)) {
            if (b >> 5 & 1u)
                best = SLIMC_RT_ISA_AVX2;
            /* AVX512F (16), AVX512BW (30), AVX512VL (31) */
            if (best == SLIMC_RT_ISA_AVX2 && (b >> 16 & 1u) && (b >> 30 & 1u) && (b >> 31 & 1u) &&
                (lo & 0xe0u) == 0xe0u)
                best = SLIMC_RT_ISA_AVX512;
        }
    }
#endif
    const char *e = getenv("SLIMC_MAX_ISA");
    if (e && strcmp(e, "generic") == 0)
        cap = SLIMC_RT_ISA_GENERIC;
    else if (e && strcmp(e, "avx2") == 0)
        cap = SLIMC_RT_ISA_AVX2;
    return best < cap ? best : cap;
}

static int slimc_rt_isa_cached = -1;

/* The instruction set the kernels use: detected on the first call, then cached. */
SLIMC_RT_SHARED int slimc_rt_isa(void)
{
    int v = __atomic_load_n(&slimc_rt_isa_cached, __ATOMIC_RELAXED);
    if (v < 0) {
        v = slimc_rt_isa_detect();
        __atomic_store_n(&slimc_rt_isa_cached, v, __ATOMIC_RELAXED);
    }
    return v;
}
/* AVX-512 VNNI: CPUID leaf 7, ECX bit 11, on top of the AVX-512 checks above. */
static int slimc_rt_vnni_cached = -1;

SLIMC_RT_SHARED int slimc_rt_has_vnni(void)
{
    int v = __atomic_load_n(&slimc_rt_vnni_cached, __ATOMIC_RELAXED);
    if (v < 0) {
        v = 0;
#ifdef SLIMC_RT_X86
        unsigned a = 0, b = 0, c = 0, d = 0;
        if (slimc_rt_isa() == SLIMC_RT_ISA_AVX512 && __get_cpuid_count(7, 0, &a, &b, &c, &d))
            v = (int)(c >> 11 & 1u);
        const char *e = getenv("SLIMC_NO_VNNI");
        if (e && *e && strcmp(e, "0") != 0)
            v = 0;
#endif
        __atomic_store_n(&slimc_rt_vnni_cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

#ifdef SLIMC_RT_X86
/* AVX-VNNI: vpdpbusd on ymm with a VEX encoding, on CPUs with AVX2 but no AVX-512 (Alder
 * Lake and later client parts): CPUID 7.1 EAX bit 4. Taken when the AVX-512 paths are not
 * (no AVX-512, or SLIMC_MAX_ISA=avx2); SLIMC_NO_VNNI=1 turns it off too. */
static int slimc_rt_avxvnni_cached = -1;

SLIMC_RT_SHARED int slimc_rt_has_avxvnni(void)
{
    int v = __atomic_load_n(&slimc_rt_avxvnni_cached, __ATOMIC_RELAXED);
    if (v < 0) {
        unsigned a = 0, b = 0, c = 0, d = 0;
        const char *e = getenv("SLIMC_NO_VNNI");
        v = !(e && *e && strcmp(e, "0") != 0) && slimc_rt_isa() >= SLIMC_RT_ISA_AVX2 &&
            __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a >> 4 & 1u);
        __atomic_store_n(&slimc_rt_avxvnni_cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

/* AVX-512 VBMI (vpermt2b), which some VNNI CPUs lack: CPUID 7.0 ECX bit 1. */
static int slimc_rt_vbmi_cached = -1;

SLIMC_RT_SHARED int slimc_rt_has_vbmi(void)
{
    int v = __atomic_load_n(&slimc_rt_vbmi_cached, __ATOMIC_RELAXED);
    if (v < 0) {
        unsigned a = 0, b = 0, c = 0, d = 0;
        v = slimc_rt_has_vnni() && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c >> 1 & 1u);
        __atomic_store_n(&slimc_rt_vbmi_cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

static int slimc_rt_bf16_cached = -1; /* bit 0: AVX512_BF16, bit 1: AMX-BF16 (granted) */

SLIMC_RT_SHARED int slimc_rt_bf16_caps(void)
{
    int v = __atomic_load_n(&slimc_rt_bf16_cached, __ATOMIC_RELAXED);
    if (v < 0) {
        v = 0;
        unsigned a = 0, b = 0, c = 0, d = 0;
        const char *e = getenv("SLIMC_NO_BF16");
        if (!(e && *e && strcmp(e, "0") != 0) && slimc_rt_isa() == SLIMC_RT_ISA_AVX512) {
            if (__get_cpuid_count(7, 1, &a, &b, &c, &d) && (a >> 5 & 1u))
                v |= 1;
#ifdef SLIMC_RT_HAS_AMX
            /* AMX-BF16 (leaf 7 EDX bit 22) once the tile state is granted (slimc_rt_has_amx) */
            if ((v & 1) && slimc_rt_has_amx() && __get_cpuid_count(7, 0, &a, &b, &c, &d) &&
                (d >> 22 & 1u))
                v |= 2;
#endif
        }
        __atomic_store_n(&slimc_rt_bf16_cached, v, __ATOMIC_RELAXED);
    }
    return v;
}
#endif

#ifdef SLIMC_RT_HAS_AMX
static int slimc_rt_amx_cached = -1;

SLIMC_RT_SHARED int slimc_rt_has_amx(void)
{
    int v = __atomic_load_n(&slimc_rt_amx_cached, __ATOMIC_RELAXED);
    if (v < 0) {
        v = 0;
        unsigned a = 0, b = 0, c = 0, d = 0;
        const char *e = getenv("SLIMC_NO_AMX");
        /* AMX-TILE (edx 24) and AMX-INT8 (25); the OS saves the tile state (XCR0 17-18) */
        if (!(e && *e && strcmp(e, "0") != 0) && slimc_rt_has_vnni() &&
            __get_cpuid_count(7, 0, &a, &b, &c, &d) && (d >> 24 & 1u) && (d >> 25 & 1u)) {
            unsigned lo, hi;
            __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
            (void)hi;
            if ((lo >> 17 & 3u) == 3u) {
                long r; /* arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) */
                __asm__ volatile("syscall"
                                 : "=a"(r)
                                 : "a"(158L), "D"(0x1023L), "S"(18L)
                                 : "rcx", "r11", "memory");
                v = r == 0;
            }
        }
        __atomic_store_n(&slimc_rt_amx_cached, v, __ATOMIC_RELAXED);
    }
    return v;
}
#endif
