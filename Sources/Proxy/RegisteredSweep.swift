// The one walk over a reactor's registered objects that picks out two kinds of connection: drain, shutdown and the in-flight sweep share it.
import EventLoop

extension Reactor {
    /// Calls `first` with each registered `A` and `second` with each registered `B`, in slot order,
    /// skipping every other object (listeners, the wake reader). `A` and `B` are unrelated classes:
    /// an object that is both goes to `first` only. Off the request path: a drain, a shutdown, a 100 ms sweep.
    func forEachRegistered<A: Pollable, B: Pollable>(_ first: (A) -> Void, or second: (B) -> Void) {
        forEachRegistered { object in
            if let a = object as? A {
                first(a)
            } else if let b = object as? B {
                second(b)
            }
        }
    }
}
