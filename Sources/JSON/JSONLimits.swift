/// The bounds every JSON document read by QwenKit is held to (files and request bodies alike), for the
/// libraries and the server to quote and to reuse on values built from JSON (a template's `tojson`).
public enum JSONLimits {
    /// Arrays and objects nested deeper than this are a parse error, not a stack overflow.
    public static let maxNestingDepth = 512
}
