//! Secure random bytes from the operating system (getrandom(2) on Android and Linux, the system
//! generator on Apple platforms). When it fails the caller gets a typed error: there is no fallback
//! to a guessable seed (the time, the process id).

use crate::error::{Error, Result};

/// `N` random bytes from the operating system's secure generator.
pub fn bytes<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| Error::Randomness(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn two_keys_differ() {
        let a = super::bytes::<32>().unwrap();
        let b = super::bytes::<32>().unwrap();
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 32]);
    }
}
