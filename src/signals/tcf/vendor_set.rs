//! A set of TCF vendor ids as a bitmap: a TC string's vendor bitfield decodes into it with shifts, not
//! one insertion per vendor, and it iterates in ascending order as the encoder and the keys need.

use std::fmt;

/// Vendor ids (1 to 65,535). Bit `n` of the map stands for id `n`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct VendorSet {
    /// Never ends with a zero word, so equal sets have equal maps.
    words: Vec<u64>,
}

impl VendorSet {
    /// The empty set.
    pub fn new() -> VendorSet {
        VendorSet::default()
    }

    /// Adds `id`; returns whether it was new. Id 0 is not a vendor and is ignored.
    pub fn insert(&mut self, id: u16) -> bool {
        if id == 0 {
            return false;
        }
        let (word, bit) = (usize::from(id) / 64, id % 64);
        if self.words.len() <= word {
            self.words.resize(word + 1, 0);
        }
        let was = self.words[word] >> bit & 1 == 1;
        self.words[word] |= 1 << bit;
        !was
    }

    /// Adds every id from `start` to `end`, both included.
    pub fn insert_range(&mut self, start: u16, end: u16) {
        let start = start.max(1);
        if end < start {
            return;
        }
        let (first, last) = (usize::from(start) / 64, usize::from(end) / 64);
        if self.words.len() <= last {
            self.words.resize(last + 1, 0);
        }
        // Whole words at a time: the low bits of `first` and the high bits of `last` stay as they were.
        for (i, word) in self.words[first..=last].iter_mut().enumerate() {
            let low = if i == 0 { start % 64 } else { 0 };
            let high = if first + i == last { end % 64 } else { 63 };
            *word |= (u64::MAX >> (63 - high)) & (u64::MAX << low);
        }
    }

    pub fn contains(&self, id: u16) -> bool {
        self.words
            .get(usize::from(id) / 64)
            .is_some_and(|w| w >> (id % 64) & 1 == 1)
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The highest id.
    pub fn last(&self) -> Option<u16> {
        let top = self.words.last()?;
        Some((self.words.len() * 64 - 1 - top.leading_zeros() as usize) as u16)
    }

    /// The ids in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &word)| {
            let mut rest = word;
            std::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let bit = rest.trailing_zeros();
                rest &= rest - 1;
                Some((i * 64 + bit as usize) as u16)
            })
        })
    }

    /// ORs the low `count` bits of `bits` (count ≤ 64) in at bit `at`; the map must already reach.
    pub(super) fn or_bits(&mut self, at: usize, bits: u64, count: u32) {
        let (word, shift) = (at / 64, at % 64);
        if let Some(w) = self.words.get_mut(word) {
            *w |= bits << shift;
        }
        if shift > 0 && shift + count as usize > 64 {
            if let Some(w) = self.words.get_mut(word + 1) {
                *w |= bits >> (64 - shift);
            }
        }
    }

    /// An empty map able to hold ids up to `max` without growing.
    pub(super) fn with_max(max: u16) -> VendorSet {
        VendorSet {
            words: vec![0; usize::from(max) / 64 + 1],
        }
    }

    /// Restores the invariant after `or_bits` or on a set made `with_max`.
    pub(super) fn trim(&mut self) {
        while self.words.last() == Some(&0) {
            self.words.pop();
        }
    }
}

impl FromIterator<u16> for VendorSet {
    fn from_iter<I: IntoIterator<Item = u16>>(ids: I) -> VendorSet {
        let mut set = VendorSet::new();
        for id in ids {
            set.insert(id);
        }
        set
    }
}

impl<const N: usize> From<[u16; N]> for VendorSet {
    fn from(ids: [u16; N]) -> VendorSet {
        ids.into_iter().collect()
    }
}

impl fmt::Debug for VendorSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::VendorSet;

    #[test]
    fn behaves_like_an_ordered_set() {
        let mut set = VendorSet::new();
        assert!(set.is_empty() && set.last().is_none());
        for id in [900, 1, 64, 63, 65, 65_535, 64] {
            set.insert(id);
        }
        assert!(!set.insert(1), "already there");
        assert!(!set.insert(0), "0 is not a vendor");
        assert_eq!(set.iter().collect::<Vec<_>>(), [1, 63, 64, 65, 900, 65_535]);
        assert_eq!((set.len(), set.last()), (6, Some(65_535)));
        assert!(set.contains(64) && !set.contains(66) && !set.contains(0));
        for (start, end) in [
            (60, 70),
            (0, 3),
            (64, 127),
            (63, 64),
            (5, 300),
            (1, 1),
            (9, 8),
        ] {
            let mut ranges = VendorSet::from([2, 400]);
            ranges.insert_range(start, end);
            let mut expected: Vec<u16> = (start.max(1)..=end).chain([2, 400]).collect();
            expected.sort();
            expected.dedup();
            assert_eq!(ranges.iter().collect::<Vec<_>>(), expected, "{start}-{end}");
        }
    }

    #[test]
    fn equal_sets_compare_equal_however_built() {
        let mut grown = VendorSet::with_max(5000);
        grown.or_bits(3, 0b101, 3); // ids 3 and 5
        grown.trim();
        assert_eq!(grown, VendorSet::from([3, 5]));
        assert_ne!(grown, VendorSet::from([3]));
    }

    #[test]
    fn bits_straddling_two_words_land_in_both() {
        let mut set = VendorSet::with_max(200);
        set.or_bits(60, u64::MAX >> 8, 56); // ids 60 to 115
        set.trim();
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            (60..=115).collect::<Vec<_>>()
        );
    }
}
