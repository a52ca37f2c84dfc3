//! The app's consent policy: parsed from JSON with serde, then validated. Every refusal names the JSON
//! path of the offending value.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

use crate::category::Category;
use crate::error::PolicyError;
use crate::proof;
use crate::record::is_valid_id;

/// Policies larger than this are refused before parsing.
pub const MAX_POLICY_BYTES: usize = 1024 * 1024;
/// CNIL: consent is kept at most 13 months (395 days).
pub const MAX_CONSENT_LIFETIME_DAYS: u32 = 395;
pub const DEFAULT_CONSENT_LIFETIME_DAYS: u32 = 390;
pub const DEFAULT_REFUSAL_REPROMPT_DAYS: u32 = 180;

/// A validated consent policy.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub id: String,
    pub revision: u32,
    pub default_locale: String,
    pub locales: Vec<String>,
    #[serde(default = "default_lifetime")]
    pub consent_lifetime_days: u32,
    #[serde(default = "default_reprompt")]
    pub refusal_reprompt_days: u32,
    pub controller: Controller,
    pub texts: BTreeMap<String, Texts>,
    pub categories: Categories,
    pub sdks: Vec<Sdk>,
    /// Which categories grant each Google Consent Mode signal (default: [`ConsentModeMapping::default`]).
    #[serde(default)]
    pub consent_mode: ConsentModeMapping,
    /// IAB TCF: present when the app writes TC strings and the `IABTCF_*` keys.
    #[serde(default)]
    pub tcf: Option<TcfConfig>,
}

/// For each Google Consent Mode v2 signal, the categories that must all be granted for it to be
/// granted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentModeMapping {
    pub analytics_storage: Vec<Category>,
    pub ad_storage: Vec<Category>,
    pub ad_user_data: Vec<Category>,
    pub ad_personalization: Vec<Category>,
}

impl Default for ConsentModeMapping {
    /// Statistics grants analytics storage; marketing grants the three advertising signals.
    fn default() -> Self {
        ConsentModeMapping {
            analytics_storage: vec![Category::Statistics],
            ad_storage: vec![Category::Marketing],
            ad_user_data: vec![Category::Marketing],
            ad_personalization: vec![Category::Marketing],
        }
    }
}

impl ConsentModeMapping {
    /// The four signals with their categories, in Google's order.
    pub fn signals(&self) -> [(&'static str, &[Category]); 4] {
        [
            ("analytics_storage", &self.analytics_storage),
            ("ad_storage", &self.ad_storage),
            ("ad_user_data", &self.ad_user_data),
            ("ad_personalization", &self.ad_personalization),
        ]
    }
}

/// The IAB TCF v2.3 settings of the app's CMP.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcfConfig {
    /// The CMP id IAB Europe assigned at registration.
    pub cmp_id: u16,
    pub cmp_version: u16,
    /// Which screen of the CMP collected consent.
    pub consent_screen: u8,
    /// The Global Vendor List version the policy's vendor ids were reviewed against.
    pub vendor_list_version: u16,
    /// Two capital letters, e.g. "CM".
    pub publisher_country_code: String,
    pub gdpr_applies: bool,
    /// Which TCF purposes each optional category grants (purpose 1 follows any grant).
    #[serde(default)]
    pub purposes: TcfPurposes,
}

/// TCF purposes (2 to 11) per optional category.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcfPurposes {
    pub statistics: Vec<u8>,
    pub personalization: Vec<u8>,
    pub marketing: Vec<u8>,
}

impl Default for TcfPurposes {
    /// Statistics → 8, 9, 10; personalization → 5, 6, 11; marketing → 2, 3, 4, 7.
    fn default() -> Self {
        TcfPurposes {
            statistics: vec![8, 9, 10],
            personalization: vec![5, 6, 11],
            marketing: vec![2, 3, 4, 7],
        }
    }
}

impl TcfPurposes {
    /// The purposes a category grants; essential grants none.
    pub fn of(&self, category: Category) -> &[u8] {
        match category {
            Category::Essential => &[],
            Category::Statistics => &self.statistics,
            Category::Personalization => &self.personalization,
            Category::Marketing => &self.marketing,
        }
    }
}

