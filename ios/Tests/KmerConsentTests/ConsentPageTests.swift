import Foundation
import XCTest

@testable import KmerConsent

/// The consent page as the iOS host uses it: render, then apply the message the page posts. The same
/// scenarios as android/src/test/kotlin/…/ConsentPageTest.kt.
final class ConsentPageTests: StoreTestCase {
    private func open() throws -> KmerConsentSDK {
        try KmerConsentSDK.open(
            databaseURL: dir.appendingPathComponent("consent.sqlite"),
            policyJSON: samplePolicy("kmeroccase.json"),
            locale: Locale(identifier: "fr_CM"),
            trackingAuthorization: .notApplicable,
            appVersion: "5.2.0"
        )
    }

    private func token(_ page: String) throws -> String {
        let start = try XCTUnwrap(page.range(of: "data-token=\""))
        let rest = page[start.upperBound...]
        return String(rest[..<(try XCTUnwrap(rest.firstIndex(of: "\"")))])
    }

    private func message(_ token: String, _ action: String, choices: String? = nil) -> String {
        let extra = choices.map { ",\"choices\":\($0)" } ?? ""
        return "{\"type\":\"kmer-consent/ui\",\"version\":1,\"token\":\"\(token)\",\"action\":\"\(action)\"\(extra)}"
    }

    func testThePagesMessageRecordsTheDecisionWithItsSourceAndLanguage() throws {
        let consent = try open()
        defer { consent.close() }
        let page = try consent.consentPage(layer: .banner, locale: Locale(identifier: "en_GB"))
        XCTAssertTrue(page.hasPrefix("<!doctype html>\n<html lang=\"en\">"))
        XCTAssertTrue(page.contains("data-action=\"accept_all\">Accept all<"))
        let status = try consent.applyUIMessage(
            message(try token(page), "save", choices: "{\"statistics\":true,\"personalization\":false,\"marketing\":false}"))
        XCTAssertEqual(status.lastSource, .pageSave)
        XCTAssertTrue(consent.canStart("firebase_analytics"), "canStart reflects it when the call returns")
        XCTAssertFalse(consent.canStart("google_mobile_ads"))
        XCTAssertEqual(try consent.history().map(\.locale), ["en"])
        // A page answers once: after any decision, render it again.
        XCTAssertThrowsError(try consent.applyUIMessage(message(try token(page), "reject_all"))) { error in
            guard case .InvalidUiMessage = error as? KmerConsentError else { return XCTFail("\(error)") }
        }
        let fresh = try consent.consentPage(layer: .banner, locale: Locale(identifier: "en_GB"))
        XCTAssertEqual(try consent.applyUIMessage(message(try token(fresh), "reject_all")).lastSource, .pageRejectAll)
        XCTAssertFalse(consent.canStart("firebase_analytics"))
    }

    func testAForgedOrMalformedMessageThrowsAndRecordsNothing() throws {
        let consent = try open()
        defer { consent.close() }
        let valid = try token(try consent.consentPage())
        let refused = [
            message("0.fr.00000000000000000000000000000000", "accept_all"),
            message(valid, "accept_everything"),
            message(valid, "accept_all", choices: "{\"statistics\":true}"),
            "{}",
            String(repeating: "x", count: 5000),
        ]
        for bad in refused {
            XCTAssertThrowsError(try consent.applyUIMessage(bad)) { error in
                guard case .InvalidUiMessage = error as? KmerConsentError else {
                    return XCTFail("\(error) for \(bad.prefix(60))")
                }
            }
        }
        XCTAssertTrue(try consent.history().isEmpty)
        XCTAssertTrue(try consent.status().needsPrompt)
    }

    func testClosingThePreferencesRecordsNothingAndThePageShowsWhatIsGranted() throws {
        let consent = try open()
        defer { consent.close() }
        try consent.save(marketing: true)
        let page = try consent.consentPage(layer: .preferences, locale: Locale(identifier: "fr_FR"))
        XCTAssertTrue(page.contains("data-category=\"marketing\" aria-describedby=\"d-marketing\" checked>"))
        try consent.applyUIMessage(message(try token(page), "close"))
        XCTAssertEqual(try consent.history().count, 1)
    }
}
