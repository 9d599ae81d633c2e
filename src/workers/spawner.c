/*
 * gatehouse-spawner: the child-process side's spawning daemon (the idea of Apache's mod_cgid).
 *
 * Why it exists: Node's child_process.spawn() forks the whole calling process, so its cost grows with
 * the front's resident memory (worker threads, loaded apps). This process is exec'd before any app
 * loads and stays a few hundred KiB, so each CGI child costs one vfork() of a tiny process.
 *
 * It never relays a byte of a request or response. The front connects to its unix socket once per
 * request and sends a spec frame; that connection becomes the child's stdout. A request with a body
 * opens a second connection that becomes the child's stdin (else stdin is /dev/null). The child's
 * stderr is a pipe read here and forwarded, with the child's start and exit, on the control channel.
 *
 * Usage: gatehouse-spawner SOCKET_PATH
 *   stdin  (from the front): the lifeline. EOF means the front is gone: every child's group is
 *          killed and the spawner exits.
 *   stdout (to the front):   frames [u32 bodyLen][u8 type][u32 id][body], little-endian:
 *          'R' ready (id 0), 'S' started (i32 pid), 'F' failed to start (i32 errno),
 *          'X' exited (i32 code or -1, i32 signal or 0), 'E' stderr bytes, 'e' stderr closed.
 * Connections carry one frame each, in the same shape, [u32 bodyLen][u8 kind][u32 id][body]:
 *   'R' run:   i32 uid (-1 keeps ours), i32 gid, u32 flags (1 = a stdin connection follows),
 *              u32 argc, u32 envc, then NUL-terminated file, cwd, argv[argc], env[envc].
 *   'I' stdin: empty body; the connection becomes the stdin of run `id`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* A spec larger than this is refused (the front checks first; this only guards the spawner). */
#define MAX_FRAME (8u << 20)
#define STDERR_CHUNK 65536
#define OUT_FLUSH_AT 65536
#define FLAG_STDIN 1u

enum kind { K_LISTEN, K_CONN, K_STDERR, K_SIGNAL, K_LIFELINE };

/* Everything registered with epoll starts with its kind. */
struct watch {
  enum kind kind;
};

struct conn {
  struct watch w;
  int fd;
  uint8_t head[4];
  uint32_t have; /* bytes of head + body read so far */
  uint32_t len;  /* kind + id + body, known once head is complete */
  uint8_t *body;
  int watched; /* in epoll: only when its frame was not all there on accept */
};

struct job {
  struct watch w; /* K_STDERR: the job's stderr pipe */
  uint32_t id;
  pid_t pid;      /* 0 until started */
  int out_fd;     /* the 'R' connection, -1 until it arrives */
  int in_fd;      /* the 'I' connection, -1 unless one arrives */
  int err_fd;     /* read end of the stderr pipe, -1 once closed */
  uint8_t *spec;
  uint32_t spec_len;
  int exited;
  struct job *next;
};

static int epfd;
static struct job *jobs;
/* Jobs are freed only between epoll batches: a batch may still hold an event that points at one. */
static struct job *graveyard;
static struct watch listen_w = {K_LISTEN}, signal_w = {K_SIGNAL}, lifeline_w = {K_LIFELINE};
static int listen_fd, signal_fd;
/* Written by the vfork()ed child, which shares our memory until it execs: why exec failed. */
static volatile int child_errno;
/* Fixed for our life: the user who may connect, and the stdin of a child with no body. */
static uid_t own_uid;
static pid_t own_pid;
static int dev_null = -1;

static void die(const char *what) {
  fprintf(stderr, "gatehouse-spawner: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void write_all(int fd, const void *buf, size_t n) {
  const uint8_t *p = buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        poll(&p, 1, -1);
        continue;
      }
      exit(0); /* the front is gone; the lifeline's EOF would follow */
    }
    p += w;
    n -= (size_t)w;
  }
}

/* Frames wait here until the end of the loop turn (or until OUT_FLUSH_AT bytes): one write, and one wake-up
   of the front, for all the starts, exits and stderr of a turn instead of two writes per frame. */
static uint8_t out_buf[OUT_FLUSH_AT + 9 + STDERR_CHUNK];
static size_t out_len;

static void flush_frames(void) {
  if (out_len) write_all(STDOUT_FILENO, out_buf, out_len);
  out_len = 0;
}