fn default_lifetime() -> u32 {
    DEFAULT_CONSENT_LIFETIME_DAYS
}
fn default_reprompt() -> u32 {
    DEFAULT_REFUSAL_REPROMPT_DAYS
}

/// Who is responsible for the processing (GDPR controller).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Controller {
    pub name: String,
    pub contact: String,
    pub policy_url: String,
}

/// The banner's texts in one locale.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Texts {
    pub title: String,
    pub body: String,
    pub accept_all: String,
    pub reject_all: String,
    pub customize: String,
    pub save: String,
    /// The banner's "continue without accepting" button (a refusal). Named `close` in the policy
    /// JSON, whose format (and so every policy's hash) stays as it is.
    #[serde(rename = "close")]
    pub dismiss: String,
}

/// The four categories, exactly: a missing or extra one is an error.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Categories {
    pub essential: CategoryText,
    pub statistics: CategoryText,
    pub personalization: CategoryText,
    pub marketing: CategoryText,
}

impl Categories {
    pub fn get(&self, category: Category) -> &CategoryText {
        match category {
            Category::Essential => &self.essential,
            Category::Statistics => &self.statistics,
            Category::Personalization => &self.personalization,
            Category::Marketing => &self.marketing,
        }
    }
}

/// A category's title and description, per locale.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryText {
    pub title: BTreeMap<String, String>,
    pub description: BTreeMap<String, String>,
}

/// A third-party (or first-party) SDK that sets trackers, gated by its category.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sdk {
    pub id: String,
    pub name: String,
    pub category: Category,
    pub provider: String,
    pub privacy_url: String,
    /// Needs iOS App Tracking Transparency authorization on top of its category.
    #[serde(default)]
    pub requires_tracking_authorization: bool,
    /// Its IAB Global Vendor List id, for the TC string (needs a `tcf` section).
    #[serde(default)]
    pub tcf_vendor_id: Option<u16>,
    /// Its Google Ad Tech Provider id, for the Additional Consent string (needs a `tcf` section).
    #[serde(default)]
    pub google_atp_id: Option<u32>,
}

/// A policy as users are shown it: parsed and validated, with its canonical JSON and the SHA-256 of
/// that JSON, the hash every decision made on it records. Consent is bound to this text, not to the
/// revision number alone.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyText {
    pub policy: Policy,
    pub canonical_json: String,
    pub hash: String,
}

impl PolicyText {
    /// Parses and validates a policy document, and fingerprints it.
    pub fn parse(json: &str) -> Result<PolicyText, PolicyError> {
        let policy = Policy::parse(json)?;
        let (canonical_json, hash) = proof::policy_fingerprint(json)
            .ok_or_else(|| PolicyError::new("", "not a JSON document"))?;
        Ok(PolicyText {
            policy,
            canonical_json,
            hash,
        })
    }
}

