/*
 * minibox: a PROTOTYPE launcher, to measure what a sandboxed run can cost without bubblewrap
 * and without Python's fork + preexec_fn. It is a benchmark, not the sandbox: see
 * bench/minibox_overhead.py and docs/performance.md.
 *
 * Run by root (the tester). One invocation is one run, in fresh namespaces, as isolate does it:
 *
 *   minibox (root) : join the run's cgroups, set rlimits, optionally enter a prepared net ns,
 *   |                clone(mount, pid, ipc, uts, cgroup [, net] namespaces)
 *   +- pid 1 (root, in the new namespaces): tmpfs root, read-only binds, /proc, a minimal /dev
 *      |           made with mknod, /tmp tmpfs, /box bind, pivot_root, hostname
 *      +- the command: new session, box uid/gid, no groups, no capabilities, no_new_privs, exec
 *
 * No user namespace is needed because the launcher is really root; the command runs as the box
 * uid on the host (as in isolate), so RLIMIT_NPROC and file ownership work as in assay's boxes.
 * The exit code is the command's, or 128 + N when signal N killed it; 255 means a setup failure
 * (with a message on stderr).
 *
 * usage: minibox [-c cgroup.procs]... [-u uid] [-n netns-fd] [-N] [-t tmp-bytes]
 *                [-r src:dst]... [-w src:dst]... [-l target:link]... -R newroot
 *                [-T cpu-s] [-P nproc] [-F fsize] [-O nofile] [-e KEY=VALUE]... -- command...
 *   -N   make a fresh net ns (the default is to enter -n's, or a fresh one when -n is absent)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ITEMS 32

static void die(const char *fmt, ...) {
    va_list ap;
    int e = errno;
    va_start(ap, fmt);
    fputs("minibox: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (e) fprintf(stderr, ": %s", strerror(e));
    fputc('\n', stderr);
    _exit(255);
}

static char *cgroups[MAX_ITEMS], *robinds[MAX_ITEMS], *rwbinds[MAX_ITEMS], *links[MAX_ITEMS];
static char *envs[MAX_ITEMS + 1];
static int ncg, nro, nrw, nln, nenv;

static void add(char **list, int *n, char *item) {
    if (*n >= MAX_ITEMS) die("too many items");
    list[(*n)++] = item;
}

static void write_file(const char *path, const char *data) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) die("open %s", path);
    if (write(fd, data, strlen(data)) < 0) die("write %s", path);
    close(fd);
}

static void path_in(char *out, size_t size, const char *root, const char *p) {
    if ((size_t)snprintf(out, size, "%s%s", root, p) >= size) die("path too long");
}

static void mkdirs(char *path) { /* mkdir -p, in the new root's tmpfs */
    for (char *p = path + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(path, 0755) < 0 && errno != EEXIST) die("mkdir %s", path);
            *p = '/';
        }
    }
    if (mkdir(path, 0755) < 0 && errno != EEXIST) die("mkdir %s", path);
}

static void bind(const char *root, char *spec, int readonly) {
    char *colon = strchr(spec, ':');
    char dst[4096];
    if (!colon) die("bad bind %s", spec);
    *colon = 0;
    path_in(dst, sizeof dst, root, colon + 1);
    mkdirs(dst);
    if (mount(spec, dst, NULL, MS_BIND | MS_REC, NULL) < 0) die("bind %s", spec);
    unsigned long fl = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | (readonly ? MS_RDONLY : 0);
    if (mount(NULL, dst, NULL, fl, NULL) < 0) die("remount %s", dst);
}

