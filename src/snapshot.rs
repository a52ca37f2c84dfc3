//! The immutable consent snapshot: everything the gate and the app read, computed once per change.

use std::collections::HashMap;

use crate::category::Category;
use crate::record::DecisionSource;
use crate::rules::time::{self, CLOCK_STEP_TOLERANCE_MS};
use crate::rules::{self, Evaluation, PromptReason, TrackingAuthorization, Verdict, VerdictReason};
use crate::signals::tcf;
use crate::signals::{ConsentModeSignals, StoredEntry};

/// Where consent stands, as the app shows it and decides whether to prompt.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ConsentStatus {
    /// Whether the app should show the consent banner now.
    pub needs_prompt: bool,
    /// Why, when it should.
    pub prompt_reason: Option<PromptReason>,
    /// Each of the four categories and whether it is granted now (essential always is).
    pub categories: HashMap<Category, bool>,
    /// When the decision in force (or the expired one) was made, ms since the Unix epoch.
    pub decided_at_ms: Option<i64>,
    /// When that decision stops counting.
    pub expires_at_ms: Option<i64>,
    /// When a decision that refused something will be asked again.
    pub reprompt_at_ms: Option<i64>,
    /// How that decision was made.
    pub last_source: Option<DecisionSource>,
    /// The policy revision that decision was made under.
    pub decided_policy_revision: Option<u32>,
    /// The revision of the policy in use now.
    pub policy_revision: u32,
    /// The negotiated locale decisions are recorded in.
    pub locale: String,
    /// The tracking authorization reported for this run.
    pub tracking_authorization: TrackingAuthorization,
    /// True when the database was unreadable at open and was moved aside for a fresh one, when a
    /// WAL file left by another store was moved aside, or when the store's files were removed or
    /// replaced while it was open and it was reopened at its path. In the last case, what the
    /// reopened file holds grants nothing until the user decides again in this process (unless its
    /// latest decision is the one in force before).
    pub store_recovered: bool,
    /// True when the decision in force is held in memory because the store refused to write it. It
    /// holds for this process only and is lost if the process ends first. A choice that only took
    /// consent away is written, with its own time, by the next call that changes consent (or
    /// `refresh` / `refresh_if_changed`) once the store allows; one that also granted holds only
    /// its refusals and is never written: the call failed, and the choice must be made again.
    pub not_yet_saved: bool,
}

/// A consistent view of consent at one moment: the status and every SDK's verdict. Listeners receive
/// one on every change; `sequence` increases with each, so stale ones can be dropped.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ConsentSnapshot {
    /// Increases with every snapshot a manager publishes.
    pub sequence: u64,
    /// Where consent stands.
    pub status: ConsentStatus,
    /// The verdict for every SDK the policy lists, keyed by SDK id. An id missing here is unknown: deny.
    pub sdks: HashMap<String, Verdict>,
    /// When the passage of time alone makes this snapshot wrong (an expiry or a reminder falls due),
    /// in ms since the Unix epoch. A cached snapshot read at or after it must not be trusted: ask the
    /// manager for a fresh one (`snapshot()`), which also tells every listener.
    pub stale_after_ms: Option<i64>,
    /// Google Consent Mode v2 signals for the categories in force.
    pub consent_mode: ConsentModeSignals,
    /// The IAB TCF v2.3 TC string of the decision in force (policies with a `tcf` section).
    pub tc_string: Option<String>,
    /// Every `IABTCF_*` key that must be present in the default SharedPreferences / standard
    /// UserDefaults, with its type; every other `IABTCF_*` key there must be removed. Empty without a
    /// `tcf` section.
    pub iab_tcf_keys: Vec<StoredEntry>,
}

/// What a snapshot is computed from besides the rules' evaluation.
pub struct Inputs<'a> {
    pub tracking: TrackingAuthorization,
    pub locale: &'a str,
    pub store_recovered: bool,
    pub not_yet_saved: bool,
}

/// The gate: the snapshot the hot path answers from.
#[derive(Debug)]
pub struct Gate {
    pub snapshot: ConsentSnapshot,
    /// The clock reading it was computed at, and whether that was a trusted time.
    computed_at_ms: i64,
    trusted: bool,
}

