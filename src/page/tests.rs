//! The page's message as untrusted input, and page tokens.

use super::message::*;
use super::token::*;
use super::ConsentPageLayer;
use crate::category::Category;
use crate::rules::page::PageState;
use hmac::Mac;

fn message(action: &str, choices: Option<&str>) -> String {
    let choices = choices.map_or(String::new(), |c| format!(",\"choices\":{c}"));
    format!("{{\"type\":\"kmer-consent/ui\",\"version\":1,\"token\":\"t\",\"action\":\"{action}\"{choices}}}")
}

const ALL_THREE: &str = r#"{"statistics":true,"personalization":false,"marketing":true}"#;

#[test]
fn every_action_parses_to_what_it_says() {
    assert_eq!(
        parse(&message("accept_all", None)).unwrap().action,
        UiAction::AcceptAll
    );
    assert_eq!(
        parse(&message("reject_all", None)).unwrap().action,
        UiAction::RejectAll
    );
    assert_eq!(
        parse(&message("dismiss", None)).unwrap().action,
        UiAction::Dismiss
    );
    assert_eq!(
        parse(&message("close", None)).unwrap().action,
        UiAction::Close
    );
    let UiAction::Save(grants) = parse(&message("save", Some(ALL_THREE))).unwrap().action else {
        panic!("save expected");
    };
    assert!(grants.get(Category::Statistics) && grants.get(Category::Marketing));
    assert!(!grants.get(Category::Personalization));
    assert_eq!(parse(&message("save", Some(ALL_THREE))).unwrap().token, "t");
}

