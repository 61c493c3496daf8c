// The Prometheus text: escaping, number formats, the exact rendering of a snapshot, promtool's verdict.
import Foundation
import Testing
import Telemetry

@Suite struct PrometheusTests {
    @Test func escapesLabelValuesAndHelp() {
        #expect(PrometheusWriter.escapeLabelValue(#"a\b"c"#) == #"a\\b\"c"#)
        #expect(PrometheusWriter.escapeLabelValue("line\nbreak") == #"line\nbreak"#)
        #expect(PrometheusWriter.escapeLabelValue("plain/é") == "plain/é")
        #expect(PrometheusWriter.escapeHelp("a \"quote\" \\ and\nline") == #"a "quote" \\ and\nline"#)
        var writer = PrometheusWriter()
        writer.family("x_total", type: .counter, help: "X.")
        writer.sample("x_total", [("route", "we\"ird\\\n")], UInt64(3))
        #expect(writer.text == "# HELP x_total X.\n# TYPE x_total counter\nx_total{route=\"we\\\"ird\\\\\\n\"} 3\n")
    }

    @Test func formatsNumbers() {
        #expect(PrometheusWriter.formatFloat(1) == "1")
        #expect(PrometheusWriter.formatFloat(60) == "60")
        #expect(PrometheusWriter.formatFloat(0.0025) == "0.0025")
        #expect(PrometheusWriter.formatFloat(-3) == "-3")
        #expect(PrometheusWriter.formatFloat(.infinity) == "+Inf")
        #expect(PrometheusWriter.formatFloat(-.infinity) == "-Inf")
        #expect(PrometheusWriter.formatFloat(.nan) == "NaN")
        #expect(PrometheusWriter.formatFloat(1e300) == "1e+300")
        #expect(PrometheusWriter.formatSeconds(nanoseconds: 0) == "0")
        #expect(PrometheusWriter.formatSeconds(nanoseconds: 1) == "0.000000001")
        #expect(PrometheusWriter.formatSeconds(nanoseconds: 1_500_000_000) == "1.5")
        #expect(PrometheusWriter.formatSeconds(nanoseconds: 3_000_000_000) == "3")
        #expect(PrometheusWriter.formatSeconds(nanoseconds: 12_000_345_000) == "12.000345")
    }

    @Test func exportedBucketsAreCumulativeAndComplete() {
        var histogram = HistogramSnapshot()
        for ms in [0.5, 1.5, 3, 7, 20, 40, 90, 200, 400, 900, 2_000, 4_000, 9_000, 20_000, 50_000, 70_000] {
            histogram.record(nanoseconds: UInt64(ms * 1_000_000))
        }
        var writer = PrometheusWriter()
        renderRouteMetrics(
            MetricsSnapshot(routes: [RouteSnapshot(name: "r", primary: ArmSnapshot(requestsByStatus: [200: 16], histogram: histogram))]),
            into: &writer)
        let buckets = writer.text.split(separator: "\n").filter {
            $0.hasPrefix("canarygate_request_duration_seconds_bucket{route=\"r\",arm=\"primary\"")
        }
        #expect(buckets.map { $0.split(separator: " ").last! } == (1...16).map { Substring(String($0)) })
    }

