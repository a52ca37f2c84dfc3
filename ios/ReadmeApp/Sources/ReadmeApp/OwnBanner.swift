import KmerConsent

// README: ios-own-banner
// The prompt state, and an app-drawn banner instead of the SDK's own screen.
func showOwnBannerIfNeeded(_ consent: KmerConsentSDK) throws {
    let status = try consent.status()
    guard status.needsPrompt else { return }  // why: status.promptReason (.noDecision, .expired, …)
    let banner = try consent.banner(locale: .current)  // texts, categories and SDKs in that language
    print(banner.title, banner.acceptAll, banner.rejectAll)
    // Each button records exactly what the user did: try consent.acceptAll(), rejectAll(),
    // dismiss() (closing the banner is a refusal), save(statistics:personalization:marketing:);
    // later, from the settings, withdraw().
    do {
        try consent.save(statistics: true)
    } catch KmerConsentError.Storage(let reason) {
        // Nothing was granted: the store could not write it. (A refusal or a withdrawal never
        // throws this: it takes effect at once, status.notYetSaved, and is written when it can be.)
        print("not saved: \(reason)")
    }
}
// END README
