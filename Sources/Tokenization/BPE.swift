/// Byte-pair encoding by merge rank, on token ids.
///
/// A piece's UTF-8 bytes start as one symbol each (the vocab id of its byte-level character); then the adjacent pair
/// with the lowest merge rank is merged (the leftmost when several pairs share that rank), until no pair has a
/// merge. There is deliberately no "whole piece is in the vocab → one token" shortcut (`ignore_merges: false`): 201
/// Qwen3.5 vocab entries are unreachable by merges and transformers never emits them for text.
struct BPEModel: Sendable {
    /// id of the byte-level character of each byte.
    let byteIDs: [Int32]
    /// (left id << 32 | right id) → (rank << 32 | merged id).
    let merges: [UInt64: UInt64]
    /// `ignore_merges: true`: a piece that is itself a vocab entry becomes that token (Llama-3 style).
    let wholePieces: [[UInt8]: Int32]?

    @inline(__always) func merge(_ a: Int32, _ b: Int32) -> (rank: UInt32, id: Int32)? {
        guard let v = merges[UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))] else { return nil }
        return (UInt32(truncatingIfNeeded: v >> 32), Int32(truncatingIfNeeded: v & 0xFFFF_FFFF))
    }

    /// Appends the ids of one piece.
    func encode(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [Int]) {
        if let whole = wholePieces, let id = whole[Array(bytes)] { out.append(Int(id)); return }
        var symbols = bytes.map { byteIDs[Int($0)] }
        if symbols.count <= 256 { mergeByScan(&symbols) } else { mergeByHeap(&symbols) }
        for s in symbols { out.append(Int(s)) }
    }

    /// O(n²) scans over a cached rank per adjacent pair: fastest for ordinary pieces.
    func mergeByScan(_ symbols: inout [Int32]) {
        guard symbols.count > 1 else { return }
        var ranks = [UInt32](repeating: .max, count: symbols.count - 1)       // rank of (symbols[i], symbols[i+1])
        var ids = [Int32](repeating: -1, count: symbols.count - 1)
        for i in 0..<(symbols.count - 1) {
            if let m = merge(symbols[i], symbols[i + 1]) { ranks[i] = m.rank; ids[i] = m.id }
        }
        while true {
            var best = -1
            var bestRank = UInt32.max
            for i in 0..<ranks.count where ranks[i] < bestRank { bestRank = ranks[i]; best = i }
            if best < 0 { return }
            symbols[best] = ids[best]
            symbols.remove(at: best + 1)
            ranks.remove(at: best)
            ids.remove(at: best)
            if best < ranks.count {
                if let m = merge(symbols[best], symbols[best + 1]) { ranks[best] = m.rank; ids[best] = m.id } else { ranks[best] = .max }
            }
            if best > 0 {
                if let m = merge(symbols[best - 1], symbols[best]) { ranks[best - 1] = m.rank; ids[best - 1] = m.id } else { ranks[best - 1] = .max }
            }
        }
    }

    /// O(n log n) with a linked list and a min-heap of (rank, position), as HF `tokenizers` does: for long pieces
    /// (a 100 KB run of letters must not take quadratic time). Same result as `mergeByScan`.
    func mergeByHeap(_ symbols: inout [Int32]) {
        let n = symbols.count
        guard n > 1 else { return }
        var next = Array(1...n); next[n - 1] = -1
        var prev = Array(-1..<(n - 1))
        var alive = [Bool](repeating: true, count: n)
        var heap = MinHeap()
        for i in 0..<(n - 1) {
            if let m = merge(symbols[i], symbols[i + 1]) { heap.push(rank: m.rank, pos: Int32(i), id: m.id) }
        }
        while let top = heap.pop() {
            let i = Int(top.pos)
            guard alive[i], next[i] >= 0 else { continue }
            let j = next[i]
            guard let m = merge(symbols[i], symbols[j]), m.id == top.id else { continue }   // stale entry
            symbols[i] = m.id
            alive[j] = false
            next[i] = next[j]
            if next[j] >= 0 { prev[next[j]] = i }
            if prev[i] >= 0, let m2 = merge(symbols[prev[i]], symbols[i]) { heap.push(rank: m2.rank, pos: Int32(prev[i]), id: m2.id) }
            if next[i] >= 0, let m2 = merge(symbols[i], symbols[next[i]]) { heap.push(rank: m2.rank, pos: Int32(i), id: m2.id) }
        }
        var out: [Int32] = []
        var i = 0
        while i >= 0 { out.append(symbols[i]); i = next[i] }
        symbols = out
    }
}

/// Binary min-heap on (rank, position).
struct MinHeap {
    private var items: [(key: UInt64, id: Int32)] = []

    mutating func push(rank: UInt32, pos: Int32, id: Int32) {
        items.append((UInt64(rank) << 32 | UInt64(UInt32(bitPattern: pos)), id))
        var c = items.count - 1
        while c > 0 {
            let p = (c - 1) / 2
            guard items[c].key < items[p].key else { break }
            items.swapAt(c, p); c = p
        }
    }

    mutating func pop() -> (rank: UInt32, pos: Int32, id: Int32)? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var p = 0
            while true {
                let l = 2 * p + 1, r = l + 1
                var m = p
                if l < items.count, items[l].key < items[m].key { m = l }
                if r < items.count, items[r].key < items[m].key { m = r }
                if m == p { break }
                items.swapAt(p, m); p = m
            }
        }
        return (UInt32(first.key >> 32), Int32(truncatingIfNeeded: first.key & 0xFFFF_FFFF), first.id)
    }
}
