// What Glibc's Swift module hides: epoll, eventfd, signalfd, the GNU-only accept4 and malloc_trim.
#ifndef CLINUXSHIMS_H
#define CLINUXSHIMS_H

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <errno.h>
#include <malloc.h>
#include "SpliceShims.h"

// Re-declared because Glibc's module is built without _GNU_SOURCE (GNU-only functions such as accept4 are invisible to Swift without it).
extern int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);

// errno is a macro over a thread-local; Swift reads it through this function.
static inline int cg_errno(void) { return errno; }

#endif
