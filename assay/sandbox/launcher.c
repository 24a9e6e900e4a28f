/*
 * assay-launcher: the sandbox of a root tester (assay/sandbox/launcher.py).
 *
 * Each tester process starts one server (`--serve`, at the bottom). For each VM (a box the
 * tester runs commands in, one after another) the server forks a launcher, whose pid 1 sets the
 * box up once and then stays, forking one command per run request the tester sends it over the
 * VM's own socket ("vm CTRL-FD"): a run costs a fork and an exec, no namespaces and no mounts
 * but a fresh /tmp, made while no run is going. (`assay-launcher CONFIG-FD` runs one command in
 * a box of its own, its configuration in a memfd: for debugging.) Nothing of the host shows in
 * the box's /proc/1/cmdline. The process tree of a VM:
 *
 *   launcher (root, in the tester's cgroups and namespaces)
 *   |  clone() with new mount, pid, ipc, uts and net namespaces; waits for pid 1
 *   +- pid 1 (root, in the new namespaces, outside the runs' cgroups: nothing it does is
 *      |      charged to a program): loopback up; a tmpfs root with read-only binds of /usr and
 *      |      /etc, /box read-write, /proc, /dev with 6 harmless devices, /tmp tmpfs;
 *      |      pivot_root; / read-only; hostname; then a run per request
 *      +- a run's command: a new IPC namespace; born in the run's cgroup (cgroup v2: clone3
 *         with CLONE_INTO_CGROUP; v1: it writes itself into cgroup.procs), a cgroup namespace
 *         rooted there, rlimits, a new session, no capabilities (bounding set emptied), the
 *         box uid and gid, no groups, no_new_privs, the seccomp filter, exec.
 *
 * When a command ends, pid 1 writes its status on the run's status pipe; the tester then kills
 * whatever is left in the run's cgroup. When the tester closes the VM's socket (or dies), pid 1
 * exits and the kernel kills whatever is left in the pid namespace.
 *
 * The status pipe (one line per event) tells the tester what happened, so that a failure of
 * the launcher is never mistaken for the program's:
 *   pid1 PID            the host pid of pid 1 (written by the launcher after clone; not in
 *                       a VM, whose status pipe only says "ready" when the box is set up)
 *   error MESSAGE       the launcher failed before the command ran: the sandbox's fault (XX)
 *   exec ERRNO          the command could not be executed (not found, not executable)
 *   exit CODE | signal N   how the command ended
 *
 * Configuration: NUL-separated words, a keyword then its fixed number of arguments:
 *   status FD | uid N | gid N | root DIR | tmp BYTES | netns FD | cgroup-procs FD |
 *   cgroup-dir FD | ro SRC DST | rw SRC DST (mounted in this order) | link TARGET PATH | mask DST |
 *   rlimit RESOURCE SOFT HARD | env KEY=VALUE | cwd DIR | seccomp 0|1 | seccomp-bpf FD |
 *   parent PID (the tester: the run dies with it) | timing 0|1 | command N ARG... |
 *   vm CTRL-FD (a VM: no command; its runs' requests name status, tmp, cgroup-*, rlimit, env,
 *   cwd, timing and command, see "a VM" below)
 * seccomp-bpf: a descriptor of the filter as `assay-launcher --print-seccomp-filter` prints it
 * (compiling it with libseccomp costs ~0.6 ms, too much for every run).
 * Sizes and limits are decimal; "inf" is RLIM_INFINITY.
 *
 * The seccomp filter (deny_rules below) makes calls no submission needs fail with EPERM:
 * namespaces, mounts, tracing, kernel keyrings, bpf, perf, userfaultfd, io_uring, modules,
 * kexec, ... ; clone3 fails with ENOSYS so that the C library falls back to clone, whose flags
 * the filter can inspect. A system call of another architecture (i386 int 0x80, x32) kills
 * the process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ITEMS 64
#define SERVE_FD_BASE 10 /* where a request's descriptors land after stdin, stdout, stderr */
#define SERVE_MAX_FDS 16
#define MAX_CONFIG (1 << 20)

extern char **environ;

struct pair { char *a, *b; };
struct rlim { int resource; struct rlimit value; };

