import TensorCore

/// Rows `ids` of an embedding table, widened to f32: `table` is `[V, H]` in any weight dtype, the result
/// `[ids.count, H]`. Mirrors `nn.Embedding` (`embed_tokens(input_ids)`); ids outside `0..<V` are a
/// precondition failure (the tokenizer never produces them).
public func embeddingLookup(_ table: WeightTensor, ids: [Int]) -> [Float] {
    precondition(table.shape.count == 2, "\(table.name): embedding table must be 2-D, got \(table.shape)")
    let vocab = table.shape[0], hidden = table.shape[1]
    var out = [Float](repeating: 0, count: ids.count * hidden) // [T, H]
    out.withUnsafeMutableBufferPointer { o in
        for (t, id) in ids.enumerated() {
            precondition(id >= 0 && id < vocab, "\(table.name): token id \(id) outside 0..<\(vocab)")
            let dst = o.baseAddress! + t * hidden
            let base = id * hidden
            switch table.format {
            case .bf16:
                let src = table.data.assumingMemoryBound(to: UInt16.self) + base
                for i in 0..<hidden { dst[i] = Float(bitPattern: UInt32(src[i]) << 16) }
            case .f32:
                let src = table.data.assumingMemoryBound(to: Float.self) + base
                dst.update(from: src, count: hidden)
            default:
                table.dequantizeRow(id, into: dst)
            }
        }
    }
    return out
}
