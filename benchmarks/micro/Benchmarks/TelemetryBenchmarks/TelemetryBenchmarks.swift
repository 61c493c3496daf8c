// Measures the data-path cost of recording a response (target ≤ 10 ns) and of the bucket index.
import Benchmark
import Telemetry

/// Latencies spread over 0 – 1.07 s from a multiplicative hash of the iteration, so the bucket and
/// the status counter change from call to call as they do under real traffic; costs one multiply.
@inline(__always)
func latency(_ i: Int) -> UInt64 {
    UInt64(truncatingIfNeeded: i &* -7_046_029_254_386_353_131) >> 34
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        timeUnits: .nanoseconds,
        scalingFactor: .mega,
        maxDuration: .seconds(5),
        maxIterations: 1_000
    )

    Benchmark("ArmShard.recordResponse") { benchmark in
        let shard = ArmShard()
        for i in benchmark.scaledIterations {
            shard.recordResponse(status: i & 63 == 0 ? 503 : 200, latencyNanoseconds: latency(i), bytesFromClient: 420, bytesToClient: 1_200)
        }
        blackHole(shard)
    }

    Benchmark("ArmShard.requestStarted + recordResponse") { benchmark in
        let shard = ArmShard()
        for i in benchmark.scaledIterations {
            shard.requestStarted()
            shard.recordResponse(status: i & 63 == 0 ? 503 : 200, latencyNanoseconds: latency(i), bytesFromClient: 420, bytesToClient: 1_200)
        }
        blackHole(shard)
    }

    Benchmark("LatencyBuckets.index(for:)") { benchmark in
        for i in benchmark.scaledIterations {
            blackHole(LatencyBuckets.index(for: latency(i)))
        }
    }

    // Off the data path, for scale: what one scrape of 10 routes on 4 loops costs.
    Benchmark("MetricsRegistry.snapshot, 10 routes x 4 loops", configuration: .init(scalingFactor: .one)) { benchmark in
        let registry = populatedRegistry()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(registry.snapshot())
        }
        // Freeing the 80 shards (element-by-element Atomic destruction) is not part of a scrape.
        benchmark.stopMeasurement()
    }

    Benchmark("renderRouteMetrics, 10 routes", configuration: .init(scalingFactor: .one)) { benchmark in
        let snapshot = populatedRegistry().snapshot()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var writer = PrometheusWriter()
            renderRouteMetrics(snapshot, into: &writer)
            blackHole(writer.text)
        }
    }
}

/// 10 routes, both arms, 4 loops, a thousand responses in every shard.
func populatedRegistry() -> MetricsRegistry {
    let registry = MetricsRegistry(loopCount: 4)
    for route in 0..<10 {
        for arm in Arm.allCases {
            for loop in 0..<4 {
                let shard = registry.shard(route: "route-\(route)", arm: arm, loop: loop)
                for i in 0..<1_000 { shard.recordResponse(status: 200 + i % 5, latencyNanoseconds: latency(i), bytesFromClient: 1, bytesToClient: 1) }
            }
        }
    }
    return registry
}
