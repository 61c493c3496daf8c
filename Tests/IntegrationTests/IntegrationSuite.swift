// The root suite: every integration test nests here and runs one at a time (timing-sensitive, real ports).
import Testing

/// The `canarygate` binary in front of real test upstreams, all over 127.0.0.1.
///
/// Run: `swift test --filter IntegrationTests` (SwiftPM builds the binary first: the target depends on it).
/// Environment: `CANARYGATE_BIN=/path/to/canarygate` tests another build (e.g. `.build/release/canarygate`);
/// `CANARYGATE_KEEP_LOGS=1` keeps each proxy's temp dir (config + stderr log) under `$TMPDIR`.
///
/// Serialized as a whole: the tests measure timeouts of a few hundred milliseconds and the proxy's
/// RSS, which parallel proxies and transfers on a 2-core machine would blur.
@Suite(.serialized, .timeLimit(.minutes(2)))
enum Integration {}
