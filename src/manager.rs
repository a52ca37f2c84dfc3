//! The exported `ConsentManager`: owns the store, applies the rules, publishes snapshots.
//!
//! Threading: one writer mutex serialises decisions and policy changes; each change computes a new
//! immutable [`Gate`] and swaps it in atomically. Readers (`can_start`, `check`, `is_granted`) load
//! the current gate without any lock, so they never wait for a write. Callbacks run after the writer
//! mutex is released (see [`crate::dispatch`]).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use arc_swap::ArcSwap;

use crate::banner::{self, Banner};
use crate::bridge::{self, UiAction};
use crate::category::{Category, Grants};
use crate::clock::{Clock, SystemClock};
use crate::dispatch::{ConsentListener, Dispatcher, SdkLifecycle, Subscription};
use crate::error::{ConsentError, Error, Result};
use crate::locale::negotiate;
use crate::page::{self, ConsentPageLayer};
use crate::policy::Policy;
use crate::proof::{self, SDK_VERSION};
use crate::receipt;
use crate::record::{ConsentRecord, Decision, DecisionSource};
use crate::rules::{self, TrackingAuthorization, Verdict};
use crate::snapshot::{ConsentSnapshot, ConsentStatus, Gate, Inputs};
use crate::store::{HistoryCheck, PolicyRow, Store};

/// A receipt waiting for the app to send it to its back end.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PendingReceipt {
    /// Pass it to `acknowledge` once the back end has it.
    pub id: i64,
    /// The receipt, as `export_proof` writes it.
    pub receipt_json: String,
}

/// How a manager is opened from Rust (tests, the CLI). The FFI constructor uses the defaults.
#[derive(Clone)]
pub struct OpenOptions {
    /// The time source (default: the device clock).
    pub clock: Arc<dyn Clock>,
    /// Whether reading the clock past an expiry or reminder is written to the store, so that moving
    /// the device clock back later cannot undo it. Default true; the CLI's `--now` on read-only
    /// commands turns it off so a look into the future leaves no trace.
    pub persist_clock_mark: bool,
    /// The app's version, recorded with each decision (proof of what the user saw).
    pub app_version: String,
    /// Caps the database file at this many pages (4 KiB each); a write past it fails with a
    /// storage error, as on a full disk. `None`: no cap beyond the disk's.
    pub max_database_pages: Option<u32>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            clock: Arc::new(SystemClock),
            persist_clock_mark: true,
            app_version: String::new(),
            max_database_pages: None,
        }
    }
}

/// The consent SDK: records the user's choices, answers whether each SDK may start, and tells the app
/// when that changes. Safe to use from any thread; keep one per database file.
#[derive(uniffi::Object)]
pub struct ConsentManager {
    writer: Mutex<Writer>,
    gate: ArcSwap<Gate>,
    dispatcher: Arc<Dispatcher>,
    clock: Arc<dyn Clock>,
    /// The latest time seen: time never runs backwards for the rules.
    clock_mark_ms: AtomicI64,
    /// Signs the tokens of the consent pages this store renders (see `bridge`): read or made on the
    /// first page, so opening costs nothing for it.
    ui_key: OnceLock<[u8; 32]>,
}

/// What only the writer touches.
struct Writer {
    store: Store,
    policy: Arc<Policy>,
    /// The policy as stored with each decision: its canonical JSON and hash.
    policy_row: Option<PolicyRow>,
    app_version: String,
    /// Whose decisions are in force: an account id, or `""` for the anonymous device.
    subject: String,
    /// The store's `data_version` when last looked at: another process wrote if it moved.
    data_version: i64,
    latest: Option<Decision>,
    locale: String,
    tracking: TrackingAuthorization,
    store_recovered: bool,
    sequence: u64,
    persist_clock_mark: bool,
    persisted_mark_ms: i64,
}

