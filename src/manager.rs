//! The exported `ConsentManager`: loads, asks the rules, writes, publishes. Every decision of kind
//! "does this count, may this grant" is a function in [`crate::rules`]; this file only moves values
//! between the store, the rules and the gate.
//!
//! Threading: one writer mutex serialises decisions and policy changes; each change computes a new
//! immutable [`Gate`] and swaps it in atomically. Readers (`can_start`, `check`, `is_granted`) load
//! the current gate without any lock, so they never wait for a write. Callbacks run after the writer
//! mutex is released (see [`crate::dispatch`]).

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::category::{Category, Grants};
use crate::clock::{Clock, SystemClock};
use crate::dispatch::{ConsentListener, Dispatcher, SdkLifecycle, SnapshotMirror, Subscription};
use crate::error::{Error, KmerConsentError, Result};
use crate::locale::negotiate;
use crate::locks;
use crate::page::{self, Banner, ConsentPageLayer};

use crate::policy::PolicyText;
use crate::proof::receipt;
use crate::proof::witness::{BackendKey, Witness};
use crate::proof::SDK_VERSION;
use crate::random;
use crate::record::{ConsentRecord, Decision, DecisionSource};
use crate::rules::page::PageState;
use crate::rules::restriction::{self, Unwritten};
use crate::rules::sync::{self, Import};
use crate::rules::time::{self, TimeMarks};
use crate::rules::{self, Evaluation, TrackingAuthorization, Verdict, VerdictReason};
use crate::scheduler::{Scheduler, TaskHandle, Timed};
use crate::snapshot::{ConsentSnapshot, ConsentStatus, Gate, Inputs};
use crate::store::{HistoryCheck, PolicyRow, Store};

/// A receipt waiting for the app to send it to its back end.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PendingReceipt {
    /// Pass it to `acknowledge` once the back end has it (or pass the back end's signed
    /// acknowledgement to `acknowledge_signed`).
    pub id: i64,
    /// The receipt, as `export_proof` writes it.
    pub receipt_json: String,
}

/// How a manager is opened from Rust (tests, the CLI). The FFI constructor uses the defaults.
#[derive(Clone)]
pub struct OpenOptions {
    /// The time source (default: the device clock).
    pub clock: Arc<dyn Clock>,
    /// Whether an expiry or reminder seen at a trusted time is written to the store, so that moving
    /// the device clock back later cannot undo it. Default true; the CLI's `--now` on read-only
    /// commands turns it off so a look into the future leaves no trace.
    pub persist_time_marks: bool,
    /// The app's version, recorded with each decision (proof of what the user saw).
    pub app_version: String,
    /// Caps the database file at this many pages (4 KiB each); a write past it fails with a
    /// storage error, as on a full disk. `None`: no cap beyond the disk's.
    pub max_database_pages: Option<u32>,
    /// The app's back end's Ed25519 public key (64 hex digits): needed to import other devices'
    /// decisions and to keep the back end's acknowledgements. `None`: no back end.
    pub backend_public_key: Option<String>,
    /// The OS tracking authorization at open (default `NotDetermined`: SDKs that need it stay off).
    pub tracking_authorization: TrackingAuthorization,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            clock: Arc::new(SystemClock),
            persist_time_marks: true,
            app_version: String::new(),
            max_database_pages: None,
            backend_public_key: None,
            tracking_authorization: TrackingAuthorization::NotDetermined,
        }
    }
}

/// How the app opens the SDK: everything but the database path and the policy has a default, so an
/// option added later breaks no caller.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ConsentOptions {
    /// The SQLite file of the consent store (created if missing), at a path the app owns.
    pub database_path: String,
    /// The app's policy JSON (`policies/kmeroccase.json` shows the format).
    pub policy_json: String,
    /// The device locale (`fr-CM`, `en_US`, …): decisions are recorded in the policy locale it
    /// negotiates to. Empty: the policy's default locale.
    #[uniffi(default = "")]
    pub locale: String,
    /// The app's version, recorded with each decision (proof of what the user saw).
    #[uniffi(default = "")]
    pub app_version: String,
    /// The OS tracking authorization for this launch (iOS: ATT's status; Android: `NotApplicable`).
    /// `None`: not reported yet, which counts as `NotDetermined` (SDKs that need it stay denied)
    /// until `set_tracking_authorization`.
    #[uniffi(default = None)]
    pub tracking_authorization: Option<TrackingAuthorization>,
    /// The app's back end's Ed25519 public key (64 hex digits): imports and signed
    /// acknowledgements need it; an invalid one is a `BackendKey` error.
    #[uniffi(default = None)]
    pub backend_public_key: Option<String>,
    /// Who is logged in at launch, as `set_subject` takes it (`None`: the anonymous device). Set
    /// before the first snapshot is computed, so no SDK is ever started on another user's decision
    /// while the app would call `set_subject` after opening; an invalid one fails the open with
    /// `InvalidSubject`.
    #[uniffi(default = None)]
    pub account_id: Option<String>,
}

impl ConsentOptions {
    /// The options with every default (Kotlin and Swift get the same defaults as named arguments).
    pub fn new(database_path: impl Into<String>, policy_json: impl Into<String>) -> Self {
        ConsentOptions {
            database_path: database_path.into(),
            policy_json: policy_json.into(),
            locale: String::new(),
            app_version: String::new(),
            tracking_authorization: None,
            backend_public_key: None,
            account_id: None,
        }
    }
}

/// The consent SDK: records the user's choices, answers whether each SDK may start, and tells the app
/// when that changes. Safe to use from any thread; keep one per database file.
#[derive(uniffi::Object)]
pub struct ConsentManager {
    /// `None` once shut down: the store is released.
    writer: Mutex<Option<Writer>>,
    /// Set by `shutdown`: nothing is allowed, every call that needs the store fails with `Closed`.
    closed: AtomicBool,
    /// Republishes when time alone changes the gate; runs the watches.
    scheduler: Scheduler,
    /// Shared with the timer, which reads the deadline from it without holding the manager.
    gate: Arc<ArcSwap<Gate>>,
    dispatcher: Arc<Dispatcher>,
    clock: Arc<dyn Clock>,
    backend_key: Option<BackendKey>,
    /// Signs the tokens of the consent pages this store renders (see `bridge`): read or made on the
    /// first page, so opening costs nothing for it.
    ui_key: OnceLock<[u8; 32]>,
}

/// A decision the store could not write, held in memory for its subject (see [`restriction`]).
/// Held decisions live in this process only: one the store never took is lost when it ends.
struct Held {
    /// What the rules see until it is written: the decision in force with the categories the user
    /// refused taken away, on the text it was made on and with its date (so nothing is renewed or
    /// widened by a choice that is not on disk), or the user's refusal when nothing was in force.
    effect: Decision,
    /// What is written when the store allows: the user's decision as they made it, with the policy
    /// text it was made on. `None` when it also granted something: then only its refusals hold, for
    /// this process, until a newer decision of the subject is recorded.
    write: Option<(Decision, Arc<PolicyText>)>,
}

