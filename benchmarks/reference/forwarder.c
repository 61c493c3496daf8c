// Purpose: the reference forwarder — a byte relay doing only the syscalls a minimal HTTP/1.1 keep-alive proxy must do, to measure the kernel's share of proxying.
//
// Build:  cc -O2 -Wall -Wextra -o forwarder benchmarks/reference/forwarder.c      (C11 + POSIX/Linux, no dependencies)
// Run:    forwarder --listen 127.0.0.1:18082 --upstream 127.0.0.1:18001:80 --upstream 127.0.0.1:18002:20 --threads 2 [--splice]
// Check:  benchmarks/reference/limit.sh (correctness over real sockets, then req/s, CPU and syscalls per request beside
//         HAProxy `mode tcp`).
//
// What it is for. Canarygate's CPU per request is user space (parsing, routing, headers) plus the kernel's work for the
// syscalls it makes. This program makes the same syscalls per request and does nothing else: no parsing, no timeouts, no
// logging. Whatever it costs on a machine is what no user-space work could beat there; a proxy's figure divided by its
// figure is the distance to that limit. It is a measuring instrument, not a proxy to deploy (no timeouts: a peer that
// never closes keeps its pair forever).
//
// What it does, per thread (--threads N, default 2, like Canarygate's loops): one epoll instance and its own
// SO_REUSEPORT listener (backlog 1024, as Canarygate's). On a listener wake-up it accepts in a batch (accept4 with
// SOCK_NONBLOCK|SOCK_CLOEXEC until EAGAIN, at most 64), and for each client opens one upstream connection
// (non-blocking connect), choosing the upstream by smooth weighted round-robin (deterministic, per thread: weights 80/20
// give A A B A A per five, see pick_upstream). Then it relays bytes both ways until both directions ended:
//   - copy mode (default): read up to 16 KiB (Canarygate's buffer size) from one side, write it to the other.
//   - --splice: splice(2) socket -> pipe -> socket, SPLICE_F_MOVE|SPLICE_F_NONBLOCK, one pipe per direction while it
//     holds bytes. The pipe keeps its default capacity (64 KiB, 16 slots): 256 KiB and 1 MiB pipes (F_SETPIPE_SZ)
//     gave no measurable gain in CPU per MiB on 1 MiB downloads here.
// No HTTP parsing: `Connection: close` works because the upstream closes after the response and the close is relayed.
//
// Syscalls per small keep-alive request in steady state (copy mode): read + write on the client side, read + write on
// the upstream side, plus a share of epoll_wait (one wait returns the ready events of many connections under load; with
// one connection it is 2 per request). No epoll_ctl, no setsockopt, nothing else. Per new connection: accept4, socket,
// setsockopt (TCP_NODELAY), connect, two epoll_ctl ADD, then shutdown and close of both sockets, plus a share of the
// accept4 that returns EAGAIN. TCP_NODELAY is set once on each listener: Linux copies it to every accepted socket, so
// only the upstream socket needs a setsockopt.
//
// Why edge-triggered (EPOLLET, both sockets registered once for EPOLLIN|EPOLLOUT|EPOLLRDHUP), as Canarygate's
// connections are: interest never changes, so there is no epoll_ctl per request nor per back-pressure episode (level
// triggering would need two EPOLL_CTL_MOD to block — drop EPOLLIN on the source, add EPOLLOUT on the destination —
// and two to unblock). The permanent EPOLLOUT interest costs no wake-ups: TCP reports writability as an edge only after
// a send found the buffer full. Edge triggering needs every readable edge drained; in copy mode a read that returns
// less than asked means the socket's queue was emptied (any later data raises a new edge), so a small request costs one
// read, not a read plus an EAGAIN read — except after EPOLLRDHUP: a FIN queued behind the data raises no further edge,
// so then it reads on to the EOF. A splice into a pipe can stop early because the pipe's 16 slots are full (one
// per socket buffer fragment) with fewer bytes than asked, so a short splice proves nothing: --splice reads until
// EAGAIN, one more splice per direction per wake-up (the price of splicing small requests; it is noise on bulk bodies).
// The listener is level-triggered: connections left after a batch are reported again.
//
// Back-pressure: a direction holds at most one buffer (or one pipe) of unsent bytes; while it does, its source is not
// read. A partial write means the destination is full (the kernel then raises the EPOLLOUT edge when room comes back),
// so no write is retried until that edge. Half-close: a side's EOF becomes shutdown(SHUT_WR) on the other side once the
// held bytes are sent; both fds are closed when both directions ended, or on any error (no EPOLL_CTL_DEL: closing the
// only fd removes it from the epoll set).
//
// Memory per idle connection pair: one 88-byte struct (two fds and two direction states; about 100 B of RSS measured
// with 3,000 idle clients, in both modes; the kernel's socket memory is not counted in RSS). A 16 KiB buffer (or a pipe)
// is taken from a per-thread free list when a read starts and given back as soon as all its bytes are written, so a
// pair holds one only while bytes wait for a blocked peer; the free lists keep at most 64 entries per thread and free
// (close) the rest. Small keep-alive requests reuse the same hot buffer or pipe every time.
//
// SIGTERM/SIGINT: the main thread waits for them (blocked in every thread, sigwait) and exits 0. SIGPIPE is ignored (a
// write to a reset peer returns EPIPE and closes the pair). RLIMIT_NOFILE's soft limit is raised to the hard limit.
// IPv4 numeric addresses only (HOST:PORT); a weight is 1..1000.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    BUFFER_SIZE = 16384,      // bytes read per read(2) in copy mode: Canarygate's buffer size
    SPLICE_CHUNK = 1 << 20,   // bytes asked per splice into a pipe: the pipe's capacity is the real limit
    ACCEPT_BATCH = 64,        // accept4 calls per listener wake-up at most
    POOL_KEEP = 64,           // free buffers (pipes) a thread keeps; more are freed (closed)
    MAX_EVENTS = 256,
    MAX_UPSTREAMS = 16,
    MAX_THREADS = 64,
    LISTEN_BACKLOG = 1024,
};

