import Foundation
import KmerConsentAtomics

/// The consent SDK for Swift: records the user's choices and tells every SDK whether it may run.
/// Every rule, timer and decision lives in the native core (`ConsentManager`); this type adds Swift
/// idioms only: `AsyncStream`, dispatch queues, `URL` and `Locale`.
///
/// Open one instance at launch and keep it, with `openInBackground(…)`: it returns at once and
/// opens the store on a thread of its own. Until it is ready (`isReady`, `awaitReady()`,
/// `onReady(on:_:)`) the gate answers "not allowed" without waiting, `whenAllowed`, `addListener`,
/// `writeIabTcfKeys` and `watchForChanges` are taken and made in the core once it is, and every other
/// call waits for it. `open(…)` does the same work on the calling thread.
///
/// `canStart(_:)` and `check(_:)` answer from the snapshot the core last published, without calling
/// into native code: the core hands every new snapshot to this instance before the call that made it
/// returns, and republishes by itself when an expiry or a reminder falls due.
///
/// Errors: every throwing method throws `KmerConsentError`, the core's error (its `description` is
/// the core's message); after `close()`, `KmerConsentError.Closed`. When the open failed, every call
/// that waits for it throws what the open threw.
public final class KmerConsentSDK: Sendable {
    private let state: SnapshotState
    private let callbackQueue: DispatchQueue

    private init(callbackQueue: DispatchQueue, notReady: ConsentSnapshot) {
        self.callbackQueue = callbackQueue
        state = SnapshotState(notReady)
    }

    /// The open core; waits for it while the store opens.
    var manager: ConsentManager {
        get throws { try state.core() }
    }

    /// Opens the consent store at `databaseURL` (created if missing; default: Application Support,
    /// excluded from backups) with the app's policy JSON, on the calling thread: prefer
    /// `openInBackground(…)` at launch.
    ///
    /// - Parameters:
    ///   - trackingAuthorization: the ATT status for this launch; `nil` reads it from the system where
    ///     App Tracking Transparency exists, and is `.notApplicable` elsewhere.
    ///   - callbackQueue: where `whenAllowed` and listener callbacks run unless a call names another
    ///     (default: a serial queue owned by this instance, so they arrive in order).
    ///   - appVersion: recorded with each decision as proof (default: the bundle's short version).
    ///   - backendPublicKey: the app's back end's Ed25519 public key (64 hex digits): `importReceipt`
    ///     and `acknowledgeSigned` need it; an invalid one throws `KmerConsentError.BackendKey`.
    ///   - accountId: who is logged in at launch, as `setSubject(_:)` takes it (`nil`: nobody); set
    ///     before the first snapshot, so no SDK starts on another user's decision. An invalid one
    ///     throws `KmerConsentError.InvalidSubject`.
    public static func open(
        databaseURL: URL? = nil,
        policyJSON: String,
        locale: Locale = .current,
        trackingAuthorization: TrackingAuthorization? = nil,
        callbackQueue: DispatchQueue? = nil,
        appVersion: String? = nil,
        backendPublicKey: String? = nil,
        accountId: String? = nil
    ) throws -> KmerConsentSDK {
        let opening = Opening(
            databaseURL: databaseURL, policyJSON: policyJSON, locale: locale,
            trackingAuthorization: trackingAuthorization ?? systemTrackingAuthorization(), appVersion: appVersion,
            backendPublicKey: backendPublicKey, accountId: accountId)
        let manager = try ConsentManager.open(options: opening.options())
        let consent = opening.instance(callbackQueue: callbackQueue)
        try consent.state.attach(manager)
        return consent
    }

    /// `open(…)`, without blocking the caller: returns at once an instance whose gate allows nothing,
    /// and opens the store on a thread of its own. `isReady`, `awaitReady()` and `onReady(on:_:)` say
    /// when it is ready, or why the open failed (it throws nothing itself). The parameters are
    /// `open(…)`'s; the tracking authorization is read from the system here, on the calling thread.
    public static func openInBackground(
        databaseURL: URL? = nil,
        policyJSON: String,
        locale: Locale = .current,
        trackingAuthorization: TrackingAuthorization? = nil,
        callbackQueue: DispatchQueue? = nil,
        appVersion: String? = nil,
        backendPublicKey: String? = nil,
        accountId: String? = nil
    ) -> KmerConsentSDK {
        let opening = Opening(
            databaseURL: databaseURL, policyJSON: policyJSON, locale: locale,
            trackingAuthorization: trackingAuthorization ?? systemTrackingAuthorization(), appVersion: appVersion,
            backendPublicKey: backendPublicKey, accountId: accountId)
        return openInBackground(opening, callbackQueue: callbackQueue) { try ConsentManager.open(options: $0) }
    }

