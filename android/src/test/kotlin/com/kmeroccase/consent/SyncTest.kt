package com.kmeroccase.consent

import java.io.File
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
    fun `logging in adopts the device decision and logging out returns to it`() = openIn(tmp.root).use { consent ->
        consent.save(statistics = true)
        val status = consent.setSubject("account-42")
        assertEquals(DecisionSource.SUBJECT_LINK, status.lastSource)
        assertTrue(consent.canStart("firebase_analytics"), "canStart follows the switch at once")
        consent.rejectAll()
        assertFalse(consent.canStart("firebase_analytics"))
        consent.setSubject(null)
        assertTrue(consent.canStart("firebase_analytics"))
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
        val receipt = openIn(tmp.newFolder("other")).use { other ->
            other.setSubject("account-7")
            other.acceptAll()
            other.exportProof()!!
        }
        openIn(tmp.newFolder("this")).use { consent ->
            assertFailsWith<KmerConsentException.InvalidReceipt> { consent.importReceipt(receipt) }
            consent.setSubject("account-7")
            assertTrue(consent.importReceipt(receipt))
            assertEquals(DecisionSource.IMPORT, consent.status.lastSource)
            assertTrue(consent.canStart("google_mobile_ads"))
            assertFalse(consent.importReceipt(receipt), "never twice")
            assertFailsWith<KmerConsentException.InvalidReceipt> {
                consent.importReceipt(receipt.replace("\"marketing\":true", "\"marketing\":false"))
            }
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
