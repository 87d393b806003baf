import Foundation
import InferenceEngine
import LanguageModels
import TensorCore

/// `qwenkit bench --model M --prompt N --checkpoint FILE`: one prefill that may outlast the process (262,144
/// tokens on 2 cores take hours, mostly full attention), then `--gen` decode steps at that depth. The state is
/// saved to FILE (`SequenceStateFile`) every `--checkpoint-every` tokens; the same command run again resumes
/// from it. The prefill time reported is the sum of the segments' compute seconds (checkpoint writes are not
/// counted; they are reported apart). The last chunk is never checkpointed, so a resumed run always computes
/// the logits it decodes from.
struct ResumableBench {
    let directory: URL
    let kvType: KVType
    let prompt, gen, every: Int
    let file: URL

    func run() throws -> String {
        let t0 = benchNow()
        let lm = try openModel(directory, kvType: kvType)
        try CLIChecks.fitsContext(prompt: prompt, extra: gen, extraOption: "--gen", context: lm.maxContextLength)
        let loadSeconds = benchNow() - t0
        let ids = ModelBench.prompt(prompt, vocab: lm.vocabSize)
        let tag = "\(directory.lastPathComponent) bytes=\(Self.modelBytes(directory)) kv=\(kvType) prompt=\(prompt) ids=lcg-5EED chunk=\(PrefillGrid.chunk)"
        var state = lm.makeState()
        // Wall seconds count the minutes this process was paused or shared the cores; CPU seconds ÷ threads do not.
        // During prefill the pool's threads spin between kernel calls (they park only after ~ms of idleness), so
        // alone on a machine the two nearly agree; CPU ÷ threads undercounts serial stretches, so both are shown.
        var spent = 0.0, cpu = 0.0, segments = 1, writeSeconds = 0.0, readSeconds = 0.0
        if FileManager.default.fileExists(atPath: file.path) {
            let tr = benchNow()
            let (saved, info) = try SequenceStateFile.read(from: file, tag: tag, into: state, maxPosition: lm.maxContextLength)
            readSeconds = benchNow() - tr
            state = saved
            let fields = Dictionary(info.split(separator: " ").compactMap { kv -> (String, Double)? in
                let p = kv.split(separator: "=")
                return p.count == 2 ? (String(p[0]), Double(p[1]) ?? 0) : nil
            }, uniquingKeysWith: { a, _ in a })
            spent = fields["seconds"] ?? 0
            cpu = fields["cpu"] ?? 0
            segments = Int(fields["segments"] ?? 0) + 1
            log(String(format: "resumed at %d / %d tokens (%.0f s of compute in %d segments; read in %.1f s)",
                       state.position, prompt, spent, segments - 1, readSeconds))
        }
        let resumedAt = state.position
        let lastStart = (prompt - 1) / PrefillGrid.chunk * PrefillGrid.chunk
        var logits: [Float] = []   // [1, vocab]
        var segmentStart = benchNow(), cpuStart = cpuSeconds()
        while state.position < prompt {
            let read = state.position, end = PrefillGrid.chunkEnd(from: read, count: prompt)
            logits = lm.forward(Array(ids[read..<end]), state: &state, allLogits: false)
            if end == lastStart || (end < lastStart && end % every == 0) {
                spent += benchNow() - segmentStart
                cpu += cpuSeconds() - cpuStart
                let tw = benchNow()
                try SequenceStateFile.write(state, tag: tag, info: "seconds=\(spent) cpu=\(cpu) segments=\(segments)", to: file)
                writeSeconds += benchNow() - tw
                log(String(format: "prefill %d / %d tokens, %.0f s wall, %.0f s CPU ÷ threads; checkpoint %.2f GB written in %.1f s",
                           end, prompt, spent, cpu, Double(state.byteCount) / 1e9, benchNow() - tw))
                segmentStart = benchNow()
                cpuStart = cpuSeconds()
            }
        }
        spent += benchNow() - segmentStart
        cpu += cpuSeconds() - cpuStart
        let td = benchNow()
        for _ in 0..<gen { logits = lm.forward([argmax(logits)], state: &state, allLogits: false) } // [1, vocab]
        let decode = Double(gen) / max(benchNow() - td, 1e-9)
        let rss = peakRSSBytes()
        let probe = dramReadProbe(ThreadPool.shared)
        return String(format: """
            model      %@  (KV %@, %d threads)
            load       %.2f s
            prefill    %d tokens in %.0f s of CPU ÷ threads = %.2f tok/s; %.0f s wall incl. pauses = %.2f tok/s  (%d segments; this one from %d; checkpoints: %.0f s written, %.0f s read, not counted)
            decode     %.2f tok/s at depth %d  (%d tokens)
            state      %.2f GB  (KV + recurrent, this sequence)
            peak RSS   %.2f GiB  (this process)
            DRAM read  %.1f GB/s (probe after the run)
            """, directory.lastPathComponent, kvType.rawValue, ThreadPool.shared.threadCount, loadSeconds, prompt, cpu,
            Double(prompt) / cpu, spent, Double(prompt) / spent, segments, resumedAt, writeSeconds, readSeconds, decode, prompt, gen,
            Double(state.byteCount) / 1e9, Double(rss) / 1_073_741_824, probe)
    }

    /// Bytes of the model's files (a .gguf, or a directory's files): with the name, what a checkpoint belongs to.
    static func modelBytes(_ url: URL) -> Int {
        let fm = FileManager.default
        let files = (try? fm.contentsOfDirectory(atPath: url.path)).map { $0.map { url.appendingPathComponent($0).path } } ?? [url.path]
        return files.reduce(0) { $0 + ((try? fm.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
    }

    /// User + system CPU seconds of this process ÷ the compute threads.
    private func cpuSeconds() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        let t = Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6
        return t / Double(ThreadPool.shared.threadCount)
    }

    private func log(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
}
