/* .npz reader (frontend/npz.h). The zip layout it reads (APPNOTE.TXT): the end of central
 * directory record (EOCD, 22 bytes + a comment) at the end of the file, pointing at the
 * central directory: one 46-byte record + name + extra + comment per entry, each with the
 * method, CRC-32, sizes and the offset of the entry's local header (30 bytes + name +
 * extra, then the data). Sizes and offsets of 0xFFFFFFFF (0xFFFF for counts) are in zip64
 * records: the entry's extra field 0x0001, and the zip64 EOCD found through its locator
 * (20 bytes before the EOCD). numpy writes zip64 local headers (force_zip64) with a plain
 * central directory; only the central directory's sizes are trusted, and the local header
 * only gives where the data starts. */
#include "frontend/npz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    ZIP_LOCAL = 0x04034b50,
    ZIP_CENTRAL = 0x02014b50,
    ZIP_EOCD = 0x06054b50,
    ZIP64_EOCD = 0x06064b50,
    ZIP64_LOCATOR = 0x07064b50,
    NPZ_MAX_ENTRIES = 4096, /* a calibration set has one array per model input */
};

static uint32_t u16(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t u32(const unsigned char *p)
{
    return u16(p) | u16(p + 2) << 16;
}

static uint64_t u64(const unsigned char *p)
{
    return (uint64_t)u32(p) | (uint64_t)u32(p + 4) << 32;
}

/* Whether [off, off + n) lies within a buffer of len bytes. */
static bool within(uint64_t off, uint64_t n, size_t len)
{
    return off <= len && n <= len - off;
}

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t table[256]; /* built per call: 2K steps, and no shared state between threads */
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

bool fe_is_zip(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    return len >= 4 && (u32(p) == ZIP_LOCAL || u32(p) == ZIP_EOCD);
}

/* The central directory: its offset, size and entry count, from the (zip64) EOCD. */
static bool find_directory(const char *name, const unsigned char *p, size_t len, uint64_t *off,
                           uint64_t *size, uint64_t *count, Diag *d)
{
    if (len < 22)
        return fe_file_error(name, d, "not a .npz: %zu bytes is too short for a zip archive", len);
    size_t e = len - 22, stop = len - 22 > 65535 ? len - 22 - 65535 : 0;
    while (u32(p + e) != ZIP_EOCD || e + 22 + u16(p + e + 20) != len) {
        if (e == stop)
            return fe_file_error(name, d,
                                 "not a .npz: no zip end-of-central-directory record (truncated?)");
        e--;
    }
    if (u16(p + e + 4) || u16(p + e + 6) || u16(p + e + 8) != u16(p + e + 10))
        return fe_file_error(name, d, "a multi-part zip archive is not a .npz slimc reads");
    *count = u16(p + e + 10);
    *size = u32(p + e + 12);
    *off = u32(p + e + 16);
    if (*count == 0xFFFF || *size == 0xFFFFFFFFu || *off == 0xFFFFFFFFu) {
        if (e < 20 || u32(p + e - 20) != ZIP64_LOCATOR)
            return fe_file_error(name, d, "the zip64 end record's locator is missing");
        const uint64_t z = u64(p + e - 20 + 8);
        if (!within(z, 56, e - 20) || u32(p + z) != ZIP64_EOCD)
            return fe_file_error(name, d, "the zip64 end record is out of place (offset %llu)",
                                 (unsigned long long)z);
        if (u32(p + z + 16) || u32(p + z + 20) || u64(p + z + 24) != u64(p + z + 32))
            return fe_file_error(name, d, "a multi-part zip archive is not a .npz slimc reads");
        *count = u64(p + z + 32);
        *size = u64(p + z + 40);
        *off = u64(p + z + 48);
    }
    if (!within(*off, *size, e))
        return fe_file_error(
            name, d,
            "the zip central directory (offset %llu, %llu bytes) lies outside the file "
            "(%zu bytes; truncated?)",
            (unsigned long long)*off, (unsigned long long)*size, len);
    if (*count > NPZ_MAX_ENTRIES || *count * 46 > *size)
        return fe_file_error(name, d,
                             "the zip archive claims %llu entries in a %llu-byte directory",
                             (unsigned long long)*count, (unsigned long long)*size);
    return true;
}

/* One central directory entry at p + *at (within the directory [.., end)): the entry's
 * name, method, flags, CRC and sizes, and where its data starts; *at moves past it. */
typedef struct ZipEntry {
    const unsigned char *name;
    uint32_t name_len, method, flags, crc;
    uint64_t csize, usize, data;
} ZipEntry;

static bool read_entry(const char *name, const unsigned char *p, size_t len, uint64_t *at,
                       uint64_t end, int index, ZipEntry *z, Diag *d)
{
    const uint64_t c = *at;
    if (!within(c, 46, end) || u32(p + c) != ZIP_CENTRAL)
        return fe_file_error(name, d,
                             "zip directory entry %d is damaged (no header at offset %llu)", index,
                             (unsigned long long)c);
    z->flags = u16(p + c + 8);
    z->method = u16(p + c + 10);
    z->crc = u32(p + c + 16);
    z->csize = u32(p + c + 20);
    z->usize = u32(p + c + 24);
    z->name_len = u16(p + c + 28);
    const uint32_t xlen = u16(p + c + 30), clen = u16(p + c + 32);
    uint64_t local = u32(p + c + 42);
    if (!within(c + 46, (uint64_t)z->name_len + xlen + clen, end))
        return fe_file_error(name, d, "zip directory entry %d runs past the directory", index);
    z->name = p + c + 46;
    /* zip64: the sizes and offset that are 0xFFFFFFFF, in this order, in extra 0x0001 */
    const unsigned char *x = p + c + 46 + z->name_len, *xe = x + xlen;
    while (xe - x >= 4) {
        uint32_t id = u16(x), n = u16(x + 2);
        if ((uint64_t)(xe - x - 4) < n)
            return fe_file_error(name, d, "zip directory entry %d has a damaged extra field",
                                 index);
        if (id == 1) {
            const unsigned char *f = x + 4, *fe = f + n;
            uint64_t *want[3] = {&z->usize, &z->csize, &local};
            for (int k = 0; k < 3; k++)
                if (*want[k] == 0xFFFFFFFFu) {
                    if (fe - f < 8)
                        return fe_file_error(
                            name, d, "zip directory entry %d: its zip64 field is short", index);
                    *want[k] = u64(f);
                    f += 8;
                }
        }
        x += 4 + n;
    }
    *at = c + 46 + z->name_len + xlen + clen;
    if (!within(local, 30, len) || u32(p + local) != ZIP_LOCAL)
        return fe_file_error(
            name, d,
            "zip entry %d: its local header (offset %llu) is missing or outside the "
            "file (truncated?)",
            index, (unsigned long long)local);
    const uint32_t lname = u16(p + local + 26), lx = u16(p + local + 28);
    if (!within(local + 30, (uint64_t)lname + lx, len) || lname != z->name_len ||
        memcmp(p + local + 30, z->name, lname) != 0)
        return fe_file_error(name, d, "zip entry %d: its local header does not match the directory",
                             index);
    z->data = local + 30 + lname + lx;
    if (!within(z->data, z->csize, len))
        return fe_file_error(name, d,
                             "zip entry %d: its %llu bytes of data run past the end of the file "
                             "(truncated?)",
                             index, (unsigned long long)z->csize);
    return true;
}

bool fe_npz_parse(const char *name, const void *buf, size_t len, NpzEntry **out, int *n, Diag *d)
{
    const unsigned char *p = buf;
    uint64_t off = 0, size = 0, count = 0;
    *out = NULL;
    *n = 0;
    if (!find_directory(name, p, len, &off, &size, &count, d))
        return false;
    if (count == 0)
        return fe_file_error(name, d, "the .npz holds no arrays");
    NpzEntry *e = calloc((size_t)count, sizeof *e);
    if (!e)
        return fe_file_error(name, d, "out of memory for %llu entries", (unsigned long long)count);
    bool ok = true;
    uint64_t at = off;
    int got = 0;
    for (int i = 0; ok && i < (int)count; i++) {
        ZipEntry z;
        if (!(ok = read_entry(name, p, len, &at, off + size, i, &z, d)))
            break;
        const int nl = (int)z.name_len;
        if (nl < 5 || memcmp(z.name + nl - 4, ".npy", 4) != 0 || memchr(z.name, 0, (size_t)nl)) {
            ok = fe_file_error(name, d,
                               "entry '%.*s' is not a .npy array (a .npz holds NAME.npy entries)",
                               nl > 200 ? 200 : nl, (const char *)z.name);
            break;
        }
        if (z.flags & 1) {
            ok = fe_file_error(name, d, "entry '%.*s' is encrypted", nl, (const char *)z.name);
            break;
        }
        if (z.method == 8) {
            ok = fe_file_error(
                name, d,
                "entry '%.*s' is compressed (np.savez_compressed); slimc reads stored "
                "archives: save the arrays with np.savez",
                nl, (const char *)z.name);
            break;
        }
        if (z.method != 0 || z.csize != z.usize) {
            ok = fe_file_error(name, d,
                               "entry '%.*s' uses zip method %u; slimc reads stored entries only",
                               nl, (const char *)z.name, z.method);
            break;
        }
        if (crc32_of(p + z.data, (size_t)z.csize) != z.crc) {
            ok = fe_file_error(name, d, "entry '%.*s' fails its CRC-32 check (damaged file)", nl,
                               (const char *)z.name);
            break;
        }
        for (int k = 0; k < got; k++)
            if ((int)strlen(e[k].name) == nl - 4 && memcmp(e[k].name, z.name, (size_t)nl - 4) == 0)
                ok = fe_file_error(name, d, "entry '%.*s' appears twice", nl, (const char *)z.name);
        if (!ok)
            break;
        e[got].name = malloc((size_t)nl - 3);
        if (!e[got].name) {
            ok = fe_file_error(name, d, "out of memory");
            break;
        }
        memcpy(e[got].name, z.name, (size_t)nl - 4);
        e[got].name[nl - 4] = 0;
        char where[512];
        snprintf(where, sizeof where, "%s:%.*s", name, nl > 200 ? 200 : nl, (const char *)z.name);
        static const char empty[1];
        got++;
        ok = fe_npy_parse(where, z.csize ? (const void *)(p + z.data) : empty, (size_t)z.csize,
                          &e[got - 1].arr, d);
    }
    if (!ok) {
        fe_npz_free(e, got);
        return false;
    }
    *out = e;
    *n = got;
    return true;
}

bool fe_npz_read(const char *path, NpzEntry **out, int *n, Diag *d)
{
    void *map;
    size_t len;
    *out = NULL;
    *n = 0;
    if (!fe_map_file(path, &map, &len, d))
        return false;
    static const char empty[1];
    bool ok = fe_npz_parse(path, map ? map : empty, len, out, n, d);
    fe_unmap_file(map, len);
    return ok;
}

void fe_npz_free(NpzEntry *e, int n)
{
    for (int i = 0; e && i < n; i++) {
        free(e[i].name);
        fe_npy_free(&e[i].arr);
    }
    free(e);
}