/// What only the writer touches.
struct Writer {
    store: Store,
    /// The platform layer's copy of the gate, told of each gate as it is published (so, like
    /// everything else here, only ever touched under the writer lock).
    mirror: Option<Arc<dyn SnapshotMirror>>,
    policy: Arc<PolicyText>,
    app_version: String,
    /// Whose decisions are in force: an account id, or `""` for the anonymous device.
    subject: String,
    /// The store's `data_version` when last looked at: another process wrote if it moved.
    data_version: i64,
    latest: Option<Decision>,
    /// The policy text `latest` was made on, when it is not the one in use and could be read.
    shown: Option<Arc<PolicyText>>,
    /// Whether `latest` is not what the back end witnessed (see `rules::standing::witnessed_differs`).
    tampered: bool,
    /// Per subject, oldest first: the decisions the store could not write yet.
    held: HashMap<String, Vec<Held>>,
    /// How many decisions were held in memory so far (consent pages rendered before one are stale).
    held_count: u64,
    /// The back end's key, to check a witness wherever one is relied on.
    backend_key: Option<BackendKey>,
    marks: TimeMarks,
    /// The time mark of schema versions 1 and 2 and the newest decision id it speaks of, turned into
    /// marks for each subject as it is loaded.
    legacy_clock_mark: Option<(i64, i64)>,
    persist_marks: bool,
    locale: String,
    tracking: TrackingAuthorization,
    store_recovered: bool,
    /// The store's page cap, to reopen it with.
    max_pages: Option<u32>,
    /// Set when the store's files were replaced or removed under it (see `reattach`): the decision
    /// read from the store no longer counts until this process records one.
    distrusted: bool,
    sequence: u64,
}

impl Writer {
    /// The decision the rules look at: the newest one held in memory for this subject, else the
    /// latest in the store.
    fn candidate(&self) -> Option<&Decision> {
        self.held
            .get(&self.subject)
            .and_then(|list| list.last())
            .map(|h| &h.effect)
            .or(self.latest.as_ref().filter(|_| !self.distrusted))
    }

    /// Whether this subject has a decision held in memory.
    fn holds(&self) -> bool {
        self.held.get(&self.subject).is_some_and(|l| !l.is_empty())
    }

    /// The text `d` was made on, if it is known here.
    fn text_of(&self, d: &Decision) -> Option<&PolicyText> {
        let hash = d.policy_hash.as_deref()?;
        if hash == self.policy.hash {
            return Some(&self.policy);
        }
        self.shown.as_deref().filter(|s| s.hash == hash)
    }

    /// Reads a policy text shown earlier from the store. Unreadable, or not what its hash says:
    /// `None`, and the rules treat the decision as made on an unknown text (it grants nothing).
    fn load_text(&self, hash: &str) -> Option<Arc<PolicyText>> {
        let json = self.store.policy_text(hash).ok()??;
        PolicyText::parse(&json)
            .ok()
            .filter(|t| t.hash == hash)
            .map(Arc::new)
    }

    /// Makes `latest`, read from the store, the subject's latest decision, with the text it was
    /// made on and whether it is what the back end witnessed (a store that cannot say counts as
    /// rewritten: fail closed).
    fn set_latest(&mut self, latest: Option<Decision>) {
        self.tampered = self.differs_from_witness(latest.as_ref(), &self.subject);
        self.set_shown(latest);
    }

    /// Makes a decision this writer has just written the latest: nothing can have rewritten it, and
    /// any witness names an older record (or, for an import, this one as it came), so the store is
    /// not asked.
    fn set_written(&mut self, saved: Decision) {
        self.tampered = false;
        self.distrusted = false;
        self.set_shown(Some(saved));
    }

    fn set_shown(&mut self, latest: Option<Decision>) {
        self.shown = latest
            .as_ref()
            .and_then(|d| d.policy_hash.as_deref())
            .filter(|hash| *hash != self.policy.hash)
            .and_then(|hash| self.load_text(hash));
        self.latest = latest;
    }

    /// Whether `latest` is not what the back end witnessed: the subject's newest witness is for a
    /// later record (removed since), or for this one with another hash or a signature that does not
    /// verify. A witness of an older record says nothing about this one. Without a back end key no
    /// witness can be checked, and none is relied on.
    fn differs_from_witness(&self, latest: Option<&Decision>, subject: &str) -> bool {
        let Some(key) = &self.backend_key else {
            return false;
        };
        match self.store.newest_witness(subject) {
            Ok(None) => false,
            Ok(Some((id, witness))) => {
                let names_latest = latest.is_some_and(|d| d.id == id);
                (names_latest && witness.verify(key).is_err())
                    || rules::standing::witnessed_differs(
                        latest,
                        Some((id, witness.record_hash.as_str())),
                    )
            }
            Err(_) => true,
        }
    }

