package com.kmeroccase.consent.android

import android.annotation.SuppressLint
import android.app.Activity
import android.app.Dialog
import android.content.Intent
import android.os.Bundle
import android.os.Handler
import android.os.Looper
import android.webkit.JavascriptInterface
import android.webkit.WebResourceRequest
import android.webkit.WebView
import android.webkit.WebViewClient
import com.kmeroccase.consent.ConsentPageLayer
import com.kmeroccase.consent.KmerConsent
import com.kmeroccase.consent.daemonThreads
import java.util.Locale
import java.util.concurrent.Executors

/**
 * Shows the consent banner over [activity] when consent needs a prompt (no decision yet, expired,
 * a new policy revision, a refusal reminder due). Call it from `onResume` of the app's first screen.
 * Returns whether it showed.
 */
fun KmerConsent.showBannerIfNeeded(activity: Activity, locale: Locale = Locale.getDefault()): Boolean {
    if (!status.needsPrompt) return false
    ConsentDialog(activity, this, ConsentPageLayer.BANNER, locale).show()
    return true
}

/** Shows the preferences (the app's "Gestion des cookies" / "Cookie management" entry) over [activity]. */
fun KmerConsent.showPreferences(activity: Activity, locale: Locale = Locale.getDefault()) {
    ConsentDialog(activity, this, ConsentPageLayer.PREFERENCES, locale).show()
}

/**
 * A full-screen dialog hosting the core's consent page in a WebView. It only loads the page, passes
 * the page's message to the core and closes: what to show and what a message means are the core's.
 * JavaScript runs for the page's own inline script only (its Content-Security-Policy allows nothing
 * else); files, content URLs and navigation are off, and links open in the browser.
 */
internal class ConsentDialog(
    private val activity: Activity,
    private val consent: KmerConsent,
    private val layer: ConsentPageLayer,
    private val locale: Locale,
) : Dialog(activity, android.R.style.Theme_DeviceDefault_NoActionBar) {
    private lateinit var webView: WebView
    private val main = Handler(Looper.getMainLooper())

    @SuppressLint("SetJavaScriptEnabled")
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setCancelable(false) // the back key is the page's Escape: a refusal on the banner
        webView = WebView(context)
        webView.settings.javaScriptEnabled = true
        webView.settings.allowFileAccess = false
        webView.settings.allowContentAccess = false
        webView.settings.domStorageEnabled = false
        webView.addJavascriptInterface(Bridge(), BRIDGE_NAME)
        webView.webViewClient = object : WebViewClient() {
            override fun shouldOverrideUrlLoading(view: WebView, request: WebResourceRequest): Boolean {
                if (request.url.scheme == "https") {
                    runCatching { activity.startActivity(Intent(Intent.ACTION_VIEW, request.url)) }
                }
                return true // the page never navigates
            }
        }
        setContentView(webView)
        load()
    }

    private fun load() {
        val html = runCatching { consent.consentPage(layer, locale) }.getOrNull() ?: return dismiss()
        webView.loadDataWithBaseURL(null, html, "text/html", "utf-8", null)
    }

    @Deprecated("Dialog.onBackPressed: the page decides what leaving means")
    override fun onBackPressed() {
        webView.evaluateJavascript(ESCAPE, null)
    }

    override fun onStop() {
        super.onStop()
        webView.destroy()
    }

    /** Called by the page on a WebView thread; the core call runs on a worker, the UI on the main thread. */
    inner class Bridge {
        @JavascriptInterface
        fun postMessage(message: String) {
            worker.execute {
                val applied = runCatching { consent.applyUiMessage(message) }
                // Applied: close. Refused (a stale or forged message): show a freshly rendered page.
                main.post { if (applied.isSuccess) dismiss() else load() }
            }
        }
    }

    private companion object {
        /** The object the page posts to: `window.KmerConsentBridge.postMessage(json)`. */
        const val BRIDGE_NAME = "KmerConsentBridge"
        const val ESCAPE = "document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'}))"
        val worker = Executors.newSingleThreadExecutor(daemonThreads("kmer-consent-ui"))
    }
}
