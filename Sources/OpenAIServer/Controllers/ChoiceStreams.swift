import Foundation
import InferenceEngine

/// The event streams of a request's choices merged into one, tagged by choice index, with per-request timing
/// for the metrics and the log line. Dropping the merged stream (a client gone) cancels every choice.
struct ChoiceStreams {
    let streams: [GenerationStream]
    let started: ContinuousClock.Instant

    /// Submits one engine request per choice; if a later one is refused, the earlier ones are dropped (which
    /// cancels them) and the error propagates.
    init(_ requests: [GenerationRequest], service: any InferenceService, started: ContinuousClock.Instant) throws {
        streams = try requests.map { try service.generate($0) }
        self.started = started
    }

    func merged() -> AsyncThrowingStream<(Int, GenerationEvent), Error> {
        if streams.count == 1 {
            let only = streams[0]
            return AsyncThrowingStream { continuation in
                let task = Task {
                    do {
                        for try await e in only { continuation.yield((0, e)) }
                        continuation.finish()
                    } catch { continuation.finish(throwing: error) }
                }
                continuation.onTermination = { _ in task.cancel() }
            }
        }
        let all = streams
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for (i, s) in all.enumerated() {
                            group.addTask { for try await e in s { continuation.yield((i, e)) } }
                        }
                        try await group.waitForAll()
                    }
                    continuation.finish()
                } catch { continuation.finish(throwing: error) }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// Time to first token and inter-token gaps as the server hands tokens out.
struct TokenClock {
    let started: ContinuousClock.Instant
    var first: ContinuousClock.Instant?
    var last: [Int: ContinuousClock.Instant] = [:]
    var tokens = 0
    let metrics: ServerMetrics

    init(started: ContinuousClock.Instant, metrics: ServerMetrics) {
        self.started = started
        self.metrics = metrics
    }

    mutating func tokens(_ n: Int, choice: Int) {
        guard n > 0 else { return }
        let now = ContinuousClock.now
        if first == nil {
            first = now
            metrics.timeToFirstToken.record((now - started).seconds)
        }
        if let prev = last[choice] { metrics.interTokenLatency.record((now - prev).seconds / Double(n)) }
        last[choice] = now
        tokens += n
        metrics.generationTokens.increment(by: Int64(n))
    }

    /// Seconds to the first token, and tokens per second after it.
    var summary: (ttft: Double, rate: Double) {
        guard let first else { return (0, 0) }
        let after = (ContinuousClock.now - first).seconds
        return ((first - started).seconds, after > 0 ? Double(max(0, tokens - 1)) / after : 0)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