impl Writer {
    /// Appends a decision under the policy in force; `locale`: the one the user saw the texts in,
    /// when not the device's. On error nothing changes: the in-memory state never claims an unsaved
    /// decision.
    fn record(
        &mut self,
        source: DecisionSource,
        grants: Grants,
        locale: Option<String>,
        now: i64,
    ) -> Result<()> {
        let decision = Decision {
            id: 0,
            decided_at_ms: now,
            policy_id: self.policy.id.clone(),
            policy_revision: self.policy.revision,
            source,
            locale: locale.unwrap_or_else(|| self.locale.clone()),
            grants,
            sdks_shown: self.policy.sdk_ids(),
            policy_hash: self.policy_row.as_ref().map(|p| p.hash.clone()),
            sdk_version: SDK_VERSION.to_owned(),
            app_version: self.app_version.clone(),
            tracking_authorization: Some(self.tracking),
            subject: self.subject.clone(),
            origin_hash: None,
            prev_hash: String::new(),
            record_hash: String::new(),
        };
        let saved = self.store.record(decision, self.policy_row.as_ref())?;
        self.persisted_mark_ms = self.persisted_mark_ms.max(now);
        self.latest = Some(saved);
        Ok(())
    }

    fn compute(&mut self, now_ms: i64) -> Gate {
        self.persist_time(now_ms);
        self.sequence += 1;
        let inputs = Inputs {
            policy: &self.policy,
            latest: self.latest.as_ref(),
            tracking: self.tracking,
            locale: &self.locale,
            store_recovered: self.store_recovered,
        };
        Gate::compute(self.sequence, &inputs, now_ms)
    }

    /// Writes the clock mark when time has crossed an expiry or reminder since it was last written,
    /// so that a clock moved back after a restart cannot revive the decision.
    fn persist_time(&mut self, now_ms: i64) {
        if !self.persist_clock_mark || now_ms <= self.persisted_mark_ms {
            return;
        }
        let before = rules::evaluate(&self.policy, self.latest.as_ref(), self.persisted_mark_ms);
        if before
            .next_change_ms(self.persisted_mark_ms)
            .is_some_and(|t| t <= now_ms)
            // Best effort: if the disk refuses, the in-memory mark still holds for this run.
            && self.store.raise_clock_mark(now_ms).is_ok()
        {
            self.persisted_mark_ms = now_ms;
        }
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
        let policy = Policy::parse(policy_json)?;
        let policy_row = policy_row(&policy, policy_json);
        let opened = Store::open(
            database_path,
            options.clock.now_ms(),
            options.max_database_pages,
        )?;
        let locale = negotiate(locale, &policy);
        let mark = opened.latest.as_ref().map_or(opened.clock_mark_ms, |d| {
            d.decided_at_ms.max(opened.clock_mark_ms)
        });
        let mut writer = Writer {
            store: opened.store,
            policy: Arc::new(policy),
            policy_row,
            app_version: options.app_version,
            subject: String::new(),
            data_version: 0,
            latest: opened.latest,
            locale,
            tracking: TrackingAuthorization::NotDetermined,
            store_recovered: opened.recovered_from.is_some(),
            sequence: 0,
            persist_clock_mark: options.persist_clock_mark,
            persisted_mark_ms: mark,
        };
        writer.data_version = writer.store.data_version()?;
        let clock_mark_ms = AtomicI64::new(mark);
        let now = advance(&clock_mark_ms, options.clock.now_ms());
        let gate = Arc::new(writer.compute(now));
        Ok(Arc::new(ConsentManager {
            writer: Mutex::new(writer),
            gate: ArcSwap::new(Arc::clone(&gate)),
            dispatcher: Dispatcher::new(gate),
            clock: options.clock,
            clock_mark_ms,
            ui_key: OnceLock::new(),
        }))
    }

    /// Now, for the rules: the clock, but never earlier than a time already seen.
    fn now(&self) -> i64 {
        advance(&self.clock_mark_ms, self.clock.now_ms())
    }

