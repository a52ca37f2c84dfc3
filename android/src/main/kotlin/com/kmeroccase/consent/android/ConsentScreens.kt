package com.kmeroccase.consent.android

import android.annotation.SuppressLint
import android.app.Activity
import android.app.Dialog
import android.content.Intent
import android.net.Uri
import android.os.Bundle
import android.os.Handler
import android.os.Looper
import android.view.ViewGroup
import android.webkit.JavascriptInterface
import android.webkit.WebResourceRequest
import android.webkit.WebView
import android.webkit.WebViewClient
import com.kmeroccase.consent.ConsentPageLayer
import com.kmeroccase.consent.KmerConsent
import com.kmeroccase.consent.daemonThreads
import java.util.Locale
import java.util.WeakHashMap
import java.util.concurrent.Executors

/**
 * Shows the consent banner over [activity] when consent needs a prompt (no decision yet, expired,
 * another policy text, a refusal reminder due: [com.kmeroccase.consent.ConsentStatus.promptReason]
 * says which). Call it from `onResume` of the app's first screen:
 * it does nothing while a consent screen is already showing over that activity. Returns whether it
 * showed. Call on the main thread. Before the SDK is ready ([KmerConsent.openInBackground]) it does
 * not wait: it returns false and looks again once it is ready, if [activity] is still there.
 */
fun KmerConsent.showBannerIfNeeded(activity: Activity, locale: Locale = Locale.getDefault()): Boolean {
    if (!isReady) return againWhenReady(activity) { showBannerIfNeeded(activity, locale) }
    return status.needsPrompt && ConsentDialog.show(activity, this, ConsentPageLayer.BANNER, locale)
}

/**
 * Shows the preferences (the app's "Gestion des cookies" / "Cookie management" entry) over
 * [activity]; returns false if a consent screen is already showing there or the page cannot be
 * rendered (the instance is closed). Call on the main thread. Before the SDK is ready it returns
 * false and shows them once it is, if [activity] is still there.
 */
fun KmerConsent.showPreferences(activity: Activity, locale: Locale = Locale.getDefault()): Boolean {
    if (!isReady) return againWhenReady(activity) { showPreferences(activity, locale) }
    return ConsentDialog.show(activity, this, ConsentPageLayer.PREFERENCES, locale)
}

/**
 * Runs [show] on the main thread once the SDK is ready (never if the open failed or the instance
 * was closed), unless [activity] is finishing or gone by then. Returns false: nothing shown yet.
 */
private fun KmerConsent.againWhenReady(activity: Activity, show: () -> Unit): Boolean {
    val main = Handler(Looper.getMainLooper())
    onReady({ main.post(it) }) { error ->
        if (error == null && !activity.isFinishing && !activity.isDestroyed) show()
    }
    return false
}

/**
 * A full-screen dialog hosting the core's consent page in a WebView. It only loads the page, passes
 * the page's message to the core and closes: what to show and what a message means are the core's.
 * JavaScript runs for the page's own inline script only (its Content-Security-Policy allows nothing
 * else); files, content URLs, network loads and navigation are off, and https links open in the
 * browser. It closes with its activity.
 */
internal class ConsentDialog private constructor(
    private val activity: Activity,
    private val consent: KmerConsent,
    private val layer: ConsentPageLayer,
    private val locale: Locale,
    private var html: String,
) : Dialog(activity, android.R.style.Theme_DeviceDefault_NoActionBar) {
    private lateinit var webView: WebView
    private val main = Handler(Looper.getMainLooper())

    /** Dismisses the dialog with its activity (rotation, finish) instead of leaking its window. */
    private val activityGone = object : ActivityCallbacks() {
        override fun onActivityDestroyed(activity: Activity) {
            if (activity === this@ConsentDialog.activity && isShowing) dismiss()
        }
    }

    @SuppressLint("SetJavaScriptEnabled")
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setCancelable(false) // the back key is the page's Escape: a refusal on the banner
        webView = WebView(context)
        webView.settings.javaScriptEnabled = true
        webView.settings.allowFileAccess = false
        webView.settings.allowContentAccess = false
        webView.settings.domStorageEnabled = false
        webView.settings.blockNetworkLoads = true // the page loads nothing; a backstop to its CSP
        webView.addJavascriptInterface(Bridge(), BRIDGE_NAME)
        webView.webViewClient = object : WebViewClient() {
            override fun shouldOverrideUrlLoading(view: WebView, request: WebResourceRequest): Boolean =
                leave(request.url)

            // API 21 to 23 call only this one.
            @Deprecated("WebViewClient.shouldOverrideUrlLoading(WebView, String) before API 24")
            override fun shouldOverrideUrlLoading(view: WebView, url: String): Boolean = leave(Uri.parse(url))
        }
        setContentView(webView)
        activity.application.registerActivityLifecycleCallbacks(activityGone)
        webView.loadDataWithBaseURL(null, html, "text/html", "utf-8", null)
    }

    /** The page never navigates: an https link opens in the browser, anything else goes nowhere. */
    private fun leave(url: Uri): Boolean {
        if (url.scheme == "https") runCatching { activity.startActivity(Intent(Intent.ACTION_VIEW, url)) }
        return true
    }

    @Deprecated("Dialog.onBackPressed: the page decides what leaving means")
    override fun onBackPressed() {
        webView.evaluateJavascript(ESCAPE, null)
    }

    override fun onStop() {
        super.onStop()
        activity.application.unregisterActivityLifecycleCallbacks(activityGone)
        (webView.parent as? ViewGroup)?.removeView(webView)
        webView.destroy()
        if (showing[activity] === this) showing.remove(activity)
    }

    /** Called by the page on a WebView thread; the core call runs on a worker, the UI on the main thread. */
    inner class Bridge {
        @JavascriptInterface
        fun postMessage(message: String) {
            worker.execute {
                val applied = runCatching { consent.applyUiMessage(message) }
                // Refused (a stale or forged message): show a freshly rendered page.
                val fresh = if (applied.isFailure) runCatching { consent.consentPage(layer, locale) }.getOrNull() else null
                main.post {
                    if (!isShowing) return@post
                    if (fresh == null) {
                        dismiss()
                    } else {
                        html = fresh
                        webView.loadDataWithBaseURL(null, fresh, "text/html", "utf-8", null)
                    }
                }
            }
        }
    }

    companion object {
        /** The object the page posts to: `window.KmerConsentBridge.postMessage(json)`. */
        private const val BRIDGE_NAME = "KmerConsentBridge"
        private const val ESCAPE = "document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'}))"
        private val worker = Executors.newSingleThreadExecutor(daemonThreads("kmer-consent-ui"))

        /** The consent screen showing over each activity (main thread only). */
        private val showing = WeakHashMap<Activity, ConsentDialog>()

        /** Renders the page first, and shows it unless one is showing already over [activity]. */
        fun show(activity: Activity, consent: KmerConsent, layer: ConsentPageLayer, locale: Locale): Boolean {
            if (showing[activity]?.isShowing == true) return false
            val html = runCatching { consent.consentPage(layer, locale) }.getOrNull() ?: return false
            val dialog = ConsentDialog(activity, consent, layer, locale, html)
            showing[activity] = dialog
            dialog.show()
            return true
        }
    }
}