static const char USAGE[] =
    "usage: forwarder --listen HOST:PORT --upstream HOST:PORT:WEIGHT [--upstream HOST:PORT:WEIGHT ...] [--threads N] [--splice]\n";

// ---------------------------------------------------------------- configuration

struct upstream {
    struct sockaddr_in address;
    int weight;
};

static struct upstream upstreams[MAX_UPSTREAMS];
static int upstream_count;
static int total_weight;
static bool use_splice;

// ---------------------------------------------------------------- connection pairs

enum { CLIENT = 0, UPSTREAM = 1 };

// Bytes flowing from side `from` to side 1 - from. In copy mode `buffer` holds `held` unsent bytes from `offset`; in
// splice mode the pipe holds `held` bytes. `buffer`/pipe are set only while held > 0 (and during one relay step).
struct direction {
    char *buffer;
    int pipe_read, pipe_write;   // -1 when no pipe is attached
    uint32_t offset, held;
    bool source_hung_up;         // EPOLLRDHUP/EPOLLHUP seen on the source: a FIN may sit behind its data
    bool source_ended;           // read returned 0 (EOF) from the source
    bool shut;                   // shutdown(SHUT_WR) sent to the destination: this direction has ended
};

struct pair {
    int fd[2];                   // CLIENT, UPSTREAM
    bool connecting;             // upstream connect still in progress: nothing is relayed yet
    bool client_edge_waiting;    // the client's readable edge came while connecting: read it once connected
    bool dead;                   // closed during this batch of events; freed after the batch
    struct direction dir[2];     // dir[CLIENT]: client -> upstream; dir[UPSTREAM]: upstream -> client
    struct pair *next_dead;
};

// Free lists: buffers, and empty pipes (read end, write end).
struct buffer_pool {
    char *items[POOL_KEEP];
    int count;
};

struct pipe_pool {
    int items[POOL_KEEP][2];
    int count;
};

struct loop {
    int epoll_fd;
    int listen_fd;
    int spare_fd;                // closed to accept-and-drop one connection when out of descriptors
    int wrr_current[MAX_UPSTREAMS];
    struct buffer_pool buffers;
    struct pipe_pool pipes;
    struct pair *dead;
    pthread_t thread;
};

// epoll data: a pair's address with the side in the low bit; 0 is the listener.
static inline uint64_t token(struct pair *p, int side) { return (uint64_t)(uintptr_t)p | (uint64_t)side; }

// ---------------------------------------------------------------- pools

static char *take_buffer(struct loop *l) {
    if (l->buffers.count > 0) return l->buffers.items[--l->buffers.count];
    char *b = malloc(BUFFER_SIZE);
    if (!b) { perror("forwarder: malloc"); exit(1); }
    return b;
}

static void give_buffer(struct loop *l, char *b) {
    if (l->buffers.count < POOL_KEEP) l->buffers.items[l->buffers.count++] = b;
    else free(b);
}

