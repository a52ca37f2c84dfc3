// STUB of android.content.res.AssetManager: what the README's sample app uses. See ../../../README.md.
package android.content.res

open class AssetManager {
    open fun open(fileName: String): java.io.InputStream = throw RuntimeException("Stub!")
}
