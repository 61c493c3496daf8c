// How a fuzz target reports a broken invariant: a message on stderr, then a trap libFuzzer records as a crash.
#if canImport(Glibc)
import Glibc
#endif

/// Traps (so libFuzzer saves the input) when `condition` is false; the message says which invariant broke.
public func invariant(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                      file: StaticString = #fileID, line: UInt = #line) {
    guard !condition() else { return }
    var text = "invariant broken at \(file):\(line): \(message())\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    abort()
}

/// Printable form of bytes for invariant messages.
public func show(_ bytes: UnsafeRawBufferPointer) -> String {
    String(decoding: bytes, as: UTF8.self).debugDescription
}
