import ArgumentParser
import CKernels
import Foundation
import InferenceEngine
import Kernels
import LanguageModels
import TensorCore

/// `qwenkit bench --model DIR`: prefill and decode speed of a model, end to end (release build).
/// `qwenkit bench --kernels`: matmul GEMV / GEMM microbenchmarks on the real geometry plus a DRAM bandwidth
/// probe taken in the same run, since this machine's bandwidth swings (16–46 GB/s) from minute to minute.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure prefill and decode speed (or the matmul kernels with --kernels).")

    @Option(name: .long, help: "Model directory (config.json + safetensors) or a .gguf file.")
    var model: String?

    @Option(name: .long, help: "Prompt tokens for the prefill measurement.")
    var prompt = 512

    @Option(name: .long, help: "Tokens to decode after the prompt.")
    var gen = 128

    @Option(name: .long, help: "Compute threads (default: all cores).")
    var threads: Int?

    @Option(name: .customLong("prefill-chunk"), help: "Prompt tokens per forward (512 = what generate does, and serve while no stream decodes; 64 = serve beside decoding streams; 0 = the whole prompt in one forward).")
    var prefillChunk = PrefillGrid.wide

    @Option(name: .long, help: "Measured runs after the warm-up; the median is reported.")
    var runs = 3

    @Option(name: .long, help: "Unmeasured warm-up runs first (0 for a prompt so long that one pass is the whole budget).")
    var warmup = 1

    @Option(name: .long, help: "Decode after a prompt of this many tokens and after 16 tokens, steps alternating in one process; prints both rates and their ratio.")
    var depth: Int?

    @Option(name: .long, help: "Save the prefill's state to this file every --checkpoint-every tokens and resume from it when run again (a prompt that outlasts the process); one run, no warm-up.")
    var checkpoint: String?

    @Option(name: .customLong("checkpoint-every"), help: "With --checkpoint: tokens between saves (a multiple of 64).")
    var checkpointEvery = 16_384

    @Option(name: .long, help: "Decode this many sequences in one batched forward per step (the scheduler's step, without the server).")
    var batch: Int?

    @Option(name: .customLong("batch-chunk"), help: "With --batch: a prompt chunk of this many tokens joins every step.")
    var batchChunk = 0

    @Option(name: .customLong("kv-type"), help: "KV cache storage: f32 (default), bf16, f16 or q8_0; with --kl-vs-f32 repeatable (default: all but f32).")
    var kvTypes: [KVType] = []

    @Flag(name: .customLong("kl-vs-f32"), help: "Measure fidelity instead of speed: mean KL divergence of the next-token distribution with each --kv-type against the f32 cache, over every position of the prompt.")
    var klVsF32 = false

    @Option(name: .customLong("kl-from"), help: "With --kl-vs-f32: score positions from this one on (llama-perplexity scores the second half of its context: --prompt / 2).")
    var klFrom = 0

    @Option(name: .customLong("prompt-file"), help: "With --kl-vs-f32: a UTF-8 text whose first --prompt tokens are the prompt (default: pseudo-random ids).")
    var promptFile: String?

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    @Flag(name: .long, help: "Microbenchmark the matmul and decode-attention kernels instead of a model.")
    var kernels = false

    @Option(name: .customLong("only"), help: "With --kernels: only this group (gemv, qgemv, gemm, attention or prefill-attention).")
    var only: String?

    @Option(name: .long, help: "Benchmark the tokenizer of --model on this UTF-8 file instead (one thread).")
    var tokenizerText: String?

    @Option(name: .long, help: "Benchmark grammar compile and mask time on these cases (Benchmarks/grammar-cases.json) with the tokenizer of --model.")
    var grammar: String?

    func validate() throws {
        if tokenizerText != nil && model == nil { throw ValidationError("bench: --tokenizer-text needs --model DIR") }
        if !kernels && model == nil { throw ValidationError("bench: --model DIR is required (or --kernels)") }
        if prompt < 1 || gen < 0 || runs < 1 || warmup < 0 { throw ValidationError("bench: need --prompt ≥ 1, --gen ≥ 0, --runs ≥ 1, --warmup ≥ 0") }
        if let threads, threads < 1 { throw ValidationError("bench: --threads must be ≥ 1") }
        if prefillChunk < 0 { throw ValidationError("bench: --prefill-chunk must be ≥ 0") }
        if let depth, depth < 16 { throw ValidationError("bench: --depth must be ≥ 16") }
        if let batch, batch < 1 || batch > 256 { throw ValidationError("bench: --batch must be 1…256") }
        if batchChunk < 0 || batchChunk > 4096 { throw ValidationError("bench: --batch-chunk must be 0…4096") }
        if !klVsF32 && kvTypes.count > 1 { throw ValidationError("bench: one --kv-type per speed run (several only with --kl-vs-f32)") }
        if (promptFile != nil || klFrom != 0) && !klVsF32 { throw ValidationError("bench: --prompt-file and --kl-from are for --kl-vs-f32") }
        if checkpoint != nil && (depth != nil || batch != nil || klVsF32 || checkpointEvery < 64 || checkpointEvery % 64 != 0) {
            throw ValidationError("bench: --checkpoint is for the plain prefill + decode run, with --checkpoint-every a multiple of 64")
        }
        if klFrom < 0 { throw ValidationError("bench: --kl-from must be ≥ 0") }
    }

    func run() throws {
        try CLIChecks.applyThreads(threads)
        if kernels {
            KernelBench(json: json, only: only).run()
            return
        }
        do {
            if let grammar {
                for line in try GrammarBench(directory: URL(fileURLWithPath: model!), casesFile: grammar, runs: runs).run() { print(line) }
                return
            }
            if let tokenizerText {
                let r = try TokenizerBench(directory: URL(fileURLWithPath: model!), textFile: tokenizerText, runs: runs).run()
                print(json ? r.json : r.text)
                return
            }
            if let depth {
                print(try DepthBench(directory: URL(fileURLWithPath: model!), kvType: kvTypes.first ?? .f32, depth: depth, gen: gen).run())
                return
            }
            if let batch {
                print(try BatchBench(directory: URL(fileURLWithPath: model!), batch: batch, chunk: batchChunk,
                                     prompt: prompt, gen: gen).run())
                return
            }
            if let checkpoint {
                print(try ResumableBench(directory: URL(fileURLWithPath: model!), kvType: kvTypes.first ?? .f32, prompt: prompt,
                                         gen: gen, every: checkpointEvery, file: URL(fileURLWithPath: checkpoint)).run())
                return
            }
            if klVsF32 {
                print(try KVFidelityBench(directory: URL(fileURLWithPath: model!), prompt: prompt, promptFile: promptFile,
                                          from: klFrom, types: kvTypes, json: json).run())
                return
            }
            let result = try ModelBench(directory: URL(fileURLWithPath: model!), kvType: kvTypes.first ?? .f32, prompt: prompt,
                                        gen: gen, runs: runs, warmup: warmup, prefillChunk: prefillChunk).run()
            print(json ? result.json : result.text)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}

// MARK: - Timing helpers

/// Monotonic seconds.
func benchNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Peak resident set size of this process in bytes (`ru_maxrss` is KiB on Linux).
func peakRSSBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int(usage.ru_maxrss) * 1024
}

