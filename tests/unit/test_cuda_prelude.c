/* runtime/cuda_prelude.cuh, the NVRTC spelling of the CUDA portability layer: the kernels
 * of cuda_emu_kernels.h (which test_cuda_emu.c runs on the CPU emulation), laid out as a
 * generated file lays them out (the ABI, the prelude under __CUDACC_RTC__, the kernels),
 * must compile with NVRTC for compute_75, compute_80 and compute_90 without an error or a
 * warning, and NVRTC's ptxas must take the result for sm_75, sm_80 and sm_90 (a CUBIN).
 * NVRTC is loaded with dlopen ($SLIMC_NVRTC, libnvrtc.so, or CUDA's lib64); where it is
 * absent the test says so and passes: CI has it. */
#include "cuda_nvrtc.h"

START_TEST(prelude_compiles_with_nvrtc)
{
    if (!nvrtc_load()) {
        printf("test_cuda_prelude: SKIPPED: NVRTC not found (set SLIMC_NVRTC to libnvrtc.so)\n");
        return;
    }
    char *src = nvrtc_test_source();
    static const char *const virt[] = {"compute_75", "compute_80", "compute_90"};
    static const char *const real[] = {"sm_75", "sm_80", "sm_90"};
    for (int i = 0; i < 3; i++) {
        size_t n;
        char *ptx = nvrtc_compile(src, virt[i], &n);
        ck_assert_msg(strstr(ptx, ".entry tk_mma_16816") != NULL, "%s: no tk_mma_16816", virt[i]);
        /* sm_80 and up: the mma shapes of the layout; sm_75: m16n8k8 and m8n8k16 */
        ck_assert_msg(strstr(ptx, i ? "mma.sync.aligned.m16n8k32" : "mma.sync.aligned.m8n8k16"),
                      "%s: not the expected mma", virt[i]);
        free(ptx);
        char *cubin = nvrtc_compile(src, real[i], &n); /* ptxas */
        ck_assert_msg(n > 0, "%s: empty CUBIN", real[i]);
        free(cubin);
    }
    free(src);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cuda_prelude");
    TCase *tc = tcase_create("cuda_prelude");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, prelude_compiles_with_nvrtc);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
