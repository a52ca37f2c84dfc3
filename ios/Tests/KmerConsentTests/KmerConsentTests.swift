import Foundation
import XCTest

@testable import KmerConsent

/// The same scenarios as the Kotlin tests (android/src/test/kotlin), so both platforms are proven to
/// behave alike against the same native core.
final class KmerConsentTests: StoreTestCase {
    static let policy = samplePolicy("kmeroccase.json")

    private func open(queue: DispatchQueue? = nil, policy: String = policy) throws -> KmerConsentSDK {
        try KmerConsentSDK.open(
            databaseURL: dir.appendingPathComponent("consent.sqlite"),
            policyJSON: policy,
            locale: Locale(identifier: "fr_CM"),
            trackingAuthorization: .notApplicable,
            callbackQueue: queue,
            appVersion: "5.2.0"
        )
    }

    private func policy(replacing from: String, with to: String, in policy: String = policy) throws -> String {
        let range = try XCTUnwrap(policy.range(of: from), "the sample policy has \(from)")
        return policy.replacingCharacters(in: range, with: to)
    }

    func testAnExpiryReachesTheGateByItselfWithNoCallInBetween() throws {
        // A one-day policy and a decision recorded (by the CLI, at a chosen time) one day minus five
        // seconds ago: it expires five seconds after the store is opened.
        let oneDay = try policy(
            replacing: "\"refusal_reprompt_days\": 180", with: "\"refusal_reprompt_days\": 1",
            in: try policy(replacing: "\"consent_lifetime_days\": 390", with: "\"consent_lifetime_days\": 1"))
        let policyFile = dir.appendingPathComponent("policy.json")
        try oneDay.write(to: policyFile, atomically: true, encoding: .utf8)
        let db = dir.appendingPathComponent("consent.sqlite")
        let decidedAt = Date().addingTimeInterval(-86_400 + 5)
        try cli("--db", db.path, "--policy", policyFile.path, "--now", ISO8601DateFormatter().string(from: decidedAt),
                "accept-all")

        let consent = try open(policy: oneDay)
        defer { consent.close() }
        XCTAssertTrue(consent.canStart("firebase_analytics"), "granted until the expiry")
        let stopped = expectation(description: "the SDK is told to stop")
        try consent.whenAllowed("firebase_analytics", onStop: { stopped.fulfill() }, onStart: {})
        let deadline = Date().addingTimeInterval(20)
        while consent.canStart("firebase_analytics"), Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        XCTAssertFalse(consent.canStart("firebase_analytics"), "the expiry closed the gate")
        XCTAssertTrue(consent.canStart("kmer_session"), "essential SDKs are not affected")
        XCTAssertEqual(try consent.status().promptReason, .expired)
        wait(for: [stopped], timeout: 5)
    }

    func testTheWholeFlowFromNoDecisionToWithdrawal() throws {
        let consent = try open()
        defer { consent.close() }
        let first = try consent.status()
        XCTAssertTrue(first.needsPrompt)
        XCTAssertEqual(first.promptReason, .noDecision)
        XCTAssertEqual(try consent.check("firebase_analytics"), Verdict(allowed: false, reason: .noDecision))
        XCTAssertTrue(consent.canStart("kmer_session"))
        XCTAssertEqual(try consent.check("kmer_session").reason, .essential)
        XCTAssertFalse(consent.canStart("unknown_sdk"))
        XCTAssertEqual(try consent.check("unknown_sdk").reason, .unknownSdk)

        let accepted = try consent.acceptAll()
        XCTAssertFalse(accepted.needsPrompt)
        XCTAssertNil(accepted.promptReason)
        for sdk in ["firebase_analytics", "kmer_recommendations", "google_mobile_ads", "meta_audience_network"] {
            XCTAssertTrue(consent.canStart(sdk), sdk)
        }

        try consent.rejectAll()
        XCTAssertEqual(try consent.check("google_mobile_ads"), Verdict(allowed: false, reason: .refused))
        XCTAssertTrue(consent.canStart("kmer_session"))

        try consent.save(statistics: true)
        XCTAssertTrue(consent.canStart("firebase_analytics"))
        XCTAssertFalse(consent.canStart("kmer_recommendations"))
        XCTAssertTrue(consent.isGranted(.statistics))
        XCTAssertFalse(consent.isGranted(.marketing))

        try consent.save([.marketing: true])
        XCTAssertTrue(consent.canStart("google_mobile_ads"))
        XCTAssertFalse(consent.canStart("firebase_analytics"), "left out of the map = refused")

        try consent.withdraw()
        try consent.dismiss()
        XCTAssertFalse(consent.canStart("google_mobile_ads"))
        XCTAssertEqual(
            try consent.history().map(\.source),
            [.acceptAll, .rejectAll, .save, .save, .withdraw, .dismiss]
        )
        XCTAssertEqual(try consent.history().first?.locale, "fr")
    }

