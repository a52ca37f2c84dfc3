package com.kmeroccase.consent.android

import android.app.Activity
import android.app.Application
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.content.IntentFilter
import android.os.Bundle
import android.os.Handler
import android.os.Looper
import com.kmeroccase.consent.ConsentRegistration
import com.kmeroccase.consent.KmerConsent
import com.kmeroccase.consent.KmerConsentException
import com.kmeroccase.consent.TrackingAuthorization.NOT_APPLICABLE
import com.kmeroccase.consent.daemonThreads
import java.io.File
import java.util.Locale
import java.util.concurrent.Executor
import java.util.concurrent.Executors

/** How often a resumed app checks for another process's decisions. */
internal const val WATCH_PERIOD_MS = 1_000L

/**
 * Android entry point. Call [openInBackground] once, in `Application.onCreate`, and keep the
 * instance.
 *
 * The database lives in `Context.getNoBackupFilesDir()`: it takes no part in Auto Backup or
 * device-to-device transfer. A consent record is evidence of what this person chose on this device;
 * restored onto another device (perhaps someone else's) it would claim a choice nobody made there, and
 * a backup taken mid-write can split a SQLite file from its WAL. A reinstalled app asks again.
 *
 * It also keeps the IAB TCF keys (`IABTCF_*`) in the default SharedPreferences in step with consent,
 * where Google Mobile Ads and other ad SDKs read them.
 */
object KmerConsentAndroid {
    /** The database file name in the no-backup directory. */
    const val DATABASE_NAME = "kmer-consent.db"

    /**
     * Opens the consent store in the app's private no-backup storage, on the calling thread: prefer
     * [openInBackground] in `Application.onCreate`. Tracking authorization is `NOT_APPLICABLE`
     * (Android has no ATT); callbacks run on the main thread unless [callbackExecutor] says
     * otherwise; consent is re-read from disk whenever an activity resumes (another process may have
     * changed it, or it may have expired), the screen turns on or the clock is set. Pass
     * `BuildConfig.VERSION_NAME` as [appVersion]: it is recorded with each decision.
     * [backendPublicKey] is the app's back end's Ed25519 public key (64 hex digits), needed to
     * import other devices' decisions and to keep the back end's signed acknowledgements.
     * [accountId] is who is logged in at launch (null: nobody), as `setSubject` takes it.
     */
    @JvmStatic
    @JvmOverloads
    @Throws(KmerConsentException::class)
    fun open(
        context: Context,
        policyJson: String,
        locale: Locale = Locale.getDefault(),
        callbackExecutor: Executor? = null,
        databaseName: String = DATABASE_NAME,
        appVersion: String = "",
        backendPublicKey: String? = null,
        accountId: String? = null,
    ): KmerConsent = wired(context, databaseName, callbackExecutor) { file, executor ->
        KmerConsent.open(file, policyJson, locale, NOT_APPLICABLE, executor, appVersion, backendPublicKey, accountId)
    }

    /**
     * [open] without blocking the caller: returns at once, and loads the native library and opens
     * the store on a thread of its own (`KmerConsent.openInBackground`). Until it is ready the gate
     * allows nothing, `whenAllowed` and listener registrations are made once it is, and
     * `onReady` / `awaitReady` say when; `showBannerIfNeeded` waits for it off the main thread.
     * Everything [open] wires (refresh on resume, the IAB TCF keys) is wired at once. The parameters
     * are [open]'s.
     */
    @JvmStatic
    @JvmOverloads
    fun openInBackground(
        context: Context,
        policyJson: String,
        locale: Locale = Locale.getDefault(),
        callbackExecutor: Executor? = null,
        databaseName: String = DATABASE_NAME,
        appVersion: String = "",
        backendPublicKey: String? = null,
        accountId: String? = null,
    ): KmerConsent = wired(context, databaseName, callbackExecutor) { file, executor ->
        KmerConsent.openInBackground(file, policyJson, locale, NOT_APPLICABLE, executor, appVersion, backendPublicKey, accountId)
    }

