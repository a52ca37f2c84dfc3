#![no_main]
//! Receipt checking, as `import_receipt` does it: any text verifies or fails, never panics; and a
//! genuine countersigned receipt with bytes changed verifies only if it still says exactly the same
//! thing (whitespace, key order), never with another meaning.
use kmer_consent_fuzz::{edited, genuine, key};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = kmer_consent::verify_receipt(text);
        let _ = kmer_consent::verify_receipt_with_key(text, key());
    }
    // The input as edits of a genuine receipt.
    let receipt = &genuine().receipt;
    let Some(text) = edited(receipt, data) else {
        return;
    };
    if kmer_consent::verify_receipt_with_key(&text, key()).is_ok() {
        let meant: Value = serde_json::from_str(receipt).unwrap();
        let read: Value = serde_json::from_str(&text).expect("a verified receipt is JSON");
        assert_eq!(read, meant, "an edited receipt verified with another meaning");
    }
});
