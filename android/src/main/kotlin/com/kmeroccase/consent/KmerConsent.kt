package com.kmeroccase.consent

import java.io.File
import java.util.Locale
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.Executor
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/**
 * The consent SDK for Kotlin and Java: records the user's choices and tells every SDK whether it may
 * run. Every rule, timer and decision lives in the native core ([ConsentManager]); this class adds
 * Kotlin idioms only: a [StateFlow], executors, `AutoCloseable`, [File] and [Locale].
 *
 * Open one per database file for the app's lifetime (on Android: `KmerConsentAndroid.open` in
 * `Application.onCreate`). Thread-safe. [canStart] and [check] answer from the snapshot the core last
 * published, without crossing into native code: the core hands every new snapshot to this instance
 * before the call that made it returns, and republishes by itself when an expiry or a reminder
 * falls due.
 *
 * Errors: every method that can fail throws [KmerConsentException] (its `toString()` is the core's
 * message); after [close], [KmerConsentException.Closed].
 */
class KmerConsent private constructor(
    private val manager: ConsentManager,
    private val callbackExecutor: Executor,
    private val ownedExecutor: ExecutorService?,
) : AutoCloseable {

    /**
     * The newest snapshot the core published and, beside it, the ids of the SDKs it allows (what
     * [canStart] reads, interned so that an id written as a literal in the app matches by identity):
     * one immutable value, replaced whole, so [canStart] and [check] never disagree.
     */
    private class Published(val snapshot: ConsentSnapshot) {
        val allowed: Set<String> = snapshot.sdks.filterValues { it.allowed }.keys.mapTo(HashSet()) { it.intern() }
    }

    @Volatile
    private var published = Published(manager.snapshot())

    private val mutableSnapshots = MutableStateFlow(published.snapshot)

    /**
     * The consent snapshot, updated after every change (decision, policy, tracking status, expiry).
     * After [close] it holds the core's last snapshot, which allows nothing.
     */
    val snapshots: StateFlow<ConsentSnapshot> = mutableSnapshots.asStateFlow()

    private val registrations = ConcurrentHashMap.newKeySet<ConsentRegistration>()

    @Volatile
    private var closed = false

    /** Run once by [close], after the core is shut down: what a platform entry point registered. */
    internal val onClose = java.util.concurrent.CopyOnWriteArrayList<() -> Unit>()

    init {
        // The core calls this with each snapshot it publishes, in order, under its writer lock,
        // before the call that published it returns: it only stores it (no app code may run here).
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
                if (!closed) mutableSnapshots.value = snapshot
            }
        })
    }

    private fun live(): ConsentSnapshot {
        if (closed) throw KmerConsentException.Closed()
        return published.snapshot
    }

    /**
     * Where consent stands now: whether to show the banner ([ConsentStatus.needsPrompt]) and why, and
     * whether a refusal is still waiting to be written ([ConsentStatus.notYetSaved]).
     */
    val status: ConsentStatus
        @Throws(KmerConsentException::class)
        get() = live().status

    /**
     * Whether the SDK may start now. Unknown ids, and everything after [close], answer false. A memory
     * read: no native call, no lock, no clock.
     */
    fun canStart(sdkId: String): Boolean = !closed && published.allowed.contains(sdkId)

    /** The verdict for the SDK, with its reason. An id the policy does not list is denied. */
    @Throws(KmerConsentException::class)
    fun check(sdkId: String): Verdict =
        live().sdks[sdkId] ?: Verdict(allowed = false, reason = VerdictReason.UNKNOWN_SDK)

    /** Whether [category] is granted now. Essential always is; after [close], nothing is. */
    fun isGranted(category: Category): Boolean = !closed && published.snapshot.status.categories[category] == true

    /**
     * The user chose "Accept all". A grant the store cannot write throws
     * [KmerConsentException.Storage] and changes nothing.
     */
    @Throws(KmerConsentException::class)
    fun acceptAll(): ConsentStatus = manager.acceptAll().status

    /**
     * The user chose "Reject all". Like [withdraw], it takes effect at once even when the store
     * cannot write it yet ([ConsentStatus.notYetSaved]).
     */
    @Throws(KmerConsentException::class)
    fun rejectAll(): ConsentStatus = manager.rejectAll().status

    /** The user closed the banner ("continue without accepting"): recorded as a refusal. */
    @Throws(KmerConsentException::class)
    fun dismiss(): ConsentStatus = manager.dismiss().status

    /**
     * The user withdrew consent: every optional category is refused from now on, at once. When the
     * store cannot write it (full disk, locked, read-only) it still takes effect (the gate closes,
     * listeners and `onStop` callbacks run) and returns normally, held in memory for this process:
     * [ConsentStatus.notYetSaved] says when it is written and that it is lost if the process ends
     * first.
     */
    @Throws(KmerConsentException::class)
    fun withdraw(): ConsentStatus = manager.withdraw().status

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
    fun save(choices: Map<Category, Boolean>): ConsentStatus = manager.save(choices).status

    /**
     * Replaces the policy with another text of the same policy id. Consent is bound to the text the
     * user was shown: a higher revision asks again (`POLICY_CHANGED`) and until then keeps only what
     * the user saw as they saw it; a lower revision (`POLICY_ROLLED_BACK`) or the same revision with
     * other content (`POLICY_EDITED_IN_PLACE`) grants nothing and asks again. Only another policy id
     * is refused ([KmerConsentException.PolicyUpdateRefused]).
     */
    @Throws(KmerConsentException::class)
    fun updatePolicy(policyJson: String): ConsentStatus = manager.updatePolicy(policyJson).status

    /**
     * Re-reads the store (another process may have written), writes a refusal it could not take
     * before ([ConsentStatus.notYetSaved]), and re-applies the rules now.
     */
    @Throws(KmerConsentException::class)
    fun refresh(): ConsentStatus = manager.refresh().status

    /**
     * Checks every link of the history's hash chain and every acknowledgement the back end signed:
     * reports the first record changed, removed or moved behind the SDK's back (proof of consent,
     * GDPR art. 7(1)), and how many records the back end witnessed.
     */
    @Throws(KmerConsentException::class)
    fun verifyHistory(): HistoryCheck = manager.verifyHistory()

    /**
     * The consent receipt of the latest decision on disk (a refusal held in memory has none until it
     * is written), as JSON shaped after ISO/IEC TS 27560 (schema `kmer-consent-receipt/2`, carrying
     * the policy text shown; null before any decision). Send it to the back end as proof;
     * `kmer-consent verify-receipt` checks it.
     */
    @Throws(KmerConsentException::class)
    fun exportProof(): String? = manager.exportProof()

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
    fun setSubject(accountId: String?): ConsentStatus = manager.setSubject(accountId).status

    /**
     * Up to [limit] receipts the back end has not acknowledged, oldest first (at least once). Send
     * each to the back end; pass its signed acknowledgement to [acknowledgeSigned].
     */
    @Throws(KmerConsentException::class)
    @JvmOverloads
    fun pendingReceipts(limit: Int = 100): List<PendingReceipt> {
        require(limit >= 0) { "limit must not be negative" }
        return manager.pendingReceipts(limit.toUInt())
    }

    /**
     * Marks receipts as delivered to the back end, without its signature: nothing is witnessed.
     * Prefer [acknowledgeSigned] when the back end signs.
     */
    @Throws(KmerConsentException::class)
    fun acknowledge(ids: List<Long>) = manager.acknowledge(ids)

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
    fun acknowledgeSigned(acknowledgementJson: String) = manager.acknowledgeSigned(acknowledgementJson)

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
    fun importReceipt(receiptJson: String): Boolean = manager.importReceipt(receiptJson) != null

    /** Erasure: deletes the current user's decisions and pending receipts; they are asked again. */
    @Throws(KmerConsentException::class)
    fun eraseSubject(): ConsentStatus = manager.eraseSubject().status

    /**
     * Re-reads the store only if another process wrote to it since the last look (one cheap read).
     * Returns whether it did.
     */
    @Throws(KmerConsentException::class)
    fun refreshIfChanged(): Boolean = manager.refreshIfChanged() != null

    /**
     * Looks every [periodMs] for another process's writes, on the core's timer, so its decisions
     * reach this gate (and every listener) within that period; the core takes any period as 10 ms
     * to one day. Close the registration to stop (on Android, `KmerConsentAndroid` watches while an
     * activity is resumed).
     */
    @Throws(KmerConsentException::class)
    @JvmOverloads
    fun watchForChanges(periodMs: Long = 1_000): ConsentRegistration {
        val task = manager.watchForChanges(periodMs.coerceAtLeast(0).toULong())
        return track(ConsentRegistration({ task.cancel(); task.close() }))
    }

    /** Every decision of the current user, oldest first, with when the back end witnessed each. */
    @Throws(KmerConsentException::class)
    fun history(): List<ConsentRecord> = manager.history()

    /** The banner's content for a locale (`fr-CM` → French), toggles set to what is granted now. */
    @Throws(KmerConsentException::class)
    @JvmOverloads
    fun banner(locale: Locale = Locale.getDefault()): Banner = manager.banner(locale.toLanguageTag())

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
        manager.consentPage(locale.toLanguageTag(), layer)

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
        manager.applyUiMessage(message)?.status ?: live().status

    /** Sets the locale decisions are recorded in; returns the policy locale chosen for it. */
    @Throws(KmerConsentException::class)
    fun setLocale(locale: Locale): String = manager.setLocale(locale.toLanguageTag())

    /** Reports the OS tracking authorization for this run (Android: `NOT_APPLICABLE`, the default). */
    @Throws(KmerConsentException::class)
    fun setTrackingAuthorization(status: TrackingAuthorization) {
        manager.setTrackingAuthorization(status)
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
        return track(manager.registerSdk(sdkId, lifecycle))
    }

    /**
     * Calls [listener] on [executor] with the current snapshot, then after every change. For Kotlin,
     * [snapshots] is usually simpler.
     */
    @Throws(KmerConsentException::class)
    @JvmOverloads
    fun addListener(
        executor: Executor = callbackExecutor,
        listener: SnapshotListener,
    ): ConsentRegistration {
        if (closed) throw KmerConsentException.Closed()
        val core = object : ConsentListener {
            override fun onConsentChanged(snapshot: ConsentSnapshot) = executor.execute { listener.onSnapshot(snapshot) }
        }
        return track(manager.addListener(core))
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

    private fun track(subscription: Subscription): ConsentRegistration =
        track(ConsentRegistration({ subscription.cancel(); subscription.close() }))

    private fun track(registration: ConsentRegistration): ConsentRegistration {
        registration.onClose = { registrations.remove(it) }
        registrations.add(registration)
        return registration
    }

    /**
     * Shuts the core down (timers, watches, listeners, SDK callbacks; the store is released) and
     * ends every registration. [canStart] then answers false, [snapshots] holds a snapshot that
     * allows nothing, and every other call throws [KmerConsentException.Closed]. Idempotent.
     */
    override fun close() {
        synchronized(this) {
            if (closed) return
            closed = true
        }
        mutableSnapshots.value = manager.shutdown()
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
            val manager = ConsentManager.open(
                ConsentOptions(
                    databasePath = databaseFile.path,
                    policyJson = policyJson,
                    locale = locale.toLanguageTag(),
                    appVersion = appVersion,
                    trackingAuthorization = trackingAuthorization,
                    backendPublicKey = backendPublicKey,
                ),
            )
            val owned = if (callbackExecutor == null) {
                Executors.newSingleThreadExecutor(daemonThreads("kmer-consent-callbacks"))
            } else {
                null
            }
            return KmerConsent(manager, callbackExecutor ?: owned!!, owned)
        }
    }
}

/** Threads that never keep the process alive, named for thread dumps. */
internal fun daemonThreads(name: String) = java.util.concurrent.ThreadFactory { task ->
    Thread(task, name).apply { isDaemon = true }
}

/** A listener, SDK or watch registration. [close] ends it; closing twice is harmless. */
class ConsentRegistration internal constructor(private val end: () -> Unit) : AutoCloseable {
    @Volatile
    private var closed = false

    internal var onClose: (ConsentRegistration) -> Unit = {}

    override fun close() {
        synchronized(this) {
            if (closed) return
            closed = true
        }
        end()
        onClose(this)
    }
}

/**
 * Receives consent snapshots from [KmerConsent.addListener]; a Kotlin or Java lambda. (Not
 * `java.util.function.Consumer`, which Android has only from API 24: the SDK runs from API 23.)
 */
fun interface SnapshotListener {
    /** The current snapshot, then each new one, in order. */
    fun onSnapshot(snapshot: ConsentSnapshot)
}