// Attaches a pipe to d (from the free list, else a new one); false when no pipe can be created.
static bool attach_pipe(struct loop *l, struct direction *d) {
    if (l->pipes.count > 0) {
        l->pipes.count--;
        d->pipe_read = l->pipes.items[l->pipes.count][0];
        d->pipe_write = l->pipes.items[l->pipes.count][1];
        return true;
    }
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) return false;
    d->pipe_read = fds[0];
    d->pipe_write = fds[1];
    return true;
}

// Gives d's pipe back (it must be empty to be reused; a pipe still holding bytes is closed).
static void detach_pipe(struct loop *l, struct direction *d) {
    if (d->pipe_read < 0) return;
    if (d->held == 0 && l->pipes.count < POOL_KEEP) {
        l->pipes.items[l->pipes.count][0] = d->pipe_read;
        l->pipes.items[l->pipes.count][1] = d->pipe_write;
        l->pipes.count++;
    } else {
        close(d->pipe_read);
        close(d->pipe_write);
    }
    d->pipe_read = d->pipe_write = -1;
}

// ---------------------------------------------------------------- pair lifecycle

static void close_pair(struct loop *l, struct pair *p) {
    if (p->dead) return;
    p->dead = true;
    close(p->fd[CLIENT]);
    close(p->fd[UPSTREAM]);
    for (int i = 0; i < 2; i++) {
        struct direction *d = &p->dir[i];
        if (d->buffer) give_buffer(l, d->buffer);
        d->buffer = NULL;
        detach_pipe(l, d);
    }
    p->next_dead = l->dead;   // events for it may still follow in this batch
    l->dead = p;
}

// Ends direction `from` once its source ended and nothing is held: shutdown(SHUT_WR) of the destination; the pair is
// closed when both directions have ended.
static void end_direction(struct loop *l, struct pair *p, int from) {
    struct direction *d = &p->dir[from];
    if (!d->shut) {
        d->shut = true;
        shutdown(p->fd[1 - from], SHUT_WR);   // may fail when the peer already reset: the pair closes anyway
    }
    if (p->dir[1 - from].shut) close_pair(l, p);
}

// ---------------------------------------------------------------- relaying

// Copy mode: relays from side `from` to the other until the source is drained, ended, or the destination is full.
static void relay_copy(struct loop *l, struct pair *p, int from) {
    struct direction *d = &p->dir[from];
    int src = p->fd[from], dst = p->fd[1 - from];
    if (d->held > 0) {   // flush what the destination refused before reading more
        ssize_t w = write(dst, d->buffer + d->offset, d->held);
        if (w < 0) {
            if (errno != EAGAIN && errno != EINTR) close_pair(l, p);
            return;
        }
        d->offset += (uint32_t)w;
        d->held -= (uint32_t)w;
        if (d->held > 0) return;   // still full: wait for the EPOLLOUT edge
        give_buffer(l, d->buffer);
        d->buffer = NULL;
    }
    if (d->source_ended) { end_direction(l, p, from); return; }
    for (;;) {
        char *b = take_buffer(l);
        ssize_t n = read(src, b, BUFFER_SIZE);
        if (n <= 0) {
            give_buffer(l, b);
            if (n == 0) { d->source_ended = true; end_direction(l, p, from); }
            else if (errno != EAGAIN && errno != EINTR) close_pair(l, p);
            return;
        }
        ssize_t w = write(dst, b, (size_t)n);
        if (w < 0 && errno != EAGAIN && errno != EINTR) { give_buffer(l, b); close_pair(l, p); return; }
        if (w < n) {   // the destination is full: hold the rest, stop reading the source
            d->buffer = b;
            d->offset = w < 0 ? 0 : (uint32_t)w;
            d->held = (uint32_t)(n - (w < 0 ? 0 : w));
            return;
        }
        give_buffer(l, b);
        // A short read emptied the receive queue and new data raises a new edge, unless the peer's FIN was already
        // queued (its edge came with the data): then read on to the EOF.
        if (n < BUFFER_SIZE && !d->source_hung_up) return;
    }
}

