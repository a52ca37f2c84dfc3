//! Before shipping a policy: how does it compare with the texts a store's users decided on?
//! (`kmer-consent policy check FILE --against DB`.) A text that would take effect without a new
//! revision, or an older revision than users have seen, never widens anything (the rules refuse
//! it consent), but it does ask every such user again: this says so before it ships.

use std::path::Path;

use crate::error::{Error, Result};
use crate::policy::PolicyText;
use crate::rules::coverage::{changes, PolicyChange};
use crate::store::Store;

/// How a policy file compares with one text stored in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredText {
    pub revision: u32,
    pub hash: String,
    /// `same`, `newer` (the file has a higher revision: fine, users are asked again),
    /// `edited_in_place` (same revision, other content) or `rolled_back` (lower revision).
    pub relation: &'static str,
    /// What differs from the stored text to the file.
    pub changes: Vec<PolicyChange>,
}

impl StoredText {
    /// Whether shipping the file would ask users again without a new revision, or roll back.
    pub fn is_problem(&self) -> bool {
        matches!(self.relation, "edited_in_place" | "rolled_back")
    }
}

/// The file against every text of the same policy id the store holds, highest revision first.
pub fn check_against(database: &Path, policy_json: &str) -> Result<Vec<StoredText>> {
    let file = PolicyText::parse(policy_json)?;
    let store = Store::open_read_only(database)?;
    let mut out = Vec::new();
    for (hash, json) in store.policy_texts(&file.policy.id)? {
        let Ok(stored) = PolicyText::parse(&json) else {
            return Err(Error::BadRecord {
                id: 0,
                reason: format!("the stored policy text {hash} is not a valid policy"),
            });
        };
        let relation = if stored.hash == file.hash {
            "same"
        } else {
            match file.policy.revision.cmp(&stored.policy.revision) {
                std::cmp::Ordering::Greater => "newer",
                std::cmp::Ordering::Equal => "edited_in_place",
                std::cmp::Ordering::Less => "rolled_back",
            }
        };
        out.push(StoredText {
            revision: stored.policy.revision,
            hash,
            relation,
            changes: changes(&stored.policy, &file.policy),
        });
    }
    Ok(out)
}
