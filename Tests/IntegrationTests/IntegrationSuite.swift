// The root suite: every integration test nests here and runs one at a time (timing-sensitive, real ports).
import Testing

/// Serialized as a whole: the tests measure timeouts of a few hundred milliseconds and the proxy's
/// RSS, which parallel proxies and transfers on a 2-core machine would blur.
@Suite(.serialized, .timeLimit(.minutes(2)))
enum Integration {}