    /// `openInBackground(…)` opening the core with `openCore` (tests hold it).
    static func openInBackground(
        _ opening: Opening, callbackQueue: DispatchQueue?,
        openCore: @escaping @Sendable (ConsentOptions) throws -> ConsentManager
    ) -> KmerConsentSDK {
        let consent = opening.instance(callbackQueue: callbackQueue)
        let state = consent.state
        let thread = Thread {
            do {
                try state.attach(try openCore(try opening.options()))
            } catch {
                state.settle(error)
            }
        }
        thread.name = "kmer-consent-open"
        thread.start()
        return consent
    }

    /// What both opens are given, ready to become the core's options.
    struct Opening: Sendable {
        let databaseURL: URL?
        let policyJSON: String
        let locale: Locale
        let trackingAuthorization: TrackingAuthorization
        let appVersion: String?
        let backendPublicKey: String?
        let accountId: String?

        /// The core's options; the default database URL is made here (it creates a directory).
        func options() throws -> ConsentOptions {
            let url = try databaseURL ?? KmerConsentSDK.defaultDatabaseURL()
            let version = appVersion
                ?? (Bundle.main.object(forInfoDictionaryKey: "CFBundleShortVersionString") as? String) ?? ""
            return ConsentOptions(
                databasePath: url.path, policyJson: policyJSON, locale: locale.identifier, appVersion: version,
                trackingAuthorization: trackingAuthorization, backendPublicKey: backendPublicKey,
                accountId: accountId)
        }

        /// An instance not yet attached to a core, answering from the core's not-ready snapshot.
        func instance(callbackQueue: DispatchQueue?) -> KmerConsentSDK {
            KmerConsentSDK(
                callbackQueue: callbackQueue ?? DispatchQueue(label: "com.kmeroccase.consent.callbacks"),
                notReady: notReadySnapshot(locale: locale.identifier, trackingAuthorization: trackingAuthorization))
        }
    }

    /// Whether the store is open and the gate answers from it (false before, after a failed open,
    /// after `close()`).
    public var isReady: Bool { state.isReady }

