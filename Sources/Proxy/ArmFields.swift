// The `x-canarygate-arm` field line of each route's arms, made once per snapshot for the response writers.
import Config
import HTTP

/// `tracing.armHeader`: each arm's `name: ARM/REVISION\r\n` (the revision an undo's override put on
/// the primary included, as the compiled routes hold it), in one block allocated when the snapshot is
/// built and freed with it. A request keeps its snapshot until it ends, so the `ArmField` views a
/// response writer is handed stay valid without a reference count or a copy per request.
/// Unchecked: the block is written only in `init`, then only read, by any loop.
final class ArmFields: @unchecked Sendable {
    private let block: UnsafeMutableRawBufferPointer
    /// Per route index: the primary's field, then the canary's (the primary's again when there is none).
    private let fields: [(primary: ArmField, canary: ArmField)]

    init(name: String, routes: [CompiledRoute]) {
        let nameBytes = Array(name.utf8)
        func line(_ role: String, _ arm: CompiledArm) -> [UInt8] { nameBytes + Array(": \(role)/\(arm.revision)\r\n".utf8) }
        let lines = routes.map { route in (line("primary", route.primary), route.canary.map { line("canary", $0) }) }
        let total = lines.reduce(0) { $0 + $1.0.count + ($1.1?.count ?? 0) }
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: 1)
        var offset = 0
        func place(_ bytes: [UInt8]) -> ArmField {
            let view = UnsafeMutableRawBufferPointer(rebasing: block[offset..<(offset + bytes.count)])
            view.copyBytes(from: bytes)
            offset += bytes.count
            return ArmField(line: UnsafeRawBufferPointer(view), nameCount: nameBytes.count)
        }
        var fields: [(primary: ArmField, canary: ArmField)] = []
        for (primary, canary) in lines {
            let p = place(primary)
            fields.append((p, canary.map(place) ?? p))
        }
        self.block = block
        self.fields = fields
    }

    deinit { block.deallocate() }

    /// The field for a request of route `index` served by `arm`.
    @inline(__always)
    func field(route index: Int, arm: ArmRole) -> ArmField {
        arm == .primary ? fields[index].primary : fields[index].canary
    }
}
