//! The TC string: a model of its fields, the encoder, and a decoder that never panics.
//! Layout: "Consent string and vendor list formats v2" (IAB Tech Lab), as summarised in
//! `shared/reference/standards.md` §1.

use std::collections::BTreeSet;

use super::bits::{BitReader, BitWriter};
use super::vendor_set::VendorSet;
use super::TcStringError;

/// Deciseconds since the Unix epoch, as TC strings count time.
pub type Deciseconds = u64;

/// Every field of a TC string this SDK writes or reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TcModel {
    pub version: u8,
    pub created: Deciseconds,
    pub last_updated: Deciseconds,
    pub cmp_id: u16,
    pub cmp_version: u16,
    pub consent_screen: u8,
    /// Two capital letters, e.g. "FR".
    pub consent_language: String,
    pub vendor_list_version: u16,
    pub policy_version: u8,
    pub is_service_specific: bool,
    pub use_non_standard_texts: bool,
    /// Special feature ids (1-based) opted in.
    pub special_feature_opt_ins: BTreeSet<u8>,
    /// Purpose ids (1-based) consented.
    pub purpose_consents: BTreeSet<u8>,
    /// Purpose ids (1-based) with legitimate-interest transparency established.
    pub purpose_legitimate_interests: BTreeSet<u8>,
    pub purpose_one_treatment: bool,
    /// Two capital letters, e.g. "CM".
    pub publisher_country_code: String,
    pub vendor_consents: VendorSet,
    pub vendor_legitimate_interests: VendorSet,
    pub publisher_restrictions: Vec<PublisherRestriction>,
    /// The DisclosedVendors segment (mandatory since TCF v2.3).
    pub disclosed_vendors: Option<VendorSet>,
    /// The deprecated AllowedVendors segment, read but never written.
    pub allowed_vendors: Option<VendorSet>,
    pub publisher_tc: Option<PublisherTc>,
}

/// One publisher restriction: a purpose, a restriction type (0 not allowed, 1 require consent,
/// 2 require legitimate interest) and the vendors it applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublisherRestriction {
    pub purpose_id: u8,
    pub restriction_type: u8,
    pub vendors: VendorSet,
}

/// The PublisherTC segment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublisherTc {
    pub purpose_consents: BTreeSet<u8>,
    pub purpose_legitimate_interests: BTreeSet<u8>,
    pub custom_purpose_count: u8,
    pub custom_purpose_consents: BTreeSet<u8>,
    pub custom_purpose_legitimate_interests: BTreeSet<u8>,
}

const SEGMENT_DISCLOSED_VENDORS: u64 = 1;
const SEGMENT_ALLOWED_VENDORS: u64 = 2;
const SEGMENT_PUBLISHER_TC: u64 = 3;

impl TcModel {
    /// The TC string: the core segment, then DisclosedVendors and PublisherTC when present.
    pub fn encode(&self) -> String {
        let mut core = BitWriter::default();
        core.write(u64::from(self.version), 6);
        core.write(self.created, 36);
        core.write(self.last_updated, 36);
        core.write(self.cmp_id.into(), 12);
        core.write(self.cmp_version.into(), 12);
        core.write(self.consent_screen.into(), 6);
        write_letters(&mut core, &self.consent_language);
        core.write(self.vendor_list_version.into(), 12);
        core.write(self.policy_version.into(), 6);
        core.write_bool(self.is_service_specific);
        core.write_bool(self.use_non_standard_texts);
        write_flags(&mut core, &self.special_feature_opt_ins, 12);
        write_flags(&mut core, &self.purpose_consents, 24);
        write_flags(&mut core, &self.purpose_legitimate_interests, 24);
        core.write_bool(self.purpose_one_treatment);
        write_letters(&mut core, &self.publisher_country_code);
        write_vendors(&mut core, &self.vendor_consents);
        write_vendors(&mut core, &self.vendor_legitimate_interests);
        core.write(self.publisher_restrictions.len() as u64, 12);
        for restriction in &self.publisher_restrictions {
            core.write(restriction.purpose_id.into(), 6);
            core.write(restriction.restriction_type.into(), 2);
            write_ranges(&mut core, &restriction.vendors);
        }
        let mut segments = vec![core.to_base64url()];
        if let Some(disclosed) = &self.disclosed_vendors {
            let mut segment = BitWriter::default();
            segment.write(SEGMENT_DISCLOSED_VENDORS, 3);
            write_vendors(&mut segment, disclosed);
            segments.push(segment.to_base64url());
        }
        if let Some(publisher) = &self.publisher_tc {
            let mut segment = BitWriter::default();
            segment.write(SEGMENT_PUBLISHER_TC, 3);
            write_flags(&mut segment, &publisher.purpose_consents, 24);
            write_flags(&mut segment, &publisher.purpose_legitimate_interests, 24);
            let n = u32::from(publisher.custom_purpose_count);
            segment.write(n.into(), 6);
            write_flags(&mut segment, &publisher.custom_purpose_consents, n);
            write_flags(
                &mut segment,
                &publisher.custom_purpose_legitimate_interests,
                n,
            );
            segments.push(segment.to_base64url());
        }
        segments.join(".")
    }

