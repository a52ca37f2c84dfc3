// STUB of android.content.Context: signatures used by the SDK only. See ../../README.md.
package android.content

abstract class Context {
    abstract val applicationContext: Context
    abstract val noBackupFilesDir: java.io.File
}