    fn lock_writer(&self) -> MutexGuard<'_, Writer> {
        // No code path panics while holding it; if one ever did, the data is still consistent
        // because every change is computed before anything is replaced.
        self.writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Swaps in a gate computed by the writer and queues it for listeners.
    fn publish(&self, gate: Gate) -> Arc<Gate> {
        let gate = Arc::new(gate);
        self.gate.store(Arc::clone(&gate));
        self.dispatcher.publish(Arc::clone(&gate));
        gate
    }

    /// Recomputes under the writer lock with `change` applied, publishes when anything differs, then
    /// delivers callbacks with no lock held.
    fn change<T>(
        &self,
        change: impl FnOnce(&mut Writer, i64) -> Result<T>,
    ) -> Result<(T, Arc<Gate>)> {
        let result = {
            let mut writer = self.lock_writer();
            let now = self.now();
            let value = change(&mut writer, now)?;
            let gate = writer.compute(now);
            let current = self.gate.load_full();
            let gate = if gate.same_content(&current) {
                current
            } else {
                self.publish(gate)
            };
            (value, gate)
        };
        self.dispatcher.drain();
        Ok(result)
    }

    /// The current gate, recomputed first if time alone has changed it (expiry, reminder).
    fn current(&self) -> Arc<Gate> {
        let gate = self.gate.load_full();
        if !gate.is_stale(self.now()) {
            return gate;
        }
        match self.change(|_, _| Ok(())) {
            Ok(((), gate)) => gate,
            Err(_) => gate,
        }
    }

    fn record(&self, source: DecisionSource, grants: Grants) -> Result<ConsentStatus> {
        let ((), gate) = self.change(|writer, now| writer.record(source, grants, None, now))?;
        Ok(gate.snapshot.status.clone())
    }

    /// The key of this store's page tokens. A read-only store cannot keep one: its pages then verify
    /// in this process only. Not to be called with the writer locked.
    fn page_key(&self) -> [u8; 32] {
        *self.ui_key.get_or_init(|| {
            self.lock_writer()
                .store
                .ui_key()
                .unwrap_or_else(|_| bridge::random_key())
        })
    }

    /// The optional categories granted now.
    fn granted_now(&self) -> Grants {
        let gate = self.current();
        let mut grants = Grants::NONE;
        for category in Category::OPTIONAL {
            grants.set(
                category,
                gate.snapshot.status.categories.get(&category) == Some(&true),
            );
        }
        grants
    }

    /// The policy in use (Rust API: the CLI prints from it).
    pub fn policy(&self) -> Arc<Policy> {
        Arc::clone(&self.lock_writer().policy)
    }
}

/// The policy as stored with decisions: its canonical JSON and SHA-256.
fn policy_row(policy: &Policy, policy_json: &str) -> Option<PolicyRow> {
    proof::policy_fingerprint(policy_json).map(|(canonical_json, hash)| PolicyRow {
        hash,
        policy_id: policy.id.clone(),
        revision: policy.revision,
        canonical_json,
    })
}

/// Raises `mark` to `now_ms` and returns the later of the two.
fn advance(mark: &AtomicI64, now_ms: i64) -> i64 {
    let seen = mark.load(Ordering::Relaxed);
    if now_ms > seen {
        mark.fetch_max(now_ms, Ordering::Relaxed).max(now_ms)
    } else {
        seen
    }
}

#[uniffi::export]
impl ConsentManager {
    /// Opens the consent store at `database_path` (created if missing) with the app's policy JSON,
    /// the device locale (`fr-CM`, `en_US`, …) and the app's version (recorded with each decision).
    /// An unreadable database file is moved aside and a fresh one opened
    /// (`status().store_recovered`); a path that cannot be opened is a `Storage` error.
    #[uniffi::constructor]
    pub fn open(
        database_path: String,
        policy_json: String,
        locale: String,
        app_version: String,
    ) -> Result<Arc<ConsentManager>, ConsentError> {
        let options = OpenOptions {
            app_version,
            ..OpenOptions::default()
        };
        Ok(Self::open_with(
            Path::new(&database_path),
            &policy_json,
            &locale,
            options,
        )?)
    }

