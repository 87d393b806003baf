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
        let constraint = try await chat.constraint.asyncMap { try await service.constraint($0.grammar, key: $0.key) }
        let requests = (0..<chat.sampling.n).map { i in
            var g = chat.sampling.request(promptIDs: prompt.ids, base: service.defaultSampling, stopTokenIDs: service.stopTokenIDs,
                                          contextLength: service.limits.contextLength, choice: i)
            g.replyFormat = .chat
            g.startsInReasoning = prompt.startsInReasoning
            g.tools = chat.toolSpecs
            g.toolCallIDPrefix = "call_\(id.dropFirst(9).prefix(16))\(i)"
            g.topLogprobs = chat.logprobs ? (chat.topLogprobs ?? 0) : nil
            g.constrain(constraint, thinkingBudget: chat.thinkingBudget, thinkEndTokenID: service.thinkEndTokenID)
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
        let all = try await streams.collect(promptTokens: promptTokens, clock: &clock)
        let choices: [JSONValue] = all.deltas.indices.map { i in
            let d = all.deltas[i]
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
                ("finish_reason", .string(all.finish[i].rawValue)),
            ])
        }
        let body = JSONValue.object([
            ("id", .string(id)), ("object", .string("chat.completion")), ("created", .int(created)),
            ("model", .string(model)), ("choices", .array(choices)), ("usage", ResponseJSON.usage(all.usage)),
        ])
        clock.log(logger, id: id, usage: all.usage)
        return jsonResponse(body)
    }

    func stream(_ streams: ChoiceStreams, writer: inout any ResponseBodyWriter) async throws {
        var clock = TokenClock(started: streams.started, metrics: metrics)
        for i in streams.streams.indices {
            try await SSE.send(chunk(i, delta: [("role", .string("assistant")), ("content", .string(""))]), to: &writer)
        }
        let usage = try await streams.stream(
            promptTokens: promptTokens, clock: &clock, writer: &writer,
            chunk: { i, d in
                var delta: [(String, JSONValue)] = []
                if !d.reasoning.isEmpty { delta.append(("reasoning_content", .string(d.reasoning))) }
                if !d.content.isEmpty { delta.append(("content", .string(d.content))) }
                let calls = keep(d.toolCalls)
                if !calls.isEmpty { delta.append(("tool_calls", .array(calls.map(ResponseJSON.toolCallDelta)))) }
                let lp = chat.logprobs && !d.logprobs.isEmpty ? ResponseJSON.chatLogprobs(d.logprobs, service) : nil
                if delta.isEmpty && lp == nil { return nil }
                if delta.isEmpty { delta.append(("content", .string(""))) }   // a token whose text is still incomplete
                return chunk(i, delta: delta, logprobs: lp)
            },
            final: { i, reason in chunk(i, delta: [], finish: reason) },
            usageChunk: chat.sampling.includeUsage ? { u in .object(header() + [("choices", .array([])), ("usage", ResponseJSON.usage(u))]) } : nil)
        clock.log(logger, id: id, usage: usage)
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
}
