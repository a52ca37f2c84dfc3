// STUB of android.webkit: signatures used by the SDK only. See ../../README.md.
package android.webkit

@Target(AnnotationTarget.FUNCTION)
@Retention(AnnotationRetention.RUNTIME)
annotation class JavascriptInterface

open class WebView(context: android.content.Context) : android.view.View() {
    val settings: WebSettings get() = throw RuntimeException("Stub!")
    var webViewClient: WebViewClient
        get() = throw RuntimeException("Stub!")
        set(value) = throw RuntimeException("Stub!")
    open fun addJavascriptInterface(target: Any, name: String): Unit = throw RuntimeException("Stub!")
    open fun loadDataWithBaseURL(
        baseUrl: String?,
        data: String,
        mimeType: String?,
        encoding: String?,
        historyUrl: String?,
    ): Unit = throw RuntimeException("Stub!")
    open fun evaluateJavascript(script: String, resultCallback: ValueCallback<String>?): Unit =
        throw RuntimeException("Stub!")
    open fun destroy(): Unit = throw RuntimeException("Stub!")
}

fun interface ValueCallback<T> {
    fun onReceiveValue(value: T)
}

abstract class WebSettings {
    abstract var javaScriptEnabled: Boolean
    abstract var allowFileAccess: Boolean
    abstract var allowContentAccess: Boolean
    abstract var domStorageEnabled: Boolean
    abstract var blockNetworkLoads: Boolean
}

open class WebViewClient {
    open fun shouldOverrideUrlLoading(view: WebView, request: WebResourceRequest): Boolean =
        throw RuntimeException("Stub!")

    @Deprecated("Deprecated in API 24")
    open fun shouldOverrideUrlLoading(view: WebView, url: String): Boolean = throw RuntimeException("Stub!")
}

interface WebResourceRequest {
    val url: android.net.Uri
}
