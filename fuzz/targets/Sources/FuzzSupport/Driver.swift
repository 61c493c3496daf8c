// Runs libFuzzer with a target's per-input function: SwiftPM names each executable's entry point itself,
// so libFuzzer's own main is never linked and each target's main.swift calls this instead.
import CLibFuzzer
#if canImport(Glibc)
import Glibc
#endif

public typealias FuzzInput = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

public func runFuzzer(_ testOneInput: FuzzInput) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
}
