// STUB of android.view.View, ViewGroup and ViewParent: signatures used by the SDK only. See ../../README.md.
package android.view

open class View {
    val parent: ViewParent? get() = throw RuntimeException("Stub!")
}

interface ViewParent

open class ViewGroup : View(), ViewParent {
    open fun removeView(view: View): Unit = throw RuntimeException("Stub!")
}
