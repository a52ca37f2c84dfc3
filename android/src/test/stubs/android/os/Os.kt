// STUB of android.os.Bundle, Handler and Looper: signatures used by the SDK only.
package android.os

class Bundle

class Looper private constructor() {
    companion object {
        @JvmStatic
        fun getMainLooper(): Looper = throw RuntimeException("Stub!")
    }
}

open class Handler(looper: Looper) {
    open fun post(r: Runnable): Boolean = throw RuntimeException("Stub!")
}
