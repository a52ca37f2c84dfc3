// STUB of android.view.View: signatures used by the SDK only. See ../../README.md.
package android.view

open class View
