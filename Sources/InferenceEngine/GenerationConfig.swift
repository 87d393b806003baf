import Foundation

/// The model's `generation_config.json`: default sampling values and end-of-sequence ids. Missing file or
/// fields mean "no default" (greedy-free defaults of `SamplingParameters` apply).
public struct GenerationConfig: Sendable, Equatable {
    public var eosTokenIDs: [Int] = []
    public var doSample: Bool?
    /// temperature, top_k, top_p, min_p, repetition_penalty as the file gives them.
    public var sampling = SamplingOverrides()

    public init() {}

    private struct Raw: Decodable {
        enum IntOrList: Decodable {
            case one(Int), many([Int])
            init(from d: Decoder) throws {
                let c = try d.singleValueContainer()
                if let v = try? c.decode(Int.self) { self = .one(v) } else { self = .many(try c.decode([Int].self)) }
            }
            var list: [Int] { switch self { case .one(let v): [v]; case .many(let v): v } }
        }
        let eos_token_id: IntOrList?
        let do_sample: Bool?
        let temperature: Float?
        let top_k: Int?
        let top_p: Float?
        let min_p: Float?
        let repetition_penalty: Float?
    }

    /// Reads `directory/generation_config.json`; a missing file gives an empty config, a malformed one an error
    /// naming the file.
    public static func load(directory: URL) throws -> GenerationConfig {
        let url = directory.appendingPathComponent("generation_config.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return GenerationConfig() }
        let raw: Raw
        do { raw = try JSONDecoder().decode(Raw.self, from: Data(contentsOf: url)) } catch {
            throw GenerationError.model("\(url.path): not a valid generation config (\(error))")
        }
        var g = GenerationConfig()
        g.eosTokenIDs = raw.eos_token_id?.list ?? []
        g.doSample = raw.do_sample
        g.sampling.temperature = raw.temperature; g.sampling.topK = raw.top_k; g.sampling.topP = raw.top_p
        g.sampling.minP = raw.min_p; g.sampling.repetitionPenalty = raw.repetition_penalty
        return g
    }

    /// The model's defaults as sampling parameters (`do_sample: false` means greedy, as in transformers).
    public var defaultSampling: SamplingParameters {
        doSample == false ? .greedy : sampling.applied(to: SamplingParameters())
    }
}