    fn evaluate(&self, clock_ms: i64) -> Evaluation<'_> {
        let decision = self.candidate();
        let is_latest = decision
            .zip(self.latest.as_ref())
            .is_some_and(|(d, l)| std::ptr::eq(d, l));
        rules::evaluate(&rules::Inputs {
            current: &self.policy,
            decision,
            shown: decision.and_then(|d| self.text_of(d)),
            marks: self.marks,
            tampered: is_latest && self.tampered,
            clock_ms,
        })
    }

    /// The subject's marks from the store, with the legacy clock mark applied.
    fn load_marks(&mut self) -> Result<()> {
        self.marks = self.store.marks(&self.subject)?;
        let latest_id = self.latest.as_ref().map_or(0, |d| d.id);
        let legacy = self
            .legacy_clock_mark
            .filter(|(_, through)| self.persist_marks && latest_id <= *through);
        if let Some((mark, _)) = legacy {
            // What the older schema's mark proved: that decision was seen at that time.
            let seen = self.evaluate(mark).marks;
            if seen != self.marks {
                self.marks = seen;
                let _ = self.store.raise_marks(&self.subject, seen);
            }
        }
        Ok(())
    }

    /// A new decision by this subject under the policy in use.
    fn decision(
        &self,
        source: DecisionSource,
        grants: Grants,
        locale: Option<String>,
        at: i64,
    ) -> Decision {
        Decision {
            id: 0,
            decided_at_ms: at,
            policy_id: self.policy.policy.id.clone(),
            policy_revision: self.policy.policy.revision,
            source,
            locale: locale.unwrap_or_else(|| self.locale.clone()),
            grants,
            sdks_shown: self.policy.policy.sdk_ids(),
            policy_hash: Some(self.policy.hash.clone()),
            sdk_version: SDK_VERSION.to_owned(),
            app_version: self.app_version.clone(),
            tracking_authorization: Some(self.tracking),
            subject: self.subject.clone(),
            origin_hash: None,
            prev_hash: String::new(),
            record_hash: String::new(),
        }
    }

    /// Records a decision of this subject, dated by the clock now. When the store refuses the write,
    /// the rules say what still takes effect: a restriction holds in memory (and is written later),
    /// a grant changes nothing. `Ok(Some(error))`: something was held, and the call must still fail.
    fn record(
        &mut self,
        source: DecisionSource,
        grants: Grants,
        locale: Option<String>,
        clock_ms: i64,
    ) -> Result<Option<Error>> {
        let decision = self.decision(source, grants, locale, clock_ms);
        // A decision still waiting to be written goes first: this one may not overtake it.
        let waiting = self
            .held
            .get(&self.subject)
            .is_some_and(|l| l.iter().any(|h| h.write.is_some()));
        let written = if waiting {
            Err(self
                .store
                .io_error("an earlier refusal is still waiting to be written"))
        } else {
            self.store
                .record(decision.clone(), Some(policy_row(&self.policy)), None)
        };
        match written {
            Ok(saved) => {
                self.held.remove(&self.subject);
                self.set_written(saved);
                Ok(None)
            }
            Err(error) if error.is_storage() => {
                let evaluation = self.evaluate(clock_ms);
                let in_force = evaluation.grants;
                let base = evaluation.in_force().map(|(d, _)| d.clone());
                let kind = restriction::unwritten(in_force, grants);
                if kind == Unwritten::NoEffect {
                    return Err(error);
                }
                let effect = Decision {
                    id: self.latest.as_ref().map_or(0, |d| d.id).saturating_add(1),
                    grants: in_force.and(grants),
                    source,
                    origin_hash: None,
                    record_hash: String::new(),
                    ..base.unwrap_or_else(|| decision.clone())
                };
                let write = (kind == Unwritten::Hold).then(|| (decision, Arc::clone(&self.policy)));
                self.held
                    .entry(self.subject.clone())
                    .or_default()
                    .push(Held { effect, write });
                self.held_count += 1;
                Ok((kind != Unwritten::Hold).then_some(error))
            }
            Err(error) => Err(error),
        }
    }

    /// Writes the held decisions the store now takes, oldest first, subject by subject. Once one is
    /// written, the ones held before it are done with.
    fn flush_held(&mut self) {
        let subjects: Vec<String> = self.held.keys().cloned().collect();
        for subject in subjects {
            let Some(list) = self.held.get_mut(&subject) else {
                continue;
            };
            let mut written = None;
            for (i, held) in list.iter().enumerate() {
                let Some((decision, text)) = &held.write else {
                    continue;
                };
                match self
                    .store
                    .record(decision.clone(), Some(policy_row(text)), None)
                {
                    Ok(saved) => written = Some((i, saved)),
                    Err(_) => break,
                }
            }
            let Some((last, saved)) = written else {
                continue;
            };
            list.drain(..=last);
            if list.is_empty() {
                self.held.remove(&subject);
            }
            if subject == self.subject {
                self.set_written(saved);
            }
        }
    }

    /// Reopens the store at its path if it was detached (its files were replaced or removed while
    /// open: see `store/files.rs`). What is there now may take consent away, never give it: unless
    /// it holds the history this process saw (every subject's chain head), no decision read from it
    /// counts until the user makes one again; and the time marks this process saw are raised in it,
    /// so an older copy put back cannot undo an expiry. A store that cannot be reopened (its
    /// directory is gone) stays detached, every write fails with a storage error, refusals hold in
    /// memory, and the next call that changes or refreshes consent tries again.
    fn reattach(&mut self, clock_ms: i64) {
        if !self.store.is_detached() {
            return;
        }
        self.store_recovered = true;
        // Unknown (it could not be read as the store detached): no reopened file is the same.
        let seen = self.store.seen_when_detached().cloned();
        let before = self.marks;
        let reopened = self
            .store
            .reopen(clock_ms, self.max_pages)
            .and_then(|mut opened| {
                let same = seen.as_ref().is_some_and(|seen| {
                    opened.store.seen().is_ok_and(|now| now.heads == seen.heads)
                });
                for (subject, marks) in seen.iter().flat_map(|s| &s.marks) {
                    // Best effort, as every mark: they also hold in memory for this run.
                    let _ = opened.store.raise_marks(subject, *marks);
                }
                let latest = opened.store.latest_decision(&self.subject)?;
                let version = opened.store.data_version()?;
                Ok((opened, same, latest, version))
            });
        let Ok((opened, same, latest, version)) = reopened else {
            self.distrusted = true;
            return;
        };
        self.distrusted |= !same;
        self.store = opened.store;
        self.legacy_clock_mark = opened.legacy_clock_mark;
        self.data_version = version;
        self.set_latest(latest);
        if self.load_marks().is_err() {
            self.distrusted = true;
        }
        self.marks = TimeMarks {
            expired_through_id: self.marks.expired_through_id.max(before.expired_through_id),
            reminded_through_id: self
                .marks
                .reminded_through_id
                .max(before.reminded_through_id),
        };
    }

    /// Re-reads the subject's latest decision. Refusals held for this process only give way to a
    /// newer decision of the subject in the store (another process's).
    fn reload(&mut self) -> Result<()> {
        self.flush_held();
        let latest = self.store.latest_decision(&self.subject)?;
        if let (Some(list), Some(l)) = (self.held.get_mut(&self.subject), &latest) {
            list.retain(|h| h.write.is_some() || h.effect.id > l.id);
            if list.is_empty() {
                self.held.remove(&self.subject);
            }
        }
        self.set_latest(latest);
        Ok(())
    }

    /// The anonymous device's decision, if it is in force now.
    fn device_decision_in_force(&self, clock_ms: i64) -> Result<Option<Decision>> {
        let Some(device) = self.store.latest_decision("")? else {
            return Ok(None);
        };
        let loaded = device
            .policy_hash
            .as_deref()
            .filter(|h| *h != self.policy.hash)
            .and_then(|h| self.load_text(h));
        let shown = loaded.as_deref().or_else(|| self.text_of(&device));
        let evaluation = rules::evaluate(&rules::Inputs {
            current: &self.policy,
            decision: Some(&device),
            shown,
            marks: self.store.marks("")?,
            tampered: self.differs_from_witness(Some(&device), ""),
            clock_ms,
        });
        let in_force = evaluation.in_force().is_some();
        Ok(in_force.then_some(device))
    }

    /// The state a consent page rendered now is bound to.
    fn page_state(&self) -> Result<PageState> {
        let (last_decision_id, chain_head) = self.store.page_state(&self.subject)?;
        Ok(PageState {
            subject: self.subject.clone(),
            policy_hash: self.policy.hash.clone(),
            last_decision_id,
            chain_head,
            closed_pages: self.store.closed_pages()?,
            unwritten: self.held_count,
        })
    }

    /// When the back end witnessed `d`, if it did and its signature verifies.
    fn witnessed_at(&self, d: &Decision) -> Result<Option<i64>> {
        let Some(key) = &self.backend_key else {
            return Ok(None);
        };
        Ok(self
            .store
            .witness(d.witness_hash())?
            .filter(|w| w.verify(key).is_ok())
            .map(|w| w.backend_time_ms))
    }

    fn compute(&mut self, clock_ms: i64) -> Gate {
        self.sequence += 1;
        let inputs = Inputs {
            tracking: self.tracking,
            locale: &self.locale,
            store_recovered: self.store_recovered,
            not_yet_saved: self.holds(),
        };
        let evaluation = self.evaluate(clock_ms);
        let marks = evaluation.marks;
        let gate = Gate::compute(self.sequence, &evaluation, &inputs, clock_ms);
        if marks != self.marks {
            self.marks = marks;
            // Best effort: if the disk refuses, the marks still hold in memory for this run.
            if self.persist_marks {
                let _ = self.store.raise_marks(&self.subject, marks);
            }
        }
        gate
    }
}

/// Tells the platform's mirror of a gate, if there is one. A mirror that throws must not cross the
/// FFI nor stop the publication.
fn tell_mirror(mirror: Option<&dyn SnapshotMirror>, gate: &Gate) {
    if let Some(mirror) = mirror {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            mirror.mirror(gate.snapshot.clone())
        }));
    }
}

