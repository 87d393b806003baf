import Foundation
import Hummingbird
import InferenceEngine
import Templating

/// An error in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with its HTTP status. Every
/// failure on the request path becomes one of these; nothing internal (paths, stacks) goes into `message`.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    public var type: String
    public var param: String?
    public var code: String?

    public init(_ status: HTTPResponse.Status, _ message: String, type: String, param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    public var description: String { "\(status.code) \(type): \(message)" }

    /// 400: a malformed body, a wrong type or an out-of-range value (`param` names the field).
    public static func invalid(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(.badRequest, message, type: "invalid_request_error", param: param, code: code)
    }

    public static func unauthorized() -> APIError {
        APIError(.unauthorized, "Incorrect or missing API key. Pass it as 'Authorization: Bearer KEY'.",
                 type: "invalid_request_error", code: "invalid_api_key")
    }

    public static func notFound(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(.notFound, message, type: "invalid_request_error", param: param, code: code)
    }

    public static func tooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, "The request body is larger than the server's limit of \(limit) bytes.",
                 type: "invalid_request_error", code: "request_too_large")
    }

    public static func busy(_ message: String) -> APIError {
        APIError(.tooManyRequests, message, type: "server_busy", code: "queue_full")
    }

    public static func unavailable(_ message: String) -> APIError {
        APIError(.serviceUnavailable, message, type: "server_unavailable")
    }

    public static let internalError = APIError(.internalServerError, "The server failed to process the request.",
                                               type: "internal_error")

    /// The engine's and templates' errors as the API reports them.
    public static func from(_ error: any Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as GenerationError:
            switch e {
            case .promptTooLong:
                return .invalid(e.description, param: "messages", code: "context_length_exceeded")
            case .invalidParameter(let m):
                // "name = value: rule": the parameter's name leads.
                let name = m.split(separator: " ").first.map { String($0).split(separator: "[").first.map(String.init) ?? String($0) }
                return .invalid(m, param: name?.trimmingCharacters(in: CharacterSet(charactersIn: ":")))
            case .emptyPrompt: return .invalid("The prompt is empty.", param: "prompt")
            case .tokenOutOfRange: return .invalid(e.description, param: "prompt")
            case .model: return .internalError   // model-side problems name files: never sent to a client
            }
        case let e as TemplateError:
            return .invalid("The chat template rejected the conversation: \(e.message)", param: "messages")
        case let e as SchedulerError:
            switch e {
            case .queueFull: return .busy(e.description)
            case .shuttingDown: return .unavailable(e.description)
            }
        case let e as HTTPError:
            if e.status == .contentTooLarge { return APIError(.contentTooLarge, "The request body is too large.", type: "invalid_request_error") }
            if e.status == .notFound { return .notFound("Not found.") }
            return APIError(e.status, e.body ?? e.status.reasonPhrase, type: e.status.code < 500 ? "invalid_request_error" : "internal_error")
        default:
            return .internalError
        }
    }

    var json: JSONValue {
        .object([("error", .object([
            ("message", .string(message)), ("type", .string(type)),
            ("param", param.map(JSONValue.string) ?? .null), ("code", code.map(JSONValue.string) ?? .null),
        ]))])
    }

    func response(headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.contentType] = "application/json"
        if status == .tooManyRequests { headers[.retryAfter] = "1" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: json.serialized())))
    }
}
