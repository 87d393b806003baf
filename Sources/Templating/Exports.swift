// Chat data is `JSON.JSONValue`; re-exported so `import Templating` keeps giving callers `JSONValue`,
// `JSONParseError` and `JSONWriter` without a second import.
@_exported import JSON
