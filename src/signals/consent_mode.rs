//! Google Consent Mode v2: the four signals Google's SDKs read, from the categories in force.

use crate::category::{Category, Grants};
use crate::policy::ConsentModeMapping;

/// Google Consent Mode v2: each signal granted (true) or denied (false). Pass them to
/// `FirebaseAnalytics.setConsent` (Android) / `Analytics.setConsent` (iOS) on every change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Record)]
pub struct ConsentModeSignals {
    pub analytics_storage: bool,
    pub ad_storage: bool,
    pub ad_user_data: bool,
    pub ad_personalization: bool,
}

impl ConsentModeSignals {
    /// Every signal denied.
    pub const DENIED: ConsentModeSignals = ConsentModeSignals {
        analytics_storage: false,
        ad_storage: false,
        ad_user_data: false,
        ad_personalization: false,
    };

    /// The signals for the categories in force: a signal is granted when all its categories are.
    pub fn from_grants(mapping: &ConsentModeMapping, grants: Grants) -> Self {
        let all = |categories: &[Category]| categories.iter().all(|c| grants.get(*c));
        ConsentModeSignals {
            analytics_storage: all(&mapping.analytics_storage),
            ad_storage: all(&mapping.ad_storage),
            ad_user_data: all(&mapping.ad_user_data),
            ad_personalization: all(&mapping.ad_personalization),
        }
    }

    /// Each signal granted only where both are (the narrower of two mappings).
    pub fn and(&self, other: &ConsentModeSignals) -> ConsentModeSignals {
        ConsentModeSignals {
            analytics_storage: self.analytics_storage && other.analytics_storage,
            ad_storage: self.ad_storage && other.ad_storage,
            ad_user_data: self.ad_user_data && other.ad_user_data,
            ad_personalization: self.ad_personalization && other.ad_personalization,
        }
    }

    /// Signal name and state, in Google's order (`analytics_storage` first).
    pub fn entries(&self) -> [(&'static str, bool); 4] {
        [
            ("analytics_storage", self.analytics_storage),
            ("ad_storage", self.ad_storage),
            ("ad_user_data", self.ad_user_data),
            ("ad_personalization", self.ad_personalization),
        ]
    }
}
