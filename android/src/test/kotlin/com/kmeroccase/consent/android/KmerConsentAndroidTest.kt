package com.kmeroccase.consent.android

import android.app.Activity
import android.app.Application
import android.content.Context
import com.kmeroccase.consent.DIRECT
import com.kmeroccase.consent.POLICY
import com.kmeroccase.consent.openIn
import java.io.File
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder

/** An Application over the compile-only stubs, enough to run the Android entry point on the JVM. */
private class FakeApplication(private val dir: File) : Application() {
    val callbacks = mutableListOf<ActivityLifecycleCallbacks>()
    override val applicationContext: Context get() = this
    override val noBackupFilesDir: File get() = dir
    override fun registerActivityLifecycleCallbacks(callback: ActivityLifecycleCallbacks) {
        callbacks.add(callback)
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
}
