import Foundation
import XCTest

@testable import KmerConsent

/// `openInBackground`: the same scenarios as android/src/test/kotlin/…/OpenInBackgroundTest.kt. The
/// core's open is held on a semaphore, so "before ready" is a state the test chooses, not a race.
final class OpenInBackgroundTests: StoreTestCase {
    static let policy = samplePolicy("kmeroccase.json")

    private var db: URL { dir.appendingPathComponent("consent.sqlite") }

    /// The open, held until `release()`; `entered` is signalled once the open thread is inside it.
    private final class HeldOpen: @unchecked Sendable {
        let entered = DispatchSemaphore(value: 0)
        /// Signalled as the core's open returns, its files open (before the instance gets it).
        let opened = DispatchSemaphore(value: 0)
        private let gate = DispatchSemaphore(value: 0)
        var consent: KmerConsentSDK!

        init(db: URL, policy: String = OpenInBackgroundTests.policy, accountId: String? = nil) {
            let opening = KmerConsentSDK.Opening(
                databaseURL: db, policyJSON: policy, locale: Locale(identifier: "fr_CM"),
                trackingAuthorization: .notApplicable, appVersion: "5.2.0", backendPublicKey: nil,
                accountId: accountId)
            consent = KmerConsentSDK.openInBackground(opening, callbackQueue: nil) { [entered, gate, opened] options in
                entered.signal()
                guard gate.wait(timeout: .now() + 20) == .success else { throw KmerConsentError.Closed }
                let manager = try ConsentManager.open(options: options)
                opened.signal()
                return manager
            }
        }

        func release() { gate.signal() }
    }

    /// A store in which everything was accepted, as the last launch left it.
    private func acceptedBefore() throws {
        let consent = try KmerConsentSDK.open(databaseURL: db, policyJSON: Self.policy, trackingAuthorization: .notApplicable)
        try consent.acceptAll()
        consent.close()
    }

    func testBeforeItIsReadyTheGateAllowsNothingAndSaysWhyWithoutWaiting() async throws {
        try acceptedBefore()
        let held = HeldOpen(db: db)
        let consent = held.consent!
        // The open is inside the core's open, held, and this thread is here: it runs on another.
        XCTAssertEqual(held.entered.wait(timeout: .now() + 10), .success)
        XCTAssertFalse(consent.isReady)
        XCTAssertFalse(consent.canStart("google_mobile_ads"), "accepted on disk, but not read yet")
        XCTAssertFalse(consent.canStart("kmer_session"), "not even essential")
        XCTAssertFalse(consent.isGranted(.essential))
        XCTAssertEqual(try consent.check("google_mobile_ads"), Verdict(allowed: false, reason: .notReady))
        var first: ConsentSnapshot?
        for await snapshot in consent.snapshots {
            first = snapshot
            break
        }
        XCTAssertEqual(first, notReadySnapshot(locale: "fr_CM", trackingAuthorization: .notApplicable))

        held.release()
        let ready = try await consent.awaitReady()
        XCTAssertTrue(ready === consent)
        XCTAssertTrue(consent.isReady)
        XCTAssertTrue(consent.canStart("google_mobile_ads"))
        XCTAssertEqual(try consent.check("google_mobile_ads"), Verdict(allowed: true, reason: .granted))
        consent.close()
        XCTAssertFalse(consent.canStart("google_mobile_ads"), "closed: the gate shuts")
    }

