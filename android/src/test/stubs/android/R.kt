// STUB of android.R: the constants used by the SDK only. See ../README.md.
package android

object R {
    object style {
        const val Theme_DeviceDefault_NoActionBar: Int = 0
    }
}
