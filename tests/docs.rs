//! What the documents promise, checked: the test vectors of docs/receipts.md are what the SDK
//! computes, so a back end written from that page alone agrees with the devices.

use std::collections::HashMap;

use ed25519_dalek::{Signer, SigningKey};
use kmer_consent::{canonical_json, sha256_hex, BackendKey, Witness};
use serde_json::Value;

/// The `key: value` lines of the block after `<!-- test-vectors -->`.
fn vectors() -> HashMap<String, String> {
    let doc = include_str!("../docs/receipts.md");
    let block = doc
        .split("<!-- test-vectors -->")
        .nth(1)
        .and_then(|rest| rest.split("```text\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("docs/receipts.md has its test vectors");
    block
        .lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn bytes<const N: usize>(hex: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

#[test]
fn the_receipt_test_vectors_are_what_the_sdk_computes() {
    let v = vectors();
    let record: Value = serde_json::from_str(&v["record"]).unwrap();
    // The record as written is already canonical, and its hash is the one given.
    assert_eq!(canonical_json(&record), v["record"]);
    assert_eq!(sha256_hex(v["record"].as_bytes()), v["record_hash"]);

    let key = SigningKey::from_bytes(&bytes(&v["secret_key"]));
    let public: String = key
        .verifying_key()
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(public, v["public_key"]);
    let at: i64 = v["backend_time_ms"].parse().unwrap();
    let message = Witness::message(&v["record_hash"], at);
    assert_eq!(
        String::from_utf8(message.clone()).unwrap(),
        v["message"].replace("\\n", "\n")
    );
    let signature = key.sign(&message).to_bytes();
    assert_eq!(
        signature,
        bytes::<64>(&v["signature"]),
        "Ed25519 is deterministic"
    );
    let witness = Witness {
        record_hash: v["record_hash"].clone(),
        backend_time_ms: at,
        signature,
    };
    let backend = BackendKey::parse(&v["public_key"]).unwrap();
    assert!(witness.verify(&backend).is_ok());
    let parsed = Witness::parse(&witness.to_value().to_string()).unwrap();
    assert_eq!(parsed, witness);
}

/// The README and the documents name the Android library's dependencies with their versions; each
/// must be the one in android/gradle/libs.versions.toml, which Gradle and the test scripts both use.
#[test]
fn the_readme_states_the_versions_of_the_android_catalog() {
    let catalog: toml::Table = include_str!("../android/gradle/libs.versions.toml")
        .parse()
        .unwrap();
    let versions = catalog["versions"].as_table().unwrap();
    // The README and the documents beside it, read as one text.
    let readme = [
        include_str!("../README.md"),
        include_str!("../ARCHITECTURE.md"),
        include_str!("../docs/app-stores.md"),
        include_str!("../docs/performance.md"),
    ]
    .join("\n");
    let mut checked = 0;
    for (name, key) in [
        ("JNA ", "jna"),
        ("kotlinx-coroutines ", "coroutines"),
        ("androidx.annotation ", "androidx-annotation"),
        ("Robolectric ", "robolectric"),
        ("ProGuard ", "proguard"),
        ("kotlinc ", "kotlin"),
        ("`minSdk` ", "minSdk"),
        ("AGP ", "agp"),
    ] {
        let expected = versions[key].as_str().unwrap();
        // Every "NAME <digit>…" in the README, with line breaks read as spaces.
        let text = readme.replace('\n', " ");
        for (at, _) in text.match_indices(name) {
            let rest = &text[at + name.len()..];
            if !rest.starts_with(|c: char| c.is_ascii_digit()) {
                continue;
            }
            let stated: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let stated = stated.trim_end_matches('.');
            assert_eq!(
                stated, expected,
                "README says {name}{stated}, the catalog {expected}"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 6,
        "the README states the Android versions ({checked} found)"
    );
}
