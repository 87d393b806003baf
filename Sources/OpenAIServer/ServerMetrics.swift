import Foundation
import InferenceEngine
import Prometheus

/// The server's Prometheus metrics (`GET /metrics`): requests by endpoint and status, tokens, time to first
/// token and inter-token latency, queue depth and running sequences (read from the engine at scrape time).
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let promptTokens: Counter
    let generationTokens: Counter
    let timeToFirstToken: ValueHistogram
    let interTokenLatency: ValueHistogram
    let queueDepth: Gauge
    let running: Gauge
    let kvBytes: Gauge
    let cacheHits: Gauge
    let cacheMisses: Gauge
    let cachedTokens: Gauge
    let cacheBytes: Gauge

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        promptTokens = registry.makeCounter(name: "qwenkit_prompt_tokens_total", help: "Prompt tokens processed.")
        generationTokens = registry.makeCounter(name: "qwenkit_generation_tokens_total", help: "Tokens generated.")
        timeToFirstToken = registry.makeValueHistogram(
            name: "qwenkit_time_to_first_token_seconds",
            buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
            help: "Time from request arrival to the first generated token.")
        interTokenLatency = registry.makeValueHistogram(
            name: "qwenkit_inter_token_latency_seconds",
            buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.25, 0.5, 1],
            help: "Time between consecutive tokens of one sequence, as the server sends them.")
        queueDepth = registry.makeGauge(name: "qwenkit_queue_depth", help: "Requests waiting for a running slot.")
        running = registry.makeGauge(name: "qwenkit_running_sequences", help: "Sequences being generated.")
        kvBytes = registry.makeGauge(name: "qwenkit_kv_cache_bytes", help: "Bytes of KV cache and recurrent state held by running sequences.")
        cacheHits = registry.makeGauge(name: "qwenkit_prefix_cache_hits", help: "Requests that restored a cached prompt prefix.")
        cacheMisses = registry.makeGauge(name: "qwenkit_prefix_cache_misses", help: "Requests that found no cached prefix.")
        cachedTokens = registry.makeGauge(name: "qwenkit_prefix_cache_hit_tokens", help: "Prompt tokens served from the prefix cache.")
        cacheBytes = registry.makeGauge(name: "qwenkit_prefix_cache_bytes", help: "Bytes held by the prefix cache.")
    }

    func request(endpoint: String, status: Int) {
        registry.makeCounter(name: "qwenkit_requests_total", labels: [("endpoint", endpoint), ("status", String(status))],
                             help: "HTTP requests by endpoint and status.").increment()
    }

    /// The Prometheus text exposition, with the engine's gauges read now.
    func render(stats: SchedulerStats) -> String {
        queueDepth.set(to: Double(stats.waiting))
        running.set(to: Double(stats.running))
        kvBytes.set(to: Double(stats.kvBytes))
        cacheHits.set(to: Double(stats.cacheHits))
        cacheMisses.set(to: Double(stats.cacheMisses))
        cachedTokens.set(to: Double(stats.cachedTokens))
        cacheBytes.set(to: Double(stats.cacheBytes))
        return registry.emitToString()
    }
}
