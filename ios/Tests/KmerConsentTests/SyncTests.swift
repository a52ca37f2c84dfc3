import Foundation
import XCTest

@testable import KmerConsent

/// The same scenarios as the Kotlin SyncTest.
final class SyncTests: StoreTestCase {
    private func open(_ name: String = "consent.sqlite", backendPublicKey: String? = nil) throws -> KmerConsentSDK {
        try KmerConsentSDK.open(
            databaseURL: dir.appendingPathComponent(name),
            policyJSON: KmerConsentTests.policy,
            locale: Locale(identifier: "fr_CM"),
            trackingAuthorization: .notApplicable,
            appVersion: "5.2.0",
            backendPublicKey: backendPublicKey
        )
    }

    func testLoggingInAdoptsOnlyTheDevicesRefusalAndLoggingOutReturnsToTheDeviceDecision() throws {
        let consent = try open()
        defer { consent.close() }
        try consent.rejectAll()
        let adopted = try consent.setSubject("account-42")
        XCTAssertEqual(adopted.lastSource, .subjectLink)
        XCTAssertFalse(adopted.needsPrompt, "not asked twice")
        try consent.acceptAll()
        XCTAssertTrue(consent.canStart("firebase_analytics"))
        try consent.setSubject(nil)
        XCTAssertFalse(consent.canStart("firebase_analytics"), "canStart follows the switch at once")
        // A device decision that grants anything is not taken by an account: it is asked.
        try consent.save(statistics: true)
        XCTAssertEqual(try consent.setSubject("account-43").promptReason, .noDecision)
        XCTAssertFalse(consent.canStart("firebase_analytics"))
        // The adoption never goes to the back end; the choices do.
        let pending = try consent.pendingReceipts()
        XCTAssertEqual(pending.count, 3)
        XCTAssertFalse(pending.contains { $0.receiptJson.contains("\"type\":\"subject_link\"") })
        XCTAssertThrowsError(try consent.setSubject("")) { error in
            guard case KmerConsentError.InvalidSubject = error else { return XCTFail("\(error)") }
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
        let backend = try Backend(in: dir)
        let other = try open("other.sqlite", backendPublicKey: backend.publicKey)
        try other.setSubject("account-7")
        try other.acceptAll()
        let receipt = try backend.countersign(try XCTUnwrap(try other.pendingReceipts().first).receiptJson)
        other.close()

        let consent = try open(backendPublicKey: backend.publicKey)
        defer { consent.close() }
        XCTAssertThrowsError(try consent.importReceipt(receipt)) { error in
            guard case KmerConsentError.InvalidReceipt = error else { return XCTFail("\(error)") }
        }
        try consent.setSubject("account-7")
        XCTAssertTrue(try consent.importReceipt(receipt))
        XCTAssertEqual(try consent.status().lastSource, .import)
        XCTAssertTrue(consent.canStart("google_mobile_ads"))
        XCTAssertFalse(try consent.importReceipt(receipt), "never twice")
        XCTAssertTrue(try consent.pendingReceipts().isEmpty, "imports are not sent back")
        let forged = receipt.replacingOccurrences(of: "\"marketing\": true", with: "\"marketing\": false")
        XCTAssertThrowsError(try consent.importReceipt(forged)) { error in
            guard case KmerConsentError.InvalidReceipt = error else { return XCTFail("\(error)") }
        }
    }

    func testAnImportWithoutTheBackEndsSignatureIsRefused() throws {
        let backend = try Backend(in: dir)
        // The back end's clock, in whole seconds, from before either decision: so its times order
        // after A's acceptance whatever second boundary falls in between (the test is not flaky).
        let seen = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        // Device A: the account accepts everything; its receipt is not signed yet.
        let a = try open("a.sqlite", backendPublicKey: backend.publicKey)
        try a.setSubject("account-7")
        try a.acceptAll()
        let unsigned = try XCTUnwrap(try a.pendingReceipts().first).receiptJson
        a.close()
        // Device B: the same account rejects everything.
        let refusal: String
        do {
            let b = try open("b.sqlite", backendPublicKey: backend.publicKey)
            defer { b.close() }
            try b.setSubject("account-7")
            try b.rejectAll()
            XCTAssertThrowsError(try b.importReceipt(unsigned)) { error in
                guard case KmerConsentError.InvalidReceipt = error else { return XCTFail("\(error)") }
            }
            XCTAssertFalse(b.canStart("google_mobile_ads"), "nothing changed")
            XCTAssertEqual(try b.history().count, 1)
            refusal = try XCTUnwrap(try b.pendingReceipts().first).receiptJson
        }
        // The back end sees B's refusal, then A's acceptance.
        let acknowledgement = dir.appendingPathComponent("ack.json")
        try backend.countersign(refusal, at: seen, ackOut: acknowledgement)
        let signed = try backend.countersign(unsigned, at: seen.addingTimeInterval(1))
        do {
            let withoutKey = try open("b.sqlite")
            defer { withoutKey.close() }
            try withoutKey.setSubject("account-7")
            XCTAssertThrowsError(try withoutKey.importReceipt(signed)) { error in
                guard case KmerConsentError.BackendKey = error else { return XCTFail("\(error)") }
            }
            XCTAssertFalse(withoutKey.canStart("google_mobile_ads"))
        }
        let b = try open("b.sqlite", backendPublicKey: backend.publicKey)
        defer { b.close() }
        try b.setSubject("account-7")
        XCTAssertFalse(try b.importReceipt(signed), "B's refusal is not witnessed here yet: the refusal wins")
        try b.acknowledgeSigned(try String(contentsOf: acknowledgement, encoding: .utf8))
        XCTAssertTrue(try b.pendingReceipts().isEmpty, "out of the outbox")
        XCTAssertEqual(try b.history().map(\.witnessedAtMs), [Int64(seen.timeIntervalSince1970) * 1000])
        XCTAssertEqual(try b.verifyHistory().witnessedRecords, 1)
        XCTAssertTrue(try b.importReceipt(signed), "the back end saw A's acceptance later")
        XCTAssertEqual(try b.status().lastSource, .import)
        XCTAssertTrue(b.canStart("google_mobile_ads"))
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
        let watch = try consent.watchForChanges(every: 0.05)
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
