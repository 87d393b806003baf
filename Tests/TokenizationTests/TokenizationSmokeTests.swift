import XCTest
@testable import Tokenization

final class TokenizationSmokeTests: XCTestCase {
    func testModuleLoads() {}
}
