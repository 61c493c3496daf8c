// Starts the event-loop threads with a snapshot of the config, and the admin listener; stops them.
import Config
import EventLoop
import Glibc
import Logging
import Proxy
import Synchronization

public struct StartupError: Error, CustomStringConvertible {
    public var description: String
}

/// The running proxy: one `ProxyLoop` per thread, each with its own listeners (SO_REUSEPORT).
public final class Server: Sendable {
    public let snapshot: ProxySnapshot
    private let handles: [EventLoopHandle]
    private let threads: [LoopThread]
    private let admin: AdminServer

    public static func start(config: CanarygateConfig, threadCount: Int?, logger: Logger) throws -> Server {
        let snapshot: ProxySnapshot
        do { snapshot = try ProxySnapshot(config: config) } catch { throw StartupError(description: error.description) }
        let count = max(1, threadCount ?? config.threads ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

        // Each loop is built on its own thread; this collects their handles or their startup errors.
        let started = Mutex<[Int: Result<EventLoopHandle, StartupError>]>([:])
        var threads: [LoopThread] = []
        for i in 0..<count {
            threads.append(LoopThread.spawn {
                var log = logger
                log[metadataKey: "loop"] = "\(i)"
                let loop: ProxyLoop
                do {
                    loop = try ProxyLoop(index: i, snapshot: snapshot, log: log)
                } catch {
                    started.withLock { $0[i] = .failure(StartupError(description: "loop \(i): \(error)")) }
                    return
                }
                started.withLock { $0[i] = .success(loop.loop.handle) }
                loop.run()
                loop.shutdown()
            })
        }
        // Startup is bounded: binding sockets takes microseconds, so 10 s means something is wrong.
        var results: [Int: Result<EventLoopHandle, StartupError>] = [:]
        for _ in 0..<10_000 {
            results = started.withLock { $0 }
            if results.count == count { break }
            usleep(1000)
        }
        var handles: [EventLoopHandle] = []
        var failure: StartupError?
        for i in 0..<count {
            switch results[i] {
            case .success(let h): handles.append(h)
            case .failure(let e): failure = failure ?? e
            case nil: failure = failure ?? StartupError(description: "loop \(i) did not start")
            }
        }
        let admin: AdminServer
        do {
            if let failure { throw failure }
            admin = try AdminServer.start(address: config.admin.address, snapshot: snapshot, logger: logger)
        } catch {
            for h in handles { h.requestStop() }
            for t in threads { t.join() }
            throw error
        }
        return Server(snapshot: snapshot, handles: handles, threads: threads, admin: admin)
    }

    private init(snapshot: ProxySnapshot, handles: [EventLoopHandle], threads: [LoopThread], admin: AdminServer) {
        self.snapshot = snapshot
        self.handles = handles
        self.threads = threads
        self.admin = admin
    }

    /// Stops every loop (closing listeners and connections) and waits for the threads.
    public func stop() {
        admin.stop()
        for h in handles { h.requestStop() }
        for t in threads { t.join() }
    }
}
