//! How the CLI prints: human-readable text, or JSON for scripts.

use std::collections::BTreeSet;

use kmer_consent::tcf::{TcModel, VendorSet};
use kmer_consent::{Banner, Category, ConsentRecord, ConsentSnapshot, ConsentStatus, StoredValue};
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// `--now`: RFC 3339 → milliseconds since the epoch.
pub fn parse_time(s: &str) -> Result<i64, String> {
    let t = OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|e| format!("expected an RFC 3339 time such as 2027-01-31T12:00:00Z ({e})"))?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).map_err(|_| "time out of range".into())
}

/// Milliseconds since the epoch → RFC 3339 UTC, to the second.
pub fn format_time(ms: i64) -> String {
    let seconds = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&seconds).ok())
        .unwrap_or_else(|| format!("{ms} ms since the epoch"))
}

fn time_json(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |ms| Value::String(format_time(ms)))
}

fn categories_json(categories: &std::collections::HashMap<Category, bool>) -> Value {
    let map: Map<String, Value> = Category::ALL
        .into_iter()
        .map(|c| {
            (
                c.as_str().to_owned(),
                json!(categories.get(&c) == Some(&true)),
            )
        })
        .collect();
    Value::Object(map)
}

pub fn status(snapshot: &ConsentSnapshot, as_json: bool) {
    let s = &snapshot.status;
    if as_json {
        let mut sdks: Vec<_> = snapshot.sdks.iter().collect();
        sdks.sort_by(|a, b| a.0.cmp(b.0));
        let sdks: Map<String, Value> = sdks
            .into_iter()
            .map(|(id, v)| {
                (
                    id.clone(),
                    json!({"allowed": v.allowed, "reason": v.reason.as_str()}),
                )
            })
            .collect();
        let value = json!({
            "needs_prompt": s.needs_prompt,
            "reason": s.prompt_reason.map(|r| r.as_str()),
            "categories": categories_json(&s.categories),
            "decided_at": time_json(s.decided_at_ms),
            "expires_at": time_json(s.expires_at_ms),
            "reprompt_at": time_json(s.reprompt_at_ms),
            "source": s.last_source.map(|d| d.as_str()),
            "policy_revision": s.policy_revision,
            "decided_policy_revision": s.decided_policy_revision,
            "locale": s.locale,
            "tracking_authorization": s.tracking_authorization.as_str(),
            "store_recovered": s.store_recovered,
            "sdks": sdks,
            "consent_mode": consent_mode_json(snapshot),
            "tc_string": snapshot.tc_string,
            "iab_tcf_keys": iab_keys_json(snapshot),
        });
        say!("{value:#}");
        return;
    }
    print_status(s);
    let mut sdks: Vec<_> = snapshot.sdks.iter().collect();
    sdks.sort_by(|a, b| a.0.cmp(b.0));
    say!("SDKs:");
    for (id, v) in sdks {
        let word = if v.allowed { "allowed" } else { "denied" };
        say!("  {id:<24} {word} ({})", v.reason.as_str());
    }
}

fn consent_mode_json(snapshot: &ConsentSnapshot) -> Value {
    let map: Map<String, Value> = snapshot
        .consent_mode
        .entries()
        .into_iter()
        .map(|(signal, granted)| {
            let state = if granted { "granted" } else { "denied" };
            (signal.to_owned(), json!(state))
        })
        .collect();
    Value::Object(map)
}

/// Each key with its typed value: numbers for Int keys, strings for String keys.
fn iab_keys_json(snapshot: &ConsentSnapshot) -> Value {
    let map: Map<String, Value> = snapshot
        .iab_tcf_keys
        .iter()
        .map(|entry| {
            let value = match &entry.value {
                StoredValue::Int { value } => json!(value),
                StoredValue::Text { value } => json!(value),
            };
            (entry.key.clone(), value)
        })
        .collect();
    Value::Object(map)
}

pub fn print_status(s: &ConsentStatus) {
    match s.prompt_reason {
        Some(reason) => say!("Prompt needed: yes ({})", reason.as_str()),
        None => say!("Prompt needed: no"),
    }
    say!("Categories:");
    for c in Category::ALL {
        let state = match (c, s.categories.get(&c) == Some(&true)) {
            (Category::Essential, _) => "granted (always)",
            (_, true) => "granted",
            (_, false) => "denied",
        };
        say!("  {:<16} {state}", c.as_str());
    }
    if let (Some(at), Some(source)) = (s.decided_at_ms, s.last_source) {
        say!(
            "Decided: {} by {} under policy revision {}",
            format_time(at),
            source.as_str(),
            s.decided_policy_revision.unwrap_or_default()
        );
    }
    if let Some(at) = s.expires_at_ms {
        say!("Expires: {}", format_time(at));
    }
    if let Some(at) = s.reprompt_at_ms {
        say!("Refusal reminder: {}", format_time(at));
    }
    say!(
        "Tracking authorization: {}",
        s.tracking_authorization.as_str()
    );
}

