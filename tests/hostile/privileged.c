/* Tries one privileged or cross-process operation, named by argv[1]; prints
 * "<op> refused <errno name>" or "<op> SUCCEEDED". Exit code 0 if refused, 42 if it worked.
 *   ptrace PID    PTRACE_ATTACH to PID          kill PID     kill(PID, SIGKILL)
 *   vmread PID    process_vm_readv from PID     mount        mount a tmpfs on /box/mnt
 *   chroot        chroot("/box")                userns       unshare(CLONE_NEWUSER)
 *   cloneuser     clone a child in a new user namespace
 *   netns         unshare(CLONE_NEWNET)         mountns      unshare(CLONE_NEWNS)
 *   setuid0       setuid(0)                     sethostname  sethostname("pwned") */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static char child_stack[64 * 1024];

static int child(void *arg) {
    (void)arg;
    return 0;
}

static int report(const char *op, int rc) {
    if (rc == -1) {
        printf("%s refused %s\n", op, strerrorname_np(errno) ? strerrorname_np(errno) : "?");
        return 0;
    }
    printf("%s SUCCEEDED\n", op);
    return 42;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *op = argv[1];
    pid_t pid = argc > 2 ? (pid_t)atoi(argv[2]) : 0;
    if (!strcmp(op, "ptrace")) return report(op, (int)ptrace(PTRACE_ATTACH, pid, NULL, NULL));
    if (!strcmp(op, "kill")) return report(op, kill(pid, SIGKILL));
    if (!strcmp(op, "vmread")) {
        char buf[64];
        struct iovec local = {buf, sizeof buf}, remote = {(void *)0x400000, sizeof buf};
        return report(op, (int)process_vm_readv(pid, &local, 1, &remote, 1, 0));
    }
    if (!strcmp(op, "mount")) {
        mkdir("/box/mnt", 0755);
        return report(op, mount("none", "/box/mnt", "tmpfs", 0, NULL));
    }
    if (!strcmp(op, "chroot")) return report(op, chroot("/box"));
    if (!strcmp(op, "userns")) return report(op, unshare(CLONE_NEWUSER));
    if (!strcmp(op, "cloneuser")) {
        int c = clone(child, child_stack + sizeof child_stack, CLONE_NEWUSER | SIGCHLD, NULL);
        if (c > 0) waitpid(c, NULL, 0);
        return report(op, c > 0 ? 0 : -1);
    }
    if (!strcmp(op, "netns")) return report(op, unshare(CLONE_NEWNET));
    if (!strcmp(op, "mountns")) return report(op, unshare(CLONE_NEWNS));
    if (!strcmp(op, "setuid0")) return report(op, setuid(0));
    if (!strcmp(op, "sethostname")) return report(op, sethostname("pwned", 5));
    return 2;
}
