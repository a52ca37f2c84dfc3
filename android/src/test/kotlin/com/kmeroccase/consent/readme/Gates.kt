// The README's SDK gates, run by ReadmeSamplesTest against the native library.
package com.kmeroccase.consent.readme

// README: kotlin-gates
import com.kmeroccase.consent.KmerConsent

// At each launch, right after opening (ready or not): each SDK gated.
fun startConsentGates(consent: KmerConsent) {
    // Gate each SDK: started once consent allows it, stopped when it no longer does.
    consent.whenAllowed("firebase_analytics", onStop = { setAnalyticsCollection(false) }) {
        setAnalyticsCollection(true)
    }
    consent.whenAllowed("google_mobile_ads") { startAds() }

    // React to every change, withdrawal included (or collect the StateFlow consent.snapshots).
    consent.addListener { snapshot ->
        if (snapshot.sdks["google_mobile_ads"]?.allowed != true) hideAdViews()
    }
}

// The app's own code: the calls each SDK needs.
fun setAnalyticsCollection(enabled: Boolean) { /* FirebaseAnalytics.getInstance(context).setAnalyticsCollectionEnabled(enabled) */ }
fun startAds() { /* MobileAds.initialize(context) */ }
fun hideAdViews() { /* … */ }
fun currentAccountIdOrNull(): String? = null

// The gate itself, anywhere: a memory read, no native call.
fun loadRecommendationsIfAllowed(consent: KmerConsent) {
    if (consent.canStart("kmer_recommendations")) { /* load them */ }
}
// END README