static int status_fd = -1, uid = -1, gid = -1, netns_fd = -1, cgroup_dir_fd = -1, use_seccomp = 1;
static int seccomp_bpf_fd = -1, parent = -1, timing, vm_ctrl = -1;
static struct sock_filter bpf[4096];
static struct sock_fprog bpf_prog;
static int cgroup_procs[8], ncgroup_procs;
static long tmp_bytes = 64L << 20;
static char *root, *cwd = "/box";
struct bind { char *src, *dst; int readonly; };
static struct bind binds[MAX_ITEMS];
static struct pair links[MAX_ITEMS];
static char *masks[MAX_ITEMS], *envs[MAX_ITEMS + 1], **command;
static struct rlim rlims[16];
static int nbinds, nlinks, nmasks, nenvs, nrlims;

/* -- reporting ---------------------------------------------------------------------------- */

static void report(const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (n > (int)sizeof line - 2) n = sizeof line - 2;
    line[n++] = '\n';
    if (status_fd >= 0) (void)!write(status_fd, line, n);
    else (void)!write(2, line, n);
}

/* with "timing 1": "t LABEL NANOSECONDS" (CLOCK_MONOTONIC) on the status pipe, for benchmarks */
static void mark(const char *label) {
    if (!timing) return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    report("t %s %lld", label, (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

/* a failure of the launcher itself: reported as "error ..." and never as the program's */
static void fail(const char *fmt, ...) {
    char msg[768];
    int e = errno;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (e) report("error %s: %s", msg, strerror(e));
    else report("error %s", msg);
    _exit(255);
}

/* -- configuration ------------------------------------------------------------------------ */

static char *words[4096];
static int nwords, next_word;

static char *word(const char *key) {
    if (next_word >= nwords) { errno = 0; fail("configuration: %s needs more arguments", key); }
    return words[next_word++];
}

static long number(const char *key) {
    char *w = word(key), *end;
    if (strcmp(w, "inf") == 0) return (long)RLIM_INFINITY;
    errno = 0;
    long v = strtol(w, &end, 10);
    if (errno || *end || end == w) { errno = 0; fail("configuration: %s: bad number %s", key, w); }
    return v;
}

static char config_buf[MAX_CONFIG];

static void parse_config(char *buf, size_t len);

static void read_config(int fd) {
    size_t len = 0;
    ssize_t n;
    while ((n = read(fd, config_buf + len, sizeof config_buf - 1 - len)) > 0) len += n;
    if (n < 0) fail("read the configuration");
    close(fd);
    config_buf[len] = 0;
    parse_config(config_buf, len);
}

static void parse_config(char *buf, size_t len) {
    for (size_t i = 0; i < len; i += strlen(buf + i) + 1) {
        if (nwords == (int)(sizeof words / sizeof words[0])) { errno = 0; fail("configuration too long"); }
        words[nwords++] = buf + i;
    }
    while (next_word < nwords) {
        char *key = words[next_word++];
#define IS(k) (strcmp(key, k) == 0)
#define ROOM(n) do { if ((n) >= MAX_ITEMS) { errno = 0; fail("configuration: too many %s", key); } } while (0)
        if (IS("status")) status_fd = (int)number(key);
        else if (IS("uid")) uid = (int)number(key);
        else if (IS("gid")) gid = (int)number(key);
        else if (IS("root")) root = word(key);
        else if (IS("tmp")) tmp_bytes = number(key);
        else if (IS("netns")) netns_fd = (int)number(key);
        else if (IS("cgroup-dir")) cgroup_dir_fd = (int)number(key);
        else if (IS("cgroup-procs")) {
            if (ncgroup_procs == 8) { errno = 0; fail("configuration: too many cgroups"); }
            cgroup_procs[ncgroup_procs++] = (int)number(key);
        } else if (IS("ro") || IS("rw")) {
            ROOM(nbinds);
            binds[nbinds].readonly = IS("ro");
            binds[nbinds].src = word(key);
            binds[nbinds++].dst = word(key);
        }
        else if (IS("link")) { ROOM(nlinks); links[nlinks].a = word(key); links[nlinks++].b = word(key); }
        else if (IS("mask")) { ROOM(nmasks); masks[nmasks++] = word(key); }
        else if (IS("env")) { ROOM(nenvs); envs[nenvs++] = word(key); }
        else if (IS("cwd")) cwd = word(key);
        else if (IS("seccomp")) use_seccomp = (int)number(key);
        else if (IS("seccomp-bpf")) seccomp_bpf_fd = (int)number(key);
        else if (IS("parent")) parent = (int)number(key);
        else if (IS("timing")) timing = (int)number(key);
        else if (IS("vm")) vm_ctrl = (int)number(key);
        else if (IS("rlimit")) {
            if (nrlims == 16) { errno = 0; fail("configuration: too many rlimits"); }
            rlims[nrlims].resource = (int)number(key);
            rlims[nrlims].value.rlim_cur = (rlim_t)number(key);
            rlims[nrlims++].value.rlim_max = (rlim_t)number(key);
        } else if (IS("command")) {
            long n = number(key);
            if (n < 1 || n > nwords - next_word) { errno = 0; fail("configuration: bad command"); }
            command = calloc(n + 1, sizeof *command);
            if (!command) fail("calloc");
            for (long i = 0; i < n; i++) command[i] = words[next_word++];
        } else { errno = 0; fail("configuration: unknown keyword %s", key); }
    }
    if (!root || uid <= 0 || gid <= 0 || (!command && vm_ctrl < 0)) {
        errno = 0;
        fail("configuration: root, uid, gid and command are required");
    }
}

/* -- the box's file system (in pid 1, in its own mount namespace) -------------------------- */

static char path_buf[4096];

static char *in_root(const char *p) {
    if ((size_t)snprintf(path_buf, sizeof path_buf, "%s%s", root, p) >= sizeof path_buf) {
        errno = 0;
        fail("path too long: %s", p);
    }
    return path_buf;
}

static void mkdirs(char *path, int leaf_is_file) { /* mkdir -p in the new root's tmpfs */
    for (char *p = path + strlen(root) + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(path, 0755) < 0 && errno != EEXIST) fail("mkdir %s", path);
            *p = '/';
        }
    }
    if (leaf_is_file) {
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) fail("create %s", path);
        close(fd);
    } else if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        fail("mkdir %s", path);
    }
}

