// OpenSSL for Swift: the headers, plus static inline wrappers for the macros Swift cannot import.
#ifndef CANARYGATE_COPENSSL_SHIM_H
#define CANARYGATE_COPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/bio.h>
#include <errno.h>

// MARK: SSL_CTX configuration (all function-like macros over SSL_CTX_ctrl in OpenSSL 3.0)

static inline int cg_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

static inline long cg_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}

static inline long cg_SSL_CTX_set_read_ahead(SSL_CTX *ctx, long on) {
    return SSL_CTX_set_read_ahead(ctx, on);
}

static inline long cg_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}

static inline long cg_SSL_CTX_sess_set_cache_size(SSL_CTX *ctx, long size) {
    return SSL_CTX_sess_set_cache_size(ctx, size);
}

// The modes a server on non-blocking sockets wants: a write may complete partially (one record at a
// time), may be retried from a moved buffer, and idle connections give their read/write buffers back.
static inline long cg_server_modes(void) {
    return SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS;
}

// SSL_OP_BIT(n) is an expression macro; Swift sees none of the SSL_OP_* constants.
// No renegotiation (a CPU-cost lever for clients and a source of reads that want writes), no
// compression (CRIME), and an EOF without close_notify is a clean end (SSL_ERROR_ZERO_RETURN) rather
// than an error: a request's framing already detects truncation (a request body is never
// close-delimited), and browsers and many HTTP clients routinely skip close_notify.
static inline uint64_t cg_server_options(void) {
    return SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF;
}

// For connections to upstreams, without SSL_OP_IGNORE_UNEXPECTED_EOF: a response body may be
// delimited by the close, and a FIN is unauthenticated (anyone on the path can forge one), so only
// close_notify ends such a body; an EOF without it is an error (SSL_R_UNEXPECTED_EOF_WHILE_READING).
static inline uint64_t cg_client_options(void) {
    return SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION;
}

static inline long cg_sess_cache_server(void) { return SSL_SESS_CACHE_SERVER; }

// MARK: SNI (macros over SSL_CTX_callback_ctrl / SSL_CTX_ctrl)

// The callback OpenSSL calls once per ClientHello, with or without a server_name extension.
typedef int (*cg_servername_callback)(SSL *ssl, int *alert, void *arg);

static inline long cg_SSL_CTX_set_tlsext_servername_callback(SSL_CTX *ctx, cg_servername_callback callback) {
    return SSL_CTX_set_tlsext_servername_callback(ctx, callback);
}

static inline long cg_SSL_CTX_set_tlsext_servername_arg(SSL_CTX *ctx, void *arg) {
    return SSL_CTX_set_tlsext_servername_arg(ctx, arg);
}

// MARK: subjectAltName (the typed stack accessors are macros over OPENSSL_sk_*)

static inline int cg_GENERAL_NAMES_count(const GENERAL_NAMES *names) { return sk_GENERAL_NAME_num(names); }

static inline const GENERAL_NAME *cg_GENERAL_NAMES_value(const GENERAL_NAMES *names, int index) {
    return sk_GENERAL_NAME_value(names, index);
}

// MARK: BIO retry flags (macros over BIO_set_flags / BIO_clear_flags)

static inline void cg_BIO_clear_retry_flags(BIO *bio) { BIO_clear_retry_flags(bio); }
static inline void cg_BIO_set_retry_read(BIO *bio) { BIO_set_retry_read(bio); }
static inline void cg_BIO_set_retry_write(BIO *bio) { BIO_set_retry_write(bio); }
static inline int cg_BIO_pending(BIO *bio) { return (int)BIO_pending(bio); }

// The BIO type of the socket BIO the TLS module defines (a descriptor-backed source/sink).
static inline int cg_socket_bio_type(void) {
    return BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR;
}

// MARK: errno (a macro over a thread-local)

// SSL_ERROR_SYSCALL leaves the cause in errno, and a plain EOF leaves errno untouched: clearing it
// before each call is what tells "peer closed" (0) from a stale EAGAIN of an earlier call.
static inline int cg_tls_errno(void) { return errno; }
static inline void cg_tls_clear_errno(void) { errno = 0; }

// ============================================================================================
// MARK: TLS client to upstreams (TLSClientContext.swift, TLSSession+Client.swift)
// ============================================================================================

#include <openssl/x509v3.h>

// SNI for a client session (a macro over SSL_ctrl).
static inline int cg_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

#endif
