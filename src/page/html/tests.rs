//! The rendered page: escaping, its Content-Security-Policy, layers and toggles.

use sha2::{Digest, Sha256};

use super::*;
use crate::category::{Category, Grants};
use crate::page::banner;
use crate::policy::Policy;

fn policy() -> Policy {
    Policy::parse(include_str!("../../../policies/kmeroccase.json")).unwrap()
}

fn page(locale: &str, layer: ConsentPageLayer, grants: Grants) -> String {
    render(&banner(&policy(), locale, grants), layer, "123.abc")
}

fn between<'a>(html: &'a str, open: &str, close: &str) -> &'a str {
    let start = html.find(open).unwrap() + open.len();
    &html[start..start + html[start..].find(close).unwrap()]
}

#[test]
fn the_csp_allows_exactly_the_inline_script_and_style() {
    let html = page("fr", ConsentPageLayer::Banner, Grants::NONE);
    // The attribute escapes quotes; the browser reads it unescaped.
    let csp = between(
        &html,
        "http-equiv=\"Content-Security-Policy\" content=\"",
        "\"",
    )
    .replace("&#39;", "'");
    let script = between(&html, "<script>", "</script>");
    let style = between(&html, "<style>", "</style>");
    let hash = |s: &str| format!("'sha256-{}'", base64(&Sha256::digest(s.as_bytes())));
    assert!(csp.starts_with("default-src 'none';"), "{csp}");
    assert!(
        csp.contains(&format!("script-src {};", hash(script))),
        "{csp}"
    );
    assert!(
        csp.contains(&format!("style-src {};", hash(style))),
        "{csp}"
    );
    assert_eq!(html.matches("<script").count(), 1, "one script, inline");
    assert!(
        !html.contains("http://") && !html.contains("src="),
        "nothing loaded from anywhere"
    );
}

#[test]
fn base64_pads_like_the_standard() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
}

#[test]
fn policy_text_is_escaped() {
    let mut content = banner(&policy(), "en", Grants::NONE);
    content.title = "<script>alert('x')</script> & \"more\"".into();
    content.categories[1].sdks[0].name = "<img src=x onerror=alert(1)>".into();
    let html = render(&content, ConsentPageLayer::Banner, "1.\"><script>");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("data-token=\"1.&quot;&gt;&lt;script&gt;\""));
    assert_eq!(html.matches("<script>").count(), 1);
}

#[test]
fn accept_and_reject_are_twins_in_both_layers() {
    let html = page("fr", ConsentPageLayer::Banner, Grants::NONE);
    let first = between(&html, "<section id=\"banner\"", "</section>");
    let choices = between(first, "<div class=\"choices\">", "</div>");
    assert_eq!(choices.matches("class=\"choice\"").count(), 2, "{choices}");
    assert!(
        choices.contains("data-action=\"reject_all\">Tout refuser<"),
        "{choices}"
    );
    assert!(
        choices.contains("data-action=\"accept_all\">Tout accepter<"),
        "{choices}"
    );
    let second = between(&html, "<section id=\"preferences\"", "</section>");
    assert_eq!(
        between(second, "<div class=\"choices\">", "</div>"),
        choices
    );
    assert!(first.contains("data-action=\"dismiss\">Continuer sans accepter<"));
}

#[test]
fn the_layer_decides_what_shows_first_and_how_the_preferences_close() {
    let banner_first = page("en", ConsentPageLayer::Banner, Grants::NONE);
    assert!(banner_first
        .contains("<section id=\"banner\" class=\"layer\" aria-labelledby=\"banner-title\">"));
    assert!(banner_first.contains("aria-labelledby=\"preferences-title\" hidden>"));
    assert!(
        banner_first.contains("data-show=\"banner\">Back<"),
        "preferences go back to the banner"
    );
    let settings = page("en", ConsentPageLayer::Preferences, Grants::NONE);
    assert!(settings.contains("aria-labelledby=\"banner-title\" hidden>"));
    assert!(
        settings.contains("data-action=\"close\">Close<"),
        "standalone preferences close"
    );
    assert!(settings.contains("data-layer=\"preferences\""));
}

#[test]
fn toggles_are_off_unless_granted_and_essential_is_always_on() {
    let mut grants = Grants::NONE;
    grants.set(Category::Marketing, true);
    let html = page("en", ConsentPageLayer::Preferences, grants);
    assert!(html.contains("id=\"c-essential\" checked disabled"));
    assert!(html.contains("data-category=\"marketing\" aria-describedby=\"d-marketing\" checked>"));
    assert!(html.contains("data-category=\"statistics\" aria-describedby=\"d-statistics\">"));
    assert!(
        html.contains("data-category=\"personalization\" aria-describedby=\"d-personalization\">")
    );
    assert!(
        !html.contains("data-category=\"essential\""),
        "essential is not a choice"
    );
    // Every SDK of the policy is listed with its provider and privacy link.
    for sdk in &policy().sdks {
        assert!(
            html.contains(&format!("<strong>{}</strong>", attr(&sdk.name))),
            "{}",
            sdk.id
        );
        assert!(html.contains(&attr(&sdk.privacy_url)), "{}", sdk.id);
    }
}

#[test]
fn the_language_follows_the_negotiated_locale() {
    let fr = page("fr-CM", ConsentPageLayer::Banner, Grants::NONE);
    assert!(fr.contains("<html lang=\"fr\">") && fr.contains("Toujours actif"));
    let en = page("en-GB", ConsentPageLayer::Banner, Grants::NONE);
    assert!(
        en.contains("<html lang=\"en\">") && en.contains("Always on") && en.contains("Accept all")
    );
}