static void bind_mount(struct bind *b) {
    struct stat st;
    if (stat(b->src, &st) < 0) fail("bind %s", b->src);
    char *dst = in_root(b->dst);
    mkdirs(dst, !S_ISDIR(st.st_mode));
    if (mount(b->src, dst, NULL, MS_BIND | MS_REC, NULL) < 0) fail("bind %s", b->src);
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV;
    if (mount(NULL, dst, NULL, flags | (b->readonly ? MS_RDONLY : 0), NULL) < 0)
        fail("remount %s", b->dst);
}

static void make_devices(void) {
    static const struct { const char *name; int major, minor; } devs[] = {
        {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9},
        {"tty", 5, 0},
    };
    static const char *dev_links[][2] = {
        {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
        {"/proc/self/fd/2", "stderr"}, {"/proc/kcore", "core"}, {"/tmp", "shm"},
    };
    char *d = in_root("/dev");
    mkdirs(d, 0);
    char p[4200];
    for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
        snprintf(p, sizeof p, "%s/dev/%s", root, devs[i].name);
        if (mknod(p, S_IFCHR | 0666, makedev(devs[i].major, devs[i].minor)) < 0) fail("mknod %s", p);
        if (chmod(p, 0666) < 0) fail("chmod %s", p); /* the umask */
    }
    for (size_t i = 0; i < sizeof dev_links / sizeof dev_links[0]; i++) {
        snprintf(p, sizeof p, "%s/dev/%s", root, dev_links[i][1]);
        if (symlink(dev_links[i][0], p) < 0) fail("symlink %s", p);
    }
}

/* a fresh, empty /tmp of tmp_bytes */
static int mount_tmp(const char *p) {
    char opts[64];
    snprintf(opts, sizeof opts, "size=%ld,nr_inodes=%ld,mode=1777", tmp_bytes,
             tmp_bytes / 4096 > 1024 ? tmp_bytes / 4096 : 1024);
    return mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV, opts);
}

