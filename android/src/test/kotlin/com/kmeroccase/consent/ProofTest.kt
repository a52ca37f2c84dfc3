package com.kmeroccase.consent

import java.io.File
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder

class ProofTest {
    @get:Rule
    val tmp = TemporaryFolder()

    @Test
    fun `the history records what was shown and catches a record edited behind the SDK's back`() {
        openIn(tmp.root).use { consent ->
            consent.acceptAll()
            consent.rejectAll()
            val history = consent.history()
            assertEquals("5.2.0", history[0].appVersion)
            assertEquals(64, history[0].policyHash!!.length)
            assertEquals(history[0].recordHash, history[1].prevHash)
            val check = consent.verifyHistory()
            assertTrue(check.intact)
            assertEquals(2uL, check.records)
        }
        // Someone with the file (and no SDK) rewrites the app version in every record.
        val db = File(tmp.root, "consent.db")
        val bytes = db.readBytes()
        val text = String(bytes, Charsets.ISO_8859_1).replace("5.2.0", "6.6.6")
        db.writeBytes(text.toByteArray(Charsets.ISO_8859_1))
        openIn(tmp.root).use { consent ->
            val check = consent.verifyHistory()
            assertFalse(check.intact)
            assertEquals(1L, check.firstBrokenRecord)
            assertTrue(check.problem!!.contains("changed"), check.problem)
        }
    }

    @Test
    fun `a receipt is exported for the decision in force`() = openIn(tmp.root).use { consent ->
        assertEquals(null, consent.exportProof())
        consent.save(statistics = true)
        val receipt = consent.exportProof()!!
        assertTrue(receipt.contains("\"schema\":\"kmer-consent-receipt/2\""), receipt)
        assertTrue(receipt.contains("\"receipt_id\":\"${consent.history().last().recordHash}\""))
        assertTrue(receipt.contains("\"type\":\"save\""))
        assertTrue(receipt.contains("\"policy\":"), "it carries the policy text shown")
    }
}