static void send_frame(char type, uint32_t id, const void *body, uint32_t len) {
  uint8_t *head = out_buf + out_len;
  memcpy(head, &len, 4);
  head[4] = (uint8_t)type;
  memcpy(head + 5, &id, 4);
  if (len) memcpy(head + 9, body, len);
  out_len += 9 + (size_t)len;
  if (out_len >= OUT_FLUSH_AT) flush_frames();
}

static void send_ints(char type, uint32_t id, int32_t a, int32_t b, int count) {
  int32_t v[2] = {a, b};
  send_frame(type, id, v, (uint32_t)(count * 4));
}

static void watch_fd(int fd, struct watch *w) {
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = w};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
}

static struct job *job_for_id(uint32_t id) {
  for (struct job *j = jobs; j; j = j->next)
    if (j->id == id && j->pid == 0) return j;
  struct job *j = calloc(1, sizeof *j);
  if (!j) die("calloc");
  j->w.kind = K_STDERR;
  j->id = id;
  j->out_fd = j->in_fd = j->err_fd = -1;
  j->next = jobs;
  jobs = j;
  return j;
}

static void free_job(struct job *dead) {
  for (struct job **p = &jobs; *p; p = &(*p)->next) {
    if (*p == dead) {
      *p = dead->next;
      break;
    }
  }
  if (dead->out_fd >= 0) close(dead->out_fd);
  if (dead->in_fd >= 0) close(dead->in_fd);
  if (dead->err_fd >= 0) close(dead->err_fd);
  dead->out_fd = dead->in_fd = dead->err_fd = -1;
  free(dead->spec);
  dead->spec = NULL;
  dead->next = graveyard;
  graveyard = dead;
}

/* Splits a spec into its strings; returns 0 if the frame is malformed. */
static int parse_spec(struct job *j, int32_t *uid, int32_t *gid, uint32_t *flags, char **file, char **cwd,
                      char ***argv, char ***envp) {
  if (j->spec_len < 20) return 0;
  uint32_t argc, envc;
  memcpy(uid, j->spec, 4);
  memcpy(gid, j->spec + 4, 4);
  memcpy(flags, j->spec + 8, 4);
  memcpy(&argc, j->spec + 12, 4);
  memcpy(&envc, j->spec + 16, 4);
  if (argc > 65536 || envc > 65536) return 0;
  uint32_t want = 2 + argc + envc;
  char **strs = calloc(want + 2, sizeof *strs); /* + argv's and envp's NULLs */
  if (!strs) die("calloc");
  char *p = (char *)j->spec + 20, *end = (char *)j->spec + j->spec_len;
  for (uint32_t i = 0; i < want; i++) {
    char *nul = memchr(p, 0, (size_t)(end - p));
    if (!nul) {
      free(strs);
      return 0;
    }
    strs[i < 2 + argc ? i : i + 1] = p;
    p = nul + 1;
  }
  *file = strs[0];
  *cwd = strs[1];
  /* argv[0] is the file itself; argv[1..] are the gateway's own arguments. */
  strs[1] = strs[0];
  *argv = strs + 1;
  (*argv)[argc + 1] = NULL;
  *envp = strs + 2 + argc + 1;
  (*envp)[envc] = NULL;
  /* strs[0] is kept only to free the array later: *argv - 1. */
  return 1;
}