static void setup_root(void) {
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) fail("make / private");
    /* device nodes live in the root tmpfs (no nodev there); it is made read-only at the end */
    if (mount("tmpfs", root, "tmpfs", MS_NOSUID, "size=1m,nr_inodes=4096,mode=0755") < 0)
        fail("tmpfs root");
    for (int i = 0; i < nbinds; i++) bind_mount(&binds[i]);
    for (int i = 0; i < nmasks; i++) {
        char *p = in_root(masks[i]);
        if (mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
                  "size=4k,nr_inodes=1,mode=0755") < 0 && errno != ENOENT)
            fail("mask %s", masks[i]);
    }
    for (int i = 0; i < nlinks; i++) {
        char *p = in_root(links[i].b);
        if (symlink(links[i].a, p) < 0) fail("symlink %s", links[i].b);
    }
    char *p = in_root("/proc");
    mkdirs(p, 0);
    if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) fail("mount /proc");
    p = in_root("/tmp");
    mkdirs(p, 0);
    if (mount_tmp(p) < 0) fail("tmpfs /tmp");
    make_devices();
    if (chdir(root) < 0) fail("chdir to the new root");
    if (syscall(SYS_pivot_root, ".", ".") < 0) fail("pivot_root");
    if (umount2(".", MNT_DETACH) < 0) fail("detach the old root");
    if (chdir("/") < 0) fail("chdir /");
    if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID, NULL) < 0)
        fail("remount / read-only");
}

/* -- the seccomp filter ------------------------------------------------------------------- */

static const char *const deny_rules[] = {
    /* namespaces and mounts: a way out of the box, or kernel attack surface */
    "unshare", "setns", "mount", "umount", "umount2", "pivot_root", "chroot", "move_mount",
    "open_tree", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    "open_by_handle_at", "name_to_handle_at",
    /* tracing and reading other processes */
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    /* kernel interfaces no submission needs */
    "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "fanotify_init",
    "lookup_dcookie", "syslog", "acct", "quotactl", "quotactl_fd", "swapon", "swapoff",
    "reboot", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "iopl", "ioperm", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "sethostname", "setdomainname", "vhangup", "uselib", "nfsservctl",
};

static const uint64_t ns_flags[] = {
    CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS,
    CLONE_NEWCGROUP, 0x80 /* CLONE_NEWTIME */,
};

static scmp_filter_ctx build_seccomp(void) {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) return NULL;
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    for (size_t i = 0; rc == 0 && i < sizeof deny_rules / sizeof deny_rules[0]; i++) {
        int nr = seccomp_syscall_resolve_name(deny_rules[i]);
        if (nr != __NR_SCMP_ERROR) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
    }
    for (size_t i = 0; rc == 0 && i < sizeof ns_flags / sizeof ns_flags[0]; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
    if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    /* pushing characters into a terminal's input */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX));
    if (rc != 0) {
        seccomp_release(ctx);
        errno = -rc;
        return NULL;
    }
    return ctx;
}

/* the filter compiled by the tester once (--print-seccomp-filter), or compiled now */
static int load_seccomp(void) {
    if (bpf_prog.len) return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &bpf_prog);
    scmp_filter_ctx ctx = build_seccomp();
    if (!ctx) return -1;
    int rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc != 0) errno = -rc;
    return rc ? -1 : 0;
}

static void read_seccomp_bpf(void) {
    ssize_t n = pread(seccomp_bpf_fd, bpf, sizeof bpf, 0);
    if (n <= 0 || n % sizeof bpf[0] || n == sizeof bpf) fail("read the seccomp filter");
    bpf_prog.len = (unsigned short)(n / sizeof bpf[0]);
    bpf_prog.filter = bpf;
    close(seccomp_bpf_fd);
}

/* -- the command (a child of pid 1) ------------------------------------------------------- */

static int exec_pipe[2];

/* report why the command could not start to pid 1, then give up */
static void child_fail(int stage) {
    int msg[2] = {stage, errno};
    (void)!write(exec_pipe[1], msg, sizeof msg);
    _exit(127);
}

