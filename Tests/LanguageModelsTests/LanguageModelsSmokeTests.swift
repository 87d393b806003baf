import XCTest
@testable import LanguageModels

final class LanguageModelsSmokeTests: XCTestCase {
    func testModuleLoads() {}
}
