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
    }

    @Test func theFileIsReadableByItsOwnerOnly() throws {
        let store = StateStore(path: hookTestDirectory() + "/state.json")
        try store.save(Array("{}".utf8))
        var info = stat()
        #expect(stat(store.path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    @Test func symlinksPlantedAtTemporaryNamesOrTheTargetAreNeverFollowed() throws {
        let directory = hookTestDirectory()
        let path = directory + "/state.json"
        let victims = hookTestDirectory()
        // Plausible temporary names (including the one this store used to take: the pid's), and the target.
        let planted = ["\(path).tmp-\(getpid())", "\(path).tmp", "\(path).new", "\(path)~", "\(directory)/.state.json.tmp", path]
        for (index, link) in planted.enumerated() {
            let victim = "\(victims)/victim-\(index)"
            #expect(FileManager.default.createFile(atPath: victim, contents: Data("precious \(index)".utf8)))
            #expect(symlink(victim, link) == 0)
        }
        try StateStore(path: path).save(Array("new state".utf8))
        for index in planted.indices {
            #expect(try String(contentsOfFile: "\(victims)/victim-\(index)", encoding: .utf8) == "precious \(index)")
        }
        var info = stat()
        #expect(lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG, "the target is a regular file now")
        #expect(try StateStore(path: path).load() == Array("new state".utf8))
    }

    @Test func aDirectoryOthersCanWriteIsRefusedEvenWithTheStickyBit() throws {
        for mode: mode_t in [0o777, 0o775, 0o1777, 0o757] {
            let directory = hookTestDirectory()
            #expect(chmod(directory, mode) == 0)
            let store = StateStore(path: directory + "/state.json")
            #expect(throws: StateDirectoryError.self) { try store.save(Array("x".utf8)) }
            #expect(throws: StateDirectoryError.self) { try store.checkDirectory() }
            #expect(!FileManager.default.fileExists(atPath: store.path))
        }
        let privateDirectory = hookTestDirectory()
        #expect(chmod(privateDirectory, 0o755) == 0)
        try StateStore(path: privateDirectory + "/state.json").save(Array("x".utf8))
        // Not created yet: judged by the nearest directory that exists, where it would be created.
        try StateStore(path: privateDirectory + "/sub/dir/state.json").checkDirectory()
        let open = hookTestDirectory()
        #expect(chmod(open, 0o777) == 0)
        do {
            try StateStore(path: open + "/sub/state.json").checkDirectory()
            Issue.record("a missing directory under a world-writable one was accepted")
        } catch {
            #expect(
                error.description.hasPrefix(
                    "state.path: \(open)/sub/state.json: its directory \(open) is writable by every user (mode 777)"),
                "\(error)")
        }
    }

    @Test func anUnreadableFileIsSetAsideWithoutReplacingAnEarlierOne() throws {
        let directory = hookTestDirectory()
        let store = StateStore(path: directory + "/state.json")
        try store.save(Array("first corrupt".utf8))
        let first = try store.setAside(unixTime: 1_765_000_000)
        #expect(first == store.path + ".corrupt-20251206T054640Z")
        try store.save(Array("second corrupt".utf8))
        let second = try store.setAside(unixTime: 1_765_000_000)
        #expect(second == first + "-1")
        #expect(try String(contentsOfFile: first, encoding: .utf8) == "first corrupt")
        #expect(try String(contentsOfFile: second, encoding: .utf8) == "second corrupt")
        #expect(try store.load() == nil)
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
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["state.json"])
    }
}

/// A flag shared with the reader thread.
private final class Atomicish: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
