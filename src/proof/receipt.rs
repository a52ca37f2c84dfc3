//! Consent receipts: one decision as a self-contained JSON document shaped after ISO/IEC TS 27560 and
//! the Kantara Consent Receipt, checkable on a server with no access to the device.
//!
//! A receipt carries `record`, the exact object the record's hash covers (see `proof.rs`), and
//! `policy`, the canonical JSON of the policy text the user was shown (its SHA-256 is the record's
//! `policy_hash`). Every other field is derived from those two: a verifier rebuilds the whole receipt
//! from them and requires it to be exactly what it was given, so no readable field can say anything
//! the hashed record and the shown text do not. A receipt the app's back end countersigned also
//! carries `witness` (see `witness.rs`): the back end's signature over the record's hash and its own
//! time, which is what another device needs to import it.
//!
//! What a receipt proves, and what it does not, is written down in `docs/receipts.md`.

use serde_json::{json, Map, Value};

use crate::category::Category;
use crate::clock::days_after;
use crate::policy::{PolicyText, MAX_POLICY_BYTES};
use crate::proof;
use crate::proof::witness::{BackendKey, Witness};
use crate::record::{Decision, DecisionSource};
use crate::rules::coverage::Coverage;
use crate::signals::tcf;
use crate::signals::{ConsentModeSignals, StoredValue};

/// The receipt format's version.
pub const RECEIPT_SCHEMA: &str = "kmer-consent-receipt/2";
/// The largest receipt accepted, in bytes: a policy at its largest, and room for the rest.
pub const MAX_RECEIPT_BYTES: usize = MAX_POLICY_BYTES + 64 * 1024;

/// What each source means as a collection method.
fn collection_method(source: DecisionSource) -> &'static str {
    match source {
        DecisionSource::AcceptAll => "banner: accept all",
        DecisionSource::RejectAll => "banner: reject all",
        DecisionSource::Save => "preferences: custom choice saved",
        DecisionSource::Withdraw => "preferences: consent withdrawn",
        DecisionSource::Dismiss => "banner: closed without accepting (refusal)",
        DecisionSource::SubjectLink => {
            "login: the device's refusal taken by the account (never a grant)"
        }
        DecisionSource::Import => "sync: decided on another device of the same account",
        DecisionSource::ImportMerged => {
            "sync: another device's decision and this one's, the more restrictive choice per category"
        }
        DecisionSource::PageAcceptAll => "consent page (SDK): accept all",
        DecisionSource::PageRejectAll => "consent page (SDK): reject all",
        DecisionSource::PageDismiss => {
            "consent page (SDK): continued without accepting (refusal)"
        }
        DecisionSource::PageSave => {
            "consent page (SDK): custom choice saved in the preferences"
        }
    }
}

/// The receipt of one decision, made on `shown` (the policy text it records; `None` when that text
/// was not recorded, and then the receipt cannot verify).
pub fn receipt(shown: Option<&PolicyText>, d: &Decision) -> Value {
    let state = |granted: bool| match (granted, d.source) {
        (true, _) => "given",
        (false, DecisionSource::Withdraw) => "withdrawn",
        (false, _) => "refused",
    };
    let policy = shown.map(|s| &s.policy);
    let coverage = policy.map(Coverage::same);
    let categories: Vec<Value> = Category::ALL
        .into_iter()
        .map(|c| {
            let sdks: Vec<&str> = policy
                .into_iter()
                .flat_map(|p| &p.sdks)
                .filter(|s| s.category == c && d.sdks_shown.contains(&s.id))
                .map(|s| s.id.as_str())
                .collect();
            let purposes = coverage.map(|cov| cov.purposes(c)).unwrap_or_default();
            let state = if c == Category::Essential {
                "not required (essential)"
            } else {
                state(d.grants.get(c))
            };
            json!({"category": c.as_str(), "state": state, "sdks": sdks, "tcf_purposes": purposes})
        })
        .collect();
    let signals = match (policy, coverage) {
        (Some(p), Some(cov)) => {
            let consent_mode = ConsentModeSignals::from_grants(&p.consent_mode, d.grants);
            let tcf = tcf::tcf_signals(p, Some((d, cov)), d.grants);
            let addtl_consent = tcf.keys.iter().find_map(|e| match (&*e.key, &e.value) {
                ("IABTCF_AddtlConsent", StoredValue::Text { value }) => Some(value.clone()),
                _ => None,
            });
            json!({
                "consent_mode": consent_mode.entries().iter().map(|(k, v)| (k.to_string(), json!(if *v { "granted" } else { "denied" }))).collect::<Map<_, _>>(),
                "tc_string": tcf.tc_string,
                "addtl_consent": addtl_consent,
                "att_status": d.tracking_authorization.map(|t| t.as_str()),
            })
        }
        _ => json!({
            "consent_mode": null, "tc_string": null, "addtl_consent": null,
            "att_status": d.tracking_authorization.map(|t| t.as_str()),
        }),
    };
    json!({
        "schema": RECEIPT_SCHEMA,
        "receipt_id": d.record_hash,
        // The anonymous device has no account id: null, which no account id can be.
        "subject": (!d.subject.is_empty()).then_some(d.subject.as_str()),
        "jurisdiction": policy.and_then(|p| p.tcf.as_ref()).map(|t| t.publisher_country_code.clone()),
        "controller": policy.map(|p| json!({
            "name": p.controller.name,
            "contact": p.controller.contact,
            "policy_url": p.controller.policy_url,
        })),
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
        "validity": policy.map(|p| json!({"expires_utc": utc(days_after(d.decided_at_ms, p.consent_lifetime_days))})),
        "categories": categories,
        "signals": signals,
        "versions": {"sdk": d.sdk_version, "app": d.app_version},
        "integrity": {
            "canonical_encoding": "sha256(canonical_json(record)); canonical_json: UTF-8, no whitespace, keys sorted at every level",
            "prev_hash": d.prev_hash,
            "record_hash": d.record_hash,
        },
        "record": proof::record_body(d),
        "policy": shown.and_then(|s| serde_json::from_str::<Value>(&s.canonical_json).ok()),
    })
}

