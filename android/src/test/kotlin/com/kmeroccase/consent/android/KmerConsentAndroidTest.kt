package com.kmeroccase.consent.android

import android.app.Activity
import android.app.Application
import android.content.Intent
import android.net.Uri
import android.os.Looper
import android.preference.PreferenceManager
import android.view.View
import android.view.ViewGroup
import android.webkit.WebResourceRequest
import android.webkit.WebView
import com.kmeroccase.consent.ConsentManager
import com.kmeroccase.consent.ConsentOptions
import com.kmeroccase.consent.DIRECT
import com.kmeroccase.consent.KmerConsent
import com.kmeroccase.consent.DecisionSource
import com.kmeroccase.consent.POLICY
import com.kmeroccase.consent.TCF_POLICY
import com.kmeroccase.consent.openIn
import java.io.File
import java.util.Locale
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.junit.After
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowDialog

/**
 * The Android entry point on the real Android framework (Robolectric runs AOSP's own classes, API 36):
 * the real `Context` directories, SharedPreferences, main looper, activity lifecycle, broadcasts,
 * `Dialog` and `WebView`, against the real native library through JNA.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [36], manifest = Config.NONE)
class KmerConsentAndroidTest {
    private val app: Application get() = RuntimeEnvironment.getApplication()
    private val noBackup: File get() = app.noBackupFilesDir

    @After
    fun removeStore() {
        noBackup.deleteRecursively()
    }

    /** Runs the main looper until [done] holds (work posted from the SDK's worker threads). */
    private fun idleMainUntil(what: String, done: () -> Boolean) {
        val deadline = System.currentTimeMillis() + 5_000
        while (!done()) {
            assertTrue(System.currentTimeMillis() < deadline, "timed out waiting: $what")
            shadowOf(Looper.getMainLooper()).idle()
            Thread.sleep(5)
        }
    }

    @Test
    fun `the database lives in the no-backup directory`() {
        KmerConsentAndroid.open(app, POLICY, callbackExecutor = DIRECT).use { consent ->
            consent.acceptAll()
            assertTrue(File(app.noBackupFilesDir, KmerConsentAndroid.DATABASE_NAME).isFile)
            assertTrue(noBackup.path.endsWith("/no_backup"), noBackup.path)
            assertTrue(consent.canStart("meta_audience_network"), "no ATT on Android")
        }
    }

    @Test
    fun `callbacks run on the main thread unless the app names an executor`() {
        KmerConsentAndroid.open(app, POLICY).use { consent ->
            val threads = mutableListOf<Thread>()
            consent.whenAllowed("firebase_analytics") {
                assertTrue(Looper.myLooper() === Looper.getMainLooper(), "run by the main looper")
                threads += Thread.currentThread()
            }
            Thread { consent.acceptAll() }.apply { start() }.join()
            assertTrue(threads.isEmpty(), "posted to the main looper, not run on the recording thread")
            idleMainUntil("the start callback") { threads.isNotEmpty() }
            assertEquals(Looper.getMainLooper().thread, threads.single())
        }
    }

    @Test
    fun `closing unregisters the lifecycle callbacks and the receiver`() {
        val receiversBefore = shadowOf(app).registeredReceivers.size
        val callbacks = Application::class.java.getDeclaredField("mActivityLifecycleCallbacks")
            .apply { isAccessible = true }.get(app) as Collection<*>
        val consent = KmerConsentAndroid.open(app, POLICY, callbackExecutor = DIRECT)
        assertEquals(receiversBefore + 1, shadowOf(app).registeredReceivers.size)
        assertEquals(1, callbacks.count { it is RefreshOnResume }, "open registered its lifecycle callbacks")
        val filter = shadowOf(app).registeredReceivers.last().intentFilter
        assertEquals(listOf(Intent.ACTION_SCREEN_ON, Intent.ACTION_TIME_CHANGED), filter.actionsIterator().asSequence().toList())
        consent.close()
        assertEquals(receiversBefore, shadowOf(app).registeredReceivers.size, "no receiver keeps a closed instance")
        // A resumed activity reaching the closed instance would only throw Closed on the refresh thread,
        // swallowed: so read the application's own list (the framework's field) instead.
        assertTrue(callbacks.none { it is RefreshOnResume }, "no lifecycle callback either: $callbacks")
    }

    @Test
    fun `resuming an activity picks up another process's decision`() {
        KmerConsentAndroid.open(app, POLICY, callbackExecutor = DIRECT).use { consent ->
            assertFalse(consent.canStart("firebase_analytics"))
            // Another process (here: another instance on the same file) records a decision.
            openIn(noBackup, name = KmerConsentAndroid.DATABASE_NAME).use { it.acceptAll() }
            assertFalse(consent.canStart("firebase_analytics"), "not seen before a refresh")
            Robolectric.buildActivity(Activity::class.java).setup() // created, started, resumed
            idleMainUntil("the refresh on resume") { consent.canStart("firebase_analytics") }
        }
    }

    @Test
    fun `the screen turning on re-reads consent (an expiry passed in deep sleep)`() {
        KmerConsentAndroid.open(app, POLICY, callbackExecutor = DIRECT).use { consent ->
            openIn(noBackup, name = KmerConsentAndroid.DATABASE_NAME).use { it.acceptAll() }
            assertFalse(consent.canStart("firebase_analytics"), "not seen before a refresh")
            app.sendBroadcast(Intent(Intent.ACTION_SCREEN_ON))
            idleMainUntil("the refresh on screen-on") { consent.canStart("firebase_analytics") }
        }
    }

    @Test
    fun `IAB keys land in the default SharedPreferences with their types`() {
        KmerConsentAndroid.open(app, TCF_POLICY, callbackExecutor = DIRECT).use { consent ->
            consent.acceptAll()
            // The file Google Mobile Ads reads: the framework's own default, not a name we chose.
            @Suppress("DEPRECATION")
            val prefs = PreferenceManager.getDefaultSharedPreferences(app)
            idleMainUntil("the decision's keys") { prefs.getString("IABTCF_PurposeConsents", null) == "11111111111" }
            assertEquals(1, prefs.getInt("IABTCF_gdprApplies", -1), "putInt")
            assertEquals(4095, prefs.getInt("IABTCF_CmpSdkID", -1))
            assertEquals(consent.snapshots.value.tcString, prefs.getString("IABTCF_TCString", null), "putString")
        }
    }

    private fun WebView.tokenOfPage(): String {
        val page = shadowOf(this).lastLoadDataWithBaseURL
        assertNull(page.baseUrl, "no origin: the page cannot reach files or the network by relative URL")
        assertEquals("text/html", page.mimeType)
        return Regex("data-token=\"([^\"]+)\"").find(page.data)!!.groupValues[1]
    }

    private fun View.findWebView(): WebView? = when (this) {
        is WebView -> this
        is ViewGroup -> (0 until childCount).firstNotNullOfOrNull { getChildAt(it).findWebView() }
        else -> null
    }

    @Test
    fun `opened in the background, it is wired as open wires it and ready without the main thread waiting`() {
        val consent = KmerConsentAndroid.openInBackground(app, TCF_POLICY)
        val started = java.util.concurrent.atomic.AtomicReference<Thread>()
        consent.whenAllowed("kmer_session") { started.set(Thread.currentThread()) }
        idleMainUntil("ready") { consent.isReady }
        idleMainUntil("the start callback") { started.get() != null }
        assertEquals(Looper.getMainLooper().thread, started.get(), "callbacks on the main thread, as with open")
        consent.acceptAll()
        assertTrue(File(noBackup, KmerConsentAndroid.DATABASE_NAME).isFile)
        @Suppress("DEPRECATION")
        val prefs = PreferenceManager.getDefaultSharedPreferences(app)
        idleMainUntil("the decision's keys") { prefs.getString("IABTCF_PurposeConsents", null) == "11111111111" }
        consent.close()
    }

    @Test
    fun `a banner asked for before the SDK is ready shows once it is, and the main thread never waits`() {
        val gate = java.util.concurrent.CountDownLatch(1)
        val consent = KmerConsent.openInBackground(
            ConsentOptions(databasePath = File(noBackup, "held.db").path, policyJson = POLICY, locale = "en"),
            DIRECT,
        ) { options ->
            check(gate.await(20, java.util.concurrent.TimeUnit.SECONDS))
            ConsentManager.open(options)
        }
        val activity = Robolectric.buildActivity(Activity::class.java).setup().get()
        assertFalse(consent.showBannerIfNeeded(activity, Locale.ENGLISH), "not ready: nothing shown yet")
        assertFalse(consent.showBannerIfNeeded(activity, Locale.ENGLISH), "asked again on the next resume")
        assertNull(ShadowDialog.getLatestDialog())
        gate.countDown()
        idleMainUntil("the banner") { ShadowDialog.getLatestDialog()?.isShowing == true }
        assertEquals(1, ShadowDialog.getShownDialogs().size, "one consent screen per activity, however often asked")
        consent.close()
    }

    @Test
    fun `the banner is a locked-down WebView whose message records the decision`() {
        KmerConsentAndroid.open(app, POLICY, callbackExecutor = DIRECT).use { consent ->
            val activity = Robolectric.buildActivity(Activity::class.java).setup().get()
            assertTrue(consent.showBannerIfNeeded(activity, Locale.ENGLISH))
            assertFalse(consent.showBannerIfNeeded(activity, Locale.ENGLISH), "one consent screen per activity")
            val dialog = ShadowDialog.getLatestDialog()
            assertTrue(dialog.isShowing)
            val webView = assertNotNull(dialog.window!!.decorView.findWebView())
            with(webView.settings) {
                assertTrue(javaScriptEnabled)
                assertFalse(allowFileAccess)
                assertFalse(allowContentAccess)
                assertFalse(domStorageEnabled)
                assertTrue(blockNetworkLoads)
            }
            assertTrue(shadowOf(webView).lastLoadDataWithBaseURL.data.contains("<html lang=\"en\">"))

            // Links: https opens the browser, anything else goes nowhere, the page never navigates.
            val client = webView.webViewClient
            assertTrue(client.shouldOverrideUrlLoading(webView, request("https://www.kmeroccase.com/cookies")))
            val browser = shadowOf(activity).nextStartedActivity
            assertEquals(Intent.ACTION_VIEW, browser.action)
            assertEquals("https://www.kmeroccase.com/cookies", browser.dataString)
            assertTrue(client.shouldOverrideUrlLoading(webView, request("file:///data/data/x/databases/kmer-consent.db")))
            assertNull(shadowOf(activity).nextStartedActivity, "a file URL opens nothing")

            // The back key is the page's Escape, not a silent dismissal.
            @Suppress("DEPRECATION")
            dialog.onBackPressed()
            assertTrue(shadowOf(webView).lastEvaluatedJavascript.contains("'Escape'"))
            assertTrue(dialog.isShowing)

            // A forged message records nothing and shows a fresh page; the page's own message is kept.
            val bridge = shadowOf(webView).getJavascriptInterface("KmerConsentBridge") as ConsentDialog.Bridge
            val token = webView.tokenOfPage()
            bridge.postMessage(message("0.en.00000000000000000000000000000000", "accept_all"))
            idleMainUntil("a fresh page") { webView.tokenOfPage() != token }
            assertTrue(dialog.isShowing)
            assertTrue(consent.history().isEmpty())
            bridge.postMessage(message(webView.tokenOfPage(), "reject_all"))
            idleMainUntil("the dialog to close") { !dialog.isShowing }
            assertEquals(DecisionSource.PAGE_REJECT_ALL, consent.history().single().source)
            assertEquals("en", consent.history().single().locale)
            assertFalse(consent.showBannerIfNeeded(activity), "decided: no banner")
            assertTrue(consent.showPreferences(activity), "the settings entry always opens")
        }
    }

    @Test
    fun `the consent screen closes with its activity`() {
        KmerConsentAndroid.open(app, POLICY, callbackExecutor = DIRECT).use { consent ->
            val controller = Robolectric.buildActivity(Activity::class.java).setup()
            assertTrue(consent.showBannerIfNeeded(controller.get()))
            val dialog = ShadowDialog.getLatestDialog()
            controller.pause().stop().destroy()
            assertFalse(dialog.isShowing, "dismissed, not leaked with its window")
        }
    }

    private fun request(url: String): WebResourceRequest = object : WebResourceRequest {
        override fun getUrl(): Uri = Uri.parse(url)
        override fun isForMainFrame() = true
        override fun isRedirect() = false
        override fun hasGesture() = true
        override fun getMethod() = "GET"
        override fun getRequestHeaders() = emptyMap<String, String>()
    }

    private fun message(token: String, action: String): String =
        """{"type":"kmer-consent/ui","version":1,"token":"$token","action":"$action"}"""
}
