/* stderr_split.c: distinct bytes on stdout and stderr, checked separately.
 *
 * stdout gets "out:" 0x00 0xff "\n" then 256 bytes 0..255 then "out-end\n";
 * stderr gets "err:" 0xff 0x00 "\n" then 256 bytes 255..0 then "err-end\n".
 * Raw write(2) calls, interleaved. Exit 0.
 */
#include <unistd.h>

static int put(int fd, const void *p, size_t n)
{
    return write(fd, p, n) == (ssize_t)n ? 0 : 1;
}

int main(void)
{
    unsigned char up[256], down[256];
    for (int i = 0; i < 256; i++) {
        up[i] = (unsigned char)i;
        down[i] = (unsigned char)(255 - i);
    }
    int bad = 0;
    bad |= put(1, "out:\0\xff\n", 7);
    bad |= put(2, "err:\xff\0\n", 7);
    bad |= put(1, up, sizeof up);
    bad |= put(2, down, sizeof down);
    bad |= put(2, "err-end\n", 8);
    bad |= put(1, "out-end\n", 8);
    return bad;
}