    /// One route, a few responses: the whole text, byte for byte.
    @Test func goldenRendering() {
        let registry = MetricsRegistry(loopCount: 1)
        let primary = registry.shard(route: "checkout \"v2\"", arm: .primary, loop: 0)
        let canary = registry.shard(route: "checkout \"v2\"", arm: .canary, loop: 0)
        primary.requestStarted()
        primary.recordResponse(status: 200, latencyNanoseconds: 800_000, bytesFromClient: 120, bytesToClient: 2_048)
        primary.requestStarted()
        primary.recordResponse(status: 404, latencyNanoseconds: 30_000_000, bytesFromClient: 80, bytesToClient: 100)
        primary.requestStarted()
        canary.requestStarted()
        canary.recordFailure(.connectTimeout)
        canary.recordResponse(status: 504, latencyNanoseconds: 2_000_000_000, bytesFromClient: 90, bytesToClient: 0)
        canary.requestStarted()
        canary.recordAbort()
        var writer = PrometheusWriter()
        renderRouteMetrics(registry.snapshot(), into: &writer)
        let expected = #"""
            # HELP canarygate_requests_total Responses sent to clients, by HTTP status code.
            # TYPE canarygate_requests_total counter
            canarygate_requests_total{route="checkout \"v2\"",arm="primary",code="200"} 1
            canarygate_requests_total{route="checkout \"v2\"",arm="primary",code="404"} 1
            canarygate_requests_total{route="checkout \"v2\"",arm="canary",code="504"} 1
            # HELP canarygate_request_duration_seconds Time from the request head parsed to the last response byte sent.
            # TYPE canarygate_request_duration_seconds histogram
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="primary",le="0.001"} 1
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="primary",le="0.0025"} 1
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="primary",le="0.005"} 1
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="primary",le="0.01"} 1
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="primary",le="0.025"} 1
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="primary",le="0.05"} 2
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="primary",le="0.1"} 2
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="primary",le="0.25"} 2
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="primary",le="0.5"} 2
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="primary",le="1"} 2
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="primary",le="2.5"} 2
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="primary",le="5"} 2
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="primary",le="10"} 2
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="primary",le="30"} 2
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="primary",le="60"} 2
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="primary",le="+Inf"} 2
            canarygate_request_duration_seconds_sum{route="checkout \"v2\"",arm="primary"} 0.0308
            canarygate_request_duration_seconds_count{route="checkout \"v2\"",arm="primary"} 2
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="canary",le="0.001"} 0
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="canary",le="0.0025"} 0
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="canary",le="0.005"} 0
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="canary",le="0.01"} 0
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="canary",le="0.025"} 0
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="canary",le="0.05"} 0
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="canary",le="0.1"} 0
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="canary",le="0.25"} 0
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="canary",le="0.5"} 0
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="canary",le="1"} 0
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="canary",le="2.5"} 1
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="canary",le="5"} 1
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="canary",le="10"} 1
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="canary",le="30"} 1
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="canary",le="60"} 1
            canarygate_request_duration_seconds_bucket{route="checkout \"v2\"",arm="canary",le="+Inf"} 1
            canarygate_request_duration_seconds_sum{route="checkout \"v2\"",arm="canary"} 2
            canarygate_request_duration_seconds_count{route="checkout \"v2\"",arm="canary"} 1
            # HELP canarygate_upstream_failures_total Failed exchanges with the arm's upstream, by source.
            # TYPE canarygate_upstream_failures_total counter
            canarygate_upstream_failures_total{route="checkout \"v2\"",arm="primary",source="connect_refused"} 0
            canarygate_upstream_failures_total{route="checkout \"v2\"",arm="primary",source="connect_failed"} 0
            canarygate_upstream_failures_total{route="checkout \"v2\"",arm="primary",source="connect_timeout"} 0
            canarygate_upstream_failures_total{route="checkout \"v2\"",arm="primary",source="tls_handshake_failed"} 0
            canarygate_upstream_failures_total{route="checkout \"v2\"",arm="primary",source="upstream_reset"} 0
            canarygate_upstream_failures_total{route="checkout \"v2\"",arm="primary",source="upstream_closed"} 0
            canarygate_upstream_failures_total{route="checkout \"v2\"",arm="primary",source="invalid_response"} 0
            canarygate_upstream_failures_total{route="checkout \"v2\"",arm="primary",source="response_timeout"} 0
            canarygate_upstream_failures_total{route="checkout \"v2\"",arm="primary",source="grpc_error"} 0
            canarygate_upstream_failures_total{route="checkout \"v2\"",arm="canary",source="connect_refused"} 0
            canarygate_upstream_failures_total{route="checkout \"v2\"",arm="canary",source="connect_failed"} 0
            canarygate_upstream_failures_total{route="checkout \"v2\"",arm="canary",source="connect_timeout"} 1
            canarygate_upstream_failures_total{route="checkout \"v2\"",arm="canary",source="tls_handshake_failed"} 0
            canarygate_upstream_failures_total{route="checkout \"v2\"",arm="canary",source="upstream_reset"} 0
            canarygate_upstream_failures_total{route="checkout \"v2\"",arm="canary",source="upstream_closed"} 0
            canarygate_upstream_failures_total{route="checkout \"v2\"",arm="canary",source="invalid_response"} 0
            canarygate_upstream_failures_total{route="checkout \"v2\"",arm="canary",source="response_timeout"} 0
            canarygate_upstream_failures_total{route="checkout \"v2\"",arm="canary",source="grpc_error"} 0
            # HELP canarygate_downstream_aborts_total Requests abandoned by the client before the response was complete.
            # TYPE canarygate_downstream_aborts_total counter
            canarygate_downstream_aborts_total{route="checkout \"v2\"",arm="primary"} 0
            canarygate_downstream_aborts_total{route="checkout \"v2\"",arm="canary"} 1
            # HELP canarygate_slow_in_flight_total Requests of a managed route found still in flight past the judges' slow threshold, counted then (once each).
            # TYPE canarygate_slow_in_flight_total counter
            canarygate_slow_in_flight_total{route="checkout \"v2\"",arm="primary"} 0
            canarygate_slow_in_flight_total{route="checkout \"v2\"",arm="canary"} 0
            # HELP canarygate_slow_in_flight_answered_total Requests counted in canarygate_slow_in_flight_total that then got a response (also in the duration histogram).
            # TYPE canarygate_slow_in_flight_answered_total counter
            canarygate_slow_in_flight_answered_total{route="checkout \"v2\"",arm="primary"} 0
            canarygate_slow_in_flight_answered_total{route="checkout \"v2\"",arm="canary"} 0
            # HELP canarygate_retried_failures_total Responses without a 5xx whose request had a failed attempt hidden by a retry; the judges count them as failed.
            # TYPE canarygate_retried_failures_total counter
            canarygate_retried_failures_total{route="checkout \"v2\"",arm="primary"} 0
            canarygate_retried_failures_total{route="checkout \"v2\"",arm="canary"} 0
            # HELP canarygate_retries_total Attempts sent again, to the same arm, after a failure.
            # TYPE canarygate_retries_total counter
            canarygate_retries_total{route="checkout \"v2\"",arm="primary"} 0
            canarygate_retries_total{route="checkout \"v2\"",arm="canary"} 0
            # HELP canarygate_endpoint_ejections_total Times an endpoint of the arm was taken out of rotation by outlier detection (per loop).
            # TYPE canarygate_endpoint_ejections_total counter
            canarygate_endpoint_ejections_total{route="checkout \"v2\"",arm="primary"} 0
            canarygate_endpoint_ejections_total{route="checkout \"v2\"",arm="canary"} 0
            # HELP canarygate_received_bytes_total Request bytes received from clients, counted when the response is complete.
            # TYPE canarygate_received_bytes_total counter
            canarygate_received_bytes_total{route="checkout \"v2\"",arm="primary"} 200
            canarygate_received_bytes_total{route="checkout \"v2\"",arm="canary"} 90
            # HELP canarygate_sent_bytes_total Response bytes sent to clients, counted when the response is complete.
            # TYPE canarygate_sent_bytes_total counter
            canarygate_sent_bytes_total{route="checkout \"v2\"",arm="primary"} 2148
            canarygate_sent_bytes_total{route="checkout \"v2\"",arm="canary"} 0
            # HELP canarygate_requests_in_flight Requests started and not yet answered or aborted.
            # TYPE canarygate_requests_in_flight gauge
            canarygate_requests_in_flight{route="checkout \"v2\"",arm="primary"} 1
            canarygate_requests_in_flight{route="checkout \"v2\"",arm="canary"} 0
            # HELP canarygate_tunnels_active Tunnels open (after a 101 or an extended CONNECT's 200).
            # TYPE canarygate_tunnels_active gauge
            canarygate_tunnels_active{route="checkout \"v2\"",arm="primary"} 0
            canarygate_tunnels_active{route="checkout \"v2\"",arm="canary"} 0
            # HELP canarygate_tunnel_duration_seconds Lives of the tunnels that ended, from the switch of protocols to the close.
            # TYPE canarygate_tunnel_duration_seconds summary
            canarygate_tunnel_duration_seconds_sum{route="checkout \"v2\"",arm="primary"} 0
            canarygate_tunnel_duration_seconds_count{route="checkout \"v2\"",arm="primary"} 0
            canarygate_tunnel_duration_seconds_sum{route="checkout \"v2\"",arm="canary"} 0
            canarygate_tunnel_duration_seconds_count{route="checkout \"v2\"",arm="canary"} 0

            """#
        #expect(writer.text == expected)
    }

    /// A realistic render through `promtool check metrics`: no finding, exit 0. CI installs promtool
    /// (Debian package `prometheus`); without it this test fails rather than pass silently.
    @Test func promtoolAcceptsARealisticRender() throws {
        let registry = MetricsRegistry(loopCount: 2)
        var rng = SplitMix64(seed: 42)
        for route in ["api", "web/static"] {
            for arm in Arm.allCases {
                for loop in 0..<2 {
                    let shard = registry.shard(route: route, arm: arm, loop: loop)
                    for _ in 0..<500 {
                        shard.requestStarted()
                        let status = [200, 200, 201, 301, 404, 500, 502, 503].randomElement(using: &rng)!
                        if status >= 502 {
                            shard.recordFailure([.connectRefused, .responseTimeout, .upstreamReset].randomElement(using: &rng)!)
                        }
                        shard.recordResponse(
                            status: status, latencyNanoseconds: Distribution.bimodal.sample(&rng),
                            bytesFromClient: 300, bytesToClient: 5_000)
                    }
                    shard.requestStarted()
                    shard.recordAbort()
                    shard.requestStarted()
                }
            }
        }
        var writer = PrometheusWriter()
        renderRouteMetrics(registry.snapshot(), into: &writer)

        let process = Process()
        // Found on PATH, as a shell would.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["promtool", "check", "metrics"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(writer.text.utf8))
        try input.fileHandleForWriting.close()
        let report = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(
            process.terminationStatus == 0 && report.isEmpty,
            "promtool check metrics (install the Debian package prometheus if missing): status \(process.terminationStatus), output: \(report)"
        )
    }
}
