// The comparison of a mirrored pair: the primary's response and the canary's, by status, representation and latency.
import Config
import EventLoop
import HTTP

/// `mirror.compare` in the loops' terms (nanoseconds, lower-case byte names, split paths).
struct MirrorComparePolicy: Sendable {
    var status = true
    var body = true
    var latency = true
    var latencyRatio = 2.0
    var latencyFloorNanoseconds: UInt64 = 50_000_000
    /// Lower-case field names left out of the comparison.
    var ignoreHeaders: [[UInt8]] = []
    /// Dotted paths, split.
    var ignoreJSONFields: [[[UInt8]]] = []

    init() {}

    init(_ config: MirrorCompareConfig) {
        status = config.status
        body = config.body
        latency = config.latency
        latencyRatio = config.latencyRatio
        latencyFloorNanoseconds = config.latencyFloor.nanoseconds
        ignoreHeaders = config.ignoreHeaders.map { Array($0.lowercased().utf8) }
        ignoreJSONFields = config.ignoreJSONFields.map { $0.split(separator: ".").map { Array($0.utf8) } }
    }
}

/// One side of a mirrored pair as the comparison reads it.
struct MirrorResponse {
    var status: Int
    /// The head's bytes, which `headers` index.
    var head: UnsafeRawBufferPointer
    var headers: [HeaderField]
    var body: MirrorBodyCapture
    var latencyNanoseconds: UInt64
}

/// The kinds in which a mirrored pair differed.
struct MirrorDifferences: Equatable {
    var status = false
    var body = false
    var latency = false

    var any: Bool { status || body || latency }
}

extension MirrorComparePolicy {
    /// How `mirror` (the canary's response) differs from `primary`.
    ///
    /// - status: the codes differ.
    /// - body: the header fields compared differ (as a multiset of name and value; every field but the
    ///   hop-by-hop ones, the framing ones — Content-Length, Transfer-Encoding — Date and `ignoreHeaders`),
    ///   or the decoded bodies differ: byte for byte, or, with `ignoreJSONFields` and both Content-Types
    ///   JSON and both bodies whole (within `maxBodyBytes`), as JSON values without those members.
    /// - latency: the mirror took longer than max(`latencyRatio` × primary, primary + floor).
    func differences(primary: MirrorResponse, mirror: MirrorResponse) -> MirrorDifferences {
        var result = MirrorDifferences()
        result.status = status && primary.status != mirror.status
        result.body = body && (!sameFields(primary, mirror) || !sameBody(primary, mirror))
        if latency {
            let scaled = Double(primary.latencyNanoseconds) * latencyRatio
            let allowed = max(scaled >= 1.8e19 ? UInt64.max : UInt64(scaled), primary.latencyNanoseconds &+ latencyFloorNanoseconds)
            result.latency = mirror.latencyNanoseconds > allowed
        }
        return result
    }

    private func sameBody(_ a: MirrorResponse, _ b: MirrorResponse) -> Bool {
        if a.body.sameBytes(as: b.body) { return true }
        guard !ignoreJSONFields.isEmpty, a.body.isWhole, b.body.isWhole, isJSON(a), isJSON(b),
            var x = MirrorJSON.parse(a.body.prefix), var y = MirrorJSON.parse(b.body.prefix)
        else { return false }
        for path in ignoreJSONFields {
            x.remove(path: path[...])
            y.remove(path: path[...])
        }
        return x == y
    }

    /// Content-Type `application/json`, `…+json` and the like: its media type mentions json.
    private func isJSON(_ r: MirrorResponse) -> Bool {
        guard let value = fieldValue(r, "content-type") else { return false }
        guard value.count >= 4 else { return false }
        return (0...(value.count - 4)).contains { fieldNameIs(UnsafeRawBufferPointer(rebasing: value[$0..<$0 + 4]), "json") }
    }

    private func fieldValue(_ r: MirrorResponse, _ name: StaticString) -> UnsafeRawBufferPointer? {
        for f in r.headers where fieldNameIs(r.head.slice(f.name), name) { return r.head.slice(f.value) }
        return nil
    }

    /// The compared fields of both sides are the same multiset: equal counts, and each field of `a`
    /// occurs as often in `b` as in `a`. Quadratic in the fields, allocation-free.
    private func sameFields(_ a: MirrorResponse, _ b: MirrorResponse) -> Bool {
        var countA = 0
        var countB = 0
        for f in a.headers where isCompared(f, in: a.head) { countA += 1 }
        for f in b.headers where isCompared(f, in: b.head) { countB += 1 }
        guard countA == countB else { return false }
        for f in a.headers where isCompared(f, in: a.head) {
            if occurrences(of: f, from: a, in: a) != occurrences(of: f, from: a, in: b) { return false }
        }
        return true
    }

    private func occurrences(of field: HeaderField, from source: MirrorResponse, in r: MirrorResponse) -> Int {
        let name = source.head.slice(field.name)
        let value = source.head.slice(field.value)
        var n = 0
        for f in r.headers where isCompared(f, in: r.head) {
            if equalIgnoringASCIICase(r.head.slice(f.name), name) && r.head.slice(f.value).elementsEqual(value) { n += 1 }
        }
        return n
    }

    private func isCompared(_ f: HeaderField, in head: UnsafeRawBufferPointer) -> Bool {
        if f.isHopByHop || f.wellKnown == .contentLength || f.wellKnown == .transferEncoding { return false }
        let name = head.slice(f.name)
        if fieldNameIs(name, "date") { return false }
        for ignored in ignoreHeaders where ignored.withUnsafeBytes({ equalIgnoringASCIICase(name, $0) }) { return false }
        return true
    }
}
