// Stand-in for Sources/OpenAIServer/APIError.swift in the fuzz build: the request readers (Wire/*) only call
// `APIError.invalid(_:param:)`, and the real type's HTTP status comes from Hummingbird, which the fuzz build
// does not compile. Keep the signature in step with the real one.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var param: String?

    public static func invalid(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(message: message, param: param)
    }

    public var description: String { message }
}

/// Stand-in for the limits in Sources/OpenAIServer/Application+build.swift that the request readers use.
public struct ServerLimits: Sendable {
    public static let maxTools = 128
    public static let maxToolSchemaBytes = 64 << 10
}
