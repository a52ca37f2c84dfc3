//! What the user's choice tells other SDKs: Google Consent Mode v2 signals and the typed key-value
//! entries (the IAB `IABTCF_*` keys) the platform layers write where ad SDKs read them.

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

/// A value as ad SDKs read it from SharedPreferences / UserDefaults: the type matters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum StoredValue {
    /// Written with `putInt` / `set(Int)`.
    Int { value: i32 },
    /// Written with `putString` / `set(String)`.
    Text { value: String },
}

/// One key and its typed value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, uniffi::Record)]
pub struct StoredEntry {
    pub key: String,
    pub value: StoredValue,
}

impl StoredEntry {
    pub fn int(key: &str, value: i32) -> StoredEntry {
        StoredEntry {
            key: key.to_owned(),
            value: StoredValue::Int { value },
        }
    }

    pub fn text(key: &str, value: impl Into<String>) -> StoredEntry {
        StoredEntry {
            key: key.to_owned(),
            value: StoredValue::Text {
                value: value.into(),
            },
        }
    }
}

/// The prefix of every IAB TCF key in SharedPreferences / UserDefaults.
pub const IAB_TCF_PREFIX: &str = "IABTCF_";

/// What to write to the app's key-value store so that its `IABTCF_*` keys are exactly a snapshot's:
/// `put` every entry with its type, and `remove` every other `IABTCF_*` key present now (all of them
/// when the policy has no `tcf` section). Keys without the prefix are never touched.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct IabTcfChanges {
    /// The entries to write, with their types.
    pub put: Vec<StoredEntry>,
    /// The `IABTCF_*` keys to delete, sorted.
    pub remove: Vec<String>,
}

/// The changes that make a store holding `present_keys` hold exactly `entries` among its
/// `IABTCF_*` keys (`entries` is a snapshot's `iab_tcf_keys`). The platform layers apply them as
/// one batch (one `SharedPreferences.Editor`, one round of `UserDefaults` writes).
#[uniffi::export]
pub fn iab_tcf_changes(entries: Vec<StoredEntry>, present_keys: Vec<String>) -> IabTcfChanges {
    let wanted: std::collections::HashSet<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    let mut remove: Vec<String> = present_keys
        .into_iter()
        .filter(|k| k.starts_with(IAB_TCF_PREFIX) && !wanted.contains(k.as_str()))
        .collect();
    remove.sort();
    remove.dedup();
    IabTcfChanges {
        put: entries,
        remove,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iab_changes_remove_only_stale_iab_keys() {
        let entries = vec![
            StoredEntry::int("IABTCF_gdprApplies", 1),
            StoredEntry::text("IABTCF_TCString", "CQ"),
        ];
        let present = [
            "IABTCF_TCString",
            "IABTCF_PublisherRestrictions2",
            "IABTCF_AddtlConsent",
            "app_theme",
            "IABTCF_AddtlConsent",
        ]
        .map(String::from)
        .to_vec();
        let changes = iab_tcf_changes(entries.clone(), present);
        assert_eq!(changes.put, entries);
        assert_eq!(
            changes.remove,
            ["IABTCF_AddtlConsent", "IABTCF_PublisherRestrictions2"]
        );
        let none = iab_tcf_changes(Vec::new(), vec!["IABTCF_TCString".into(), "x".into()]);
        assert_eq!(
            none.remove,
            ["IABTCF_TCString"],
            "no tcf section: every IAB key goes"
        );
    }
}
