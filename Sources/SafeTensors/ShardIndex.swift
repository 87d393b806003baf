import Foundation
import JSON

/// `model.safetensors.index.json`: which shard file holds each tensor (the Hugging Face sharded layout).
/// Shard file names are taken from the index as they are (`model-00001-of-00002.safetensors`,
/// `model.safetensors-00001-of-00001.safetensors`, …); nothing is guessed from a naming pattern.
struct ShardIndex: Sendable {
    static let fileName = "model.safetensors.index.json"

    /// Tensor name → shard file name.
    let weightMap: [String: String]
    /// Shard file names in first-appearance order of the index (deterministic, usually numeric order).
    let shardNames: [String]
    /// `metadata.total_size` when present (informational; writers disagree on what it counts).
    let totalSize: Int?

    init(path: String) throws {
        let display = path
        let data: Data
        do { data = try InputFile.read(path) } catch let e as InputFileError {
            throw WeightStoreError.cannotRead(path: path, reason: e.reason)
        }
        let json: JSONValue
        do {
            json = try JSONValue.parse(data)
        } catch let e as JSONParseError {
            throw WeightStoreError.invalidIndex(file: display, reason: e.description)
        }
        func bad(_ reason: String) -> WeightStoreError { .invalidIndex(file: display, reason: reason) }
        guard case .object(let top) = json else { throw bad("expected a JSON object, found \(json.typeName)") }
        var map: [String: String] = [:]
        var order: [String] = []
        var seenShards: Set<String> = []
        var total: Int?
        var sawWeightMap = false
        for (key, value) in top {
            switch key {
            case "weight_map":
                sawWeightMap = true
                guard case .object(let pairs) = value else { throw bad("weight_map must be an object, found \(value.typeName)") }
                for (tensor, fileValue) in pairs {
                    guard case .string(let shard) = fileValue else {
                        throw bad("weight_map entry for tensor \(tensor) must be a string, found \(fileValue.typeName)")
                    }
                    guard Self.isPlainFileName(shard) else {
                        throw bad("tensor \(tensor) maps to \"\(shard)\", which is not a file name in the model directory")
                    }
                    map[tensor] = shard
                    if seenShards.insert(shard).inserted { order.append(shard) }
                }
            case "metadata":
                guard case .object(let fields) = value else { throw bad("metadata must be an object, found \(value.typeName)") }
                for (k, v) in fields where k == "total_size" {
                    switch v {
                    case .int(let n) where n >= 0: total = n
                    // Some exporters write the size as a float (e.g. 1.5e9); accept an exact whole number.
                    case .double(let d) where d >= 0 && d == d.rounded() && d < 9e18: total = Int(d)
                    default: throw bad("metadata.total_size must be a non-negative integer, found \(v.typeName)")
                    }
                }
            default:
                continue  // other top-level keys carry no loading information
            }
        }
        guard sawWeightMap else { throw bad("missing field weight_map") }
        guard !map.isEmpty else { throw bad("weight_map is empty") }
        weightMap = map
        shardNames = order
        totalSize = total
    }

    /// A name inside the directory: no separators, not `.`/`..`.
    static func isPlainFileName(_ s: String) -> Bool {
        !s.isEmpty && s != "." && s != ".." && !s.contains("/") && !s.contains("\0")
    }
}
