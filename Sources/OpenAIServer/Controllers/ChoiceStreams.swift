import Foundation
import Hummingbird
import InferenceEngine
import Logging
import Templating

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

/// Every choice's reply, gathered for a non-streamed response.
struct CollectedChoices {
    var deltas: [GenerationDelta]
    var finish: [FinishReason]
    var usage: Usage
}

extension ChoiceStreams {
    /// Runs every choice to its end (non-streamed responses).
    func collect(promptTokens: Int, clock: inout TokenClock) async throws -> CollectedChoices {
        var out = CollectedChoices(deltas: Array(repeating: GenerationDelta(), count: streams.count),
                                   finish: Array(repeating: .stop, count: streams.count),
                                   usage: Usage(promptTokens: promptTokens, completionTokens: 0))
        for try await (i, event) in merged() {
            switch event {
            case .delta(let d):
                clock.tokens(d.tokenIDs.count, choice: i)
                out.deltas[i].append(d)
            case .finished(let reason, let u, _):
                out.finish[i] = reason
                out.usage.add(u)
            }
        }
        return out
    }

    /// Streams every choice as SSE chunks: `chunk(i, delta)` for each delta (nil: nothing to send), `final(i,
    /// reason)` when a choice ends, `usageChunk` after all when asked, then `[DONE]`. An error after the headers
    /// travels as an error event.
    func stream(promptTokens: Int, clock: inout TokenClock, writer: inout any ResponseBodyWriter,
                chunk: (Int, GenerationDelta) -> JSONValue?, final: (Int, FinishReason) -> JSONValue,
                usageChunk: ((Usage) -> JSONValue)?) async throws -> Usage {
        var usage = Usage(promptTokens: promptTokens, completionTokens: 0)
        do {
            for try await (i, event) in merged() {
                switch event {
                case .delta(let d):
                    clock.tokens(d.tokenIDs.count, choice: i)
                    if let c = chunk(i, d) { try await SSE.send(c, to: &writer) }
                case .finished(let reason, let u, _):
                    usage.add(u)
                    try await SSE.send(final(i, reason), to: &writer)
                }
            }
        } catch let error where !(error is CancellationError) {
            try await SSE.send(APIError.from(error).json, to: &writer)
        }
        if let usageChunk { try await SSE.send(usageChunk(usage), to: &writer) }
        try await SSE.done(&writer)
        return usage
    }
}

extension Usage {
    /// Adds a choice's completion to the request's usage (the prompt counts once).
    mutating func add(_ u: Usage) {
        completionTokens += u.completionTokens
        reasoningTokens += u.reasoningTokens
        // Choices of one prompt read it each; the prompt counts once, and so do its cached tokens.
        cachedTokens = max(cachedTokens, u.cachedTokens)
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

    /// The request's log line: id, status, tokens, time to first token, tokens/s.
    func log(_ logger: Logger, id: String, usage: Usage) {
        let s = summary
        logger.info("\(id) 200 prompt=\(usage.promptTokens) completion=\(usage.completionTokens) ttft=\(String(format: "%.3f", s.ttft))s rate=\(String(format: "%.1f", s.rate))tok/s")
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
