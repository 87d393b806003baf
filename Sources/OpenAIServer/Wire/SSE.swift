import Foundation
import Hummingbird
import Templating

/// Server-sent events as OpenAI streams them: `data: {json}\n\n` per chunk, then `data: [DONE]\n\n`.
enum SSE {
    static let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]

    static func send(_ value: JSONValue, to writer: inout any ResponseBodyWriter) async throws {
        try await writer.write(ByteBuffer(string: "data: " + value.serialized() + "\n\n"))
    }

    static func done(_ writer: inout any ResponseBodyWriter) async throws {
        try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
        try await writer.finish(nil)
    }
}

/// The request body, refused with 413 past `limit` (checked against Content-Length first, then while reading).
func readBody(_ request: Request, limit: Int) async throws -> Data {
    if let length = request.headers[.contentLength].flatMap(Int.init), length > limit { throw APIError.tooLarge(limit: limit) }
    do {
        let buffer = try await request.body.collect(upTo: limit)
        return Data(buffer.readableBytesView)
    } catch let e as HTTPError where e.status == .contentTooLarge {
        throw APIError.tooLarge(limit: limit)
    } catch let e as any HTTPResponseError where e.status == .contentTooLarge {
        throw APIError.tooLarge(limit: limit)
    }
}

/// A request naming a model must name the served one (clients always send some name; none is fine).
func checkModel(_ name: String?, _ service: any InferenceService) throws {
    guard let name, name != service.modelID else { return }
    throw APIError.notFound("The model '\(name)' does not exist; this server serves '\(service.modelID)'.",
                            param: "model", code: "model_not_found")
}

func randomID() -> String {
    var g = SystemRandomNumberGenerator()
    return (0..<24).map { _ in String("abcdefghijklmnopqrstuvwxyz0123456789".randomElement(using: &g)!) }.joined()
}

func jsonResponse(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: value.serialized())))
}
