// STUB of android.app.Application, Activity and Dialog: signatures used by the SDK and the README's
// sample app only.
package android.app

// Application and Activity are not abstract (as in android.jar): the README's sample app extends them.
open class Application : android.content.Context() {
    override val applicationContext: android.content.Context get() = throw RuntimeException("Stub!")
    override val noBackupFilesDir: java.io.File get() = throw RuntimeException("Stub!")
    override val packageName: String get() = throw RuntimeException("Stub!")
    override fun getSharedPreferences(name: String, mode: Int): android.content.SharedPreferences =
        throw RuntimeException("Stub!")
    open fun onCreate(): Unit = throw RuntimeException("Stub!")

    interface ActivityLifecycleCallbacks {
        fun onActivityCreated(activity: Activity, savedInstanceState: android.os.Bundle?)
        fun onActivityStarted(activity: Activity)
        fun onActivityResumed(activity: Activity)
        fun onActivityPaused(activity: Activity)
        fun onActivityStopped(activity: Activity)
        fun onActivitySaveInstanceState(activity: Activity, outState: android.os.Bundle)
        fun onActivityDestroyed(activity: Activity)
    }

    open fun registerActivityLifecycleCallbacks(callback: ActivityLifecycleCallbacks): Unit =
        throw RuntimeException("Stub!")
    open fun unregisterActivityLifecycleCallbacks(callback: ActivityLifecycleCallbacks): Unit =
        throw RuntimeException("Stub!")
}

open class Activity : android.content.Context() {
    val application: Application get() = throw RuntimeException("Stub!")
    override val applicationContext: android.content.Context get() = throw RuntimeException("Stub!")
    override val noBackupFilesDir: java.io.File get() = throw RuntimeException("Stub!")
    override val packageName: String get() = throw RuntimeException("Stub!")
    override fun getSharedPreferences(name: String, mode: Int): android.content.SharedPreferences =
        throw RuntimeException("Stub!")
    protected open fun onResume(): Unit = throw RuntimeException("Stub!")
}

open class Dialog(context: android.content.Context, themeResId: Int) {
    val context: android.content.Context get() = throw RuntimeException("Stub!")
    val isShowing: Boolean get() = throw RuntimeException("Stub!")
    protected open fun onCreate(savedInstanceState: android.os.Bundle?): Unit = throw RuntimeException("Stub!")
    protected open fun onStop(): Unit = throw RuntimeException("Stub!")
    open fun onBackPressed(): Unit = throw RuntimeException("Stub!")
    open fun setCancelable(flag: Boolean): Unit = throw RuntimeException("Stub!")
    open fun setContentView(view: android.view.View): Unit = throw RuntimeException("Stub!")
    open fun show(): Unit = throw RuntimeException("Stub!")
    open fun dismiss(): Unit = throw RuntimeException("Stub!")
}
