import Foundation
import Grammar
import InferenceEngine
import ServiceLifecycle
import Synchronization
import Templating

/// The service while the model loads in the background: `/health` says 503 and every generation request gets
/// a 503 until `loaded(_:)` hands over the real service, so the port answers from the first second.
public final class LoadingInferenceService: InferenceService {
    public let modelID: String
    private let inner = Mutex<LocalInferenceService?>(nil)

    public init(modelID: String) { self.modelID = modelID }

    public func loaded(_ service: LocalInferenceService) { inner.withLock { $0 = service } }

    private func ready() throws -> LocalInferenceService {
        guard let s = inner.withLock({ $0 }) else { throw APIError.unavailable("The model is still loading; retry shortly.") }
        return s
    }

    public var limits: ModelLimits { inner.withLock { $0?.limits } ?? ModelLimits(vocabSize: 0, contextLength: 0) }
    public var defaultSampling: SamplingParameters { inner.withLock { $0?.defaultSampling } ?? SamplingParameters() }
    public var stopTokenIDs: Set<Int> { inner.withLock { $0?.stopTokenIDs } ?? [] }
    public var isReady: Bool { inner.withLock { $0 != nil } }
    public var stats: SchedulerStats { inner.withLock { $0?.stats } ?? SchedulerStats(waiting: 0, running: 0) }

    public func prepareChat(messages: [JSONValue], tools: [JSONValue]?, options: ChatTemplateOptions) async throws -> PreparedPrompt {
        try await ready().prepareChat(messages: messages, tools: tools, options: options)
    }
    public func tokenize(_ text: String) async throws -> [Int] { try await ready().tokenize(text) }
    public func tokenText(_ id: Int) -> TokenText { (try? ready().tokenText(id)) ?? TokenText(text: "", bytes: []) }
    public func decode(_ ids: [Int]) -> String { (try? ready().decode(ids)) ?? "" }
    public func generate(_ request: GenerationRequest) throws -> GenerationStream {
        try ready().generate(request)
    }
    public func constraint(_ grammar: Grammar, key: String) async throws -> TokenConstraint {
        try await ready().constraint(grammar, key: key)
    }
    public var thinkEndTokenID: Int? { inner.withLock { $0?.thinkEndTokenID } }

    /// Stops the engine (after the HTTP server has stopped taking requests).
    public func shutdown(drainTimeout: Duration) async {
        if let s = inner.withLock({ $0 }) { await s.shutdown(drainTimeout: drainTimeout) }
    }
}

/// The engine as a lifecycle service: runs until graceful shutdown, then drains and stops the engine thread.
/// Listed before the HTTP server in the service group, so it is shut down after the server stopped accepting.
public struct EngineService: Service {
    let service: LoadingInferenceService
    let drainTimeout: Duration

    public init(service: LoadingInferenceService, drainTimeout: Duration) {
        self.service = service
        self.drainTimeout = drainTimeout
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await service.shutdown(drainTimeout: drainTimeout)
    }
}