enum { STAGE_CGROUP = 1, STAGE_RLIMIT, STAGE_SESSION, STAGE_CAPS, STAGE_IDS, STAGE_NNP,
       STAGE_CWD, STAGE_SECCOMP, STAGE_EXEC };
static const char *const stage_names[] = {
    "", "join the cgroup", "set the rlimits", "start a session", "drop capabilities",
    "drop to the box uid", "set no_new_privs", "enter the working directory",
    "load the seccomp filter", "exec",
};

static void run_command(void) {
    for (int i = 0; i < ncgroup_procs; i++) {
        if (write(cgroup_procs[i], "0", 1) != 1) child_fail(STAGE_CGROUP);
    }
    if (unshare(CLONE_NEWCGROUP) < 0) child_fail(STAGE_CGROUP);
    for (int i = 0; i < nrlims; i++)
        if (setrlimit(rlims[i].resource, &rlims[i].value) < 0) child_fail(STAGE_RLIMIT);
    if (setsid() < 0) child_fail(STAGE_SESSION);
    for (int cap = 0; cap <= 63; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) child_fail(STAGE_CAPS);
    if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
        child_fail(STAGE_IDS);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) child_fail(STAGE_NNP);
    if (chdir(cwd) < 0) child_fail(STAGE_CWD);
    /* nothing of the launcher's reaches the program: every descriptor above 2 closes on exec */
    if (syscall(SYS_close_range, 3, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */) < 0) {
        for (int fd = 3; fd < 1024; fd++)
            if (fd != exec_pipe[1]) close(fd);
    }
    mark("exec");
    if (use_seccomp && load_seccomp() != 0) child_fail(STAGE_SECCOMP);
    envs[nenvs] = NULL;
    environ = envs; /* execvp searches the box's PATH */
    execvp(command[0], command);
    child_fail(STAGE_EXEC);
}

/* After forking the command: wait until it has exec'd (0), or report on the status pipe why it
 * never ran ("exec ERRNO", or "error STAGE: ..."), reap it and return the failed stage. */
static int command_started(pid_t child) {
    close(exec_pipe[1]);
    int msg[2];
    ssize_t n;
    while ((n = read(exec_pipe[0], msg, sizeof msg)) < 0 && errno == EINTR) {}
    close(exec_pipe[0]);
    if (n != (ssize_t)sizeof msg) return 0;
    int st;
    while (waitpid(child, &st, 0) < 0 && errno == EINTR) {}
    if (msg[0] == STAGE_EXEC) report("exec %d", msg[1]);
    else report("error %s: %s", msg[0] > 0 && msg[0] < STAGE_EXEC ? stage_names[msg[0]] : "start the command", strerror(msg[1]));
    return msg[0] > 0 ? msg[0] : STAGE_EXEC + 1;
}

static pid_t start_command(void) {
    if (cgroup_dir_fd >= 0) { /* cgroup v2: born in the run's group, no migration */
        struct clone_args args = {0};
        args.flags = CLONE_INTO_CGROUP;
        args.exit_signal = SIGCHLD;
        args.cgroup = (uint64_t)cgroup_dir_fd;
        long pid = syscall(SYS_clone3, &args, sizeof args);
        if (pid >= 0 || errno != ENOSYS) return (pid_t)pid;
        errno = ENOSYS;
        fail("clone3 into the cgroup");
    }
    return fork();
}

/* a fresh net namespace has only a loopback device, down: bring it up (as bwrap does) */
static void loopback_up(void) {
    struct ifreq ifr = {0};
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) fail("socket");
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) fail("loopback flags");
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) fail("bring up the loopback");
    close(s);
}

static void place_fds(int *fds, int nfds);

/* one request: its bytes into buf (NUL-terminated), its descriptors into fds; 0 when the
 * other end closed, -1 on error (errno), -2 when the request was cut */
static ssize_t receive(int sock, char *buf, size_t size, int *fds, int *nfds) {
    char control[CMSG_SPACE(sizeof(int) * SERVE_MAX_FDS)];
    struct iovec iov = {buf, size - 1};
    struct msghdr msg = {0};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    *nfds = 0;
    ssize_t n;
    while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {}
    if (n <= 0) return n;
    buf[n] = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (int i = 0; i < k && *nfds < SERVE_MAX_FDS; i++)
                memcpy(&fds[(*nfds)++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        }
    }
    return msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC) ? -2 : n;
}