/// The policy text as the store keeps it beside decisions.
fn policy_row(text: &PolicyText) -> PolicyRow<'_> {
    PolicyRow {
        hash: &text.hash,
        policy_id: &text.policy.id,
        revision: text.policy.revision,
        canonical_json: &text.canonical_json,
    }
}

impl ConsentManager {
    /// Opens with explicit options (Rust callers: tests, the CLI).
    pub fn open_with(
        database_path: &Path,
        policy_json: &str,
        locale: &str,
        options: OpenOptions,
    ) -> Result<Arc<ConsentManager>> {
        let policy = PolicyText::parse(policy_json)?;
        let backend_key = options
            .backend_public_key
            .as_deref()
            .map(BackendKey::parse)
            .transpose()
            .map_err(Error::BackendKey)?;
        let clock_ms = options.clock.now_ms();
        let opened = Store::open(database_path, clock_ms, options.max_database_pages)?;
        let locale = negotiate(locale, &policy.policy);
        let mut writer = Writer {
            store: opened.store,
            mirror: None,
            policy: Arc::new(policy),
            app_version: options.app_version,
            subject: String::new(),
            data_version: 0,
            latest: None,
            shown: None,
            tampered: false,
            held: HashMap::new(),
            held_count: 0,
            backend_key: backend_key.clone(),
            marks: opened.marks,
            legacy_clock_mark: opened.legacy_clock_mark,
            persist_marks: options.persist_time_marks,
            locale,
            tracking: options.tracking_authorization,
            store_recovered: opened.recovered_from.is_some(),
            max_pages: options.max_database_pages,
            distrusted: false,
            sequence: 0,
        };
        writer.set_latest(opened.latest);
        writer.load_marks()?;
        writer.data_version = writer.store.data_version()?;
        let gate = Arc::new(writer.compute(clock_ms));
        let manager = Arc::new(ConsentManager {
            writer: Mutex::new(Some(writer)),
            closed: AtomicBool::new(false),
            scheduler: Scheduler::new(),
            gate: Arc::new(ArcSwap::new(Arc::clone(&gate))),
            dispatcher: Dispatcher::new(gate),
            clock: options.clock,
            backend_key,
            ui_key: OnceLock::new(),
        });
        let (gate, clock) = (Arc::clone(&manager.gate), Arc::clone(&manager.clock));
        // Due now when the gate is stale for any reason (a deadline passed, the clock set back or
        // from trusted to untrusted): the timer, which wakes at least every minute while a deadline
        // is pending, then republishes what the core's own reads would answer.
        let until_deadline = Box::new(move || {
            let gate = gate.load();
            let now = clock.now_ms();
            if gate.is_stale(now) {
                return Some(0);
            }
            Some(gate.snapshot.stale_after_ms?.saturating_sub(now))
        });
        manager
            .scheduler
            .start(Arc::downgrade(&manager), until_deadline);
        Ok(manager)
    }

