import Foundation

// The sampler's hot path. Sorting a 248k-entry vocabulary for every token (the plain pipeline
// `sortedProbabilities → topK → topP → minP`) costs tens of milliseconds, more than a decode step of the 0.8B
// model. The truncations only ever keep a prefix of the sorted list, so this finds that prefix with a
// bounded selection instead (llama.cpp's sampler chain does the same: top-k before any sort).
// `referenceCandidates` is the plain twin; SamplingTests pins the two together on random logits.

/// The ids of the `n` largest values, ordered by value descending and id ascending on ties (the order
/// `sortedProbabilities` uses), without sorting everything when `n` is small.
public func topIndices(_ values: [Float], _ n: Int) -> [Int] {
    let n = min(n, values.count)
    guard n > 0 else { return [] }
    func before(_ a: Int, _ b: Int) -> Bool { values[a] != values[b] ? values[a] > values[b] : a < b }
    if n * 4 >= values.count { return Array(radixOrder(values).prefix(n)) }
    // Min-heap of the best n so far; its root is the worst kept. Ids arrive in ascending order, so a newcomer
    // that ties the root is worse (larger id) and never replaces it.
    var heap = [Int](); heap.reserveCapacity(n)
    func worse(_ a: Int, _ b: Int) -> Bool { before(b, a) }
    func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && worse(heap[l], heap[m]) { m = l }
            if r < heap.count && worse(heap[r], heap[m]) { m = r }
            if m == i { return }
            heap.swapAt(i, m); i = m
        }
    }
    for i in values.indices {
        if heap.count < n {
            heap.append(i)
            var c = heap.count - 1
            while c > 0 {
                let p = (c - 1) / 2
                guard worse(heap[c], heap[p]) else { break }
                heap.swapAt(c, p); c = p
            }
        } else if values[i] > values[heap[0]] {
            heap[0] = i
            siftDown(0)
        }
    }
    return heap.sorted(by: before)
}

/// All ids ordered by value descending, id ascending on ties: a stable LSD radix sort on the float's bits in
/// two 16-bit passes (a few ms for a 248k vocabulary, where a comparison sort takes tens).
func radixOrder(_ values: [Float]) -> [Int] {
    // Order-preserving map of the float to an unsigned key, inverted so that ascending keys = descending values.
    let keys = values.map { v -> UInt32 in
        let b = v.bitPattern
        return ~(b & 0x8000_0000 != 0 ? ~b : b | 0x8000_0000)
    }
    var order = Array(values.indices), next = order
    for shift: UInt32 in [0, 16] {
        var count = [Int](repeating: 0, count: 65537)
        for k in keys { count[Int((k >> shift) & 0xFFFF) + 1] += 1 }
        for d in 0..<65536 { count[d + 1] += count[d] }
        for i in order {
            let d = Int((keys[i] >> shift) & 0xFFFF)
            next[count[d]] = i
            count[d] += 1
        }
        swap(&order, &next)
    }
    return order
}

/// What temperature → top-k → top-p → min-p leave of the vocabulary, as (id, probability) in id order.
/// Probabilities are the full softmax at `temperature` (not renormalised over the survivors; `draw` does that).
public func truncatedCandidates(_ logits: [Float], temperature: Float, topK k: Int, topP: Float, minP: Float)
    -> [(id: Int, p: Float)]
{
    // Softmax exactly as `sortedProbabilities` computes it (same expression, same summation order).
    let mx = logits.max() ?? 0
    var probs = logits.map { expf(($0 - mx) / temperature) }   // [V]
    let sum = probs.reduce(Float(0), +)
    for i in probs.indices { probs[i] /= sum }

    let truncK = k > 0 && k < probs.count
    if !truncK && topP >= 1 {
        guard minP > 0, let top = probs.max() else { return probs.enumerated().map { (id: $0.offset, p: $0.element) } }
        return probs.enumerated().filter { $0.element >= minP * top }.map { (id: $0.offset, p: $0.element) }
    }

    // The sorted prefix that top-k / top-p keep: top-k fixes its length; top-p alone grows it until the mass
    // is reached (the mass is measured against the sum, in id order, of what top-k left).
    let mass = { (ids: [Int]) in ids.reduce(Float(0)) { $0 + probs[$1] } }
    let all = truncK ? 0 : probs.reduce(Float(0), +)   // what top-p measures against when top-k keeps all
    var kept: [Int]   // ids, most probable first
    if truncK {
        kept = topIndices(probs, k)
    } else {
        // Peaked distributions (trained models) stop at the first guess; flat ones go to one full sort.
        var n = 64
        repeat {
            kept = topIndices(probs, n)
            n = n < 1024 ? 1024 : probs.count
        } while kept.count < probs.count && mass(kept) < topP * all
    }
    if topP < 1 {
        let total = truncK ? mass(inIDOrder(kept, probs.count)) : all   // summed in id order, as topP does
        var acc: Float = 0
        for (i, id) in kept.enumerated() {
            acc += probs[id]
            if acc >= topP * total { kept = Array(kept.prefix(i + 1)); break }
        }
    }
    if minP > 0, let first = kept.first {
        let threshold = minP * probs[first]
        kept = kept.filter { probs[$0] >= threshold }
    }
    return inIDOrder(kept, probs.count).map { (id: $0, p: probs[$0]) }
}

/// `ids` (distinct, below `count`) ascending: a sort when few, one pass over a mask when many.
private func inIDOrder(_ ids: [Int], _ count: Int) -> [Int] {
    guard ids.count * 16 > count else { return ids.sorted() }
    var mask = [Bool](repeating: false, count: count)
    for i in ids { mask[i] = true }
    return mask.indices.filter { mask[$0] }
}

/// The plain twin: sort everything, truncate, return the survivors in id order.
public func referenceCandidates(_ logits: [Float], temperature: Float, topK k: Int, topP p: Float, minP m: Float)
    -> [(id: Int, p: Float)]
{
    let items = minP(topP(topK(sortedProbabilities(logits, temperature: temperature), k), p), m)
    return items.sorted { $0.id < $1.id }
}
