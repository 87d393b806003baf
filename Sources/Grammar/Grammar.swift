/// A grammar over bytes, as rules of regular expressions that may call other rules (a context-free grammar in
/// extended BNF). Front ends (JSON Schema, JSON, Qwen tool calls) build `Expr`s; `Grammar` compiles them into one
/// byte-level NFA per rule (Thompson construction), with call edges between rules, which `GrammarMatcher` runs
/// as a pushdown automaton.
public indirect enum Expr: Sendable, Equatable {
    /// These bytes, in order.
    case bytes([UInt8])
    /// One byte in any of these ranges.
    case byteClass([ClosedRange<UInt8>])
    case seq([Expr])
    case alt([Expr])
    /// `min` to `max` (nil: unbounded) repetitions.
    case rep(Expr, min: Int, max: Int?)
    /// A call of another rule (recursion goes through rules, never through `Expr` nesting).
    case rule(Int)
    /// Any text (bytes 0x09, 0x0A, 0x0D, 0x20–0xFF) that does not contain `stop` (a KMP automaton): the free text
    /// of a tool-call parameter, which ends at `</parameter>`.
    case textAvoiding([UInt8])

    public static func lit(_ s: String) -> Expr { .bytes(Array(s.utf8)) }
    public static let empty = Expr.seq([])
    public static func opt(_ e: Expr) -> Expr { .rep(e, min: 0, max: 1) }
    public static func star(_ e: Expr) -> Expr { .rep(e, min: 0, max: nil) }
    public static func plus(_ e: Expr) -> Expr { .rep(e, min: 1, max: nil) }
}

/// Why a grammar could not be built.
public struct GrammarError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Collects rules; rule 0 is the root. A rule may be declared before it is defined (for recursion).
public struct GrammarBuilder: Sendable {
    var bodies: [Expr?] = []
    var names: [String] = []

    public init() {}

    /// A new rule id whose body is set later with `define`.
    public mutating func declare(_ name: String) -> Int {
        bodies.append(nil)
        names.append(name)
        return bodies.count - 1
    }

    public mutating func define(_ id: Int, _ body: Expr) { bodies[id] = body }

    public mutating func add(_ name: String, _ body: Expr) -> Int {
        let id = declare(name)
        define(id, body)
        return id
    }

    /// Compiles with `root` as the start rule.
    public func build(root: Int) throws -> Grammar {
        for (i, body) in bodies.enumerated() where body == nil {
            throw GrammarError("rule '\(names[i])' is declared but never defined")
        }
        return try Grammar(rules: bodies.map { $0! }, names: names, root: root)
    }
}

/// One NFA node. A node with byte edges is a place where the matcher waits for input; `isEnd` marks the end of
/// its rule (the matcher pops to the caller's return node).
struct Node: Sendable {
    /// (lo, hi, target), in any order.
    var edges: [(lo: UInt8, hi: UInt8, to: Int32)] = []
    var epsilon: [Int32] = []
    /// Enter `rule`'s start node and, when it ends, continue at `ret`.
    var calls: [(start: Int32, ret: Int32)] = []
    var isEnd = false
}

/// The compiled NFA of every rule.
public struct Grammar: Sendable {
    var nodes: [Node] = []
    /// Start node of each rule.
    var ruleStarts: [Int32] = []
    var rootStart: Int32 = 0
    public let ruleNames: [String]
    public var nodeCount: Int { nodes.count }

    /// Most nodes one grammar may have: a bound on what a request's schema can cost. Compiling walks the
    /// vocabulary once per node that reads bytes (~0.3–0.6 ms each with the 248k-token Qwen3.5 vocabulary), and a
    /// bounded repetition (`maxLength`, `minItems`, …) copies its body per count: `maxLength: 512` on one string
    /// is ~23,500 nodes and ~7 s of compile on this machine's class, `maxLength: 4096` was ~190,000 nodes and
    /// ~100 s. 32,768 keeps a request's compile to seconds while leaving room for ~120 tools with typed parameters
    /// (20 tools: ~5,000 nodes).
    public static let maxNodes = 32_768

    init(rules: [Expr], names: [String], root: Int) throws {
        ruleNames = names
        // Starts first, so calls can point at them before their bodies are compiled.
        for _ in rules { ruleStarts.append(newNode()) }
        rootStart = ruleStarts[root]
        for (i, body) in rules.enumerated() {
            let end = try compile(body, from: ruleStarts[i])
            nodes[Int(end)].isEnd = true
        }
    }

    private mutating func newNode() -> Int32 {
        nodes.append(Node())
        return Int32(nodes.count - 1)
    }

