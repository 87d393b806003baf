import Foundation
import Tokenization

/// `qwenkit bench --model DIR --tokenizer-text FILE`: tokenizer load time and single-thread encode throughput, as
/// `Benchmarks/tokenizer.py` measures HF `tokenizers` on the same file (whole string, and 2 kB chunks in sequence).
struct TokenizerBench {
    let directory: URL
    let textFile: String
    let runs: Int

    struct Result {
        var loadSeconds: Double
        var bytes: Int
        var tokens: Int
        var wholeSeconds: Double
        var chunkedSeconds: Double
        var text: String {
            String(format: "tokenizer load %.3f s; %d bytes → %d tokens; whole string %.3f s (%.0f tokens/s, %.2f MB/s); 2 kB chunks %.3f s (%.0f tokens/s)",
                   loadSeconds, bytes, tokens, wholeSeconds, Double(tokens) / wholeSeconds, Double(bytes) / wholeSeconds / 1e6,
                   chunkedSeconds, Double(tokens) / chunkedSeconds)
        }
        var json: String {
            String(format: #"{"load_s": %.4f, "bytes": %d, "tokens": %d, "whole_s": %.4f, "whole_tokens_per_s": %.0f, "chunked_s": %.4f, "chunked_tokens_per_s": %.0f}"#,
                   loadSeconds, bytes, tokens, wholeSeconds, Double(tokens) / wholeSeconds, chunkedSeconds, Double(tokens) / chunkedSeconds)
        }
    }

    func run() throws -> Result {
        guard let data = FileManager.default.contents(atPath: textFile) else { throw CLIError("\(textFile): cannot read") }
        guard let text = String(data: data, encoding: .utf8) else { throw TokenizerError.invalidUTF8(textFile) }
        var loads: [Double] = []
        var tokenizer: Tokenizer!
        for _ in 0..<max(runs, 3) {
            let t0 = benchNow()
            tokenizer = try Tokenizer.load(directory: directory)
            loads.append(benchNow() - t0)
        }
        let chunks = Self.chunks(text, bytes: 2048)
        var tokens = 0
        var whole: [Double] = [], chunked: [Double] = []
        for _ in 0..<runs {
            // A fresh tokenizer per run: the piece cache starts cold, as HF's does in a new process.
            tokenizer = try Tokenizer.load(directory: directory)
            let t0 = benchNow()
            tokens = tokenizer.encode(text).count
            whole.append(benchNow() - t0)
            tokenizer = try Tokenizer.load(directory: directory)
            let t1 = benchNow()
            var n = 0
            for c in chunks { n += tokenizer.encode(c).count }
            chunked.append(benchNow() - t1)
        }
        return Result(loadSeconds: median(loads), bytes: data.count, tokens: tokens,
                      wholeSeconds: median(whole), chunkedSeconds: median(chunked))
    }

    /// ~`bytes`-long pieces cut at character boundaries.
    static func chunks(_ text: String, bytes: Int) -> [String] {
        var out: [String] = []
        var current = ""
        var size = 0
        for ch in text {
            current.append(ch)
            size += ch.utf8.count
            if size >= bytes { out.append(current); current = ""; size = 0 }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

}
