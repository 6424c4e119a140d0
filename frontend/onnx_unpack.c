/* A ModelProto unpacked with its big payloads (initializers' raw_data, tens of MB in a
 * transformer) in regions of transparent huge pages. protobuf-c copies every bytes field
 * into memory of its own; with malloc a 42 MB model's copy cost about 20 ms of CPU, nearly
 * all of it page faults on 10,000 fresh 4 KB pages, on every start, cached or not. In
 * regions marked MADV_HUGEPAGE the same copy faults once per 2 MB: about 5 ms. The
 * importer refers to those payloads in place (onnx_tensor.c, copy=false), so the regions
 * live as long as the graph: ox_model_free, registered with ir_graph_on_free, releases
 * the message and them together. Small allocations (names, dims, nodes) stay malloc's. */
#define _GNU_SOURCE 1 /* MADV_HUGEPAGE */

#ifdef SLIMC_WITH_ONNX
#include "frontend/onnx_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

/* Allocations of at least BIG_BYTES come from regions of at least REGION_BYTES (one
 * mapping each, 2 MB aligned), BIG_ALIGN-aligned within them. */
enum { BIG_BYTES = 64 << 10, BIG_ALIGN = 64, HUGE_PAGE = 2 << 20, REGION_BYTES = 32 << 20 };

typedef struct Region {
    struct Region *next;
    unsigned char *map; /* the mapping, map_len bytes */
    size_t map_len;
    unsigned char *base; /* 2 MB aligned, size bytes of it usable */
    size_t size, used;
} Region;

struct OxUnpacked {
    Onnx__ModelProto *m;
    ProtobufCAllocator alloc;
    Region *regions; /* newest first */
};

static Region *region_new(size_t need)
{
    size_t size = need > REGION_BYTES ? need : REGION_BYTES;
    size = (size + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
    const size_t map_len = size + HUGE_PAGE; /* room to align base */
    void *map = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return NULL;
    Region *r = malloc(sizeof *r);
    if (!r) {
        munmap(map, map_len);
        return NULL;
    }
    r->map = map;
    r->map_len = map_len;
    r->base = (unsigned char *)(((uintptr_t)map + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    r->size = size;
    r->used = 0;
    (void)madvise(r->base, size, MADV_HUGEPAGE); /* advice: without THP, 4 KB pages */
    return r;
}

static void *unpack_alloc(void *data, size_t size)
{
    struct OxUnpacked *u = data;
    if (size < BIG_BYTES || size > SIZE_MAX / 2)
        return malloc(size ? size : 1);
    const size_t need = (size + BIG_ALIGN - 1) & ~(size_t)(BIG_ALIGN - 1);
    Region *r = u->regions;
    if (!r || r->size - r->used < need) {
        r = region_new(need);
        if (!r)
            return malloc(size); /* no mapping: malloc's memory (unpack_free tells them apart) */
        r->next = u->regions;
        u->regions = r;
    }
    void *p = r->base + r->used;
    r->used += need;
    return p;
}

static bool in_region(const struct OxUnpacked *u, const void *p)
{
    for (const Region *r = u->regions; r; r = r->next)
        if ((const unsigned char *)p >= r->base && (const unsigned char *)p < r->base + r->size)
            return true;
    return false;
}

static void unpack_free(void *data, void *p)
{
    if (p && !in_region(data, p)) /* a region's pieces go with the region */
        free(p);
}

Onnx__ModelProto *ox_model_unpack(const void *buf, size_t len, OxUnpacked **owner)
{
    struct OxUnpacked *u = calloc(1, sizeof *u);
    *owner = NULL;
    if (!u)
        return NULL;
    u->alloc = (ProtobufCAllocator){unpack_alloc, unpack_free, u};
    u->m = onnx__model_proto__unpack(&u->alloc, len, buf);
    if (!u->m) {
        ox_model_free(u);
        return NULL;
    }
    *owner = u;
    return u->m;
}

void ox_model_free(void *owner)
{
    struct OxUnpacked *u = owner;
    if (!u)
        return;
    if (u->m)
        onnx__model_proto__free_unpacked(u->m, &u->alloc);
    for (Region *r = u->regions, *next; r; r = next) {
        next = r->next;
        munmap(r->map, r->map_len);
        free(r);
    }
    free(u);
}

#endif
