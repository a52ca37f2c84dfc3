#![no_main]
//! The policy parser: any bytes give a policy or a `PolicyError`, never a panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = kmer_consent::Policy::parse(text);
    }
});
