/* Prints the real and effective uid and gid (compiled as a setuid-root binary by the tests). */
#include <stdio.h>
#include <unistd.h>

int main(void) {
    printf("uid=%d euid=%d gid=%d egid=%d\n", (int)getuid(), (int)geteuid(), (int)getgid(),
           (int)getegid());
    return geteuid() == 0 ? 42 : 0;
}