func jsonObject(_ fields: [(String, Any)]) -> String {
    let body = fields.map { key, value -> String in
        switch value {
        case let s as String: return "\"\(key)\": \"\(s.replacingOccurrences(of: "\"", with: "\\\""))\""
        case let d as Double: return "\"\(key)\": \(String(format: "%.3f", d))"
        default: return "\"\(key)\": \(value)"
        }
    }
    return "{" + body.joined(separator: ", ") + "}"
}

/// DRAM read bandwidth in GB/s: a 1 GiB buffer summed by all threads, best of 3. This machine's bandwidth
/// swings from minute to minute, so every bench measures it in the same run as the thing it judges.
func dramReadProbe(_ pool: ThreadPool) -> Double {
    let n = 1 << 28 // 1 GiB of f32
    let buffer = UnsafeMutablePointer<Float>.allocate(capacity: n)
    defer { buffer.deallocate() }
    pool.parallelFor(64) { c in (buffer + c * (n / 64)).initialize(repeating: 1, count: n / 64) }
    var best = Double.infinity
    for _ in 0..<3 {
        let t0 = benchNow()
        pool.parallelFor(pool.threadCount) { c in
            let per = n / pool.threadCount
            sink(qk_read_sum(buffer + c * per, per))
        }
        best = min(best, benchNow() - t0)
    }
    return Double(n * 4) / best / 1e9
}

