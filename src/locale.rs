//! Locale negotiation: the device says `fr-CM` or `en_US`, the policy has `fr` and `en`.

use crate::policy::Policy;

/// The policy locale to use for a device locale: an exact match (case-insensitive, `_` read as `-`),
/// else a policy locale with the same language (`fr-CM` → `fr`), else the policy's default.
pub fn negotiate(requested: &str, policy: &Policy) -> String {
    let wanted = requested.trim().replace('_', "-").to_ascii_lowercase();
    let language = wanted.split('-').next().unwrap_or_default();
    let primary = |tag: &str| {
        tag.split('-')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    policy
        .locales
        .iter()
        .find(|l| l.to_ascii_lowercase() == wanted)
        .or_else(|| {
            policy
                .locales
                .iter()
                .find(|l| l.to_ascii_lowercase() == language)
        })
        .or_else(|| {
            policy
                .locales
                .iter()
                .find(|l| !language.is_empty() && primary(l) == language)
        })
        .unwrap_or(&policy.default_locale)
        .clone()
}