/// What checking a receipt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptCheck {
    pub receipt_id: String,
    pub event: String,
    pub time_utc: String,
    /// The account id the record is for (`""`: the anonymous device).
    pub subject: String,
    /// When the back end witnessed it, if the receipt carries a witness (checked only when a key
    /// was given: see `witness_verified`).
    pub witnessed_at_ms: Option<i64>,
    /// Whether the witness's signature was checked under a back end key, and held.
    pub witness_verified: bool,
}

/// A receipt taken apart and checked.
pub(crate) struct Verified {
    pub decision: Decision,
    pub policy: PolicyText,
    pub witness: Option<Witness>,
    pub check: ReceiptCheck,
}

/// Checks a receipt with nothing but its own contents: the record's form, its hash, the policy text
/// it was made on, and that every readable field is exactly what those two give. A witness, if
/// there is one, must be well formed and name this record; its signature needs the back end's key
/// ([`verify_receipt_with_key`]).
pub fn verify_receipt(json: &str) -> Result<ReceiptCheck, String> {
    read(json, None).map(|v| v.check)
}

/// [`verify_receipt`], and the receipt must carry a witness signed by `key`.
pub fn verify_receipt_with_key(json: &str, key: &BackendKey) -> Result<ReceiptCheck, String> {
    read(json, Some(key)).map(|v| v.check)
}

/// Reads and checks a receipt; with a key, its witness must be there and verify.
pub(crate) fn read(json: &str, key: Option<&BackendKey>) -> Result<Verified, String> {
    if json.len() > MAX_RECEIPT_BYTES {
        return Err(format!(
            "the receipt is {} bytes; at most {MAX_RECEIPT_BYTES} are accepted",
            json.len()
        ));
    }
    let mut given = strict_json(json)?;
    let fields = given.as_object_mut().ok_or("a receipt is a JSON object")?;
    let witness = fields.remove("witness");
    if fields.get("schema").and_then(Value::as_str) != Some(RECEIPT_SCHEMA) {
        return Err(format!(
            "unknown receipt schema (expected {RECEIPT_SCHEMA})"
        ));
    }
    let decision = proof::record_from_body(fields.get("record").ok_or("missing field record")?)?;
    let policy = match fields.get("policy") {
        Some(p @ Value::Object(_)) => PolicyText::parse(&p.to_string())
            .map_err(|e| format!("the policy it carries is not a valid policy: {e}"))?,
        _ => {
            return Err("it carries no policy text: it cannot show what the user was shown".into())
        }
    };
    if decision.policy_hash.as_deref() != Some(policy.hash.as_str()) {
        return Err("the policy it carries is not the one the record was made on".into());
    }
    if decision.policy_id != policy.policy.id || decision.policy_revision != policy.policy.revision
    {
        return Err("the record names another policy id or revision than its policy".into());
    }
    if decision.sdks_shown != policy.policy.sdk_ids() {
        return Err("the record's SDKs are not the ones its policy lists".into());
    }
    if !policy.policy.locales.contains(&decision.locale) {
        return Err("the record's language is not one of its policy's".into());
    }
    let expected = receipt(Some(&policy), &decision);
    if expected != given {
        return Err(first_difference(&expected, &given).map_or_else(
            || "a readable field does not say what the record and its policy say".to_owned(),
            |at| format!("{at} does not say what the record and its policy say"),
        ));
    }
    let witness = match witness {
        None => None,
        Some(w) => {
            let w = Witness::from_value(&w)?;
            if w.record_hash != decision.record_hash {
                return Err("its witness is for another record".into());
            }
            Some(w)
        }
    };
    let witness_verified = match (key, &witness) {
        (None, _) => false,
        (Some(_), None) => {
            return Err("it carries no witness: the back end has not signed it".into())
        }
        (Some(key), Some(w)) => {
            w.verify(key)?;
            true
        }
    };
    let check = ReceiptCheck {
        receipt_id: decision.record_hash.clone(),
        event: decision.source.as_str().to_owned(),
        time_utc: utc(decision.decided_at_ms),
        subject: decision.subject.clone(),
        witnessed_at_ms: witness.as_ref().map(|w| w.backend_time_ms),
        witness_verified,
    };
    Ok(Verified {
        decision,
        policy,
        witness,
        check,
    })
}

