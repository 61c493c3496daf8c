// The process's open-file limit (RLIMIT_NOFILE): read, and raised to the hard limit at start.
import Glibc

public enum DescriptorLimit {
    /// RLIM_INFINITY, which Swift imports as a literal that does not fit rlim_t.
    private static let unlimited = rlim_t.max

    /// The soft limit now in force (the most descriptors the process may hold).
    public static var current: Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return limit.rlim_cur == unlimited ? Int(Int32.max) : Int(limit.rlim_cur)
    }

    /// Raises the soft limit to the hard one, as every proxy needs a descriptor per connection and the
    /// usual soft default (1024) is a compatibility figure for select(), not a policy. An unlimited hard
    /// limit is read as the kernel's per-process ceiling (`fs.nr_open`). Returns the soft limit before
    /// and after (equal when it was already at the hard limit or could not be raised).
    @discardableResult
    public static func raiseToHard() -> (before: Int, after: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return (current, current) }
        let before = current
        let target = limit.rlim_max == unlimited ? rlim_t(kernelCeiling) : limit.rlim_max
        if limit.rlim_cur != unlimited && limit.rlim_cur < target {
            limit.rlim_cur = target
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return (before, current)
    }

    /// `fs.nr_open`: no soft limit may exceed it (1048576 unless raised).
    private static var kernelCeiling: Int {
        let fd = open("/proc/sys/fs/nr_open", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return 1_048_576 }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 32)
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0, let value = Int(String(decoding: bytes[0..<n], as: UTF8.self).filter(\.isNumber)), value > 0 else { return 1_048_576 }
        return value
    }
}
