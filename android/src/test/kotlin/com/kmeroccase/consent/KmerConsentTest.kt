package com.kmeroccase.consent

import java.io.File
import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.async
import kotlinx.coroutines.launch
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.yield
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder

class KmerConsentTest {
    @get:Rule
    val tmp = TemporaryFolder()

    private fun open(executor: java.util.concurrent.Executor? = DIRECT) = openIn(tmp.root, executor)

    @Test
    fun `an expiry reaches the gate by itself, with no call in between`() {
        // A one-day policy and a decision recorded (by the CLI, at a chosen time) one day minus five
        // seconds ago: it expires five seconds after the store is opened.
        val policy = policyWith("\"consent_lifetime_days\": 390", "\"consent_lifetime_days\": 1")
            .replaceFirst("\"refusal_reprompt_days\": 180", "\"refusal_reprompt_days\": 1")
        val policyFile = File(tmp.root, "policy.json").apply { writeText(policy) }
        val db = File(tmp.root, "expiring.db")
        val decidedAt = java.time.Instant.now().minus(java.time.Duration.ofDays(1)).plusSeconds(5)
        cli("--db", db.path, "--policy", policyFile.path, "--now", decidedAt.toString(), "accept-all")

        KmerConsent.open(db, policy, callbackExecutor = DIRECT).use { consent ->
            assertTrue(consent.canStart("firebase_analytics"), "granted until the expiry")
            val stopped = CountDownLatch(1)
            consent.whenAllowed("firebase_analytics", onStop = { stopped.countDown() }) {}
            val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20)
            while (consent.canStart("firebase_analytics") && System.nanoTime() < deadline) Thread.sleep(20)
            assertFalse(consent.canStart("firebase_analytics"), "the expiry closed the gate")
            assertTrue(consent.canStart("kmer_session"), "essential SDKs are not affected")
            assertEquals(PromptReason.EXPIRED, consent.status.promptReason)
            assertEquals(PromptReason.EXPIRED, consent.snapshots.value.status.promptReason)
            assertTrue(stopped.await(5, TimeUnit.SECONDS), "the SDK was told to stop")
        }
    }

    @Test
    fun `the whole flow, from no decision to withdrawal`() = open().use { consent ->
        val first = consent.status
        assertTrue(first.needsPrompt)
        assertEquals(PromptReason.NO_DECISION, first.promptReason)
        assertEquals(Verdict(false, VerdictReason.NO_DECISION), consent.check("firebase_analytics"))
        assertTrue(consent.canStart("kmer_session"))
        assertEquals(VerdictReason.ESSENTIAL, consent.check("kmer_session").reason)
        assertFalse(consent.canStart("unknown_sdk"))
        assertEquals(VerdictReason.UNKNOWN_SDK, consent.check("unknown_sdk").reason)

        val accepted = consent.acceptAll()
        assertFalse(accepted.needsPrompt)
        assertNull(accepted.promptReason)
        for (sdk in listOf("firebase_analytics", "kmer_recommendations", "google_mobile_ads", "meta_audience_network")) {
            assertTrue(consent.canStart(sdk), sdk)
        }

        consent.rejectAll()
        assertEquals(Verdict(false, VerdictReason.REFUSED), consent.check("google_mobile_ads"))
        assertTrue(consent.canStart("kmer_session"))

        consent.save(statistics = true)
        assertTrue(consent.canStart("firebase_analytics"))
        assertFalse(consent.canStart("kmer_recommendations"))
        assertTrue(consent.isGranted(Category.STATISTICS))
        assertFalse(consent.isGranted(Category.MARKETING))

        consent.save(mapOf(Category.MARKETING to true))
        assertTrue(consent.canStart("google_mobile_ads"))
        assertFalse(consent.canStart("firebase_analytics"), "left out of the map = refused")

        consent.withdraw()
        consent.dismiss()
        assertFalse(consent.canStart("google_mobile_ads"))
        assertEquals(
            listOf(
                DecisionSource.ACCEPT_ALL,
                DecisionSource.REJECT_ALL,
                DecisionSource.SAVE,
                DecisionSource.SAVE,
                DecisionSource.WITHDRAW,
                DecisionSource.DISMISS,
            ),
            consent.history().map { it.source },
        )
        assertEquals("fr", consent.history().first().locale)
    }

    @Test
    fun `a choice survives close and reopen`() {
        open().use { it.save(statistics = true, marketing = true) }
        open().use { consent ->
            assertFalse(consent.status.needsPrompt)
            assertEquals(DecisionSource.SAVE, consent.status.lastSource)
            assertTrue(consent.canStart("firebase_analytics"))
            assertTrue(consent.canStart("google_mobile_ads"))
            assertFalse(consent.canStart("kmer_recommendations"))
            assertEquals(1, consent.history().size)
        }
    }

    @Test
    fun `a bad policy is an InvalidPolicy exception naming the field`() {
        val bad = policyWith("\"category\": \"personalization\"", "\"category\": \"ads\"")
        val e = assertFailsWith<KmerConsentException.InvalidPolicy> {
            KmerConsent.open(File(tmp.root, "c.db"), bad)
        }
        assertEquals("sdks[2].category", e.path)
        // The message is the core's, the same on every platform.
        assertTrue(e.toString().startsWith("invalid policy: sdks[2].category: unknown variant `ads`"), "$e")

        val malformed = assertFailsWith<KmerConsentException.InvalidPolicy> {
            KmerConsent.open(File(tmp.root, "c.db"), "not json")
        }
        assertEquals("", malformed.path)
        assertTrue(malformed.reason.contains("line 1"), malformed.reason)
        assertFalse(File(tmp.root, "c.db").exists(), "nothing written for a refused policy")
    }

    @Test
    fun `an unwritable path is a Storage exception naming it`() {
        val nowhere = File(tmp.root, "no/such/dir/consent.db")
        val e = assertFailsWith<KmerConsentException.Storage> { KmerConsent.open(nowhere, POLICY) }
        assertTrue(e.toString().contains(nowhere.path), "$e")
    }

    @Test
    fun `every other core error is a typed exception`() = open().use { consent ->
        assertFailsWith<KmerConsentException.EssentialCannotBeRefused> {
            consent.save(mapOf(Category.ESSENTIAL to false, Category.STATISTICS to true))
        }
        assertTrue(consent.history().isEmpty())
        val unknown = assertFailsWith<KmerConsentException.UnknownSdk> { consent.whenAllowed("nope") {} }
        assertEquals("nope", unknown.sdkId)
        consent.acceptAll()
        val v2 = policyWith("\"revision\": 1", "\"revision\": 2")
        consent.updatePolicy(v2)
        assertEquals(PromptReason.POLICY_CHANGED, consent.status.promptReason)
        // A lower revision is applied: the choice made on the newer text grants nothing under it.
        consent.acceptAll()
        assertEquals(PromptReason.POLICY_ROLLED_BACK, consent.updatePolicy(POLICY).promptReason)
        assertFalse(consent.canStart("google_mobile_ads"))
        assertFailsWith<KmerConsentException.PolicyUpdateRefused> {
            consent.updatePolicy(policyWith("\"id\": \"kmeroccase\"", "\"id\": \"another\""))
        }
        // One sealed hierarchy: a `when` over it needs no else branch.
        val e: KmerConsentException = unknown
        val kind = when (e) {
            is KmerConsentException.InvalidPolicy -> "policy"
            is KmerConsentException.PolicyUpdateRefused -> "update"
            is KmerConsentException.EssentialCannotBeRefused -> "essential"
            is KmerConsentException.UnknownSdk -> "sdk"
            is KmerConsentException.Storage -> "storage"
            is KmerConsentException.InvalidReceipt -> "receipt"
            is KmerConsentException.InvalidSubject -> "subject"
            is KmerConsentException.InvalidUiMessage -> "page"
            is KmerConsentException.BackendKey -> "backend key"
            is KmerConsentException.InvalidAcknowledgement -> "acknowledgement"
            is KmerConsentException.NoSecureRandomness -> "randomness"
            is KmerConsentException.Closed -> "closed"
        }
        assertEquals("sdk", kind)
    }

    @Test
    fun `the StateFlow follows every change`() = open().use { consent ->
        val start = consent.snapshots.value
        assertFalse(start.sdks.getValue("firebase_analytics").allowed)
        runBlocking {
            val granted = async {
                withTimeout(5_000) { consent.snapshots.first { it.sdks.getValue("firebase_analytics").allowed } }
            }
            yield()
            Thread { consent.acceptAll() }.start()
            val snapshot = granted.await()
            assertTrue(snapshot.sequence > start.sequence)
            assertFalse(snapshot.status.needsPrompt)
        }
        consent.withdraw()
        assertEquals(VerdictReason.REFUSED, consent.snapshots.value.sdks.getValue("firebase_analytics").reason)
    }

    @Test
    fun `a StateFlow collector that resumes at once may call back into the SDK`() {
        val consent = open()
        // Dispatchers.Unconfined resumes the collector on the thread that set the value, as
        // Dispatchers.Main.immediate does on the main thread: that must not be inside the core's lock.
        val scope = kotlinx.coroutines.CoroutineScope(kotlinx.coroutines.Dispatchers.Unconfined)
        val banners = AtomicInteger()
        val job = scope.launch {
            consent.snapshots.collect {
                consent.banner()
                banners.incrementAndGet()
            }
        }
        val recorded = CountDownLatch(1)
        Thread { consent.acceptAll(); recorded.countDown() }.apply { isDaemon = true }.start()
        // Closed only when nothing is stuck: a deadlocked core would hang close() too.
        assertTrue(recorded.await(10, TimeUnit.SECONDS), "acceptAll returned: no deadlock")
        assertTrue(banners.get() >= 2, "the collector ran for the change too")
        job.cancel()
        consent.close()
    }

    @Test
    fun `a listener gets the current snapshot, then each change, until closed`() = open().use { consent ->
        val seen = Collections.synchronizedList(mutableListOf<ConsentSnapshot>())
        val registration = consent.addListener(DIRECT) { seen.add(it) }
        assertEquals(1, seen.size)
        consent.acceptAll()
        consent.rejectAll()
        assertEquals(listOf(false, true, false), seen.map { it.sdks.getValue("google_mobile_ads").allowed })
        assertTrue(seen.zipWithNext().all { (a, b) -> a.sequence < b.sequence })
        registration.close()
        registration.close()
        consent.acceptAll()
        assertEquals(3, seen.size)
    }

    @Test
    fun `whenAllowed starts once and stops once`() = open().use { consent ->
        val calls = Collections.synchronizedList(mutableListOf<String>())
        consent.whenAllowed("google_mobile_ads", DIRECT, onStop = { calls.add("stop") }) { calls.add("start") }
        assertEquals(emptyList(), calls)
        consent.acceptAll()
        consent.acceptAll()
        assertEquals(listOf("start"), calls)
        consent.rejectAll()
        consent.withdraw()
        assertEquals(listOf("start", "stop"), calls)
        // Already allowed at registration: started at once.
        val session = AtomicInteger()
        consent.whenAllowed("kmer_session", DIRECT) { session.incrementAndGet() }
        assertEquals(1, session.get())
    }

    @Test
    fun `a withdrawal while the store cannot be written closes the gate`() = open().use { consent ->
        consent.acceptAll()
        val stopped = CountDownLatch(1)
        consent.whenAllowed("google_mobile_ads", DIRECT, onStop = { stopped.countDown() }) {}
        // Another process holds SQLite's write lock: the SDK's write waits out its busy timeout (5 s).
        whileStoreLocked(File(tmp.root, "consent.db")) {
            val status = consent.withdraw()
            assertTrue(status.notYetSaved, "it returned normally, not yet saved")
            assertFalse(consent.canStart("google_mobile_ads"), "the gate closed at once")
            assertTrue(stopped.await(5, TimeUnit.SECONDS), "the SDK was told to stop")
        }
        assertFalse(consent.refresh().notYetSaved, "written once the store allows it")
        open().use { fresh -> assertFalse(fresh.canStart("google_mobile_ads"), "read back from the file") }
    }

    @Test
    fun `callbacks run on the executor the caller chose`() {
        val consent = open(executor = null) // the default: the SDK's own callback thread
        consent.use {
            val started = CountDownLatch(1)
            val thread = java.util.concurrent.atomic.AtomicReference<String>()
            consent.whenAllowed("firebase_analytics") {
                thread.set(Thread.currentThread().name)
                started.countDown()
            }
            consent.acceptAll()
            assertTrue(started.await(5, TimeUnit.SECONDS))
            assertEquals("kmer-consent-callbacks", thread.get())
        }
    }

    @Test
    fun `a callback may call back into the SDK without deadlock`() = open().use { consent ->
        val nested = AtomicBoolean(false)
        consent.whenAllowed("google_mobile_ads", DIRECT) {
            // An ad SDK that reads consent while starting, then the user withdraws from inside it.
            assertTrue(consent.canStart("google_mobile_ads"))
            consent.status
            consent.history()
            if (!nested.getAndSet(true)) consent.save(statistics = true)
        }
        finishesWithin(10) { consent.acceptAll() }
        assertTrue(nested.get())
        assertFalse(consent.canStart("google_mobile_ads"))
        assertTrue(consent.canStart("firebase_analytics"))
        assertEquals(2, consent.history().size)
    }

    @Test
    fun `eight threads reading while another writes only ever see whole snapshots`() = open().use { consent ->
        val stop = AtomicBoolean(false)
        val answers = Collections.synchronizedSet(mutableSetOf<Boolean>())
        val inconsistent = AtomicInteger()
        val errors = Collections.synchronizedList(mutableListOf<Throwable>())
        val readers = (1..8).map {
            Thread {
                try {
                    while (!stop.get()) {
                        answers.add(consent.canStart("firebase_analytics"))
                        val snapshot = consent.snapshots.value
                        // The writer changes statistics and personalization together.
                        if (snapshot.sdks.getValue("firebase_analytics") != snapshot.sdks.getValue("kmer_recommendations") ||
                            snapshot.status.categories[Category.STATISTICS] != snapshot.status.categories[Category.PERSONALIZATION]
                        ) {
                            inconsistent.incrementAndGet()
                        }
                        assertTrue(consent.canStart("kmer_session"))
                    }
                } catch (t: Throwable) {
                    errors.add(t)
                }
            }.apply { start() }
        }
        repeat(200) { i -> consent.save(statistics = i % 2 == 0, personalization = i % 2 == 0) }
        stop.set(true)
        readers.forEach { it.join() }
        assertEquals(emptyList(), errors)
        assertEquals(0, inconsistent.get())
        assertEquals(setOf(true, false), answers, "the readers saw the decision change")
    }

    @Test
    fun `close ends everything and the gate fails closed`() {
        val consent = open()
        consent.acceptAll()
        val calls = AtomicInteger()
        consent.whenAllowed("google_mobile_ads", DIRECT, onStop = { calls.incrementAndGet() }) { calls.incrementAndGet() }
        assertEquals(1, calls.get())
        consent.close()
        consent.close()
        assertFalse(consent.canStart("google_mobile_ads"))
        assertFalse(consent.canStart("kmer_session"))
        // Every call throws the documented error, which an app catching KmerConsentException handles.
        val closedCalls = listOf<() -> Any?>(
            { consent.acceptAll() }, { consent.history() }, { consent.check("kmer_session") },
            { consent.status }, { consent.exportProof() }, { consent.banner() }, { consent.consentPage() },
            { consent.setLocale(java.util.Locale.US) }, { consent.watchForChanges() },
            { consent.whenAllowed("firebase_analytics") {} }, { consent.addListener { } },
        )
        for (call in closedCalls) {
            val thrown = assertFailsWith<KmerConsentException> { call() }
            assertTrue(thrown is KmerConsentException.Closed, "$thrown")
            assertEquals("the consent SDK instance is closed", thrown.toString())
        }
        assertFalse(consent.isGranted(Category.ESSENTIAL))
        assertTrue(consent.snapshots.value.sdks.values.none { it.allowed }, "the last snapshot allows nothing")
        assertEquals(VerdictReason.CLOSED, consent.snapshots.value.sdks.getValue("kmer_session").reason)
        // The store is released: another instance opens it and sees the decision.
        open().use { other ->
            assertTrue(other.canStart("google_mobile_ads"))
            other.rejectAll()
        }
        assertEquals(1, calls.get(), "no callback after close")
    }

    @Test
    fun `the banner follows the device locale`() = open().use { consent ->
        assertEquals("Tout refuser", consent.banner(java.util.Locale.forLanguageTag("fr-CM")).rejectAll)
        val en = consent.banner(java.util.Locale.forLanguageTag("en-CM"))
        assertEquals("en", en.locale)
        assertEquals("Reject all", en.rejectAll)
        assertEquals(4, en.categories.size)
        assertEquals("en", consent.setLocale(java.util.Locale.US))
        consent.acceptAll()
        assertEquals("en", consent.history().last().locale)
    }

    @Test
    fun `tracking authorization gates only the SDKs that need it`() = open().use { consent ->
        consent.acceptAll()
        assertTrue(consent.canStart("meta_audience_network"), "Android: NOT_APPLICABLE by default")
        consent.setTrackingAuthorization(TrackingAuthorization.DENIED)
        assertEquals(VerdictReason.TRACKING_NOT_AUTHORIZED, consent.check("meta_audience_network").reason)
        assertTrue(consent.canStart("google_mobile_ads"))
    }
}
