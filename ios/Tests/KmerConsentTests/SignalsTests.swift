import Foundation
import XCTest

@testable import KmerConsent

/// A key-value store that remembers each value's type, like UserDefaults.
final class MemoryStorage: IabTcfStorage, @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String: Any] = [:]

    var values: [String: Any] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    func set(_ key: String, _ value: Any) {
        lock.lock()
        stored[key] = value
        lock.unlock()
    }

    func keys() -> Set<String> { Set(values.keys) }

    func write(_ changes: IabTcfChanges) {
        lock.lock()
        defer { lock.unlock() }
        for key in changes.remove { stored[key] = nil }
        for entry in changes.put {
            switch entry.value {
            case let .int(value): stored[entry.key] = Int(value)
            case let .text(value): stored[entry.key] = value
            }
        }
    }
}

/// The same scenarios as the Kotlin SignalsTest.
final class SignalsTests: StoreTestCase {
    static let tcfPolicy = samplePolicy("kmeroccase-tcf.json")

    private func open(policy: String = tcfPolicy) throws -> KmerConsentSDK {
        try KmerConsentSDK.open(
            databaseURL: dir.appendingPathComponent("consent.sqlite"),
            policyJSON: policy,
            locale: Locale(identifier: "fr_CM"),
            trackingAuthorization: .notApplicable,
            appVersion: "5.2.0"
        )
    }

    func testConsentModeSignalsGoStraightIntoASetConsentMap() throws {
        let consent = try open()
        defer { consent.close() }
        XCTAssertEqual(
            try consent.snapshot().consentMode.consentMap(type: { $0 }, granted: "granted", denied: "denied"),
            ["analytics_storage": "denied", "ad_storage": "denied", "ad_user_data": "denied", "ad_personalization": "denied"]
        )
        try consent.save(statistics: true)
        XCTAssertEqual(
            try consent.snapshot().consentMode.consentMap(type: { $0 }, granted: true, denied: false),
            ["analytics_storage": true, "ad_storage": false, "ad_user_data": false, "ad_personalization": false]
        )
    }

    func testIabKeysAreWrittenWithTheirTypesAndFollowEveryChange() throws {
        let consent = try open()
        defer { consent.close() }
        let storage = MemoryStorage()
        storage.set("unrelated_app_setting", "kept")
        storage.set("IABTCF_PublisherRestrictions2", "stale from an old CMP")
        let queue = DispatchQueue(label: "keys")
        try consent.writeIabTcfKeys(to: storage, on: queue)
        queue.sync {}
        XCTAssertEqual(storage.values["IABTCF_gdprApplies"] as? Int, 1)
        XCTAssertEqual(storage.values["IABTCF_PolicyVersion"] as? Int, 4)
        XCTAssertEqual(storage.values["IABTCF_PublisherCC"] as? String, "CM")
        XCTAssertNil(storage.values["IABTCF_TCString"])
        XCTAssertNil(storage.values["IABTCF_PublisherRestrictions2"], "a stale IAB key is removed")
        XCTAssertEqual(storage.values["unrelated_app_setting"] as? String, "kept")

        try consent.acceptAll()
        queue.sync {}
        let tc = storage.values["IABTCF_TCString"] as? String
        XCTAssertEqual(try consent.snapshot().tcString, tc)
        XCTAssertEqual(storage.values["IABTCF_PurposeConsents"] as? String, "11111111111")
        XCTAssertNotNil(storage.values["IABTCF_CmpSdkID"] as? Int)
        XCTAssertNotNil(storage.values["IABTCF_VendorConsents"] as? String)
        XCTAssertEqual(storage.values["IABTCF_AddtlConsent"] as? String, "2~89~dv.")

        try consent.rejectAll()
        queue.sync {}
        XCTAssertEqual(storage.values["IABTCF_PurposeConsents"] as? String, "00000000000")
        XCTAssertEqual(storage.values["IABTCF_AddtlConsent"] as? String, "2~~dv.89")
        XCTAssertNotEqual(storage.values["IABTCF_TCString"] as? String, tc)
    }

    func testEveryIabKeyIsRemovedWhenTcfIsNoLongerConfigured() throws {
        let storage = MemoryStorage()
        let queue = DispatchQueue(label: "keys")
        let first = try open()
        try first.writeIabTcfKeys(to: storage, on: queue)
        try first.acceptAll()
        queue.sync {}
        XCTAssertNotNil(storage.values["IABTCF_TCString"])
        first.close()

        // The policy without its TCF section, published as a new revision (the same revision with
        // other content would be a text edited in place: it grants nothing).
        let revised = KmerConsentTests.policy.replacingOccurrences(of: "\"revision\": 1", with: "\"revision\": 2")
        let consent = try open(policy: revised)
        defer { consent.close() }
        try consent.writeIabTcfKeys(to: storage, on: queue)
        queue.sync {}
        XCTAssertEqual(storage.keys().filter { $0.hasPrefix("IABTCF_") }, [])
        XCTAssertTrue(try consent.snapshot().consentMode.adStorage, "Consent Mode still works")
    }

    func testUserDefaultsReceivesIntsAsIntsAndStringsAsStrings() throws {
        let suite = "kmer-consent-tests-\(UUID().uuidString)"
        let defaults = try XCTUnwrap(UserDefaults(suiteName: suite))
        defer { defaults.removePersistentDomain(forName: suite) }
        let consent = try open()
        defer { consent.close() }
        let queue = DispatchQueue(label: "keys")
        try consent.writeIabTcfKeys(to: UserDefaultsIabTcfStorage(defaults), on: queue)
        try consent.acceptAll()
        queue.sync {}
        XCTAssertEqual(defaults.object(forKey: "IABTCF_gdprApplies") as? Int, 1)
        XCTAssertEqual(defaults.integer(forKey: "IABTCF_CmpSdkID"), 4095)
        XCTAssertEqual(defaults.string(forKey: "IABTCF_TCString"), try consent.snapshot().tcString)
        XCTAssertEqual(defaults.string(forKey: "IABTCF_PurposeConsents"), "11111111111")
    }
}
