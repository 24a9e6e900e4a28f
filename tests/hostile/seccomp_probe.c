/* Makes one system call that the launcher's seccomp filter denies, named by argv[1], with
 * arguments that would work (or fail differently) without the filter. Prints
 * "<name> refused <errno name>" or "<name> SUCCEEDED"; exit code 0 if refused, 42 if it worked.
 * Run it without a name to list the names. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/bpf.h>
#include <linux/sched.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long sys_unshare_user(void) { return unshare(CLONE_NEWUSER); }
static long sys_unshare_mount(void) { return unshare(CLONE_NEWNS); }
static long sys_clone_newuser(void) {
    long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid((pid_t)pid, NULL, 0);
    return pid;
}
static long sys_clone3(void) {
    struct clone_args args = {0};
    args.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid((pid_t)pid, NULL, 0);
    return pid;
}
static long sys_setns(void) {
    int fd = open("/proc/self/ns/uts", O_RDONLY);
    return setns(fd, 0);
}
static long sys_mount(void) { return mount("none", "/tmp", "tmpfs", 0, NULL); }
static long sys_umount2(void) { return umount2("/tmp", MNT_DETACH); }
static long sys_pivot_root(void) { return syscall(SYS_pivot_root, "/tmp", "/tmp"); }
static long sys_chroot(void) { return chroot("/box"); }
static long sys_fsopen(void) { return syscall(SYS_fsopen, "tmpfs", 0); }
static long sys_open_tree(void) { return syscall(SYS_open_tree, AT_FDCWD, "/tmp", 1 /* OPEN_TREE_CLONE */); }
static long sys_name_to_handle_at(void) {
    struct { struct file_handle h; unsigned char data[128]; } fh;
    int mount_id;
    fh.h.handle_bytes = 128;
    return name_to_handle_at(AT_FDCWD, "/box", &fh.h, &mount_id, 0);
}
static long sys_ptrace(void) { return ptrace(PTRACE_TRACEME, 0, NULL, NULL); }
static long sys_process_vm_readv(void) {
    char src[8] = "secret", dst[8];
    struct iovec local = {dst, sizeof dst}, remote = {src, sizeof src};
    return process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
}
static long sys_kcmp(void) { return syscall(SYS_kcmp, getpid(), getpid(), 0 /* KCMP_FILE */, 1, 1); }
static long sys_pidfd_getfd(void) {
    int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    return syscall(SYS_pidfd_getfd, pidfd, 1, 0);
}
static long sys_bpf(void) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 4;
    attr.max_entries = 1;
    return syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
}
static long sys_perf_event_open(void) {
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    return syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
}
static long sys_userfaultfd(void) { return syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */); }
static long sys_keyctl(void) { return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 1); }
static long sys_add_key(void) { return syscall(SYS_add_key, "user", "assay", "x", 1, KEY_SPEC_PROCESS_KEYRING); }
static long sys_request_key(void) { return syscall(SYS_request_key, "user", "assay", NULL, KEY_SPEC_PROCESS_KEYRING); }
static long sys_io_uring_setup(void) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    return syscall(SYS_io_uring_setup, 4, &p);
}
static long sys_syslog(void) { return syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0); }
static long sys_init_module(void) { return syscall(SYS_init_module, "", 0, ""); }
static long sys_finit_module(void) { return syscall(SYS_finit_module, 0, "", 0); }
static long sys_delete_module(void) { return syscall(SYS_delete_module, "assay", 0); }
static long sys_kexec_load(void) { return syscall(SYS_kexec_load, 0, 0, NULL, 0); }
static long sys_kexec_file_load(void) { return syscall(SYS_kexec_file_load, -1, -1, 0, "", 2); }
static long sys_reboot(void) { return syscall(SYS_reboot, 0, 0, 0, NULL); }
static long sys_swapon(void) { return syscall(SYS_swapon, "/box/swap", 0); }
static long sys_acct(void) { return syscall(SYS_acct, NULL); }
static long sys_iopl(void) { return syscall(SYS_iopl, 3); }
static long sys_ioperm(void) { return syscall(SYS_ioperm, 0x80, 1, 1); }
static long sys_clock_settime(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return clock_settime(CLOCK_REALTIME, &ts);
}
static long sys_adjtimex(void) {
    struct timex t;
    memset(&t, 0, sizeof t);
    return adjtimex(&t);
}
static long sys_fanotify_init(void) { return syscall(SYS_fanotify_init, 0, 0); }

static const struct { const char *name; long (*call)(void); } calls[] = {
    {"unshare-user", sys_unshare_user}, {"unshare-mount", sys_unshare_mount},
    {"clone-newuser", sys_clone_newuser}, {"clone3", sys_clone3}, {"setns", sys_setns},
    {"mount", sys_mount}, {"umount2", sys_umount2}, {"pivot_root", sys_pivot_root},
    {"chroot", sys_chroot}, {"fsopen", sys_fsopen}, {"open_tree", sys_open_tree},
    {"name_to_handle_at", sys_name_to_handle_at}, {"ptrace", sys_ptrace},
    {"process_vm_readv", sys_process_vm_readv}, {"kcmp", sys_kcmp},
    {"pidfd_getfd", sys_pidfd_getfd}, {"bpf", sys_bpf}, {"perf_event_open", sys_perf_event_open},
    {"userfaultfd", sys_userfaultfd}, {"keyctl", sys_keyctl}, {"add_key", sys_add_key},
    {"request_key", sys_request_key}, {"io_uring_setup", sys_io_uring_setup},
    {"syslog", sys_syslog}, {"init_module", sys_init_module}, {"finit_module", sys_finit_module},
    {"delete_module", sys_delete_module}, {"kexec_load", sys_kexec_load},
    {"kexec_file_load", sys_kexec_file_load}, {"reboot", sys_reboot}, {"swapon", sys_swapon},
    {"acct", sys_acct}, {"iopl", sys_iopl}, {"ioperm", sys_ioperm},
    {"clock_settime", sys_clock_settime}, {"adjtimex", sys_adjtimex},
    {"fanotify_init", sys_fanotify_init},
};

int main(int argc, char **argv) {
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        if (argc < 2) {
            puts(calls[i].name);
            continue;
        }
        if (strcmp(argv[1], calls[i].name) != 0) continue;
        errno = 0;
        if (calls[i].call() == -1) {
            printf("%s refused %s\n", argv[1], strerrorname_np(errno) ? strerrorname_np(errno) : "?");
            return 0;
        }
        printf("%s SUCCEEDED\n", argv[1]);
        return 42;
    }
    return argc < 2 ? 0 : 2;
}
