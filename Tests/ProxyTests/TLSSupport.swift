// TLS test fixtures for loops built by hand: a certificate and key for proxy.test, their files, a client socket, and bytes pending on a socket.
import EventLoop
import Glibc

/// Bytes waiting in a socket's receive queue.
func pendingBytes(_ fd: Int32) -> Int32 {
    var count: Int32 = 0
    _ = ioctl(fd, UInt(FIONREAD), &count)
    return count
}

/// A blocking connect to 127.0.0.1:`port`, then non-blocking (as the client's TLS session expects).
func connectedSocket(port: UInt16) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    let rc = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    if rc != 0 {
        let error = Errno.current
        Glibc.close(fd)
        throw error
    }
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    return fd
}

/// A temporary directory for the certificate files the listener's config names.
struct TestFiles {
    let path: String
    init() throws {
        var template = Array("/tmp/canarygate-proxytests-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else { throw Errno.current }
        path = String(cString: made)
    }
    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        guard let f = fopen(file, "w") else { throw Errno.current }
        defer { fclose(f) }
        fputs(text, f)
        return file
    }
    func remove() {
        for name in ["cert.pem", "key.pem"] { unlink(path + "/" + name) }
        rmdir(path)
    }
}

// Self-signed P-256, CN and subjectAltName proxy.test, valid until 2126: a fixture, not a secret.
let testCertificate = """
-----BEGIN CERTIFICATE-----
MIIBmTCCAT6gAwIBAgIUQXEdOhwJ5003qXrOxrOy8+7x/HkwCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKcHJveHkudGVzdDAgFw0yNjExMjcwMzM3MzhaGA8yMTI2MTEw
MzAzMzczOFowFTETMBEGA1UEAwwKcHJveHkudGVzdDBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABIUyB3T9xytOAmot7IjBrytS1+OtBmoz6nnXCdbC8KqbKwYTldMq
weurkFV8C8DdFtOMArYGieNZWEdSaCZykM2jajBoMB0GA1UdDgQWBBTNiZgg/5io
UdQlbJhbwZMFGnmwgTAfBgNVHSMEGDAWgBTNiZgg/5ioUdQlbJhbwZMFGnmwgTAP
BgNVHRMBAf8EBTADAQH/MBUGA1UdEQQOMAyCCnByb3h5LnRlc3QwCgYIKoZIzj0E
AwIDSQAwRgIhAIsl8pcY90EW8lkhRHRoNITIgmo11U+qumLZmhypQ0D0AiEA9E8c
d1L693mEpVydtbj5VgW4+Yf1T8y1WwEyel/Nd1o=
-----END CERTIFICATE-----
"""

let testKey = """
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgecZ2ZSo/i/MGxL+P
/Ko08mAYajLnX4lDcul1HpSD5k6hRANCAASFMgd0/ccrTgJqLeyIwa8rUtfjrQZq
M+p51wnWwvCqmysGE5XTKsHrq5BVfAvA3RbTjAK2BonjWVhHUmgmcpDN
-----END PRIVATE KEY-----
"""