// MARK: - Model bench

struct ModelBench {
    struct Result {
        var model: String
        var threads, prompt, gen, runs: Int
        var loadSeconds, prefillTokensPerSecond, decodeTokensPerSecond: Double
        var peakRSS: Int
        /// DRAM read GB/s measured right after the runs (the decode ceiling is weight bytes per token ÷ this).
        var dramReadGBps: Double

        var text: String {
            """
            model      \(model)
            threads    \(threads)
            load       \(String(format: "%.2f", loadSeconds)) s
            prefill    \(String(format: "%.1f", prefillTokensPerSecond)) tok/s  (\(prompt) tokens, median of \(runs))
            decode     \(String(format: "%.2f", decodeTokensPerSecond)) tok/s  (\(gen) tokens, median of \(runs))
            peak RSS   \(String(format: "%.2f", Double(peakRSS) / 1_073_741_824)) GiB
            DRAM read  \(String(format: "%.1f", dramReadGBps)) GB/s (probe after the runs)
            """
        }

        var json: String {
            jsonObject([
                ("model", model), ("threads", threads), ("prompt", prompt), ("gen", gen), ("runs", runs),
                ("load_s", loadSeconds), ("prefill_tokens_per_s", prefillTokensPerSecond),
                ("decode_tokens_per_s", decodeTokensPerSecond), ("peak_rss_bytes", peakRSS),
                ("dram_read_gb_per_s", dramReadGBps),
            ])
        }
    }

    let directory: URL
    let kvType: KVType
    let prompt, gen, runs, warmup: Int
    /// Prompt tokens per forward on the absolute grid (0 = one forward).
    let prefillChunk: Int

    func run() throws -> Result {
        let t0 = benchNow()
        let lm = try openModel(directory, kvType: kvType)
        try CLIChecks.fitsContext(prompt: prompt, extra: gen, extraOption: "--gen", context: lm.maxContextLength)
        let loadSeconds = benchNow() - t0
        let ids = Self.prompt(prompt, vocab: lm.vocabSize)
        for _ in 0..<warmup { _ = once(lm, ids: ids) } // page in the mapped weights, size the caches
        var prefill: [Double] = [], decode: [Double] = []
        for _ in 0..<runs {
            let (p, d) = once(lm, ids: ids)
            prefill.append(p)
            decode.append(d)
        }
        let rss = peakRSSBytes() // before the probe's 1 GiB buffer
        let probe = dramReadProbe(ThreadPool.shared)
        return Result(
            model: directory.lastPathComponent, threads: ThreadPool.shared.threadCount, prompt: prompt, gen: gen,
            runs: runs, loadSeconds: loadSeconds, prefillTokensPerSecond: median(prefill),
            decodeTokensPerSecond: gen == 0 ? 0 : median(decode), peakRSS: rss, dramReadGBps: probe)
    }

    /// A fixed-seed pseudo-random prompt (an LCG), so every run and every build sees the same ids.
    static func prompt(_ count: Int, vocab: Int) -> [Int] {
        var seed: UInt64 = 0x5EED
        return (0..<count).map { _ -> Int in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int(seed >> 33) % vocab
        }
    }

    /// One prefill over `ids` from a fresh state, then `gen` greedy single-token steps. Returns tokens/s.
    func once(_ lm: any LanguageModel, ids: [Int]) -> (prefill: Double, decode: Double) {
        var state = lm.makeState()
        let t0 = benchNow()
        var logits = Self.prefill(lm, ids, state: &state, chunk: prefillChunk)   // [1, vocab]
        let t1 = benchNow()
        for _ in 0..<gen {
            logits = lm.forward([argmax(logits)], state: &state, allLogits: false) // [1, vocab]
        }
        let t2 = benchNow()
        return (Double(ids.count) / (t1 - t0), Double(gen) / max(t2 - t1, 1e-9))
    }

