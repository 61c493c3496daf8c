// The state file: round trip, atomic replacement, directories made, a missing file, readable errors.
import Foundation
import Testing
@testable import Rollout

@Suite struct StateStoreTests {
    @Test func savedBytesLoadBack() throws {
        let store = StateStore(path: hookTestDirectory() + "/state.json")
        let document = Array(#"{"routes":{"web":{"phase":"Progressing","canaryWeight":25}}}"#.utf8)
        try store.save(document)
        #expect(try store.load() == document)
    }

    @Test func aMissingFileLoadsAsNil() throws {
        let store = StateStore(path: hookTestDirectory() + "/never-written.json")
        #expect(try store.load() == nil)
    }

    @Test func emptyAndLargeDocumentsRoundTrip() throws {
        let store = StateStore(path: hookTestDirectory() + "/state.json")
        try store.save([])
        #expect(try store.load() == [])
        let large = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try store.save(large)
        #expect(try store.load() == large)
    }

    @Test func anOverwriteLeavesTheNewContentAndNoTemporaryFile() throws {
        let directory = hookTestDirectory()
        let store = StateStore(path: directory + "/state.json")
        try store.save(Array("old document, rather longer than the new one".utf8))
        try store.save(Array("new".utf8))
        #expect(try store.load() == Array("new".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["state.json"])
        let attributes = try FileManager.default.attributesOfItem(atPath: store.path)
        #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o644 } == 0o644)
    }

    @Test func aReaderAlwaysSeesAWholeDocument() throws {
        let store = StateStore(path: hookTestDirectory() + "/state.json")
        let old = Array(String(repeating: "o", count: 10_000).utf8)
        let new = Array(String(repeating: "n", count: 3_000).utf8)
        try store.save(old)
        let done = Atomicish()
        let torn = Atomicish()
        let reader = Thread {
            while !done.isSet {
                let seen = try? store.load()
                if seen != old && seen != new { torn.set() }
            }
        }
        reader.start()
        for round in 0..<100 { try store.save(round.isMultiple(of: 2) ? new : old) }
        done.set()
        usleep(50_000)
        #expect(!torn.isSet)
    }

    @Test func missingDirectoriesAreCreated() throws {
        let root = hookTestDirectory()
        let store = StateStore(path: root + "/var/lib/canarygate/state.json")
        try store.save(Array("x".utf8))
        #expect(try store.load() == Array("x".utf8))
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: root + "/var/lib/canarygate", isDirectory: &isDirectory) && isDirectory.boolValue)
    }

    @Test func aRelativePathIsSavedInTheWorkingDirectory() {
        #expect(StateStore.parentDirectory(of: "state.json") == ".")
        #expect(StateStore.parentDirectory(of: "/state.json") == "/")
        #expect(StateStore.parentDirectory(of: "/var/lib/cg/state.json") == "/var/lib/cg")
        #expect(StateStore.parentDirectory(of: "a/b") == "a")
    }

    @Test func anUnwritablePathFailsWithThePathAndTheReason() throws {
        // Root ignores permission bits, so use a path under a regular file: no one can create that.
        let root = hookTestDirectory()
        let blocker = root + "/blocker"
        #expect(FileManager.default.createFile(atPath: blocker, contents: Data("file".utf8)))
        let store = StateStore(path: blocker + "/sub/state.json")
        do {
            try store.save(Array("x".utf8))
            Issue.record("save should have failed")
        } catch let error as StateStoreError {
            #expect(error.description == "state file: create directory \(blocker): Not a directory")
        }
        #expect(throws: StateStoreError.self) { try StateStore(path: blocker + "/state.json").load() }
        do {
            _ = try StateStore(path: blocker + "/state.json").load()
        } catch let error as StateStoreError {
            #expect(error.description == "state file: open \(blocker)/state.json: Not a directory")
        }
    }

    @Test func aDirectoryInThePlaceOfTheFileFailsTheRenameAndCleansUp() throws {
        let root = hookTestDirectory()
        let path = root + "/state.json"
        try FileManager.default.createDirectory(atPath: path + "/inner", withIntermediateDirectories: true)
        let store = StateStore(path: path)
        #expect(throws: StateStoreError.self) { try store.save(Array("x".utf8)) }
        #expect(!FileManager.default.fileExists(atPath: store.temporaryPath))
    }
}

/// A flag shared with the reader thread.
private final class Atomicish: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