    /// Decodes a TC string. Malformed input is an error; trailing zero bits and `=` padding are fine.
    pub fn decode(tc_string: &str) -> Result<TcModel, TcStringError> {
        let mut parts = tc_string.trim().split('.');
        let core = parts
            .next()
            .filter(|s| !s.is_empty())
            .ok_or(TcStringError::Empty)?;
        let mut r = BitReader::from_base64url(core)?;
        let version = r.read(6, "Version")?;
        if version != 2 {
            return Err(TcStringError::UnsupportedVersion(version));
        }
        let mut model = TcModel {
            version: 2,
            created: r.read(36, "Created")?,
            last_updated: r.read(36, "LastUpdated")?,
            cmp_id: r.read(12, "CmpId")? as u16,
            cmp_version: r.read(12, "CmpVersion")? as u16,
            consent_screen: r.read(6, "ConsentScreen")? as u8,
            consent_language: read_letters(&mut r, "ConsentLanguage")?,
            vendor_list_version: r.read(12, "VendorListVersion")? as u16,
            policy_version: r.read(6, "TcfPolicyVersion")? as u8,
            is_service_specific: r.read_bool("IsServiceSpecific")?,
            use_non_standard_texts: r.read_bool("UseNonStandardTexts")?,
            special_feature_opt_ins: read_flags(&mut r, 12, "SpecialFeatureOptIns")?,
            purpose_consents: read_flags(&mut r, 24, "PurposesConsent")?,
            purpose_legitimate_interests: read_flags(&mut r, 24, "PurposesLITransparency")?,
            purpose_one_treatment: r.read_bool("PurposeOneTreatment")?,
            publisher_country_code: read_letters(&mut r, "PublisherCC")?,
            vendor_consents: read_vendors(&mut r, "VendorConsents")?,
            vendor_legitimate_interests: read_vendors(&mut r, "VendorLegitimateInterests")?,
            ..TcModel::default()
        };
        let restrictions = r.read(12, "NumPubRestrictions")?;
        for _ in 0..restrictions {
            model.publisher_restrictions.push(PublisherRestriction {
                purpose_id: r.read(6, "PurposeId")? as u8,
                restriction_type: r.read(2, "RestrictionType")? as u8,
                vendors: read_ranges(&mut r, VendorSet::new(), "PubRestrictionEntry")?,
            });
        }
        for (index, segment) in parts.enumerate() {
            let mut r = BitReader::from_base64url(segment)?;
            match r.read(3, "SegmentType")? {
                SEGMENT_DISCLOSED_VENDORS => {
                    model.disclosed_vendors = Some(read_vendors(&mut r, "DisclosedVendors")?)
                }
                SEGMENT_ALLOWED_VENDORS => {
                    model.allowed_vendors = Some(read_vendors(&mut r, "AllowedVendors")?)
                }
                SEGMENT_PUBLISHER_TC => {
                    let purpose_consents = read_flags(&mut r, 24, "PubPurposesConsent")?;
                    let purpose_legitimate_interests =
                        read_flags(&mut r, 24, "PubPurposesLITransparency")?;
                    let n = r.read(6, "NumCustomPurposes")? as u32;
                    model.publisher_tc = Some(PublisherTc {
                        purpose_consents,
                        purpose_legitimate_interests,
                        custom_purpose_count: n as u8,
                        custom_purpose_consents: read_flags(&mut r, n, "CustomPurposesConsent")?,
                        custom_purpose_legitimate_interests: read_flags(
                            &mut r,
                            n,
                            "CustomPurposesLITransparency",
                        )?,
                    });
                }
                segment_type => {
                    return Err(TcStringError::UnknownSegment {
                        index: index + 1,
                        segment_type,
                    })
                }
            }
        }
        Ok(model)
    }
}

/// Two letters, 6 bits each (A = 0).
fn write_letters(w: &mut BitWriter, letters: &str) {
    let mut bytes = letters
        .bytes()
        .map(|b| b.to_ascii_uppercase().saturating_sub(b'A'));
    for _ in 0..2 {
        w.write(bytes.next().unwrap_or(0).into(), 6);
    }
}