    /// Thompson construction: the node reached after `e`, starting at `from`.
    private mutating func compile(_ e: Expr, from: Int32) throws -> Int32 {
        guard nodes.count < Self.maxNodes else {
            throw GrammarError("grammar too large (over \(Self.maxNodes) states); lower maxLength/maxItems or shorten the schema")
        }
        switch e {
        case .bytes(let bs):
            var at = from
            for b in bs {
                let next = newNode()
                nodes[Int(at)].edges.append((b, b, next))
                at = next
            }
            return at
        case .byteClass(let ranges):
            let next = newNode()
            for r in ranges { nodes[Int(from)].edges.append((r.lowerBound, r.upperBound, next)) }
            return next
        case .seq(let parts):
            var at = from
            for p in parts { at = try compile(p, from: at) }
            return at
        case .alt(let options):
            if options.count > 1, options.allSatisfy({ if case .bytes = $0 { return true } else { return false } }) {
                return literalTrie(options, from: from)
            }
            let end = newNode()
            for o in options {
                let start = newNode()
                nodes[Int(from)].epsilon.append(start)
                let last = try compile(o, from: start)
                nodes[Int(last)].epsilon.append(end)
            }
            return end
        case .rep(let inner, let min, let max):
            // Front ends check their counts; this keeps a bad one an error rather than a trap on the range below.
            guard min >= 0, max.map({ $0 >= min }) ?? true else {
                throw GrammarError("bad repetition {\(min),\(max.map(String.init) ?? "")}")
            }
            var at = from
            for _ in 0..<min { at = try compile(inner, from: at) }
            if let max {
                // Each optional copy may skip to the end: `x{0,3}` = (x(x(x)?)?)?, linear in max.
                let end = newNode()
                for _ in min..<max {
                    nodes[Int(at)].epsilon.append(end)
                    at = try compile(inner, from: at)
                }
                nodes[Int(at)].epsilon.append(end)
                return end
            }
            // Kleene star through a fresh loop node, so the body's own epsilons cannot leak into `from`.
            let loop = newNode()
            nodes[Int(at)].epsilon.append(loop)
            let bodyStart = newNode()
            nodes[Int(loop)].epsilon.append(bodyStart)
            let bodyEnd = try compile(inner, from: bodyStart)
            nodes[Int(bodyEnd)].epsilon.append(loop)
            let end = newNode()
            nodes[Int(loop)].epsilon.append(end)
            return end
        case .textAvoiding(let stop):
            return avoiding(stop, from: from)
        case .rule(let id):
            let ret = newNode()
            nodes[Int(from)].calls.append((ruleStarts[id], ret))
            return ret
        }
    }

    /// States 0..<n (how much of `stop` was just read); every state may end the text (epsilon to the end).
    private mutating func avoiding(_ stop: [UInt8], from: Int32) -> Int32 {
        let n = stop.count
        precondition(n > 0, "textAvoiding needs a non-empty stop string")
        // KMP failure function: fail[k] = length of the longest proper border of stop[0..<k].
        var fail = [Int](repeating: 0, count: n + 1)
        var k = 0
        for i in 1..<n {
            while k > 0 && stop[i] != stop[k] { k = fail[k] }
            if stop[i] == stop[k] { k += 1 }
            fail[i + 1] = k
        }
        var states = [from]
        for _ in 1..<n { states.append(newNode()) }
        let end = newNode()
        let allowed: [UInt8] = [0x09, 0x0A, 0x0D] + Array(0x20...0xFF)
        for (q, node) in states.enumerated() {
            nodes[Int(node)].epsilon.append(end)
            // Next state per byte, grouped into ranges.
            var run: (lo: UInt8, hi: UInt8, to: Int)?
            for b in allowed {
                var j = q
                while j > 0 && stop[j] != b { j = fail[j] }
                if stop[j] == b { j += 1 }
                if j == n { if let r = run { nodes[Int(node)].edges.append((r.lo, r.hi, states[r.to])); run = nil }; continue }
                if let r = run, r.to == j, Int(r.hi) + 1 == Int(b) { run = (r.lo, b, j); continue }
                if let r = run { nodes[Int(node)].edges.append((r.lo, r.hi, states[r.to])) }
                run = (b, b, j)
            }
            if let r = run { nodes[Int(node)].edges.append((r.lo, r.hi, states[r.to])) }
        }
        return end
    }

    /// Alternatives that are all literals share prefixes (a 1000-value enum becomes a byte trie, so the matcher
    /// follows one path instead of 1000).
    private mutating func literalTrie(_ options: [Expr], from: Int32) -> Int32 {
        let end = newNode()
        var children: [Int32: [UInt8: Int32]] = [:]
        for case .bytes(let bs) in options {
            var at = from
            for b in bs {
                if let next = children[at]?[b] {
                    at = next
                } else {
                    let next = newNode()
                    nodes[Int(at)].edges.append((b, b, next))
                    children[at, default: [:]][b] = next
                    at = next
                }
            }
            if !nodes[Int(at)].epsilon.contains(end) { nodes[Int(at)].epsilon.append(end) }
        }
        return end
    }
}