impl Gate {
    /// The snapshot of an evaluation made at `clock_ms`.
    pub fn compute(
        sequence: u64,
        evaluation: &Evaluation<'_>,
        inputs: &Inputs<'_>,
        clock_ms: i64,
    ) -> Gate {
        let policy = evaluation.current;
        let decision = evaluation.decision();
        let status = ConsentStatus {
            needs_prompt: evaluation.prompt.is_some(),
            prompt_reason: evaluation.prompt,
            categories: evaluation.grants.to_map(),
            decided_at_ms: decision.map(|d| d.decided_at_ms),
            expires_at_ms: evaluation.expires_at_ms,
            reprompt_at_ms: evaluation.reprompt_at_ms,
            last_source: decision.map(|d| d.source),
            decided_policy_revision: decision.map(|d| d.policy_revision),
            policy_revision: policy.revision,
            locale: inputs.locale.to_owned(),
            tracking_authorization: inputs.tracking,
            store_recovered: inputs.store_recovered,
            not_yet_saved: inputs.not_yet_saved,
        };
        let sdks = policy
            .sdks
            .iter()
            .map(|sdk| {
                let verdict = rules::verdict(evaluation, &sdk.id, inputs.tracking);
                (sdk.id.clone(), verdict)
            })
            .collect();
        let in_force = evaluation.in_force();
        let consent_mode = match in_force {
            Some((_, coverage)) => coverage.consent_mode(evaluation.grants),
            None => ConsentModeSignals::from_grants(&policy.consent_mode, evaluation.grants),
        };
        let tcf = tcf::tcf_signals(policy, in_force, evaluation.grants);
        Gate {
            snapshot: ConsentSnapshot {
                sequence,
                status,
                sdks,
                stale_after_ms: evaluation.next_change_ms(),
                consent_mode,
                tc_string: tcf.tc_string,
                iab_tcf_keys: tcf.keys,
            },
            computed_at_ms: clock_ms,
            trusted: evaluation.now_ms.is_some(),
        }
    }

    /// The gate of a manager that was shut down, following `last`: nothing granted, every SDK
    /// denied as `Closed`, no signal that grants anything, nothing pending.
    pub fn closed(last: &Gate) -> Gate {
        let mut snapshot = last.snapshot.clone();
        snapshot.sequence = snapshot.sequence.saturating_add(1);
        for granted in snapshot.status.categories.values_mut() {
            *granted = false;
        }
        snapshot.status.needs_prompt = false;
        snapshot.status.prompt_reason = None;
        for verdict in snapshot.sdks.values_mut() {
            *verdict = Verdict::deny(VerdictReason::Closed);
        }
        snapshot.stale_after_ms = None;
        snapshot.consent_mode = ConsentModeSignals::DENIED;
        snapshot.tc_string = None;
        snapshot.iab_tcf_keys = Vec::new();
        Gate {
            snapshot,
            computed_at_ms: last.computed_at_ms,
            trusted: last.trusted,
        }
    }

    /// The verdict for `sdk_id` at `clock_ms`, from this snapshot alone.
    pub fn verdict(&self, sdk_id: &str, clock_ms: i64) -> Verdict {
        let status = &self.snapshot.status;
        match self.snapshot.sdks.get(sdk_id) {
            Some(v) => rules::verdict_at(*v, status.decided_at_ms, status.expires_at_ms, clock_ms),
            None => Verdict::deny(VerdictReason::UnknownSdk),
        }
    }

    /// Whether the clock has moved so that this snapshot may be wrong: past a point where it
    /// changes, from an untrusted reading to a trusted one or back, or back by more than a step.
    pub fn is_stale(&self, clock_ms: i64) -> bool {
        self.snapshot.stale_after_ms.is_some_and(|t| clock_ms >= t)
            || time::trusted(clock_ms).is_some() != self.trusted
            || clock_ms < self.computed_at_ms.saturating_sub(CLOCK_STEP_TOLERANCE_MS)
    }

    /// Whether two snapshots say the same thing (ignoring their sequence numbers).
    pub fn same_content(&self, other: &Gate) -> bool {
        let b = &other.snapshot;
        // Every field but `sequence`, destructured so that a new field cannot be forgotten here.
        let ConsentSnapshot {
            sequence: _,
            status,
            sdks,
            stale_after_ms,
            consent_mode,
            tc_string,
            iab_tcf_keys,
        } = &self.snapshot;
        *status == b.status
            && *sdks == b.sdks
            && *stale_after_ms == b.stale_after_ms
            && *consent_mode == b.consent_mode
            && *tc_string == b.tc_string
            && *iab_tcf_keys == b.iab_tcf_keys
    }
}

/// The snapshot the Kotlin and Swift SDKs answer from while they open the store in the background
/// (`openInBackground`), before the core has computed the first real one: sequence 0 (every real
/// snapshot has a higher one), nothing granted, not even essential, no SDK listed (each answers
/// `NotReady`), every Consent Mode signal denied, no TC string and no `IABTCF_*` key. `locale` and
/// `tracking_authorization` are the ones the open was given, as given. No prompt is asked for: the
/// store has not been read, so whether one is needed is not known yet.
#[uniffi::export]
pub fn not_ready_snapshot(
    locale: String,
    tracking_authorization: TrackingAuthorization,
) -> ConsentSnapshot {
    ConsentSnapshot {
        sequence: 0,
        status: ConsentStatus {
            needs_prompt: false,
            prompt_reason: None,
            categories: Category::ALL.iter().map(|c| (*c, false)).collect(),
            decided_at_ms: None,
            expires_at_ms: None,
            reprompt_at_ms: None,
            last_source: None,
            decided_policy_revision: None,
            policy_revision: 0,
            locale,
            tracking_authorization,
            store_recovered: false,
            not_yet_saved: false,
        },
        sdks: HashMap::new(),
        stale_after_ms: None,
        consent_mode: ConsentModeSignals::DENIED,
        tc_string: None,
        iab_tcf_keys: Vec::new(),
    }
}
