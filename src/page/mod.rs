//! The SDK's own consent page, end to end: what it shows ([`content`]), the HTML document a WebView
//! displays ([`html`], with its CSS and script beside it), and, in `crate::bridge`, the message it
//! posts back and the token that binds that message to the page.

pub mod content;
pub mod html;

pub use content::{banner, Banner, BannerCategory, BannerSdk};
pub use html::{render, ConsentPageLayer};
