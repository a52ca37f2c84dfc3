#![no_main]
//! The TC string decoder: any text decodes or fails; a decoded model re-encodes to a string that
//! decodes to the same model (less the deprecated AllowedVendors segment, which we never write).
use kmer_consent::tcf::TcModel;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(mut model) = TcModel::decode(text) {
            model.allowed_vendors = None;
            let again = TcModel::decode(&model.encode()).expect("our own encoding decodes");
            assert_eq!(again, model);
        }
    }
});
