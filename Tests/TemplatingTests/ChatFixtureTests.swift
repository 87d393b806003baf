import Foundation
import XCTest
@testable import Templating

/// Every chat.json case (transformers `apply_chat_template` output) must render byte-identically, and
/// error cases must fail with the same message.
final class ChatFixtureTests: XCTestCase {
    static var fixtures: URL {
        var url = URL(fileURLWithPath: #filePath)
        while url.lastPathComponent != "Tests" { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Fixtures")
    }
    static var tokenizerDir: URL { fixtures.appendingPathComponent("tokenizer") }

    func loadCases(_ file: URL = tokenizerDir.appendingPathComponent("chat.json")) throws -> [JSONValue] {
        let data = try Data(contentsOf: file)
        let json = try JSONValue.parse(data)
        return try XCTUnwrap(json["cases"]?.arrayValue)
    }

    func template(_ which: String) throws -> ChatTemplate {
        let file = which == "small" ? "chat_template.small-models.jinja" : "chat_template.jinja"
        let url = Self.tokenizerDir.appendingPathComponent("qwen3.5").appendingPathComponent(file)
        return try ChatTemplate(source: String(contentsOf: url, encoding: .utf8), name: file)
    }

    func testAllChatCases() throws {
        let cases = try loadCases()
        XCTAssertEqual(cases.count, 32)
        try check(cases, label: "chat.json")
    }

    /// More conversations rendered by transformers (Tests/Fixtures/templating/make_qwen_extra_cases.py).
    func testExtraQwenCases() throws {
        let cases = try loadCases(Self.fixtures.appendingPathComponent("templating/qwen_extra_cases.json"))
        XCTAssertGreaterThanOrEqual(cases.count, 18)
        try check(cases, label: "qwen_extra_cases.json")
    }

    func check(_ cases: [JSONValue], label: String) throws {
        let templates = ["default": try template("default"), "small": try template("small")]
        var passed = 0
        for c in cases {
            let id = c["id"]?.stringValue ?? "?"
            var caseJSON = c
            if case .object(var members) = c {
                members = members.filter { $0.0 == "messages" || $0.0 == "tools" || $0.0 == "options" }
                caseJSON = .object(members)
            }
            let request = try ChatRequest(json: caseJSON, source: "\(label)#\(id)")
            let tpl = try XCTUnwrap(templates[c["template"]?.stringValue ?? ""], id)
            do {
                let rendered = try tpl.render(messages: request.messages, tools: request.tools, options: request.options)
                if let expected = c["rendered"]?.stringValue {
                    XCTAssertEqual(rendered, expected, "case \(id)")
                    if rendered == expected { passed += 1 }
                } else {
                    XCTFail("case \(id): expected error \(c["error"]?.stringValue ?? "?"), got output")
                }
            } catch let e as TemplateError {
                guard let expectedError = c["error"]?.stringValue else {
                    XCTFail("case \(id): unexpected error \(e)"); continue
                }
                // "TemplateError: msg" / "TypeError: msg" / "ValueError: msg" → msg
                let text = expectedError.range(of: ": ").map { String(expectedError[$0.upperBound...]) } ?? expectedError
                if expectedError.hasPrefix("TemplateError: ") {
                    XCTAssertEqual(e.raisedMessage, text, "case \(id)")
                    if e.raisedMessage == text { passed += 1 }
                } else {
                    XCTAssertEqual(e.message, text, "case \(id)")
                    if e.message == text { passed += 1 }
                }
            }
        }
        print("\(label): \(passed)/\(cases.count) cases identical")
        XCTAssertEqual(passed, cases.count)
    }

    func testLoadFromDirectoryPrefersJinjaFile() throws {
        let t = try ChatTemplate.load(directory: Self.tokenizerDir.appendingPathComponent("qwen3.5"))
        XCTAssertEqual(t.name, "chat_template.jinja")
        let explicit = try ChatTemplate.load(
            directory: Self.tokenizerDir.appendingPathComponent("qwen3.5"),
            explicitPath: Self.tokenizerDir.appendingPathComponent("qwen3.5/chat_template.small-models.jinja").path)
        XCTAssertEqual(explicit.name, "chat_template.small-models.jinja")
    }
}
