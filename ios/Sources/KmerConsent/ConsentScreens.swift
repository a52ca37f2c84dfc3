// The consent screens on iOS: the core's consent page in a WKWebView. This file only loads the page,
// passes the page's message to the core and dismisses; what to show and what a message means are the
// core's (and are tested there, and through `consentPage` / `applyUIMessage` on every platform).
// WebKit and UIKit do not exist on Linux, so this file is not compiled by this project's CI.
#if canImport(WebKit) && canImport(UIKit)
import UIKit
import WebKit

/// A view controller showing the consent page: the banner, or the preferences alone. When the user
/// has acted it calls `onFinish` with the status after the decision (`nil` if the page could not be
/// shown), or dismisses itself when there is no `onFinish`. Not for app extensions (it opens links
/// with `UIApplication`).
@MainActor
@available(iOSApplicationExtension, unavailable)
public final class ConsentViewController: UIViewController, WKNavigationDelegate {
    private let consent: KmerConsentSDK
    private let layer: ConsentPageLayer
    private let locale: Locale
    private let onFinish: (@MainActor (ConsentStatus?) -> Void)?
    private var webView: WKWebView?
    /// The page rendered ahead (`showBannerIfNeeded`), or `nil` to render when the view loads.
    private var html: String?
    /// Set while the page itself loads: the only navigation allowed.
    private var loadingPage = false

    public init(
        consent: KmerConsentSDK, layer: ConsentPageLayer = .banner, locale: Locale = .current,
        onFinish: (@MainActor (ConsentStatus?) -> Void)? = nil
    ) {
        self.consent = consent
        self.layer = layer
        self.locale = locale
        self.onFinish = onFinish
        super.init(nibName: nil, bundle: nil)
    }

    public required init?(coder: NSCoder) { nil }

    public override func loadView() {
        let configuration = WKWebViewConfiguration()
        // The page posts to `window.webkit.messageHandlers.kmerConsent`; held weakly (WebKit retains it).
        configuration.userContentController.add(MessageRelay(self), name: "kmerConsent")
        configuration.websiteDataStore = .nonPersistent()
        let webView = WKWebView(frame: .zero, configuration: configuration)
        webView.navigationDelegate = self
        self.webView = webView
        view = webView
        load()
    }

    /// Renders the page now; false if it cannot be (the SDK is closed): then do not present this.
    func prepare() -> Bool {
        html = try? consent.consentPage(layer: layer, locale: locale)
        return html != nil
    }

    private func load() {
        guard let page = html ?? (try? consent.consentPage(layer: layer, locale: locale)) else {
            return finish(nil)
        }
        html = nil
        loadingPage = true
        webView?.loadHTMLString(page, baseURL: nil)
    }

    fileprivate func received(_ message: WKScriptMessage) {
        guard message.frameInfo.isMainFrame, let json = message.body as? String else { return }
        do {
            finish(try consent.applyUIMessage(json))
        } catch {
            load()  // a stale or forged message: show a freshly rendered page
        }
    }

    private func finish(_ status: ConsentStatus?) {
        if let onFinish { onFinish(status) } else { dismiss(animated: true) }
    }

    /// The page never navigates: only its own load is allowed; https links open in Safari.
    public func webView(
        _ webView: WKWebView, decidePolicyFor navigationAction: WKNavigationAction
    ) async -> WKNavigationActionPolicy {
        if loadingPage, navigationAction.targetFrame?.isMainFrame == true,
           navigationAction.request.url?.absoluteString == "about:blank"
        {
            loadingPage = false
            return .allow
        }
        if let url = navigationAction.request.url, url.scheme == "https" {
            UIApplication.shared.open(url, options: [:], completionHandler: nil)
        }
        return .cancel
    }
}

/// Forwards script messages without WebKit keeping the view controller alive.
@MainActor
@available(iOSApplicationExtension, unavailable)
private final class MessageRelay: NSObject, WKScriptMessageHandler {
    private weak var target: ConsentViewController?

    init(_ target: ConsentViewController) {
        self.target = target
    }

    func userContentController(_ controller: WKUserContentController, didReceive message: WKScriptMessage) {
        target?.received(message)
    }
}

@available(iOSApplicationExtension, unavailable)
extension KmerConsentSDK {
    /// Presents the banner full screen over `presenter` when consent needs a prompt (no decision,
    /// expired, another policy text, a refusal reminder due: `ConsentStatus.promptReason` says which)
    /// and `presenter` presents nothing else (call it from `viewDidAppear` safely). Returns whether it
    /// did.
    @MainActor
    @discardableResult
    public func showBannerIfNeeded(from presenter: UIViewController, locale: Locale = .current) -> Bool {
        guard (try? status().needsPrompt) == true else { return false }
        return present(.banner, from: presenter, locale: locale, style: .fullScreen)
    }

    /// Presents the preferences (the app's "Gestion des cookies" / "Cookie management" entry); false
    /// if `presenter` already presents something or the SDK is closed.
    @MainActor
    @discardableResult
    public func showPreferences(from presenter: UIViewController, locale: Locale = .current) -> Bool {
        present(.preferences, from: presenter, locale: locale, style: .pageSheet)
    }

    @MainActor
    private func present(
        _ layer: ConsentPageLayer, from presenter: UIViewController, locale: Locale,
        style: UIModalPresentationStyle
    ) -> Bool {
        guard presenter.presentedViewController == nil else { return false }
        let controller = ConsentViewController(consent: self, layer: layer, locale: locale)
        guard controller.prepare() else { return false }  // rendered before anything shows
        controller.modalPresentationStyle = style
        controller.isModalInPresentation = true  // leaving is a choice the page records
        presenter.present(controller, animated: true)
        return true
    }
}

#if canImport(SwiftUI)
import SwiftUI

/// The consent page for SwiftUI: `.fullScreenCover(isPresented:) { ConsentScreen(consent: sdk) { _ in
/// showing = false } }`.
@available(iOSApplicationExtension, unavailable)
public struct ConsentScreen: UIViewControllerRepresentable {
    private let consent: KmerConsentSDK
    private let layer: ConsentPageLayer
    private let locale: Locale
    private let onFinish: @MainActor (ConsentStatus?) -> Void

    public init(
        consent: KmerConsentSDK, layer: ConsentPageLayer = .banner, locale: Locale = .current,
        onFinish: @escaping @MainActor (ConsentStatus?) -> Void
    ) {
        self.consent = consent
        self.layer = layer
        self.locale = locale
        self.onFinish = onFinish
    }

    public func makeUIViewController(context: Context) -> ConsentViewController {
        ConsentViewController(consent: consent, layer: layer, locale: locale, onFinish: onFinish)
    }

    public func updateUIViewController(_ controller: ConsentViewController, context: Context) {}
}
#endif
#endif
