//! Time as the rules see it. The device clock is read as it is, never pushed forward by a remembered
//! mark: a decision is dated by the clock at the moment of the action. A clock outside the years
//! 2020–2100 is not a time at all (a dead RTC battery reads 1970, a bug or a hostile tool 9999) and
//! the rules treat it as unknown: nothing optional is granted. What a clock moved back must not
//! undo (an expiry, a reminder) is remembered as a fact about a decision (its id), not as a time.

/// 2020-01-01T00:00:00Z: earlier readings are not trusted.
pub const TRUSTED_FROM_MS: i64 = 1_577_836_800_000;
/// 2100-01-01T00:00:00Z: later readings are not trusted.
pub const TRUSTED_UNTIL_MS: i64 = 4_102_444_800_000;
/// How far after the clock a decision may be dated and still count: the clock steps that a
/// network time correction makes. A decision dated later than that was made with a clock that ran
/// ahead; it is not in force.
pub const CLOCK_STEP_TOLERANCE_MS: i64 = 60 * 60 * 1000;

/// The clock reading as a time the rules can use, or `None` when it cannot be trusted.
pub fn trusted(clock_ms: i64) -> Option<i64> {
    (TRUSTED_FROM_MS..TRUSTED_UNTIL_MS)
        .contains(&clock_ms)
        .then_some(clock_ms)
}

/// Whether a decision is dated after `now_ms` by more than a clock step.
pub fn is_from_the_future(decided_at_ms: i64, now_ms: i64) -> bool {
    decided_at_ms > now_ms.saturating_add(CLOCK_STEP_TOLERANCE_MS)
}

// The marks are facts the store keeps about decisions: they stand with the record, below the rules.
pub use crate::record::TimeMarks;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_readings_between_2020_and_2100_are_times() {
        assert_eq!(trusted(1_780_000_000_000), Some(1_780_000_000_000));
        assert_eq!(trusted(TRUSTED_FROM_MS), Some(TRUSTED_FROM_MS));
        for untrusted in [
            0,
            -1,
            TRUSTED_FROM_MS - 1,
            TRUSTED_UNTIL_MS,
            253_402_214_400_000, // 9999
            i64::MAX,
            i64::MIN,
        ] {
            assert_eq!(trusted(untrusted), None, "{untrusted}");
        }
    }

    #[test]
    fn a_decision_an_hour_ahead_still_counts_and_more_does_not() {
        let now = 1_780_000_000_000;
        assert!(!is_from_the_future(now, now));
        assert!(!is_from_the_future(now + CLOCK_STEP_TOLERANCE_MS, now));
        assert!(is_from_the_future(now + CLOCK_STEP_TOLERANCE_MS + 1, now));
        assert!(!is_from_the_future(i64::MIN, now));
        assert!(is_from_the_future(
            i64::MAX,
            i64::MAX - 1 - CLOCK_STEP_TOLERANCE_MS
        ));
        assert!(!is_from_the_future(i64::MAX, i64::MAX));
    }

    #[test]
    fn marks_only_rise() {
        let mut d = crate::rules::tests::decision_at(1_780_000_000_000);
        d.id = 5;
        let marks = TimeMarks::default().raised(&d, true, false);
        assert_eq!(marks.expired_through_id, 5);
        assert_eq!(marks.reminded_through_id, 0);
        assert!(marks.expired(&d) && !marks.reminded(&d));
        d.id = 3;
        assert_eq!(marks.raised(&d, true, true).expired_through_id, 5);
        assert_eq!(marks.raised(&d, true, true).reminded_through_id, 3);
    }
}
