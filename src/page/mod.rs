//! The SDK's own consent page, end to end: what it shows ([`content`]), the HTML document a WebView
//! displays ([`html`], with its CSS and script beside it), the message it posts back ([`message`])
//! and the token that binds that message to the page it came from ([`token`]).

pub mod content;
pub mod html;
pub mod message;
pub mod token;

pub use content::{banner, Banner, BannerCategory, BannerSdk};
pub use html::{render, ConsentPageLayer};
pub use message::MAX_MESSAGE_BYTES;
pub use token::TOKEN_LIFETIME_MS;

#[cfg(test)]
mod tests;