    /// Walks the whole consent history and checks every link of its hash chain: reports the first
    /// record that was changed, removed or moved behind the SDK's back.
    pub fn verify_history(&self) -> Result<HistoryCheck, ConsentError> {
        Ok(self.lock_writer().store.verify()?)
    }

    /// Where consent stands now: whether to show the banner and why, and each category's state.
    pub fn status(&self) -> ConsentStatus {
        self.current().snapshot.status.clone()
    }

    /// The current snapshot: the status and every SDK's verdict.
    pub fn snapshot(&self) -> ConsentSnapshot {
        self.current().snapshot.clone()
    }

    /// The user chose "Accept all".
    pub fn accept_all(&self) -> Result<ConsentStatus, ConsentError> {
        Ok(self.record(DecisionSource::AcceptAll, Grants::ALL)?)
    }

    /// The user chose "Reject all".
    pub fn reject_all(&self) -> Result<ConsentStatus, ConsentError> {
        Ok(self.record(DecisionSource::RejectAll, Grants::NONE)?)
    }

    /// The user saved a custom choice. Categories left out are refused; refusing essential is an
    /// error (`EssentialCannotBeRefused`) and records nothing.
    pub fn save(&self, choices: HashMap<Category, bool>) -> Result<ConsentStatus, ConsentError> {
        if choices.get(&Category::Essential) == Some(&false) {
            return Err(Error::EssentialCannotBeRefused.into());
        }
        let mut grants = Grants::NONE;
        for (category, granted) in choices {
            grants.set(category, granted);
        }
        Ok(self.record(DecisionSource::Save, grants)?)
    }

    /// The user withdrew consent: every optional category is refused from now on.
    pub fn withdraw(&self) -> Result<ConsentStatus, ConsentError> {
        Ok(self.record(DecisionSource::Withdraw, Grants::NONE)?)
    }

    /// The user closed the banner ("continue without accepting"): recorded as a refusal.
    pub fn dismiss(&self) -> Result<ConsentStatus, ConsentError> {
        Ok(self.record(DecisionSource::Dismiss, Grants::NONE)?)
    }

    /// Replaces the policy with a newer one (same id, revision not lower). A higher revision asks
    /// for a new prompt; SDKs added since the user decided stay denied until they do.
    pub fn update_policy(&self, policy_json: String) -> Result<ConsentStatus, ConsentError> {
        let policy = Policy::parse(&policy_json)?;
        let ((), gate) = self.change(|writer, _| {
            if policy.id != writer.policy.id {
                return Err(Error::PolicyUpdate(format!(
                    "the new policy's id {:?} is not the current {:?}",
                    policy.id, writer.policy.id
                )));
            }
            if policy.revision < writer.policy.revision {
                return Err(Error::PolicyUpdate(format!(
                    "revision {} is older than the current {}",
                    policy.revision, writer.policy.revision
                )));
            }
            writer.locale = negotiate(&writer.locale, &policy);
            writer.policy_row = policy_row(&policy, &policy_json);
            writer.policy = Arc::new(policy);
            Ok(())
        })?;
        Ok(gate.snapshot.status.clone())
    }

    /// Sets the device locale decisions are recorded in (after negotiation); returns the chosen one.
    pub fn set_locale(&self, locale: String) -> String {
        let result = self.change(|writer, _| {
            writer.locale = negotiate(&locale, &writer.policy);
            Ok(())
        });
        match result {
            Ok(((), gate)) => gate.snapshot.status.locale.clone(),
            Err(_) => self.gate.load().snapshot.status.locale.clone(),
        }
    }

    /// Whether `category` is granted now. Essential always is.
    pub fn is_granted(&self, category: Category) -> bool {
        let gate = self.gate.load();
        let now = self.now();
        category == Category::Essential
            || (gate.snapshot.status.categories.get(&category) == Some(&true)
                && gate.snapshot.status.expires_at_ms.is_some_and(|t| now < t))
    }

