//! Big-endian bit strings and their base64url form, as TC string segments are written.

use super::vendor_set::VendorSet;
use super::TcStringError;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Appends fields most-significant bit first.
#[derive(Debug, Default)]
pub struct BitWriter {
    bits: Vec<bool>,
}

impl BitWriter {
    /// Writes the low `width` bits of `value`, zero-extended past 64.
    pub fn write(&mut self, value: u64, width: u32) {
        for i in (0..width).rev() {
            self.bits
                .push(value.checked_shr(i).is_some_and(|v| v & 1 == 1));
        }
    }

    pub fn write_bool(&mut self, value: bool) {
        self.bits.push(value);
    }

    /// Base64url without padding; the last sextet is zero-filled.
    pub fn to_base64url(&self) -> String {
        self.bits
            .chunks(6)
            .map(|chunk| {
                let sextet = (0..6).fold(0usize, |acc, i| {
                    acc << 1 | usize::from(chunk.get(i) == Some(&true))
                });
                char::from(ALPHABET[sextet])
            })
            .collect()
    }
}

/// The sextet of each base64url character; `INVALID` for every other byte.
const SEXTETS: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};
const INVALID: u8 = 0xFF;

/// Reads fields back; every read past the end is an error, never a panic. The bits are kept packed,
/// most significant first, and read with a table and shifts (decoding is on the app's start-up path
/// whenever an SDK reads the string).
#[derive(Debug)]
pub struct BitReader {
    bytes: Vec<u8>,
    len: usize,
    position: usize,
}

impl BitReader {
    /// Decodes base64url (`=` padding accepted, standard `+` `/` refused).
    pub fn from_base64url(segment: &str) -> Result<BitReader, TcStringError> {
        let chars = segment.trim_end_matches('=').as_bytes();
        // Four characters make three bytes; eight zero bytes of slack after the last one let
        // `bits_at` always load a whole word.
        let mut bytes = vec![0u8; chars.len().div_ceil(4) * 3 + 8];
        for (group, (quad, out)) in chars.chunks(4).zip(bytes.chunks_exact_mut(3)).enumerate() {
            let mut word = 0u32;
            for (i, c) in quad.iter().enumerate() {
                let sextet = SEXTETS[usize::from(*c)];
                if sextet == INVALID {
                    return Err(TcStringError::InvalidCharacter {
                        position: group * 4 + i,
                    });
                }
                word |= u32::from(sextet) << (18 - 6 * i);
            }
            let [_, a, b, c] = word.to_be_bytes();
            out[0] = a;
            out[1] = b;
            out[2] = c;
        }
        Ok(BitReader {
            bytes,
            len: chars.len() * 6,
            position: 0,
        })
    }

    /// The bits from `index` on, as the top bits of a word: at least 56 of them valid (bits past
    /// the end read as 0). `index` is at most `len`, so the word lies within the slack.
    #[inline]
    fn bits_at(&self, index: usize) -> u64 {
        let word = self
            .bytes
            .get(index / 8..)
            .and_then(<[u8]>::first_chunk::<8>)
            .map_or(0, |eight| u64::from_be_bytes(*eight));
        word << (index % 8)
    }

    #[inline]
    pub fn read(&mut self, width: u32, field: &'static str) -> Result<u64, TcStringError> {
        let end = self.position + width as usize;
        if end > self.len {
            return Err(TcStringError::Truncated { field });
        }
        // Fields are 1 to 36 bits wide, within the 56 bits a word holds.
        let value = match width {
            0 => 0,
            _ => self.bits_at(self.position) >> (64 - width.min(56)),
        };
        self.position = end;
        Ok(value)
    }

    pub fn read_bool(&mut self, field: &'static str) -> Result<bool, TcStringError> {
        if self.position >= self.len {
            return Err(TcStringError::Truncated { field });
        }
        let bit = self.bits_at(self.position) >> 63 == 1;
        self.position += 1;
        Ok(bit)
    }

    /// A vendor bitfield of `max` bits: the first bit is vendor 1. Copied 56 bits a step.
    pub fn read_vendor_bitfield(
        &mut self,
        max: u16,
        field: &'static str,
    ) -> Result<VendorSet, TcStringError> {
        let count = usize::from(max);
        if self.position + count > self.len {
            return Err(TcStringError::Truncated { field });
        }
        let mut set = VendorSet::with_max(max);
        let mut offset = 0;
        while offset < count {
            let take = (count - offset).min(56);
            // `take` bits, the first (vendor offset + 1) lowest once reversed.
            let chunk = self.bits_at(self.position + offset) >> (64 - take);
            set.or_bits(offset + 1, chunk.reverse_bits() >> (64 - take), take as u32);
            offset += take;
        }
        set.trim();
        self.position += count;
        Ok(set)
    }
}
