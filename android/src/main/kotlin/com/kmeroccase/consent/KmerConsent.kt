package com.kmeroccase.consent

import java.io.File
import java.util.Locale
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executor
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.suspendCancellableCoroutine

/**
 * The consent SDK for Kotlin and Java: records the user's choices and tells every SDK whether it may
 * run. Every rule, timer and decision lives in the native core ([ConsentManager]); this class adds
 * Kotlin idioms only: a [StateFlow], executors, `AutoCloseable`, [File] and [Locale].
 *
 * Open one per database file for the app's lifetime, with [openInBackground] (on Android:
 * `KmerConsentAndroid.openInBackground` in `Application.onCreate`): it returns at once and loads the
 * native library and opens the store on a thread of its own. Until it is ready ([isReady],
 * [awaitReady], [onReady]) the gate answers "not allowed" without waiting, [whenAllowed], [addListener],
 * [writeIabTcfKeys] and [watchForChanges] are taken and made in the core once it is, and every other
 * call waits for it. [open] does the same work on the calling thread.
 *
 * Thread-safe. [canStart] and [check] answer from the snapshot the core last published, without
 * crossing into native code: the core hands every new snapshot to this instance before the call that
 * made it returns, and republishes by itself when an expiry or a reminder falls due.
 *
 * Errors: every method that can fail throws [KmerConsentException] (its `toString()` is the core's
 * message); after [close], [KmerConsentException.Closed]. When the open failed, every call that
 * waits for it throws what the open threw.
 */
