//! Policy validation: every rule refuses a bad policy with an error naming the JSON path.

mod common;

use common::{policy_with, sample_policy_json};
use kmer_consent::{Policy, PolicyError};
use serde_json::{json, Value};

fn refused(json: &str) -> PolicyError {
    match Policy::parse(json) {
        Ok(_) => panic!("policy was accepted: {json:.200}"),
        Err(e) => e,
    }
}

fn assert_refused(edit: impl FnOnce(&mut Value), path: &str, message_part: &str) {
    let error = refused(&policy_with(edit));
    assert_eq!(error.path, path, "wrong path in {error}");
    assert!(
        error.message.contains(message_part),
        "{error:?} does not mention {message_part:?}"
    );
}

#[test]
fn the_sample_policy_is_valid() {
    let policy = Policy::parse(&sample_policy_json()).expect("valid");
    assert_eq!(policy.id, "kmeroccase");
    for id in [
        "kmer_session",
        "firebase_analytics",
        "kmer_recommendations",
        "google_mobile_ads",
        "meta_audience_network",
    ] {
        assert!(policy.sdk(id).is_some(), "{id} is listed");
    }
    assert!(
        policy
            .sdk("meta_audience_network")
            .unwrap()
            .requires_tracking_authorization
    );
}

#[test]
fn malformed_json_gives_line_and_column() {
    let error = refused("{\n  \"id\": \"kmeroccase\",\n  \"revision\": ,\n}");
    assert_eq!(error.path, "revision");
    assert!(error.message.contains("line 3"), "{error}");
    assert!(error.message.contains("column"), "{error}");

    let error = refused("{\"id\": \"x\"} trailing");
    assert!(error.message.contains("line 1"), "{error}");
}

#[test]
fn a_document_that_is_not_json_has_an_empty_path() {
    // The path names a field; a document that is not JSON at all, or not an object, has none.
    for json in [
        "",
        "not json",
        "{",
        "{not json}",
        "{\"id",
        "42",
        "\"policy\"",
    ] {
        let error = refused(json);
        assert_eq!(error.path, "", "{json:?} gave {error:?}");
    }
    // Cut short inside a field: the path names the last field entered, never `?`.
    let error = refused("{\"id\": \"kmeroccase\", \"texts\": {");
    assert_eq!(error.path, "texts", "{error:?}");
}

#[test]
fn unknown_fields_are_errors_at_every_level() {
    assert_refused(
        |p| p["colour"] = json!("red"),
        "colour",
        "unknown field `colour`",
    );
    assert_refused(
        |p| p["controller"]["phone"] = json!("+237"),
        "controller.phone",
        "unknown field `phone`",
    );
    assert_refused(
        |p| p["sdks"][2]["categroy"] = json!("statistics"),
        "sdks[2].categroy",
        "unknown field `categroy`",
    );
    assert_refused(
        |p| p["texts"]["fr"]["subtitle"] = json!("x"),
        "texts.fr.subtitle",
        "unknown field `subtitle`",
    );
}

#[test]
fn exactly_the_four_categories() {
    assert_refused(
        |p| {
            p["categories"].as_object_mut().unwrap().remove("marketing");
        },
        "categories",
        "missing field `marketing`",
    );
    assert_refused(
        |p| p["categories"]["social"] = p["categories"]["marketing"].clone(),
        "categories.social",
        "unknown field `social`",
    );
}

#[test]
fn an_sdk_category_is_one_of_the_four() {
    assert_refused(
        |p| p["sdks"][2]["category"] = json!("advertising"),
        "sdks[2].category",
        "unknown variant `advertising`",
    );
}

#[test]
fn ids_match_the_pattern() {
    for bad in [
        "",
        "KmerOccase",
        "kmer occase",
        "kmer/occase",
        &"a".repeat(65),
        "é",
    ] {
        assert_refused(|p| p["id"] = json!(bad), "id", "a-z, 0-9");
        assert_refused(
            |p| p["sdks"][1]["id"] = json!(bad),
            "sdks[1].id",
            "a-z, 0-9",
        );
    }
    let ok = policy_with(|p| p["id"] = json!("a.b-c_9"));
    Policy::parse(&ok).expect("a valid id");
    let ok = policy_with(|p| p["id"] = json!("a".repeat(64)));
    Policy::parse(&ok).expect("64 characters is the limit, not over it");
}

#[test]
fn sdk_ids_are_unique() {
    assert_refused(
        |p| p["sdks"][3]["id"] = json!("firebase_analytics"),
        "sdks[3].id",
        "listed twice",
    );
}

#[test]
fn revision_is_at_least_one() {
    assert_refused(|p| p["revision"] = json!(0), "revision", "1 or more");
    assert_refused(|p| p["revision"] = json!(-1), "revision", "invalid value");
    assert_refused(|p| p["revision"] = json!("2"), "revision", "invalid type");
}