    /// Suspends until the SDK is ready and returns it; throws what the open threw when it failed, or
    /// `KmerConsentError.Closed`. Cancelling the task does not cancel the open.
    @discardableResult
    public func awaitReady() async throws -> KmerConsentSDK {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            state.onSettled(on: nil) { error in
                if let error { continuation.resume(throwing: error) } else { continuation.resume() }
            }
        }
        return self
    }

    /// Calls `callback` on `queue` (default: the callback queue) once the open has ended: with `nil`
    /// when the SDK is ready, with what the open threw when it failed (the gate then stays closed),
    /// or with `KmerConsentError.Closed` when `close()` came first. At once when that is already so.
    public func onReady(on queue: DispatchQueue? = nil, _ callback: @escaping @Sendable ((any Error)?) -> Void) {
        state.onSettled(on: queue ?? callbackQueue, callback)
    }

    /// `Application Support/KmerConsent/consent.sqlite`, created and excluded from backups: a consent
    /// record is evidence of what this person chose on this device, not something to restore elsewhere.
    public static func defaultDatabaseURL() throws -> URL {
        let support = try FileManager.default.url(
            for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
        var dir = support.appendingPathComponent("KmerConsent", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        #if canImport(Darwin)
        var values = URLResourceValues()
        values.isExcludedFromBackup = true
        try dir.setResourceValues(values)
        #endif
        return dir.appendingPathComponent("consent.sqlite")
    }

    // MARK: The gate (no native call on the hot path)

    /// Whether the SDK may start now. Unknown ids, everything before the SDK is ready and everything
    /// after `close()` answer false. One atomic load and a set lookup: no lock, no native call, no
    /// clock.
    public func canStart(_ sdkId: String) -> Bool {
        state.allows(sdkId)
    }

    /// The verdict for the SDK, with its reason. An id the policy does not list is denied; before the
    /// SDK is ready every id is (`.notReady`), without waiting. After a failed open it throws what the
    /// open threw.
    public func check(_ sdkId: String) throws -> Verdict {
        guard let snapshot = try state.publishedSnapshot() else { return Verdict(allowed: false, reason: .notReady) }
        return snapshot.sdks[sdkId] ?? Verdict(allowed: false, reason: .unknownSdk)
    }

    /// Whether `category` is granted now. Essential always is, once ready; before, and after
    /// `close()`, nothing is.
    public func isGranted(_ category: Category) -> Bool {
        (try? state.publishedSnapshot())??.status.categories[category] == true
    }

    /// Where consent stands: whether to show the banner (`needsPrompt`) and why, and whether a refusal
    /// is still waiting to be written (`notYetSaved`).
    public func status() throws -> ConsentStatus {
        try live().status
    }

    /// The current snapshot: the status and every SDK's verdict.
    public func snapshot() throws -> ConsentSnapshot {
        try live()
    }

    /// The snapshot the core last published (waiting for the open), or `Closed` once closed.
    private func live() throws -> ConsentSnapshot {
        _ = try manager
        guard let snapshot = try state.publishedSnapshot() else { throw KmerConsentError.Closed }
        return snapshot
    }

    // MARK: Decisions

    /// The user chose "Accept all". A grant the store cannot write throws `KmerConsentError.storage`
    /// and changes nothing.
    @discardableResult
    public func acceptAll() throws -> ConsentStatus { try manager.acceptAll().status }

    /// The user chose "Reject all". Like `withdraw()`, it takes effect at once even when the store
    /// cannot write it yet (`ConsentStatus.notYetSaved`).
    @discardableResult
    public func rejectAll() throws -> ConsentStatus { try manager.rejectAll().status }

    /// The user closed the banner ("continue without accepting"): recorded as a refusal.
    @discardableResult
    public func dismiss() throws -> ConsentStatus { try manager.dismiss().status }

    /// The user withdrew consent: every optional category is refused from now on, at once. When the
    /// store cannot write it (full disk, locked, read-only) it still takes effect (the gate closes,
    /// listeners and `onStop` callbacks run) and returns normally, held in memory for this process:
    /// `ConsentStatus.notYetSaved` says when it is written and that it is lost if the process ends
    /// first.
    @discardableResult
    public func withdraw() throws -> ConsentStatus { try manager.withdraw().status }

    /// The user saved a custom choice; categories left out are refused. When the store cannot write
    /// it, a choice that only takes consent away holds as `withdraw()` does; one that also grants
    /// throws `KmerConsentError.storage`, after what it refuses took effect (nothing it grants does).
    @discardableResult
    public func save(statistics: Bool = false, personalization: Bool = false, marketing: Bool = false) throws
        -> ConsentStatus
    {
        try save([.statistics: statistics, .personalization: personalization, .marketing: marketing])
    }

    /// The user saved a custom choice; categories left out are refused, refusing essential throws.
    /// Unwritable store: as `save(statistics:personalization:marketing:)`.
    @discardableResult
    public func save(_ choices: [Category: Bool]) throws -> ConsentStatus {
        try manager.save(choices: choices).status
    }

    /// Replaces the policy with another text of the same policy id. Consent is bound to the text the
    /// user was shown: a higher revision asks again (`.policyChanged`) and until then keeps only what
    /// the user saw as they saw it; a lower revision (`.policyRolledBack`) or the same revision with
    /// other content (`.policyEditedInPlace`) grants nothing and asks again. Only another policy id is
    /// refused (`KmerConsentError.policyUpdateRefused`).
    @discardableResult
    public func updatePolicy(_ policyJSON: String) throws -> ConsentStatus {
        try manager.updatePolicy(policyJson: policyJSON).status
    }

    /// Re-reads the store, writes a refusal it could not take before (`notYetSaved`), and re-applies
    /// the rules now (call when the app returns to the foreground).
    @discardableResult
    public func refresh() throws -> ConsentStatus { try manager.refresh().status }

    /// Checks every link of the history's hash chain and every acknowledgement the back end signed:
    /// reports the first record changed, removed or moved behind the SDK's back (proof of consent,
    /// GDPR art. 7(1)), and how many records the back end witnessed.
    public func verifyHistory() throws -> HistoryCheck {
        return try manager.verifyHistory()
    }

    /// The consent receipt of the latest decision on disk (a refusal held in memory has none until it
    /// is written), as JSON shaped after ISO/IEC TS 27560 (schema
    /// `kmer-consent-receipt/2`, carrying the policy text shown; `nil` before any decision). Send it to
    /// the back end as proof; `kmer-consent verify-receipt` checks it.
    public func exportProof() throws -> String? {
        return try manager.exportProof()
    }

    /// Says who is logged in: an account id after login, `nil` after logout (the anonymous device).
    /// Decisions are per user. A user with no decision of their own takes the device's decision only
    /// if it refuses everything optional (recorded as `.subjectLink`, so they are not asked twice); a
    /// device decision that grants anything is not adopted (whoever made it may not be them): the
    /// status is `.noDecision` and they are asked. Adoptions never enter the outbox. A consent page
    /// rendered for another user is refused while that user is not the one set. Call it after `open` at each launch. The id is
    /// stored as given, never logged.
    @discardableResult
    public func setSubject(_ accountId: String?) throws -> ConsentStatus {
        try manager.setSubject(accountId: accountId).status
    }

    /// Up to `limit` receipts the back end has not acknowledged, oldest first (at least once). Send
    /// each to the back end; pass its signed acknowledgement to `acknowledgeSigned(_:)`.
    public func pendingReceipts(limit: UInt32 = 100) throws -> [PendingReceipt] {
        return try manager.pendingReceipts(limit: limit)
    }

    /// Marks receipts as delivered to the back end, without its signature: nothing is witnessed.
    /// Prefer `acknowledgeSigned(_:)` when the back end signs.
    public func acknowledge(_ ids: [Int64]) throws {
        try manager.acknowledge(ids: ids)
    }

    /// Keeps the back end's signed acknowledgement of one of this store's records (a witness JSON
    /// object, as `kmer-consent countersign --ack-out` writes it) and takes that record out of the
    /// outbox. From then on the record, and every one before it, cannot be rewritten on the device
    /// without `verifyHistory()` saying so, as long as the witness is kept
    /// (`ConsentRecord.witnessedAtMs` shows when it was witnessed), and imports are ordered against it by the back end's time. Throws
    /// `KmerConsentError.backendKey` when `open` was given no back end key, and
    /// `.invalidAcknowledgement` for a malformed or wrongly signed one, or one for no record here.
    public func acknowledgeSigned(_ acknowledgementJSON: String) throws {
        try manager.acknowledgeSigned(acknowledgementJson: acknowledgementJSON)
    }

    /// Applies a decision another device made for the logged-in user, from a receipt the app's back
    /// end countersigned (its `witness` field, checked with the key given to `open`). How it is
    /// ordered against the decision here is the core's rule (`ConsentManager.importReceipt`): it
    /// replaces it (source `.import`) only when the back end saw it later and it is not dated
    /// earlier; when the two cannot be ordered, each category keeps the more restrictive choice
    /// (`.importMerged`), or nothing is recorded. Never applied twice. Returns whether anything was recorded. Throws
    /// `KmerConsentError.backendKey` when `open` was given no back end key, and `.invalidReceipt` for
    /// a receipt unsigned, wrongly signed, altered, or not for this user and policy (nothing
    /// recorded).
    @discardableResult
    public func importReceipt(_ receiptJSON: String) throws -> Bool {
        try manager.importReceipt(receiptJson: receiptJSON) != nil
    }

    /// Erasure: deletes the current user's decisions and pending receipts; they are asked again.
    @discardableResult
    public func eraseSubject() throws -> ConsentStatus { try manager.eraseSubject().status }

    /// Re-reads the store only if another process (an app extension) wrote to it since the last
    /// look (one cheap read). Returns whether it did. `watchForChanges` calls it on a timer.
    @discardableResult
    public func refreshIfChanged() throws -> Bool {
        try manager.refreshIfChanged() != nil
    }

    /// Looks every `interval` seconds for another process's writes (an app extension), on the core's
    /// timer, so its decisions reach this gate (and every listener) within that period; the core
    /// takes any period as 10 ms to one day. Start it when the app becomes active and cancel the token
    /// when it resigns active. Before the SDK is ready, the watch starts once it is.
    public func watchForChanges(every interval: TimeInterval = 1) throws -> ConsentToken {
        // Only what `UInt64(_:)` cannot hold is settled here (it traps on NaN, infinity and
        // negatives); the range is the core's.
        let ms = interval.isNaN ? 0 : min(max(0, (interval * 1000).rounded()), 9e18)
        return try state.register { manager in
            let task = try manager.watchForChanges(periodMs: UInt64(ms))
            return { task.cancel() }
        }
    }

    /// Every decision of the current user, oldest first, with when the back end witnessed each.
    public func history() throws -> [ConsentRecord] {
        return try manager.history()
    }

    /// The banner's content for a locale (`fr_CM` → French), toggles set to what is granted now.
    public func banner(locale: Locale = .current) throws -> Banner {
        return try manager.banner(locale: locale.identifier)
    }

    /// The consent page for a `WKWebView`: one self-contained HTML document (no network, strict CSP)
    /// in `locale`, opening on `layer`. It posts the user's action as a JSON string to the script
    /// message handler named `kmerConsent`; pass that string to `applyUIMessage(_:)`. Render it
    /// afresh each time it is shown: a page answers once, for the user it was rendered for, while
    /// nothing else has been decided, for a day. `ConsentViewController` (UIKit) and
    /// `ConsentScreen` (SwiftUI) do all of this.
    public func consentPage(layer: ConsentPageLayer = .banner, locale: Locale = .current) throws -> String {
        return try manager.consentPage(locale: locale.identifier, layer: layer)
    }

    /// Applies the message the consent page posted: records the decision it carries (sources
    /// `.pageAcceptAll`, `.pageRejectAll`, `.pageDismiss`, `.pageSave`; closing the
    /// preferences records nothing) and returns the status after it. A malformed or forged message,
    /// or one from a page rendered before another decision was recorded, for another user or a day
    /// ago or more, throws `KmerConsentError.invalidUIMessage` and records nothing: render the page
    /// again.
    @discardableResult
    public func applyUIMessage(_ message: String) throws -> ConsentStatus {
        try manager.applyUiMessage(message: message)?.status ?? live().status
    }

    /// Sets the locale decisions are recorded in; returns the policy locale chosen for it.
    @discardableResult
    public func setLocale(_ locale: Locale) throws -> String {
        return try manager.setLocale(locale: locale.identifier)
    }

    /// Reports the tracking authorization for this launch (see `TrackingAuthorization(attStatusRawValue:)`).
    public func setTrackingAuthorization(_ status: TrackingAuthorization) throws {
        _ = try manager.setTrackingAuthorization(status: status)
    }

    // MARK: Changes

    /// The current snapshot, then one after every change. Each access is a new stream; it ends when
    /// the consuming task is cancelled or the SDK is closed.
    public var snapshots: AsyncStream<ConsentSnapshot> {
        AsyncStream(bufferingPolicy: .bufferingNewest(16)) { continuation in
            state.addContinuation(continuation)
        }
    }

    /// Calls `listener` on `queue` with the current snapshot, then after every change. Before the SDK
    /// is ready, the first call comes once it is, with the first snapshot read from the store.
    @discardableResult
    public func addListener(
        on queue: DispatchQueue? = nil, _ listener: @escaping @Sendable (ConsentSnapshot) -> Void
    ) throws -> ConsentToken {
        let relay = QueuedListener(queue: queue ?? callbackQueue, listener: listener)
        return try state.register { manager in
            let subscription = try manager.addListener(listener: relay)
            return { subscription.cancel() }
        }
    }

    /// Runs `onStart` once the SDK may start (at once if it already may) and `onStop` when it no
    /// longer may (refusal, withdrawal, expiry), on `queue`. Cancel the token to stop the calls;
    /// cancelling does not stop an SDK already started. Before the SDK is ready it returns at once and
    /// the SDK is registered in the core once it is; an id the policy does not list then throws
    /// nowhere: the token is cancelled, `ConsentToken.failure` says why, and `onStart` never runs.
    @discardableResult
    public func whenAllowed(
        _ sdkId: String,
        on queue: DispatchQueue? = nil,
        onStop: (@Sendable () -> Void)? = nil,
        onStart: @escaping @Sendable () -> Void
    ) throws -> ConsentToken {
        let lifecycle = QueuedLifecycle(queue: queue ?? callbackQueue, onStart: onStart, onStop: onStop)
        return try state.register { manager in
            let subscription = try manager.registerSdk(sdkId: sdkId, lifecycle: lifecycle)
            return { subscription.cancel() }
        }
    }

    /// Shuts the core down (its timer, watches, listeners and SDK callbacks; the store is released)
    /// and ends every registration and stream. `canStart` then answers false and every other call
    /// throws `KmerConsentError.Closed`. Idempotent. Before the SDK is ready it does not wait: the core
    /// is shut down as soon as it is open.
    public func close() {
        _ = state.close()?.shutdown()
    }

    deinit {
        close()
    }
}

/// A listener, SDK or watch registration. `cancel()` ends it; cancelling twice is harmless. Dropping
/// the token does not cancel: SDK registrations usually live as long as the app. One made before the
/// SDK was ready is made in the core once it is; cancelled before then, it never is.
public final class ConsentToken: @unchecked Sendable {
    private let lock = NSLock()
    private var end: (@Sendable () -> Void)?
    private var cancelled = false
    private var refusal: (any Error)?

    init() {}

    /// Why the core refused this registration, when it was made before the SDK was ready (an id the
    /// policy does not list); the token is then cancelled. `nil` otherwise.
    public var failure: (any Error)? {
        lock.lock()
        defer { lock.unlock() }
        return refusal
    }

    var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }

    /// The core registered it: cancelled meanwhile, it is ended at once.
    func bind(_ end: @escaping @Sendable () -> Void) {
        lock.lock()
        if !cancelled {
            self.end = end
            lock.unlock()
            return
        }
        lock.unlock()
        end()
    }

    func fail(_ error: any Error) {
        lock.lock()
        refusal = error
        lock.unlock()
        cancel()
    }

    /// Stops the callbacks of this registration.
    public func cancel() {
        lock.lock()
        let ending = cancelled ? nil : end
        cancelled = true
        end = nil
        lock.unlock()
        ending?()
    }
}