/* -- a VM: pid 1 stays and starts one command per request ----------------------------------
 * With "vm CTRL-FD", pid 1 sets the box up once, writes "ready" on the status pipe, and then
 * serves runs on CTRL-FD (a SOCK_SEQPACKET socket the tester holds the other end of): a request
 * is a run's configuration (tmp, cgroup-procs/cgroup-dir, rlimit, env, cwd, timing, status,
 * command) with descriptors attached as the server's requests have them. pid 1 forks the
 * command; its status pipe gets "exit N" / "signal N" / "exec ERRNO" / "error ...". /tmp is
 * mounted afresh for a run when no other run of the VM is going. The tester closing CTRL-FD
 * ends the VM. */
#define VM_MAX_RUNS 16

struct vm_run { pid_t pid; int status; };
static struct vm_run vm_runs[VM_MAX_RUNS];
static char run_buf[MAX_CONFIG];

static void reset_run_config(void) {
    nwords = next_word = 0;
    nenvs = nrlims = ncgroup_procs = 0;
    cgroup_dir_fd = -1;
    status_fd = -1;
    command = NULL;
    timing = 0;
    cwd = "/box";
}

/* the descriptor pid 1 received for the one a run's configuration names as NUMBER */
static int received_fd(int number, const int *fds, int nfds) {
    int i = number - SERVE_FD_BASE + 3;
    if (number < SERVE_FD_BASE || i >= nfds) { errno = 0; fail("configuration: no descriptor %d", number); }
    return fds[i];
}

static long vm_tmp_bytes = -1; /* the size of the fresh /tmp waiting for the next run */

/* a fresh /tmp for the next run, made while no run is going: off the runs' critical path */
static void vm_fresh_tmp(void) {
    for (int i = 0; i < VM_MAX_RUNS; i++)
        if (vm_runs[i].pid) return;
    if (umount2("/tmp", MNT_DETACH) < 0 || mount_tmp("/tmp") < 0) fail("a fresh /tmp");
    vm_tmp_bytes = tmp_bytes;
}

static void vm_reap(void) {
    int st, ended = 0;
    pid_t p;
    while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
        for (int i = 0; i < VM_MAX_RUNS; i++) {
            if (vm_runs[i].pid != p) continue;
            status_fd = vm_runs[i].status;
            mark("ended");
            if (WIFEXITED(st)) report("exit %d", WEXITSTATUS(st));
            else report("signal %d", WTERMSIG(st));
            close(status_fd);
            status_fd = -1;
            vm_runs[i].pid = 0;
            ended = 1;
        }
    }
    if (ended) vm_fresh_tmp(); /* the last run's files, if any, go with the old one */
}

static void vm_start_run(int *fds, int nfds, ssize_t len) {
    int slot = -1, busy = 0;
    for (int i = 0; i < VM_MAX_RUNS; i++) {
        if (vm_runs[i].pid) busy = 1;
        else if (slot < 0) slot = i;
    }
    reset_run_config();
    if (slot < 0 || nfds < 4) { errno = 0; fail("a VM request without descriptors, or too many runs"); }
    parse_config(run_buf, (size_t)len);
    if (!command || status_fd < 0) { errno = 0; fail("configuration: a run needs status and command"); }
    int status_number = status_fd;
    status_fd = received_fd(status_number, fds, nfds);
    int dir_number = cgroup_dir_fd;
    if (dir_number >= 0) cgroup_dir_fd = received_fd(dir_number, fds, nfds);
    mark("request");
    if (!busy && tmp_bytes != vm_tmp_bytes) vm_fresh_tmp(); /* the first run, or another size */
    if (pipe2(exec_pipe, O_CLOEXEC) < 0) fail("pipe");
    pid_t child = start_command();
    if (child < 0) fail("fork the command");
    if (child == 0) {
        sigset_t all;
        sigfillset(&all);
        sigprocmask(SIG_UNBLOCK, &all, NULL);
        signal(SIGPIPE, SIG_DFL);
        int high = fcntl(exec_pipe[1], F_DUPFD_CLOEXEC, 200); /* out of place_fds' way */
        if (high < 0) child_fail(STAGE_CGROUP);
        exec_pipe[1] = high;
        place_fds(fds, nfds);
        status_fd = status_number;
        if (unshare(CLONE_NEWIPC) < 0) child_fail(STAGE_CGROUP); /* no IPC objects of a last run */
        run_command();
    }
    mark("forked");
    for (int i = 0; i < nfds; i++)
        if (fds[i] != status_fd) close(fds[i]);
    if (command_started(child) == 0) {
        vm_runs[slot].pid = child;
        vm_runs[slot].status = status_fd;
    } else { /* the command never ran (its /tmp is untouched): the run is over */
        close(status_fd);
    }
    status_fd = -1;
}