    func testAChoiceSurvivesCloseAndReopen() throws {
        let first = try open()
        try first.save(statistics: true, marketing: true)
        first.close()

        let consent = try open()
        defer { consent.close() }
        XCTAssertFalse(try consent.status().needsPrompt)
        XCTAssertEqual(try consent.status().lastSource, .save)
        XCTAssertTrue(consent.canStart("firebase_analytics"))
        XCTAssertTrue(consent.canStart("google_mobile_ads"))
        XCTAssertFalse(consent.canStart("kmer_recommendations"))
        XCTAssertEqual(try consent.history().count, 1)
    }

    func testABadPolicyIsAnInvalidPolicyErrorNamingTheField() throws {
        let bad = try policy(replacing: "\"category\": \"personalization\"", with: "\"category\": \"ads\"")
        XCTAssertThrowsError(try open(policy: bad)) { error in
            guard case let KmerConsentError.InvalidPolicy(path, reason) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(path, "sdks[2].category")
            XCTAssertTrue(reason.contains("unknown variant `ads`"), reason)
            // The message is the core's, the same on every platform.
            XCTAssertTrue("\(error)".hasPrefix("invalid policy: sdks[2].category: unknown variant `ads`"), "\(error)")
        }
        XCTAssertThrowsError(try open(policy: "not json")) { error in
            guard case let KmerConsentError.InvalidPolicy(path, reason) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(path, "")
            XCTAssertTrue(reason.contains("line 1"), reason)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("consent.sqlite").path))
    }

    func testAnUnwritablePathIsAStorageErrorNamingIt() throws {
        let nowhere = dir.appendingPathComponent("no/such/dir/consent.sqlite")
        XCTAssertThrowsError(try KmerConsentSDK.open(databaseURL: nowhere, policyJSON: Self.policy)) { error in
            guard case let KmerConsentError.Storage(reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains(nowhere.path), reason)
        }
    }

    func testEveryOtherCoreErrorIsAThrownSwiftError() throws {
        let consent = try open()
        defer { consent.close() }
        XCTAssertThrowsError(try consent.save([.essential: false, .statistics: true])) { error in
            XCTAssertEqual(error as? KmerConsentError, .EssentialCannotBeRefused)
        }
        XCTAssertTrue(try consent.history().isEmpty)
        XCTAssertThrowsError(try consent.whenAllowed("nope") {}) { error in
            XCTAssertEqual(error as? KmerConsentError, .UnknownSdk(sdkId: "nope"))
            XCTAssertEqual((error as? LocalizedError)?.errorDescription, "unknown SDK id \"nope\": the policy does not list it")
        }
        try consent.acceptAll()
        try consent.updatePolicy(try policy(replacing: "\"revision\": 1", with: "\"revision\": 2"))
        XCTAssertEqual(try consent.status().promptReason, .policyChanged)
        // A lower revision is applied: the choice made on the newer text grants nothing under it.
        try consent.acceptAll()
        XCTAssertEqual(try consent.updatePolicy(Self.policy).promptReason, .policyRolledBack)
        XCTAssertFalse(consent.canStart("google_mobile_ads"))
        let another = try policy(replacing: "\"id\": \"kmeroccase\"", with: "\"id\": \"another\"")
        XCTAssertThrowsError(try consent.updatePolicy(another)) { error in
            guard case KmerConsentError.PolicyUpdateRefused = error else { return XCTFail("\(error)") }
        }
    }

    func testTheStreamFollowsEveryChange() async throws {
        let consent = try open()
        defer { consent.close() }
        let start = try consent.snapshot()
        XCTAssertEqual(start.sdks["firebase_analytics"]?.allowed, false)
        let granted = Task { () -> ConsentSnapshot? in
            for await snapshot in consent.snapshots where snapshot.sdks["firebase_analytics"]?.allowed == true {
                return snapshot
            }
            return nil
        }
        try await Task.sleep(nanoseconds: 50_000_000)
        try consent.acceptAll()
        let snapshot = await granted.value
        XCTAssertNotNil(snapshot)
        XCTAssertGreaterThan(snapshot?.sequence ?? 0, start.sequence)
        XCTAssertEqual(snapshot?.status.needsPrompt, false)
        try consent.withdraw()
        XCTAssertEqual(try consent.snapshot().sdks["firebase_analytics"]?.reason, .refused)
    }

    func testAListenerGetsTheCurrentSnapshotThenEachChangeUntilCancelled() throws {
        let consent = try open()
        defer { consent.close() }
        let queue = DispatchQueue(label: "listener")
        let seen = Locked<[ConsentSnapshot]>([])
        let token = try consent.addListener(on: queue) { snapshot in seen.mutate { $0.append(snapshot) } }
        queue.sync {}
        XCTAssertEqual(seen.value.count, 1)
        try consent.acceptAll()
        try consent.rejectAll()
        queue.sync {}
        XCTAssertEqual(seen.value.map { $0.sdks["google_mobile_ads"]?.allowed }, [false, true, false])
        XCTAssertEqual(seen.value.map(\.sequence), seen.value.map(\.sequence).sorted())
        token.cancel()
        token.cancel()
        try consent.acceptAll()
        queue.sync {}
        XCTAssertEqual(seen.value.count, 3)
    }

    func testWhenAllowedStartsOnceAndStopsOnce() throws {
        let consent = try open()
        defer { consent.close() }
        let queue = DispatchQueue(label: "sdk")
        let calls = Locked<[String]>([])
        try consent.whenAllowed("google_mobile_ads", on: queue, onStop: { calls.mutate { $0.append("stop") } }) {
            calls.mutate { $0.append("start") }
        }
        queue.sync {}
        XCTAssertEqual(calls.value, [])
        try consent.acceptAll()
        try consent.acceptAll()
        queue.sync {}
        XCTAssertEqual(calls.value, ["start"])
        try consent.rejectAll()
        try consent.withdraw()
        queue.sync {}
        XCTAssertEqual(calls.value, ["start", "stop"])
        // Already allowed at registration: started at once.
        let session = Locked(0)
        try consent.whenAllowed("kmer_session", on: queue) { session.mutate { $0 += 1 } }
        queue.sync {}
        XCTAssertEqual(session.value, 1)
    }

    func testAWithdrawalWhileTheStoreCannotBeWrittenClosesTheGate() throws {
        let consent = try open()
        defer { consent.close() }
        try consent.acceptAll()
        let stopped = expectation(description: "the SDK is told to stop")
        try consent.whenAllowed("google_mobile_ads", onStop: { stopped.fulfill() }, onStart: {})
        // Another process holds SQLite's write lock: the SDK's write waits out its busy timeout (5 s).
        try whileStoreLocked(dir.appendingPathComponent("consent.sqlite")) {
            let status = try consent.withdraw()
            XCTAssertTrue(status.notYetSaved, "it returned normally, not yet saved")
            XCTAssertFalse(consent.canStart("google_mobile_ads"), "the gate closed at once")
            wait(for: [stopped], timeout: 5)
        }
        XCTAssertFalse(try consent.refresh().notYetSaved, "written once the store allows it")
        let fresh = try open()
        defer { fresh.close() }
        XCTAssertFalse(fresh.canStart("google_mobile_ads"), "read back from the file")
    }

    func testCallbacksRunOnTheQueueTheCallerChose() throws {
        let consent = try open(queue: nil) // callbacks default to the SDK's own serial queue
        defer { consent.close() }
        let key = Locked(DispatchSpecificKey<String>())
        let chosen = DispatchQueue(label: "chosen")
        chosen.setSpecific(key: key.value, value: "chosen")
        let started = expectation(description: "started on the chosen queue")
        let onDefault = expectation(description: "started on the default queue")
        let seen = Locked<[String?]>([])
        try consent.whenAllowed("firebase_analytics", on: chosen) {
            seen.mutate { $0.append(DispatchQueue.getSpecific(key: key.value)) }
            started.fulfill()
        }
        try consent.whenAllowed("google_mobile_ads") {
            seen.mutate { $0.append(DispatchQueue.getSpecific(key: key.value)) }
            onDefault.fulfill()
        }
        try consent.acceptAll()
        wait(for: [started, onDefault], timeout: 5)
        XCTAssertEqual(Set(seen.value.map { $0 ?? "default" }), ["chosen", "default"])
    }

    func testACallbackMayCallBackIntoTheSDKWithoutDeadlock() throws {
        let consent = try open()
        defer { consent.close() }
        let queue = DispatchQueue(label: "sdk")
        let nested = Locked(false)
        try consent.whenAllowed("google_mobile_ads", on: queue) {
            // An ad SDK that reads consent while starting, then the user narrows the choice from inside it.
            _ = consent.canStart("google_mobile_ads")
            _ = try? consent.status()
            _ = try? consent.history()
            if !nested.value {
                nested.mutate { $0 = true }
                _ = try? consent.save(statistics: true)
            }
        }
        let done = expectation(description: "no deadlock")
        DispatchQueue.global().async {
            _ = try? consent.acceptAll()
            done.fulfill()
        }
        wait(for: [done], timeout: 10)
        queue.sync {}
        XCTAssertTrue(nested.value)
        XCTAssertFalse(consent.canStart("google_mobile_ads"))
        XCTAssertTrue(consent.canStart("firebase_analytics"))
        XCTAssertEqual(try consent.history().count, 2)
    }

    func testManyTasksReadingWhileAnotherWritesOnlyEverSeeWholeSnapshots() async throws {
        let consent = try open()
        defer { consent.close() }
        let stop = Locked(false)
        let results = try await withThrowingTaskGroup(of: (Set<Bool>, Int).self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var answers = Set<Bool>()
                    var inconsistent = 0
                    while !stop.value {
                        answers.insert(consent.canStart("firebase_analytics"))
                        let snapshot = try consent.snapshot()
                        // The writer changes statistics and personalization together.
                        if snapshot.sdks["firebase_analytics"] != snapshot.sdks["kmer_recommendations"]
                            || snapshot.status.categories[.statistics] != snapshot.status.categories[.personalization]
                        {
                            inconsistent += 1
                        }
                        if !consent.canStart("kmer_session") { inconsistent += 1 }
                        await Task.yield()
                    }
                    return (answers, inconsistent)
                }
            }
            group.addTask {
                for i in 0..<200 {
                    try consent.save(statistics: i % 2 == 0, personalization: i % 2 == 0)
                    await Task.yield()
                }
                stop.mutate { $0 = true }
                return ([], 0)
            }
            var all: [(Set<Bool>, Int)] = []
            for try await result in group { all.append(result) }
            return all
        }
        XCTAssertEqual(results.map(\.1).reduce(0, +), 0)
        XCTAssertEqual(results.reduce(into: Set<Bool>()) { $0.formUnion($1.0) }, [true, false], "the readers saw it change")
    }

    func testCloseEndsEverythingAndTheGateFailsClosed() throws {
        let consent = try open()
        try consent.acceptAll()
        let queue = DispatchQueue(label: "sdk")
        let calls = Locked(0)
        try consent.whenAllowed("google_mobile_ads", on: queue, onStop: { calls.mutate { $0 += 1 } }) {
            calls.mutate { $0 += 1 }
        }
        queue.sync {}
        XCTAssertEqual(calls.value, 1)
        consent.close()
        consent.close()
        XCTAssertFalse(consent.canStart("google_mobile_ads"))
        XCTAssertFalse(consent.canStart("kmer_session"))
        XCTAssertFalse(consent.isGranted(.essential))
        // Every call throws the documented error.
        let closedCalls: [() throws -> Any] = [
            { try consent.acceptAll() }, { try consent.history() }, { try consent.check("kmer_session") },
            { try consent.status() }, { try consent.exportProof() as Any }, { try consent.banner() },
            { try consent.consentPage() }, { try consent.setLocale(Locale(identifier: "en_US")) },
            { try consent.watchForChanges() }, { try consent.whenAllowed("firebase_analytics") {} },
            { try consent.addListener { _ in } },
        ]
        for call in closedCalls {
            XCTAssertThrowsError(try call()) { error in
                XCTAssertEqual(error as? KmerConsentError, .Closed)
                XCTAssertEqual("\(error)", "the consent SDK instance is closed")
            }
        }
        // Another instance on the same file sees the decision; the closed one hears nothing more.
        let other = try open()
        XCTAssertTrue(other.canStart("google_mobile_ads"))
        try other.rejectAll()
        other.close()
        queue.sync {}
        XCTAssertEqual(calls.value, 1, "no callback after close")
    }

    func testTheHistoryRecordsWhatWasShownAndCatchesARecordEditedBehindTheSDKsBack() throws {
        do {
            // In its own scope: the native store closes (and checkpoints its WAL) when released.
            let first = try open()
            try first.acceptAll()
            try first.rejectAll()
            let history = try first.history()
            XCTAssertEqual(history[0].appVersion, "5.2.0")
            XCTAssertEqual(history[0].policyHash?.count, 64)
            XCTAssertEqual(history[0].recordHash, history[1].prevHash)
            let intact = try first.verifyHistory()
            XCTAssertTrue(intact.intact)
            XCTAssertEqual(intact.records, 2)
            first.close()
        }

        // Someone with the file (and no SDK) rewrites the app version in every record.
        let db = dir.appendingPathComponent("consent.sqlite")
        var bytes = try Data(contentsOf: db)
        let from = Data("5.2.0".utf8), to = Data("6.6.6".utf8)
        var search = bytes.startIndex..<bytes.endIndex
        while let found = bytes.range(of: from, in: search) {
            bytes.replaceSubrange(found, with: to)
            search = found.upperBound..<bytes.endIndex
        }
        try bytes.write(to: db)

        let consent = try open()
        defer { consent.close() }
        let check = try consent.verifyHistory()
        XCTAssertFalse(check.intact)
        XCTAssertEqual(check.firstBrokenRecord, 1)
        XCTAssertTrue(check.problem?.contains("changed") == true, check.problem ?? "")
    }

    func testAReceiptIsExportedForTheDecisionInForce() throws {
        let consent = try open()
        defer { consent.close() }
        XCTAssertNil(try consent.exportProof())
        try consent.save(statistics: true)
        let receipt = try XCTUnwrap(try consent.exportProof())
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(receipt.utf8)) as? [String: Any])
        XCTAssertEqual(json["schema"] as? String, "kmer-consent-receipt/2")
        XCTAssertEqual(json["receipt_id"] as? String, try consent.history().last?.recordHash)
        XCTAssertEqual((json["event"] as? [String: Any])?["type"] as? String, "save")
        XCTAssertNotNil(json["policy"] as? [String: Any], "it carries the policy text shown")
    }

    func testTheBannerFollowsTheDeviceLocale() throws {
        let consent = try open()
        defer { consent.close() }
        XCTAssertEqual(try consent.banner(locale: Locale(identifier: "fr_CM")).rejectAll, "Tout refuser")
        let en = try consent.banner(locale: Locale(identifier: "en_CM"))
        XCTAssertEqual(en.locale, "en")
        XCTAssertEqual(en.rejectAll, "Reject all")
        XCTAssertEqual(en.categories.count, 4)
        XCTAssertEqual(try consent.setLocale(Locale(identifier: "en_US")), "en")
        try consent.acceptAll()
        XCTAssertEqual(try consent.history().last?.locale, "en")
    }

    func testTrackingAuthorizationGatesOnlyTheSDKsThatNeedIt() throws {
        let consent = try open()
        defer { consent.close() }
        try consent.acceptAll()
        XCTAssertTrue(consent.canStart("meta_audience_network"), "not applicable: consent alone decides")
        for (status, allowed) in [
            (TrackingAuthorization.notDetermined, false), (.restricted, false), (.denied, false), (.authorized, true),
        ] {
            try consent.setTrackingAuthorization(status)
            XCTAssertEqual(consent.canStart("meta_audience_network"), allowed, "\(status)")
            if !allowed {
                XCTAssertEqual(try consent.check("meta_audience_network").reason, .trackingNotAuthorized)
            }
            XCTAssertTrue(consent.canStart("google_mobile_ads"), "no ATT needed")
        }
        // Authorized tracking never makes up for refused marketing.
        try consent.save(statistics: true)
        XCTAssertEqual(try consent.check("meta_audience_network").reason, .refused)
        // ATT's raw statuses map one to one; an unknown one keeps tracking off.
        XCTAssertEqual((0...4).map { TrackingAuthorization(attStatusRawValue: $0) },
                       [.notDetermined, .restricted, .denied, .authorized, .notDetermined])
    }
}