/// The ids of the SDKs one snapshot allows: what `canStart` reads, never changed once made.
private final class AllowedIds: Sendable {
    let ids: Set<String>

    init(_ ids: Set<String>) {
        self.ids = ids
    }
}

/// The gate's state, the core once it is open, and what waits for it, behind one lock; and, beside
/// the lock, the set of allowed ids `canStart` reads with one atomic load. The core's mirror fills it,
/// in order, before each call that changed consent returns.
private final class SnapshotState: @unchecked Sendable {
    private let lock = NSCondition()
    /// The newest snapshot: the not-ready one until the core's first.
    private var snapshot: ConsentSnapshot
    /// Whether `snapshot` came from the core.
    private var published = false
    private var closed = false
    private var open: ConsentManager?
    private var failure: (any Error)?
    /// Whether the open has ended (either way) and what waited for it was made.
    private var settled = false
    private var waiting: [@Sendable (ConsentManager) -> Void] = []
    private var readyCallbacks: [(DispatchQueue?, @Sendable ((any Error)?) -> Void)] = []
    private var continuations: [UInt64: AsyncStream<ConsentSnapshot>.Continuation] = [:]
    private var nextId: UInt64 = 0
    private var tokens: [ConsentToken] = []
    /// Every set `allowedCell` has pointed to, each kept until this state is freed: a reader may
    /// still be looking at one it loaded. A set is made only when the allowed ids change (a decision,
    /// an expiry), and an equal one is reused, so they stay few.
    private var allowedSets: [AllowedIds]
    /// An unretained pointer to one of `allowedSets`: stored under the lock, loaded without it.
    private let allowedCell: UnsafeMutablePointer<UnsafeRawPointer?>