    /// Whether the SDK may start now. Answers from memory without locking; unknown ids and anything
    /// uncertain answer false.
    pub fn can_start(&self, sdk_id: String) -> bool {
        self.check(sdk_id).allowed
    }

    /// The verdict for the SDK with its reason.
    pub fn check(&self, sdk_id: String) -> Verdict {
        self.gate.load().verdict(&sdk_id, self.now())
    }

    /// The consent receipt of the decision in force (or the latest one), as JSON shaped after
    /// ISO/IEC TS 27560 and the Kantara Consent Receipt; `None` before any decision. A server can check
    /// it without the device (`kmer-consent verify-receipt`).
    pub fn export_proof(&self) -> Option<String> {
        let writer = self.lock_writer();
        let latest = writer.latest.as_ref()?;
        Some(receipt::receipt(&writer.policy, latest).to_string())
    }

    /// Says who is logged in: `Some(account_id)` after login, `None` after logout (the anonymous
    /// device). Decisions are per subject. A user with no decision of their own adopts the device's
    /// decision in force (recorded for them with source `SubjectLink`, so they are not asked twice).
    /// Call it after `open` at each launch. The account id is stored as given and never logged.
    pub fn set_subject(&self, account_id: Option<String>) -> Result<ConsentStatus, ConsentError> {
        let subject = match account_id {
            None => String::new(),
            Some(id) if id.is_empty() || id.len() > 512 => {
                return Err(Error::Subject("an account id is 1 to 512 bytes".into()).into())
            }
            Some(id) => id,
        };
        // The usual launch (the same user as the store was opened or last set for): nothing to re-read.
        if self.lock_writer().subject == subject {
            return Ok(self.status());
        }
        let ((), gate) = self.change(|writer, now| {
            let mut latest = writer.store.latest_decision(&subject)?;
            if latest.is_none() && !subject.is_empty() {
                let device = writer.store.latest_decision("")?;
                let in_force = device.filter(|d| {
                    matches!(
                        rules::evaluate(&writer.policy, Some(d), now).standing,
                        rules::Standing::Current(_)
                    )
                });
                if let Some(d) = in_force {
                    let adopted = Decision {
                        id: 0,
                        source: DecisionSource::SubjectLink,
                        subject: subject.clone(),
                        origin_hash: None,
                        // The grant keeps the device decision's age: adopting it does not extend it.
                        sdk_version: SDK_VERSION.to_owned(),
                        app_version: writer.app_version.clone(),
                        ..d
                    };
                    latest = Some(writer.store.record(adopted, None)?);
                }
            }
            writer.subject = subject;
            writer.latest = latest;
            Ok(())
        })?;
        Ok(gate.snapshot.status.clone())
    }

    /// Up to `limit` receipts of decisions the app's back end has not acknowledged yet, oldest
    /// first. They stay pending across restarts until `acknowledge`d: delivery is at least once.
    pub fn pending_receipts(&self, limit: u32) -> Result<Vec<PendingReceipt>, ConsentError> {
        let writer = self.lock_writer();
        let pending = writer.store.pending(limit)?;
        Ok(pending
            .iter()
            .map(|d| PendingReceipt {
                id: d.id,
                receipt_json: receipt::receipt(&writer.policy, d).to_string(),
            })
            .collect())
    }

    /// Marks receipts as delivered; ids not pending are ignored.
    pub fn acknowledge(&self, ids: Vec<i64>) -> Result<(), ConsentError> {
        Ok(self.lock_writer().store.acknowledge(&ids)?)
    }

