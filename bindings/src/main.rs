//! `uniffi-bindgen` at the core's exact UniFFI version. Run through `bindings/generate.sh`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
