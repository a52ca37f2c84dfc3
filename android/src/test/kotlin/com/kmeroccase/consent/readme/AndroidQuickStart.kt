// The README's Android quick start, compiled against the real Android framework (android-all, API 36).
package com.kmeroccase.consent.readme

// README: android-quick-start
import android.app.Activity
import android.app.Application
import com.kmeroccase.consent.KmerConsent
import com.kmeroccase.consent.android.KmerConsentAndroid
import com.kmeroccase.consent.android.showBannerIfNeeded
import com.kmeroccase.consent.android.showPreferences

// Application.onCreate: one instance for the app's lifetime.
class KmerOccaseApp : Application() {
    lateinit var consent: KmerConsent

    override fun onCreate() {
        super.onCreate()
        val policy = assets.open("kmer-consent-policy.json").bufferedReader().use { it.readText() }
        // Returns at once: the native library loads and the store opens on a thread of its own.
        // Until it is ready nothing is allowed; the gates below are kept and start once it is.
        // Store in noBackupFilesDir, callbacks on the main thread, IAB keys in the default prefs.
        // Other parameters: locale, callbackExecutor, databaseName, backendPublicKey (a back end
        // that syncs consent, see "Profiles, sync and erasure").
        consent = KmerConsentAndroid.openInBackground(
            this,
            policy,
            appVersion = BuildConfig.VERSION_NAME,
            accountId = currentAccountIdOrNull(), // who is logged in now; null: nobody
        )
        startConsentGates(consent)
    }
}

// The first activity: the SDK's own consent screen (a WebView, both languages), shown only when
// consent needs a prompt; the settings entry "Gestion des cookies" / "Cookie management" opens the
// preferences.
class MainActivity : Activity() {
    private val consent get() = (application as KmerOccaseApp).consent

    override fun onResume() {
        super.onResume()
        consent.showBannerIfNeeded(this) // not ready yet: shown once it is, if still needed
    }

    fun onCookieSettingsClicked() {
        consent.showPreferences(this)
    }
}
// END README

/** What the app's build generates (`BuildConfig` in the app's own package). Not in the README. */
object BuildConfig {
    const val VERSION_NAME = "5.2.0"
}
