/// Building blocks of `ReplyParser`: the unread text, the trimming of reasoning/content, and the event list.

/// A tag as Unicode scalars.
typealias Tag = [Unicode.Scalar]

enum Tags {
    static let thinkOpen = tag("<think>")
    static let thinkClose = tag("</think>")
    static let toolCallOpen = tag("<tool_call>")
    static let toolCallClose = tag("</tool_call>")
    static let functionOpen = tag("<function=")
    static let functionClose = tag("</function>")
    static let parameterOpen = tag("<parameter=")
    static let parameterClose = tag("</parameter>")
    /// The template writes a value as `\n` + value + `\n</parameter>`, so the newline belongs to the tag.
    static let newlineParameterClose = tag("\n</parameter>")

    private static func tag(_ s: String) -> Tag { Array(s.unicodeScalars) }
}

/// The text fed but not yet consumed. Kept as Unicode scalars, not Characters: tags must match whatever the
/// grapheme clustering around them (`"\r\n"` is one Character, and a combining mark in the next delta would
/// merge with the last Character of this one). A slice, so consuming the front is O(1): removing from an
/// array's front made a long reply quadratic (found by fuzzing: 66 KB took 15 s under ASan). Indices below
/// are 0-based from the first unread scalar (`at(i)`).
struct UnreadText: Sendable {
    private(set) var scalars: ArraySlice<Unicode.Scalar> = []

    var count: Int { scalars.count }
    var isEmpty: Bool { scalars.isEmpty }
    subscript(i: Int) -> Unicode.Scalar { scalars[scalars.startIndex + i] }
    private func at(_ i: Int) -> Int { scalars.startIndex + i }

    mutating func append(_ text: String) { scalars.append(contentsOf: text.unicodeScalars) }

    func string(_ range: Range<Int>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[at(range.lowerBound)..<at(range.upperBound)])
        return String(view)
    }

    /// Removes and returns the first `n` scalars.
    mutating func take(_ n: Int) -> String {
        defer { drop(n) }
        return string(0..<n)
    }

    mutating func drop(_ n: Int) {
        scalars.removeFirst(n)
        // The slice keeps the consumed front alive; copy the rest out once it is most of the buffer.
        if scalars.startIndex > 4096 && scalars.startIndex > 2 * scalars.count { scalars = ArraySlice(Array(scalars)) }
    }

    func firstIndex(of tag: Tag) -> Int? {
        guard scalars.count >= tag.count else { return nil }
        for i in 0...(scalars.count - tag.count) where self[i] == tag[0] {
            if scalars[at(i)..<at(i + tag.count)].elementsEqual(tag) { return i }
        }
        return nil
    }

    enum Match { case full, partial, none }

    /// Whether `tag` is at `i`, or the text ends inside a prefix of it (undecided until more text comes).
    func match(_ tag: Tag, at i: Int) -> Match {
        let available = scalars.count - i
        if available >= tag.count { return scalars[at(i)..<at(i + tag.count)].elementsEqual(tag) ? .full : .none }
        return scalars[at(i)...].elementsEqual(tag[..<available]) ? .partial : .none
    }

    /// Length of the longest suffix that is a proper prefix of one of `tags`: what must be held back because
    /// the next delta may complete the tag.
    func heldSuffixLength(_ tags: [Tag]) -> Int {
        var best = 0
        for tag in tags {
            for n in stride(from: min(tag.count - 1, scalars.count), to: best, by: -1)
            where scalars[(scalars.endIndex - n)...].elementsEqual(tag[..<n]) {
                best = n
                break
            }
        }
        return best
    }

    /// Index of the first scalar at or after `i` that is not whitespace.
    func skippingWhitespace(from i: Int) -> Int {
        var j = i
        while j < scalars.count, self[j].properties.isWhitespace { j += 1 }
        return j
    }

    enum Name { case incomplete, malformed, name(String, end: Int) }

    /// The `NAME` of `<function=NAME>` / `<parameter=NAME>` starting at `i`, up to the `>`. A newline or `<`
    /// before the `>`, or an implausibly long name, is malformed XML rather than something to wait for.
    func name(from i: Int, maxLength: Int = 256) -> Name {
        var j = i
        while j < scalars.count {
            switch self[j] {
            case ">":
                let name = string(i..<j).trimmingWhitespace
                return name.isEmpty ? .malformed : .name(name, end: j + 1)
            case "\n", "<": return .malformed
            default:
                if j - i >= maxLength { return .malformed }
                j += 1
            }
        }
        return .incomplete
    }
}

extension String {
    var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}

/// Streams one channel (reasoning or content) with the template's trimming: leading and trailing newlines of
/// each segment are dropped (`content.lstrip('\n')`, vLLM's `.strip("\n")`-style normalisation), and a segment
/// that is only whitespace disappears. Content is cut into segments by tool calls; non-empty segments are
/// joined with `separator` so text on both sides of a call stays readable.
struct TrimmedChannel: Sendable {
    let separator: String
    /// A non-whitespace scalar of the current segment was emitted.
    private(set) var hasStarted = false
    /// Some segment emitted text.
    private var emittedAny = false
    /// Whitespace before the segment's first visible scalar, or newlines at its end so far.
    private var held = String.UnicodeScalarView()

    init(separator: String = "") { self.separator = separator }

    /// The text of `piece` that is certain to be part of the channel.
    mutating func add(_ piece: String) -> String {
        var out = String.UnicodeScalarView()
        // Scalar by scalar: `UnicodeScalarView.append(contentsOf:)` goes through `replaceSubrange`, which
        // copied the whole output each time (quadratic: a 320 KB reply took 2 s; found by fuzzing).
        func emit<S: Sequence<Unicode.Scalar>>(_ scalars: S) { for x in scalars { out.append(x) } }
        for scalar in piece.unicodeScalars {
            if !hasStarted {
                if scalar.properties.isWhitespace { held.append(scalar); continue }
                if emittedAny { emit(separator.unicodeScalars) }
                emit(held.drop { $0 == "\n" })
                hasStarted = true
                emittedAny = true
            } else if scalar == "\n" {
                held.append(scalar)
                continue
            } else {
                emit(held)
            }
            held = String.UnicodeScalarView()
            out.append(scalar)
        }
        return String(out)
    }

    /// Ends the segment: held newlines were trailing, drop them.
    mutating func endSegment() {
        hasStarted = false
        held = String.UnicodeScalarView()
    }
}

/// The events of one `feed`/`finish`, with adjacent text of the same kind merged.
struct EventList {
    private(set) var events: [ReplyEvent] = []

    mutating func append(_ event: ReplyEvent) {
        switch (events.last, event) {
        case (.reasoning(let a)?, .reasoning(let b)): events[events.count - 1] = .reasoning(a + b)
        case (.content(let a)?, .content(let b)): events[events.count - 1] = .content(a + b)
        case let (.toolCallArguments(i, a)?, .toolCallArguments(j, b)) where i == j:
            events[events.count - 1] = .toolCallArguments(index: i, fragment: a + b)
        default: events.append(event)
        }
    }

    mutating func reasoning(_ text: String) { if !text.isEmpty { append(.reasoning(text)) } }
    mutating func content(_ text: String) { if !text.isEmpty { append(.content(text)) } }
    mutating func arguments(_ index: Int, _ fragment: String) {
        if !fragment.isEmpty { append(.toolCallArguments(index: index, fragment: fragment)) }
    }
}