    /// `Closed` once `shutdown` has begun.
    fn ensure_open(&self) -> Result<()> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(Error::Closed);
        }
        Ok(())
    }

    /// The writer, or `Closed` once `shutdown` has begun.
    fn lock_writer(&self) -> Result<WriterGuard<'_>> {
        self.ensure_open()?;
        // No code path panics while holding it; if one ever did, the data is still consistent
        // because every change is computed before anything is replaced.
        let guard = locks::lock(&self.writer);
        if guard.is_none() {
            return Err(Error::Closed);
        }
        Ok(WriterGuard(guard))
    }

    /// Swaps in a gate the writer computed, tells the platform's mirror at once, queues it for
    /// listeners and tells the timer.
    fn publish(&self, writer: &Writer, gate: Gate) -> Arc<Gate> {
        let gate = Arc::new(gate);
        self.gate.store(Arc::clone(&gate));
        tell_mirror(writer.mirror.as_deref(), &gate);
        self.dispatcher.publish(Arc::clone(&gate));
        self.scheduler.nudge();
        gate
    }

    /// Recomputes under the writer lock with `change` applied (after writing any restriction the
    /// store refused before), publishes when anything differs, then delivers callbacks with no lock
    /// held.
    fn change<T>(
        &self,
        change: impl FnOnce(&mut Writer, i64) -> Result<T>,
    ) -> Result<(T, Arc<Gate>)> {
        let result = {
            let mut writer = self.lock_writer()?;
            let clock_ms = self.clock.now_ms();
            writer.reattach(clock_ms);
            writer.flush_held();
            let value = change(&mut writer, clock_ms);
            if writer.store.is_detached() {
                // Found during this call: reopened now, so a refusal held meanwhile is written
                // now, and the gate published below is what the file at the path says.
                writer.reattach(clock_ms);
                writer.flush_held();
            } else if value.is_err() {
                return value.map(|v| (v, self.gate.load_full()));
            }
            let gate = writer.compute(clock_ms);
            let current = self.gate.load_full();
            let gate = if gate.same_content(&current) {
                current
            } else {
                self.publish(&writer, gate)
            };
            (value, gate)
        };
        self.dispatcher.drain();
        let (value, gate) = result;
        Ok((value?, gate))
    }

    /// The current gate, recomputed first if the clock has moved so that it may be wrong.
    fn current(&self) -> Arc<Gate> {
        let gate = self.gate.load_full();
        if !gate.is_stale(self.clock.now_ms()) {
            return gate;
        }
        match self.change(|_, _| Ok(())) {
            Ok(((), gate)) => gate,
            Err(_) => gate,
        }
    }

    /// Records a decision of the user; a restriction the store refused still takes effect.
    /// Returns the snapshot published after it.
    fn record(&self, source: DecisionSource, grants: Grants) -> Result<ConsentSnapshot> {
        let (failed, gate) =
            self.change(|writer, clock_ms| writer.record(source, grants, None, clock_ms))?;
        match failed {
            Some(error) => Err(error),
            None => Ok(gate.snapshot.clone()),
        }
    }

    /// The key of this store's page tokens. A read-only store cannot keep one: its pages then verify
    /// in this process only. Not to be called with the writer locked.
    fn page_key(&self) -> Result<[u8; 32]> {
        if let Some(key) = self.ui_key.get() {
            return Ok(*key);
        }
        let key = match self.lock_writer()?.store.ui_key() {
            Ok(key) => key,
            Err(Error::Randomness(reason)) => return Err(Error::Randomness(reason)),
            Err(_) => random::bytes::<32>()?,
        };
        Ok(*self.ui_key.get_or_init(|| key))
    }

    /// The optional categories a consent screen shows switched on: granted now, and every SDK the
    /// policy lists in them covered by the decision in force. A category with an SDK the user was
    /// not shown there starts off: a box ticked in advance is no consent.
    fn granted_now(&self) -> Result<Grants> {
        let gate = self.current();
        let policy = Arc::clone(&self.lock_writer()?.policy);
        let snapshot = &gate.snapshot;
        let mut grants = Grants::NONE;
        for category in Category::OPTIONAL {
            let unseen = policy
                .policy
                .sdks
                .iter()
                .filter(|s| s.category == category)
                .filter_map(|s| snapshot.sdks.get(&s.id))
                .any(|v| {
                    matches!(
                        v.reason,
                        VerdictReason::NotShownToUser | VerdictReason::ShownInAnotherCategory
                    )
                });
            grants.set(
                category,
                snapshot.status.categories.get(&category) == Some(&true) && !unseen,
            );
        }
        Ok(grants)
    }

    /// The policy in use (Rust API: the CLI prints from it).
    pub fn policy(&self) -> Result<Arc<crate::policy::Policy>, KmerConsentError> {
        Ok(Arc::new(self.lock_writer()?.policy.policy.clone()))
    }

    /// The receipt of `d`, built from the policy text it was made on.
    fn receipt_of(writer: &Writer, d: &Decision) -> String {
        let loaded;
        let text = match writer.text_of(d) {
            Some(text) => Some(text),
            None => {
                loaded = d.policy_hash.as_deref().and_then(|h| writer.load_text(h));
                loaded.as_deref()
            }
        };
        receipt::receipt(text, d).to_string()
    }

    /// Verifies a countersigned receipt and applies it (see `import_receipt`): the snapshot
    /// published after it, or `None` when nothing was recorded.
    fn import(&self, receipt_json: &str) -> Result<Option<ConsentSnapshot>> {
        self.ensure_open()?;
        let key = self.backend_key.as_ref().ok_or_else(|| {
            Error::BackendKey(
                "no back end key was configured at open: a receipt from another device is \
                 imported only with the back end's signature"
                    .into(),
            )
        })?;
        let verified = receipt::read(receipt_json, Some(key)).map_err(Error::Receipt)?;
        let witness = verified
            .witness
            .ok_or_else(|| Error::Receipt("it carries no witness".into()))?;
        let remote = verified.decision;
        let remote_text = verified.policy;
        let (applied, gate) = self.change(|writer, clock_ms| {
            sync::may_import(&remote, &writer.subject, &writer.policy.policy.id)
                .map_err(Error::Receipt)?;
            let decided_at_ms = sync::imported_decided_at(&remote, witness.backend_time_ms);
            if time::trusted(clock_ms)
                .is_none_or(|now| time::is_from_the_future(decided_at_ms, now))
            {
                return Err(Error::Receipt(
                    "it is dated after this device's clock: import it once the clock is right"
                        .into(),
                ));
            }
            if writer.store.has_imported(&remote.record_hash)? {
                return Ok(false);
            }
            let local = match writer.candidate() {
                None => None,
                Some(d) => {
                    let evaluation = writer.evaluate(clock_ms);
                    Some(sync::Local {
                        decision: d,
                        aged_out: sync::aged_out(d, evaluation.expires_at_ms, evaluation.now_ms),
                        // A decision held in memory has not reached the back end.
                        witnessed_at_ms: if writer.holds() {
                            None
                        } else {
                            writer.witnessed_at(d)?
                        },
                    })
                }
            };
            let decision = match sync::import(local, &remote, witness.backend_time_ms) {
                Import::Ignore => return Ok(false),
                Import::Apply => Decision {
                    id: 0,
                    decided_at_ms,
                    source: DecisionSource::Import,
                    origin_hash: Some(remote.record_hash.clone()),
                    ..remote.clone()
                },
                Import::Restrict(grants) => {
                    let Some(local) = writer.candidate().cloned() else {
                        return Ok(false);
                    };
                    Decision {
                        id: 0,
                        // Restricting the decision here does not make it any younger.
                        decided_at_ms: local.decided_at_ms.min(decided_at_ms),
                        source: DecisionSource::ImportMerged,
                        grants,
                        sdk_version: SDK_VERSION.to_owned(),
                        app_version: writer.app_version.clone(),
                        tracking_authorization: Some(writer.tracking),
                        origin_hash: Some(remote.record_hash.clone()),
                        ..local
                    }
                }
            };
            // The text it was made on: the other device's, or (a merge) the one of the decision here,
            // which is stored already unless it is the one in use.
            let text = if decision.policy_hash.as_deref() == Some(remote_text.hash.as_str()) {
                &remote_text
            } else {
                &*writer.policy
            };
            let imported = decision.source == DecisionSource::Import;
            let saved = writer.store.record(
                decision,
                Some(policy_row(text)),
                imported.then_some(&witness),
            )?;
            let subject = writer.subject.clone();
            writer.held.remove(&subject);
            writer.set_written(saved);
            Ok(true)
        })?;
        Ok(applied.then(|| gate.snapshot.clone()))
    }

    /// Shuts down (see `shutdown`); false when it already was. From the moment `closed` is set no
    /// call takes the writer; one already holding it finishes first, then the closed gate replaces
    /// whatever it published, so nothing allows after this returns.
    fn close(&self) -> bool {
        if self.closed.swap(true, Ordering::SeqCst) {
            return false;
        }
        let mut writer = locks::lock(&self.writer);
        let store = writer.take();
        let closed = Arc::new(Gate::closed(&self.gate.load()));
        self.gate.store(Arc::clone(&closed));
        tell_mirror(store.as_ref().and_then(|w| w.mirror.as_deref()), &closed);
        drop(writer);
        // The store's connection closes here, outside the lock.
        drop(store);
        self.dispatcher.close();
        self.scheduler.stop();
        true
    }
}

/// The writer, held under its lock; made only when the manager is open.
struct WriterGuard<'a>(MutexGuard<'a, Option<Writer>>);

impl Deref for WriterGuard<'_> {
    type Target = Writer;
    fn deref(&self) -> &Writer {
        match self.0.as_ref() {
            Some(writer) => writer,
            None => unreachable!("a WriterGuard is only made for an open manager"),
        }
    }
}

impl DerefMut for WriterGuard<'_> {
    fn deref_mut(&mut self) -> &mut Writer {
        match self.0.as_mut() {
            Some(writer) => writer,
            None => unreachable!("a WriterGuard is only made for an open manager"),
        }
    }
}

impl Timed for ConsentManager {
    fn deadline_passed(&self) {
        // Recomputes and publishes when the gate is stale; a store error leaves the last gate,
        // whose cached verdicts are still checked against the clock.
        let _ = self.current();
    }

    fn watch_tick(&self) {
        let _ = self.refresh_if_changed();
    }
}

#[uniffi::export]
impl ConsentManager {
    /// Opens the consent store named by `options` (created if missing) with the app's policy JSON
    /// and the other options (see [`ConsentOptions`]). An unreadable database file is moved aside and
    /// a fresh one opened (`status().store_recovered`); a path that cannot be opened is a `Storage`
    /// error, a policy that does not validate `InvalidPolicy`. Starts the manager's timer, which
    /// republishes when an expiry or a reminder falls due; `shutdown` stops it.
    #[uniffi::constructor]
    pub fn open(options: ConsentOptions) -> Result<Arc<ConsentManager>, KmerConsentError> {
        let ConsentOptions {
            database_path,
            policy_json,
            locale,
            app_version,
            tracking_authorization,
            backend_public_key,
            account_id,
        } = options;
        let options = OpenOptions {
            app_version,
            backend_public_key,
            tracking_authorization: tracking_authorization.unwrap_or_default(),
            ..OpenOptions::default()
        };
        let manager = Self::open_with(Path::new(&database_path), &policy_json, &locale, options)?;
        if account_id.is_some() {
            // No listener, mirror or SDK can be registered yet: nobody sees the device's snapshot.
            if let Err(error) = manager.set_subject(account_id) {
                manager.shutdown();
                return Err(error);
            }
        }
        Ok(manager)
    }

