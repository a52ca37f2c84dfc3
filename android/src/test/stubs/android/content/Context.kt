// STUB of android.content.Context, Intent and SharedPreferences: signatures used by the SDK
// only. See ../../README.md.
package android.content

abstract class Context {
    abstract val applicationContext: Context
    abstract val noBackupFilesDir: java.io.File
    abstract val packageName: String
    abstract fun getSharedPreferences(name: String, mode: Int): SharedPreferences
    open val assets: android.content.res.AssetManager get() = throw RuntimeException("Stub!")
    open fun startActivity(intent: Intent): Unit = throw RuntimeException("Stub!")
    open fun registerReceiver(receiver: BroadcastReceiver, filter: IntentFilter): Intent? =
        throw RuntimeException("Stub!")
    open fun unregisterReceiver(receiver: BroadcastReceiver): Unit = throw RuntimeException("Stub!")

    companion object {
        const val MODE_PRIVATE: Int = 0
    }
}

interface SharedPreferences {
    val all: Map<String, *>
    fun edit(): Editor

    interface Editor {
        fun putInt(key: String, value: Int): Editor
        fun putString(key: String, value: String?): Editor
        fun remove(key: String): Editor
        fun apply()
    }
}

// Intent and IntentFilter keep their actions (unlike android.jar's stubs) so that the Android entry
// point, which builds a filter, runs in the JVM tests.
open class Intent(val action: String?) {
    constructor(action: String, uri: android.net.Uri) : this(action)

    companion object {
        const val ACTION_VIEW: String = "android.intent.action.VIEW"
        const val ACTION_SCREEN_ON: String = "android.intent.action.SCREEN_ON"
        const val ACTION_TIME_CHANGED: String = "android.intent.action.TIME_SET"
    }
}

open class IntentFilter(action: String) {
    val actions = mutableListOf(action)
    open fun addAction(action: String) {
        actions += action
    }
}

abstract class BroadcastReceiver {
    abstract fun onReceive(context: Context, intent: Intent)
}
