/* Writes 64 KiB blocks forever: to stdout ("-"), stderr ("--") or to the file argv[1].
 * SIGXFSZ keeps its default action (the kernel kills the program at the file size limit). */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    static char block[64 * 1024];
    memset(block, 'A', sizeof block);
    const char *where = argc > 1 ? argv[1] : "-";
    int fd = !strcmp(where, "-") ? 1 : !strcmp(where, "--") ? 2
           : open(where, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return 3;
    for (;;) {
        if (write(fd, block, sizeof block) < 0) return 4;
    }
}
