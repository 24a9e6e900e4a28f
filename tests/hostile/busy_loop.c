/* Busy loop on argv[1] threads (default 1): burns cpu time and never ends. */
#include <pthread.h>
#include <stdlib.h>

static void *spin(void *arg) {
    volatile unsigned long n = 0;
    (void)arg;
    for (;;) n++;
    return NULL;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    for (int i = 1; i < threads; i++) {
        pthread_t t;
        pthread_create(&t, NULL, spin, NULL);
    }
    spin(NULL);
}
