import Foundation

/// A small deterministic PRNG (SplitMix64), so that a seed gives the same tokens on any run or machine.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1) with 24 bits, like a float32 draw.
    public mutating func nextUnit() -> Float { Float(next() >> 40) / Float(1 << 24) }
}

// MARK: - Logit processors (pure functions on the raw logits, applied before temperature)

/// Repetition penalty (HF `RepetitionPenaltyLogitsProcessor`): for each seen token, a positive logit is
/// divided by the penalty and a negative one multiplied.
public func applyRepetitionPenalty(_ logits: inout [Float], seen: Set<Int>, penalty: Float) {
    guard penalty != 1 else { return }
    for id in seen where id < logits.count {
        logits[id] = logits[id] > 0 ? logits[id] / penalty : logits[id] * penalty
    }
}

/// OpenAI presence / frequency penalties: `logit -= presence·[count > 0] + frequency·count`.
public func applyPresenceFrequency(_ logits: inout [Float], counts: [Int: Int], presence: Float, frequency: Float) {
    guard presence != 0 || frequency != 0 else { return }
    for (id, c) in counts where id < logits.count && c > 0 {
        logits[id] -= presence + frequency * Float(c)
    }
}

public func applyLogitBias(_ logits: inout [Float], bias: [Int: Float]) {
    for (id, b) in bias where id >= 0 && id < logits.count { logits[id] += b }
}

// MARK: - Truncation and sampling on probabilities

/// Softmax of `logits / temperature` over the candidate ids, sorted by probability (descending).
public func sortedProbabilities(_ logits: [Float], temperature: Float) -> [(id: Int, p: Float)] {
    let mx = logits.max() ?? 0
    var items = logits.enumerated().map { (id: $0.offset, p: expf(($0.element - mx) / temperature)) }
    let sum = items.reduce(Float(0)) { $0 + $1.p }
    for i in items.indices { items[i].p /= sum }
    items.sort { $0.p != $1.p ? $0.p > $1.p : $0.id < $1.id }
    return items
}

/// Keeps the k most probable (k = 0: all).
public func topK(_ items: [(id: Int, p: Float)], _ k: Int) -> [(id: Int, p: Float)] {
    k > 0 && k < items.count ? Array(items.prefix(k)) : items
}

/// Keeps the smallest prefix whose mass reaches `p` (at least one token).
public func topP(_ items: [(id: Int, p: Float)], _ p: Float) -> [(id: Int, p: Float)] {
    guard p < 1 else { return items }
    // The mass is summed in id order, so that it does not depend on how the survivors were found
    // (truncatedCandidates reaches the same cut without sorting the vocabulary).
    let total = items.sorted { $0.id < $1.id }.reduce(Float(0)) { $0 + $1.p }
    var acc: Float = 0
    for (i, it) in items.enumerated() {
        acc += it.p
        if acc >= p * total { return Array(items.prefix(i + 1)) }
    }
    return items
}

/// Drops tokens less probable than `minP × p(max)`.
public func minP(_ items: [(id: Int, p: Float)], _ m: Float) -> [(id: Int, p: Float)] {
    guard m > 0, let top = items.first?.p else { return items }
    return items.filter { $0.p >= m * top }
}

/// Draws one id from (unnormalised) probabilities, walking them in the order given.
public func draw(_ items: [(id: Int, p: Float)], _ rng: inout SeededGenerator) -> Int {
    let total = items.reduce(Float(0)) { $0 + $1.p }
    let u = rng.nextUnit() * total
    var acc: Float = 0
    for it in items {
        acc += it.p
        if u < acc { return it.id }
    }
    return items.last!.id
}

/// The id of the largest logit, the lowest id on ties (greedy decoding, as torch.argmax).
public func argmax(_ logits: [Float]) -> Int {
    logits.indices.max { logits[$0] < logits[$1] || (logits[$0] == logits[$1] && $0 > $1) }!
}

/// The sampling pipeline built from one `SamplingParameters`: penalties and bias on the logits, then greedy,
/// or temperature → top-k → top-p → min-p → draw (the order of HF's and vLLM's samplers).
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var rng: SeededGenerator
    private var counts: [Int: Int] = [:]

    public init(_ parameters: SamplingParameters, promptIDs: [Int] = []) {
        self.parameters = parameters
        rng = SeededGenerator(seed: parameters.seed)
        // The repetition penalty also covers the prompt (HF); presence/frequency only count generated tokens (OpenAI).
        seenForRepetition = Set(promptIDs)
    }

    private var seenForRepetition: Set<Int>

    /// Chooses the next id from raw logits `[V]`.
    public mutating func sample(_ raw: [Float]) -> Int {
        var logits = raw
        return sample(inPlace: &logits)
    }

    /// `sample` on logits the caller no longer needs (they are overwritten by the processors).
    public mutating func sample(inPlace logits: inout [Float]) -> Int {
        applyRepetitionPenalty(&logits, seen: seenForRepetition, penalty: parameters.repetitionPenalty)
        applyPresenceFrequency(&logits, counts: counts, presence: parameters.presencePenalty, frequency: parameters.frequencyPenalty)
        applyLogitBias(&logits, bias: parameters.logitBias)
        let id: Int
        if parameters.temperature == 0 {
            id = argmax(logits)
        } else {
            // Same survivors as sortedProbabilities → topK → topP → minP, without sorting the vocabulary;
            // the draw walks them in id order. Logits pushed to ±inf by the processors (a tiny repetition
            // penalty, a huge bias) make every probability NaN and can leave no survivor: then the top logit.
            let items = truncatedCandidates(logits, temperature: parameters.temperature, topK: parameters.topK,
                                            topP: parameters.topP, minP: parameters.minP)
            id = items.isEmpty ? argmax(logits) : draw(items, &rng)
        }
        accept(id)
        return id
    }

    /// Records a generated id for the penalties.
    public mutating func accept(_ id: Int) {
        counts[id, default: 0] += 1
        seenForRepetition.insert(id)
    }
}

/// log-softmax of raw logits (what OpenAI's `logprobs` report: the model's own distribution).
public func logSoftmax(_ logits: [Float]) -> [Float] {
    let mx = logits.max() ?? 0
    let lse = logf(logits.reduce(Float(0)) { $0 + expf($1 - mx) }) + mx
    return logits.map { $0 - lse }
}