/// A sample policy from the repository's `policies/` folder.
func samplePolicy(_ name: String) -> String {
    let url = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().appendingPathComponent("../../../policies/\(name)")
    return (try? String(contentsOf: url.standardized, encoding: .utf8)) ?? ""
}

/// Runs the `kmer-consent` CLI that `cargo build` put in the repository's target/debug (it records
/// decisions at a chosen time, and plays the app's back end) and returns its standard output.
@discardableResult
func cli(_ arguments: String...) throws -> String {
    try cli(arguments)
}

@discardableResult
func cli(_ arguments: [String]) throws -> String {
    let process = cliProcess(arguments)
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let problem = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw CLIFailure(description: "kmer-consent \(arguments.joined(separator: " ")): \(problem)")
    }
    return text
}

/// The CLI exited with an error: the test stops there.
struct CLIFailure: Error, CustomStringConvertible {
    let description: String
}

/// Runs `body` while another process (the CLI) holds the write lock of the store at `db`: the SDK's
/// writes wait out their busy timeout (5 s), then fail as a full disk would.
func whileStoreLocked<T>(_ db: URL, _ body: () throws -> T) throws -> T {
    let locker = cliProcess(["--db", db.path, "hold-write-lock", "--for-ms", "15000"])
    let output = Pipe()
    locker.standardOutput = output
    try locker.run()
    defer {
        if locker.isRunning { locker.terminate() }
        locker.waitUntilExit()
    }
    var line = Data()
    while !line.contains(UInt8(ascii: "\n")) {
        let chunk = output.fileHandleForReading.availableData
        if chunk.isEmpty { break }  // it exited
        line.append(chunk)
    }
    guard String(decoding: line, as: UTF8.self) == "locked\n" else {
        throw CLIFailure(description: "the lock was not taken")
    }
    return try body()
}

