package com.kmeroccase.consent.android

import android.content.SharedPreferences
import com.kmeroccase.consent.IabTcfStorage
import com.kmeroccase.consent.ffi.StoredValue

/** The IAB TCF keys in a SharedPreferences file, Int keys as `putInt`, String keys as `putString`. */
class SharedPreferencesIabTcfStorage(private val preferences: SharedPreferences) : IabTcfStorage {
    override fun keys(): Set<String> = preferences.all.keys

    override fun write(put: Map<String, StoredValue>, remove: Set<String>) {
        val editor = preferences.edit()
        remove.forEach { editor.remove(it) }
        for ((key, value) in put) {
            when (value) {
                is StoredValue.Int -> editor.putInt(key, value.value)
                is StoredValue.Text -> editor.putString(key, value.value)
            }
        }
        editor.apply()
    }
}
