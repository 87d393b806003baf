// swift-tools-version: 6.0
import PackageDescription

// Targets depend in one direction:
// TensorCore ← (CKernels) ← Kernels ← LanguageModels ← InferenceEngine ← qwenkit, with Grammar (JSON only) under
// InferenceEngine beside the sampler,
// with SafeTensors beside Kernels and Tokenization / Templating as leaf libraries; JSON is the leaf under
// SafeTensors, Tokenization, Templating and LanguageModels (one reader, one policy).
import Foundation

// Release builds target the building machine's vector ISA (build-time choice): AVX-512 where the CPU has it
// (znver4 on AMD Zen 4, else skylake-avx512), else AVX2/FMA (haswell). The Swift frontend's clang importer does
// not know the x86-64-v3/v4 level names, so CPU names are used. The C kernels choose their path at run time.
let cpuInfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
let hostCPUFlags = cpuInfo.split(separator: "\n").first { $0.hasPrefix("flags") }.map { String($0) + " " } ?? ""
let swiftTargetCPU: [String] =
    hostCPUFlags.contains(" avx512f ") && hostCPUFlags.contains(" avx512bw ")
        ? ["-target-cpu", cpuInfo.contains("AuthenticAMD") && hostCPUFlags.contains(" avx512_bf16 ") ? "znver4" : "skylake-avx512"]
    : hostCPUFlags.contains(" avx2 ") && hostCPUFlags.contains(" fma ") ? ["-target-cpu", "haswell"]
    : []
// `-Ounchecked` (no bounds, overflow or precondition checks) only where the hot loops are and no untrusted input
// is parsed: the kernels. Everything that reads files or request bodies (JSON, SafeTensors headers, tokenizer,
// Jinja, the engine, the CLI) keeps its checks, so a latent bug traps instead of corrupting memory.
// LanguageModels stays checked too: unchecked it measured the same (bench-0.8b, 1 thread: prefill 83-84,
// decode 7.7-7.8 tok/s either way; tiny models within noise), and its preconditions guard token ids.
// Checked Tokenization costs ~3-4% encode throughput (3.89 → 3.76 M tok/s on a 2 MB mixed text).
let kernelOptimized: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"] + swiftTargetCPU, .when(configuration: .release))]
let optimized: [SwiftSetting] = [.unsafeFlags(["-O", "-wmo"] + swiftTargetCPU, .when(configuration: .release))]

let package = Package(
    name: "QwenKit",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "qwenkit", targets: ["qwenkit"]),
        .library(name: "LanguageModels", targets: ["LanguageModels"]),
        .library(name: "InferenceEngine", targets: ["InferenceEngine"]),
        .library(name: "OpenAIServer", targets: ["OpenAIServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .target(name: "TensorCore", swiftSettings: kernelOptimized),
        .target(name: "JSON", swiftSettings: optimized),
        .target(
            name: "CKernels",
            cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]
        ),
        .target(name: "Kernels", dependencies: ["TensorCore", "CKernels"], swiftSettings: kernelOptimized),
        .target(name: "SafeTensors", dependencies: ["TensorCore", "JSON"], swiftSettings: optimized),
        .target(name: "GGUF", dependencies: ["TensorCore", "JSON"], swiftSettings: optimized),
        .target(name: "Tokenization", dependencies: ["JSON"], swiftSettings: optimized),
        .target(name: "Templating", dependencies: ["JSON"], swiftSettings: optimized),
        // Constrained decoding: grammars over bytes, token masks over a vocabulary; knows nothing of models.
        .target(name: "Grammar", dependencies: ["JSON"], swiftSettings: optimized),
        .target(
            name: "LanguageModels",
            dependencies: ["TensorCore", "Kernels", "SafeTensors", "GGUF", "JSON"],
            swiftSettings: optimized
        ),
        .target(
            name: "InferenceEngine",
            dependencies: ["LanguageModels", "GGUF", "Tokenization", "Templating", "JSON", "Grammar"],
            swiftSettings: optimized
        ),
        // The HTTP front door: speaks to the engine through typed requests and event streams, never tensors.
        .target(
            name: "OpenAIServer",
            dependencies: [
                "InferenceEngine", "Templating", "Tokenization", "JSON", "Grammar",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "qwenkit",
            dependencies: [
                "OpenAIServer", "InferenceEngine", "LanguageModels", "Tokenization", "Templating", "JSON", "Grammar",
                "SafeTensors", "GGUF", "Kernels", "TensorCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: optimized
        ),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors"]),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF", "TensorCore"]),
        .testTarget(name: "TokenizationTests", dependencies: ["Tokenization"]),
        .testTarget(name: "TemplatingTests", dependencies: ["Templating"]),
        .testTarget(name: "GrammarTests", dependencies: ["Grammar", "JSON", "Tokenization"]),
        .testTarget(name: "LanguageModelsTests", dependencies: ["LanguageModels", "SafeTensors", "GGUF"]),
        .testTarget(name: "InferenceEngineTests", dependencies: [
            "InferenceEngine", "Templating", "Tokenization", "Grammar", "JSON", "GGUF", "LanguageModels", "SafeTensors",
        ]),
        // The CLI's argument checks (fuzz findings: numbers that wrapped past the context, --threads, --out).
        .testTarget(name: "QwenKitCLITests", dependencies: ["qwenkit"]),
        .testTarget(
            name: "OpenAIServerTests",
            dependencies: ["OpenAIServer", "InferenceEngine", "Grammar", "JSON", .product(name: "HummingbirdTesting", package: "hummingbird")]
        ),
    ],
    swiftLanguageModes: [.v5]
)