class KmerConsent private constructor(
    /** The app's executor for callbacks; null: one thread of this instance's, made when first needed. */
    private val appExecutor: Executor?,
    private val notReady: ConsentSnapshot,
) : AutoCloseable {

    /**
     * The newest snapshot the core published and, beside it, the ids of the SDKs it allows (what
     * [canStart] reads, interned so that an id written as a literal in the app matches by identity):
     * one immutable value, replaced whole, so [canStart] and [check] never disagree.
     */
    private class Published(val snapshot: ConsentSnapshot) {
        val allowed: Set<String> = snapshot.sdks.filterValues { it.allowed }.keys.mapTo(HashSet()) { it.intern() }
    }

    /** Null until the core is open: the gate then allows nothing. */
    @Volatile
    private var published: Published? = null

    /**
     * What [snapshots] shows, made when first asked for or when the core is attached: the StateFlow's
     * classes are then loaded off the thread that called [openInBackground]. Guarded by `this`.
     */
    @Volatile
    private var flow: MutableStateFlow<ConsentSnapshot>? = null

    /** [flow] as the app sees it: one read-only view, so `snapshots` is the same object each time. */
    @Volatile
    private var readOnlyFlow: StateFlow<ConsentSnapshot>? = null

    private fun flow(): MutableStateFlow<ConsentSnapshot> = flow ?: synchronized(this) {
        flow ?: MutableStateFlow(published?.snapshot ?: notReady).also {
            readOnlyFlow = it.asStateFlow()
            flow = it
        }
    }

    /** Shows [snapshot] in [snapshots] unless a newer one is there (deliveries may trail the mirror). */
    private fun show(snapshot: ConsentSnapshot) {
        val shown = flow()
        while (true) {
            val current = shown.value
            if (current.sequence >= snapshot.sequence) return
            if (shown.compareAndSet(current, snapshot)) return
        }
    }

    @Volatile
    private var ownedExecutor: ExecutorService? = null

    /** The default executor of callbacks: the app's, else this instance's own thread. */
    private val callbackExecutor: Executor
        get() = appExecutor ?: ownedExecutor ?: synchronized(this) {
            ownedExecutor ?: Executors.newSingleThreadExecutor(daemonThreads("kmer-consent-callbacks")).also {
                ownedExecutor = it
            }
        }

    /**
     * The consent snapshot, updated after every change (decision, policy, tracking status, expiry).
     * Until the SDK is ready it holds a snapshot that allows nothing (`sequence` 0, no SDK listed;
     * the core's `notReadySnapshot`); after [close], the core's last snapshot, which allows nothing.
     */
    val snapshots: StateFlow<ConsentSnapshot>
        get() = readOnlyFlow ?: run {
            flow()
            readOnlyFlow!!
        }

    private val registrations = ConcurrentHashMap.newKeySet<ConsentRegistration>()

    @Volatile
    private var closed = false

    /** The core, once open; null before (and for good when the open failed). */
    @Volatile
    private var core: ConsentManager? = null

    /** What the open threw, once it failed. */
    @Volatile
    private var failure: Throwable? = null

    /** Counted down once the open ended, either way, and what was waiting for it was made. */
    private val settled = CountDownLatch(1)

    /** Guarded by `this`: what was asked before the core was open, done in order once it is. */
    private val waiting = ArrayList<(ConsentManager) -> Unit>()

    /** Guarded by `this`: the [onReady] callbacks still to run. */
    private val readyCallbacks = ArrayList<Pair<Executor, ReadyCallback>>()

    /** Run once by [close], after the core is shut down: what a platform entry point registered. */
    internal val onClose = java.util.concurrent.CopyOnWriteArrayList<() -> Unit>()

    /**
     * Connects the open core: the gate's mirror and the [StateFlow]'s feed first, then what was
     * asked while it opened, then the [onReady] callbacks. Closed meanwhile: the core is shut down.
     */
    private fun attach(manager: ConsentManager) {
        // The core calls this with each snapshot it publishes, in order, under its writer lock,
        // before the call that published it returns (and once now): it only stores it (no app code
        // may run here).
        try {
            manager.mirrorTo(object : SnapshotMirror {
                override fun mirror(snapshot: ConsentSnapshot) {
                    published = Published(snapshot)
                }
            })
            // The StateFlow is fed by an ordinary listener, outside every lock of the core: setting it
            // may resume collectors on this very thread (`Dispatchers.Main.immediate`), and they may
            // call back into the SDK.
            manager.addListener(object : ConsentListener {
                override fun onConsentChanged(snapshot: ConsentSnapshot) {
                    if (!closed) show(snapshot)
                }
            })
        } catch (error: Throwable) {
            // Not wired: shut down, so nothing stays open and the mirror is told a gate that allows nothing.
            manager.shutdown()
            throw error
        }
        val pending = synchronized(this) {
            if (!closed) core = manager
            waiting.toList().also { waiting.clear() }
        }
        if (core == null) {
            manager.shutdown()
            settle(KmerConsentException.Closed())
            return
        }
        pending.forEach { it(manager) }
        settle(null)
    }

    /** Ends the wait, once: [error] is null when the core is open, else what the open threw. */
    private fun settle(error: Throwable?) {
        val callbacks = synchronized(this) {
            if (settled.count == 0L) return
            if (error != null && failure == null) failure = error
            waiting.clear()
            // Inside the lock: a second settle (close racing the open's end) then sees it and returns.
            settled.countDown()
            readyCallbacks.toList().also { readyCallbacks.clear() }
        }
        callbacks.forEach { (executor, callback) -> executor.execute { callback.onReady(error) } }
    }

    /** The open core; waits for it while it opens. */
    private fun manager(): ConsentManager {
        if (closed) throw KmerConsentException.Closed()
        core?.let { return it }
        settled.await()
        if (closed) throw KmerConsentException.Closed()
        return core ?: throw failure ?: KmerConsentException.Closed()
    }

    private fun live(): ConsentSnapshot {
        manager()
        return published!!.snapshot
    }

    /** Whether the store is open and the gate answers from it (false before, after a failed open, after [close]). */
    val isReady: Boolean
        get() = !closed && core != null && settled.count == 0L

    /**
     * Runs [callback] on [executor] once the open has ended: with null when the SDK is ready, with
     * what the open threw when it failed (the gate then stays closed), or with
     * [KmerConsentException.Closed] when [close] came first. At once when that is already so.
     */
    @JvmOverloads
    fun onReady(executor: Executor = callbackExecutor, callback: ReadyCallback) {
        val outcome = synchronized(this) {
            if (settled.count > 0 && !closed) {
                readyCallbacks += executor to callback
                return
            }
            if (closed) KmerConsentException.Closed() else failure
        }
        executor.execute { callback.onReady(outcome) }
    }

    /**
     * Suspends until the SDK is ready and returns it; throws what the open threw when it failed, or
     * [KmerConsentException.Closed]. Cancelling the caller stops the wait, not the open.
     */
    @Throws(KmerConsentException::class)
    suspend fun awaitReady(): KmerConsent {
        if (isReady) return this
        suspendCancellableCoroutine { continuation ->
            onReady({ it.run() }) { error ->
                if (error == null) continuation.resume(Unit) else continuation.resumeWithException(error)
            }
        }
        return this
    }

    /**
     * Where consent stands now: whether to show the banner ([ConsentStatus.needsPrompt]) and why, and
     * whether a refusal is still waiting to be written ([ConsentStatus.notYetSaved]).
     */
    val status: ConsentStatus
        @Throws(KmerConsentException::class)
        get() = live().status

    /**
     * Whether the SDK may start now. Unknown ids, everything before the SDK is ready and everything
     * after [close] answer false. A memory read: no native call, no lock, no clock.
     */
    fun canStart(sdkId: String): Boolean = !closed && published?.allowed?.contains(sdkId) == true

    /**
     * The verdict for the SDK, with its reason. An id the policy does not list is denied; before the
     * SDK is ready every id is ([VerdictReason.NOT_READY]), without waiting. After a failed open it
     * throws what the open threw.
     */
    @Throws(KmerConsentException::class)
    fun check(sdkId: String): Verdict {
        if (closed) throw KmerConsentException.Closed()
        val now = published ?: failure?.let { throw it } ?: return Verdict(allowed = false, reason = VerdictReason.NOT_READY)
        return now.snapshot.sdks[sdkId] ?: Verdict(allowed = false, reason = VerdictReason.UNKNOWN_SDK)
    }

    /** Whether [category] is granted now. Essential always is, once ready; before, and after [close], nothing is. */
    fun isGranted(category: Category): Boolean = !closed && published?.snapshot?.status?.categories?.get(category) == true

    /**
     * The user chose "Accept all". A grant the store cannot write throws
     * [KmerConsentException.Storage] and changes nothing.
     */
    @Throws(KmerConsentException::class)
    fun acceptAll(): ConsentStatus = manager().acceptAll().status

    /**
     * The user chose "Reject all". Like [withdraw], it takes effect at once even when the store
     * cannot write it yet ([ConsentStatus.notYetSaved]).
     */
    @Throws(KmerConsentException::class)
    fun rejectAll(): ConsentStatus = manager().rejectAll().status

    /** The user closed the banner ("continue without accepting"): recorded as a refusal. */
    @Throws(KmerConsentException::class)
    fun dismiss(): ConsentStatus = manager().dismiss().status

    /**
     * The user withdrew consent: every optional category is refused from now on, at once. When the
     * store cannot write it (full disk, locked, read-only) it still takes effect (the gate closes,
     * listeners and `onStop` callbacks run) and returns normally, held in memory for this process:
     * [ConsentStatus.notYetSaved] says when it is written and that it is lost if the process ends
     * first.
     */
    @Throws(KmerConsentException::class)
    fun withdraw(): ConsentStatus = manager().withdraw().status

    /**
     * The user saved a custom choice; categories left out are refused. When the store cannot write
     * it, a choice that only takes consent away holds as [withdraw] does; one that also grants
     * throws [KmerConsentException.Storage], after what it refuses took effect (nothing it grants
     * does).
     */
    @Throws(KmerConsentException::class)
    @JvmOverloads
    fun save(
        statistics: Boolean = false,
        personalization: Boolean = false,
        marketing: Boolean = false,
    ): ConsentStatus = save(
        mapOf(
            Category.STATISTICS to statistics,
            Category.PERSONALIZATION to personalization,
            Category.MARKETING to marketing,
        ),
    )

    /**
     * The user saved a custom choice; categories left out are refused, refusing essential throws.
     * Unwritable store: as [save] with booleans.
     */
    @Throws(KmerConsentException::class)
    fun save(choices: Map<Category, Boolean>): ConsentStatus = manager().save(choices).status

    /**
     * Replaces the policy with another text of the same policy id. Consent is bound to the text the
     * user was shown: a higher revision asks again (`POLICY_CHANGED`) and until then keeps only what
     * the user saw as they saw it; a lower revision (`POLICY_ROLLED_BACK`) or the same revision with
     * other content (`POLICY_EDITED_IN_PLACE`) grants nothing and asks again. Only another policy id
     * is refused ([KmerConsentException.PolicyUpdateRefused]).
     */
    @Throws(KmerConsentException::class)
    fun updatePolicy(policyJson: String): ConsentStatus = manager().updatePolicy(policyJson).status

    /**
     * Re-reads the store (another process may have written), writes a refusal it could not take
     * before ([ConsentStatus.notYetSaved]), and re-applies the rules now.
     */
    @Throws(KmerConsentException::class)
    fun refresh(): ConsentStatus = manager().refresh().status

    /**
     * Checks every link of the history's hash chain and every acknowledgement the back end signed:
     * reports the first record changed, removed or moved behind the SDK's back (proof of consent,
     * GDPR art. 7(1)), and how many records the back end witnessed.
     */
    @Throws(KmerConsentException::class)
    fun verifyHistory(): HistoryCheck = manager().verifyHistory()

    /**
     * The consent receipt of the latest decision on disk (a refusal held in memory has none until it
     * is written), as JSON shaped after ISO/IEC TS 27560 (schema `kmer-consent-receipt/2`, carrying
     * the policy text shown; null before any decision). Send it to the back end as proof;
     * `kmer-consent verify-receipt` checks it.
     */
    @Throws(KmerConsentException::class)
    fun exportProof(): String? = manager().exportProof()

    /**
     * Says who is logged in: an account id after login, null after logout (the anonymous device).
     * Decisions are per user. A user with no decision of their own takes the device's decision only
     * if it refuses everything optional (recorded as `SUBJECT_LINK`, so they are not asked twice); a
     * device decision that grants anything is not adopted (whoever made it may not be them): the
     * status is `NO_DECISION` and they are asked. Adoptions never enter the outbox. A consent page
     * rendered for another user is refused while that user is not the one set. Call it after [open]
     * at each launch. The id is stored as given, never logged.
     */
    @Throws(KmerConsentException::class)
    fun setSubject(accountId: String?): ConsentStatus = manager().setSubject(accountId).status

    /**
     * Up to [limit] receipts the back end has not acknowledged, oldest first (at least once). Send
     * each to the back end; pass its signed acknowledgement to [acknowledgeSigned].
     */
    @Throws(KmerConsentException::class)
    @JvmOverloads
    fun pendingReceipts(limit: Int = 100): List<PendingReceipt> {
        require(limit >= 0) { "limit must not be negative" }
        return manager().pendingReceipts(limit.toUInt())
    }

    /**
     * Marks receipts as delivered to the back end, without its signature: nothing is witnessed.
     * Prefer [acknowledgeSigned] when the back end signs.
     */
    @Throws(KmerConsentException::class)
    fun acknowledge(ids: List<Long>) = manager().acknowledge(ids)

    /**
     * Keeps the back end's signed acknowledgement of one of this store's records (a witness JSON
     * object, as `kmer-consent countersign --ack-out` writes it) and takes that record out of the
     * outbox. From then on the record, and every one before it, cannot be rewritten on the device
     * without [verifyHistory] saying so, as long as the witness is kept ([ConsentRecord.witnessedAtMs]
     * shows when it was witnessed), and imports are ordered against it by the back end's time.
     * Throws [KmerConsentException.BackendKey] when [open] was given no back end key, and
     * [KmerConsentException.InvalidAcknowledgement] for a malformed or wrongly signed one, or one for
     * no record here.
     */
    @Throws(KmerConsentException::class)
    fun acknowledgeSigned(acknowledgementJson: String) = manager().acknowledgeSigned(acknowledgementJson)

    /**
     * Applies a decision another device made for the logged-in user, from a receipt the app's back
     * end countersigned (its `witness` field, checked with the key given to [open]). How it is
     * ordered against the decision here is the core's rule (`ConsentManager.importReceipt`): it
     * replaces it (source `IMPORT`) only when the back end saw it later and it is not dated earlier;
     * when the two cannot be ordered, each category keeps the more restrictive choice
     * (`IMPORT_MERGED`), or nothing is recorded. Never applied twice. Returns whether anything was
     * recorded. Throws [KmerConsentException.BackendKey] when [open] was given no back end key, and
     * [KmerConsentException.InvalidReceipt] for a receipt unsigned, wrongly signed, altered, or not
     * for this user and policy (nothing recorded).
     */
    @Throws(KmerConsentException::class)
    fun importReceipt(receiptJson: String): Boolean = manager().importReceipt(receiptJson) != null

    /** Erasure: deletes the current user's decisions and pending receipts; they are asked again. */
    @Throws(KmerConsentException::class)
    fun eraseSubject(): ConsentStatus = manager().eraseSubject().status

    /**
     * Re-reads the store only if another process wrote to it since the last look (one cheap read).
     * Returns whether it did.
     */
    @Throws(KmerConsentException::class)
    fun refreshIfChanged(): Boolean = manager().refreshIfChanged() != null

    /**
     * Looks every [periodMs] for another process's writes, on the core's timer, so its decisions
     * reach this gate (and every listener) within that period; the core takes any period as 10 ms
     * to one day. Close the registration to stop (on Android, `KmerConsentAndroid` watches while an
     * activity is resumed). Before the SDK is ready, the watch starts once it is.
     */
    @Throws(KmerConsentException::class)
    @JvmOverloads
    fun watchForChanges(periodMs: Long = 1_000): ConsentRegistration = register { manager ->
        val task = manager.watchForChanges(periodMs.coerceAtLeast(0).toULong())
        ({ task.cancel(); task.close() })
    }

    /** Every decision of the current user, oldest first, with when the back end witnessed each. */
    @Throws(KmerConsentException::class)
    fun history(): List<ConsentRecord> = manager().history()

    /** The banner's content for a locale (`fr-CM` → French), toggles set to what is granted now. */
    @Throws(KmerConsentException::class)
    @JvmOverloads
    fun banner(locale: Locale = Locale.getDefault()): Banner = manager().banner(locale.toLanguageTag())

    /**
     * The consent page for a WebView: one self-contained HTML document (no network, strict CSP) in
     * [locale], opening on [layer]. It posts the user's action as a JSON string to
     * `window.KmerConsentBridge.postMessage`; pass that string to [applyUiMessage]. Render it afresh
     * each time it is shown: a page answers once, for the user it was rendered for, while nothing
     * else has been decided, for a day. On Android, `showBannerIfNeeded(activity)` and
     * `showPreferences(activity)` do all of this.
     */
    @Throws(KmerConsentException::class)
    @JvmOverloads
    fun consentPage(layer: ConsentPageLayer = ConsentPageLayer.BANNER, locale: Locale = Locale.getDefault()): String =
        manager().consentPage(locale.toLanguageTag(), layer)

    /**
     * Applies the message the consent page posted: records the decision it carries (sources
     * `PAGE_ACCEPT_ALL`, `PAGE_REJECT_ALL`, `PAGE_DISMISS`, `PAGE_SAVE`; closing the
     * preferences records nothing) and returns the status after it. A malformed or forged message,
     * or one from a page rendered before another decision was recorded, for another user or a day
     * ago or more, throws [KmerConsentException.InvalidUiMessage] and records nothing: render the
     * page again.
     */
    @Throws(KmerConsentException::class)
    fun applyUiMessage(message: String): ConsentStatus =
        manager().applyUiMessage(message)?.status ?: live().status

    /** Sets the locale decisions are recorded in; returns the policy locale chosen for it. */
    @Throws(KmerConsentException::class)
    fun setLocale(locale: Locale): String = manager().setLocale(locale.toLanguageTag())

    /** Reports the OS tracking authorization for this run (Android: `NOT_APPLICABLE`, the default). */
    @Throws(KmerConsentException::class)
    fun setTrackingAuthorization(status: TrackingAuthorization) {
        manager().setTrackingAuthorization(status)
    }

    /**
     * Runs [onStart] once the SDK may start (at once if it already may) and [onStop] when it no longer
     * may (refusal, withdrawal, expiry), on [executor]. Close the returned registration to stop
     * receiving calls; closing does not stop an SDK already started. Before the SDK is ready it
     * returns at once and the SDK is registered in the core once it is; an id the policy does not
     * list then throws nowhere: the registration is closed, [ConsentRegistration.failure] says why,
     * and [onStart] never runs.
     */
    @Throws(KmerConsentException::class)
    @JvmOverloads
    fun whenAllowed(
        sdkId: String,
        executor: Executor = callbackExecutor,
        onStop: Runnable? = null,
        onStart: Runnable,
    ): ConsentRegistration {
        val lifecycle = object : SdkLifecycle {
            override fun start() = executor.execute(onStart)
            override fun stop() {
                onStop?.let(executor::execute)
            }
        }
        return register { manager -> manager.registerSdk(sdkId, lifecycle).ender() }
    }

    /**
     * Calls [listener] on [executor] with the current snapshot, then after every change. For Kotlin,
     * [snapshots] is usually simpler. Before the SDK is ready, the first call comes once it is, with
     * the first snapshot read from the store.
     */
    @Throws(KmerConsentException::class)
    @JvmOverloads
    fun addListener(
        executor: Executor = callbackExecutor,
        listener: SnapshotListener,
    ): ConsentRegistration {
        val relay = object : ConsentListener {
            override fun onConsentChanged(snapshot: ConsentSnapshot) = executor.execute { listener.onSnapshot(snapshot) }
        }
        return register { manager -> manager.addListener(relay).ender() }
    }

    /**
     * Keeps the IAB TCF keys in [storage] equal to the current snapshot's: written with their types
     * on every change, and every other `IABTCF_*` key removed (all of them when the policy has no
     * `tcf` section); the core computes what changes. Writes happen on [executor]; close the
     * registration to stop.
     */
    @Throws(KmerConsentException::class)
    @JvmOverloads
    fun writeIabTcfKeys(storage: IabTcfStorage, executor: Executor = callbackExecutor): ConsentRegistration =
        addListener(executor) { snapshot -> storage.write(iabTcfChanges(snapshot.iabTcfKeys, storage.keys().toList())) }

    private fun Subscription.ender(): () -> Unit = { cancel(); close() }

    /**
     * A registration made in the core by [make] (which returns how to end it): at once when the core
     * is open (its error thrown here), else once it is (its error kept in
     * [ConsentRegistration.failure]). Ended with the rest by [close].
     */
    private fun register(make: (ConsentManager) -> () -> Unit): ConsentRegistration {
        val registration = ConsentRegistration()
        registration.onClose = { registrations.remove(it) }
        registrations.add(registration)
        val now = synchronized(this) {
            when {
                closed -> null
                core != null -> core
                failure != null -> null
                else -> {
                    waiting += { manager ->
                        try {
                            // Closed while the core opened: never made, so an SDK never starts.
                            if (!registration.isClosed) registration.bind(make(manager))
                        } catch (error: Throwable) {
                            registration.fail(error)
                        }
                    }
                    return registration
                }
            }
        }
        if (now == null) {
            registration.close()
            throw if (closed) KmerConsentException.Closed() else failure!!
        }
        try {
            registration.bind(make(now))
        } catch (error: Throwable) {
            registration.close()
            throw error
        }
        return registration
    }

    /**
     * Shuts the core down (timers, watches, listeners, SDK callbacks; the store is released) and
     * ends every registration. [canStart] then answers false, [snapshots] holds a snapshot that
     * allows nothing, and every other call throws [KmerConsentException.Closed]. Idempotent. Before
     * the SDK is ready it does not wait: the core is shut down as soon as it is open.
     */
    override fun close() {
        val open = synchronized(this) {
            if (closed) return
            closed = true
            core
        }
        // The core's last snapshot, which allows nothing (closed before ready: the not-ready one stays).
        if (open != null) flow().value = open.shutdown()
        // Before ready: whoever waits (a call, awaitReady, onReady) is told now, not when the open ends.
        settle(KmerConsentException.Closed())
        registrations.toList().forEach(ConsentRegistration::close)
        onClose.forEach { runCatching(it) }
        ownedExecutor?.shutdown()
    }

    companion object {
        /**
         * Opens the consent store at [databaseFile] (created if missing) with the app's policy JSON.
         * [appVersion] (e.g. `BuildConfig.VERSION_NAME`) is recorded with each decision as proof.
         * Callbacks run on [callbackExecutor] unless a call names another (default: one background
         * thread owned by this instance, so they arrive in order). [backendPublicKey] is the app's
         * back end's Ed25519 public key (64 hex digits): [importReceipt] and [acknowledgeSigned]
         * need it; an invalid one throws [KmerConsentException.BackendKey]. [accountId] is who is
         * logged in at launch, as [setSubject] takes it (null: nobody): set before the first snapshot,
         * so no SDK starts on another user's decision; an invalid one throws
         * [KmerConsentException.InvalidSubject].
         */
        @JvmStatic
        @JvmOverloads
        @Throws(KmerConsentException::class)
        fun open(
            databaseFile: File,
            policyJson: String,
            locale: Locale = Locale.getDefault(),
            trackingAuthorization: TrackingAuthorization = TrackingAuthorization.NOT_APPLICABLE,
            callbackExecutor: Executor? = null,
            appVersion: String = "",
            backendPublicKey: String? = null,
            accountId: String? = null,
        ): KmerConsent {
            val options = options(databaseFile, policyJson, locale, trackingAuthorization, appVersion, backendPublicKey, accountId)
            val manager = ConsentManager.open(options)
            return create(options, callbackExecutor).apply { attach(manager) }
        }

        /**
         * [open], without blocking the caller: returns at once an instance whose gate allows nothing,
         * and loads the native library and opens the store on a thread of its own. [isReady],
         * [awaitReady] and [onReady] say when it is ready, or why the open failed (it throws nothing
         * itself). The parameters are [open]'s; call it in `Application.onCreate` (on Android,
         * `KmerConsentAndroid.openInBackground` does).
         */
        @JvmStatic
        @JvmOverloads
        fun openInBackground(
            databaseFile: File,
            policyJson: String,
            locale: Locale = Locale.getDefault(),
            trackingAuthorization: TrackingAuthorization = TrackingAuthorization.NOT_APPLICABLE,
            callbackExecutor: Executor? = null,
            appVersion: String = "",
            backendPublicKey: String? = null,
            accountId: String? = null,
        ): KmerConsent {
            val options = options(databaseFile, policyJson, locale, trackingAuthorization, appVersion, backendPublicKey, accountId)
            return openInBackground(options, callbackExecutor)
        }

        /**
         * [openInBackground] with the options made, opening the core with [openCore] (tests hold it;
         * null: `ConsentManager.open`). On the calling thread it only builds the instance: no lambda
         * is made there (on the JVM the first one in a process bootstraps `invokedynamic`, tens of ms;
         * Android's build removes them anyway), and nothing of the bindings that would load the library.
         */
        internal fun openInBackground(
            options: ConsentOptions,
            callbackExecutor: Executor?,
            openCore: ((ConsentOptions) -> ConsentManager)? = null,
        ): KmerConsent {
            val consent = create(options, callbackExecutor)
            OpenThread(consent, options, openCore).start()
            return consent
        }

        private fun options(
            databaseFile: File,
            policyJson: String,
            locale: Locale,
            trackingAuthorization: TrackingAuthorization,
            appVersion: String,
            backendPublicKey: String?,
            accountId: String?,
        ) = ConsentOptions(
            databasePath = databaseFile.path,
            policyJson = policyJson,
            locale = locale.toLanguageTag(),
            appVersion = appVersion,
            trackingAuthorization = trackingAuthorization,
            backendPublicKey = backendPublicKey,
            accountId = accountId,
        )

        /** An instance not yet attached to a core. Nothing here may call into native code. */
        /** The thread that loads the library and opens the store, then attaches the core. */
        private class OpenThread(
            private val consent: KmerConsent,
            private val options: ConsentOptions,
            private val openCore: ((ConsentOptions) -> ConsentManager)?,
        ) : Thread("kmer-consent-open") {
            init {
                isDaemon = true
            }

            override fun run() {
                try {
                    consent.attach(openCore?.invoke(options) ?: ConsentManager.open(options))
                } catch (error: Throwable) {
                    // The library missing (UnsatisfiedLinkError) lands here too: the gate stays shut.
                    consent.settle(error)
                }
            }
        }

        private fun create(options: ConsentOptions, callbackExecutor: Executor?): KmerConsent {
            val tracking = options.trackingAuthorization ?: TrackingAuthorization.NOT_DETERMINED
            return KmerConsent(callbackExecutor, notReady(options.locale, tracking))
        }

        /**
         * The core's `notReadySnapshot`, built here: calling the core would load the native library,
         * which is what the background open is for. A test holds the two equal.
         */
        internal fun notReady(locale: String, trackingAuthorization: TrackingAuthorization) = ConsentSnapshot(
            sequence = 0uL,
            status = ConsentStatus(
                needsPrompt = false,
                promptReason = null,
                categories = HashMap<Category, Boolean>().apply { for (category in Category.values()) put(category, false) },
                decidedAtMs = null,
                expiresAtMs = null,
                repromptAtMs = null,
                lastSource = null,
                decidedPolicyRevision = null,
                policyRevision = 0u,
                locale = locale,
                trackingAuthorization = trackingAuthorization,
                storeRecovered = false,
                notYetSaved = false,
            ),
            // java.util's, not Kotlin's: this runs on the caller's thread, before anything else of the
            // SDK is loaded, and Kotlin's collection facades are large classes to load.
            sdks = java.util.Collections.emptyMap(),
            staleAfterMs = null,
            consentMode = ConsentModeSignals(
                analyticsStorage = false,
                adStorage = false,
                adUserData = false,
                adPersonalization = false,
            ),
            tcString = null,
            iabTcfKeys = java.util.Collections.emptyList(),
        )
    }
}

