// The README's app-drawn banner, run by ReadmeSamplesTest.
package com.kmeroccase.consent.readme

// README: kotlin-own-banner
import com.kmeroccase.consent.KmerConsent
import com.kmeroccase.consent.KmerConsentException

// The prompt state, and an app-drawn banner instead of the SDK's own screen.
fun showOwnBannerIfNeeded(consent: KmerConsent) {
    val status = consent.status
    if (!status.needsPrompt) return // why: status.promptReason (NO_DECISION, EXPIRED, …)
    val banner = consent.banner() // texts, categories and SDKs in the device language
    println("${banner.title} ${banner.acceptAll} ${banner.rejectAll}")
    // Each button records exactly what the user did: consent.acceptAll(), rejectAll(), dismiss()
    // (closing the banner is a refusal), save(statistics = true, …); later, from the settings, withdraw().
    try {
        consent.save(statistics = true)
    } catch (e: KmerConsentException.Storage) {
        // Nothing was granted: the store could not write it. (A refusal or a withdrawal never throws
        // this: it takes effect at once, status.notYetSaved, and is written when it can be.)
        println("not saved: ${e.reason}")
    }
}
// END README