#[test]
fn malformed_messages_are_refused_with_a_reason() {
    let long = format!("{{\"pad\":\"{}\"}}", "x".repeat(MAX_MESSAGE_BYTES));
    let cases = [
        ("", "not a bridge message"),
        ("[]", "not a bridge message"),
        ("null", "not a bridge message"),
        (long.as_str(), "at most 1024"),
        (
            &message("accept_all", None).replace("\"version\":1", "\"version\":\"1\""),
            "not a bridge message",
        ),
        (
            &message("accept_all", None).replace("\"version\":1", "\"version\":2"),
            "unsupported",
        ),
        (
            &message("accept_all", None).replace("kmer-consent/ui", "other"),
            "unsupported",
        ),
        (
            &message("accept_all", None).replace("}", ",\"extra\":1}"),
            "unknown field",
        ),
        (&message("grant_everything", None), "unknown action"),
        (&message("save", None), "needs its choices"),
        (&message("accept_all", Some(ALL_THREE)), "takes no choices"),
        (
            &message("save", Some(r#"{"statistics":true}"#)),
            "missing field `personalization`",
        ),
        (
            &message(
                "save",
                Some(
                    r#"{"statistics":true,"personalization":true,"marketing":true,"essential":true}"#,
                ),
            ),
            "unknown field `essential`",
        ),
        (
            &message(
                "save",
                Some(r#"{"statistics":true,"personalization":true,"ads":true}"#),
            ),
            "unknown field `ads`",
        ),
        (
            &message(
                "save",
                Some(
                    r#"{"statistics":false,"statistics":true,"personalization":true,"marketing":true}"#,
                ),
            ),
            "duplicate field `statistics`",
        ),
        (
            &message(
                "save",
                Some(r#"{"statistics":"yes","personalization":true,"marketing":true}"#),
            ),
            "not a bridge message",
        ),
        (
            &message("save", Some("[true,true,true]")),
            "not a bridge message",
        ),
    ];
    for (input, reason) in cases {
        let error = parse(input).expect_err(input);
        assert!(error.contains(reason), "{input}: {error}");
    }
}

fn state(last_decision_id: i64) -> PageState {
    PageState {
        subject: String::new(),
        policy_hash: "ab".repeat(32),
        last_decision_id,
        chain_head: "0".repeat(64),
        closed_pages: 0,
        unwritten: 0,
    }
}

#[test]
fn tokens_are_bound_to_the_key_the_policy_the_page_the_state_and_a_day() {
    let key = [7u8; 32];
    let now = 1_800_000_000_000;
    let at_render = state(4);
    let shown = Shown {
        policy_id: "kmeroccase",
        revision: 3,
        locale: "en",
        layer: ConsentPageLayer::Preferences,
        state: &at_render,
    };
    let token = issue(&key, shown, now);
    assert!(
        token.starts_with(&format!("{now}.en.preferences.")),
        "{token}"
    );
    let accepted = Ok(Issued {
        locale: "en".to_owned(),
        layer: ConsentPageLayer::Preferences,
    });
    let s = &at_render;
    assert_eq!(
        check(&key, &token, "kmeroccase", 3, s, now + 1000),
        accepted
    );
    assert_eq!(
        check(
            &key,
            &token,
            "kmeroccase",
            3,
            s,
            now + TOKEN_LIFETIME_MS - 1
        ),
        accepted
    );
    let other_subject = PageState {
        subject: "bob".into(),
        ..state(4)
    };
    let other_text = PageState {
        policy_hash: "cd".repeat(32),
        ..state(4)
    };
    let erased = PageState {
        chain_head: "1".repeat(64),
        ..state(4)
    };
    let refused = [
        check(&[8u8; 32], &token, "kmeroccase", 3, s, now),
        check(&key, &token, "kmeroccase", 4, s, now),
        check(&key, &token, "other", 3, s, now),
        check(&key, &token, "kmeroccase", 3, &state(5), now),
        check(&key, &token, "kmeroccase", 3, &other_subject, now),
        check(&key, &token, "kmeroccase", 3, &other_text, now),
        check(&key, &token, "kmeroccase", 3, &erased, now),
        check(
            &key,
            &token.replace(&now.to_string(), &(now + 1).to_string()),
            "kmeroccase",
            3,
            s,
            now,
        ),
        check(&key, &format!("+{token}"), "kmeroccase", 3, s, now),
        check(&key, &format!("0{token}"), "kmeroccase", 3, s, now),
        check(&key, &format!("{token}0"), "kmeroccase", 3, s, now),
        check(&key, &token.to_uppercase(), "kmeroccase", 3, s, now),
        check(&key, &plus_for_zero(&token), "kmeroccase", 3, s, now),
        check(
            &key,
            &token.replace(".en.", ".fr."),
            "kmeroccase",
            3,
            s,
            now,
        ),
        check(
            &key,
            &token.replace(".preferences.", ".banner."),
            "kmeroccase",
            3,
            s,
            now,
        ),
        check(
            &key,
            &token.replace(".preferences.", ".other."),
            "kmeroccase",
            3,
            s,
            now,
        ),
        check(&key, "", "kmeroccase", 3, s, now),
        check(&key, "garbage", "kmeroccase", 3, s, now),
        check(&key, "1.2.3.4", "kmeroccase", 3, s, now),
    ];
    for result in refused {
        assert!(result.unwrap_err().contains("not issued by this store"));
    }
    let expired = check(&key, &token, "kmeroccase", 3, s, now + TOKEN_LIFETIME_MS);
    assert!(
        expired.unwrap_err().contains("expired"),
        "a day old is too old"
    );
    let from_the_future = check(&key, &token, "kmeroccase", 3, s, now - 120_000);
    assert!(from_the_future.unwrap_err().contains("future"));
    // Extreme clocks are errors, not overflows.
    assert!(check(&key, &token, "kmeroccase", 3, s, i64::MAX).is_err());
    assert!(check(&key, &token, "kmeroccase", 3, s, i64::MIN).is_err());
}

/// The token with the first `0` of its tag written `+` ("+d" and "0d" were once read as one byte).
fn plus_for_zero(token: &str) -> String {
    let (head, tag) = token.rsplit_once('.').unwrap();
    let at = tag.find('0').unwrap_or(0);
    let mut tag = tag.to_owned();
    tag.replace_range(at..at + 1, "+");
    format!("{head}.{tag}")
}

#[test]
fn the_tag_is_hmac_sha256_as_rfc_4231_defines_it() {
    // RFC 4231 test case 2 uses a 4-byte key ("Jefe"); HMAC pads keys with zeros to the block size,
    // so the same key zero-padded to 32 bytes gives the same tag.
    let mut key = [0u8; 32];
    key[..4].copy_from_slice(b"Jefe");
    let mut mac = keyed(&key);
    mac.update(b"what do ya want for nothing?");
    assert_eq!(
        crate::proof::hex(&mac.finalize().into_bytes()),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}