static int vm_loop(int ctrl) {
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    signal(SIGPIPE, SIG_IGN); /* a status pipe the tester closed early must not end the VM */
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) fail("signalfd");
    for (;;) {
        struct pollfd pfd[2] = {{ctrl, POLLIN, 0}, {sfd, POLLIN, 0}};
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR) continue;
            fail("poll");
        }
        if (pfd[1].revents) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) > 0) {}
            vm_reap();
        }
        if (!pfd[0].revents) continue;
        int fds[SERVE_MAX_FDS], nfds;
        ssize_t n = receive(ctrl, run_buf, sizeof run_buf, fds, &nfds);
        if (n == 0) _exit(0); /* the tester destroyed the VM */
        if (n == -1) fail("receive a run");
        if (n == -2) { errno = 0; fail("a run's request was cut"); }
        vm_start_run(fds, nfds, n);
    }
}

static int pid1(void) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* the launcher killed: the whole run goes with it */
    if (netns_fd < 0) loopback_up();
    mark("pid1");
    setup_root();
    mark("root-ready");
    if (sethostname("box", 3) < 0) fail("sethostname");
    if (use_seccomp && seccomp_bpf_fd >= 0) read_seccomp_bpf();
    if (vm_ctrl >= 0) {
        vm_tmp_bytes = tmp_bytes;
        report("ready");
        close(status_fd);
        status_fd = -1;
        return vm_loop(vm_ctrl);
    }
    if (pipe2(exec_pipe, O_CLOEXEC) < 0) fail("pipe");
    pid_t child = start_command();
    mark("forked");
    if (child < 0) fail("fork the command");
    if (child == 0) run_command();
    int stage = command_started(child);
    if (stage) _exit(stage == STAGE_EXEC ? 0 : 255); /* the command never ran */
    for (;;) { /* reap orphans too; the command's end ends the run */
        int st;
        pid_t p = waitpid(-1, &st, 0);
        if (p < 0) {
            if (errno == EINTR) continue;
            fail("wait for the command");
        }
        if (p != child) continue;
        mark("ended");
        if (WIFEXITED(st)) report("exit %d", WEXITSTATUS(st));
        else report("signal %d", WTERMSIG(st));
        _exit(0);
    }
}

static int run_launcher(int check_parent);

/* -- the server: one per tester process, a run per request ---------------------------------
 * `assay-launcher --serve SOCKET-FD TESTER-PID`. A request is one SOCK_SEQPACKET message: the
 * configuration (as above), with descriptors attached: the run's stdin, stdout, stderr, then
 * the ones the configuration names as SERVE_FD_BASE + their index among the rest. The server
 * forks a launcher for it (no exec: that is the point) and answers with the launcher's pid and
 * a pidfd of it, or -errno. It reaps its launchers (and, as a subreaper, the pid 1 of a killed
 * one), dies with the tester, and ends when the tester closes the socket. */
static void place_fds(int *fds, int nfds) {
    int high[SERVE_MAX_FDS];
    for (int i = 0; i < nfds; i++) { /* out of the way of the targets first */
        high[i] = fcntl(fds[i], F_DUPFD, 100);
        if (high[i] < 0) fail("dup a descriptor");
        close(fds[i]);
    }
    for (int i = 0; i < nfds; i++) {
        int target = i < 3 ? i : SERVE_FD_BASE + i - 3;
        if (dup2(high[i], target) < 0) fail("dup2 a descriptor");
    }
    for (int i = 0; i < nfds; i++) close(high[i]);
}

