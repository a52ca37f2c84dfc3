//! Big-endian bit strings and their base64url form, as TC string segments are written.

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

/// Reads fields back; every read past the end is an error, never a panic.
#[derive(Debug)]
pub struct BitReader {
    bits: Vec<bool>,
    position: usize,
}

impl BitReader {
    /// Decodes base64url (`=` padding accepted, standard `+` `/` refused).
    pub fn from_base64url(segment: &str) -> Result<BitReader, TcStringError> {
        let mut bits = Vec::with_capacity(segment.len() * 6);
        for (i, c) in segment.trim_end_matches('=').bytes().enumerate() {
            let sextet = ALPHABET
                .iter()
                .position(|a| *a == c)
                .ok_or(TcStringError::InvalidCharacter { position: i })?;
            for bit in (0..6).rev() {
                bits.push(sextet >> bit & 1 == 1);
            }
        }
        Ok(BitReader { bits, position: 0 })
    }

    pub fn read(&mut self, width: u32, field: &'static str) -> Result<u64, TcStringError> {
        let end = self.position + width as usize;
        let Some(slice) = self.bits.get(self.position..end) else {
            return Err(TcStringError::Truncated { field });
        };
        // Fields are at most 36 bits wide, so the shifts never overflow.
        let value = slice.iter().fold(0u64, |acc, b| acc << 1 | u64::from(*b));
        self.position = end;
        Ok(value)
    }

    pub fn read_bool(&mut self, field: &'static str) -> Result<bool, TcStringError> {
        Ok(self.read(1, field)? == 1)
    }
}
