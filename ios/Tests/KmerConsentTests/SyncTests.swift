import Foundation
import XCTest

@testable import KmerConsent

/// The same scenarios as the Kotlin SyncTest.
final class SyncTests: StoreTestCase {
    private func open(_ name: String = "consent.sqlite") throws -> KmerConsentSDK {
        try KmerConsentSDK.open(
            databaseURL: dir.appendingPathComponent(name),
            policyJSON: KmerConsentTests.policy,
            locale: Locale(identifier: "fr_CM"),
            trackingAuthorization: .notApplicable,
            appVersion: "5.2.0"
        )
    }

    func testLoggingInAdoptsTheDeviceDecisionAndLoggingOutReturnsToIt() throws {
        let consent = try open()
        defer { consent.close() }
        try consent.save(statistics: true)
        XCTAssertEqual(try consent.setSubject("account-42").lastSource, .subjectLink)
        XCTAssertTrue(consent.canStart("firebase_analytics"), "canStart follows the switch at once")
        try consent.rejectAll()
        XCTAssertFalse(consent.canStart("firebase_analytics"))
        try consent.setSubject(nil)
        XCTAssertTrue(consent.canStart("firebase_analytics"))
        XCTAssertThrowsError(try consent.setSubject("")) { error in
            guard case KmerConsentError.invalidSubject = error else { return XCTFail("\(error)") }
        }
    }

    func testTheOutboxSurvivesRestartsUntilAcknowledged() throws {
        do {
            let first = try open()
            try first.acceptAll()
            try first.rejectAll()
            first.close()
        }
        do {
            let consent = try open()
            let pending = try consent.pendingReceipts()
            XCTAssertEqual(pending.map(\.id), [1, 2])
            XCTAssertTrue(pending[0].receiptJson.contains("\"type\":\"accept_all\""))
            try consent.acknowledge([1])
            consent.close()
        }
        let consent = try open()
        defer { consent.close() }
        XCTAssertEqual(try consent.pendingReceipts().map(\.id), [2])
    }

    func testAReceiptFromAnotherDeviceIsImportedOnce() throws {
        let other = try open("other.sqlite")
        try other.setSubject("account-7")
        try other.acceptAll()
        let receipt = try XCTUnwrap(try other.exportProof())
        other.close()

        let consent = try open()
        defer { consent.close() }
        XCTAssertThrowsError(try consent.importReceipt(receipt)) { error in
            guard case KmerConsentError.invalidReceipt = error else { return XCTFail("\(error)") }
        }
        try consent.setSubject("account-7")
        XCTAssertTrue(try consent.importReceipt(receipt))
        XCTAssertEqual(try consent.status().lastSource, .import)
        XCTAssertTrue(consent.canStart("google_mobile_ads"))
        XCTAssertFalse(try consent.importReceipt(receipt), "never twice")
        let forged = receipt.replacingOccurrences(of: "\"marketing\":true", with: "\"marketing\":false")
        XCTAssertThrowsError(try consent.importReceipt(forged))
    }

    func testErasureForgetsTheUserAndOnlyThem() throws {
        let consent = try open()
        defer { consent.close() }
        try consent.acceptAll()
        try consent.setSubject("leaving-user")
        try consent.rejectAll()
        XCTAssertEqual(try consent.eraseSubject().promptReason, .noDecision)
        XCTAssertTrue(try consent.history().isEmpty)
        XCTAssertFalse(consent.canStart("firebase_analytics"))
        XCTAssertTrue(try consent.verifyHistory().intact)
        try consent.setSubject(nil)
        XCTAssertTrue(consent.canStart("firebase_analytics"))
    }

    func testAnotherProcessDecisionReachesTheGateWithinTheWatchPeriod() throws {
        let consent = try open()
        defer { consent.close() }
        XCTAssertFalse(try consent.refreshIfChanged())
        let watch = consent.watchForChanges(every: 0.05)
        defer { watch.cancel() }
        do {
            let other = try open()
            try other.acceptAll()
            other.close()
        }
        let deadline = Date().addingTimeInterval(2)
        while !consent.canStart("firebase_analytics") && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        XCTAssertTrue(consent.canStart("firebase_analytics"), "seen without any call from the app")
    }
}
