package com.kmeroccase.consent

import com.kmeroccase.consent.ffi.ConsentListener
import com.kmeroccase.consent.ffi.ConsentManager
import com.kmeroccase.consent.ffi.SdkLifecycle
import com.kmeroccase.consent.ffi.Subscription
import java.io.File
import java.util.Locale
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.Executor
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.ScheduledFuture
import java.util.concurrent.TimeUnit
import java.util.function.Consumer
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/**
 * The consent SDK for Kotlin and Java: records the user's choices and tells every SDK whether it may
 * run. All consent rules live in the native core; this class adds Kotlin idioms only.
 *
 * Open one per database file for the app's lifetime (on Android: `KmerConsentAndroid.open` in
 * `Application.onCreate`). Thread-safe. [canStart] and [check] answer from the last snapshot the core
 * published, without crossing into native code.
 */
class KmerConsent private constructor(
    private val manager: ConsentManager,
    private val callbackExecutor: Executor,
    private val ownedExecutor: ExecutorService?,
) : AutoCloseable {

    private val lock = Any()

    /**
     * The newest snapshot the core published and, beside it, the ids of the SDKs it allows (what
     * [canStart] reads, interned so that an id written as a literal in the app matches by identity):
     * one immutable value, replaced whole, so [canStart] and [check] never disagree. After [close]
     * it allows nothing.
     */
    private class Published(val snapshot: ConsentSnapshot, val allowed: Set<String>) {
        constructor(snapshot: ConsentSnapshot) : this(
            snapshot,
            snapshot.sdks.filterValues { it.allowed }.keys.mapTo(HashSet()) { it.intern() },
        )
    }

    @Volatile
    private var published = Published(translatingErrors { manager.snapshot() })

    private val current: ConsentSnapshot get() = published.snapshot

    private val mutableSnapshots = MutableStateFlow(current)

    /** The consent snapshot, updated after every change (decision, policy, tracking status, expiry). */
    val snapshots: StateFlow<ConsentSnapshot> = mutableSnapshots.asStateFlow()

    private val registrations = ConcurrentHashMap.newKeySet<ConsentRegistration>()

    @Volatile
    private var closed = false

    /** The timer that republishes when time alone changes the snapshot (guarded by [lock]). */
    private var deadline: ScheduledFuture<*>? = null

    private val coreSubscription: Subscription = manager.addListener(object : ConsentListener {
        override fun onConsentChanged(snapshot: ConsentSnapshot) = publish(snapshot)
    })

    init {
        synchronized(lock) { armDeadline() }
    }

    /** Keeps the newest of the snapshots seen: the listener and direct reads may race. */
    private fun publish(snapshot: ConsentSnapshot) {
        synchronized(lock) {
            if (closed || snapshot.sequence < current.sequence) return
            published = Published(snapshot)
            mutableSnapshots.value = snapshot
            armDeadline()
        }
    }

    /**
     * The gate reads no clock: instead, when [current] says when time alone makes it wrong (an expiry
     * or a reminder falls due), a timer asks the core for a fresh snapshot then. The timer sleeps at
     * most [MAX_TIMER_SLEEP_MS] at a time, because a device in deep sleep stops the JVM's monotonic
     * clock: after a wake-up the deadline is noticed within that much running time. On Android,
     * `KmerConsentAndroid` also refreshes when the screen turns on, the clock is set and an activity
     * resumes, which covers the wake-ups a user sees. The timer holds the instance weakly, so one
     * dropped without [close] can still be collected. Called with [lock] held.
     */
    private fun armDeadline() {
        deadline?.cancel(false)
        deadline = null
        val at = current.staleAfterMs ?: return
        val wait = at - System.currentTimeMillis()
        // A deadline already past (the core's clock mark runs ahead of this one): look again soon.
        val delay = if (wait <= 0) RETRY_MS else minOf(wait, MAX_TIMER_SLEEP_MS)
        val instance = java.lang.ref.WeakReference(this)
        deadline = deadlineTimer.schedule({ instance.get()?.onDeadline() }, delay, TimeUnit.MILLISECONDS)
    }

    private fun onDeadline() {
        if (closed) return
        val at = current.staleAfterMs
        if (at != null && System.currentTimeMillis() >= at) {
            // The core re-evaluates and tells every listener; publishing here as well covers a
            // snapshot the core already had fresh.
            runCatching { publish(manager.snapshot()) }
        }
        synchronized(lock) { if (!closed) armDeadline() }
    }

    /** The snapshot, or an exception once closed. */
    private fun liveSnapshot(): ConsentSnapshot {
        check(!closed) { "KmerConsent is closed" }
        return current
    }

    private fun <T> call(block: ConsentManager.() -> T): T {
        if (closed) throw IllegalStateException("KmerConsent is closed")
        return translatingErrors { manager.block() }
    }

    /**
     * Runs a recording call, then makes sure [canStart] already reflects it when this returns. The
     * core tells the listener before the call returns, on this thread, unless another thread is busy
     * delivering: only then is the snapshot fetched (one more FFI crossing). A storage error may come
     * after the refusals of a choice took effect in memory: the snapshot is fetched before it is
     * thrown.
     */
    private fun record(block: ConsentManager.() -> ConsentStatus): ConsentStatus {
        val status = try {
            call(block)
        } catch (e: KmerConsentException.Storage) {
            publish(manager.snapshot())
            throw e
        }
        if (current.status != status) publish(translatingErrors { manager.snapshot() })
        return status
    }

    /**
     * Where consent stands now: whether to show the banner ([ConsentStatus.needsPrompt]) and why, and
     * whether a refusal is still waiting to be written ([ConsentStatus.notYetSaved]).
     */
    val status: ConsentStatus
        get() = liveSnapshot().status

    /**
     * Whether the SDK may start now. Unknown ids, and everything after [close], answer false. A memory
     * read: no native call, no lock, no clock.
     */
    fun canStart(sdkId: String): Boolean = published.allowed.contains(sdkId)

    /** The verdict for the SDK, with its reason. An id the policy does not list is denied. */
    fun check(sdkId: String): Verdict =
        liveSnapshot().sdks[sdkId] ?: Verdict(allowed = false, reason = VerdictReason.UNKNOWN_SDK)

    /** Whether [category] is granted now. Essential always is; after [close], nothing is. */
    fun isGranted(category: Category): Boolean = !closed && current.status.categories[category] == true

    /**
     * The user chose "Accept all". A grant the store cannot write throws
     * [KmerConsentException.Storage] and changes nothing.
     */
    @Throws(KmerConsentException::class)
    fun acceptAll(): ConsentStatus = record { acceptAll() }

    /**
     * The user chose "Reject all". Like [withdraw], it takes effect at once even when the store
     * cannot write it yet ([ConsentStatus.notYetSaved]).
     */
    @Throws(KmerConsentException::class)
    fun rejectAll(): ConsentStatus = record { rejectAll() }

    /** The user closed the banner ("continue without accepting"): recorded as a refusal. */
    @Throws(KmerConsentException::class)
    fun dismiss(): ConsentStatus = record { dismiss() }

    /**
     * The user withdrew consent: every optional category is refused from now on, at once. When the
     * store cannot write it (full disk, locked, read-only) it still takes effect (the gate closes,
     * listeners and `onStop` callbacks run) and returns normally, held in memory for this process:
     * [ConsentStatus.notYetSaved] says when it is written and that it is lost if the process ends
     * first.
     */
    @Throws(KmerConsentException::class)
    fun withdraw(): ConsentStatus = record { withdraw() }

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
    fun save(choices: Map<Category, Boolean>): ConsentStatus = record { save(choices) }

    /**
     * Replaces the policy with another text of the same policy id. Consent is bound to the text the
     * user was shown: a higher revision asks again (`POLICY_CHANGED`) and until then keeps only what
     * the user saw as they saw it; a lower revision (`POLICY_ROLLED_BACK`) or the same revision with
     * other content (`POLICY_EDITED_IN_PLACE`) grants nothing and asks again. Only another policy id
     * is refused ([KmerConsentException.PolicyUpdateRefused]).
     */
    @Throws(KmerConsentException::class)
    fun updatePolicy(policyJson: String): ConsentStatus = record { updatePolicy(policyJson) }

    /**
     * Re-reads the store (another process may have written), writes a refusal it could not take
     * before ([ConsentStatus.notYetSaved]), and re-applies the rules now.
     */
    @Throws(KmerConsentException::class)
    fun refresh(): ConsentStatus = record { refresh() }

    /**
     * Checks every link of the history's hash chain and every acknowledgement the back end signed:
     * reports the first record changed, removed or moved behind the SDK's back (proof of consent,
     * GDPR art. 7(1)), and how many records the back end witnessed.
     */
    @Throws(KmerConsentException::class)
    fun verifyHistory(): HistoryCheck = call { verifyHistory() }

    /**
     * The consent receipt of the latest decision on disk (a refusal held in memory has none until it
     * is written), as JSON shaped after ISO/IEC TS 27560 (schema
     * `kmer-consent-receipt/2`, carrying the policy text shown; null before any decision). Send it to
     * the back end as proof; `kmer-consent verify-receipt` checks it.
     */
    @Throws(KmerConsentException::class)
    fun exportProof(): String? = call { exportProof() }

    /**
     * Says who is logged in: an account id after login, null after logout (the anonymous device).
     * Decisions are per user. A user with no decision of their own takes the device's decision only
     * if it refuses everything optional (recorded as `SUBJECT_LINK`, so they are not asked twice); a
     * device decision that grants anything is not adopted (whoever made it may not be them): the
     * status is `NO_DECISION` and they are asked. Adoptions never enter the outbox. A consent page
     * rendered for another user is refused while that user is not the one set. Call it after [open] at each launch. The id is
     * stored as given, never logged.
     */
    @Throws(KmerConsentException::class)
    fun setSubject(accountId: String?): ConsentStatus = record { setSubject(accountId) }

    /**
     * Up to [limit] receipts the back end has not acknowledged, oldest first (at least once). Send
     * each to the back end; pass its signed acknowledgement to [acknowledgeSigned].
     */
    @Throws(KmerConsentException::class)
    @JvmOverloads
    fun pendingReceipts(limit: Int = 100): List<PendingReceipt> {
        require(limit >= 0) { "limit must not be negative" }
        return call { pendingReceipts(limit.toUInt()) }
    }

    /**
     * Marks receipts as delivered to the back end, without its signature: nothing is witnessed.
     * Prefer [acknowledgeSigned] when the back end signs.
     */
    @Throws(KmerConsentException::class)
    fun acknowledge(ids: List<Long>) = call { acknowledge(ids) }

    /**
     * Keeps the back end's signed acknowledgement of one of this store's records (a witness JSON
     * object, as `kmer-consent countersign --ack-out` writes it) and takes that record out of the
     * outbox. From then on the record, and every one before it, cannot be rewritten on the device
     * without [verifyHistory] saying so, as long as the witness is kept ([ConsentRecord.witnessedAtMs]
     * shows when it was witnessed),
     * and imports are ordered against it by the back end's time. Throws
     * [KmerConsentException.BackendKey] when [open] was given no back end key, and
     * [KmerConsentException.InvalidAcknowledgement] for a malformed or wrongly signed one, or one for
     * no record here.
     */
    @Throws(KmerConsentException::class)
    fun acknowledgeSigned(acknowledgementJson: String) = call { acknowledgeSigned(acknowledgementJson) }

    /**
     * Applies a decision another device made for the logged-in user, from a receipt the app's back
     * end countersigned (its `witness` field, checked with the key given to [open]). How it is
     * ordered against the decision here is the core's rule (`ConsentManager.importReceipt`): it
     * replaces it (source `IMPORT`) only when the back end saw it later and it is not dated earlier;
     * when the two cannot be ordered, each category keeps the more restrictive choice
     * (`IMPORT_MERGED`), or nothing is recorded. Never applied twice. Returns whether anything was recorded. Throws
     * [KmerConsentException.BackendKey] when [open] was given no back end key, and
     * [KmerConsentException.InvalidReceipt] for a receipt unsigned, wrongly signed, altered, or not
     * for this user and policy (nothing recorded).
     */
    @Throws(KmerConsentException::class)
    fun importReceipt(receiptJson: String): Boolean {
        val applied = call { importReceipt(receiptJson) }
        publish(translatingErrors { manager.snapshot() })
        return applied
    }

    /** Erasure: deletes the current user's decisions and pending receipts; they are asked again. */
    @Throws(KmerConsentException::class)
    fun eraseSubject(): ConsentStatus = record { eraseSubject() }

    /**
     * Re-reads the store only if another process wrote to it since the last look (one cheap read).
     * Returns whether it did. [watchForChanges] calls it on a timer.
     */
    @Throws(KmerConsentException::class)
    fun refreshIfChanged(): Boolean {
        val changed = call { refreshIfChanged() }
        if (changed) publish(translatingErrors { manager.snapshot() })
        return changed
    }

    /**
     * Checks every [periodMs] whether another process wrote to the store, so its decisions reach
     * this process's gate within that period. Close the registration to stop (on Android,
     * `KmerConsentAndroid` watches while an activity is resumed).
     */
    @JvmOverloads
    fun watchForChanges(periodMs: Long = 1_000): ConsentRegistration {
        require(periodMs > 0) { "periodMs must be positive" }
        val timer = Executors.newSingleThreadScheduledExecutor(daemonThreads("kmer-consent-watch"))
        timer.scheduleWithFixedDelay(
            { runCatching { if (!closed) refreshIfChanged() } },
            periodMs,
            periodMs,
            TimeUnit.MILLISECONDS,
        )
        val registration = ConsentRegistration(null) {
            timer.shutdownNow()
            registrations.remove(it)
        }
        registrations.add(registration)
        return registration
    }

    /** Every decision of the current user, oldest first, with when the back end witnessed each. */
    @Throws(KmerConsentException::class)
    fun history(): List<ConsentRecord> = call { history() }

    /** The banner's content for a locale (`fr-CM` → French), toggles set to what is granted now. */
    @JvmOverloads
    fun banner(locale: Locale = Locale.getDefault()): Banner = call { banner(locale.toLanguageTag()) }

    /**
     * The consent page for a WebView: one self-contained HTML document (no network, strict CSP) in
     * [locale], opening on [layer]. It posts the user's action as a JSON string to
     * `window.KmerConsentBridge.postMessage`; pass that string to [applyUiMessage]. Render it afresh
     * each time it is shown: a page answers once, for the user it was rendered for, while nothing
     * else has been decided, for a day. On Android, `showBannerIfNeeded(activity)` and
     * `showPreferences(activity)` do all of this.
     */
    @JvmOverloads
    fun consentPage(layer: ConsentPageLayer = ConsentPageLayer.BANNER, locale: Locale = Locale.getDefault()): String =
        call { consentPage(locale.toLanguageTag(), layer) }

    /**
     * Applies the message the consent page posted: records the decision it carries (sources
     * `BANNER_ACCEPT_ALL`, `BANNER_REJECT_ALL`, `BANNER_DISMISS`, `SETTINGS_SAVE`; closing the
     * preferences records nothing) and returns the status after it. A malformed or forged message,
     * or one from a page rendered before another decision was recorded, for another user or a day
     * ago or more, throws [KmerConsentException.InvalidUiMessage] and records nothing: render the
     * page again.
     */
    @Throws(KmerConsentException::class)
    fun applyUiMessage(message: String): ConsentStatus = record { applyUiMessage(message) }

    /** Sets the locale decisions are recorded in; returns the policy locale chosen for it. */
    fun setLocale(locale: Locale): String = call { setLocale(locale.toLanguageTag()) }

    /** Reports the OS tracking authorization for this run (Android: `NOT_APPLICABLE`, the default). */
    fun setTrackingAuthorization(status: TrackingAuthorization) {
        call { setTrackingAuthorization(status) }
        publish(translatingErrors { manager.snapshot() })
    }

    /**
     * Runs [onStart] once the SDK may start (at once if it already may) and [onStop] when it no longer
     * may (refusal, withdrawal, expiry), on [executor]. Close the returned registration to stop
     * receiving calls; closing does not stop an SDK already started.
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
        return track(call { registerSdk(sdkId, lifecycle) })
    }

    /**
     * Calls [listener] on [executor] with the current snapshot, then after every change. For Kotlin,
     * [snapshots] is usually simpler.
     */
    @JvmOverloads
    fun addListener(
        executor: Executor = callbackExecutor,
        listener: Consumer<ConsentSnapshot>,
    ): ConsentRegistration {
        val core = object : ConsentListener {
            override fun onConsentChanged(snapshot: ConsentSnapshot) = executor.execute { listener.accept(snapshot) }
        }
        return track(call { addListener(core) })
    }

    /**
     * Keeps the IAB TCF keys in [storage] equal to the current snapshot's: written with their types
     * on every change, and every other `IABTCF_*` key removed (all of them when the policy has no
     * `tcf` section). Writes happen on [executor]; close the registration to stop.
     */
    @JvmOverloads
    fun writeIabTcfKeys(storage: IabTcfStorage, executor: Executor = callbackExecutor): ConsentRegistration =
        addListener(executor) { snapshot -> applyIabTcfKeys(storage, snapshot.iabTcfKeys) }

    private fun track(subscription: Subscription): ConsentRegistration {
        val registration = ConsentRegistration(subscription) { registrations.remove(it) }
        registrations.add(registration)
        return registration
    }

    /** Ends every registration and releases the native manager. [canStart] then answers false. */
    override fun close() {
        synchronized(lock) {
            if (closed) return
            closed = true
            published = Published(published.snapshot, emptySet())
            deadline?.cancel(false)
            deadline = null
        }
        registrations.toList().forEach(ConsentRegistration::close)
        coreSubscription.cancel()
        coreSubscription.close()
        manager.close()
        ownedExecutor?.shutdown()
    }

    companion object {
        /**
         * Opens the consent store at [databaseFile] (created if missing) with the app's policy JSON.
         * [appVersion] (e.g. `BuildConfig.VERSION_NAME`) is recorded with each decision as proof.
         * Callbacks run on [callbackExecutor] unless a call names another (default: one background
         * thread owned by this instance, so they arrive in order). [backendPublicKey] is the app's
         * back end's Ed25519 public key (64 hex digits): [importReceipt] and [acknowledgeSigned]
         * need it; an invalid one throws [KmerConsentException.BackendKey].
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
        ): KmerConsent {
            val manager = translatingErrors {
                ConsentManager.open(databaseFile.path, policyJson, locale.toLanguageTag(), appVersion, backendPublicKey)
            }
            manager.setTrackingAuthorization(trackingAuthorization)
            val owned = if (callbackExecutor == null) {
                Executors.newSingleThreadExecutor(daemonThreads("kmer-consent-callbacks"))
            } else {
                null
            }
            return KmerConsent(manager, callbackExecutor ?: owned!!, owned)
        }
    }
}

/** Longest single sleep of the deadline timer; see `KmerConsent.armDeadline`. */
private const val MAX_TIMER_SLEEP_MS = 60_000L

/** How soon to look again at a deadline that had already passed. */
private const val RETRY_MS = 1_000L

/** One daemon thread for the deadline timers of every instance. */
private val deadlineTimer = java.util.concurrent.ScheduledThreadPoolExecutor(1, daemonThreads("kmer-consent-clock"))
    .apply { removeOnCancelPolicy = true }

/** Threads that never keep the process alive, named for thread dumps. */
internal fun daemonThreads(name: String) = java.util.concurrent.ThreadFactory { task ->
    Thread(task, name).apply { isDaemon = true }
}

/** A listener or SDK registration. [close] ends it; closing twice is harmless. */
class ConsentRegistration internal constructor(
    private val subscription: Subscription?,
    private val onClose: (ConsentRegistration) -> Unit,
) : AutoCloseable {
    @Volatile
    private var closed = false

    override fun close() {
        synchronized(this) {
            if (closed) return
            closed = true
        }
        subscription?.cancel()
        subscription?.close()
        onClose(this)
    }
}