static int serve(int sock, pid_t tester) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != tester) return 1;
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    signal(SIGCHLD, SIG_IGN); /* launchers are reaped by the kernel */
    for (;;) {
        int fds[SERVE_MAX_FDS], nfds;
        ssize_t n = receive(sock, config_buf, sizeof config_buf, fds, &nfds);
        if (n == 0) return 0; /* the tester closed its end */
        if (n == -1) return 1;
        int pidfd = -1;
        int answer;
        if (nfds < 4 || n == -2) {
            answer = -EINVAL;
        } else {
            pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &pidfd, 0, 0);
            if (pid == 0) { /* the launcher of this VM (or run) */
                close(sock);
                signal(SIGCHLD, SIG_DFL);
                place_fds(fds, nfds);
                parse_config(config_buf, (size_t)n);
                _exit(run_launcher(0));
            }
            answer = pid < 0 ? -errno : (int)pid;
        }
        for (int i = 0; i < nfds; i++) close(fds[i]);
        struct iovec out = {&answer, sizeof answer};
        struct msghdr reply = {0};
        char reply_control[CMSG_SPACE(sizeof(int))];
        reply.msg_iov = &out;
        reply.msg_iovlen = 1;
        if (pidfd >= 0) {
            memset(reply_control, 0, sizeof reply_control);
            reply.msg_control = reply_control;
            reply.msg_controllen = sizeof reply_control;
            struct cmsghdr *c = CMSG_FIRSTHDR(&reply);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(c), &pidfd, sizeof(int));
        }
        ssize_t sent = sendmsg(sock, &reply, MSG_NOSIGNAL);
        if (pidfd >= 0) close(pidfd);
        if (sent < 0) return 1;
    }
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "--serve") == 0) return serve(atoi(argv[2]), atoi(argv[3]));
    if (argc == 2 && strcmp(argv[1], "--print-seccomp-filter") == 0) {
        scmp_filter_ctx ctx = build_seccomp();
        if (!ctx || seccomp_export_bpf(ctx, 1) != 0) {
            perror("assay-launcher: build the seccomp filter");
            return 1;
        }
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: assay-launcher CONFIG-FD | --serve SOCKET-FD TESTER-PID | "
                        "--print-seccomp-filter "
                        "(see the comment in launcher.c)\n");
        return 2;
    }
    read_config(atoi(argv[1]));
    return run_launcher(1);
}

/* one run, configured: the launcher's own part (see the comment at the top) */
static int run_launcher(int check_parent) {
    mark("main");
    if (getuid() != 0 && geteuid() != 0) { errno = 0; fail("the launcher must run as root"); }
    /* the tester process (or the server) gone: the run goes with it */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (check_parent && parent > 0 && getppid() != parent) { errno = 0; fail("the tester is gone"); }
    int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
    if (netns_fd >= 0) {
        if (setns(netns_fd, CLONE_NEWNET) < 0) fail("enter the VM's net namespace");
        close(netns_fd);
    } else {
        flags |= CLONE_NEWNET; /* a loopback of its own, nothing else */
    }
    mark("clone");
    pid_t init = (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
    if (init < 0) fail("clone the box's pid 1");
    if (init == 0) return pid1();
    if (vm_ctrl >= 0) {
        /* the VM's pid 1 alone holds the tester's socket and the status pipe (no "pid1" line:
         * the tester may have read "ready" and closed the pipe already) */
        close(vm_ctrl);
        close(status_fd);
        status_fd = -1;
    } else {
        report("pid1 %d", (int)init);
    }
    int st;
    while (waitpid(init, &st, 0) < 0) {
        if (errno != EINTR) fail("wait for pid 1");
    }
    if (WIFSIGNALED(st)) { errno = 0; fail("pid 1 was killed by signal %d", WTERMSIG(st)); }
    return WEXITSTATUS(st) == 0 ? 0 : 1;
}