static void start(struct job *j) {
  int32_t uid, gid;
  uint32_t flags;
  char *file, *cwd, **argv, **envp;
  if (!parse_spec(j, &uid, &gid, &flags, &file, &cwd, &argv, &envp)) {
    send_ints('F', j->id, EINVAL, 0, 1);
    free_job(j);
    return;
  }
  int err[2];
  if (pipe2(err, O_CLOEXEC) < 0) {
    send_ints('F', j->id, errno, 0, 1);
    free(argv - 1);
    free_job(j);
    return;
  }
  int in = j->in_fd >= 0 ? j->in_fd : dev_null;
  child_errno = 0;
  pid_t pid = vfork();
  if (pid == 0) {
    /* The child: only async-signal-safe calls until execve, and nothing that touches our heap. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL); /* we block SIGCHLD and SIGTERM for signalfd */
    signal(SIGPIPE, SIG_DFL);              /* an ignored signal would stay ignored across exec */
    if (setsid() < 0) goto fail;           /* its own group, so the front can kill it as one */
    if (dup2(in, 0) < 0 || dup2(j->out_fd, 1) < 0 || dup2(err[1], 2) < 0) goto fail;
    if (chdir(cwd) < 0) goto fail;
    if (uid >= 0) {
      /* Raw syscalls: glibc's set*id wrappers coordinate threads, which a vfork child must not do. */
      if (syscall(SYS_setgroups, 0, NULL) < 0) goto fail;
      if (syscall(SYS_setresgid, gid, gid, gid) < 0) goto fail;
      if (syscall(SYS_setresuid, uid, uid, uid) < 0) goto fail;
    }
    /* If we die before the front hears of this child (its 'S' frame still in our buffer), nobody would
       kill it: the kernel does. Set after the uid change, which clears it; checked after, for a death
       that came first. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != own_pid) goto fail;
    /* execve, not execvp: a file that is neither #! nor ELF fails with ENOEXEC instead of running in sh. */
    execve(file, argv, envp);
  fail:
    child_errno = errno ? errno : EINVAL;
    _exit(127);
  }
  int spawn_errno = pid < 0 ? errno : child_errno;
  free(argv - 1);
  close(err[1]);
  if (spawn_errno != 0) {
    /* A child that failed before exec is reaped by the SIGCHLD path, which ignores pids it does not know. */
    close(err[0]);
    send_ints('F', j->id, spawn_errno, 0, 1);
    free_job(j);
    return;
  }
  /* The child holds its stdio now; our copies would keep the front from seeing EOF. */
  close(j->out_fd);
  j->out_fd = -1;
  if (j->in_fd >= 0) {
    close(j->in_fd);
    j->in_fd = -1;
  }
  free(j->spec);
  j->spec = NULL;
  j->pid = pid;
  j->err_fd = err[0];
  fcntl(j->err_fd, F_SETFL, O_NONBLOCK);
  watch_fd(j->err_fd, &j->w);
  send_ints('S', j->id, pid, 0, 1);
}

/* A connection's one frame is complete: a run spec or a stdin for one. */
static void on_frame(struct conn *c) {
  if (c->len < 5) {
    close(c->fd);
    return;
  }
  char kind = (char)c->body[0];
  uint32_t id;
  memcpy(&id, c->body + 1, 4);
  struct job *j = job_for_id(id);
  if (kind == 'R' && j->out_fd < 0 && !j->spec) {
    j->out_fd = c->fd;
    j->spec_len = c->len - 5;
    j->spec = malloc(j->spec_len ? j->spec_len : 1);
    if (!j->spec) die("malloc");
    memcpy(j->spec, c->body + 5, j->spec_len);
  } else if (kind == 'I' && j->in_fd < 0) {
    j->in_fd = c->fd;
  } else {
    close(c->fd);
    if (!j->spec && j->in_fd < 0) free_job(j);
    return;
  }
  if (!j->spec) return; /* a stdin that came before its run spec */
  uint32_t flags = 0;
  if (j->spec_len >= 12) memcpy(&flags, j->spec + 8, 4);
  if ((flags & FLAG_STDIN) && j->in_fd < 0) return; /* wait for the stdin connection */
  start(j);
}

/* Reads exactly one frame, never past it: any later bytes on the connection belong to the child. */
static void on_conn(struct conn *c) {
  for (;;) {
    uint8_t *dst;
    uint32_t want;
    if (c->have < 4) {
      dst = c->head + c->have;
      want = 4 - c->have;
    } else {
      dst = c->body + (c->have - 4);
      want = c->len - (c->have - 4);
    }
    /* The descriptor stays blocking (the child gets it as it is); each read here must not block. */
    ssize_t n = want ? recv(c->fd, dst, want, MSG_DONTWAIT) : 0;
    if (want && n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!c->watched) {
        c->watched = 1;
        watch_fd(c->fd, &c->w);
      }
      return;
    }
    if (want && n <= 0) goto drop;
    c->have += (uint32_t)n;
    if (c->have == 4) {
      memcpy(&c->len, c->head, 4);
      if (c->len > MAX_FRAME) goto drop;
      c->len += 5;
      c->body = malloc(c->len ? c->len : 1);
      if (!c->body) die("malloc");
    }
    if (c->have >= 4 && c->have - 4 == c->len) {
      if (c->watched) epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
      on_frame(c);
      free(c->body);
      free(c);
      return;
    }
  }
