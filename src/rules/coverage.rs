//! What a decision made on one policy text covers under the policy in use.
//!
//! Consent is bound to the text the user was shown (its hash), not to the revision number alone:
//! - the same text: the decision covers what it says;
//! - an earlier revision: the user is asked again, and until they answer the decision covers only
//!   what they saw, as they saw it: an SDK listed in the same category with the same vendor ids,
//!   the shorter of the two lifetimes and reminder delays, the TCF purposes and Consent Mode
//!   signals both texts give a category;
//! - a later revision (rolled back), the same revision with other content (edited in place), or a
//!   text that was not recorded: the decision covers nothing, and the user is asked again.
//!
//! Nothing here can widen what the user agreed to; every rule takes the narrower of the two texts.

use crate::category::{Category, Grants};
use crate::policy::{Policy, PolicyText, Sdk};
use crate::record::Decision;
use crate::signals::ConsentModeSignals;

/// How the text a decision was made on relates to the policy in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// Exactly this text.
    Same,
    /// An earlier revision of the same policy.
    EarlierRevision,
    /// A later revision than the policy in use: the app shows an older text.
    LaterRevision,
    /// The same revision with other content.
    EditedInPlace,
    /// The text is not known here (not recorded, unreadable, or not the one the record names).
    Unknown,
}

/// How `decision`'s text (`shown`, when it could be read) relates to `current`.
pub fn relation(decision: &Decision, shown: Option<&PolicyText>, current: &PolicyText) -> Relation {
    let Some(hash) = decision.policy_hash.as_deref() else {
        return Relation::Unknown;
    };
    if hash == current.hash {
        return Relation::Same;
    }
    let Some(shown) = shown.filter(|s| {
        s.hash == hash
            && s.policy.id == decision.policy_id
            && s.policy.revision == decision.policy_revision
    }) else {
        return Relation::Unknown;
    };
    match shown.policy.revision.cmp(&current.policy.revision) {
        std::cmp::Ordering::Less => Relation::EarlierRevision,
        std::cmp::Ordering::Greater => Relation::LaterRevision,
        std::cmp::Ordering::Equal => Relation::EditedInPlace,
    }
}

/// How the user saw one SDK of the policy in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Listed in the same category, with the same TCF vendor and Google ATP ids.
    AsNow,
    /// Listed with the same ids but in another category.
    InAnotherCategory,
    /// Not listed, or listed with other vendor ids (another company to whom data would go).
    Not,
}

/// A decision's text beside the policy in use: everything the gate and the signals may grant
/// under the decision is what both texts grant.
#[derive(Debug, Clone, Copy)]
pub struct Coverage<'a> {
    pub shown: &'a Policy,
    pub current: &'a Policy,
}

impl<'a> Coverage<'a> {
    /// A decision made on the policy in use.
    pub fn same(policy: &'a Policy) -> Coverage<'a> {
        Coverage {
            shown: policy,
            current: policy,
        }
    }

    /// How the user saw `sdk` (one of the current policy's).
    pub fn seen(&self, sdk: &Sdk) -> Seen {
        match self.shown.sdk(&sdk.id) {
            Some(old)
                if old.tcf_vendor_id == sdk.tcf_vendor_id
                    && old.google_atp_id == sdk.google_atp_id =>
            {
                if old.category == sdk.category {
                    Seen::AsNow
                } else {
                    Seen::InAnotherCategory
                }
            }
            _ => Seen::Not,
        }
    }

    /// Whether the decision can grant `sdk` at all (its category still decides).
    pub fn covers(&self, sdk: &Sdk) -> bool {
        self.seen(sdk) == Seen::AsNow
    }

    /// Whether the user was shown `sdk`'s vendor, in whatever category (TCF "disclosed").
    pub fn disclosed(&self, sdk: &Sdk) -> bool {
        self.seen(sdk) != Seen::Not
    }

    /// Whether `sdk` needs tracking authorization: when either text says so.
    pub fn requires_tracking(&self, sdk: &Sdk) -> bool {
        sdk.requires_tracking_authorization
            || self
                .shown
                .sdk(&sdk.id)
                .is_some_and(|old| old.requires_tracking_authorization)
    }

    /// Days a decision lasts: the shorter of the two lifetimes.
    pub fn lifetime_days(&self) -> u32 {
        self.shown
            .consent_lifetime_days
            .min(self.current.consent_lifetime_days)
    }

    /// Days before a refusal is asked again: the shorter of the two delays.
    pub fn reprompt_days(&self) -> u32 {
        self.shown
            .refusal_reprompt_days
            .min(self.current.refusal_reprompt_days)
    }

    /// The TCF purposes `category` grants under both texts (none when either has no `tcf`).
    pub fn purposes(&self, category: Category) -> Vec<u8> {
        let (Some(now), Some(then)) = (&self.current.tcf, &self.shown.tcf) else {
            return Vec::new();
        };
        let then = then.purposes.of(category);
        now.purposes
            .of(category)
            .iter()
            .copied()
            .filter(|p| then.contains(p))
            .collect()
    }

    /// The Consent Mode signals `grants` give under both texts' mappings.
    pub fn consent_mode(&self, grants: Grants) -> ConsentModeSignals {
        let now = ConsentModeSignals::from_grants(&self.current.consent_mode, grants);
        let then = ConsentModeSignals::from_grants(&self.shown.consent_mode, grants);
        now.and(&then)
    }
}

/// One difference between two texts of a policy, for developers (`kmer-consent policy check
/// --against`) and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyChange {
    /// What changed, in words.
    pub what: String,
    /// Whether it could let something run that the old text did not: such a change needs a new
    /// revision (and the user is asked again).
    pub widens: bool,
}

