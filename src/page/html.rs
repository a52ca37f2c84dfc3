//! The consent screens as one self-contained HTML document: the banner (first layer) and the
//! preferences (second layer), rendered from the banner's content in one locale. Android and iOS show
//! it in a WebView; the page reports the user's action as a JSON message through the platform bridge,
//! and `bridge` validates that message before anything is recorded.
//!
//! No network: inline CSS and JS only, allowed by their SHA-256 in a Content-Security-Policy that
//! forbids everything else (no other script, style, image, font, frame, form or connection).

use std::fmt::Write;

use sha2::{Digest, Sha256};

use super::content::Banner;

/// Which layer the page opens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ConsentPageLayer {
    /// The first layer: "Accept all", "Reject all" (same size, weight and position), "Customize",
    /// and "Continue without accepting" (a refusal). Shown when `status.needs_prompt`.
    Banner,
    /// The second layer on its own, for the app's "Cookie management" entry: the four categories
    /// with their SDKs and toggles. Closing it records nothing.
    Preferences,
}

impl ConsentPageLayer {
    /// Its name in the page (`data-layer`) and in page tokens.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ConsentPageLayer::Banner => "banner",
            ConsentPageLayer::Preferences => "preferences",
        }
    }
}

/// Words of the page's chrome that the policy does not carry, in French and English (other
/// locales use English).
struct Chrome {
    policy_link: &'static str,
    always_on: &'static str,
    back: &'static str,
    close: &'static str,
    sdks: &'static str,
    privacy: &'static str,
    controller: &'static str,
}

const FRENCH: Chrome = Chrome {
    policy_link: "Politique de cookies",
    always_on: "Toujours actif",
    back: "Retour",
    close: "Fermer",
    sdks: "Services",
    privacy: "Confidentialité",
    controller: "Responsable du traitement",
};

const ENGLISH: Chrome = Chrome {
    policy_link: "Cookie policy",
    always_on: "Always on",
    back: "Back",
    close: "Close",
    sdks: "Services",
    privacy: "Privacy",
    controller: "Data controller",
};

const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// The page for `banner` (already localized, toggles set to what is granted now), opening on
/// `layer`, carrying `token` for the bridge message.
pub fn render(banner: &Banner, layer: ConsentPageLayer, token: &str) -> String {
    let chrome = if banner.locale.split(['-', '_']).next() == Some("fr") {
        &FRENCH
    } else {
        &ENGLISH
    };
    let csp = format!(
        "default-src 'none'; style-src 'sha256-{}'; script-src 'sha256-{}'; base-uri 'none'; \
         form-action 'none'",
        base64(&Sha256::digest(STYLE.as_bytes())),
        base64(&Sha256::digest(SCRIPT.as_bytes())),
    );
    let standalone = layer == ConsentPageLayer::Preferences;
    let mut html = String::with_capacity(16 * 1024);
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n<title>{title}</title>\n\
         <style>{STYLE}</style>\n</head>\n\
         <body data-token=\"{token}\" data-layer=\"{layer}\">\n",
        lang = attr(&banner.locale),
        csp = attr(&csp),
        title = text(&banner.title),
        token = attr(token),
        layer = layer.as_str(),
    );
    first_layer(&mut html, banner, chrome, standalone);
    second_layer(&mut html, banner, chrome, standalone);
    let _ = write!(html, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    html
}

