//! From a decision to the TC string, the `IABTCF_*` in-app keys and the Additional Consent string.

use std::collections::BTreeSet;

use crate::category::{Category, Grants};
use crate::policy::{Policy, TcfConfig};
use crate::record::Decision;
use crate::rules::coverage::Coverage;
use crate::signals::StoredEntry;

use super::TcModel;

/// TCF policy version of TCF v2.2 and v2.3.
pub const TCF_POLICY_VERSION: u8 = 4;
/// Purposes defined by TCF v2.2+, and special features: the lengths of the binary-string keys.
const PURPOSE_COUNT: u8 = 11;
const SPECIAL_FEATURE_COUNT: usize = 2;

/// What TCF says about one moment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TcfSignals {
    /// The TC string, when a decision is in force.
    pub tc_string: Option<String>,
    /// Every `IABTCF_*` key that must be present, with its type. Every other `IABTCF_*` key must be
    /// removed; the list is empty when the policy has no `tcf` section.
    pub keys: Vec<StoredEntry>,
}

/// The TCF signals for the decision in force with what it covers (`None`: no decision in force)
/// and the grants.
pub fn tcf_signals(
    policy: &Policy,
    in_force: Option<(&Decision, Coverage<'_>)>,
    grants: Grants,
) -> TcfSignals {
    let Some(tcf) = &policy.tcf else {
        return TcfSignals::default();
    };
    let mut keys = vec![
        StoredEntry::int("IABTCF_CmpSdkID", tcf.cmp_id.into()),
        StoredEntry::int("IABTCF_CmpSdkVersion", tcf.cmp_version.into()),
        StoredEntry::int("IABTCF_PolicyVersion", TCF_POLICY_VERSION.into()),
        StoredEntry::int("IABTCF_gdprApplies", i32::from(tcf.gdpr_applies)),
        StoredEntry::text("IABTCF_PublisherCC", tcf.publisher_country_code.clone()),
    ];
    let Some((decision, coverage)) = in_force else {
        // Before a decision ad SDKs learn only that a CMP is present and whether GDPR applies.
        return TcfSignals {
            tc_string: None,
            keys,
        };
    };
    let shown = Shown {
        decision,
        coverage,
        grants,
    };
    let model = tc_model(policy, tcf, &shown);
    let tc_string = model.encode();
    let disclosed = model.disclosed_vendors.clone().unwrap_or_default();
    let vendor_width = disclosed
        .last()
        .unwrap_or(0)
        .max(model.vendor_consents.last().unwrap_or(0));
    keys.extend([
        StoredEntry::int(
            "IABTCF_PurposeOneTreatment",
            i32::from(model.purpose_one_treatment),
        ),
        StoredEntry::int(
            "IABTCF_UseNonStandardTexts",
            i32::from(model.use_non_standard_texts),
        ),
        StoredEntry::text("IABTCF_TCString", tc_string.clone()),
        StoredEntry::text(
            "IABTCF_PurposeConsents",
            flags(PURPOSE_COUNT.into(), |id| {
                purposes_in(&model.purpose_consents, id)
            }),
        ),
        StoredEntry::text(
            "IABTCF_PurposeLegitimateInterests",
            flags(PURPOSE_COUNT.into(), |id| {
                purposes_in(&model.purpose_legitimate_interests, id)
            }),
        ),
        StoredEntry::text(
            "IABTCF_SpecialFeaturesOptIns",
            "0".repeat(SPECIAL_FEATURE_COUNT),
        ),
        StoredEntry::text(
            "IABTCF_VendorConsents",
            flags(vendor_width, |id| model.vendor_consents.contains(id)),
        ),
        StoredEntry::text(
            "IABTCF_VendorLegitimateInterests",
            flags(vendor_width, |id| {
                model.vendor_legitimate_interests.contains(id)
            }),
        ),
        StoredEntry::text(
            "IABTCF_DisclosedVendors",
            flags(vendor_width, |id| disclosed.contains(id)),
        ),
    ]);
    if let Some(ac) = additional_consent(policy, &shown) {
        keys.push(StoredEntry::text("IABTCF_AddtlConsent", ac));
    }
    TcfSignals {
        tc_string: Some(tc_string),
        keys,
    }
}

/// A decision in force, what it covers, and the grants: what the TC and AC strings are made from.
pub struct Shown<'a> {
    pub decision: &'a Decision,
    pub coverage: Coverage<'a>,
    pub grants: Grants,
}

