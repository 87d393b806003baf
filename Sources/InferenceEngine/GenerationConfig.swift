import Foundation
import JSON

/// The model's `generation_config.json`: default sampling values and end-of-sequence ids. Missing file or
/// fields mean "no default" (greedy-free defaults of `SamplingParameters` apply).
public struct GenerationConfig: Sendable, Equatable {
    public var eosTokenIDs: [Int] = []
    public var doSample: Bool?
    /// temperature, top_k, top_p, min_p, repetition_penalty as the file gives them.
    public var sampling = SamplingOverrides()

    public init() {}

    /// Reads `directory/generation_config.json`; a missing file gives an empty config, a malformed one an error
    /// naming the file.
    public static func load(directory: URL) throws -> GenerationConfig {
        let url = directory.appendingPathComponent("generation_config.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return GenerationConfig() }
        let json: JSONValue
        do { json = try JSONValue.parse(InputFile.read(url.path)) } catch {
            throw GenerationError.model("\(url.path): not a valid generation config (\(error))")
        }
        return try GenerationConfig(json: json, file: url.path)
    }

    /// The known keys of a parsed `generation_config.json`; other keys are ignored, `null` means absent.
    init(json: JSONValue, file: String) throws {
        func bad(_ reason: String) -> GenerationError { .model("\(file): not a valid generation config (\(reason))") }
        guard case .object = json else { throw bad("expected an object, found \(json.typeName)") }
        func field(_ key: String) -> JSONValue? { json[key].flatMap { $0.isNull ? nil : $0 } }
        func float(_ key: String) throws -> Float? {
            guard let v = field(key) else { return nil }
            guard let d = v.doubleValue else { throw bad("\(key) must be a number, found \(v.typeName)") }
            return Float(d)
        }
        func int(_ v: JSONValue, _ key: String) throws -> Int {
            guard let i = v.intValue else { throw bad("\(key) must be an integer, found \(v.typeName)") }
            return i
        }
        switch field("eos_token_id") {
        case nil: break
        case .array(let ids)?: eosTokenIDs = try ids.map { try int($0, "eos_token_id") }
        case let one?: eosTokenIDs = [try int(one, "eos_token_id")]
        }
        if let v = field("do_sample") {
            guard let b = v.boolValue else { throw bad("do_sample must be a boolean, found \(v.typeName)") }
            doSample = b
        }
        sampling.temperature = try float("temperature")
        sampling.topK = try field("top_k").map { try int($0, "top_k") }
        sampling.topP = try float("top_p")
        sampling.minP = try float("min_p")
        sampling.repetitionPenalty = try float("repetition_penalty")
    }

    /// The model's defaults as sampling parameters (`do_sample: false` means greedy, as in transformers).
    public var defaultSampling: SamplingParameters {
        doSample == false ? .greedy : sampling.applied(to: SamplingParameters())
    }
}
