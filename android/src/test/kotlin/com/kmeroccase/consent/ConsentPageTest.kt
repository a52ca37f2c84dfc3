package com.kmeroccase.consent

import java.util.Locale
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder

/** The consent page as the Android host uses it: render, then apply the message the page posts. */
class ConsentPageTest {
    @get:Rule
    val tmp = TemporaryFolder()

    private fun tokenOf(page: String): String = Regex("data-token=\"([^\"]+)\"").find(page)!!.groupValues[1]

    private fun message(token: String, action: String, choices: String? = null): String =
        """{"type":"kmer-consent/ui","version":1,"token":"$token","action":"$action"""" +
            (choices?.let { ""","choices":$it""" } ?: "") + "}"

    @Test
    fun `the page's message records the decision with its source and language`() = openIn(tmp.root).use { consent ->
        val page = consent.consentPage(ConsentPageLayer.BANNER, Locale.ENGLISH)
        assertTrue(page.startsWith("<!doctype html>\n<html lang=\"en\">"), page.take(80))
        assertTrue(page.contains("data-action=\"accept_all\">Accept all<"))
        val status = consent.applyUiMessage(
            message(tokenOf(page), "save", """{"statistics":true,"personalization":false,"marketing":false}"""),
        )
        assertEquals(DecisionSource.PAGE_SAVE, status.lastSource)
        assertTrue(consent.canStart("firebase_analytics"), "canStart reflects it when the call returns")
        assertFalse(consent.canStart("google_mobile_ads"))
        assertEquals("en", consent.history().single().locale)
        // A page answers once: after any decision, render it again.
        assertFailsWith<KmerConsentException.InvalidUiMessage> {
            consent.applyUiMessage(message(tokenOf(page), "reject_all"))
        }
        val fresh = consent.consentPage(ConsentPageLayer.BANNER, Locale.ENGLISH)
        assertEquals(DecisionSource.PAGE_REJECT_ALL, consent.applyUiMessage(message(tokenOf(fresh), "reject_all")).lastSource)
        assertFalse(consent.canStart("firebase_analytics"))
    }

    @Test
    fun `a forged or malformed message throws and records nothing`() = openIn(tmp.root).use { consent ->
        val token = tokenOf(consent.consentPage())
        for (bad in listOf(
            message("0.fr.00000000000000000000000000000000", "accept_all"),
            message(token, "accept_everything"),
            message(token, "accept_all", """{"statistics":true}"""),
            "{}",
            "x".repeat(5000),
        )) {
            assertFailsWith<KmerConsentException.InvalidUiMessage>(bad.take(60)) { consent.applyUiMessage(bad) }
        }
        assertTrue(consent.history().isEmpty())
        assertTrue(consent.status.needsPrompt)
    }

    @Test
    fun `closing the preferences records nothing, and the page shows what is granted`() = openIn(tmp.root).use { consent ->
        consent.save(marketing = true)
        val page = consent.consentPage(ConsentPageLayer.PREFERENCES, Locale.FRENCH)
        assertTrue(page.contains("data-category=\"marketing\" aria-describedby=\"d-marketing\" checked>"))
        consent.applyUiMessage(message(tokenOf(page), "close"))
        assertEquals(1, consent.history().size)
    }
}
