import Foundation

/// Source position of a node (1-based).
struct SourcePos {
    let line: Int
    let column: Int
}

/// Expression nodes.
indirect enum Expr {
    case literal(Value, SourcePos)
    case name(String, SourcePos)
    case list([Expr], SourcePos)
    case tuple([Expr], SourcePos)
    case dict([(Expr, Expr)], SourcePos)
    case getAttr(Expr, String, SourcePos)
    case getItem(Expr, Expr, SourcePos)
    case slice(Expr, Expr?, Expr?, Expr?, SourcePos)
    case call(Expr, [Expr], [(String, Expr)], SourcePos)
    case filter(Expr, String, [Expr], [(String, Expr)], SourcePos)
    case test(Expr, String, [Expr], negated: Bool, SourcePos)
    case unary(String, Expr, SourcePos)
    case binary(String, Expr, Expr, SourcePos)
    /// `and` / `or` (short-circuit, returning an operand like Python).
    case logical(String, Expr, Expr, SourcePos)
    case compare(Expr, [(String, Expr)], SourcePos)
    case concat([Expr], SourcePos)
    case conditional(cond: Expr, then: Expr, otherwise: Expr?, SourcePos)

    var pos: SourcePos {
        switch self {
        case .literal(_, let p), .name(_, let p), .list(_, let p), .tuple(_, let p), .dict(_, let p),
             .getAttr(_, _, let p), .getItem(_, _, let p), .slice(_, _, _, _, let p), .call(_, _, _, let p),
             .filter(_, _, _, _, let p), .test(_, _, _, _, let p), .unary(_, _, let p),
             .binary(_, _, _, let p), .logical(_, _, _, let p), .compare(_, _, let p), .concat(_, let p),
             .conditional(_, _, _, let p):
            return p
        }
    }
}

/// Assignment targets: `x`, `ns.attr`, `a, b`.
indirect enum Target {
    case name(String)
    case attribute(String, String)
    case tuple([Target])
}

/// Statement nodes.
indirect enum Node {
    case text(String)
    case output(Expr)
    case ifChain([(Expr, [Node])], otherwise: [Node])
    case forLoop(target: Target, iter: Expr, filter: Expr?, body: [Node], otherwise: [Node], recursive: Bool, SourcePos)
    case set(Target, Expr, SourcePos)
    case setBlock(Target, [Node], filters: [(String, [Expr], [(String, Expr)], SourcePos)], SourcePos)
    case macro(name: String, params: [(String, Expr?)], body: [Node])
    case callBlock(call: Expr, params: [(String, Expr?)], body: [Node], SourcePos)
    case filterBlock(filters: [(String, [Expr], [(String, Expr)], SourcePos)], body: [Node])
    case with([(Target, Expr)], [Node])
    case breakLoop
    case continueLoop
}