    /// Reads `ids` into `state` in `chunk`-token forwards on the absolute grid (0 = one forward), as generate
    /// and serve do; the last position's logits `[1, vocab]`. A long-context run takes hours: from 64k tokens
    /// on it says where it is on stderr every 8,192 tokens.
    static func prefill(_ lm: any LanguageModel, _ ids: [Int], state: inout SequenceState, chunk: Int) -> [Float] {
        let t0 = benchNow()
        var logits: [Float] = []   // [1, vocab]
        var read = 0
        while read < ids.count {
            let end = chunk == 0 ? ids.count : PrefillGrid.chunkEnd(from: read, count: ids.count, chunk: chunk)
            logits = lm.forward(Array(ids[read..<end]), state: &state, allLogits: false)
            if ids.count >= 65_536 && end / 8_192 != read / 8_192 {
                FileHandle.standardError.write(Data(String(format: "prefill %d / %d tokens, %.0f s\n", end, ids.count, benchNow() - t0).utf8))
            }
            read = end
        }
        return logits
    }
}

// MARK: - Kernel bench

/// Matmul throughput on the Qwen3.5-0.8B geometry (hidden 1024, MLP 3584, vocab 248320, bf16 weights).
struct KernelBench {
    let json: Bool
    /// One group only (gemv, qgemv, gemm, attention), nil for all.
    let only: String?
    /// Token counts for the prefill-side measurement (both sides of the GEMV-loop / packed-GEMM switch).
    let sweep = [4, 16, 64, 65, 128, 512]
    var pool: ThreadPool { .shared }

    func run() {
        var lines: [String] = []
        var fields: [(String, Any)] = [("threads", pool.threadCount)]
        func report(_ key: String, _ text: String, _ value: Double) {
            lines.append(text)
            fields.append((key, value))
        }

        let bw = dramReadProbe(pool)
        report("dram_read_gb_per_s", String(format: "DRAM read probe (1 GiB, %d threads): %.1f GB/s", pool.threadCount, bw), bw)
        let latency = dispatchLatency()
        report("pool_dispatch_us", String(format: "parallelFor dispatch: %.2f µs/call", latency * 1e6), latency * 1e6)

        // GEMV: enough copies of each matrix that they cannot sit in the 32 MiB L3 (decode streams from DRAM).
        func wanted(_ group: String) -> Bool { only == nil || only == group }
        for (out, inp, name) in [(3584, 1024, "gate/up 3584x1024"), (1024, 3584, "down 1024x3584"),
                                 (248_320, 1024, "lm_head 248320x1024")] where wanted("gemv") {
            let (gbs, secs) = gemv(out: out, in: inp)
            report("gemv_\(out)x\(inp)_gb_per_s",
                   String(format: "GEMV T=1 %@ bf16: %.1f GB/s (%.0f%% of probe), %.3f ms/call", name, gbs,
                          100 * gbs / bw, secs * 1e3), gbs)
        }
        for (out, inp, name) in [(3584, 1024, "gate/up 3584x1024"), (1024, 3584, "down 1024x3584")] where wanted("gemm") {
            for tokens in sweep {
                let gflops = gemm(out: out, in: inp, tokens: tokens)
                report("gemm_\(out)x\(inp)_t\(tokens)_gflop_per_s",
                       String(format: "matmul T=%d %@ bf16: %.1f GFLOP/s", tokens, name, gflops), gflops)
            }
        }
        let quant = QuantGEMVBench(pool: pool)
        for format in [WeightFormat.q8_0, .q4_K, .q5_K, .q6_K] where wanted("qgemv") {
            for (out, inp, name) in [(3584, 1024, "gate/up 3584x1024"), (248_320, 1024, "lm_head 248320x1024")] {
                let (gbs, ms, repacked) = quant.run(format: format, out: out, in: inp)
                report("qgemv_\(format)_\(out)x\(inp)_gb_per_s",
                       "GEMV T=1 \(name) \(format) (\(repacked ? "repacked" : "ggml layout")): " +
                           String(format: "%.1f GB/s (%.0f%% of probe), %.3f ms/call", gbs, 100 * gbs / bw, ms), gbs)
            }
        }
        let attention = AttentionBench(pool: pool)
        for depth in [512, 8_192, 32_768] where wanted("attention") {
            for type in [KVType.f32, .bf16] {
                let (ms, gbs) = attention.run(depth: depth, type: type)
                report("attn_decode_\(type)_d\(depth)_ms",
                       "decode attention depth \(depth) \(type) KV (8q/2kv×256): " +
                           String(format: "%.3f ms/layer, KV read %.1f GB/s", ms, gbs), ms)
            }
        }
        for depth in [8_192, 32_768] where wanted("prefill-attention") {
            for type in [KVType.f32, .bf16] {
                let (ms, gflops) = attention.prefill(depth: depth, type: type)
                report("attn_prefill_\(type)_d\(depth)_gflop_per_s",
                       "prefill attention, 64-token chunk at depth \(depth) \(type) KV (8q/2kv×256): " +
                           String(format: "%.2f ms/layer, %.1f GFLOP/s", ms, gflops), gflops)
            }
        }
        print(json ? jsonObject(fields) : lines.joined(separator: "\n"))
    }

