// TLS test fixtures for loops built by hand: files of a certificate and key for proxy.test, a connected client socket, and bytes pending on a socket.
import EventLoop
import Glibc

/// Bytes waiting in a socket's receive queue.
func pendingBytes(_ fd: Int32) -> Int32 {
    var count: Int32 = 0
    _ = ioctl(fd, UInt(FIONREAD), &count)
    return count
}

/// A client socket connected to 127.0.0.1:`port` (non-blocking, as the client's TLS session expects).
func connectedSocket(port: UInt16) throws -> Int32 {
    let (socket, connected) = try SocketDescriptor.connect(to: SocketAddress.resolve(host: "127.0.0.1", port: port))
    if !connected {
        var wait = pollfd(fd: socket.raw, events: Int16(POLLOUT), revents: 0)
        _ = poll(&wait, 1, 2000)
        if let error = socket.pendingError() {
            socket.close()
            throw error
        }
    }
    return socket.raw
}

/// The test certificate and key written to a temporary directory, for a listener's `tls:` config.
struct CertificateFiles {
    let directory: String
    let certificate: String
    let key: String

    init() throws {
        var template = Array("/tmp/canarygate-proxytests-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else { throw Errno.current }
        directory = String(cString: made)
        certificate = directory + "/cert.pem"
        key = directory + "/key.pem"
        try Self.write(testCertificate, to: certificate)
        try Self.write(testKey, to: key)
    }

    private static func write(_ text: String, to file: String) throws {
        guard let f = fopen(file, "w") else { throw Errno.current }
        defer { fclose(f) }
        fputs(text, f)
    }

    func remove() {
        unlink(certificate)
        unlink(key)
        rmdir(directory)
    }
}

// Self-signed P-256, CN and subjectAltName proxy.test, valid until 2126: a fixture, not a secret.
private let testCertificate = """
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

private let testKey = """
    -----BEGIN PRIVATE KEY-----
    MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgecZ2ZSo/i/MGxL+P
    /Ko08mAYajLnX4lDcul1HpSD5k6hRANCAASFMgd0/ccrTgJqLeyIwa8rUtfjrQZq
    M+p51wnWwvCqmysGE5XTKsHrq5BVfAvA3RbTjAK2BonjWVhHUmgmcpDN
    -----END PRIVATE KEY-----
    """
