// STUB of android.net.Uri: signatures used by the SDK only. See ../../README.md.
package android.net

abstract class Uri {
    abstract val scheme: String?

    companion object {
        @JvmStatic
        fun parse(uriString: String): Uri = throw RuntimeException("Stub!")
    }
}