    /// Closes this instance: the timer and every watch stop, every listener and SDK registration
    /// ends (an SDK already started is not told to stop), the store is released, every SDK is
    /// denied (`VerdictReason::Closed`) and every later call that reads the store or changes consent
    /// fails with `Closed`. Returns the last snapshot, which allows nothing. Idempotent.
    pub fn shutdown(&self) -> ConsentSnapshot {
        self.close();
        self.gate.load().snapshot.clone()
    }

    /// Walks the whole consent history and checks every link of its hash chain, and every witness
    /// the back end signed: reports the first record that was changed, removed or moved behind the
    /// SDK's back, and how many records the back end witnessed.
    pub fn verify_history(&self) -> Result<HistoryCheck, KmerConsentError> {
        let writer = self.lock_writer()?;
        Ok(match &self.backend_key {
            Some(key) => writer
                .store
                .verify(Some(&|w: &Witness| w.verify(key).is_ok()))?,
            None => writer.store.verify(None)?,
        })
    }

    /// Where consent stands now: whether to show the banner and why, and each category's state.
    /// After `shutdown`, the last status, with nothing granted.
    pub fn status(&self) -> ConsentStatus {
        self.current().snapshot.status.clone()
    }

    /// The current snapshot: the status and every SDK's verdict, recomputed first when time has
    /// changed it. After `shutdown`, the last one, which allows nothing.
    pub fn snapshot(&self) -> ConsentSnapshot {
        self.current().snapshot.clone()
    }

    /// The user chose "Accept all".
    pub fn accept_all(&self) -> Result<ConsentSnapshot, KmerConsentError> {
        Ok(self.record(DecisionSource::AcceptAll, Grants::ALL)?)
    }

    /// The user chose "Reject all". Takes effect even when the store cannot write it, held in
    /// memory (see `ConsentStatus::not_yet_saved`).
    pub fn reject_all(&self) -> Result<ConsentSnapshot, KmerConsentError> {
        Ok(self.record(DecisionSource::RejectAll, Grants::NONE)?)
    }

    /// The user saved a custom choice. Categories left out are refused; refusing essential is an
    /// error (`EssentialCannotBeRefused`) and records nothing. When the store cannot write it, what it
    /// refuses still takes effect and what it grants does not.
    pub fn save(
        &self,
        choices: HashMap<Category, bool>,
    ) -> Result<ConsentSnapshot, KmerConsentError> {
        self.ensure_open()?;
        if choices.get(&Category::Essential) == Some(&false) {
            return Err(Error::EssentialCannotBeRefused.into());
        }
        let mut grants = Grants::NONE;
        for (category, granted) in choices {
            grants.set(category, granted);
        }
        Ok(self.record(DecisionSource::Save, grants)?)
    }

    /// The user withdrew consent: every optional category is refused from now on, at once, even when
    /// the store cannot write it yet: then it is held in memory for this process and written by the
    /// next call that changes consent, or `refresh`, once the store allows (see
    /// `ConsentStatus::not_yet_saved`).
    pub fn withdraw(&self) -> Result<ConsentSnapshot, KmerConsentError> {
        Ok(self.record(DecisionSource::Withdraw, Grants::NONE)?)
    }

    /// The user closed the banner ("continue without accepting"): recorded as a refusal.
    pub fn dismiss(&self) -> Result<ConsentSnapshot, KmerConsentError> {
        Ok(self.record(DecisionSource::Dismiss, Grants::NONE)?)
    }

    /// Replaces the policy with another text of the same policy id. Consent is bound to the text the
    /// user was shown: a higher revision asks again and, until the user answers, keeps only what they
    /// saw as they saw it; a lower revision (`PolicyRolledBack`) or the same revision with other
    /// content (`PolicyEditedInPlace`) grants nothing and asks again, exactly as `open` does with
    /// such a text. Another policy id is `PolicyUpdateRefused`.
    pub fn update_policy(&self, policy_json: String) -> Result<ConsentSnapshot, KmerConsentError> {
        self.ensure_open()?;
        let policy = PolicyText::parse(&policy_json)?;
        let ((), gate) = self.change(|writer, _| {
            if policy.policy.id != writer.policy.policy.id {
                return Err(Error::PolicyUpdate(format!(
                    "the new policy's id {:?} is not the current {:?}",
                    policy.policy.id, writer.policy.policy.id
                )));
            }
            writer.locale = negotiate(&writer.locale, &policy.policy);
            let previous = std::mem::replace(&mut writer.policy, Arc::new(policy));
            let latest = writer.latest.take();
            // The text in use until now may be what the latest decision was made on.
            if latest.as_ref().and_then(|d| d.policy_hash.as_deref())
                == Some(previous.hash.as_str())
            {
                writer.latest = latest;
                writer.shown = Some(previous);
            } else {
                writer.set_latest(latest);
            }
            Ok(())
        })?;
        Ok(gate.snapshot.clone())
    }

    /// Sets the device locale decisions are recorded in (after negotiation); returns the chosen one.
    pub fn set_locale(&self, locale: String) -> Result<String, KmerConsentError> {
        let ((), gate) = self.change(|writer, _| {
            writer.locale = negotiate(&locale, &writer.policy.policy);
            Ok(())
        })?;
        Ok(gate.snapshot.status.locale.clone())
    }

    /// Whether `category` is granted now. Essential always is, until `shutdown` (then nothing is). This is the category alone: an SDK in
    /// it may still be denied (not shown to the user in it, tracking not authorized); ask
    /// `can_start` for an SDK.
    pub fn is_granted(&self, category: Category) -> bool {
        if self.closed.load(Ordering::SeqCst) {
            return false;
        }
        let gate = self.gate.load();
        let status = &gate.snapshot.status;
        category == Category::Essential
            || (status.categories.get(&category) == Some(&true)
                && rules::verdict_at(
                    Verdict::allow(VerdictReason::Granted),
                    status.decided_at_ms,
                    status.expires_at_ms,
                    self.clock.now_ms(),
                )
                .allowed)
    }

    /// Whether the SDK may start now. Answers from memory without locking; unknown ids and anything
    /// uncertain answer false.
    pub fn can_start(&self, sdk_id: String) -> bool {
        self.check(sdk_id).allowed
    }

    /// The verdict for the SDK with its reason.
    pub fn check(&self, sdk_id: String) -> Verdict {
        if self.closed.load(Ordering::SeqCst) {
            return Verdict::deny(VerdictReason::Closed);
        }
        self.gate.load().verdict(&sdk_id, self.clock.now_ms())
    }

    /// The consent receipt of the latest decision on disk (a refusal held in memory has none until it
    /// is written), as JSON shaped after ISO/IEC TS 27560 and
    /// the Kantara Consent Receipt, built from the policy text that decision was made on; `None`
    /// before any decision. A server can check it without the device (`kmer-consent verify-receipt`).
    pub fn export_proof(&self) -> Result<Option<String>, KmerConsentError> {
        let writer = self.lock_writer()?;
        Ok(writer
            .latest
            .as_ref()
            .map(|latest| Self::receipt_of(&writer, latest)))
    }