    init(_ notReady: ConsentSnapshot) {
        snapshot = notReady
        let none = AllowedIds([])
        allowedSets = [none]
        allowedCell = .allocate(capacity: 1)
        allowedCell.initialize(to: UnsafeRawPointer(Unmanaged.passUnretained(none).toOpaque()))
    }

    deinit {
        allowedCell.deinitialize(count: 1)
        allowedCell.deallocate()
    }

    /// Whether the newest snapshot allows the SDK; false before the core's first and once closed.
    func allows(_ sdkId: String) -> Bool {
        guard let raw = kmer_consent_load_acquire(allowedCell) else { return false }
        return Unmanaged<AllowedIds>.fromOpaque(raw)._withUnsafeGuaranteedRef { $0.ids.contains(sdkId) }
    }

    /// Points `canStart` at `ids`. Under the lock.
    private func showAllowed(_ ids: Set<String>) {
        let shown: AllowedIds
        if let same = allowedSets.first(where: { $0.ids == ids }) {
            shown = same
        } else {
            shown = AllowedIds(ids)
            allowedSets.append(shown)
        }
        kmer_consent_store_release(allowedCell, UnsafeRawPointer(Unmanaged.passUnretained(shown).toOpaque()))
    }

    var isReady: Bool {
        lock.lock()
        defer { lock.unlock() }
        return !closed && settled && open != nil
    }

