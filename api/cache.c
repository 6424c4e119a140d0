/* The public API: the JIT's compile cache (slimc cache info|clear). */
#include "api/api_internal.h"
#include "runtime/cuda.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void cache_options(const char *cache_dir, RtOptions *o)
{
    rt_options_default(o);
    o->cache_dir = cache_dir;
}

SlimcStatus slimc_cache_info(SlimcContext *ctx, const char *cache_dir, SlimcCacheInfo *info)
{
    memset(info, 0, sizeof *info);
    RtOptions o;
    cache_options(cache_dir, &o);
    RtCacheInfo ri;
    if (!rt_cache_info(&o, &ri, &ctx->diag))
        return SLIMC_ERROR;
    snprintf(info->dir, sizeof info->dir, "%s", ri.dir);
    free(ri.dir);
    info->entries = ri.entries;
    info->cuda_entries = ri.cuda_entries;
    static char nvrtc[1200];
    if (rt_nvrtc_available(NULL, 0)) {
        snprintf(nvrtc, sizeof nvrtc, "%s (%s)", rt_nvrtc_version(), rt_nvrtc_path());
        info->nvrtc = nvrtc;
    }
    info->temp_files = ri.temp_files;
    info->bytes = ri.bytes;
    info->max_bytes = ri.max_bytes;
    info->compiler = rt_backend_name(&o);
    return SLIMC_OK;
}

SlimcStatus slimc_cache_clear(SlimcContext *ctx, const char *cache_dir, int *removed)
{
    RtOptions o;
    cache_options(cache_dir, &o);
    *removed = 0;
    return rt_cache_clear(&o, removed, &ctx->diag) ? SLIMC_OK : SLIMC_ERROR;
}