// Splice mode: the same, through a pipe. The pipe is only filled when empty, so EAGAIN from the source means drained.
static void relay_splice(struct loop *l, struct pair *p, int from) {
    struct direction *d = &p->dir[from];
    int src = p->fd[from], dst = p->fd[1 - from];
    for (;;) {
        if (d->held > 0) {
            ssize_t w = splice(d->pipe_read, NULL, dst, NULL, d->held, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (w < 0) {
                if (errno != EAGAIN && errno != EINTR) close_pair(l, p);
                return;
            }
            d->held -= (uint32_t)w;
            if (d->held > 0) return;   // the destination is full: wait for the EPOLLOUT edge
        }
        if (d->source_ended) { detach_pipe(l, d); end_direction(l, p, from); return; }
        if (d->pipe_read < 0 && !attach_pipe(l, d)) { close_pair(l, p); return; }
        ssize_t n = splice(src, NULL, d->pipe_write, NULL, SPLICE_CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n <= 0) {
            if (n == 0) { d->source_ended = true; detach_pipe(l, d); end_direction(l, p, from); }
            else if (errno == EAGAIN || errno == EINTR) detach_pipe(l, d);   // drained; an idle direction holds no pipe
            else close_pair(l, p);
            return;
        }
        d->held = (uint32_t)n;
    }
}

static void relay(struct loop *l, struct pair *p, int from) {
    if (p->dead || p->connecting) return;
    if (use_splice) relay_splice(l, p, from);
    else relay_copy(l, p, from);
}

// An event on one side of a pair: read from it (its data, EOF or error) and, if the other direction waits for room on
// it, flush that direction (and read its source again).
static void on_side_event(struct loop *l, struct pair *p, int side, uint32_t events) {
    if (p->dead) return;
    if (events & (EPOLLRDHUP | EPOLLHUP)) p->dir[side].source_hung_up = true;
    if (p->connecting) {
        if (side == CLIENT) {
            if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) p->client_edge_waiting = true;
            return;
        }
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        if (events & EPOLLERR) { close_pair(l, p); return; }   // connect refused: drop the client, as a TCP proxy does
        p->connecting = false;
        if (p->client_edge_waiting) relay(l, p, CLIENT);   // the client's request is waiting
        if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) relay(l, p, UPSTREAM);
        return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) relay(l, p, side);
    if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && p->dir[1 - side].held > 0) relay(l, p, 1 - side);
}

// ---------------------------------------------------------------- accepting

// Smooth weighted round-robin (nginx's): every pick adds each weight to its counter, takes the largest counter and
// lowers it by the total weight; the sequence is deterministic and spreads the picks evenly.
static int pick_upstream(struct loop *l) {
    int best = 0;
    for (int i = 0; i < upstream_count; i++) {
        l->wrr_current[i] += upstreams[i].weight;
        if (l->wrr_current[i] > l->wrr_current[best]) best = i;
    }
    l->wrr_current[best] -= total_weight;
    return best;
}

static void open_pair(struct loop *l, int client_fd) {
    const struct upstream *u = &upstreams[pick_upstream(l)];
    int up = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (up < 0) { close(client_fd); return; }
    int one = 1;
    setsockopt(up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(up, (const struct sockaddr *)&u->address, sizeof u->address) < 0 && errno != EINPROGRESS) {
        close(up);
        close(client_fd);
        return;
    }
    struct pair *p = calloc(1, sizeof *p);
    if (!p) { perror("forwarder: calloc"); exit(1); }
    p->fd[CLIENT] = client_fd;
    p->fd[UPSTREAM] = up;
    p->connecting = true;   // even if connect succeeded at once: the registration below reports it as writable
    for (int i = 0; i < 2; i++) p->dir[i].pipe_read = p->dir[i].pipe_write = -1;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
    ev.data.u64 = token(p, UPSTREAM);
    bool ok = epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, up, &ev) == 0;
    ev.data.u64 = token(p, CLIENT);
    ok = ok && epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, client_fd, &ev) == 0;
    if (!ok) close_pair(l, p);
}

static void on_listener_event(struct loop *l) {
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = accept4(l->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) { open_pair(l, fd); continue; }
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if ((errno == EMFILE || errno == ENFILE) && l->spare_fd >= 0) {
            // Out of descriptors: drop this connection instead of letting the level-triggered listener spin on it.
            close(l->spare_fd);
            int dropped = accept(l->listen_fd, NULL, NULL);
            if (dropped >= 0) close(dropped);
            l->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        }
        return;   // EAGAIN: the backlog is empty
    }
}

// ---------------------------------------------------------------- threads

static void *run_loop(void *arg) {
    struct loop *l = arg;
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(l->epoll_fd, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("forwarder: epoll_wait");
            exit(1);
        }
        for (int i = 0; i < n; i++) {
            uint64_t t = events[i].data.u64;
            if (t == 0) on_listener_event(l);
            else on_side_event(l, (struct pair *)(uintptr_t)(t & ~(uint64_t)1), (int)(t & 1), events[i].events);
        }
        while (l->dead) {
            struct pair *p = l->dead;
            l->dead = p->next_dead;
            free(p);
        }
    }
    return NULL;
}

