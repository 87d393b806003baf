import Foundation
import Hummingbird
import InferenceEngine
import Logging
import Templating

/// `POST /v1/completions`: raw prompts (text or token ids), no template, text returned as generated.
struct CompletionsController {
    let service: any InferenceService
    let metrics: ServerMetrics
    let limits: ServerLimits

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let body = try await readBody(request, limit: limits.maxBodyBytes)
        let completion = try CompletionRequest(FieldReader.body(body))
        try checkModel(completion.model, service)
        var prompts: [[Int]] = []
        for p in completion.prompts {
            switch p {
            case .ids(let ids): prompts.append(ids)
            case .text(let text): prompts.append(try await service.tokenize(text))
            }
        }
        let n = completion.sampling.n
        let constraint = try await completion.constraint.asyncMap { try await service.constraint($0.grammar, key: $0.key) }
        var requests: [GenerationRequest] = []
        for ids in prompts {
            for i in 0..<n {
                var g = completion.sampling.request(promptIDs: ids, base: service.defaultSampling, stopTokenIDs: service.stopTokenIDs,
                                                    contextLength: service.limits.contextLength, choice: i)
                g.topLogprobs = completion.logprobs
                g.constrain(constraint, thinkingBudget: nil, thinkEndTokenID: nil)
                requests.append(g)
            }
        }
        let streams = try ChoiceStreams(requests, service: service, started: started)
        let promptTokens = prompts.reduce(0) { $0 + $1.count }
        metrics.promptTokens.increment(by: Int64(promptTokens))
        let echoes = completion.echo ? prompts.map { service.decode($0) } : []
        let reply = CompletionReply(id: "cmpl-" + randomID(), model: service.modelID, created: Int(Date().timeIntervalSince1970),
                                    completion: completion, service: service, metrics: metrics, promptTokens: promptTokens,
                                    echo: { i in echoes.isEmpty ? "" : echoes[i / n] }, logger: context.logger)
        if completion.sampling.stream {
            return Response(status: .ok, headers: SSE.headers, body: ResponseBody { writer in
                try await reply.stream(streams, writer: &writer)
            })
        }
        return try await reply.whole(streams)
    }
}

struct CompletionReply {
    let id: String
    let model: String
    let created: Int
    let completion: CompletionRequest
    let service: any InferenceService
    let metrics: ServerMetrics
    let promptTokens: Int
    /// The echoed prompt text of choice i.
    let echo: @Sendable (Int) -> String
    let logger: Logger

    func whole(_ streams: ChoiceStreams) async throws -> Response {
        var clock = TokenClock(started: streams.started, metrics: metrics)
        let all = try await streams.collect(promptTokens: promptTokens, clock: &clock)
        let choices: [JSONValue] = all.deltas.indices.map { i in
            let prefix = echo(i)
            return .object([
                ("text", .string(prefix + all.deltas[i].content)), ("index", .int(i)),
                ("logprobs", completion.logprobs == nil ? .null
                    : ResponseJSON.completionLogprobs(all.deltas[i].logprobs, offset: prefix.utf16.count, service)),
                ("finish_reason", .string(all.finish[i].rawValue)),
            ])
        }
        let body = JSONValue.object([
            ("id", .string(id)), ("object", .string("text_completion")), ("created", .int(created)),
            ("model", .string(model)), ("choices", .array(choices)), ("usage", ResponseJSON.usage(all.usage)),
        ])
        clock.log(logger, id: id, usage: all.usage)
        return jsonResponse(body)
    }

    func stream(_ streams: ChoiceStreams, writer: inout any ResponseBodyWriter) async throws {
        var clock = TokenClock(started: streams.started, metrics: metrics)
        var offsets = (0..<streams.streams.count).map { echo($0).utf16.count }
        for i in streams.streams.indices where !echo(i).isEmpty {
            try await SSE.send(chunk(i, text: echo(i)), to: &writer)
        }
        let usage = try await streams.stream(
            promptTokens: promptTokens, clock: &clock, writer: &writer,
            chunk: { i, d in
                let lp = completion.logprobs == nil ? nil : ResponseJSON.completionLogprobs(d.logprobs, offset: offsets[i], service)
                offsets[i] += d.content.utf16.count
                if d.content.isEmpty && lp == nil { return nil }
                return chunk(i, text: d.content, logprobs: lp)
            },
            final: { i, reason in chunk(i, text: "", finish: reason) },
            usageChunk: completion.sampling.includeUsage ? { u in .object(header() + [("choices", .array([])), ("usage", ResponseJSON.usage(u))]) } : nil)
        clock.log(logger, id: id, usage: usage)
    }

    func header() -> [(String, JSONValue)] {
        [("id", .string(id)), ("object", .string("text_completion")), ("created", .int(created)), ("model", .string(model))]
    }

    func chunk(_ i: Int, text: String, logprobs: JSONValue? = nil, finish: FinishReason? = nil) -> JSONValue {
        .object(header() + [("choices", .array([.object([
            ("text", .string(text)), ("index", .int(i)), ("logprobs", logprobs ?? .null),
            ("finish_reason", finish.map { .string($0.rawValue) } ?? .null),
        ])]))])
    }
}
