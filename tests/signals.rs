//! What reaches other SDKs: Consent Mode signals and the IAB TCF keys in every snapshot.

mod common;

use std::collections::BTreeMap;

use common::{policy_with, Fixture, T0};
use kmer_consent::tcf::TcModel;
use kmer_consent::{Category, ConsentModeSignals, ConsentSnapshot, Policy, StoredValue, DAY_MS};
use serde_json::json;

fn tcf_policy() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/policies/kmeroccase-tcf.json"
    ))
    .expect("the TCF sample policy")
}

fn keys(snapshot: &ConsentSnapshot) -> BTreeMap<String, StoredValue> {
    snapshot
        .iab_tcf_keys
        .iter()
        .map(|e| (e.key.clone(), e.value.clone()))
        .collect()
}

fn text(v: &StoredValue) -> &str {
    match v {
        StoredValue::Text { value } => value,
        StoredValue::Int { .. } => panic!("expected a String key, got {v:?}"),
    }
}

fn int(v: &StoredValue) -> i32 {
    match v {
        StoredValue::Int { value } => *value,
        StoredValue::Text { .. } => panic!("expected an Int key, got {v:?}"),
    }
}

const DENIED: ConsentModeSignals = ConsentModeSignals {
    analytics_storage: false,
    ad_storage: false,
    ad_user_data: false,
    ad_personalization: false,
};

#[test]
fn consent_mode_follows_the_default_mapping() {
    let f = Fixture::new();
    let m = f.open();
    assert_eq!(
        m.snapshot().consent_mode,
        DENIED,
        "denied before any decision"
    );
    m.save([(Category::Statistics, true)].into()).unwrap();
    assert_eq!(
        m.snapshot().consent_mode,
        ConsentModeSignals {
            analytics_storage: true,
            ..DENIED
        }
    );
    m.save([(Category::Marketing, true)].into()).unwrap();
    assert_eq!(
        m.snapshot().consent_mode,
        ConsentModeSignals {
            analytics_storage: false,
            ad_storage: true,
            ad_user_data: true,
            ad_personalization: true,
        }
    );
    m.accept_all().unwrap();
    f.clock.advance_days(390);
    assert_eq!(
        m.snapshot().consent_mode,
        DENIED,
        "an expired decision grants nothing"
    );
}

#[test]
fn the_policy_may_override_the_consent_mode_mapping() {
    let f = Fixture::new();
    let policy = policy_with(|p| {
        p["consent_mode"] = json!({
            "analytics_storage": ["statistics"],
            "ad_storage": ["marketing"],
            "ad_user_data": ["marketing"],
            "ad_personalization": ["marketing", "personalization"],
        })
    });
    let m = f.open_with(&policy);
    m.save([(Category::Marketing, true)].into()).unwrap();
    let signals = m.snapshot().consent_mode;
    assert!(signals.ad_storage && !signals.ad_personalization);
    m.accept_all().unwrap();
    assert!(m.snapshot().consent_mode.ad_personalization);
}

#[test]
fn consent_mode_and_tcf_sections_are_validated() {
    for (edit, path) in [
        (
            json!({"consent_mode": {"analytics_storage": [], "ad_storage": ["marketing"], "ad_user_data": ["marketing"], "ad_personalization": ["marketing"]}}),
            "consent_mode.analytics_storage",
        ),
        (
            json!({"consent_mode": {"analytics_storage": ["essential"], "ad_storage": ["marketing"], "ad_user_data": ["marketing"], "ad_personalization": ["marketing"]}}),
            "consent_mode.analytics_storage",
        ),
        (
            json!({"tcf": {"cmp_id": 1, "cmp_version": 1, "consent_screen": 1, "vendor_list_version": 7, "publisher_country_code": "CM", "gdpr_applies": true}}),
            "tcf.cmp_id",
        ),
        (
            json!({"tcf": {"cmp_id": 300, "cmp_version": 1, "consent_screen": 64, "vendor_list_version": 7, "publisher_country_code": "CM", "gdpr_applies": true}}),
            "tcf.consent_screen",
        ),
        (
            json!({"tcf": {"cmp_id": 300, "cmp_version": 1, "consent_screen": 1, "vendor_list_version": 7, "publisher_country_code": "cm", "gdpr_applies": true}}),
            "tcf.publisher_country_code",
        ),
        (
            json!({"tcf": {"cmp_id": 300, "cmp_version": 1, "consent_screen": 1, "vendor_list_version": 7, "publisher_country_code": "CM", "gdpr_applies": true, "purposes": {"statistics": [1], "personalization": [5], "marketing": [2]}}}),
            "tcf.purposes.statistics[0]",
        ),
        (
            json!({"tcf": {"cmp_id": 300, "cmp_version": 1, "consent_screen": 1, "vendor_list_version": 7, "publisher_country_code": "CM", "gdpr_applies": true, "vendor_list": 3}}),
            "tcf.vendor_list",
        ),
    ] {
        let json = policy_with(|p| {
            for (k, v) in edit.as_object().unwrap() {
                p[k] = v.clone();
            }
        });
        let error = Policy::parse(&json).expect_err(path);
        assert_eq!(error.path, path, "{error}");
    }
    let without_tcf = policy_with(|p| p["sdks"][3]["tcf_vendor_id"] = json!(755));
    assert_eq!(Policy::parse(&without_tcf).unwrap_err().path, "sdks[3]");
    let mut essential_vendor: serde_json::Value = serde_json::from_str(&tcf_policy()).unwrap();
    essential_vendor["sdks"][0]["tcf_vendor_id"] = json!(1);
    assert_eq!(
        Policy::parse(&essential_vendor.to_string())
            .unwrap_err()
            .path,
        "sdks[0].tcf_vendor_id"
    );
}

