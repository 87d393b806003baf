import XCTest
@testable import InferenceEngine

final class InferenceEngineSmokeTests: XCTestCase {
    func testModuleLoads() {}
}
