/*
 * floor: the speed floor for offline analysis.  A bare pcap_next_ex() loop
 * over a capture file that touches each packet's length (and its first
 * byte, so the data is really read), nothing else.
 *
 *   floor FILE
 *
 * Prints "packets N bytes N" on stdout.
 */

#define _DEFAULT_SOURCE /* u_char and friends in <pcap/pcap.h> */

#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>


int
main(int argc, char **argv)
{
    char                 err[PCAP_ERRBUF_SIZE];
    pcap_t              *p;
    struct pcap_pkthdr  *h;
    const u_char        *data;
    uint64_t             packets = 0, bytes = 0, x = 0;
    int                  rc;

    if (argc != 2) {
        fprintf(stderr, "usage: floor FILE\n");
        return 2;
    }
    p = pcap_open_offline(argv[1], err);
    if (p == NULL) {
        fprintf(stderr, "floor: %s: %s\n", argv[1], err);
        return 2;
    }
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        packets++;
        bytes += h->len;
        if (h->caplen > 0) {
            x += data[0];
        }
    }
    if (rc == PCAP_ERROR) {
        fprintf(stderr, "floor: %s: %s\n", argv[1], pcap_geterr(p));
    }
    pcap_close(p);
    printf("packets %llu bytes %llu check %llu\n",
           (unsigned long long) packets, (unsigned long long) bytes,
           (unsigned long long) (x & 1));
    return rc == PCAP_ERROR ? 1 : 0;
}