static void setup_root(const char *root, long tmp_bytes) {
    char p[4096], opts[64];
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("make / private");
    if (mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755") < 0)
        die("tmpfs root");
    for (int i = 0; i < nro; i++) bind(root, robinds[i], 1);
    for (int i = 0; i < nrw; i++) bind(root, rwbinds[i], 0);
    for (int i = 0; i < nln; i++) {
        char *colon = strchr(links[i], ':');
        if (!colon) die("bad link %s", links[i]);
        *colon = 0;
        path_in(p, sizeof p, root, colon + 1);
        if (symlink(links[i], p) < 0) die("symlink %s", p);
    }
    path_in(p, sizeof p, root, "/proc");
    mkdirs(p);
    if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) die("proc");
    path_in(p, sizeof p, root, "/tmp");
    mkdirs(p);
    snprintf(opts, sizeof opts, "size=%ld,mode=1777", tmp_bytes);
    if (mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) die("tmpfs /tmp");
    /* /dev: the harmless character devices, made directly (we are root, not in a userns) */
    static const struct { const char *name; int major, minor; } devs[] = {
        {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9},
    };
    path_in(p, sizeof p, root, "/dev");
    mkdirs(p);
    for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
        char d[4096];
        snprintf(d, sizeof d, "%s/%s", p, devs[i].name);
        if (mknod(d, S_IFCHR | 0666, makedev(devs[i].major, devs[i].minor)) < 0)
            die("mknod %s", d);
        chmod(d, 0666); /* umask */
    }
    static const char *dlinks[][2] = {{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
                                      {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}};
    for (size_t i = 0; i < 4; i++) {
        char d[4096];
        snprintf(d, sizeof d, "%s/%s", p, dlinks[i][1]);
        if (symlink(dlinks[i][0], d) < 0) die("symlink %s", d);
    }
    path_in(p, sizeof p, root, "/.old");
    mkdirs(p);
    if (syscall(SYS_pivot_root, root, p) < 0) die("pivot_root");
    if (chdir("/") < 0) die("chdir /");
    if (umount2("/.old", MNT_DETACH) < 0) die("umount old root");
    rmdir("/.old");
    if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
        die("remount / read-only");
}

static int status_code(int st) {
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return 255;
}

int main(int argc, char **argv) {
    int opt, uid = -1, netns = -1, fresh_net = 0;
    long tmp_bytes = 64L << 20;
    const char *root = NULL;
    struct rlimit cpu = {RLIM_INFINITY, RLIM_INFINITY}, nproc = cpu, fsize = cpu, nofile = {64, 64};
    while ((opt = getopt(argc, argv, "+c:u:n:Nt:r:w:l:R:T:P:F:O:e:")) != -1) {
        switch (opt) {
        case 'c': add(cgroups, &ncg, optarg); break;
        case 'u': uid = atoi(optarg); break;
        case 'n': netns = atoi(optarg); break;
        case 'N': fresh_net = 1; break;
        case 't': tmp_bytes = atol(optarg); break;
        case 'r': add(robinds, &nro, optarg); break;
        case 'w': add(rwbinds, &nrw, optarg); break;
        case 'l': add(links, &nln, optarg); break;
        case 'R': root = optarg; break;
        case 'T': cpu.rlim_cur = atol(optarg); cpu.rlim_max = cpu.rlim_cur + 1; break;
        case 'P': nproc.rlim_cur = nproc.rlim_max = atol(optarg); break;
        case 'F': fsize.rlim_cur = fsize.rlim_max = atol(optarg); break;
        case 'O': nofile.rlim_cur = nofile.rlim_max = atol(optarg); break;
        case 'e': add(envs, &nenv, optarg); break;
        default: die("bad option");
        }
    }
    if (optind >= argc || !root || uid <= 0) die("usage: see the comment at the top");
    char **command = argv + optind;

    for (int i = 0; i < ncg; i++) write_file(cgroups[i], "0"); /* 0 = the writing process */
    int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
    if (netns >= 0 && !fresh_net) {
        if (setns(netns, CLONE_NEWNET) < 0) die("setns net");
        close(netns);
    } else {
        flags |= CLONE_NEWNET; /* loopback stays down: no network at all */
    }
    pid_t init = (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
    if (init < 0) die("clone");
    if (init > 0) { /* the outer process: wait for pid 1 and report like a shell */
        int st;
        while (waitpid(init, &st, 0) < 0)
            if (errno != EINTR) die("waitpid");
        return status_code(st);
    }
    /* pid 1 of the new pid namespace, still root */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    setup_root(root, tmp_bytes);
    if (sethostname("box", 3) < 0) die("sethostname");
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        struct rlimit zero = {0, 0}, inf = {RLIM_INFINITY, RLIM_INFINITY};
        setrlimit(RLIMIT_CPU, &cpu);
        setrlimit(RLIMIT_FSIZE, &fsize);
        setrlimit(RLIMIT_NOFILE, &nofile);
        setrlimit(RLIMIT_NPROC, &nproc);
        setrlimit(RLIMIT_CORE, &zero);
        setrlimit(RLIMIT_STACK, &inf);
        setrlimit(RLIMIT_MEMLOCK, &zero);
        setrlimit(RLIMIT_MSGQUEUE, &zero);
        if (setsid() < 0) die("setsid");
        if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
            die("drop to uid %d", uid);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("no_new_privs");
        if (chdir("/box") < 0) die("chdir /box");
        envs[nenv] = NULL;
        execve(command[0], command, envs);
        die("exec %s", command[0]);
    }
    int st;
    while (waitpid(child, &st, 0) < 0)
        if (errno != EINTR) die("waitpid");
    return status_code(st);
}
