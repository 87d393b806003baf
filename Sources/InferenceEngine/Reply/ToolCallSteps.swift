import Templating

/// The inside of a `<tool_call>`: parameters become members of the arguments object as they complete.
///
/// Arguments are written as `{` at the call's start, `"ARG":` when `<parameter=ARG>` is complete, the value,
/// `}` at `</function>`; string values stream JSON-escaped as they come, other values are converted from the
/// schema at `</parameter>` (vLLM's qwen3_coder takes the same text between `<parameter=ARG>\n` and
/// `\n</parameter>`). A call that breaks (text ends inside it, or something other than a parameter follows)
/// is closed so its arguments stay valid JSON, and the unread text is read again as content.
extension ReplyParser {
    mutating func parametersStep(final: Bool, into out: inout EventList) -> Bool {
        guard let index = call?.index else { preconditionFailure("parameters outside a call") }
        unread.drop(unread.skippingWhitespace(from: 0))
        if unread.isEmpty {
            if final { closeCall(into: &out) }
            return false
        }
        switch unread.match(Tags.parameterOpen, at: 0) {
        case .full:
            switch unread.name(from: Tags.parameterOpen.count) {
            case .incomplete where !final: return false
            case .name(let name, let end):
                unread.drop(end)
                startValue(named: name, into: &out)
            default:
                closeCall(into: &out)
            }
            return true
        case .partial where !final: return false
        default: break
        }
        for (tag, next) in [(Tags.functionClose, Phase.afterFunction), (Tags.toolCallClose, Phase.content)] {
            switch unread.match(tag, at: 0) {
            case .full:
                // vLLM also accepts a call whose `</function>` is missing.
                unread.drop(tag.count)
                out.arguments(index, "}")
                endCall(next: next)
                return true
            case .partial where !final: return false
            default: continue
            }
        }
        closeCall(into: &out)
        return true
    }

    private mutating func startValue(named name: String, into out: inout EventList) {
        guard var current = call else { return }
        current.types = ArgumentTypes(schema: current.tool.schema(ofParameter: name))
        // Repeated names are written as they come (a JSON object with a duplicate key; parsers keep the last).
        var key = current.parameterCount == 0 ? "" : ","
        key += "\"" + jsonEscaped(name) + "\":"
        if current.types.isString { key += "\"" }
        current.parameterCount += 1
        current.bufferedValue = ""
        call = current
        out.arguments(current.index, key)
        phase = .value(atStart: true)
    }

    mutating func valueStep(atStart: Bool, final: Bool, into out: inout EventList) -> Bool {
        if atStart {
            if unread.isEmpty && !final { return false }
            if !unread.isEmpty && unread[0] == "\n" { unread.drop(1) }
            phase = .value(atStart: false)
        }
        if let close = unread.firstIndex(of: Tags.parameterClose) {
            let end = close > 0 && unread[close - 1] == "\n" ? close - 1 : close
            addToValue(unread.take(end), into: &out)
            unread.drop(close - end + Tags.parameterClose.count)
            endValue(into: &out)
            phase = .parameters
            return true
        }
        let held = unread.heldSuffixLength([Tags.newlineParameterClose, Tags.parameterClose])
        addToValue(unread.take(unread.count - held), into: &out)
        guard final else { return false }
        // The text ended inside the value: it is complete as far as it goes (vLLM's `$` alternative); a held
        // start of `\n</parameter>` is unread and becomes content.
        endValue(into: &out)
        closeCall(into: &out)
        return true
    }

    private mutating func addToValue(_ text: String, into out: inout EventList) {
        guard let current = call else { return }
        if current.types.isString {
            out.arguments(current.index, jsonEscaped(text))
        } else {
            call?.bufferedValue += text
        }
    }

    private mutating func endValue(into out: inout EventList) {
        guard let current = call else { return }
        if current.types.isString {
            out.arguments(current.index, "\"")
        } else {
            out.arguments(current.index, current.types.convert(current.bufferedValue).serialized())
            call?.bufferedValue = ""
        }
    }

    mutating func afterFunctionStep(final: Bool, into out: inout EventList) -> Bool {
        unread.drop(unread.skippingWhitespace(from: 0))
        if unread.isEmpty {
            if final { phase = .content }
            return false
        }
        switch unread.match(Tags.toolCallClose, at: 0) {
        case .full: unread.drop(Tags.toolCallClose.count)
        case .partial where !final: return false
        default: break  // not `</tool_call>`: the call is complete anyway, the rest is content
        }
        phase = .content
        return true
    }

    /// A call that breaks: close the arguments object; what is unread is content.
    private mutating func closeCall(into out: inout EventList) {
        if let index = call?.index { out.arguments(index, "}") }
        endCall(next: .content)
    }

    private mutating func endCall(next: Phase) {
        call = nil
        phase = next
    }
}
