#![no_main]
//! Receipt checking, as `import_receipt` does it first: any text verifies or fails, never panics.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = kmer_consent::verify_receipt(text);
    }
});
