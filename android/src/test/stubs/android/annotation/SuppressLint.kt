// STUB of android.annotation.SuppressLint and android.R: signatures used by the SDK only.
package android.annotation

@Retention(AnnotationRetention.BINARY)
annotation class SuppressLint(vararg val value: String)