    /// The open core; waits while the store opens. Throws `Closed`, or what the open threw.
    func core() throws -> ConsentManager {
        lock.lock()
        defer { lock.unlock() }
        while true {
            if closed { throw KmerConsentError.Closed }
            if let open { return open }
            if settled { throw failure ?? KmerConsentError.Closed }
            lock.wait()
        }
    }

    /// The core's newest snapshot without waiting: `nil` while the store opens; throws `Closed` once
    /// closed, and what the open threw when it failed.
    func publishedSnapshot() throws -> ConsentSnapshot? {
        lock.lock()
        defer { lock.unlock() }
        if closed { throw KmerConsentError.Closed }
        if published { return snapshot }
        if settled { throw failure ?? KmerConsentError.Closed }
        return nil
    }

    /// Connects the open core: the mirror first, then what was asked while it opened, then the
    /// `onReady` callbacks. Closed meanwhile: the core is shut down.
    func attach(_ manager: ConsentManager) throws {
        do {
            try manager.mirrorTo(mirror: Mirror(state: self))
        } catch {
            // Not wired: shut down, so nothing stays open.
            _ = manager.shutdown()
            throw error
        }
        lock.lock()
        let wasClosed = closed
        if !wasClosed { open = manager }
        let pending = waiting
        waiting = []
        lock.unlock()
        if wasClosed {
            _ = manager.shutdown()
            settle(KmerConsentError.Closed)
            return
        }
        for make in pending { make(manager) }
        settle(nil)
    }

