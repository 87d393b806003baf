import Foundation
import LanguageModels

/// The single-sequence generation loop for the CLI (mlx-lm `generate_step` style): the prompt is read in
/// chunks on the absolute `PrefillGrid`, then one token per step through the caches. Each token is emitted as soon as it is sampled,
/// before the forward that reads it (so a stream is never a step late). All post-logits work is the request's
/// `SequenceDecoder`; the server's scheduler drives the same decoder beside other sequences. Runs on the
/// caller's thread: never call it from the cooperative pool or an event loop.
public struct Generator<Decoder: StreamingTextDecoder>: Sequence, IteratorProtocol {
    let model: any LanguageModel
    var decoder: SequenceDecoder
    var state: SequenceState
    /// The token sampled last, to be fed to the model before the next step (nil before the prefill).
    var pending: Int?
    var reportedFinish = false
    var prefillSeconds = 0.0, decodeSeconds = 0.0

    /// Validates the request (sampling values, prompt length against the context, ids in the vocabulary)
    /// before any compute.
    public init(model: any LanguageModel, request: GenerationRequest, decoder: Decoder) throws {
        self.model = model
        self.decoder = try SequenceDecoder(request: request, limits: model.limits, text: decoder)
        state = model.makeState()
    }

    /// The next event: deltas, then one `.finished`, then nil.
    public mutating func next() -> GenerationEvent? {
        if decoder.finishReason != nil {
            if reportedFinish { return nil }
            reportedFinish = true
            return .finished(decoder.finishReason!, decoder.usage(),
                             timing: GenerationTiming(prefillSeconds: prefillSeconds, decodeSeconds: decodeSeconds))
        }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let isPrefill = pending == nil
        let logits: [Float]   // [1, V]
        if let id = pending {
            logits = model.forward([id], state: &state, allLogits: false)
        } else {
            // The prompt in wide chunks on the absolute grid the server uses, so both give the same bits.
            let prompt = decoder.request.promptIDs
            var read = 0, last: [Float] = []
            while read < prompt.count {
                let end = PrefillGrid.chunkEnd(from: read, count: prompt.count, chunk: PrefillGrid.wide)
                last = model.forward(Array(prompt[read..<end]), state: &state, allLogits: false)
                read = end
            }
            logits = last
        }
        let step = decoder.consume(logits)
        pending = step.token
        // The prefill is the first forward; decode time is each later step whole (forward, sampling,
        // detokenizing, stop matching), what a user waits for a token.
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        if isPrefill { prefillSeconds = seconds } else { decodeSeconds += seconds }
        return .delta(step.delta)
    }
}

extension LanguageModel {
    /// The limits a request is validated against.
    public var limits: ModelLimits { ModelLimits(vocabSize: vocabSize, contextLength: maxContextLength) }
}
