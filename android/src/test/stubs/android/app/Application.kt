// STUB of android.app.Application and android.app.Activity: signatures used by the SDK only.
package android.app

abstract class Application : android.content.Context() {
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
}

open class Activity