    /// Ends the wait, once: `error` is `nil` when the core is open, else what the open threw.
    func settle(_ error: (any Error)?) {
        lock.lock()
        if settled {
            lock.unlock()
            return
        }
        settled = true
        if failure == nil { failure = error }
        waiting = []
        let callbacks = readyCallbacks
        readyCallbacks = []
        lock.broadcast()
        lock.unlock()
        for (queue, callback) in callbacks { Self.deliver(error, on: queue, to: callback) }
    }

    /// Calls `callback` once the open has ended, on `queue` (`nil`: on the thread that ends it).
    func onSettled(on queue: DispatchQueue?, _ callback: @escaping @Sendable ((any Error)?) -> Void) {
        lock.lock()
        if !settled && !closed {
            readyCallbacks.append((queue, callback))
            lock.unlock()
            return
        }
        let outcome: (any Error)? = closed ? KmerConsentError.Closed : failure
        lock.unlock()
        Self.deliver(outcome, on: queue, to: callback)
    }

    private static func deliver(
        _ outcome: (any Error)?, on queue: DispatchQueue?, to callback: @escaping @Sendable ((any Error)?) -> Void
    ) {
        if let queue { queue.async { callback(outcome) } } else { callback(outcome) }
    }

    /// A registration made in the core by `make` (which returns how to end it): at once when the core
    /// is open (its error thrown here), else once it is (its error kept in `ConsentToken.failure`).
    /// Ended with the rest by `close()`.
    func register(_ make: @escaping @Sendable (ConsentManager) throws -> @Sendable () -> Void) throws -> ConsentToken {
        let token = ConsentToken()
        lock.lock()
        if closed {
            lock.unlock()
            throw KmerConsentError.Closed
        }
        guard let open else {
            if settled {
                let failure = self.failure
                lock.unlock()
                throw failure ?? KmerConsentError.Closed
            }
            waiting.append { manager in
                // Cancelled while the core opened: never made, so an SDK never starts.
                guard !token.isCancelled else { return }
                do { token.bind(try make(manager)) } catch { token.fail(error) }
            }
            tokens.append(token)
            lock.unlock()
            return token
        }
        lock.unlock()
        token.bind(try make(open))
        lock.lock()
        tokens.append(token)
        lock.unlock()
        return token
    }

