import XCTest
@testable import Templating

final class TemplatingSmokeTests: XCTestCase {
    func testModuleLoads() {}
}
