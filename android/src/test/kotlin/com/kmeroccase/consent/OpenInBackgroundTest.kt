package com.kmeroccase.consent

import java.io.File
import java.util.Locale
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicReference
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertSame
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder

/**
 * `openInBackground`: what the gate answers while the store opens, what is honoured once it is, and
 * what a failed or abandoned open leaves. The core's open is held on a latch, so "before ready" is
 * a state the test chooses, not a race it hopes to win.
 */
class OpenInBackgroundTest {
    @get:Rule
    val tmp = TemporaryFolder()

    private val db get() = File(tmp.root, "consent.db")

    /** The open, held until [release]; [entered] counts down once the open thread is inside it. */
    private inner class HeldOpen(policy: String = POLICY, accountId: String? = null) {
        val entered = CountDownLatch(1)

        /** Counted down as the core's open returns, its files open (before the instance gets it). */
        val opened = CountDownLatch(1)
        val openedOn = AtomicReference<Thread>()
        private val gate = CountDownLatch(1)
        val consent = KmerConsent.openInBackground(
            ConsentOptions(
                databasePath = db.path,
                policyJson = policy,
                locale = "fr-CM",
                appVersion = "5.2.0",
                trackingAuthorization = TrackingAuthorization.NOT_APPLICABLE,
                accountId = accountId,
            ),
            DIRECT,
        ) { options ->
            openedOn.set(Thread.currentThread())
            entered.countDown()
            check(gate.await(20, TimeUnit.SECONDS)) { "the test never released the open" }
            ConsentManager.open(options).also { opened.countDown() }
        }

        fun release() = gate.countDown()

        fun awaitReady(): KmerConsent = runBlocking { withTimeout(20_000) { consent.awaitReady() } }
    }

    /** A store in which everything was accepted, as the last launch left it. */
    private fun acceptedBefore() = openIn(tmp.root).use { it.acceptAll() }

    @Test
    fun `before it is ready the gate allows nothing and says why, without waiting`() {
        acceptedBefore()
        val held = HeldOpen()
        val consent = held.consent
        assertTrue(held.entered.await(10, TimeUnit.SECONDS))
        assertEquals("kmer-consent-open", held.openedOn.get().name, "not the calling thread")
        assertFalse(consent.isReady)
        assertFalse(consent.canStart("google_mobile_ads"), "accepted on disk, but not read yet")
        assertFalse(consent.canStart("kmer_session"), "not even essential")
        assertFalse(consent.isGranted(Category.ESSENTIAL))
        assertEquals(Verdict(false, VerdictReason.NOT_READY), consent.check("google_mobile_ads"))
        // The snapshot it shows is the core's own "not ready" snapshot, built without the core.
        assertEquals(
            notReadySnapshot("fr-CM", TrackingAuthorization.NOT_APPLICABLE),
            consent.snapshots.value,
        )

        held.release()
        assertSame(consent, held.awaitReady())
        assertTrue(consent.isReady)
        assertTrue(consent.canStart("google_mobile_ads"))
        assertEquals(Verdict(true, VerdictReason.GRANTED), consent.check("google_mobile_ads"))
        assertTrue(consent.snapshots.value.sequence > 0uL)
        consent.close()
    }

    @Test
    fun `the snapshot built before the core is loaded is the core's, for every locale and tracking status`() {
        for (tracking in TrackingAuthorization.entries) {
            for (locale in listOf("", "fr-CM", "en")) {
                assertEquals(notReadySnapshot(locale, tracking), KmerConsent.notReady(locale, tracking))
            }
        }
    }

    @Test
    fun `registrations made before it is ready are honoured once it is, and not before`() {
        acceptedBefore()
        val held = HeldOpen()
        val started = CountDownLatch(1)
        val snapshots = java.util.Collections.synchronizedList(ArrayList<ConsentSnapshot>())
        held.consent.whenAllowed("google_mobile_ads") { started.countDown() }
        held.consent.addListener { snapshots += it }
        val never = AtomicInteger()
        held.consent.whenAllowed("firebase_analytics") { never.incrementAndGet() }.close()
        assertTrue(held.entered.await(10, TimeUnit.SECONDS))
        assertFalse(started.await(200, TimeUnit.MILLISECONDS), "nothing starts before the store is read")
        assertTrue(snapshots.isEmpty(), "listeners hear the first snapshot read from the store, not the placeholder")

        held.release()
        assertTrue(started.await(10, TimeUnit.SECONDS), "started once ready")
        held.awaitReady()
        assertTrue(snapshots.isNotEmpty() && snapshots.all { it.sequence > 0uL })
        assertTrue(snapshots.last().sdks.getValue("google_mobile_ads").allowed)
        assertEquals(0, never.get(), "closed before ready: never made, never started")
        held.consent.close()
    }