    /// Applies a decision another device made for the logged-in user (a receipt from the app's
    /// back end): verified first, applied only if newer than the local decision, recorded with
    /// source `Import`, never twice. Returns whether it was applied.
    pub fn import_receipt(&self, receipt_json: String) -> Result<bool, ConsentError> {
        let check = receipt::verify_receipt(&receipt_json).map_err(Error::Receipt)?;
        let remote = receipt::record_from_receipt(&receipt_json).map_err(Error::Receipt)?;
        let (applied, _) = self.change(|writer, now| {
            if writer.subject.is_empty() || remote.subject != writer.subject {
                return Err(Error::Receipt("it is not for the logged-in user".into()));
            }
            if remote.policy_id != writer.policy.id {
                return Err(Error::Receipt(format!(
                    "it is for policy {:?}, not {:?}",
                    remote.policy_id, writer.policy.id
                )));
            }
            // A device whose clock runs ahead must not push this one's decisions into expiry.
            if remote.decided_at_ms > now.saturating_add(crate::clock::DAY_MS) {
                return Err(Error::Receipt(
                    "it is dated more than a day in the future".into(),
                ));
            }
            // The in-memory comparison first: the store is asked only about a newer receipt.
            let not_newer = writer
                .latest
                .as_ref()
                .is_some_and(|l| l.decided_at_ms >= remote.decided_at_ms);
            if not_newer || writer.store.has_imported(&check.receipt_id)? {
                return Ok(false);
            }
            let imported = Decision {
                id: 0,
                source: DecisionSource::Import,
                origin_hash: Some(check.receipt_id.clone()),
                ..remote.clone()
            };
            // Store the policy text when it is the one this app ships, as for a local decision.
            let policy = writer
                .policy_row
                .as_ref()
                .filter(|p| imported.policy_hash.as_deref() == Some(p.hash.as_str()));
            writer.latest = Some(writer.store.record(imported, policy)?);
            Ok(true)
        })?;
        Ok(applied)
    }

    /// Erasure: deletes the current subject's decisions and pending receipts; consent returns to
    /// "no decision" for them. Other subjects' records are untouched.
    pub fn erase_subject(&self) -> Result<ConsentStatus, ConsentError> {
        let ((), gate) = self.change(|writer, _| {
            writer.store.erase(&writer.subject)?;
            writer.latest = None;
            Ok(())
        })?;
        Ok(gate.snapshot.status.clone())
    }

    /// Every decision of the current subject, oldest first.
    pub fn history(&self) -> Result<Vec<ConsentRecord>, ConsentError> {
        let writer = self.lock_writer();
        let decisions = writer.store.history(&writer.subject)?;
        Ok(decisions.iter().map(ConsentRecord::from).collect())
    }

    /// The banner's texts and categories for a device locale, toggles set to what is granted now.
    pub fn banner(&self, locale: String) -> Banner {
        banner::banner(&self.policy(), &locale, self.granted_now())
    }

    /// The consent page for a WebView: one self-contained HTML document (inline CSS and JS, a strict
    /// Content-Security-Policy, no network) in the locale negotiated for `locale`, opening on
    /// `layer`, toggles set to what is granted now. The page posts the user's action as a JSON string
    /// to `window.KmerConsentBridge.postMessage` (Android) or
    /// `window.webkit.messageHandlers.kmerConsent` (iOS); hand that string to `apply_ui_message`.
    /// Render it afresh each time it is shown: its token is valid for a day and for this policy only.
    pub fn consent_page(&self, locale: String, layer: ConsentPageLayer) -> String {
        // One policy for the texts and the token, even if an update lands meanwhile.
        let policy = self.policy();
        let content = banner::banner(&policy, &locale, self.granted_now());
        let shown = bridge::Shown {
            policy_id: &policy.id,
            revision: policy.revision,
            locale: &content.locale,
            layer,
        };
        let token = bridge::issue(&self.page_key(), shown, self.now());
        page::render(&content, layer, &token)
    }