#[test]
fn without_a_tcf_section_no_iab_key_is_written() {
    let f = Fixture::new();
    let m = f.open();
    m.accept_all().unwrap();
    let snapshot = m.snapshot();
    assert!(snapshot.iab_tcf_keys.is_empty());
    assert_eq!(snapshot.tc_string, None);
    assert!(
        snapshot.consent_mode.ad_storage,
        "Consent Mode works without TCF"
    );
}

#[test]
fn before_a_decision_only_the_cmp_keys_are_written() {
    let f = Fixture::new();
    let m = f.open_with(&tcf_policy());
    let snapshot = m.snapshot();
    assert_eq!(snapshot.tc_string, None);
    let keys = keys(&snapshot);
    assert_eq!(
        keys.keys().collect::<Vec<_>>(),
        [
            "IABTCF_CmpSdkID",
            "IABTCF_CmpSdkVersion",
            "IABTCF_PolicyVersion",
            "IABTCF_PublisherCC",
            "IABTCF_gdprApplies"
        ]
    );
    assert_eq!(int(&keys["IABTCF_gdprApplies"]), 1);
    assert_eq!(int(&keys["IABTCF_PolicyVersion"]), 4);
    assert_eq!(text(&keys["IABTCF_PublisherCC"]), "CM");
}

#[test]
fn a_decision_writes_every_key_with_its_type() {
    let f = Fixture::new();
    let m = f.open_with(&tcf_policy());
    m.save([(Category::Statistics, true), (Category::Marketing, true)].into())
        .unwrap();
    let snapshot = m.snapshot();
    let keys = keys(&snapshot);
    let tc = snapshot.tc_string.clone().expect("a TC string");
    assert_eq!(text(&keys["IABTCF_TCString"]), tc);
    for int_key in [
        "IABTCF_CmpSdkID",
        "IABTCF_CmpSdkVersion",
        "IABTCF_PolicyVersion",
        "IABTCF_gdprApplies",
        "IABTCF_PurposeOneTreatment",
        "IABTCF_UseNonStandardTexts",
    ] {
        int(&keys[int_key]);
    }
    assert_eq!(text(&keys["IABTCF_PurposeConsents"]), "11110011110");
    assert_eq!(
        text(&keys["IABTCF_PurposeLegitimateInterests"]),
        "00000000000"
    );
    let vendors = text(&keys["IABTCF_VendorConsents"]);
    assert_eq!(vendors.len(), 755);
    assert!(vendors.ends_with('1') && vendors[..754].chars().all(|c| c == '0'));
    assert_eq!(text(&keys["IABTCF_AddtlConsent"]), "2~89~dv.");

    let model = TcModel::decode(&tc).unwrap();
    assert_eq!(model.purpose_consents, [1, 2, 3, 4, 7, 8, 9, 10].into());
    assert!(
        model.purpose_legitimate_interests.is_empty(),
        "no legitimate interest, ever"
    );
    assert_eq!(model.vendor_consents, [755].into());
    assert_eq!(model.disclosed_vendors, Some([755].into()));
    assert_eq!(model.consent_language, "FR");
    assert_eq!(model.policy_version, 4);
    assert!(model.is_service_specific);
    assert_eq!(model.created, (T0 / 100) as u64);
    assert_eq!(model.last_updated, (T0 / 100) as u64);
}

#[test]
fn refusing_keeps_the_vendors_disclosed_but_not_consented() {
    let f = Fixture::new();
    let m = f.open_with(&tcf_policy());
    m.reject_all().unwrap();
    let snapshot = m.snapshot();
    let model = TcModel::decode(snapshot.tc_string.as_deref().unwrap()).unwrap();
    assert!(model.purpose_consents.is_empty());
    assert!(model.vendor_consents.is_empty());
    assert_eq!(model.disclosed_vendors, Some([755].into()));
    assert_eq!(text(&keys(&snapshot)["IABTCF_AddtlConsent"]), "2~~dv.89");
}

#[test]
fn expiry_takes_the_tc_string_away() {
    let f = Fixture::new();
    let m = f.open_with(&tcf_policy());
    m.accept_all().unwrap();
    assert!(m.snapshot().tc_string.is_some());
    f.clock.advance_ms(390 * DAY_MS);
    let snapshot = m.snapshot();
    assert_eq!(snapshot.tc_string, None);
    assert_eq!(snapshot.iab_tcf_keys.len(), 5, "back to the CMP keys only");
}

#[test]
fn a_new_sdk_not_shown_is_neither_consented_nor_disclosed() {
    let f = Fixture::new();
    let m = f.open_with(&tcf_policy());
    m.accept_all().unwrap();
    let mut v2: serde_json::Value = serde_json::from_str(&tcf_policy()).unwrap();
    v2["revision"] = json!(2);
    let mut sdk = v2["sdks"][3].clone();
    sdk["id"] = json!("xandr");
    sdk["tcf_vendor_id"] = json!(32);
    v2["sdks"].as_array_mut().unwrap().push(sdk);
    m.update_policy(v2.to_string()).unwrap();
    let model = TcModel::decode(m.snapshot().tc_string.as_deref().unwrap()).unwrap();
    assert_eq!(model.vendor_consents, [755].into());
    assert_eq!(model.disclosed_vendors, Some([755].into()));
}
