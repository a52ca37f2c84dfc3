package com.kmeroccase.consent.android

import android.app.Activity
import android.app.Application
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.content.IntentFilter
import android.content.SharedPreferences
import com.kmeroccase.consent.DIRECT
import com.kmeroccase.consent.POLICY
import com.kmeroccase.consent.TCF_POLICY
import com.kmeroccase.consent.openIn
import java.io.File
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder

/** SharedPreferences in memory, recording which typed setter wrote each key. */
private class FakePreferences : SharedPreferences {
    val values = java.util.concurrent.ConcurrentHashMap<String, Any>()
    override val all: Map<String, *> get() = HashMap(values)
    override fun edit(): SharedPreferences.Editor = object : SharedPreferences.Editor {
        val pending = mutableListOf<() -> Unit>()
        override fun putInt(key: String, value: Int) = apply { pending += { values[key] = value } }
        override fun putString(key: String, value: String?) = apply { pending += { values[key] = value!! } }
        override fun remove(key: String) = apply { pending += { values.remove(key) } }
        override fun apply() = pending.forEach { it() }
    }
}

/** An Application over the compile-only stubs, enough to run the Android entry point on the JVM. */
private class FakeApplication(private val dir: File) : Application() {
    val callbacks = mutableListOf<ActivityLifecycleCallbacks>()
    val preferences = mutableMapOf<String, FakePreferences>()
    override val applicationContext: Context get() = this
    override val noBackupFilesDir: File get() = dir
    override val packageName: String get() = "com.kmeroccase.app"
    override fun getSharedPreferences(name: String, mode: Int): SharedPreferences =
        preferences.getOrPut(name) { FakePreferences() }
    override fun registerActivityLifecycleCallbacks(callback: ActivityLifecycleCallbacks) {
        callbacks.add(callback)
    }
    override fun unregisterActivityLifecycleCallbacks(callback: ActivityLifecycleCallbacks) {
        callbacks.remove(callback)
    }
    val receivers = mutableListOf<Pair<BroadcastReceiver, IntentFilter>>()
    override fun registerReceiver(receiver: BroadcastReceiver, filter: IntentFilter): Intent? {
        receivers += receiver to filter
        return null
    }
    override fun unregisterReceiver(receiver: BroadcastReceiver) {
        receivers.removeAll { it.first === receiver }
    }
}

class KmerConsentAndroidTest {
    @get:Rule
    val tmp = TemporaryFolder()

    @Test
    fun `the database lives in the no-backup directory`() {
        val app = FakeApplication(tmp.newFolder("no_backup"))
        KmerConsentAndroid.open(app, POLICY, callbackExecutor = DIRECT).use { consent ->
            consent.acceptAll()
            assertTrue(File(app.noBackupFilesDir, KmerConsentAndroid.DATABASE_NAME).isFile)
            assertTrue(consent.canStart("meta_audience_network"), "no ATT on Android")
        }
    }

    @Test
    fun `closing unregisters what open registered on the application`() {
        val app = FakeApplication(tmp.newFolder("no_backup"))
        val consent = KmerConsentAndroid.open(app, POLICY, callbackExecutor = DIRECT)
        assertEquals(1, app.callbacks.size)
        assertEquals(1, app.receivers.size)
        consent.close()
        assertEquals(0, app.callbacks.size, "no lifecycle callback keeps a closed instance alive")
        assertEquals(0, app.receivers.size, "no receiver either")
    }

    @Test
    fun `resuming an activity picks up another process's decision`() {
        val app = FakeApplication(tmp.newFolder("no_backup"))
        KmerConsentAndroid.open(app, POLICY, callbackExecutor = DIRECT).use { consent ->
            assertEquals(1, app.callbacks.size)
            assertFalse(consent.canStart("firebase_analytics"))
            // Another process (here: another instance on the same file) records a decision.
            openIn(app.noBackupFilesDir, name = KmerConsentAndroid.DATABASE_NAME).use { it.acceptAll() }
            assertFalse(consent.canStart("firebase_analytics"), "not seen before a refresh")
            app.callbacks.single().onActivityResumed(Activity())
            val deadline = System.currentTimeMillis() + 5_000
            while (!consent.canStart("firebase_analytics") && System.currentTimeMillis() < deadline) Thread.sleep(10)
            assertTrue(consent.canStart("firebase_analytics"))
        }
    }

    @Test
    fun `the screen turning on re-reads consent (an expiry passed in deep sleep)`() {
        val app = FakeApplication(tmp.newFolder("no_backup"))
        KmerConsentAndroid.open(app, POLICY, callbackExecutor = DIRECT).use { consent ->
            val (receiver, filter) = app.receivers.single()
            assertEquals(listOf(Intent.ACTION_SCREEN_ON, Intent.ACTION_TIME_CHANGED), filter.actions)
            openIn(app.noBackupFilesDir, name = KmerConsentAndroid.DATABASE_NAME).use { it.acceptAll() }
            assertFalse(consent.canStart("firebase_analytics"), "not seen before a refresh")
            receiver.onReceive(app, Intent(Intent.ACTION_SCREEN_ON))
            val deadline = System.currentTimeMillis() + 5_000
            while (!consent.canStart("firebase_analytics") && System.currentTimeMillis() < deadline) Thread.sleep(10)
            assertTrue(consent.canStart("firebase_analytics"))
        }
    }

    @Test
    fun `IAB keys land in the default SharedPreferences with their types`() {
        val app = FakeApplication(tmp.newFolder("no_backup"))
        KmerConsentAndroid.open(app, TCF_POLICY, callbackExecutor = DIRECT).use { consent ->
            consent.acceptAll()
            // Written on a background thread: wait for the decision's keys.
            val deadline = System.currentTimeMillis() + 5_000
            fun prefs() = app.preferences["com.kmeroccase.app_preferences"]?.values ?: emptyMap<String, Any>()
            while (prefs()["IABTCF_PurposeConsents"] != "11111111111" && System.currentTimeMillis() < deadline) {
                Thread.sleep(10)
            }
            val prefs = prefs()
            assertEquals(1, prefs["IABTCF_gdprApplies"], "putInt")
            assertEquals(4095, prefs["IABTCF_CmpSdkID"])
            assertEquals(consent.snapshots.value.tcString, prefs["IABTCF_TCString"], "putString")
            assertEquals("11111111111", prefs["IABTCF_PurposeConsents"])
        }
    }
}