impl Policy {
    /// Parses and validates a policy document.
    pub fn parse(json: &str) -> Result<Policy, PolicyError> {
        if json.len() > MAX_POLICY_BYTES {
            return Err(PolicyError::new(
                "",
                format!(
                    "the policy is {} bytes, more than the {MAX_POLICY_BYTES} allowed",
                    json.len()
                ),
            ));
        }
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let policy: Policy = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let path = json_path(e.path());
            PolicyError::new(path, e.into_inner().to_string())
        })?;
        deserializer
            .end()
            .map_err(|e| PolicyError::new("", e.to_string()))?;
        policy.validate()?;
        Ok(policy)
    }

    /// The SDK with this id, if the policy lists it.
    pub fn sdk(&self, id: &str) -> Option<&Sdk> {
        self.sdks.iter().find(|s| s.id == id)
    }

    /// The ids of every SDK listed, in policy order.
    pub fn sdk_ids(&self) -> Vec<String> {
        self.sdks.iter().map(|s| s.id.clone()).collect()
    }

    fn validate(&self) -> Result<(), PolicyError> {
        check_id("id", &self.id)?;
        if self.revision < 1 {
            return Err(PolicyError::new("revision", "must be 1 or more"));
        }
        self.validate_locales()?;
        if !(1..=MAX_CONSENT_LIFETIME_DAYS).contains(&self.consent_lifetime_days) {
            return Err(PolicyError::new(
                "consent_lifetime_days",
                format!(
                    "must be between 1 and {MAX_CONSENT_LIFETIME_DAYS} (13 months), got {}",
                    self.consent_lifetime_days
                ),
            ));
        }
        if !(1..=self.consent_lifetime_days).contains(&self.refusal_reprompt_days) {
            return Err(PolicyError::new(
                "refusal_reprompt_days",
                format!(
                    "must be between 1 and consent_lifetime_days ({}), got {}",
                    self.consent_lifetime_days, self.refusal_reprompt_days
                ),
            ));
        }
        check_text("controller.name", &self.controller.name)?;
        check_text("controller.contact", &self.controller.contact)?;
        check_https("controller.policy_url", &self.controller.policy_url)?;
        self.validate_texts()?;
        self.validate_sdks()?;
        self.validate_consent_mode()?;
        self.validate_tcf()
    }

    fn validate_locales(&self) -> Result<(), PolicyError> {
        if self.locales.is_empty() {
            return Err(PolicyError::new("locales", "must list at least one locale"));
        }
        let mut seen = HashSet::new();
        for (i, locale) in self.locales.iter().enumerate() {
            if !is_locale_tag(locale) {
                return Err(PolicyError::new(
                    format!("locales[{i}]"),
                    format!("{locale:?} is not a language tag such as \"fr\" or \"en\""),
                ));
            }
            if !seen.insert(locale.as_str()) {
                return Err(PolicyError::new(
                    format!("locales[{i}]"),
                    format!("{locale:?} is listed twice"),
                ));
            }
        }
        if !self.locales.contains(&self.default_locale) {
            return Err(PolicyError::new(
                "default_locale",
                format!("{:?} is not one of locales", self.default_locale),
            ));
        }
        Ok(())
    }

    fn validate_texts(&self) -> Result<(), PolicyError> {
        for key in self.texts.keys() {
            if !self.locales.contains(key) {
                return Err(PolicyError::new(
                    format!("texts.{key}"),
                    "locale not listed in locales",
                ));
            }
        }
        for locale in &self.locales {
            let Some(t) = self.texts.get(locale) else {
                return Err(PolicyError::new(
                    format!("texts.{locale}"),
                    "missing: every locale needs the banner texts",
                ));
            };
            for (field, value) in [
                ("title", &t.title),
                ("body", &t.body),
                ("accept_all", &t.accept_all),
                ("reject_all", &t.reject_all),
                ("customize", &t.customize),
                ("save", &t.save),
                ("close", &t.dismiss),
            ] {
                check_text(&format!("texts.{locale}.{field}"), value)?;
            }
        }
        for category in Category::ALL {
            let text = self.categories.get(category);
            for (field, map) in [("title", &text.title), ("description", &text.description)] {
                let base = format!("categories.{category}.{field}");
                check_localized(&base, map, &self.locales)?;
            }
        }
        Ok(())
    }

    fn validate_consent_mode(&self) -> Result<(), PolicyError> {
        for (signal, categories) in self.consent_mode.signals() {
            let at = format!("consent_mode.{signal}");
            if categories.is_empty() {
                return Err(PolicyError::new(at, "must name at least one category"));
            }
            if categories.contains(&Category::Essential) {
                return Err(PolicyError::new(
                    at,
                    "essential cannot grant a Consent Mode signal: the signals need consent",
                ));
            }
        }
        Ok(())
    }

    fn validate_tcf(&self) -> Result<(), PolicyError> {
        let Some(tcf) = &self.tcf else {
            if let Some(i) = self
                .sdks
                .iter()
                .position(|s| s.tcf_vendor_id.is_some() || s.google_atp_id.is_some())
            {
                return Err(PolicyError::new(
                    format!("sdks[{i}]"),
                    "tcf_vendor_id and google_atp_id need a tcf section",
                ));
            }
            return Ok(());
        };
        let range = |path: &str, value: u32, min: u32, max: u32| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(PolicyError::new(
                    format!("tcf.{path}"),
                    format!("must be between {min} and {max}, got {value}"),
                ))
            }
        };
        range("cmp_id", tcf.cmp_id.into(), 2, 4095)?;
        range("cmp_version", tcf.cmp_version.into(), 1, 4095)?;
        range("consent_screen", tcf.consent_screen.into(), 0, 63)?;
        range(
            "vendor_list_version",
            tcf.vendor_list_version.into(),
            1,
            4095,
        )?;
        let cc = &tcf.publisher_country_code;
        if cc.len() != 2 || !cc.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(PolicyError::new(
                "tcf.publisher_country_code",
                format!("{cc:?} must be two capital letters, e.g. \"CM\""),
            ));
        }
        for category in Category::OPTIONAL {
            for (i, purpose) in tcf.purposes.of(category).iter().enumerate() {
                range(
                    &format!("purposes.{category}[{i}]"),
                    (*purpose).into(),
                    2,
                    11,
                )?;
            }
        }
        for (i, sdk) in self.sdks.iter().enumerate() {
            let essential = sdk.category == Category::Essential;
            if let Some(id) = sdk.tcf_vendor_id {
                if id == 0 || essential {
                    return Err(PolicyError::new(
                        format!("sdks[{i}].tcf_vendor_id"),
                        "must be 1 or more, on an SDK that needs consent (not essential)",
                    ));
                }
            }
            if let Some(id) = sdk.google_atp_id {
                if id == 0 || essential {
                    return Err(PolicyError::new(
                        format!("sdks[{i}].google_atp_id"),
                        "must be 1 or more, on an SDK that needs consent (not essential)",
                    ));
                }
            }
        }
        Ok(())
    }

    fn validate_sdks(&self) -> Result<(), PolicyError> {
        let mut ids = HashSet::new();
        for (i, sdk) in self.sdks.iter().enumerate() {
            let at = |field: &str| format!("sdks[{i}].{field}");
            check_id(&at("id"), &sdk.id)?;
            if !ids.insert(sdk.id.as_str()) {
                return Err(PolicyError::new(
                    at("id"),
                    format!("{:?} is listed twice: SDK ids must be unique", sdk.id),
                ));
            }
            check_text(&at("name"), &sdk.name)?;
            check_text(&at("provider"), &sdk.provider)?;
            check_https(&at("privacy_url"), &sdk.privacy_url)?;
            if sdk.category == Category::Essential && sdk.requires_tracking_authorization {
                return Err(PolicyError::new(
                    at("requires_tracking_authorization"),
                    "an essential SDK cannot require tracking authorization: tracking is never essential",
                ));
            }
        }
        Ok(())
    }
}

