/* rt_cubin_shared_bytes (runtime/cubin_info.h): the ELF64 section headers of a cubin. */
#include "runtime/cubin_info.h"

#include <elf.h>
#include <string.h>

/* Section header i of the image, bounds checked. */
static bool section(const unsigned char *data, size_t len, const Elf64_Ehdr *eh, unsigned i,
                    Elf64_Shdr *sh)
{
    if (eh->e_shentsize < sizeof *sh || i >= eh->e_shnum)
        return false;
    size_t at = (size_t)eh->e_shoff + (size_t)i * eh->e_shentsize;
    if (eh->e_shoff > len || at > len || len - at < sizeof *sh)
        return false;
    memcpy(sh, data + at, sizeof *sh);
    return true;
}

bool rt_cubin_shared_bytes(const unsigned char *data, size_t len, const char *kernel, size_t *bytes)
{
    *bytes = 0;
    Elf64_Ehdr eh;
    if (len < sizeof eh || memcmp(data, ELFMAG, SELFMAG) != 0 || data[EI_CLASS] != ELFCLASS64)
        return false;
    memcpy(&eh, data, sizeof eh);
    Elf64_Shdr strs;
    if (!section(data, len, &eh, eh.e_shstrndx, &strs) || strs.sh_offset > len ||
        strs.sh_size > len - strs.sh_offset)
        return false;
    const char *names = (const char *)data + strs.sh_offset;
    static const char prefix[] = ".nv.shared.";
    const size_t plen = sizeof prefix - 1, klen = strlen(kernel);
    for (unsigned i = 0; i < eh.e_shnum; i++) {
        Elf64_Shdr sh;
        if (!section(data, len, &eh, i, &sh))
            return false;
        if (sh.sh_name >= strs.sh_size || strs.sh_size - sh.sh_name < plen + klen + 1)
            continue;
        const char *n = names + sh.sh_name;
        if (!memcmp(n, prefix, plen) && !memcmp(n + plen, kernel, klen) && n[plen + klen] == 0) {
            *bytes = (size_t)sh.sh_size;
            return true;
        }
    }
    return true;
}