/// Parses JSON, refusing an object that names a key twice: parsers disagree on which one counts
/// (this one keeps the last, others the first), so such a receipt could mean one thing here and
/// another on a back end.
fn strict_json(json: &str) -> Result<Value, String> {
    struct Strict(Value);
    impl<'de> serde::Deserialize<'de> for Strict {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Strict, D::Error> {
            d.deserialize_any(StrictVisitor).map(Strict)
        }
    }
    struct StrictVisitor;
    impl<'de> serde::de::Visitor<'de> for StrictVisitor {
        type Value = Value;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
            Ok(Value::Bool(v))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_str<E>(self, v: &str) -> Result<Value, E> {
            Ok(Value::String(v.to_owned()))
        }
        fn visit_string<E>(self, v: String) -> Result<Value, E> {
            Ok(Value::String(v))
        }
        fn visit_unit<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let mut items = Vec::new();
            while let Some(Strict(v)) = seq.next_element()? {
                items.push(v);
            }
            Ok(Value::Array(items))
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            let mut out = Map::new();
            while let Some(key) = map.next_key::<String>()? {
                let Strict(value) = map.next_value()?;
                if out.insert(key.clone(), value).is_some() {
                    return Err(serde::de::Error::custom(format!(
                        "the key {key:?} appears twice"
                    )));
                }
            }
            Ok(Value::Object(out))
        }
    }
    serde_json::from_str::<Strict>(json)
        .map(|s| s.0)
        .map_err(|e| format!("not JSON: {e}"))
}

/// The path of the first place where two JSON values differ (`categories[3].sdks`), for messages;
/// `None` when they do not differ.
fn first_difference(expected: &Value, given: &Value) -> Option<String> {
    let join = |head: String, rest: String| match rest.chars().next() {
        None => head,
        Some('[') => format!("{head}{rest}"),
        Some(_) => format!("{head}.{rest}"),
    };
    match (expected, given) {
        _ if expected == given => None,
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| match (a.get(k), b.get(k)) {
                (Some(x), Some(y)) => first_difference(x, y).map(|rest| join(k.clone(), rest)),
                _ => Some(k.clone()),
            })
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            a.iter().zip(b).enumerate().find_map(|(i, (x, y))| {
                first_difference(x, y).map(|rest| join(format!("[{i}]"), rest))
            })
        }
        _ => Some(String::new()),
    }
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
    use super::{strict_json, utc};

    #[test]
    fn a_key_named_twice_is_refused_at_any_depth() {
        assert!(strict_json(r#"{"a":{"b":[1,{"c":null}]},"d":"e"}"#).is_ok());
        for twice in [
            r#"{"a":1,"a":2}"#,
            r#"{"x":{"subject":"a","subject":"b"}}"#,
            r#"[{"k":true,"k":false}]"#,
        ] {
            assert!(strict_json(twice).unwrap_err().contains("twice"), "{twice}");
        }
    }

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(utc(1_780_000_000_123), "2026-05-28T20:26:40.123Z");
        assert_eq!(utc(-1), "1969-12-31T23:59:59.999Z");
    }
}