    /// Stores what the core published, points the gate at it and hands it to every stream.
    func publish(_ new: ConsentSnapshot) {
        lock.lock()
        snapshot = new
        published = true
        if !closed { showAllowed(Set(new.sdks.lazy.filter { $0.value.allowed }.map(\.key))) }
        let waiting = closed ? [] : Array(continuations.values)
        lock.unlock()
        for continuation in waiting { continuation.yield(new) }
    }

    func addContinuation(_ continuation: AsyncStream<ConsentSnapshot>.Continuation) {
        lock.lock()
        if closed {
            lock.unlock()
            continuation.finish()
            return
        }
        let id = nextId
        nextId += 1
        continuations[id] = continuation
        let first = snapshot
        lock.unlock()
        continuation.onTermination = { [weak self] _ in self?.removeContinuation(id) }
        continuation.yield(first)
    }

    private func removeContinuation(_ id: UInt64) {
        lock.lock()
        continuations[id] = nil
        lock.unlock()
    }

    /// Marks closed, closes the gate, cancels every registration, ends every stream and the wait.
    /// Returns the core to shut down (`nil` before it is open, or when already closed).
    func close() -> ConsentManager? {
        lock.lock()
        if closed {
            lock.unlock()
            return nil
        }
        closed = true
        showAllowed([])
        let streams = Array(continuations.values)
        let registrations = tokens
        let core = open
        continuations = [:]
        tokens = []
        lock.unlock()
        registrations.forEach { $0.cancel() }
        streams.forEach { $0.finish() }
        settle(KmerConsentError.Closed)
        return core
    }
}

/// The core's mirror of this instance: keeps `SnapshotState` current. Weak: the state holds the core,
/// which holds this. Set once, in `init`: unchecked only because Swift 6.0 has no `weak let`.
private final class Mirror: SnapshotMirror, @unchecked Sendable {
    weak var state: SnapshotState?

    init(state: SnapshotState) {
        self.state = state
    }

    func mirror(snapshot: ConsentSnapshot) {
        state?.publish(snapshot)
    }
}

/// An app listener, called on its queue.
private final class QueuedListener: ConsentListener {
    let queue: DispatchQueue
    let listener: @Sendable (ConsentSnapshot) -> Void

    init(queue: DispatchQueue, listener: @escaping @Sendable (ConsentSnapshot) -> Void) {
        self.queue = queue
        self.listener = listener
    }

    func onConsentChanged(snapshot: ConsentSnapshot) {
        let listener = self.listener
        queue.async { listener(snapshot) }
    }
}

/// An SDK's start and stop, called on its queue.
private final class QueuedLifecycle: SdkLifecycle {
    let queue: DispatchQueue
    let onStart: @Sendable () -> Void
    let onStop: (@Sendable () -> Void)?

    init(queue: DispatchQueue, onStart: @escaping @Sendable () -> Void, onStop: (@Sendable () -> Void)?) {
        self.queue = queue
        self.onStart = onStart
        self.onStop = onStop
    }

    func start() {
        queue.async(execute: onStart)
    }

    func stop() {
        if let onStop { queue.async(execute: onStop) }
    }
}


/// The core's error prints the core's message (its `description`, also `localizedDescription`).
extension KmerConsentError: CustomStringConvertible {}
