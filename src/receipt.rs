//! Consent receipts: one decision as a self-contained JSON document shaped after ISO/IEC TS 27560 and
//! the Kantara Consent Receipt, checkable on a server with no access to the device.
//!
//! A receipt carries `record`, the exact object the record's hash covers (see `proof.rs`), next to
//! the readable fields derived from it. To verify one: recompute `sha256(canonical_json(record))`, compare
//! it with `record_hash`, and check that the readable fields say what `record` says.

use serde_json::{json, Value};

use crate::category::Category;
use crate::clock::days_after;
use crate::policy::Policy;
use crate::proof::{self, canonical_json, sha256_hex};
use crate::record::{Decision, DecisionSource};
use crate::signals::{ConsentModeSignals, StoredValue};
use crate::tcf;

/// The receipt format's version.
pub const RECEIPT_SCHEMA: &str = "kmer-consent-receipt/1";

/// What each source means as a collection method.
fn collection_method(source: DecisionSource) -> &'static str {
    match source {
        DecisionSource::AcceptAll => "banner: accept all",
        DecisionSource::RejectAll => "banner: reject all",
        DecisionSource::Save => "preferences: custom choice saved",
        DecisionSource::Withdraw => "preferences: consent withdrawn",
        DecisionSource::Dismiss => "banner: closed without accepting (refusal)",
        DecisionSource::SubjectLink => "login: the device's decision adopted by the account",
        DecisionSource::Import => "sync: decided on another device of the same account",
        DecisionSource::BannerAcceptAll => "consent page (SDK): accept all",
        DecisionSource::BannerRejectAll => "consent page (SDK): reject all",
        DecisionSource::BannerDismiss => {
            "consent page (SDK): continued without accepting (refusal)"
        }
        DecisionSource::SettingsSave => {
            "consent page (SDK): custom choice saved in the preferences"
        }
    }
}

/// The receipt of one decision under `policy`.
pub fn receipt(policy: &Policy, d: &Decision) -> Value {
    let state = |granted: bool| match (granted, d.source) {
        (true, _) => "given",
        (false, DecisionSource::Withdraw) => "withdrawn",
        (false, _) => "refused",
    };
    let categories: Vec<Value> = Category::ALL
        .into_iter()
        .map(|c| {
            let sdks: Vec<&str> = policy
                .sdks
                .iter()
                .filter(|s| s.category == c && d.sdks_shown.contains(&s.id))
                .map(|s| s.id.as_str())
                .collect();
            let purposes = policy
                .tcf
                .as_ref()
                .map(|t| t.purposes.of(c).to_vec())
                .unwrap_or_default();
            let state = if c == Category::Essential {
                "not required (essential)"
            } else {
                state(d.grants.get(c))
            };
            json!({"category": c.as_str(), "state": state, "sdks": sdks, "tcf_purposes": purposes})
        })
        .collect();
    let consent_mode = ConsentModeSignals::from_grants(&policy.consent_mode, d.grants);
    let tcf = tcf::tcf_signals(policy, Some(d), d.grants);
    let addtl_consent = tcf.keys.iter().find_map(|e| match (&*e.key, &e.value) {
        ("IABTCF_AddtlConsent", StoredValue::Text { value }) => Some(value.clone()),
        _ => None,
    });
    let expires_at_ms = days_after(d.decided_at_ms, policy.consent_lifetime_days);
    json!({
        "schema": RECEIPT_SCHEMA,
        "receipt_id": d.record_hash,
        "subject": if d.subject.is_empty() { "device" } else { d.subject.as_str() },
        "jurisdiction": policy.tcf.as_ref().map(|t| t.publisher_country_code.clone()),
        "controller": {
            "name": policy.controller.name,
            "contact": policy.controller.contact,
            "policy_url": policy.controller.policy_url,
        },
        "notice": {
            "policy_id": d.policy_id,
            "revision": d.policy_revision,
            "hash": d.policy_hash,
            "language": d.locale,
        },
        "event": {
            "type": d.source.as_str(),
            "collection_method": collection_method(d.source),
            "time_utc": utc(d.decided_at_ms),
        },
        "validity": {"expires_utc": utc(expires_at_ms)},
        "categories": categories,
        "signals": {
            "consent_mode": consent_mode.entries().iter().map(|(k, v)| (k.to_string(), json!(if *v { "granted" } else { "denied" }))).collect::<serde_json::Map<_, _>>(),
            "tc_string": tcf.tc_string,
            "addtl_consent": addtl_consent,
            "att_status": d.tracking_authorization.map(|t| t.as_str()),
        },
        "versions": {"sdk": d.sdk_version, "app": d.app_version},
        "integrity": {
            "canonical_encoding": "sha256(canonical_json(record)); canonical_json: UTF-8, no whitespace, keys sorted at every level",
            "prev_hash": d.prev_hash,
            "record_hash": d.record_hash,
        },
        "record": proof::record_body(d),
    })
}

/// What checking a receipt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptCheck {
    pub receipt_id: String,
    pub event: String,
    pub time_utc: String,
}

