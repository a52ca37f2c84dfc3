//! What the consent banner and the preferences screen show, in one negotiated locale.

use crate::category::{Category, Grants};
use crate::locale::negotiate;
use crate::policy::Policy;

/// The banner's content in one locale: texts, and the categories with their SDKs.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Banner {
    /// The policy locale chosen for the requested one (`fr-CM` → `fr`).
    pub locale: String,
    pub title: String,
    pub body: String,
    pub accept_all: String,
    pub reject_all: String,
    pub customize: String,
    pub save: String,
    /// "Continue without accepting": closes the banner and records a refusal (`dismiss`).
    pub dismiss: String,
    /// Who is responsible for the processing.
    pub controller_name: String,
    pub controller_contact: String,
    /// The full cookie policy.
    pub policy_url: String,
    /// The four categories, in display order.
    pub categories: Vec<BannerCategory>,
}

/// One category on the preferences screen.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BannerCategory {
    pub category: Category,
    pub title: String,
    pub description: String,
    /// Essential: shown as always on, without a toggle.
    pub always_on: bool,
    /// Whether it is granted now: the toggle's initial position (off unless granted).
    pub granted: bool,
    pub sdks: Vec<BannerSdk>,
}

/// One SDK as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BannerSdk {
    pub id: String,
    pub name: String,
    pub provider: String,
    pub privacy_url: String,
    pub requires_tracking_authorization: bool,
}

/// The banner for `requested_locale`, with the toggles set from `grants`.
pub fn banner(policy: &Policy, requested_locale: &str, grants: Grants) -> Banner {
    let locale = negotiate(requested_locale, policy);
    // Validation guarantees every locale has every text; the default locale is the fallback.
    let texts = policy
        .texts
        .get(&locale)
        .or_else(|| policy.texts.get(&policy.default_locale))
        .cloned();
    let localized = |map: &std::collections::BTreeMap<String, String>| {
        map.get(&locale)
            .or_else(|| map.get(&policy.default_locale))
            .cloned()
            .unwrap_or_default()
    };
    let categories = Category::ALL
        .into_iter()
        .map(|category| {
            let text = policy.categories.get(category);
            BannerCategory {
                category,
                title: localized(&text.title),
                description: localized(&text.description),
                always_on: category == Category::Essential,
                granted: grants.get(category),
                sdks: policy
                    .sdks
                    .iter()
                    .filter(|s| s.category == category)
                    .map(|s| BannerSdk {
                        id: s.id.clone(),
                        name: s.name.clone(),
                        provider: s.provider.clone(),
                        privacy_url: s.privacy_url.clone(),
                        requires_tracking_authorization: s.requires_tracking_authorization,
                    })
                    .collect(),
            }
        })
        .collect();
    let t = texts.unwrap_or_default();
    Banner {
        locale,
        title: t.title,
        body: t.body,
        accept_all: t.accept_all,
        reject_all: t.reject_all,
        customize: t.customize,
        save: t.save,
        dismiss: t.dismiss,
        controller_name: policy.controller.name.clone(),
        controller_contact: policy.controller.contact.clone(),
        policy_url: policy.controller.policy_url.clone(),
        categories,
    }
}
