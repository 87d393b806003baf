import Foundation
import Hummingbird
import InferenceEngine
import Logging
import Templating

/// Limits on what one request may carry (the engine adds the model's own: context, vocabulary).
public struct ServerLimits: Sendable {
    /// Largest request body accepted (413 past it).
    public var maxBodyBytes = 8 << 20
    /// Most tools one chat request may offer, and the largest `parameters` schema of one tool (400 past them).
    public static let maxTools = 128
    public static let maxToolSchemaBytes = 64 << 10
    public init(maxBodyBytes: Int = 8 << 20) { self.maxBodyBytes = maxBodyBytes }
}

/// Everything `qwenkit serve` configures.
public struct ServerOptions: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Accepted bearer keys; empty = no authentication.
    public var apiKeys: [String] = []
    public var limits = ServerLimits()
    public init() {}
}

/// The router with every endpoint, composed from the service (Hummingbird's `buildRouter(dependencies)`).
/// `/health` and `/metrics` stay open; `/v1/*` needs a key when keys are configured.
public func buildRouter(service: any InferenceService, metrics: ServerMetrics, options: ServerOptions)
    -> Router<BasicRequestContext>
{
    let router = Router()
    router.add(middleware: OpenAIErrorMiddleware(metrics: metrics))
    router.get("health") { _, _ -> Response in
        service.isReady ? jsonResponse(.object([("status", .string("ok"))]))
            : APIError.unavailable("The model is loading.").response()
    }
    router.get("metrics") { _, _ -> Response in
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                 body: .init(byteBuffer: ByteBuffer(string: metrics.render(stats: service.stats))))
    }
    let v1 = router.group("v1")
    if !options.apiKeys.isEmpty { v1.add(middleware: APIKeyMiddleware(keys: options.apiKeys)) }
    let models = ModelsController(service: service)
    v1.get("models") { _, _ in models.list() }
    v1.get("models/{id}") { _, context in try models.get(context.parameters.require("id")) }
    let chat = ChatController(service: service, metrics: metrics, limits: options.limits)
    v1.post("chat/completions") { request, context in try await chat.handle(request, context: context) }
    let completions = CompletionsController(service: service, metrics: metrics, limits: options.limits)
    v1.post("completions") { request, context in try await completions.handle(request, context: context) }
    return router
}

/// `GET /v1/models`, `GET /v1/models/{id}`.
struct ModelsController {
    let service: any InferenceService
    let created = Int(Date().timeIntervalSince1970)

    var model: JSONValue {
        .object([("id", .string(service.modelID)), ("object", .string("model")), ("created", .int(created)),
                 ("owned_by", .string("qwenkit")), ("max_model_len", .int(service.limits.contextLength))])
    }

    func list() -> Response { jsonResponse(.object([("object", .string("list")), ("data", .array([model]))])) }

    func get(_ id: String) throws -> Response {
        guard id == service.modelID else {
            throw APIError.notFound("The model '\(id)' does not exist; this server serves '\(service.modelID)'.",
                                    param: "model", code: "model_not_found")
        }
        return jsonResponse(model)
    }
}

/// Every error leaves as OpenAI's JSON shape with its status (unknown routes included); internal errors are
/// logged here and reported without detail. Counts requests by endpoint and status, and logs the ones the
/// generation controllers do not (errors, models, health).
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let endpoint = Self.endpoint(request.uri.path)
        do {
            let response = try await next(request, context)
            metrics.request(endpoint: endpoint, status: Int(response.status.code))
            if !endpoint.hasSuffix("completions") && endpoint != "/metrics" && endpoint != "/health" {
                context.logger.info("\(request.method) \(request.uri.path) \(response.status.code)")
            }
            return response
        } catch {
            let api = APIError.from(error)
            if api.status == .internalServerError { context.logger.error("\(request.method) \(request.uri.path): \(error)") }
            metrics.request(endpoint: endpoint, status: Int(api.status.code))
            context.logger.info("\(request.method) \(request.uri.path) \(api.status.code) \(api.message)")
            return api.response()
        }
    }

    /// The route as a bounded label (ids and unknown paths folded).
    static func endpoint(_ path: String) -> String {
        switch path {
        case "/v1/chat/completions", "/v1/completions", "/v1/models", "/health", "/metrics": return path
        case _ where path.hasPrefix("/v1/models/"): return "/v1/models/{id}"
        default: return "other"
        }
    }
}

/// `Authorization: Bearer KEY` against the configured keys, compared in constant time.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: [[UInt8]]
    init(keys: [String]) { self.keys = keys.map { Array($0.utf8) } }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let header = request.headers[.authorization] ?? ""
        let given = header.hasPrefix("Bearer ") ? Array(header.utf8.dropFirst(7)) : []
        // Every key is compared, whatever matches, so the time does not tell which key (or prefix) was close.
        var ok = false
        for key in keys where Self.constantTimeEqual(key, given) { ok = true }
        guard ok else { throw APIError.unauthorized() }
        return try await next(request, context)
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return diff == 0
    }
}
