import Foundation
import Hummingbird
import InferenceEngine
import Logging
import Templating

/// `POST /v1/chat/completions`: template → engine → reasoning / content / tool calls, streamed or whole.
struct ChatController {
    let service: any InferenceService
    let metrics: ServerMetrics
    let limits: ServerLimits

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let body = try await readBody(request, limit: limits.maxBodyBytes)
        let chat = try ChatCompletionRequest(FieldReader.body(body))
        try checkModel(chat.model, service)
        let prompt = try await service.prepareChat(messages: chat.messages, tools: chat.tools, options: chat.templateOptions)
        let id = "chatcmpl-" + randomID()
        let requests = (0..<chat.sampling.n).map { i in
            var g = chat.sampling.request(promptIDs: prompt.ids, base: service.defaultSampling, stopTokenIDs: service.stopTokenIDs,
                                          contextLength: service.limits.contextLength, choice: i)
            g.replyFormat = .chat
            g.startsInReasoning = prompt.startsInReasoning
            g.tools = chat.toolSpecs
            g.toolCallIDPrefix = "call_\(id.dropFirst(9).prefix(16))\(i)"
            g.topLogprobs = chat.logprobs ? (chat.topLogprobs ?? 0) : nil
            return g
        }
        let streams = try ChoiceStreams(requests, service: service, started: started)
        metrics.promptTokens.increment(by: Int64(prompt.ids.count))
        let reply = ChatReply(id: id, model: service.modelID, created: Int(Date().timeIntervalSince1970), chat: chat,
                              service: service, metrics: metrics, promptTokens: prompt.ids.count, logger: context.logger)
        if chat.sampling.stream {
            return Response(status: .ok, headers: SSE.headers, body: ResponseBody { writer in
                try await reply.stream(streams, writer: &writer)
            })
        }
        return try await reply.whole(streams)
    }
}

/// Builds the chat response from engine events.
struct ChatReply {
    let id: String
    let model: String
    let created: Int
    let chat: ChatCompletionRequest
    let service: any InferenceService
    let metrics: ServerMetrics
    let promptTokens: Int
    let logger: Logger

    /// `parallel_tool_calls: false`: only the first call is returned.
    func keep(_ calls: [ToolCallDelta]) -> [ToolCallDelta] {
        chat.parallelToolCalls ? calls : calls.filter { $0.index == 0 }
    }

    func whole(_ streams: ChoiceStreams) async throws -> Response {
        var clock = TokenClock(started: streams.started, metrics: metrics)
        var deltas = Array(repeating: GenerationDelta(), count: streams.streams.count)
        var finish = Array(repeating: FinishReason.stop, count: streams.streams.count)
        var usage = Usage(promptTokens: promptTokens, completionTokens: 0)
        for try await (i, event) in streams.merged() {
            switch event {
            case .delta(let d):
                clock.tokens(d.tokenIDs.count, choice: i)
                deltas[i].append(d)
            case .finished(let reason, let u, _):
                finish[i] = reason
                usage.completionTokens += u.completionTokens
                usage.reasoningTokens += u.reasoningTokens
            }
        }
        let choices: [JSONValue] = deltas.indices.map { i in
            let d = deltas[i]
            var message: [(String, JSONValue)] = [("role", .string("assistant")), ("content", ResponseJSON.optional(d.content))]
            if !d.reasoning.isEmpty { message.append(("reasoning_content", .string(d.reasoning))) }
            let calls = keep(d.toolCalls)
            if !calls.isEmpty {
                message.append(("tool_calls", .array(calls.map {
                    ResponseJSON.toolCall(id: $0.id ?? "", name: $0.name ?? "", arguments: $0.arguments)
                })))
            }
            return .object([
                ("index", .int(i)), ("message", .object(message)),
                ("logprobs", chat.logprobs ? ResponseJSON.chatLogprobs(d.logprobs, service) : .null),
                ("finish_reason", .string(finish[i].rawValue)),
            ])
        }
        let body = JSONValue.object([
            ("id", .string(id)), ("object", .string("chat.completion")), ("created", .int(created)),
            ("model", .string(model)), ("choices", .array(choices)), ("usage", ResponseJSON.usage(usage)),
        ])
        log(usage: usage, clock: clock)
        return jsonResponse(body)
    }

    func stream(_ streams: ChoiceStreams, writer: inout any ResponseBodyWriter) async throws {
        var clock = TokenClock(started: streams.started, metrics: metrics)
        var usage = Usage(promptTokens: promptTokens, completionTokens: 0)
        for i in streams.streams.indices {
            try await SSE.send(chunk(i, delta: [("role", .string("assistant")), ("content", .string(""))]), to: &writer)
        }
        do {
            for try await (i, event) in streams.merged() {
                switch event {
                case .delta(let d):
                    clock.tokens(d.tokenIDs.count, choice: i)
                    var delta: [(String, JSONValue)] = []
                    if !d.reasoning.isEmpty { delta.append(("reasoning_content", .string(d.reasoning))) }
                    if !d.content.isEmpty { delta.append(("content", .string(d.content))) }
                    let calls = keep(d.toolCalls)
                    if !calls.isEmpty { delta.append(("tool_calls", .array(calls.map(ResponseJSON.toolCallDelta)))) }
                    let lp = chat.logprobs && !d.logprobs.isEmpty ? ResponseJSON.chatLogprobs(d.logprobs, service) : nil
                    if delta.isEmpty && lp == nil { continue }
                    if delta.isEmpty { delta.append(("content", .string(""))) }
                    try await SSE.send(chunk(i, delta: delta, logprobs: lp), to: &writer)
                case .finished(let reason, let u, _):
                    usage.completionTokens += u.completionTokens
                    usage.reasoningTokens += u.reasoningTokens
                    try await SSE.send(chunk(i, delta: [], finish: reason), to: &writer)
                }
            }
        } catch let error where !(error is CancellationError) {
            // Headers are gone: the error travels as an event, then the stream ends normally.
            try await SSE.send(APIError.from(error).json, to: &writer)
        }
        if chat.sampling.includeUsage {
            try await SSE.send(.object(header() + [("choices", .array([])), ("usage", ResponseJSON.usage(usage))]), to: &writer)
        }
        try await SSE.done(&writer)
        log(usage: usage, clock: clock)
    }

    func header() -> [(String, JSONValue)] {
        [("id", .string(id)), ("object", .string("chat.completion.chunk")), ("created", .int(created)), ("model", .string(model))]
    }

    func chunk(_ i: Int, delta: [(String, JSONValue)], logprobs: JSONValue? = nil, finish: FinishReason? = nil) -> JSONValue {
        .object(header() + [("choices", .array([.object([
            ("index", .int(i)), ("delta", .object(delta)), ("logprobs", logprobs ?? .null),
            ("finish_reason", finish.map { .string($0.rawValue) } ?? .null),
        ])]))])
    }

    func log(usage: Usage, clock: TokenClock) {
        let s = clock.summary
        logger.info("\(id) 200 prompt=\(usage.promptTokens) completion=\(usage.completionTokens) ttft=\(String(format: "%.3f", s.ttft))s rate=\(String(format: "%.1f", s.rate))tok/s")
    }
}
