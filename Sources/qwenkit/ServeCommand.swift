import ArgumentParser
import Foundation
import Hummingbird
import InferenceEngine
import Logging
import OpenAIServer
import ServiceLifecycle
import TensorCore

/// `qwenkit serve`: the OpenAI-compatible HTTP API over one model.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions, /v1/models).")

    @Option(help: "Model directory, or a .gguf file.") var model: String
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @Option(name: .customLong("served-model-name"), help: "The model's name in the API (default: the directory name).")
    var servedModelName: String?
    @Option(name: .customLong("api-key"), help: "Accepted bearer key (repeatable); /v1 then needs 'Authorization: Bearer KEY'.")
    var apiKeys: [String] = []
    @Option(name: .customLong("api-key-file"), help: "A file with one accepted key per line.") var apiKeyFile: String?
    @Option(help: "Compute threads (default: all cores).") var threads: Int?
    @Option(name: .customLong("max-queue"), help: "Requests that may wait for a slot; more get 429.") var maxQueue = 64
    @Option(name: [.customLong("max-batch"), .customLong("max-running")], help: "Sequences in the running batch (one forward steps them all).")
    var maxRunning = 16
    @Option(name: .customLong("max-batch-tokens"), help: "Prompt tokens read per step beside the decode tokens (at least one chunk).")
    var maxBatchTokens = 64
    @Option(name: .customLong("kv-type"), help: KVOptionHelp.kvType) var kvType = KVType.f32
    @Option(name: .customLong("kv-memory"), help: "Memory for running sequences' KV caches and states, e.g. 4GiB, 512MiB or 0.25 (of RAM); 0 = no limit.")
    var kvMemory = "0"
    @Option(name: .customLong("prefix-cache-memory"), help: "Memory for cached prompt prefixes, e.g. 2GiB or 0.1 (of RAM); 0 = off.")
    var prefixCacheMemory = "1GiB"
    @Option(name: .customLong("prefix-block"), help: "Prompt tokens between prefix-cache snapshots (a multiple of --prefill-chunk).")
    var prefixBlock = 256
    @Option(name: .customLong("prefill-chunk"), help: "Prompts are read in chunks of this many tokens on a fixed grid while other streams decode (smaller: steadier streams while a long prompt is read). At 64, a step with no decoding stream reads 512, as the CLI does (with the prefix cache, at most --prefix-block); the bits are the same.")
    var prefillChunk = PrefillGrid.chunk
    @Option(name: .customLong("max-body-bytes"), help: "Largest request body; larger gets 413.") var maxBodyBytes = 8 << 20
    @Option(name: .customLong("drain-timeout"), help: "Seconds running requests may take to finish on SIGTERM/SIGINT.")
    var drainTimeout = 30.0

    func validate() throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if let threads, !(1...(4 * cores)).contains(threads) {
            throw ValidationError("--threads \(threads): must be in 1...\(4 * cores) (4 × the \(cores) cores)")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port \(port): must be in 0...65535") }
        guard maxQueue >= 0 else { throw ValidationError("--max-queue \(maxQueue): must be ≥ 0") }
        guard (1...256).contains(maxRunning) else { throw ValidationError("--max-batch \(maxRunning): must be in 1...256") }
        guard (1...65536).contains(maxBatchTokens) else { throw ValidationError("--max-batch-tokens \(maxBatchTokens): must be in 1...65536") }
        guard (1...PrefillGrid.chunk).contains(prefillChunk) else { throw ValidationError("--prefill-chunk \(prefillChunk): must be in 1...\(PrefillGrid.chunk) (at \(PrefillGrid.chunk), steps with no decoding stream read up to \(PrefillGrid.wide))") }
        guard prefixBlock > 0, prefixBlock % prefillChunk == 0, prefixBlock % PrefillGrid.chunk == 0, prefixBlock <= 65536 else {
            throw ValidationError("--prefix-block \(prefixBlock): must be a multiple of 64 (a KV page) and of --prefill-chunk up to 65536")
        }
        _ = try parseMemory(kvMemory, "--kv-memory")
        _ = try parseMemory(prefixCacheMemory, "--prefix-cache-memory")
        guard maxBodyBytes >= 1024 else { throw ValidationError("--max-body-bytes \(maxBodyBytes): must be ≥ 1024") }
        guard drainTimeout.isFinite, drainTimeout >= 0 else { throw ValidationError("--drain-timeout: must be ≥ 0 seconds") }
    }

    func run() async throws {
        try CLIChecks.applyThreads(threads)
        var logger = Logger(label: "qwenkit")
        logger.logLevel = .info
        let directory = URL(fileURLWithPath: model)
        var options = ServerOptions()
        options.host = host
        options.port = port
        options.apiKeys = try apiKeys + readKeys()
        options.limits.maxBodyBytes = maxBodyBytes

        let service = LoadingInferenceService(modelID: servedModelName ?? directory.standardizedFileURL.lastPathComponent)
        let metrics = ServerMetrics()
        let router = buildRouter(service: service, metrics: metrics, options: options)
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "qwenkit"),
                              logger: logger)
        var scheduling = SchedulerOptions(maxQueue: maxQueue, maxRunning: maxRunning)
        scheduling.maxBatchTokens = maxBatchTokens
        scheduling.kvMemoryBytes = try parseMemory(kvMemory, "--kv-memory")
        scheduling.prefixCacheBytes = try parseMemory(prefixCacheMemory, "--prefix-cache-memory")
        scheduling.prefixBlockTokens = prefixBlock
        scheduling.prefillChunk = prefillChunk
        let modelID = service.modelID, log = logger, schedulerOptions = scheduling
        // The port answers (/health 503) while the weights map; a model that fails to load ends the process.
        let loader = Thread {
            do {
                let bundle = try ModelBundle(directory: directory, kvType: kvType)
                let local = LocalInferenceService(bundle: bundle, modelID: modelID, options: schedulerOptions)
                service.loaded(local)
                log.info("\(bundle.summary); serving as '\(modelID)' on http://\(host):\(port)")
                log.info("memory: \(local.memorySummary)")
            } catch {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                Foundation.exit(1)
            }
        }
        loader.start()
        var config = ServiceGroupConfiguration(
            services: [.init(service: EngineService(service: service, drainTimeout: .seconds(drainTimeout))), .init(service: app)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        config.maximumGracefulShutdownDuration = .seconds(drainTimeout + 5)
        try await ServiceGroup(configuration: config).run()
        logger.info("stopped")
    }

    private func readKeys() throws -> [String] {
        guard let apiKeyFile else { return [] }
        guard let text = try? String(contentsOfFile: apiKeyFile, encoding: .utf8) else {
            throw CLIError("--api-key-file \(apiKeyFile): cannot read it as UTF-8 text")
        }
        let keys = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !keys.isEmpty else { throw CLIError("--api-key-file \(apiKeyFile): no keys in it") }
        return keys
    }
}

/// "4GiB", "512MiB", "1000000" (bytes) or a fraction of physical memory ("0.25").
func parseMemory(_ text: String, _ flag: String) throws -> Int {
    let units: [(String, Double)] = [("GiB", 1_073_741_824), ("MiB", 1_048_576), ("KiB", 1024), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)]
    for (suffix, scale) in units where text.hasSuffix(suffix) {
        guard let n = Double(text.dropLast(suffix.count)), n >= 0, n * scale < 1e15 else { break }
        return Int(n * scale)
    }
    if let n = Double(text), n >= 0 {
        if n < 1 && n > 0 { return Int(n * Double(ProcessInfo.processInfo.physicalMemory)) }
        if n < 1e15 { return Int(n) }
    }
    throw ValidationError("\(flag) \(text): give bytes, a size like 4GiB or 512MiB, or a fraction of RAM like 0.25")
}
