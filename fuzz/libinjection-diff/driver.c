/* The C side of the libinjection differential check (run.sh): reads inputs from standard
 * input, one per line as hex, and prints "hex<TAB>sqli<TAB>fingerprint<TAB>xss" for each,
 * from the C libinjection's convenience calls (libinjection_sqli with no flags,
 * libinjection_xss), the same line format as the Rust example libinjection_lines. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libinjection.h"

static int digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int main(void) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned char *buf = NULL;
    size_t buf_cap = 0;
    while ((len = getline(&line, &cap, stdin)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len % 2 != 0) continue;
        size_t n = (size_t)len / 2;
        if (n + 1 > buf_cap) {
            buf_cap = n + 1;
            buf = realloc(buf, buf_cap);
            if (buf == NULL) return 1;
        }
        int ok = 1;
        for (size_t i = 0; i < n; i++) {
            int hi = digit(line[2 * i]), lo = digit(line[2 * i + 1]);
            if (hi < 0 || lo < 0) { ok = 0; break; }
            buf[i] = (unsigned char)(hi << 4 | lo);
        }
        if (!ok) continue;
        char fingerprint[8];
        memset(fingerprint, 0, sizeof fingerprint);
        int sqli = libinjection_sqli((const char *)buf, n, fingerprint);
        int xss = libinjection_xss((const char *)buf, n);
        printf("%s\t%d\t%s\t%d\n", line, sqli ? 1 : 0, sqli ? fingerprint : "", xss ? 1 : 0);
    }
    free(line);
    free(buf);
    return 0;
}