    /// Says who is logged in: `Some(account_id)` after login, `None` after logout (the anonymous
    /// device). Decisions are per subject. A user with no decision of their own takes the device's
    /// decision in force only if it refuses everything optional (recorded for them as `SubjectLink`,
    /// so they are not asked twice); a device decision that grants anything is never adopted, since
    /// whoever made it may not be them: they are asked. Call it after `open` at each launch. The
    /// account id is stored as given and never logged.
    pub fn set_subject(
        &self,
        account_id: Option<String>,
    ) -> Result<ConsentSnapshot, KmerConsentError> {
        self.ensure_open()?;
        let subject = match account_id {
            None => String::new(),
            Some(id) if id.is_empty() || id.len() > 512 => {
                return Err(Error::Subject("an account id is 1 to 512 bytes".into()).into())
            }
            Some(id) => id,
        };
        // The usual launch (the same user as the store was opened or last set for): nothing to re-read.
        if self.lock_writer()?.subject == subject {
            return Ok(self.snapshot());
        }
        let ((), gate) = self.change(|writer, clock_ms| {
            let mut latest = writer.store.latest_decision(&subject)?;
            if latest.is_none() && !subject.is_empty() {
                let device = writer.device_decision_in_force(clock_ms)?;
                if let (Some(grants), Some(d)) = (sync::adoption(device.as_ref()), device) {
                    let adopted = Decision {
                        id: 0,
                        source: DecisionSource::SubjectLink,
                        grants,
                        subject: subject.clone(),
                        origin_hash: None,
                        // The refusal keeps the device decision's age: adopting it does not extend it.
                        sdk_version: SDK_VERSION.to_owned(),
                        app_version: writer.app_version.clone(),
                        ..d
                    };
                    latest = Some(writer.store.record(adopted, None, None)?);
                }
            }
            writer.subject = subject;
            writer.set_latest(latest);
            writer.load_marks()?;
            Ok(())
        })?;
        Ok(gate.snapshot.clone())
    }

    /// Up to `limit` receipts of decisions the app's back end has not acknowledged yet, oldest
    /// first. They stay pending across restarts until acknowledged: delivery is at least once.
    /// Imports and adoptions at login are never pending: they did not happen here, or were not a
    /// choice.
    pub fn pending_receipts(&self, limit: u32) -> Result<Vec<PendingReceipt>, KmerConsentError> {
        let writer = self.lock_writer()?;
        let pending = writer.store.pending(limit)?;
        Ok(pending
            .iter()
            .map(|d| PendingReceipt {
                id: d.id,
                receipt_json: Self::receipt_of(&writer, d),
            })
            .collect())
    }

    /// Marks receipts as delivered (without the back end's signature: nothing is witnessed); ids not
    /// pending are ignored.
    pub fn acknowledge(&self, ids: Vec<i64>) -> Result<(), KmerConsentError> {
        Ok(self.lock_writer()?.store.acknowledge(&ids)?)
    }

    /// Keeps the back end's signed acknowledgement of one of this store's records (a witness object,
    /// `kmer-consent countersign` shows the back end's side) and takes the record out of the outbox.
    /// From then on the record, and every record before it in the chain, cannot be rewritten on the
    /// device without `verify_history` saying so (as long as the witness is kept: deleting it too
    /// makes the record look unwitnessed), and imports are ordered against it by the back end's
    /// time. Needs the back end key given at open (`BackendKey` otherwise); a malformed or
    /// unsigned acknowledgement, or one for no record here, is `InvalidAcknowledgement`.
    pub fn acknowledge_signed(&self, acknowledgement_json: String) -> Result<(), KmerConsentError> {
        self.ensure_open()?;
        let key = self
            .backend_key
            .as_ref()
            .ok_or_else(|| Error::BackendKey("no back end key was configured at open".into()))?;
        let witness = Witness::parse(&acknowledgement_json).map_err(Error::Acknowledgement)?;
        witness.verify(key).map_err(Error::Acknowledgement)?;
        match self.lock_writer()?.store.add_witness(&witness)? {
            Some(_) => Ok(()),
            None => {
                Err(Error::Acknowledgement("no record of this store has that hash".into()).into())
            }
        }
    }

    /// Applies a decision another device made for the logged-in user: a receipt the app's back end
    /// countersigned (it carries the back end's witness, checked with the key given at open; without
    /// a key this is `BackendKey`). Verified in full first (`InvalidReceipt` otherwise, also for one
    /// dated after this device's clock: import it again once the clock is right). Then:
    /// - nothing here, an adoption at login, or a decision past its lifetime: it applies as it is
    ///   (source `Import`);
    /// - the decision here is witnessed: it applies when the back end saw it later and it is not
    ///   dated earlier, and is ignored when both say it is older;
    /// - otherwise (the decision here is not witnessed yet, or the two orders disagree) each
    ///   category keeps the more restrictive of the two choices (source `ImportMerged`), or nothing
    ///   is recorded when it would take nothing away.
    ///
    /// Never imported twice. Returns the snapshot published after it, or `None` when nothing was
    /// recorded.
    pub fn import_receipt(
        &self,
        receipt_json: String,
    ) -> Result<Option<ConsentSnapshot>, KmerConsentError> {
        Ok(self.import(&receipt_json)?)
    }

    /// Erasure: deletes the current subject's decisions, witnesses and pending receipts; consent
    /// returns to "no decision" for them. Other subjects' records are untouched.
    pub fn erase_subject(&self) -> Result<ConsentSnapshot, KmerConsentError> {
        let ((), gate) = self.change(|writer, _| {
            writer.store.erase(&writer.subject)?;
            let subject = writer.subject.clone();
            writer.held.remove(&subject);
            writer.set_latest(None);
            writer.marks = TimeMarks::default();
            Ok(())
        })?;
        Ok(gate.snapshot.clone())
    }

    /// Every decision of the current subject, oldest first, with when the back end witnessed each.
    pub fn history(&self) -> Result<Vec<ConsentRecord>, KmerConsentError> {
        let writer = self.lock_writer()?;
        let decisions = writer.store.history(&writer.subject)?;
        let witnessed = writer.store.witness_times()?;
        Ok(decisions
            .iter()
            .map(|d| ConsentRecord::new(d, witnessed.get(d.witness_hash()).copied()))
            .collect())
    }

    /// The banner's texts and categories for a device locale, toggles set to what is granted now.
    pub fn banner(&self, locale: String) -> Result<Banner, KmerConsentError> {
        Ok(page::banner(&*self.policy()?, &locale, self.granted_now()?))
    }

    /// The consent page for a WebView: one self-contained HTML document (inline CSS and JS, a strict
    /// Content-Security-Policy, no network) in the locale negotiated for `locale`, opening on
    /// `layer`, toggles set to what is granted now. The page posts the user's action as a JSON string
    /// to `window.KmerConsentBridge.postMessage` (Android) or
    /// `window.webkit.messageHandlers.kmerConsent` (iOS); hand that string to `apply_ui_message`.
    /// Render it afresh each time it is shown: it can be answered once, by this subject, for a day,
    /// and only while nothing else has been decided.
    pub fn consent_page(
        &self,
        locale: String,
        layer: ConsentPageLayer,
    ) -> Result<String, KmerConsentError> {
        let grants = self.granted_now()?;
        let key = self.page_key();
        let writer = self.lock_writer()?;
        // One policy for the texts and the token, even if an update lands meanwhile.
        let content = page::banner(&writer.policy.policy, &locale, grants);
        let token = match (key, writer.page_state()) {
            (Ok(key), Ok(state)) => {
                let shown = page::token::Shown {
                    policy_id: &writer.policy.policy.id,
                    revision: writer.policy.policy.revision,
                    locale: &content.locale,
                    layer,
                    state: &state,
                };
                page::token::issue(&key, shown, self.clock.now_ms())
            }
            // No key or no state: a token that never verifies; the page says so when answered.
            _ => String::from("0.x.x.unavailable"),
        };
        Ok(page::render(&content, layer, &token))
    }

