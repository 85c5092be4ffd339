#include "fuzz/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

#define NET_MAX_ARGS 96

static void s_sleep(double s) {
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

pid_t net_proc_start(const char *mpo, const char *role, const char *log, const char *const *sets) {
    const char *argv[NET_MAX_ARGS];
    int argc = 0;
    argv[argc++] = mpo;
    argv[argc++] = role;
    for (int i = 0; sets[i] && argc + 3 < NET_MAX_ARGS; i++)
        argv[argc++] = "--set", argv[argc++] = sets[i];
    argv[argc] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(mpo, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

int net_proc_alive(pid_t pid) {
    int status;
    if (pid <= 0 || waitpid(pid, &status, WNOHANG) != 0)
        return 0; /* reaped now (it had exited) or not ours */
    return kill(pid, 0) == 0;
}

long net_proc_rss_kib(pid_t pid, long *peak_kib) {
    char path[64], line[256];
    long rss = -1, hwm = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "VmRSS:", 6))
            rss = atol(line + 6);
        else if (!strncmp(line, "VmHWM:", 6))
            hwm = atol(line + 6);
    }
    fclose(f);
    if (peak_kib)
        *peak_kib = hwm;
    return rss;
}

int net_proc_stop(pid_t pid, double limit_s) {
    if (pid <= 0)
        return -1;
    kill(pid, SIGTERM);
    double t0 = clock_now();
    int status;
    while (clock_now() - t0 < limit_s) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (r < 0)
            return -1; /* reaped before (net_proc_alive found it gone) */
        s_sleep(0.02);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

int net_proc_stat_json(const char *mpo, const char *endpoint, char *first, size_t firstlen) {
    int fds[2];
    first[0] = '\0';
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        execl(mpo, mpo, "stat", endpoint, "--json", "--timeout", "5", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    static char out[1 << 20];
    size_t len = 0;
    ssize_t r;
    while ((r = read(fds[0], out + len, sizeof out - 1 - len)) > 0)
        len += (size_t)r;
    out[len] = '\0';
    close(fds[0]);
    int status = -1;
    waitpid(pid, &status, 0);
    snprintf(first, firstlen, "%.*s", (int)strcspn(out, "\n"), out);
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && out[0] == '{' && strstr(out, "\"inserts_total\"");
    return ok ? 0 : -1;
}

int net_free_port(int avoid) {
    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
            getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
            if (fd >= 0)
                close(fd);
            return -1;
        }
        close(fd);
        if (ntohs(a.sin_port) != avoid)
            return ntohs(a.sin_port);
    }
}

int net_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 0;
}
