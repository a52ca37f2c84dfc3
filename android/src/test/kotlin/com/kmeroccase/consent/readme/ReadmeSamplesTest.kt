package com.kmeroccase.consent.readme

import com.kmeroccase.consent.ConsentPageLayer
import com.kmeroccase.consent.KmerConsentException
import com.kmeroccase.consent.POLICY
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder

/**
 * Runs the README's Kotlin code (the marked regions of this package; tests/readme.rs checks that
 * the README shows exactly them) against the native library, from opening to erasure.
 */
class ReadmeSamplesTest {
    @get:Rule
    val tmp = TemporaryFolder()

    @Test
    fun theReadmeCodeRunsFromOpeningToErasure() {
        runBlocking { openConsent(tmp.root, POLICY) }.use { consent ->
            startConsentGates(consent)
            assertTrue(consent.status.needsPrompt)
            assertFalse(consent.canStart("firebase_analytics"))

            showOwnBannerIfNeeded(consent)
            assertFalse(consent.status.needsPrompt)
            assertTrue(consent.canStart("firebase_analytics"))
            assertFalse(consent.canStart("google_mobile_ads"))
            loadRecommendationsIfAllowed(consent)

            val receipt = assertNotNull(proofOfConsent(consent), "a decision was recorded")
            assertTrue(receipt.contains("\"statistics\""), receipt)
            logIn(consent, "account-42")
            assertTrue(consent.status.needsPrompt, "a login never adopts a grant")
            val posted = mutableListOf<String>()
            // No back end key was given to open: a signed acknowledgement cannot be kept.
            assertFailsWith<KmerConsentException.BackendKey> { sync(consent) { posted += it; "{}" } }
            assertEquals(1, posted.size, "the device's decision waits in the outbox")
            assertFailsWith<KmerConsentException.BackendKey> { applyFromAnotherDevice(consent, receipt) }
            eraseAccount(consent)
            assertTrue(consent.status.needsPrompt)
            assertTrue(consent.consentPage(ConsentPageLayer.BANNER).isNotEmpty())
        }
    }

    @Test
    fun theCallbacksOfTheGatesRunOnTheExecutorOfOpen() {
        runBlocking { openConsent(tmp.root, POLICY) }.use { consent ->
            startConsentGates(consent)
            val started = CountDownLatch(1)
            consent.whenAllowed("google_mobile_ads") { started.countDown() }
            consent.acceptAll()
            assertTrue(started.await(5, TimeUnit.SECONDS))
        }
    }
}
