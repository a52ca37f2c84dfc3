import Foundation
import KmerConsent

// README: ios-quick-start
// At launch (App init or application(_:didFinishLaunchingWithOptions:)): one instance, kept.
// policyURL: the policy bundled with the app,
// Bundle.main.url(forResource: "kmer-consent-policy", withExtension: "json")!
@MainActor
func startConsent(policyURL: URL) throws -> KmerConsentSDK {
    let policy = try String(contentsOf: policyURL, encoding: .utf8)
    // Returns at once: the store opens on a thread of its own. Until it is ready nothing is
    // allowed; the gates below are kept and start once it is (`try await consent.awaitReady()`,
    // or `consent.onReady { error in … }`, to wait for it).
    // The store in Application Support, excluded from backup; the ATT status of this launch; the
    // bundle's version; who is logged in (nil: nobody). Other parameters: databaseURL:, locale:,
    // trackingAuthorization:, callbackQueue:, appVersion:, backendPublicKey: (a back end that syncs
    // consent, see below).
    let consent = KmerConsentSDK.openInBackground(policyJSON: policy, accountId: currentAccountID())

    // Gate each SDK: started once consent allows it, stopped when it no longer does. The callbacks
    // are @Sendable, not main-actor code: `on: .main` runs them on the main queue, so
    // MainActor.assumeIsolated may call the app's main-actor code from them.
    try consent.whenAllowed("firebase_analytics", on: .main, onStop: {
        MainActor.assumeIsolated { setAnalyticsCollection(false) }
    }) {
        MainActor.assumeIsolated { setAnalyticsCollection(true) }
    }
    try consent.whenAllowed("google_mobile_ads", on: .main) {
        MainActor.assumeIsolated { startAds() }
    }

    // React to every change, withdrawal included.
    Task { @MainActor in
        for await snapshot in consent.snapshots where snapshot.sdks["google_mobile_ads"]?.allowed != true {
            hideAdViews()
        }
    }
    return consent
}

// The app's own code, on the main actor as most SDKs' set-up is.
@MainActor func setAnalyticsCollection(_ enabled: Bool) { /* Analytics.setAnalyticsCollectionEnabled(enabled) */ }
@MainActor func startAds() { /* MobileAds.shared.start() */ }
@MainActor func hideAdViews() { /* … */ }
func currentAccountID() -> String? { nil }
// END README
