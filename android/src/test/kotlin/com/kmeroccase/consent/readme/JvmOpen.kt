// The README's JVM entry point (any JVM app, and Android apps that manage the store themselves), run
// by ReadmeSamplesTest.
package com.kmeroccase.consent.readme

// README: kotlin-open
import com.kmeroccase.consent.KmerConsent
import com.kmeroccase.consent.TrackingAuthorization
import java.io.File
import java.util.Locale

// Suspends until the store is open; never blocks the calling thread.
suspend fun openConsent(dataDir: File, policyJson: String): KmerConsent =
    KmerConsent.openInBackground(
        databaseFile = File(dataDir, "kmer-consent.db"), // created if missing
        policyJson = policyJson,
        locale = Locale.getDefault(), // the banner's language; setLocale(…) changes it
        trackingAuthorization = TrackingAuthorization.NOT_APPLICABLE,
        callbackExecutor = null, // null: one background thread of its own, callbacks in order
        appVersion = "5.2.0", // recorded with each decision
        backendPublicKey = null, // the back end's Ed25519 key (64 hex digits), for sync
        accountId = null, // who is logged in at launch; setSubject(…) after a login or logout
    ).awaitReady() // throws what the open threw (KmerConsentException.InvalidPolicy, Storage, …)
// END README