    /**
     * What both opens share: the file in the no-backup directory, callbacks on the main thread unless
     * the app names an executor, and what is connected to the instance [open] makes: the refreshes,
     * and the IAB TCF keys.
     */
    private inline fun wired(
        context: Context,
        databaseName: String,
        callbackExecutor: Executor?,
        open: (File, Executor) -> KmerConsent,
    ): KmerConsent {
        val app = context.applicationContext
        val consent = open(File(app.noBackupFilesDir, databaseName), callbackExecutor ?: mainThreadExecutor())
        val onResume = RefreshOnResume(consent)
        (app as? Application)?.registerActivityLifecycleCallbacks(onResume)
        // Time may have passed an expiry while the device slept (the core's timer waits on a clock
        // that stops in deep sleep): look again when the screen turns on or the clock is set.
        val onWake = RefreshOnWake(consent)
        app.registerReceiver(
            onWake,
            IntentFilter(Intent.ACTION_SCREEN_ON).apply { addAction(Intent.ACTION_TIME_CHANGED) },
        )
        // Closing releases them, so a closed instance is not kept alive by the application.
        consent.onClose += {
            (app as? Application)?.unregisterActivityLifecycleCallbacks(onResume)
            app.unregisterReceiver(onWake)
        }
        // Ad SDKs read the IAB TCF keys from the default SharedPreferences.
        // Off the main thread: the first SharedPreferences read waits for the file to load.
        consent.writeIabTcfKeys(SharedPreferencesIabTcfStorage(defaultSharedPreferences(app)), refresher)
        return consent
    }

    /** The file `PreferenceManager.getDefaultSharedPreferences` opens, without the deprecated API. */
    private fun defaultSharedPreferences(context: Context) =
        context.getSharedPreferences(context.packageName + "_preferences", Context.MODE_PRIVATE)

    private fun mainThreadExecutor(): Executor {
        val handler = Handler(Looper.getMainLooper())
        return Executor { handler.post(it) }
    }
}

/**
 * Forwards the activity lifecycle to the core: a re-read off the main thread each time an activity
 * resumes, and, while one is resumed, the core's watch for another process's writes (its decisions
 * reach this gate within 1 s).
 */
internal class RefreshOnResume(private val consent: KmerConsent) : ActivityCallbacks() {
    private var watch: ConsentRegistration? = null

    override fun onActivityResumed(activity: Activity) {
        refreshOffMainThread(consent)
        if (watch == null) watch = runCatching { consent.watchForChanges(WATCH_PERIOD_MS) }.getOrNull()
    }

    override fun onActivityPaused(activity: Activity) {
        watch?.close()
        watch = null
    }
}

/** Re-reads consent when the screen turns on or the clock is set. */
internal class RefreshOnWake(private val consent: KmerConsent) : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) = refreshOffMainThread(consent)
}

private val refresher = Executors.newSingleThreadExecutor(daemonThreads("kmer-consent-refresh"))

/** A storage error or a closed instance leaves the last snapshot in force; never crash. */
private fun refreshOffMainThread(consent: KmerConsent) = refresher.execute { runCatching { consent.refresh() } }

/** `Application.ActivityLifecycleCallbacks` with nothing to do by default. */
internal abstract class ActivityCallbacks : Application.ActivityLifecycleCallbacks {
    override fun onActivityCreated(activity: Activity, savedInstanceState: Bundle?) = Unit
    override fun onActivityStarted(activity: Activity) = Unit
    override fun onActivityResumed(activity: Activity) = Unit
    override fun onActivityPaused(activity: Activity) = Unit
    override fun onActivityStopped(activity: Activity) = Unit
    override fun onActivitySaveInstanceState(activity: Activity, outState: Bundle) = Unit
    override fun onActivityDestroyed(activity: Activity) = Unit
}
