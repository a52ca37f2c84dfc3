// Not compiled on Linux (no UIKit): the compiler sees this file only on Apple platforms.
#if canImport(UIKit)
import KmerConsent
import UIKit

// README: ios-screens
// The SDK's own consent screen (a WKWebView, both languages), only when consent needs a prompt;
// the settings entry "Gestion des cookies" / "Cookie management" opens the preferences.
// SwiftUI: ConsentScreen(consent:onFinish:).
@MainActor
func showConsentScreens(_ consent: KmerConsentSDK, root: UIViewController, settings: UIViewController) {
    consent.showBannerIfNeeded(from: root)
    consent.showPreferences(from: settings)
}

// ATT only after marketing consent: Apple's prompt if marketing was granted and ATT is undetermined;
// the answer is reported (meta_audience_network needs both).
@available(iOS 14, *)
@MainActor
func askTrackingIfConsented(_ consent: KmerConsentSDK) async throws -> TrackingAuthorization {
    try await consent.requestTrackingAuthorizationIfConsented()
}
// END README
#endif