    /// Applies a message from the consent page, validated as untrusted input: "accept all" and
    /// "reject all" record `banner_accept_all` / `banner_reject_all`, "continue without accepting"
    /// `banner_dismiss` (a refusal, from the banner only), "save" `settings_save`, and "close" (the
    /// preferences opened alone, left without saving) records nothing. A malformed, oversized or
    /// forged message, an action the page's layer does not offer, or a message from a page rendered
    /// for another policy revision or over a day ago, is `InvalidUiMessage` and records nothing.
    /// Returns the status after it; the host dismisses the page on success.
    pub fn apply_ui_message(&self, message: String) -> Result<ConsentStatus, ConsentError> {
        let parsed = bridge::parse(&message).map_err(Error::UiMessage)?;
        let key = self.page_key();
        let ((), gate) = self.change(|writer, now| {
            // Checked under the writer lock, against the policy the decision is recorded under.
            let (locale, layer) = bridge::check(
                &key,
                &parsed.token,
                &writer.policy.id,
                writer.policy.revision,
                now,
            )
            .map_err(Error::UiMessage)?;
            let (source, grants) = match (parsed.action, layer) {
                (UiAction::AcceptAll, _) => (DecisionSource::BannerAcceptAll, Grants::ALL),
                (UiAction::RejectAll, _) => (DecisionSource::BannerRejectAll, Grants::NONE),
                (UiAction::Save(grants), _) => (DecisionSource::SettingsSave, grants),
                (UiAction::Dismiss, ConsentPageLayer::Banner) => {
                    (DecisionSource::BannerDismiss, Grants::NONE)
                }
                (UiAction::Close, ConsentPageLayer::Preferences) => return Ok(()),
                (UiAction::Dismiss | UiAction::Close, _) => {
                    return Err(Error::UiMessage(
                        "this action is not on the page that was shown".into(),
                    ))
                }
            };
            // The texts the user read are part of the record: the page's locale, not the device's.
            writer.record(source, grants, Some(locale), now)
        })?;
        Ok(gate.snapshot.status.clone())
    }

    /// Reports the OS tracking authorization for this run (iOS: ATT's status at each launch; Android:
    /// `NotApplicable`). Until reported it is `NotDetermined`, and SDKs that need it stay denied.
    pub fn set_tracking_authorization(&self, status: TrackingAuthorization) {
        // Cannot fail: the closure does no I/O.
        let _ = self.change(|writer, _| {
            writer.tracking = status;
            Ok(())
        });
    }

    /// Re-reads the store (another process may have written) and re-applies the rules at the
    /// current time. Platform layers call it when the app comes to the foreground.
    pub fn refresh(&self) -> Result<ConsentStatus, ConsentError> {
        let ((), gate) = self.change(|writer, _| {
            writer.latest = writer.store.latest_decision(&writer.subject)?;
            Ok(())
        })?;
        Ok(gate.snapshot.status.clone())
    }

    /// Refreshes only if another process has written to the store since the last look (one cheap
    /// SQLite read of `data_version`). Returns whether it refreshed. The platform layers call it on
    /// a timer while the app is in the foreground, so another process's decision reaches this
    /// process's gate within that period.
    pub fn refresh_if_changed(&self) -> Result<bool, ConsentError> {
        let changed = {
            let mut writer = self.lock_writer();
            let version = writer.store.data_version()?;
            let changed = version != writer.data_version;
            writer.data_version = version;
            changed
        };
        if changed {
            self.refresh()?;
        }
        Ok(changed)
    }

    /// Adds a listener. It first receives the current snapshot, then every change. Cancel the
    /// returned subscription to remove it.
    pub fn add_listener(&self, listener: Arc<dyn ConsentListener>) -> Arc<Subscription> {
        let subscription = self.dispatcher.add_listener(listener);
        self.dispatcher.drain();
        Arc::new(subscription)
    }

    /// Drives an SDK from consent: `start` once it is allowed (at once if it already is), `stop` when
    /// it no longer is. Fails with `UnknownSdk` for an id the policy does not list.
    pub fn register_sdk(
        &self,
        sdk_id: String,
        lifecycle: Arc<dyn SdkLifecycle>,
    ) -> Result<Arc<Subscription>, ConsentError> {
        if !self.gate.load().snapshot.sdks.contains_key(&sdk_id) {
            return Err(Error::UnknownSdk(sdk_id).into());
        }
        let subscription = self.dispatcher.register_sdk(sdk_id, lifecycle);
        self.dispatcher.drain();
        Ok(Arc::new(subscription))
    }
}