drop:
  if (c->watched) epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c->body);
  free(c);
}

static void on_listen(void) {
  for (;;) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) return; /* EAGAIN, or a connection that went away */
    /* Only our own user may ask for processes (the socket's directory is private too). */
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != own_uid) {
      close(fd);
      continue;
    }
    struct conn *c = calloc(1, sizeof *c);
    if (!c) die("calloc");
    c->w.kind = K_CONN;
    c->fd = fd;
    /* The front writes its frame right after connecting: usually it is all here already. */
    on_conn(c);
  }
}

/* Forwards what the child wrote to stderr; at EOF says so and forgets the pipe. */
static void on_stderr(struct job *j) {
  static uint8_t buf[STDERR_CHUNK];
  if (j->err_fd < 0) return; /* an event from before the pipe was closed */
  for (;;) {
    ssize_t n = read(j->err_fd, buf, sizeof buf);
    if (n > 0) {
      send_frame('E', j->id, buf, (uint32_t)n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    close(j->err_fd); /* also removes it from epoll */
    j->err_fd = -1;
    send_frame('e', j->id, NULL, 0);
    if (j->exited) free_job(j);
    return;
  }
}

static struct job *job_for_pid(pid_t pid) {
  for (struct job *j = jobs; j; j = j->next)
    if (j->pid == pid) return j;
  return NULL;
}

static void reap(void) {
  for (;;) {
    siginfo_t si;
    si.si_pid = 0;
    /* Look without reaping: while the leader is a zombie its pid cannot be reused, so killing the
       group it led cannot hit anyone else. Anything the script left behind goes with it. */
    if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0) return;
    pid_t pid = si.si_pid;
    kill(-pid, SIGKILL);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    struct job *j = job_for_pid(pid);
    if (!j) continue;
    on_stderr(j); /* what it wrote last comes before its exit */
    j->exited = 1;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    send_ints('X', j->id, code, sig, 2);
    if (j->err_fd < 0) free_job(j);
  }
}

static const char *socket_path;

static void shut_down(void) {
  for (struct job *j = jobs; j; j = j->next)
    if (j->pid > 0 && !j->exited) kill(-j->pid, SIGKILL);
  /* Even when the front was killed and cannot clean up: the socket, then its private directory if empty. */
  unlink(socket_path);
  char dir[sizeof ((struct sockaddr_un *)0)->sun_path];
  strcpy(dir, socket_path);
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) {
    *slash = 0;
    rmdir(dir);
  }
  exit(0);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: gatehouse-spawner SOCKET_PATH\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  own_uid = getuid();
  own_pid = getpid();
  dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (dev_null < 0) die("open /dev/null");
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) die("sigprocmask");
  signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd < 0) die("signalfd");

  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(argv[1]) >= sizeof addr.sun_path) {
    fprintf(stderr, "gatehouse-spawner: socket path too long\n");
    return 2;
  }
  strcpy(addr.sun_path, argv[1]);
  socket_path = argv[1];
  unlink(addr.sun_path);
  listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd < 0) die("socket");
  if (bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
  if (listen(listen_fd, 1024) < 0) die("listen");

  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) die("epoll_create1");
  watch_fd(listen_fd, &listen_w);
  watch_fd(signal_fd, &signal_w);
  watch_fd(STDIN_FILENO, &lifeline_w);
  send_frame('R', 0, NULL, 0);

  struct epoll_event events[64];
  for (;;) {
    flush_frames();
    int n = epoll_wait(epfd, events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      struct watch *w = events[i].data.ptr;
      switch (w->kind) {
        case K_LISTEN: on_listen(); break;
        case K_CONN: on_conn((struct conn *)w); break;
        case K_STDERR: on_stderr((struct job *)w); break;
        case K_LIFELINE: {
          char buf[256];
          ssize_t r = read(STDIN_FILENO, buf, sizeof buf);
          if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) shut_down();
          break;
        }
        case K_SIGNAL: {
          struct signalfd_siginfo si;
          int term = 0;
          while (read(signal_fd, &si, sizeof si) == sizeof si)
            if (si.ssi_signo != SIGCHLD) term = 1;
          reap();
          if (term) shut_down();
          break;
        }
      }
    }
    while (graveyard) {
      struct job *j = graveyard;
      graveyard = j->next;
      free(j);
    }
  }
}