pub fn recorded(s: &ConsentStatus) {
    say!("Recorded.");
    print_status(s);
}

pub fn history(records: &[ConsentRecord], as_json: bool) {
    if as_json {
        let list: Vec<Value> = records
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "decided_at": format_time(r.decided_at_ms),
                    "source": r.source.as_str(),
                    "policy_id": r.policy_id,
                    "policy_revision": r.policy_revision,
                    "locale": r.locale,
                    "categories": categories_json(&r.categories),
                    "sdks_shown": r.sdks_shown,
                    "witnessed_at": time_json(r.witnessed_at_ms),
                })
            })
            .collect();
        say!("{:#}", Value::Array(list));
        return;
    }
    if records.is_empty() {
        say!("No decision recorded.");
    }
    for r in records {
        let granted: Vec<&str> = Category::OPTIONAL
            .into_iter()
            .filter(|c| r.categories.get(c) == Some(&true))
            .map(Category::as_str)
            .collect();
        let granted = if granted.is_empty() {
            "nothing optional".to_owned()
        } else {
            granted.join(", ")
        };
        say!(
            "#{} {} {:<10} rev {} [{}] granted: {granted}",
            r.id,
            format_time(r.decided_at_ms),
            r.source.as_str(),
            r.policy_revision,
            r.locale
        );
    }
}

pub fn banner(b: &Banner) {
    say!("[{}] {}", b.locale, b.title);
    say!("");
    say!("{}", b.body);
    say!("");
    say!(
        "  [ {} ]   [ {} ]   [ {} ]",
        b.reject_all,
        b.accept_all,
        b.customize
    );
    say!("  {} — {}", b.dismiss, b.policy_url);
    for c in &b.categories {
        say!("");
        let toggle = if c.always_on {
            "always on"
        } else if c.granted {
            "on"
        } else {
            "off"
        };
        say!("{} ({toggle})", c.title);
        say!("  {}", c.description);
        for sdk in &c.sdks {
            say!("  - {} ({}) {}", sdk.name, sdk.provider, sdk.privacy_url);
        }
    }
    say!("");
    say!("  [ {} ]", b.save);
}

fn ids<T: Copy + Into<u32>>(set: &BTreeSet<T>) -> Value {
    json!(set.iter().map(|id| (*id).into()).collect::<Vec<u32>>())
}

fn vendor_ids(set: &VendorSet) -> Value {
    json!(set.iter().collect::<Vec<u16>>())
}

/// A decoded TC string: JSON with every field, or one field a line.
pub fn tc_model(m: &TcModel, as_json: bool) {
    let restrictions: Vec<Value> = m
        .publisher_restrictions
        .iter()
        .map(|r| json!({"purpose_id": r.purpose_id, "restriction_type": r.restriction_type, "vendors": vendor_ids(&r.vendors)}))
        .collect();
    let value = json!({
        "version": m.version,
        "created": format_time(i64::try_from(m.created).unwrap_or(i64::MAX / 100).saturating_mul(100)),
        "created_deciseconds": m.created,
        "last_updated": format_time(i64::try_from(m.last_updated).unwrap_or(i64::MAX / 100).saturating_mul(100)),
        "last_updated_deciseconds": m.last_updated,
        "cmp_id": m.cmp_id,
        "cmp_version": m.cmp_version,
        "consent_screen": m.consent_screen,
        "consent_language": m.consent_language,
        "vendor_list_version": m.vendor_list_version,
        "policy_version": m.policy_version,
        "is_service_specific": m.is_service_specific,
        "use_non_standard_texts": m.use_non_standard_texts,
        "special_feature_opt_ins": ids(&m.special_feature_opt_ins),
        "purpose_consents": ids(&m.purpose_consents),
        "purpose_legitimate_interests": ids(&m.purpose_legitimate_interests),
        "purpose_one_treatment": m.purpose_one_treatment,
        "publisher_country_code": m.publisher_country_code,
        "vendor_consents": vendor_ids(&m.vendor_consents),
        "vendor_legitimate_interests": vendor_ids(&m.vendor_legitimate_interests),
        "publisher_restrictions": restrictions,
        "disclosed_vendors": m.disclosed_vendors.as_ref().map(vendor_ids),
        "allowed_vendors": m.allowed_vendors.as_ref().map(vendor_ids),
        "publisher_tc": m.publisher_tc.as_ref().map(|p| json!({
            "purpose_consents": ids(&p.purpose_consents),
            "purpose_legitimate_interests": ids(&p.purpose_legitimate_interests),
            "custom_purpose_count": p.custom_purpose_count,
            "custom_purpose_consents": ids(&p.custom_purpose_consents),
            "custom_purpose_legitimate_interests": ids(&p.custom_purpose_legitimate_interests),
        })),
    });
    if as_json {
        say!("{value:#}");
        return;
    }
    if let Value::Object(fields) = value {
        for (name, v) in fields {
            say!("{name:<30} {v}");
        }
    }
}