#[test]
fn the_default_locale_is_listed() {
    assert_refused(
        |p| p["default_locale"] = json!("de"),
        "default_locale",
        "not one of locales",
    );
    assert_refused(|p| p["locales"] = json!([]), "locales", "at least one");
    assert_refused(
        |p| p["locales"] = json!(["fr", "en", "fr"]),
        "locales[2]",
        "twice",
    );
    assert_refused(
        |p| p["locales"] = json!(["fr", "EN"]),
        "locales[1]",
        "language tag",
    );
}

#[test]
fn every_locale_has_every_text() {
    assert_refused(
        |p| {
            p["texts"].as_object_mut().unwrap().remove("en");
        },
        "texts.en",
        "missing",
    );
    assert_refused(
        |p| {
            p["texts"]["en"]
                .as_object_mut()
                .unwrap()
                .remove("reject_all");
        },
        "texts.en",
        "missing field `reject_all`",
    );
    assert_refused(
        |p| p["texts"]["fr"]["close"] = json!("  "),
        "texts.fr.close",
        "empty",
    );
    assert_refused(
        |p| p["texts"]["de"] = p["texts"]["en"].clone(),
        "texts.de",
        "not listed in locales",
    );
    assert_refused(
        |p| {
            p["categories"]["statistics"]["title"]
                .as_object_mut()
                .unwrap()
                .remove("en");
        },
        "categories.statistics.title.en",
        "missing",
    );
    assert_refused(
        |p| p["categories"]["essential"]["description"]["fr"] = json!(""),
        "categories.essential.description.fr",
        "empty",
    );
    assert_refused(
        |p| p["categories"]["marketing"]["title"]["es"] = json!("Marketing"),
        "categories.marketing.title.es",
        "not listed in locales",
    );
    // Adding a locale means adding all of its texts.
    assert_refused(
        |p| p["locales"] = json!(["fr", "en", "es"]),
        "texts.es",
        "missing",
    );
}

#[test]
fn lifetime_and_reminder_are_bounded() {
    for bad in [0, 396, 1000] {
        assert_refused(
            |p| p["consent_lifetime_days"] = json!(bad),
            "consent_lifetime_days",
            "between 1 and 395",
        );
    }
    assert_refused(
        |p| p["refusal_reprompt_days"] = json!(0),
        "refusal_reprompt_days",
        "between 1",
    );
    assert_refused(
        |p| {
            p["consent_lifetime_days"] = json!(100);
            p["refusal_reprompt_days"] = json!(101);
        },
        "refusal_reprompt_days",
        "between 1 and consent_lifetime_days (100)",
    );
}

#[test]
fn lifetime_and_reminder_have_cnil_defaults() {
    let json = policy_with(|p| {
        let o = p.as_object_mut().unwrap();
        o.remove("consent_lifetime_days");
        o.remove("refusal_reprompt_days");
    });
    let policy = Policy::parse(&json).expect("defaults apply");
    assert_eq!(policy.consent_lifetime_days, 390);
    assert_eq!(policy.refusal_reprompt_days, 180);
}

#[test]
fn urls_are_https() {
    for bad in [
        "http://kmeroccase.com/cookies",
        "kmeroccase.com",
        "https://",
        "https://a b",
        "ftp://x",
    ] {
        assert_refused(
            |p| p["controller"]["policy_url"] = json!(bad),
            "controller.policy_url",
            "https://",
        );
        assert_refused(
            |p| p["sdks"][4]["privacy_url"] = json!(bad),
            "sdks[4].privacy_url",
            "https://",
        );
    }
}

#[test]
fn an_essential_sdk_cannot_require_tracking() {
    assert_refused(
        |p| p["sdks"][0]["requires_tracking_authorization"] = json!(true),
        "sdks[0].requires_tracking_authorization",
        "essential",
    );
}

#[test]
fn names_and_controller_are_not_empty() {
    assert_refused(
        |p| p["sdks"][1]["name"] = json!(""),
        "sdks[1].name",
        "empty",
    );
    assert_refused(
        |p| p["sdks"][1]["provider"] = json!(" "),
        "sdks[1].provider",
        "empty",
    );
    assert_refused(
        |p| p["controller"]["contact"] = json!(""),
        "controller.contact",
        "empty",
    );
}

#[test]
fn a_policy_over_one_mebibyte_is_refused_before_parsing() {
    // Not even JSON: refused for its size, not its syntax.
    let big = "x".repeat(kmer_consent::MAX_POLICY_BYTES + 1);
    let error = refused(&big);
    assert!(error.message.contains("bytes"), "{error}");
    // A valid policy padded with whitespace past the limit is refused too.
    let padded = format!(
        "{}{}",
        sample_policy_json(),
        " ".repeat(kmer_consent::MAX_POLICY_BYTES)
    );
    assert!(refused(&padded).message.contains("bytes"));
}

#[test]
fn deeply_nested_input_is_an_error_not_a_crash() {
    for deep in [
        format!("{{\"id\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000)),
        format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
        format!("{}{}", "{\"a\":".repeat(10_000), "}".repeat(10_000)),
    ] {
        let error = refused(&deep);
        assert!(!error.message.is_empty());
    }
}
