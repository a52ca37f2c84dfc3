package com.kmeroccase.consent

import java.io.File
import java.time.Instant
import java.time.temporal.ChronoUnit
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder

class SyncTest {
    @get:Rule
    val tmp = TemporaryFolder()

    @Test
    fun `logging in adopts only the device's refusal and logging out returns to the device decision`() =
        openIn(tmp.root).use { consent ->
            consent.rejectAll()
            val adopted = consent.setSubject("account-42")
            assertEquals(DecisionSource.SUBJECT_LINK, adopted.lastSource)
            assertFalse(adopted.needsPrompt, "not asked twice")
            consent.acceptAll()
            assertTrue(consent.canStart("firebase_analytics"))
            consent.setSubject(null)
            assertFalse(consent.canStart("firebase_analytics"), "canStart follows the switch at once")
            // A device decision that grants anything is not taken by an account: it is asked.
            consent.save(statistics = true)
            val asked = consent.setSubject("account-43")
            assertEquals(PromptReason.NO_DECISION, asked.promptReason)
            assertFalse(consent.canStart("firebase_analytics"))
            // The adoption never goes to the back end; the choices do.
            val pending = consent.pendingReceipts()
            assertEquals(3, pending.size)
            assertTrue(pending.none { it.receiptJson.contains("\"type\":\"subject_link\"") })
            assertFailsWith<KmerConsentException.InvalidSubject> { consent.setSubject("") }
            Unit
        }

    @Test
    fun `the outbox survives restarts until acknowledged`() {
        openIn(tmp.root).use { it.acceptAll(); it.rejectAll() }
        openIn(tmp.root).use { consent ->
            val pending = consent.pendingReceipts()
            assertEquals(listOf(1L, 2L), pending.map { it.id })
            assertTrue(pending[0].receiptJson.contains("\"type\":\"accept_all\""))
            consent.acknowledge(listOf(1L))
        }
        openIn(tmp.root).use { consent ->
            assertEquals(listOf(2L), consent.pendingReceipts().map { it.id })
        }
    }

    @Test
    fun `a receipt from another device is imported once`() {
        val backend = Backend(tmp.root)
        val receipt = openIn(tmp.newFolder("other"), backendPublicKey = backend.publicKey).use { other ->
            other.setSubject("account-7")
            other.acceptAll()
            backend.countersign(other.pendingReceipts().single().receiptJson)
        }
        openIn(tmp.newFolder("this"), backendPublicKey = backend.publicKey).use { consent ->
            assertFailsWith<KmerConsentException.InvalidReceipt> { consent.importReceipt(receipt) }
            consent.setSubject("account-7")
            assertTrue(consent.importReceipt(receipt))
            assertEquals(DecisionSource.IMPORT, consent.status.lastSource)
            assertTrue(consent.canStart("google_mobile_ads"))
            assertFalse(consent.importReceipt(receipt), "never twice")
            assertTrue(consent.pendingReceipts().isEmpty(), "imports are not sent back")
            assertFailsWith<KmerConsentException.InvalidReceipt> {
                consent.importReceipt(receipt.replace("\"marketing\": true", "\"marketing\": false"))
            }
        }
    }

    @Test
    fun `an import without the back end's signature is refused`() {
        val backend = Backend(tmp.root)
        // The back end's clock, in whole seconds, from before either decision: so its times order
        // after A's acceptance whatever second boundary falls in between (the test is not flaky).
        val seen = Instant.now().truncatedTo(ChronoUnit.SECONDS)
        // Device A: the account accepts everything; its receipt is not signed yet.
        val unsigned = openIn(tmp.newFolder("a"), backendPublicKey = backend.publicKey).use { a ->
            a.setSubject("account-7")
            a.acceptAll()
            a.pendingReceipts().single().receiptJson
        }
        // Device B: the same account rejects everything.
        val b = tmp.newFolder("b")
        val refusal = openIn(b, backendPublicKey = backend.publicKey).use { consent ->
            consent.setSubject("account-7")
            consent.rejectAll()
            assertFailsWith<KmerConsentException.InvalidReceipt> { consent.importReceipt(unsigned) }
            assertFalse(consent.canStart("google_mobile_ads"), "nothing changed")
            assertEquals(1, consent.history().size)
            consent.pendingReceipts().single().receiptJson
        }
        // The back end sees B's refusal, then A's acceptance.
        val acknowledgement = File(tmp.root, "ack.json")
        backend.countersign(refusal, at = seen, ackOut = acknowledgement)
        val signed = backend.countersign(unsigned, at = seen.plusSeconds(1))
        openIn(b).use { withoutKey ->
            withoutKey.setSubject("account-7")
            assertFailsWith<KmerConsentException.BackendKey> { withoutKey.importReceipt(signed) }
            assertFalse(withoutKey.canStart("google_mobile_ads"))
        }
        openIn(b, backendPublicKey = backend.publicKey).use { consent ->
            consent.setSubject("account-7")
            assertFalse(consent.importReceipt(signed), "B's refusal is not witnessed here yet: the refusal wins")
            consent.acknowledgeSigned(acknowledgement.readText())
            assertTrue(consent.pendingReceipts().isEmpty(), "out of the outbox")
            assertEquals(seen.toEpochMilli(), consent.history().single().witnessedAtMs)
            assertEquals(1uL, consent.verifyHistory().witnessedRecords)
            assertTrue(consent.importReceipt(signed), "the back end saw A's acceptance later")
            assertEquals(DecisionSource.IMPORT, consent.status.lastSource)
            assertTrue(consent.canStart("google_mobile_ads"))
        }
    }

    @Test
    fun `erasure forgets the user and only them`() = openIn(tmp.root).use { consent ->
        consent.acceptAll()
        consent.setSubject("leaving-user")
        consent.rejectAll()
        val status = consent.eraseSubject()
        assertEquals(PromptReason.NO_DECISION, status.promptReason)
        assertTrue(consent.history().isEmpty())
        assertFalse(consent.canStart("firebase_analytics"))
        assertTrue(consent.verifyHistory().intact)
        consent.setSubject(null)
        assertTrue(consent.canStart("firebase_analytics"))
    }

    @Test
    fun `another process's decision reaches the gate within the watch period`() {
        openIn(tmp.root).use { consent ->
            assertFalse(consent.refreshIfChanged())
            val watch = consent.watchForChanges(periodMs = 50)
            openIn(tmp.root).use { other -> other.acceptAll() }
            val deadline = System.currentTimeMillis() + 2_000
            while (!consent.canStart("firebase_analytics") && System.currentTimeMillis() < deadline) Thread.sleep(10)
            assertTrue(consent.canStart("firebase_analytics"), "seen without any call from the app")
            watch.close()
        }
    }
}
