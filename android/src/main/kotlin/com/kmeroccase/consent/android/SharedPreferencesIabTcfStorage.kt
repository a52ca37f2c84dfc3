package com.kmeroccase.consent.android

import android.content.SharedPreferences
import com.kmeroccase.consent.IabTcfChanges
import com.kmeroccase.consent.IabTcfStorage
import com.kmeroccase.consent.StoredValue

/** The IAB TCF keys in a SharedPreferences file, Int keys as `putInt`, String keys as `putString`. */
class SharedPreferencesIabTcfStorage(private val preferences: SharedPreferences) : IabTcfStorage {
    override fun keys(): Set<String> = preferences.all.keys

    override fun write(changes: IabTcfChanges) {
        val editor = preferences.edit()
        changes.remove.forEach { editor.remove(it) }
        for (entry in changes.put) {
            when (val value = entry.value) {
                is StoredValue.Int -> editor.putInt(entry.key, value.value)
                is StoredValue.Text -> editor.putString(entry.key, value.value)
            }
        }
        editor.apply()
    }
}