    func testRegistrationsMadeBeforeItIsReadyAreHonouredOnceItIsAndNotBefore() async throws {
        try acceptedBefore()
        let held = HeldOpen(db: db)
        let consent = held.consent!
        let started = DispatchSemaphore(value: 0)
        let heard = Locked<[ConsentSnapshot]>([])
        let never = Locked(0)
        try consent.whenAllowed("google_mobile_ads") { started.signal() }
        try consent.addListener { snapshot in heard.mutate { $0.append(snapshot) } }
        try consent.whenAllowed("firebase_analytics") { never.mutate { $0 += 1 } }.cancel()
        XCTAssertEqual(held.entered.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(started.wait(timeout: .now() + 0.2), .timedOut, "nothing starts before the store is read")
        XCTAssertTrue(heard.value.isEmpty, "listeners hear the first snapshot read from the store")

        held.release()
        XCTAssertEqual(started.wait(timeout: .now() + 10), .success, "started once ready")
        try await consent.awaitReady()
        let deadline = Date().addingTimeInterval(5)
        while heard.value.isEmpty && Date() < deadline { try await Task.sleep(nanoseconds: 10_000_000) }
        XCTAssertFalse(heard.value.isEmpty)
        XCTAssertTrue(heard.value.allSatisfy { $0.sequence > 0 })
        XCTAssertEqual(heard.value.last?.sdks["google_mobile_ads"]?.allowed, true)
        XCTAssertEqual(never.value, 0, "cancelled before ready: never made, never started")
        consent.close()
    }

    func testAnSdkIdThePolicyDoesNotListRegisteredBeforeReadyFailsWhereItCanBeSeen() async throws {
        let held = HeldOpen(db: db)
        let consent = held.consent!
        let typo = try consent.whenAllowed("google_mobile_adz") { XCTFail("never started") }
        XCTAssertNil(typo.failure)
        held.release()
        try await consent.awaitReady()
        guard case .UnknownSdk = typo.failure as? KmerConsentError else {
            return XCTFail("\(String(describing: typo.failure))")
        }
        XCTAssertThrowsError(try consent.whenAllowed("google_mobile_adz") {}) { error in
            guard case .UnknownSdk = error as? KmerConsentError else { return XCTFail("\(error)") }
        }
        consent.close()
    }

    func testACallThatNeedsTheStoreWaitsForItThenAnswersFromIt() throws {
        try acceptedBefore()
        let held = HeldOpen(db: db)
        let consent = held.consent!
        XCTAssertEqual(held.entered.wait(timeout: .now() + 10), .success)
        let answered = DispatchSemaphore(value: 0)
        let status = Locked<ConsentStatus?>(nil)
        Thread.detachNewThread {
            status.mutate { $0 = try? consent.status() }
            answered.signal()
        }
        XCTAssertEqual(answered.wait(timeout: .now() + 0.3), .timedOut, "waits while the store opens")
        held.release()
        XCTAssertEqual(answered.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(status.value?.lastSource, .acceptAll)
        consent.close()
    }

    func testAFailedOpenKeepsTheGateShutAndSaysWhyToEveryKindOfCaller() async throws {
        let held = HeldOpen(db: db, policy: "not json")
        let consent = held.consent!
        let told = Locked<(any Error)?>(nil)
        let called = DispatchSemaphore(value: 0)
        consent.onReady { error in
            told.mutate { $0 = error }
            called.signal()
        }
        let registered = try consent.whenAllowed("google_mobile_ads") { XCTFail("never started") }
        held.release()
        do {
            try await consent.awaitReady()
            XCTFail("the open failed")
        } catch KmerConsentError.InvalidPolicy {}
        XCTAssertEqual(called.wait(timeout: .now() + 10), .success)
        guard case .InvalidPolicy = told.value as? KmerConsentError else { return XCTFail("\(String(describing: told.value))") }
        XCTAssertFalse(consent.isReady)
        XCTAssertFalse(consent.canStart("google_mobile_ads"))
        for call in [{ _ = try consent.status() }, { _ = try consent.check("google_mobile_ads") },
                     { _ = try consent.whenAllowed("google_mobile_ads") {} }] as [() throws -> Void] {
            XCTAssertThrowsError(try call()) { error in
                guard case .InvalidPolicy = error as? KmerConsentError else { return XCTFail("\(error)") }
            }
        }
        XCTAssertNil(registered.failure, "the registration did nothing wrong: the open failed")
        consent.close()
    }

    func testClosedBeforeItIsReadyTheStoreIsReleasedOnceOpenAndNothingEverStarts() async throws {
        try acceptedBefore()
        let held = HeldOpen(db: db)
        let consent = held.consent!
        let started = Locked(0)
        try consent.whenAllowed("google_mobile_ads") { started.mutate { $0 += 1 } }
        consent.close()
        XCTAssertFalse(consent.canStart("google_mobile_ads"))
        do {
            try await consent.awaitReady()
            XCTFail("closed")
        } catch KmerConsentError.Closed {}
        XCTAssertEqual(held.entered.wait(timeout: .now() + 10), .success)
        held.release()
        XCTAssertEqual(held.opened.wait(timeout: .now() + 10), .success)
        // The held open finishes, sees it was closed and shuts the core down: no file of the store
        // stays open in this process.
        let deadline = Date().addingTimeInterval(10)
        while openFiles(of: db) > 0 && Date() < deadline { try await Task.sleep(nanoseconds: 10_000_000) }
        XCTAssertEqual(openFiles(of: db), 0, "the store is released")
        XCTAssertEqual(started.value, 0)
        XCTAssertFalse(consent.isReady)
    }

    /// How many of this process's file descriptors are open on `file` or its -wal and -shm (Linux's
    /// /proc; elsewhere the count is 0 and the assertion proves nothing).
    private func openFiles(of file: URL) -> Int {
        let path = file.resolvingSymlinksInPath().path
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return fds.filter { fd in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)"))?.hasPrefix(path) == true
        }.count
    }

    func testTheAccountGivenToTheOpenDecidesTheFirstSnapshotAnyoneSees() async throws {
        try acceptedBefore()  // the device's decision grants everything
        let held = HeldOpen(db: db, accountId: "account-7")
        let consent = held.consent!
        let first = Locked<ConsentSnapshot?>(nil)
        try consent.addListener { snapshot in first.mutate { $0 = $0 ?? snapshot } }
        let started = Locked(0)
        try consent.whenAllowed("google_mobile_ads") { started.mutate { $0 += 1 } }
        held.release()
        try await consent.awaitReady()
        let deadline = Date().addingTimeInterval(5)
        while first.value == nil && Date() < deadline { try await Task.sleep(nanoseconds: 10_000_000) }
        XCTAssertEqual(first.value?.status.promptReason, .noDecision, "a device grant is not adopted")
        XCTAssertEqual(started.value, 0, "never started on the device's decision")
        consent.close()
    }

    func testThePublicOpenInTheBackgroundEndsReadyAndOnReadyAfterThatRunsAtOnce() async throws {
        try acceptedBefore()
        let consent = KmerConsentSDK.openInBackground(
            databaseURL: db, policyJSON: Self.policy, trackingAuthorization: .notApplicable)
        try await consent.awaitReady()
        XCTAssertTrue(consent.canStart("google_mobile_ads"))
        let again = DispatchSemaphore(value: 0)
        consent.onReady { error in if error == nil { again.signal() } }
        XCTAssertEqual(again.wait(timeout: .now() + 1), .success, "onReady after ready runs at once")
        consent.close()
    }
}
