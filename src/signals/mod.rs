//! What the user's choice tells other SDKs: Google Consent Mode v2 signals ([`consent_mode`]), the
//! IAB TCF v2.3 TC string and keys ([`tcf`]), and the typed key-value entries the platform layers
//! write where ad SDKs read them, with the changes that keep that store exact
//! ([`iab_tcf_changes`]).

pub mod consent_mode;
pub mod tcf;

pub use consent_mode::ConsentModeSignals;

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