/// Every difference between `old` and `new` that matters to consent. Texts count too: what the
/// user read is part of what they agreed to.
pub fn changes(old: &Policy, new: &Policy) -> Vec<PolicyChange> {
    let mut out = Vec::new();
    let mut change = |what: String, widens: bool| out.push(PolicyChange { what, widens });
    for sdk in &new.sdks {
        match old.sdk(&sdk.id) {
            None => change(format!("SDK {} added ({})", sdk.id, sdk.category), true),
            Some(was) => {
                if was.category != sdk.category {
                    change(
                        format!(
                            "SDK {} moved from {} to {}",
                            sdk.id, was.category, sdk.category
                        ),
                        true,
                    );
                }
                if was.tcf_vendor_id != sdk.tcf_vendor_id || was.google_atp_id != sdk.google_atp_id
                {
                    change(format!("SDK {}: vendor ids changed", sdk.id), true);
                }
                if was.requires_tracking_authorization && !sdk.requires_tracking_authorization {
                    change(
                        format!("SDK {} no longer requires tracking authorization", sdk.id),
                        true,
                    );
                } else if !was.requires_tracking_authorization
                    && sdk.requires_tracking_authorization
                {
                    change(
                        format!("SDK {} now requires tracking authorization", sdk.id),
                        false,
                    );
                }
                if (&was.name, &was.provider, &was.privacy_url)
                    != (&sdk.name, &sdk.provider, &sdk.privacy_url)
                {
                    change(
                        format!("SDK {}: name, provider or privacy link changed", sdk.id),
                        false,
                    );
                }
            }
        }
    }
    for sdk in old.sdks.iter().filter(|s| new.sdk(&s.id).is_none()) {
        change(format!("SDK {} removed", sdk.id), false);
    }
    for (name, was, now) in [
        (
            "consent_lifetime_days",
            old.consent_lifetime_days,
            new.consent_lifetime_days,
        ),
        (
            "refusal_reprompt_days",
            old.refusal_reprompt_days,
            new.refusal_reprompt_days,
        ),
    ] {
        if was != now {
            change(format!("{name} {was} → {now}"), now > was);
        }
    }
    if old.consent_mode != new.consent_mode {
        change("consent_mode mapping changed".into(), true);
    }
    if old.tcf != new.tcf {
        change("tcf section changed".into(), true);
    }
    if old.controller != new.controller {
        change("controller changed".into(), false);
    }
    if old.texts != new.texts || old.categories != new.categories {
        change("banner or category texts changed".into(), false);
    }
    if old.locales != new.locales || old.default_locale != new.default_locale {
        change("locales changed".into(), false);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::tests::{decision_on, sample_text, text_with};
    use serde_json::json;

    #[test]
    fn the_same_text_is_the_same_whatever_its_formatting() {
        let p = sample_text();
        let d = decision_on(&p, Grants::ALL);
        let value: serde_json::Value = serde_json::from_str(&p.canonical_json).unwrap();
        let reformatted =
            PolicyText::parse(&serde_json::to_string_pretty(&value).unwrap()).unwrap();
        assert_eq!(relation(&d, None, &p), Relation::Same);
        assert_eq!(relation(&d, None, &reformatted), Relation::Same);
    }

    #[test]
    fn each_relation_by_revision_and_hash() {
        let v2 = text_with(|p| p["revision"] = json!(2));
        let d = decision_on(&v2, Grants::ALL);
        let v3 = text_with(|p| p["revision"] = json!(3));
        let v1 = text_with(|p| p["revision"] = json!(1));
        let v2_edited = text_with(|p| {
            p["revision"] = json!(2);
            p["consent_lifetime_days"] = json!(395);
        });
        assert_eq!(relation(&d, Some(&v2), &v3), Relation::EarlierRevision);
        assert_eq!(relation(&d, Some(&v2), &v1), Relation::LaterRevision);
        assert_eq!(relation(&d, Some(&v2), &v2_edited), Relation::EditedInPlace);
        // The text is needed to know more than "not the same".
        assert_eq!(relation(&d, None, &v3), Relation::Unknown);
        // A text that is not the one the record names does not count.
        assert_eq!(relation(&d, Some(&v1), &v3), Relation::Unknown);
        let mut unrecorded = d.clone();
        unrecorded.policy_hash = None;
        assert_eq!(relation(&unrecorded, Some(&v2), &v2), Relation::Unknown);
        // A record whose revision disagrees with its text is not trusted either.
        let mut lying = d;
        lying.policy_revision = 1;
        assert_eq!(relation(&lying, Some(&v2), &v3), Relation::Unknown);
    }

    #[test]
    fn an_sdk_is_covered_only_as_it_was_seen() {
        let old = sample_text();
        let new = text_with(|p| {
            p["sdks"][1]["category"] = json!("marketing");
            let mut added = p["sdks"][3].clone();
            added["id"] = json!("new_ads");
            p["sdks"].as_array_mut().unwrap().push(added);
            p["sdks"][4]["requires_tracking_authorization"] = json!(false);
        });
        let c = Coverage {
            shown: &old.policy,
            current: &new.policy,
        };
        let sdk = |id: &str| new.policy.sdk(id).unwrap();
        assert_eq!(c.seen(sdk("firebase_analytics")), Seen::InAnotherCategory);
        assert!(!c.covers(sdk("firebase_analytics")));
        assert!(c.disclosed(sdk("firebase_analytics")));
        assert_eq!(c.seen(sdk("new_ads")), Seen::Not);
        assert_eq!(c.seen(sdk("google_mobile_ads")), Seen::AsNow);
        assert!(
            c.requires_tracking(sdk("meta_audience_network")),
            "the stricter of the two texts"
        );
    }

    #[test]
    fn other_vendor_ids_are_another_sdk() {
        let tcf = |vendor: u16| {
            PolicyText::parse(include_str!("../../policies/kmeroccase-tcf.json"))
                .map(|mut t| {
                    if let Some(s) = t.policy.sdks.iter_mut().find(|s| s.tcf_vendor_id.is_some()) {
                        s.tcf_vendor_id = Some(vendor);
                    }
                    t
                })
                .unwrap()
        };
        let (old, new) = (tcf(10), tcf(11));
        let c = Coverage {
            shown: &old.policy,
            current: &new.policy,
        };
        let sdk = new
            .policy
            .sdks
            .iter()
            .find(|s| s.tcf_vendor_id == Some(11))
            .unwrap();
        assert_eq!(c.seen(sdk), Seen::Not);
        assert!(!c.disclosed(sdk));
    }

    #[test]
    fn lifetimes_purposes_and_signals_are_the_narrower_of_the_two() {
        let tcf = |edit: fn(&mut serde_json::Value)| {
            let mut v: serde_json::Value =
                serde_json::from_str(include_str!("../../policies/kmeroccase-tcf.json")).unwrap();
            edit(&mut v);
            PolicyText::parse(&v.to_string()).unwrap()
        };
        let old = tcf(|p| {
            p["consent_lifetime_days"] = json!(200);
            p["refusal_reprompt_days"] = json!(100);
            p["tcf"]["purposes"] =
                json!({"statistics": [8], "personalization": [5], "marketing": [2, 3]});
            p["consent_mode"] = json!({"analytics_storage": ["statistics"], "ad_storage": ["marketing"],
                "ad_user_data": ["marketing"], "ad_personalization": ["marketing"]});
        });
        let new = tcf(|p| {
            p["consent_lifetime_days"] = json!(390);
            p["refusal_reprompt_days"] = json!(50);
            p["tcf"]["purposes"] = json!({"statistics": [8, 9], "personalization": [5],
                "marketing": [2, 4]});
            p["consent_mode"] = json!({"analytics_storage": ["statistics"], "ad_storage": ["personalization"],
                "ad_user_data": ["marketing"], "ad_personalization": ["marketing"]});
        });
        let c = Coverage {
            shown: &old.policy,
            current: &new.policy,
        };
        assert_eq!(c.lifetime_days(), 200);
        assert_eq!(c.reprompt_days(), 50);
        assert_eq!(c.purposes(Category::Statistics), vec![8]);
        assert_eq!(c.purposes(Category::Marketing), vec![2]);
        let personalization_only = Grants {
            personalization: true,
            ..Grants::NONE
        };
        assert!(
            !c.consent_mode(personalization_only).ad_storage,
            "the old text tied ad storage to marketing"
        );
        let no_tcf = sample_text();
        let c = Coverage {
            shown: &no_tcf.policy,
            current: &new.policy,
        };
        assert!(
            c.purposes(Category::Marketing).is_empty(),
            "tcf added later"
        );
    }

    #[test]
    fn changes_name_what_widens() {
        let old = sample_text();
        let new = text_with(|p| {
            p["sdks"][1]["category"] = json!("marketing");
            p["consent_lifetime_days"] = json!(395);
            p["texts"]["fr"]["title"] = json!("Autre titre");
            p["sdks"].as_array_mut().unwrap().remove(2);
        });
        let found = changes(&old.policy, &new.policy);
        let widening: Vec<_> = found.iter().filter(|c| c.widens).map(|c| &c.what).collect();
        assert_eq!(
            widening,
            [
                "SDK firebase_analytics moved from statistics to marketing",
                "consent_lifetime_days 390 → 395"
            ]
        );
        assert!(found
            .iter()
            .any(|c| c.what == "SDK kmer_recommendations removed" && !c.widens));
        assert!(found.iter().any(|c| c.what.contains("texts changed")));
        assert!(changes(&old.policy, &old.policy).is_empty());
    }
}