fn first_layer(html: &mut String, b: &Banner, chrome: &Chrome, hidden: bool) {
    let _ = write!(
        html,
        "<section id=\"banner\" class=\"layer\" aria-labelledby=\"banner-title\"{hidden}>\n\
         <div class=\"top\"><button type=\"button\" class=\"quiet\" data-action=\"dismiss\">{without}</button></div>\n\
         <h1 id=\"banner-title\" tabindex=\"-1\">{title}</h1>\n<p>{body}</p>\n\
         <p class=\"small\">{controller}: {name} · <a href=\"{url}\" target=\"_blank\" rel=\"noopener noreferrer\">{policy}</a></p>\n\
         <div class=\"choices\">\n\
         <button type=\"button\" class=\"choice\" data-action=\"reject_all\">{reject}</button>\n\
         <button type=\"button\" class=\"choice\" data-action=\"accept_all\">{accept}</button>\n\
         </div>\n\
         <button type=\"button\" class=\"secondary\" data-show=\"preferences\">{customize}</button>\n\
         </section>\n",
        hidden = if hidden { " hidden" } else { "" },
        without = text(&b.dismiss),
        title = text(&b.title),
        body = text(&b.body),
        controller = text(chrome.controller),
        name = text(&b.controller_name),
        url = attr(&b.policy_url),
        policy = text(chrome.policy_link),
        reject = text(&b.reject_all),
        accept = text(&b.accept_all),
        customize = text(&b.customize),
    );
}

fn second_layer(html: &mut String, b: &Banner, chrome: &Chrome, standalone: bool) {
    let (leave_action, leave_label) = if standalone {
        ("data-action=\"close\"", chrome.close)
    } else {
        ("data-show=\"banner\"", chrome.back)
    };
    let _ = write!(
        html,
        "<section id=\"preferences\" class=\"layer\" aria-labelledby=\"preferences-title\"{hidden}>\n\
         <div class=\"top\"><button type=\"button\" class=\"quiet\" {leave_action}>{leave}</button></div>\n\
         <h1 id=\"preferences-title\" tabindex=\"-1\">{title}</h1>\n",
        hidden = if standalone { "" } else { " hidden" },
        leave = text(leave_label),
        title = text(&b.title),
    );
    for c in &b.categories {
        let id = c.category.as_str();
        let _ = write!(
            html,
            "<div class=\"category\">\n<div class=\"row\">\n<label for=\"c-{id}\" id=\"l-{id}\">{title}</label>\n",
            title = text(&c.title),
        );
        if c.always_on {
            let _ = writeln!(
                html,
                "<input type=\"checkbox\" role=\"switch\" id=\"c-{id}\" checked disabled \
                 aria-describedby=\"d-{id}\"><span class=\"always\">{always}</span>",
                always = text(chrome.always_on),
            );
        } else {
            let _ = writeln!(
                html,
                "<input type=\"checkbox\" role=\"switch\" id=\"c-{id}\" name=\"{id}\" data-category=\"{id}\" \
                 aria-describedby=\"d-{id}\"{checked}>",
                checked = if c.granted { " checked" } else { "" },
            );
        }
        let _ = write!(
            html,
            "</div>\n<p id=\"d-{id}\">{description}</p>\n",
            description = text(&c.description),
        );
        if !c.sdks.is_empty() {
            let _ = write!(
                html,
                "<details><summary>{label} ({n})</summary>\n<ul>\n",
                label = text(chrome.sdks),
                n = c.sdks.len(),
            );
            for s in &c.sdks {
                let _ = writeln!(
                    html,
                    "<li><strong>{name}</strong> · {provider} · <a href=\"{url}\" target=\"_blank\" \
                     rel=\"noopener noreferrer\">{privacy}</a></li>",
                    name = text(&s.name),
                    provider = text(&s.provider),
                    url = attr(&s.privacy_url),
                    privacy = text(chrome.privacy),
                );
            }
            html.push_str("</ul>\n</details>\n");
        }
        html.push_str("</div>\n");
    }
    let _ = write!(
        html,
        "<div class=\"choices\">\n\
         <button type=\"button\" class=\"choice\" data-action=\"reject_all\">{reject}</button>\n\
         <button type=\"button\" class=\"choice\" data-action=\"accept_all\">{accept}</button>\n\
         </div>\n\
         <button type=\"button\" class=\"secondary\" data-action=\"save\">{save}</button>\n\
         </section>\n",
        reject = text(&b.reject_all),
        accept = text(&b.accept_all),
        save = text(&b.save),
    );
}

/// Escapes text for an HTML element's content.
fn text(s: &str) -> String {
    attr(s)
}

/// Escapes text for a double-quoted HTML attribute (and for content: the same five characters).
fn attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Standard base64 with padding (CSP hash sources).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
