// pipe2, splice and the pipe-size fcntl, which Glibc's module hides (GNU-only, declared under _GNU_SOURCE).
#ifndef CG_SPLICESHIMS_H
#define CG_SPLICESHIMS_H

#include <fcntl.h>
#include <stddef.h>
#include <sys/types.h>

extern int pipe2(int pipefd[2], int flags);
extern ssize_t splice(int fd_in, __off64_t *off_in, int fd_out, __off64_t *off_out, size_t len, unsigned int flags);

// From <fcntl.h> and <linux/fcntl.h> under _GNU_SOURCE; the values are the kernel's ABI.
#define CG_SPLICE_F_MOVE 1
#define CG_SPLICE_F_NONBLOCK 2
#define CG_F_SETPIPE_SZ 1031
#define CG_F_GETPIPE_SZ 1032

// splice between two descriptors at their current positions (sockets and pipes have none).
static inline ssize_t cg_splice(int fd_in, int fd_out, size_t len, unsigned int flags) {
    return splice(fd_in, NULL, fd_out, NULL, len, flags);
}

// fcntl is variadic: Swift calls it through this.
static inline int cg_fcntl_int(int fd, int cmd, int value) { return fcntl(fd, cmd, value); }

#endif