/// Checks a receipt with nothing but its own contents. Every problem is an error message.
pub fn verify_receipt(json: &str) -> Result<ReceiptCheck, String> {
    let receipt: Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
    let field = |path: &[&str]| -> Result<&Value, String> {
        path.iter()
            .try_fold(&receipt, |v, k| v.get(k))
            .ok_or_else(|| format!("missing field {}", path.join(".")))
    };
    let text = |path: &[&str]| -> Result<String, String> {
        field(path)?
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("{} is not a string", path.join(".")))
    };
    if text(&["schema"])? != RECEIPT_SCHEMA {
        return Err(format!(
            "unknown receipt schema (expected {RECEIPT_SCHEMA})"
        ));
    }
    let record = field(&["record"])?;
    let computed = sha256_hex(canonical_json(record).as_bytes());
    let claimed = text(&["integrity", "record_hash"])?;
    if computed != claimed {
        return Err(format!(
            "the record does not match its hash: computed {computed}, receipt says {claimed}"
        ));
    }
    let agree = |what: &str, a: &Value, b: &Value| {
        if a == b {
            Ok(())
        } else {
            Err(format!("{what} says {a} but the hashed record says {b}"))
        }
    };
    agree("receipt_id", field(&["receipt_id"])?, &json!(claimed))?;
    agree(
        "integrity.prev_hash",
        field(&["integrity", "prev_hash"])?,
        field(&["record", "prev_hash"])?,
    )?;
    agree(
        "event.type",
        field(&["event", "type"])?,
        field(&["record", "source"])?,
    )?;
    agree(
        "notice.hash",
        field(&["notice", "hash"])?,
        field(&["record", "policy_hash"])?,
    )?;
    agree(
        "notice.policy_id",
        field(&["notice", "policy_id"])?,
        field(&["record", "policy_id"])?,
    )?;
    agree(
        "notice.revision",
        field(&["notice", "revision"])?,
        field(&["record", "policy_revision"])?,
    )?;
    agree(
        "notice.language",
        field(&["notice", "language"])?,
        field(&["record", "locale"])?,
    )?;
    let decided = field(&["record", "decided_at_ms"])?
        .as_i64()
        .ok_or("record.decided_at_ms is not an integer")?;
    agree(
        "event.time_utc",
        field(&["event", "time_utc"])?,
        &json!(utc(decided)),
    )?;
    let categories = field(&["categories"])?
        .as_array()
        .ok_or("categories is not a list")?;
    for c in categories {
        let name = c
            .get("category")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if name == "essential" {
            continue;
        }
        let given = c.get("state").and_then(Value::as_str) == Some("given");
        let recorded = field(&["record", "categories", name])?;
        agree(&format!("category {name}"), &json!(given), recorded)?;
    }
    Ok(ReceiptCheck {
        receipt_id: claimed,
        event: text(&["event", "type"])?,
        time_utc: text(&["event", "time_utc"])?,
    })
}

/// The decision inside a receipt (its `record`), as it was recorded on the other device.
pub fn record_from_receipt(json: &str) -> Result<Decision, String> {
    let receipt: Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
    let r = receipt.get("record").ok_or("missing field record")?;
    let text = |k: &str| -> Result<String, String> {
        r.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("record.{k} is not a string"))
    };
    let opt_text = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_owned);
    let int = |k: &str| {
        r.get(k)
            .and_then(Value::as_i64)
            .ok_or_else(|| format!("record.{k} is not an integer"))
    };
    let flag = |c: &str| {
        r.get("categories")
            .and_then(|v| v.get(c))
            .and_then(Value::as_bool)
            .ok_or_else(|| format!("record.categories.{c} is not a boolean"))
    };
    let source = DecisionSource::parse(&text("source")?).ok_or("unknown record.source")?;
    let sdks_shown = r
        .get("sdks_shown")
        .and_then(Value::as_array)
        .ok_or("record.sdks_shown is not a list")?
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or("record.sdks_shown holds a non-string")
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Decision {
        id: int("id")?,
        decided_at_ms: int("decided_at_ms")?,
        policy_id: text("policy_id")?,
        policy_revision: u32::try_from(int("policy_revision")?)
            .map_err(|_| "record.policy_revision out of range")?,
        source,
        locale: text("locale")?,
        grants: crate::category::Grants {
            statistics: flag("statistics")?,
            personalization: flag("personalization")?,
            marketing: flag("marketing")?,
        },
        sdks_shown,
        policy_hash: opt_text("policy_hash"),
        sdk_version: text("sdk_version")?,
        app_version: text("app_version")?,
        tracking_authorization: opt_text("tracking_authorization")
            .and_then(|t| crate::rules::TrackingAuthorization::parse(&t)),
        subject: text("subject")?,
        origin_hash: opt_text("origin_hash"),
        prev_hash: text("prev_hash")?,
        record_hash: sha256_hex(canonical_json(r).as_bytes()),
    })
}

/// RFC 3339 UTC to the millisecond, e.g. `2026-05-28T20:26:40.000Z`.
pub fn utc(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::utc;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(utc(1_780_000_000_123), "2026-05-28T20:26:40.123Z");
        assert_eq!(utc(-1), "1969-12-31T23:59:59.999Z");
    }
}