    /// Seconds per empty `parallelFor(threadCount)` call (what each of decode's ~150 matmuls pays).
    func dispatchLatency() -> Double {
        let calls = 20_000
        let t0 = benchNow()
        for _ in 0..<calls { pool.parallelFor(pool.threadCount) { sink(Float($0)) } }
        return (benchNow() - t0) / Double(calls)
    }

    /// bf16 weights filled with small non-denormal values.
    func randomBF16(_ count: Int) -> OwnedBuffer {
        let buffer = OwnedBuffer(byteCount: count * 2)
        let p = buffer.pointer.bindMemory(to: UInt16.self, capacity: count)
        pool.parallelFor(64) { c in
            let lo = c * count / 64, hi = (c + 1) * count / 64
            for i in lo..<hi { p[i] = 0x3C00 | UInt16(truncatingIfNeeded: (i &* 2654435761) >> 7) & 0x03FF }
        }
        return buffer
    }

    /// GB/s of weights streamed by T=1 matmuls cycling through ≥ 512 MiB of copies; also seconds per call.
    func gemv(out: Int, in k: Int) -> (Double, Double) {
        let bytes = out * k * 2
        let copies = max(1, (512 << 20) / bytes)
        let buffer = randomBF16(out * k * copies)
        let weights = (0..<copies).map {
            WeightTensor(name: "w\($0)", dtype: .bf16, shape: [out, k],
                         data: UnsafeRawPointer(buffer.pointer) + $0 * bytes, owner: buffer)
        }
        let x = [Float](repeating: 0.5, count: k) // [1, in]
        var y = [Float](repeating: 0, count: out) // [1, out]
        let rounds = max(2, (2 << 30) / (bytes * copies))
        var best = Double.infinity
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                for w in weights { matmul(xp.baseAddress!, w, yp.baseAddress!, tokens: 1) } // page in
                for _ in 0..<rounds {
                    let t0 = benchNow()
                    for w in weights { matmul(xp.baseAddress!, w, yp.baseAddress!, tokens: 1) }
                    best = min(best, (benchNow() - t0) / Double(copies))
                }
            }
        }
        return (Double(bytes) / best / 1e9, best)
    }

    /// GFLOP/s of a prefill-sized product (weights L3-resident, as the packed panels make them).
    func gemm(out: Int, in k: Int, tokens: Int) -> Double {
        let buffer = randomBF16(out * k)
        let w = WeightTensor(name: "w", dtype: .bf16, shape: [out, k], data: UnsafeRawPointer(buffer.pointer), owner: buffer)
        let x = [Float](repeating: 0.25, count: tokens * k) // [T, in]
        var y = [Float](repeating: 0, count: tokens * out)  // [T, out]
        var best = Double.infinity
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                for _ in 0..<4 {
                    let t0 = benchNow()
                    matmul(xp.baseAddress!, w, yp.baseAddress!, tokens: tokens)
                    best = min(best, benchNow() - t0)
                }
            }
        }
        return 2 * Double(tokens * out * k) / best / 1e9
    }
}

/// Keeps a computed value alive so the optimizer cannot drop the loop that made it.
nonisolated(unsafe) var sinkValue: Float = 0
@inline(never) func sink(_ v: Float) { if v == .infinity { sinkValue = v } }