impl Shown<'_> {
    /// Whether the user was shown this SDK's vendor (the record lists it, the text showed it).
    fn disclosed(&self, sdk: &crate::policy::Sdk) -> bool {
        self.decision.sdks_shown.contains(&sdk.id) && self.coverage.disclosed(sdk)
    }

    /// Whether the decision grants this SDK: its category granted, and the user saw it there.
    fn consented(&self, sdk: &crate::policy::Sdk) -> bool {
        sdk.category != Category::Essential
            && self.grants.get(sdk.category)
            && self.disclosed(sdk)
            && self.coverage.covers(sdk)
    }
}

/// The TC string's model for a decision in force.
pub fn tc_model(policy: &Policy, tcf: &TcfConfig, shown: &Shown<'_>) -> TcModel {
    let (decision, grants) = (shown.decision, shown.grants);
    let mut purposes: BTreeSet<u8> = Category::OPTIONAL
        .into_iter()
        .filter(|c| grants.get(*c))
        .flat_map(|c| shown.coverage.purposes(c))
        .collect();
    // Store and/or access information on a device: with any grant, if the user was shown TCF at all.
    if shown.coverage.shown.tcf.is_some() && Category::OPTIONAL.into_iter().any(|c| grants.get(c)) {
        purposes.insert(1);
    }
    let vendor_consents = policy
        .sdks
        .iter()
        .filter(|s| shown.consented(s))
        .filter_map(|s| s.tcf_vendor_id)
        .collect();
    let disclosed = policy
        .sdks
        .iter()
        .filter(|s| shown.disclosed(s))
        .filter_map(|s| s.tcf_vendor_id)
        .collect();
    let deciseconds = u64::try_from(decision.decided_at_ms / 100).unwrap_or(0);
    TcModel {
        version: 2,
        created: deciseconds,
        last_updated: deciseconds,
        cmp_id: tcf.cmp_id,
        cmp_version: tcf.cmp_version,
        consent_screen: tcf.consent_screen,
        consent_language: decision
            .locale
            .chars()
            .take(2)
            .collect::<String>()
            .to_ascii_uppercase(),
        vendor_list_version: tcf.vendor_list_version,
        policy_version: TCF_POLICY_VERSION,
        is_service_specific: true,
        use_non_standard_texts: false,
        purpose_consents: purposes,
        purpose_one_treatment: false,
        publisher_country_code: tcf.publisher_country_code.clone(),
        vendor_consents,
        disclosed_vendors: Some(disclosed),
        ..TcModel::default()
    }
}

/// Google's Additional Consent string v2: `2~<consented ATP ids>~dv.<disclosed, not consented>`.
/// `None` when no SDK has an ATP id.
pub fn additional_consent(policy: &Policy, shown: &Shown<'_>) -> Option<String> {
    let mut consented_ids = BTreeSet::new();
    let mut disclosed_only = BTreeSet::new();
    for sdk in policy.sdks.iter().filter(|s| shown.disclosed(s)) {
        if let Some(id) = sdk.google_atp_id {
            if shown.consented(sdk) {
                consented_ids.insert(id);
            } else {
                disclosed_only.insert(id);
            }
        }
    }
    disclosed_only.retain(|id| !consented_ids.contains(id));
    if consented_ids.is_empty() && disclosed_only.is_empty() {
        return None;
    }
    let join = |ids: &BTreeSet<u32>| ids.iter().map(u32::to_string).collect::<Vec<_>>().join(".");
    Some(format!(
        "2~{}~dv.{}",
        join(&consented_ids),
        join(&disclosed_only)
    ))
}

/// '0'/'1' characters; position n is id n + 1.
fn flags(width: u16, contains: impl Fn(u16) -> bool) -> String {
    (1..=width)
        .map(|id| if contains(id) { '1' } else { '0' })
        .collect()
}

fn purposes_in(purposes: &BTreeSet<u8>, id: u16) -> bool {
    u8::try_from(id).is_ok_and(|id| purposes.contains(&id))
}
