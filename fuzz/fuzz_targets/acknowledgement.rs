#![no_main]
//! The back end's acknowledgement (a witness), as `acknowledge_signed` reads and checks it: any
//! text is read or refused without a panic, and a genuine one with bytes changed verifies only if
//! it still names the same record and time with the same signature.
use kmer_consent::Witness;
use kmer_consent_fuzz::{edited, genuine, key};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(w) = Witness::parse(text) {
            let _ = w.verify(key());
        }
    }
    let ack = &genuine().acknowledgement;
    let Some(text) = edited(ack, data) else {
        return;
    };
    if let Ok(w) = Witness::parse(&text) {
        if w.verify(key()).is_ok() {
            let meant = Witness::parse(ack).unwrap();
            assert_eq!(w, meant, "an edited acknowledgement verified with another meaning");
        }
    }
});