/** Threads that never keep the process alive, named for thread dumps. */
internal fun daemonThreads(name: String) = object : java.util.concurrent.ThreadFactory {
    override fun newThread(task: Runnable) = Thread(task, name).apply { isDaemon = true }
}

/**
 * A listener, SDK or watch registration. [close] ends it; closing twice is harmless. One made before
 * the SDK was ready is made in the core once it is; closing it before then means it never is.
 */
class ConsentRegistration internal constructor() : AutoCloseable {
    /** Guarded by `this`: how to end what the core registered, once it has. */
    private var end: (() -> Unit)? = null

    @Volatile
    private var closed = false

    internal val isClosed: Boolean
        get() = closed

    /**
     * Why the core refused this registration, when it was made before the SDK was ready (an id the
     * policy does not list); the registration is then closed. Null otherwise.
     */
    @Volatile
    var failure: Throwable? = null
        private set

    internal var onClose: (ConsentRegistration) -> Unit = {}

    /** The core registered it: closed meanwhile, it is ended at once. */
    internal fun bind(end: () -> Unit) {
        synchronized(this) {
            if (!closed) {
                this.end = end
                return
            }
        }
        end()
    }

    internal fun fail(error: Throwable) {
        failure = error
        close()
    }

    override fun close() {
        val ending = synchronized(this) {
            if (closed) return
            closed = true
            end.also { end = null }
        }
        ending?.invoke()
        onClose(this)
    }
}

/** Receives the end of the open: [KmerConsent.onReady]; a Kotlin or Java lambda. */
fun interface ReadyCallback {
    /** [error] is null when the SDK is ready; otherwise why it is not (and never will be). */
    fun onReady(error: Throwable?)
}

/**
 * Receives consent snapshots from [KmerConsent.addListener]; a Kotlin or Java lambda. (Not
 * `java.util.function.Consumer`, which Android has only from API 24: the SDK runs from API 23.)
 */
fun interface SnapshotListener {
    /** The current snapshot, then each new one, in order. */
    fun onSnapshot(snapshot: ConsentSnapshot)
}
