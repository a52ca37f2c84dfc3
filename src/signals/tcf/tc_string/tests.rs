//! The TC string codec on its own: round trips, the layout's fixed points, hostile input.

use super::*;

fn sample() -> TcModel {
    TcModel {
        version: 2,
        created: 17_800_000_000,
        last_updated: 17_800_000_123,
        cmp_id: 300,
        cmp_version: 2,
        consent_screen: 1,
        consent_language: "FR".into(),
        vendor_list_version: 7,
        policy_version: 4,
        is_service_specific: true,
        use_non_standard_texts: false,
        special_feature_opt_ins: [1].into(),
        purpose_consents: [1, 2, 3, 4, 7, 8, 9, 10].into(),
        purpose_legitimate_interests: [2, 7].into(),
        purpose_one_treatment: false,
        publisher_country_code: "CM".into(),
        vendor_consents: [1, 2, 3, 755, 756, 900].into(),
        vendor_legitimate_interests: [8].into(),
        publisher_restrictions: vec![PublisherRestriction {
            purpose_id: 2,
            restriction_type: 1,
            vendors: [10, 11, 12, 40].into(),
        }],
        disclosed_vendors: Some([1, 2, 3, 8, 10, 755, 756, 900].into()),
        allowed_vendors: None,
        publisher_tc: Some(PublisherTc {
            purpose_consents: [1, 3].into(),
            purpose_legitimate_interests: [2].into(),
            custom_purpose_count: 3,
            custom_purpose_consents: [2].into(),
            custom_purpose_legitimate_interests: [1, 3].into(),
        }),
    }
}

#[test]
fn every_field_survives_a_round_trip() {
    let model = sample();
    let encoded = model.encode();
    assert_eq!(TcModel::decode(&encoded).unwrap(), model);
    assert_eq!(
        encoded.split('.').count(),
        3,
        "core, DisclosedVendors, PublisherTC"
    );
}

#[test]
fn a_v2_string_starts_with_c_and_segments_carry_their_type() {
    let encoded = sample().encode();
    // Version 2 in 6 bits is 000010: base64url 'C'.
    assert!(encoded.starts_with('C'), "{encoded}");
    let segments: Vec<&str> = encoded.split('.').collect();
    // Segment type 1 (001) and 3 (011) lead their sextets: 'I'..'P' and 'Y'..'f'.
    assert!(
        matches!(segments[1].as_bytes()[0], b'I'..=b'P'),
        "{}",
        segments[1]
    );
    assert!(
        matches!(segments[2].as_bytes()[0], b'Y'..=b'f'),
        "{}",
        segments[2]
    );
    assert!(!encoded.contains('=') && !encoded.contains('+') && !encoded.contains('/'));
}

#[test]
fn sparse_vendors_use_ranges_and_dense_ones_a_bitfield() {
    // The core segment's fixed fields take 213 bits, then MaxVendorId (16): IsRangeEncoding is bit 229.
    const IS_RANGE_ENCODING: u32 = 229;
    let sparse: VendorSet = [5000, 5001, 5002, 9000].into();
    let dense: VendorSet = (1..=40).filter(|v| v % 3 != 0).collect();
    for (vendors, ranges) in [(sparse, true), (dense, false), (VendorSet::new(), false)] {
        let model = TcModel {
            version: 2,
            consent_language: "EN".into(),
            publisher_country_code: "AA".into(),
            vendor_consents: vendors.clone(),
            disclosed_vendors: Some(vendors.clone()),
            ..TcModel::default()
        };
        let encoded = model.encode();
        assert_eq!(TcModel::decode(&encoded).unwrap(), model);
        let core = encoded.split('.').next().unwrap();
        let mut r = BitReader::from_base64url(core).unwrap();
        for _ in 0..IS_RANGE_ENCODING {
            r.read_bool("skipped").unwrap();
        }
        assert_eq!(
            r.read_bool("IsRangeEncoding").unwrap(),
            ranges,
            "{vendors:?}"
        );
        if ranges {
            // A bitfield up to 9000 would need 9000 bits (1,500 characters); the ranges a few dozen.
            assert!(core.len() < 60, "{}", core.len());
        }
    }
}

#[test]
fn padding_and_trailing_zero_bits_are_accepted() {
    let model = sample();
    let encoded = model.encode();
    let padded: Vec<String> = encoded.split('.').map(|s| format!("{s}AAAA==")).collect();
    assert_eq!(TcModel::decode(&padded.join(".")).unwrap(), model);
}

#[test]
fn garbage_is_an_error_never_a_panic() {
    let cases = [
        "",
        ".",
        "C",
        "not a tc string",
        "CPzHq4APzHq4AAGABCENAbEgAAAAAAAAAAAAAAAA+/", // standard base64 characters
        "BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA",        // a TCF v1 string
        "CPzHq4APzHq4AAGABCENAbEgAAAAAAAAAAAAAAAA.zzzz", // unknown segment type 6
    ];
    for case in cases {
        assert!(TcModel::decode(case).is_err(), "{case:?} decoded");
    }
    // Every prefix of a valid string either decodes or fails cleanly.
    let encoded = sample().encode();
    for end in 0..encoded.len() {
        let _ = TcModel::decode(&encoded[..end]);
    }
    // Pseudo-random strings over the alphabet.
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..2000 {
        let len = (seed % 120) as usize;
        let s: String = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                char::from(alphabet[(seed % alphabet.len() as u64) as usize])
            })
            .collect();
        let _ = TcModel::decode(&s);
    }
}

#[test]
fn overlapping_ranges_are_refused_before_they_cost_anything() {
    // Core segment with MaxVendorId 65535, range encoding, 4095 entries each 1..65535.
    let mut w = BitWriter::default();
    w.write(2, 6);
    w.write(0, 36 + 36 + 12 + 12 + 6);
    w.write(0, 12 + 12 + 6 + 1 + 1 + 12 + 24 + 24 + 1 + 12);
    w.write(65535, 16);
    w.write_bool(true);
    w.write(4095, 12);
    for _ in 0..4095 {
        w.write_bool(true);
        w.write(1, 16);
        w.write(65535, 16);
    }
    let started = std::time::Instant::now();
    let error = TcModel::decode(&w.to_base64url()).unwrap_err();
    assert!(error.to_string().contains("overlap"), "{error}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}