    @Test
    fun `an SDK id the policy does not list, registered before ready, fails where it can be seen`() {
        val held = HeldOpen()
        val typo = held.consent.whenAllowed("google_mobile_adz") { error("never started") }
        assertNull(typo.failure)
        held.release()
        held.awaitReady()
        assertIs<KmerConsentException.UnknownSdk>(typo.failure)
        // Registered after ready, the same mistake throws at once, as from `open`.
        assertFailsWith<KmerConsentException.UnknownSdk> { held.consent.whenAllowed("google_mobile_adz") {} }
        held.consent.close()
    }

    @Test
    fun `a call that needs the store waits for it, then answers from it`() {
        acceptedBefore()
        val held = HeldOpen()
        assertTrue(held.entered.await(10, TimeUnit.SECONDS))
        val status = AtomicReference<ConsentStatus>()
        val asked = Thread { status.set(held.consent.status) }.apply { start() }
        asked.join(300)
        assertTrue(asked.isAlive, "waits while the store opens")
        held.release()
        asked.join(10_000)
        assertEquals(DecisionSource.ACCEPT_ALL, status.get().lastSource)
        held.consent.close()
    }

    @Test
    fun `a failed open keeps the gate shut and says why, to every kind of caller`() {
        val held = HeldOpen(policy = "not json")
        val told = AtomicReference<Throwable?>()
        val called = CountDownLatch(1)
        held.consent.onReady { told.set(it); called.countDown() }
        val registered = held.consent.whenAllowed("google_mobile_ads") { error("never started") }
        held.release()
        val thrown = assertFailsWith<KmerConsentException.InvalidPolicy> { held.awaitReady() }
        assertTrue(called.await(10, TimeUnit.SECONDS))
        assertSame(thrown, told.get())
        assertFalse(held.consent.isReady)
        assertFalse(held.consent.canStart("google_mobile_ads"))
        assertFailsWith<KmerConsentException.InvalidPolicy> { held.consent.status }
        assertFailsWith<KmerConsentException.InvalidPolicy> { held.consent.check("google_mobile_ads") }
        assertFailsWith<KmerConsentException.InvalidPolicy> { held.consent.whenAllowed("google_mobile_ads") {} }
        assertNull(registered.failure, "the registration did nothing wrong: the open failed")
        held.consent.close()
    }

    @Test
    fun `closed before it is ready, the store is released once open and nothing ever starts`() {
        acceptedBefore()
        val held = HeldOpen()
        val started = AtomicInteger()
        held.consent.whenAllowed("google_mobile_ads") { started.incrementAndGet() }
        held.consent.close()
        assertFalse(held.consent.canStart("google_mobile_ads"))
        assertFailsWith<KmerConsentException.Closed> { held.awaitReady() }
        assertTrue(held.entered.await(10, TimeUnit.SECONDS))
        held.release()
        assertTrue(held.opened.await(10, TimeUnit.SECONDS))
        // The open ends, finds the instance closed and shuts the core down: no file of the store
        // stays open in this process.
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10)
        while (openFilesOf(db) > 0 && System.nanoTime() < deadline) Thread.sleep(10)
        assertEquals(0, openFilesOf(db), "the store is released")
        assertEquals(0, started.get())
        assertFalse(held.consent.isReady)
    }

    /** How many of this process's file descriptors are open on [file] or its -wal and -shm (Linux). */
    private fun openFilesOf(file: File): Int {
        val path = file.canonicalPath
        return File("/proc/self/fd").listFiles()!!.count { fd ->
            runCatching { java.nio.file.Files.readSymbolicLink(fd.toPath()).toString() }.getOrNull()?.startsWith(path) == true
        }
    }

    @Test
    fun `the account given to the open decides the first snapshot anyone sees`() {
        acceptedBefore() // the device's decision grants everything
        val held = HeldOpen(accountId = "account-7")
        val first = AtomicReference<ConsentSnapshot>()
        held.consent.addListener { first.compareAndSet(null, it) }
        val started = AtomicInteger()
        held.consent.whenAllowed("google_mobile_ads") { started.incrementAndGet() }
        held.release()
        held.awaitReady()
        assertEquals(PromptReason.NO_DECISION, first.get().status.promptReason, "a device grant is not adopted")
        assertEquals(0, started.get(), "never started on the device's decision")
        held.consent.close()
    }

    @Test
    fun `the public open in the background ends ready, and onReady after that runs at once`() {
        acceptedBefore()
        val consent = KmerConsent.openInBackground(db, POLICY, Locale.forLanguageTag("fr-CM"), callbackExecutor = DIRECT)
        val started = CountDownLatch(1)
        consent.whenAllowed("google_mobile_ads") { started.countDown() }
        assertTrue(started.await(10, TimeUnit.SECONDS))
        runBlocking { withTimeout(10_000) { consent.awaitReady() } }
        assertTrue(consent.canStart("google_mobile_ads"))
        val again = CountDownLatch(1)
        consent.onReady { if (it == null) again.countDown() }
        assertTrue(again.await(1, TimeUnit.SECONDS), "onReady after ready runs at once")
        consent.close()
    }
}
