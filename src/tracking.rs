//! The tracking status the operating system reports (iOS App Tracking Transparency): vocabulary the
//! rules, the decision record and the store all use, so it stands below all three.

/// The operating system's tracking authorization (iOS App Tracking Transparency). The platform
/// reports it at each launch; each decision records the status in force when it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, uniffi::Enum)]
pub enum TrackingAuthorization {
    /// Not reported yet, or the user has not been asked: tracking is not allowed.
    #[default]
    NotDetermined,
    /// Tracking is restricted on this device (parental controls, MDM).
    Restricted,
    /// The user refused tracking.
    Denied,
    /// The user allowed tracking.
    Authorized,
    /// The platform has no such permission (Android): the consent categories alone decide.
    NotApplicable,
}

impl TrackingAuthorization {
    /// Whether an SDK that needs tracking authorization may run (given its category is granted).
    pub fn permits_tracking(self) -> bool {
        matches!(
            self,
            TrackingAuthorization::Authorized | TrackingAuthorization::NotApplicable
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TrackingAuthorization::NotDetermined => "not_determined",
            TrackingAuthorization::Restricted => "restricted",
            TrackingAuthorization::Denied => "denied",
            TrackingAuthorization::Authorized => "authorized",
            TrackingAuthorization::NotApplicable => "not_applicable",
        }
    }

    pub fn parse(s: &str) -> Option<TrackingAuthorization> {
        [
            TrackingAuthorization::NotDetermined,
            TrackingAuthorization::Restricted,
            TrackingAuthorization::Denied,
            TrackingAuthorization::Authorized,
            TrackingAuthorization::NotApplicable,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}
