/* Thread bomb: create threads until the kernel refuses, then keep trying, forever. Each thread
 * appends one byte to argv[1] and sleeps, so the file's size counts live threads (main aside). */
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

static int fd = -1;

static void *sleeper(void *arg) {
    (void)arg;
    if (fd >= 0 && write(fd, "t", 1) != 1) { /* nothing to do */ }
    for (;;) pause();
    return NULL;
}

int main(int argc, char **argv) {
    fd = open(argc > 1 ? argv[1] : "threads", O_WRONLY | O_CREAT | O_APPEND, 0644);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    for (;;) {
        pthread_t t;
        pthread_create(&t, &attr, sleeper, NULL);
    }
}