/// The app's back end, as the CLI plays it: a key pair (made in `dir`), and countersignatures.
struct Backend {
    let dir: URL
    let publicKey: String
    private var key: URL { dir.appendingPathComponent("backend.key") }

    init(in dir: URL) throws {
        self.dir = dir
        publicKey = try cli("keygen", "--out", dir.appendingPathComponent("backend.key").path)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `receipt` countersigned as seen at `at`; the acknowledgement is written to `ackOut` if given.
    @discardableResult
    func countersign(_ receipt: String, at: Date = Date(), ackOut: URL? = nil) throws -> String {
        let file = dir.appendingPathComponent("receipt-\(UUID().uuidString).json")
        try receipt.write(to: file, atomically: true, encoding: .utf8)
        let ack = ackOut.map { ["--ack-out", $0.path] } ?? []
        let time = ISO8601DateFormatter().string(from: at)
        return try cli(["countersign", "--key", key.path, "--at", time] + ack + [file.path])
    }
}

/// The CLI as a process the test starts and drives itself.
func cliProcess(_ arguments: [String]) -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../target/debug/kmer-consent").standardized
    process.arguments = arguments
    return process
}

/// A test case with a fresh temporary directory for its database.
class StoreTestCase: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kmer-consent-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }
}

/// A value shared between the test and callbacks on other threads.
final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T

    init(_ value: T) {
        stored = value
    }

    var value: T {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    func mutate(_ change: (inout T) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        change(&stored)
    }
}