    /// Applies a message from the consent page, validated as untrusted input: "accept all" and
    /// "reject all" record `banner_accept_all` / `banner_reject_all`, "continue without accepting"
    /// `banner_dismiss` (a refusal, from the banner only), "save" `settings_save`, and "close" (the
    /// preferences opened alone, left without saving) records nothing. A malformed, oversized or
    /// forged message, an action the page's layer does not offer, or a message from a page rendered
    /// for another subject, another policy text, before any later decision, or a day ago or more, is
    /// `InvalidUiMessage` and records nothing. Returns the status after it; the host dismisses the
    /// page on success. Returns the snapshot published after the decision, or `None` when the page
    /// was closed without one.
    pub fn apply_ui_message(
        &self,
        message: String,
    ) -> Result<Option<ConsentSnapshot>, KmerConsentError> {
        self.ensure_open()?;
        let parsed = page::message::parse(&message).map_err(Error::UiMessage)?;
        let key = self.page_key()?;
        let (failed, gate) = self.change(|writer, clock_ms| {
            // Checked under the writer lock, against the state the decision is recorded in.
            let state = writer.page_state()?;
            let issued = page::token::check(
                &key,
                &parsed.token,
                &writer.policy.policy.id,
                writer.policy.policy.revision,
                &state,
                clock_ms,
            )
            .map_err(Error::UiMessage)?;
            match rules::page::recorded(parsed.action, issued.layer).map_err(Error::UiMessage)? {
                // Nothing to record, but the page is answered: its token is spent (best effort: a
                // store that cannot count it leaves the token as it was, which grants nothing).
                None => {
                    let _ = writer.store.close_page();
                    Ok(None)
                }
                // The texts the user read are part of the record: the page's locale, not the device's.
                Some((source, grants)) => writer
                    .record(source, grants, Some(issued.locale), clock_ms)
                    .map(Some),
            }
        })?;
        match failed {
            None => Ok(None),
            Some(Some(error)) => Err(error.into()),
            Some(None) => Ok(Some(gate.snapshot.clone())),
        }
    }

    /// Reports the OS tracking authorization for this run (iOS: ATT's status at each launch; Android:
    /// `NotApplicable`). Until reported it is `NotDetermined`, and SDKs that need it stay denied.
    /// Returns the snapshot published after it.
    pub fn set_tracking_authorization(
        &self,
        status: TrackingAuthorization,
    ) -> Result<ConsentSnapshot, KmerConsentError> {
        let ((), gate) = self.change(|writer, _| {
            writer.tracking = status;
            Ok(())
        })?;
        Ok(gate.snapshot.clone())
    }

    /// Whether the app may show the system's App Tracking Transparency prompt now, given ATT's
    /// current status: only once the user has granted marketing here, and only while ATT has not been
    /// answered (`NotDetermined`). ATT is not consent: it never replaces the banner, and an SDK that
    /// needs it stays off unless its category is granted too.
    pub fn may_request_tracking_authorization(&self, system_status: TrackingAuthorization) -> bool {
        rules::may_request_tracking(self.is_granted(Category::Marketing), system_status)
    }

    /// Re-reads the store (another process may have written), writes a refusal the store could not
    /// take before, and re-applies the rules at the current time. Platform layers call it when the
    /// app comes to the foreground.
    pub fn refresh(&self) -> Result<ConsentSnapshot, KmerConsentError> {
        // Files replaced or removed under the store detach it here, and `change` reopens it.
        let _ = self.lock_writer()?.store.check_files();
        let ((), gate) = self.change(|writer, _| writer.reload())?;
        Ok(gate.snapshot.clone())
    }

    /// Refreshes only if another process has written to the store since the last look (one cheap
    /// SQLite read of `data_version`), or a refusal is waiting to be written. Returns the snapshot
    /// after the refresh, or `None` when there was nothing to re-read. `watch_for_changes` calls it
    /// on the manager's timer.
    pub fn refresh_if_changed(&self) -> Result<Option<ConsentSnapshot>, KmerConsentError> {
        let changed = {
            let mut writer = self.lock_writer()?;
            if writer.store.check_files().is_err() {
                // Replaced or removed under the store: the refresh reopens it.
                drop(writer);
                return self.refresh().map(Some);
            }
            let version = writer.store.data_version()?;
            let waiting = writer
                .held
                .values()
                .any(|list| list.iter().any(|h| h.write.is_some()));
            let changed = version != writer.data_version || waiting;
            writer.data_version = version;
            changed
        };
        if !changed {
            return Ok(None);
        }
        self.refresh().map(Some)
    }

    /// Looks for another process's writes (an app extension, a second process) every `period_ms`
    /// (taken as 10 ms to one day) on the manager's timer, so that its decisions reach this gate, and every
    /// listener, within that period. The platforms start it while the app is in the foreground and
    /// cancel the handle when it leaves. Fails with `Closed` after `shutdown`.
    pub fn watch_for_changes(&self, period_ms: u64) -> Result<Arc<TaskHandle>, KmerConsentError> {
        self.ensure_open()?;
        Ok(Arc::new(
            self.scheduler.watch(Duration::from_millis(period_ms)),
        ))
    }

    /// Connects the platform layer's copy of the gate (replacing any earlier one): it is told the
    /// current snapshot now, then every snapshot as it is published, synchronously and in order
    /// (see [`SnapshotMirror`]). Fails with `Closed` after `shutdown`.
    pub fn mirror_to(&self, mirror: Arc<dyn SnapshotMirror>) -> Result<(), KmerConsentError> {
        // Under the writer lock, so no gate is published between the first call and the next.
        let mut writer = self.lock_writer()?;
        tell_mirror(Some(&*mirror), &self.gate.load());
        writer.mirror = Some(mirror);
        Ok(())
    }

    /// Adds a listener. It first receives the current snapshot, then every change. Cancel the
    /// returned subscription to remove it.
    /// Fails with `Closed` after `shutdown`.
    pub fn add_listener(
        &self,
        listener: Arc<dyn ConsentListener>,
    ) -> Result<Arc<Subscription>, KmerConsentError> {
        self.ensure_open()?;
        // A gate gone stale while the timer slept is recomputed before it is replayed.
        self.current();
        let subscription = self.dispatcher.add_listener(listener);
        self.dispatcher.drain();
        Ok(Arc::new(subscription))
    }

    /// Drives an SDK from consent: `start` once it is allowed (at once if it already is), `stop` when
    /// it no longer is. Fails with `UnknownSdk` for an id the policy does not list.
    pub fn register_sdk(
        &self,
        sdk_id: String,
        lifecycle: Arc<dyn SdkLifecycle>,
    ) -> Result<Arc<Subscription>, KmerConsentError> {
        self.ensure_open()?;
        if !self.gate.load().snapshot.sdks.contains_key(&sdk_id) {
            return Err(Error::UnknownSdk(sdk_id).into());
        }
        // Never start an SDK from a gate gone stale while the timer slept.
        self.current();
        let subscription = self.dispatcher.register_sdk(sdk_id, lifecycle);
        self.dispatcher.drain();
        Ok(Arc::new(subscription))
    }
}