fn read_letters(r: &mut BitReader, field: &'static str) -> Result<String, TcStringError> {
    let mut letters = String::with_capacity(2);
    for _ in 0..2 {
        let n = r.read(6, field)?;
        if n > 25 {
            return Err(TcStringError::Invalid(format!(
                "{field}: {n} is not a letter"
            )));
        }
        letters.push(char::from(b'A' + n as u8));
    }
    Ok(letters)
}

/// A fixed-width field of flags; bit 0 is id 1.
fn write_flags(w: &mut BitWriter, ids: &BTreeSet<u8>, width: u32) {
    for id in 1..=width {
        w.write_bool(u8::try_from(id).is_ok_and(|id| ids.contains(&id)));
    }
}

fn read_flags(
    r: &mut BitReader,
    width: u32,
    field: &'static str,
) -> Result<BTreeSet<u8>, TcStringError> {
    // At most 63 bits wide (a 6-bit count): read in two words at most, no list in between.
    let mut ids = BTreeSet::new();
    let mut id = 1u32;
    while id <= width {
        let take = (width + 1 - id).min(32);
        let word = r.read(take, field)?;
        for bit in 0..take {
            if word >> (take - 1 - bit) & 1 == 1 {
                ids.insert((id + bit) as u8);
            }
        }
        id += take;
    }
    Ok(ids)
}

/// MaxVendorId, IsRangeEncoding, then a bitfield or ranges, whichever is shorter.
fn write_vendors(w: &mut BitWriter, vendors: &VendorSet) {
    let max = vendors.last().unwrap_or(0);
    w.write(max.into(), 16);
    let ranges = to_ranges(vendors);
    let range_bits: usize = 12
        + ranges
            .iter()
            .map(|(a, b)| if a == b { 17 } else { 33 })
            .sum::<usize>();
    if range_bits < usize::from(max) {
        w.write_bool(true);
        write_range_list(w, &ranges);
    } else {
        w.write_bool(false);
        for id in 1..=max {
            w.write_bool(vendors.contains(id));
        }
    }
}

fn read_vendors(r: &mut BitReader, field: &'static str) -> Result<VendorSet, TcStringError> {
    let max = r.read(16, field)? as u16;
    if r.read_bool(field)? {
        let vendors = read_ranges(r, VendorSet::with_max(max), field)?;
        if vendors.last().is_some_and(|v| v > max) {
            return Err(TcStringError::Invalid(format!(
                "{field}: a range goes past MaxVendorId {max}"
            )));
        }
        Ok(vendors)
    } else {
        r.read_vendor_bitfield(max, field)
    }
}

/// NumEntries, then each entry as a single id or a range.
fn write_ranges(w: &mut BitWriter, vendors: &VendorSet) {
    write_range_list(w, &to_ranges(vendors));
}

fn write_range_list(w: &mut BitWriter, ranges: &[(u16, u16)]) {
    w.write(ranges.len() as u64, 12);
    for &(start, end) in ranges {
        w.write_bool(start != end);
        w.write(start.into(), 16);
        if start != end {
            w.write(end.into(), 16);
        }
    }
}

/// Adds the ranges to `vendors` (sized ahead when the maximum id is known).
fn read_ranges(
    r: &mut BitReader,
    mut vendors: VendorSet,
    field: &'static str,
) -> Result<VendorSet, TcStringError> {
    let entries = r.read(12, field)?;
    let mut covered = 0u32;
    for _ in 0..entries {
        // IsARange and StartOrOnlyVendorId in one read.
        let head = r.read(17, field)?;
        let (is_range, start) = (head >> 16 == 1, head as u16);
        let end = if is_range {
            r.read(16, field)? as u16
        } else {
            start
        };
        if start == 0 || end < start {
            return Err(TcStringError::Invalid(format!(
                "{field}: bad range {start}-{end}"
            )));
        }
        // Ranges never overlap in a valid string; refusing overlap also bounds the work.
        covered += u32::from(end - start) + 1;
        if covered > u32::from(u16::MAX) {
            return Err(TcStringError::Invalid(format!("{field}: ranges overlap")));
        }
        if is_range {
            vendors.insert_range(start, end);
        } else {
            vendors.insert(start);
        }
    }
    vendors.trim();
    Ok(vendors)
}

/// Consecutive ids merged into (start, end) pairs.
fn to_ranges(vendors: &VendorSet) -> Vec<(u16, u16)> {
    let mut ranges: Vec<(u16, u16)> = Vec::new();
    for id in vendors.iter() {
        match ranges.last_mut() {
            Some((_, end)) if end.checked_add(1) == Some(id) => *end = id,
            _ => ranges.push((id, id)),
        }
    }
    ranges
}

#[cfg(test)]
mod tests;
