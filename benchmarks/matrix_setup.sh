# Purpose: what matrix.sh starts: the body-serving nginx upstream pair, the nginx proxy, the reference forwarder, payload files, wrk scripts, the certificate.
# shellcheck shell=bash
#
# Sourced by matrix.sh after lib.sh. Uses TMP, the PORT_* variables, NGINX_WORKERS, FD_LIMIT,
# UPSTREAM_CONNS, FORWARDER_SRC and FORWARDER_THREADS set there.

# ---------------------------------------------------------------- payloads and wrk scripts
# Files the upstream serves (downloads) and the wrk Lua scripts that send bodies (uploads). The
# content is printable and contains no "<!--", so nginx's SSI filter passes it through unchanged.
make_payloads() {
    mkdir -p "$TMP/files" "$TMP/lua"
    chmod 755 "$TMP/files" "$TMP/lua"
    # base64 of 786,432 random bytes: exactly 1 MiB of printable text (no head on a pipe: pipefail and SIGPIPE).
    head -c $(( 768 * 1024 )) /dev/urandom | base64 -w 0 >"$TMP/files/1m"
    head -c $(( 64 * 1024 )) "$TMP/files/1m" >"$TMP/files/64k"
    head -c $(( 256 * 1024 )) "$TMP/files/1m" >"$TMP/files/256k"
    chmod 644 "$TMP/files"/*
    local size
    for size in 64k:65536 1m:1048576; do
        # wrk.format adds Content-Length for a body; the request is built once and sent as it is.
        cat >"$TMP/lua/up-${size%%:*}.lua" <<EOF
wrk.method = "POST"
wrk.path = "/upload"
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.body = string.rep("u", ${size#*:})
EOF
    done
    # A chunked request body: 16 chunks of 4 KiB and the last chunk; no Content-Length (wrk.format
    # adds one only when it is given a body, so the framed body is appended to the head it builds).
    cat >"$TMP/lua/up-chunked.lua" <<'EOF'
local chunk = string.rep("c", 4096)
local body = string.rep(string.format("%x\r\n", #chunk) .. chunk .. "\r\n", 16) .. "0\r\n\r\n"
local req
init = function(args)
    req = wrk.format("POST", "/upload", { ["Content-Type"] = "application/octet-stream", ["Transfer-Encoding"] = "chunked" }) .. body
end
request = function() return req end
EOF
}

# ---------------------------------------------------------------- nginx upstream pair
# One nginx (1 worker, as lib.sh's start_nginx) serving both arms, :PORT_PRIMARY (X-Arm: v1) and
# :PORT_CANARY (X-Arm: v2), each with:
#   /          200 "ok\n" (small requests)
#   /f/NAME    static files 64k, 256k, 1m (downloads, Content-Length)
#   /c/NAME    the same files through the SSI filter, which drops Content-Length: chunked responses
#   /upload    reads the WHOLE request body (Content-Length or chunked) before it answers 200 "ok\n":
#              request buffering on, then a bodyless subrequest to the internal sink on :PORT_SINK
#              over a keep-alive connection. A plain `return 200` would answer before the body is
#              read, so a proxy would see the response before its request is complete and close.
start_matrix_upstream() {
    local user_line="" d="$TMP/upstream" arm port
    mkdir -p "$d/logs" "$d/tmp"
    chmod 755 "$TMP"
    [ "$(id -u)" -eq 0 ] && user_line="user root;"
    {
        cat <<EOF
$user_line
worker_processes 1;
worker_rlimit_nofile $FD_LIMIT;
daemon off;
master_process on;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
events { worker_connections $UPSTREAM_CONNS; }
http {
    access_log off;
    default_type text/plain;
    sendfile on;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_max_body_size 0;
    client_body_buffer_size 2m;     # bodies up to 1 MiB stay in memory (no temp file)
$(nginx_temp_paths "$d")
    upstream sink { server 127.0.0.1:$PORT_SINK; keepalive 64; }
    server { listen 127.0.0.1:$PORT_SINK; location / { return 200 "ok\n"; } }
EOF
        for arm in v1:$PORT_PRIMARY v2:$PORT_CANARY; do
            port="${arm#*:}"; arm="${arm%%:*}"
            cat <<EOF
    server {
        listen 127.0.0.1:$port;
        add_header X-Arm $arm;
        location = / { return 200 "ok\n"; }
        location /f/ { alias $TMP/files/; }
        location /c/ { alias $TMP/files/; ssi on; ssi_types *; }
        location = /upload {
            proxy_request_buffering on;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Transfer-Encoding "";
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_method GET;
            proxy_pass http://sink/;
        }
    }
EOF
        done
        echo "}"
    } >"$d/nginx.conf"
    nginx -t -q -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" >"$d/nginx-t.log" 2>&1 \
        || { cat "$d/nginx-t.log" >&2; die "generated upstream nginx config is invalid"; }
    log "starting nginx upstream on :$PORT_PRIMARY (primary) and :$PORT_CANARY (canary)"
    nginx -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" >"$d/stdout.log" 2>&1 &
    PID_OF[nginx]=$!
    wait_port "${PID_OF[nginx]}" "$PORT_PRIMARY" nginx "$d/logs/error.log"
    wait_port "${PID_OF[nginx]}" "$PORT_CANARY" nginx "$d/logs/error.log"
}

# ---------------------------------------------------------------- nginx as the proxy under test
# NGINX_WORKERS workers, upstream weights 4/1 over the same arms (smooth weighted round-robin, like
# HAProxy's roundrobin), HTTP/1.1 keep-alive upstream connections, the forwarding headers the other
# two add, request bodies streamed (proxy_request_buffering off, as HAProxy and Canarygate do),
# responses buffered as nginx does by default. Plain on :PORT_NGINX, TLS (ALPN h2 and http/1.1) on
# :PORT_NGINX_TLS.
NGINX_PROXY_PID=""
start_nginx_proxy() {
    local user_line="" d="$TMP/nginx-proxy"
    mkdir -p "$d/logs" "$d/tmp"
    [ "$(id -u)" -eq 0 ] && user_line="user root;"
    cat >"$d/nginx.conf" <<EOF
$user_line
worker_processes $NGINX_WORKERS;
worker_rlimit_nofile $FD_LIMIT;
daemon off;
master_process on;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
events { worker_connections $UPSTREAM_CONNS; }
http {
    access_log off;
    default_type text/plain;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_header_timeout 120s;
    client_max_body_size 0;
$(nginx_temp_paths "$d")
    ssl_certificate $CERT;
    ssl_certificate_key $KEY;
    ssl_protocols TLSv1.2 TLSv1.3;
    upstream arms {
        server 127.0.0.1:$PORT_PRIMARY weight=4;
        server 127.0.0.1:$PORT_CANARY weight=1;
        # Idle upstream connections kept per worker: above the most requests in flight (h2: 320
        # streams), so nginx never closes and reopens upstream connections under this load.
        keepalive 1024;
        keepalive_requests 100000000;
        keepalive_timeout 300s;
    }
    server {
        # reuseport: one listening socket per worker, so the kernel spreads connections over both.
        listen 127.0.0.1:$PORT_NGINX reuseport;
        listen 127.0.0.1:$PORT_NGINX_TLS ssl http2 reuseport;
        location / {
            proxy_pass http://arms;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_request_buffering off;
            proxy_set_header Host \$http_host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Forwarded-Host \$http_host;
        }
    }
}
EOF
    nginx -t -q -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" >"$d/nginx-t.log" 2>&1 \
        || { cat "$d/nginx-t.log" >&2; die "generated nginx proxy config is invalid"; }
    log "starting nginx proxy ($NGINX_WORKERS workers) on :$PORT_NGINX and :$PORT_NGINX_TLS (TLS)"
    nginx -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" >"$d/stdout.log" 2>&1 &
    NGINX_PROXY_PID=$!
    wait_port "$NGINX_PROXY_PID" "$PORT_NGINX" "nginx proxy" "$d/logs/error.log"
    wait_port "$NGINX_PROXY_PID" "$PORT_NGINX_TLS" "nginx proxy" "$d/logs/error.log"
}

# ---------------------------------------------------------------- the reference forwarder
# build_forwarder : compiles FORWARDER_SRC into $TMP/forwarder.
build_forwarder() {
    [ -f "$FORWARDER_SRC" ] || die "reference forwarder source '$FORWARDER_SRC' not found (set FORWARDER_SRC, or drop reference and reference-splice from TARGETS)"
    cc -O2 -o "$TMP/forwarder" "$FORWARDER_SRC" >"$TMP/forwarder-cc.log" 2>&1 \
        || { cat "$TMP/forwarder-cc.log" >&2; die "cannot build $FORWARDER_SRC"; }
}

# start_forwarder NAME PORT [--splice] : the forwarder on :PORT, 80/20 over the arms; pid in FORWARDER_PID[NAME].
declare -A FORWARDER_PID=()
start_forwarder() {
    local name="$1" port="$2"; shift 2
    log "starting $name (forwarder --threads $FORWARDER_THREADS${1:+ $1}) on :$port"
    "$TMP/forwarder" --listen "127.0.0.1:$port" --upstream "127.0.0.1:$PORT_PRIMARY:80" \
        --upstream "127.0.0.1:$PORT_CANARY:20" --threads "$FORWARDER_THREADS" "$@" >"$TMP/$name.log" 2>&1 &
    FORWARDER_PID[$name]=$!
    wait_port "${FORWARDER_PID[$name]}" "$port" "$name" "$TMP/$name.log"
}

# ---------------------------------------------------------------- certificate (as tls-compare.sh)
make_certificate() {
    CERT="$TMP/cert.pem"; KEY="$TMP/key.pem"; COMBINED="$TMP/combined.pem"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
        -keyout "$KEY" -out "$CERT" >"$TMP/openssl-req.log" 2>&1 || { cat "$TMP/openssl-req.log" >&2; die "openssl req failed"; }
    cat "$CERT" "$KEY" >"$COMBINED"   # HAProxy wants certificate + key in one PEM
    chmod 644 "$KEY" "$COMBINED"      # nginx workers may not run as root
}
