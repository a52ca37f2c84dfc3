//! KmerConsent: the consent SDK core shared by KmerOccase's Android and iOS apps.
//!
//! Four categories (essential, statistics, personalization, marketing), the user's decisions in
//! SQLite, and the gate every ad and analytics SDK passes before it starts. Exported to Kotlin and
//! Swift with UniFFI; see `ARCHITECTURE.md` for how the pieces fit.

uniffi::setup_scaffolding!();

mod banner;
mod category;
mod clock;
mod dispatch;
mod error;
mod locale;
mod manager;
mod policy;
mod record;
mod rules;
mod schema;
mod snapshot;
mod store;

pub use banner::{Banner, BannerCategory, BannerSdk};
pub use category::{Category, Grants};
pub use clock::{Clock, ManualClock, SystemClock, DAY_MS};
pub use dispatch::{ConsentListener, SdkLifecycle, Subscription};
pub use error::{ConsentError, Error, PolicyError};
pub use locale::negotiate as negotiate_locale;
pub use manager::{ConsentManager, OpenOptions};
pub use policy::{Controller, Policy, Sdk, MAX_POLICY_BYTES};
pub use record::{ConsentRecord, DecisionSource};
pub use rules::{PromptReason, TrackingAuthorization, Verdict, VerdictReason};
pub use snapshot::{ConsentSnapshot, ConsentStatus};
