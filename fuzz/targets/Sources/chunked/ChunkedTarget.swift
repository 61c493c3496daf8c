// Fuzz target `chunked`: ChunkedScanner over arbitrary bytes, whole and in many splits, which must all agree.
import FuzzSupport
import HTTP

/// What one pass over the input amounts to, in absolute terms (a split pass reports per piece).
struct Outcome: Equatable {
    enum End: Equatable {
        /// Every byte was taken and the body is not over.
        case open
        /// The body ended at this offset of the input.
        case doneAt(Int)
        case failed(HTTPParseError)
    }
    var end: End
    var payload: [UInt8]
}

/// Scans `input` in the pieces `cuts` make, as the proxy does with reads of arbitrary sizes.
func scan(_ input: UnsafeRawBufferPointer, cuts: [Int]) -> Outcome {
    var scanner = ChunkedScanner()
    var payload: [UInt8] = []
    var start = 0
    for stop in cuts + [input.count] {
        let piece = UnsafeRawBufferPointer(rebasing: input[start..<stop])
        let result = scanner.decode(piece) { run in
            invariant(run.count > 0, "an empty payload run")
            payload.append(contentsOf: run)
        }
        switch result {
        case .needMore(let consumed):
            invariant(consumed == piece.count, "needMore consumed \(consumed) of a \(piece.count)-byte piece")
        case .done(let consumed):
            invariant(consumed >= 1 && consumed <= piece.count, "done consumed \(consumed) of a \(piece.count)-byte piece")
            invariant(payload.count < start + consumed, "more payload than bytes consumed")
            // Once done, the scanner takes nothing more: what follows is the next message.
            invariant(scanner.scan(UnsafeRawBufferPointer(rebasing: input[start..<stop])) == .done(consumed: 0),
                      "a finished scanner consumed more")
            return Outcome(end: .doneAt(start + consumed), payload: payload)
        case .error(let error):
            invariant(error.status == 400, "chunked error with status \(error.status)")
            invariant(scanner.scan(piece) == .error(error), "a failed scanner did not stay failed")
            return Outcome(end: .failed(error), payload: payload)
        }
        start = stop
    }
    return Outcome(end: .open, payload: payload)
}

/// The body re-framed as one chunk (or none) and a last-chunk: what any correct de-chunking must yield again.
func rechunk(_ payload: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    if !payload.isEmpty {
        out += Array(String(payload.count, radix: 16).utf8) + [13, 10] + payload + [13, 10]
    }
    return out + Array("0\r\n\r\n".utf8)
}

/// One input: everything is checked, and a broken invariant aborts (libFuzzer saves the input). Exported under
/// libFuzzer's name too, which its runtime's unused main still refers to.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzChunked(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let whole = scan(input, cuts: [])
    for round: UInt64 in 0..<4 {
        let cuts = Splits.cuts(of: input, round: round)
        let split = scan(input, cuts: cuts)
        // Where an error is first seen may differ with the split, but not whether there is one, nor its reason.
        invariant(split == whole, "split at \(cuts): \(split) but whole: \(whole) for \(show(input))")
    }
    if case .doneAt = whole.end {
        let again = rechunk(whole.payload)
        let reread = again.withUnsafeBytes { scan($0, cuts: []) }
        invariant(reread == Outcome(end: .doneAt(again.count), payload: whole.payload),
                  "re-chunked body reads as \(reread)")
    }
    return 0
}