/// The path of the value the parser stopped in (`sdks[2].category`), empty for the whole document.
/// Where the parser stopped before it could read a key (a document cut short, or not JSON), the
/// path ends at the last value it had entered: serde_path_to_error writes that unread key as `?`.
fn json_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Unknown => break,
            serde_path_to_error::Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            other => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&other.to_string());
            }
        }
    }
    out
}

fn check_id(path: &str, id: &str) -> Result<(), PolicyError> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(PolicyError::new(
            path,
            format!("{id:?} must be 1 to 64 characters of a-z, 0-9, '_', '.', '-'"),
        ))
    }
}

fn check_text(path: &str, value: &str) -> Result<(), PolicyError> {
    if value.trim().is_empty() {
        Err(PolicyError::new(path, "must not be empty"))
    } else {
        Ok(())
    }
}

fn check_localized(
    path: &str,
    map: &BTreeMap<String, String>,
    locales: &[String],
) -> Result<(), PolicyError> {
    for key in map.keys() {
        if !locales.contains(key) {
            return Err(PolicyError::new(
                format!("{path}.{key}"),
                "locale not listed in locales",
            ));
        }
    }
    for locale in locales {
        match map.get(locale) {
            None => {
                return Err(PolicyError::new(
                    format!("{path}.{locale}"),
                    "missing: every locale needs this text",
                ))
            }
            Some(text) => check_text(&format!("{path}.{locale}"), text)?,
        }
    }
    Ok(())
}

fn check_https(path: &str, url: &str) -> Result<(), PolicyError> {
    let host = url.strip_prefix("https://").map(|rest| {
        rest.split(['/', '?', '#'])
            .next()
            .unwrap_or_default()
            .to_owned()
    });
    match host {
        Some(host)
            if !host.is_empty() && !url.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Ok(())
        }
        _ => Err(PolicyError::new(
            path,
            format!("{url:?} must be an https:// URL"),
        )),
    }
}

/// A language tag as policies write them: `fr`, `en`, `fr-CA`, `zh-Hant`.
fn is_locale_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default();
    (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_lowercase())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}
