// STUB of android.content.Context, Intent and SharedPreferences: signatures used by the SDK
// only. See ../../README.md.
package android.content

abstract class Context {
    abstract val applicationContext: Context
    abstract val noBackupFilesDir: java.io.File
    abstract val packageName: String
    abstract fun getSharedPreferences(name: String, mode: Int): SharedPreferences
    open fun startActivity(intent: Intent): Unit = throw RuntimeException("Stub!")

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

open class Intent(action: String, uri: android.net.Uri) {
    companion object {
        const val ACTION_VIEW: String = "android.intent.action.VIEW"
    }
}
