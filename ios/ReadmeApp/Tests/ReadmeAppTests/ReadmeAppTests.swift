import Foundation
import KmerConsent
import XCTest

@testable import ReadmeApp

/// Runs the README's Swift code against the real library (tests/readme.rs checks that the README
/// shows exactly the marked regions of ../../Sources/ReadmeApp).
final class ReadmeAppTests: XCTestCase {
    /// The repository's sample policy (this package is built from target/readme-app/App, beside
    /// target/readme-app/KmerConsent, a link to the repository).
    private var policyURL: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../KmerConsent/policies/kmeroccase.json").standardized
    }

    /// The quick start opens the default store (Application Support): start from an empty one.
    private func removeDefaultStore() throws {
        let dir = try KmerConsentSDK.defaultDatabaseURL().deletingLastPathComponent()
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            try FileManager.default.removeItem(at: dir.appendingPathComponent(name))
        }
    }

    func testTheQuickStartOpensGatesAndRecordsTheBanner() async throws {
        try removeDefaultStore()
        let consent = try await startConsent(policyURL: policyURL)
        defer { consent.close() }
        XCTAssertTrue(try consent.status().needsPrompt)
        XCTAssertFalse(consent.canStart("firebase_analytics"))

        try showOwnBannerIfNeeded(consent)
        XCTAssertFalse(try consent.status().needsPrompt)
        XCTAssertTrue(consent.canStart("firebase_analytics"))
        XCTAssertFalse(consent.canStart("google_mobile_ads"))
        // The start callback was queued on the main queue: let it run (MainActor.assumeIsolated
        // would stop the process off the main actor).
        await withCheckedContinuation { done in DispatchQueue.main.async { done.resume() } }

        let receipt = try XCTUnwrap(try proofOfConsent(consent), "a decision was recorded")
        XCTAssertTrue(receipt.contains("\"statistics\""), receipt)
        try logIn(consent, accountID: "account-42")
        XCTAssertTrue(try consent.status().needsPrompt, "a login never adopts a grant")
        var posted: [String] = []
        XCTAssertThrowsError(try sync(consent) { receipt in
            posted.append(receipt)
            return "{}"
        }) { error in
            guard case KmerConsentError.BackendKey = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(posted.count, 1, "the device's decision waits in the outbox")
        XCTAssertThrowsError(try applyFromAnotherDevice(consent, countersignedReceipt: receipt))
        try eraseAccount(consent)
        try removeDefaultStore()
    }
}