static int open_listener(const struct sockaddr_in *address) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0
        || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0
        || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0
        || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0   // inherited by every accepted socket
        || bind(fd, (const struct sockaddr *)address, sizeof *address) < 0
        || listen(fd, LISTEN_BACKLOG) < 0) {
        perror("forwarder: listener");
        exit(1);
    }
    return fd;
}

// ---------------------------------------------------------------- arguments

static void usage_error(const char *what, const char *value) {
    fprintf(stderr, "forwarder: %s%s%s\n%s", what, value ? ": " : "", value ? value : "", USAGE);
    exit(2);
}

// Parses a decimal integer in [min, max] or fails with the usage line.
static long parse_number(const char *s, long min, long max, const char *what) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) usage_error(what, s);
    return v;
}

// "A.B.C.D:PORT" (listen) or "A.B.C.D:PORT:WEIGHT" (upstream; weight stored in *weight).
static struct sockaddr_in parse_address(const char *arg, int *weight) {
    char host[64];
    const char *colon = strchr(arg, ':');
    if (!colon || (size_t)(colon - arg) >= sizeof host) usage_error("bad address", arg);
    memcpy(host, arg, (size_t)(colon - arg));
    host[colon - arg] = '\0';
    char port[16];
    const char *rest = colon + 1, *second = strchr(rest, ':');
    if ((weight != NULL) != (second != NULL)) usage_error(weight ? "upstream needs HOST:PORT:WEIGHT" : "listen needs HOST:PORT", arg);
    size_t port_len = second ? (size_t)(second - rest) : strlen(rest);
    if (port_len == 0 || port_len >= sizeof port) usage_error("bad port", arg);
    memcpy(port, rest, port_len);
    port[port_len] = '\0';
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)parse_number(port, 1, 65535, "bad port")) };
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) usage_error("not an IPv4 address", host);
    if (weight) *weight = (int)parse_number(second + 1, 1, 1000, "bad weight (1..1000)");
    return a;
}

int main(int argc, char **argv) {
    struct sockaddr_in listen_address = { 0 };
    bool have_listen = false;
    long threads = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool takes_value = !strcmp(a, "--listen") || !strcmp(a, "--upstream") || !strcmp(a, "--threads");
        if (takes_value && i + 1 >= argc) usage_error("missing value for", a);
        if (!strcmp(a, "--listen")) {
            listen_address = parse_address(argv[++i], NULL);
            have_listen = true;
        } else if (!strcmp(a, "--upstream")) {
            if (upstream_count == MAX_UPSTREAMS) usage_error("too many upstreams", NULL);
            struct upstream *u = &upstreams[upstream_count++];
            u->address = parse_address(argv[++i], &u->weight);
            total_weight += u->weight;
        } else if (!strcmp(a, "--threads")) {
            threads = parse_number(argv[++i], 1, MAX_THREADS, "bad thread count (1..64)");
        } else if (!strcmp(a, "--splice")) {
            use_splice = true;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(USAGE, stdout);
            return 0;
        } else {
            usage_error("unknown argument", a);
        }
    }
    if (!have_listen) usage_error("--listen is required", NULL);
    if (upstream_count == 0) usage_error("at least one --upstream is required", NULL);

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);   // inherited by the loops: only sigwait below sees these signals

    static struct loop loops[MAX_THREADS];
    for (long t = 0; t < threads; t++) {   // every listener is bound before any loop runs: bind errors exit at once
        struct loop *l = &loops[t];
        l->listen_fd = open_listener(&listen_address);
        l->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        l->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };
        if (l->epoll_fd < 0 || epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, l->listen_fd, &ev) < 0) {
            perror("forwarder: epoll");
            return 1;
        }
    }
    for (long t = 0; t < threads; t++) {
        int rc = pthread_create(&loops[t].thread, NULL, run_loop, &loops[t]);
        if (rc) { fprintf(stderr, "forwarder: pthread_create: %s\n", strerror(rc)); return 1; }
    }
    char shown[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &listen_address.sin_addr, shown, sizeof shown);
    fprintf(stderr, "forwarder: listening on %s:%d, %ld thread(s), %d upstream(s), %s relay\n", shown,
            ntohs(listen_address.sin_port), threads, upstream_count, use_splice ? "splice" : "copy");
    int sig = 0;
    while (sigwait(&stop, &sig) != 0) {}
    fprintf(stderr, "forwarder: signal %d, exiting\n", sig);
    return 0;
}
