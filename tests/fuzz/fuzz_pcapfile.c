/*
 * libFuzzer harness for pcapfile against libpcap: the input is a capture
 * file, read by libpcap from memory (fmemopen + pcap_fopen_offline, as
 * fuzz_pipeline.c) and by pcapfile with the bytes handed over in chunks
 * of pseudo-random sizes (seeded from the input, so a crash reproduces),
 * so that records are cut at every place.  Any difference in packets,
 * timestamps, caplen/len, data, end of file or error text aborts
 * (tests/pcapfile_diff.h does the comparing).
 *
 * Built by tests/meson.build with -Dfuzz=true (clang only).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../pcapfile_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* FNV-1a: the chunk sizes depend on every byte of the input. */
static uint32_t
hash(const uint8_t *data, size_t size)
{
    uint32_t  h = 2166136261u;
    size_t    i;

    for (i = 0; i < size; i++) {
        h = (h ^ data[i]) * 16777619u;
    }
    return h;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reader_diff_res  res;
    char                    why[READER_DIFF_WHY];
    uint32_t                seed;
    int                     i;

    seed = hash(data, size);
    /* two chunkings per input: one is rarely the unlucky one */
    for (i = 0; i < 2; i++) {
        if (pcapfile_diff(data, size, seed + (uint32_t) i, &res, why)
            != 0)
        {
            fprintf(stderr, "pcapfile and libpcap differ: %s\n", why);
            abort();
        }
    }
    return 0;
}
