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
    @Option(name: .customLong("max-running"), help: "Sequences generated at the same time (round-robin).") var maxRunning = 8
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
        guard (1...256).contains(maxRunning) else { throw ValidationError("--max-running \(maxRunning): must be in 1...256") }
        guard maxBodyBytes >= 1024 else { throw ValidationError("--max-body-bytes \(maxBodyBytes): must be ≥ 1024") }
        guard drainTimeout.isFinite, drainTimeout >= 0 else { throw ValidationError("--drain-timeout: must be ≥ 0 seconds") }
    }

    func run() async throws {
        if let threads { ThreadPool.shared = ThreadPool(threads: threads) }
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
        let scheduling = SchedulerOptions(maxQueue: maxQueue, maxRunning: maxRunning)
        let modelID = service.modelID, log = logger
        // The port answers (/health 503) while the weights map; a model that fails to load ends the process.
        let loader = Thread {
            do {
                let bundle = try ModelBundle(directory: directory)
                service.loaded(LocalInferenceService(bundle: bundle, modelID: modelID, options: scheduling))
                log.info("\(bundle.summary); serving as '\(modelID)' on http://\(host):\(port)")
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
