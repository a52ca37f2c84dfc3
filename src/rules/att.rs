//! When the app may ask the OS for tracking authorization (iOS App Tracking Transparency).

use crate::tracking::TrackingAuthorization;

/// Whether the system's tracking prompt may be shown now: only after the user granted marketing
/// here (asking first would read as if tracking were part of the deal), and only while the OS has
/// not been answered (`NotDetermined`: the OS shows its prompt once). ATT is not consent: it never
/// replaces the banner.
pub fn may_request_tracking(marketing_granted: bool, system: TrackingAuthorization) -> bool {
    marketing_granted && system == TrackingAuthorization::NotDetermined
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_comes_only_after_marketing_and_only_once() {
        use TrackingAuthorization::*;
        assert!(may_request_tracking(true, NotDetermined));
        assert!(
            !may_request_tracking(false, NotDetermined),
            "no marketing consent"
        );
        for answered in [Authorized, Denied, Restricted, NotApplicable] {
            assert!(!may_request_tracking(true, answered), "{answered:?}");
        }
    }
}
