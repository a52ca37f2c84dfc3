//! `kmer-consent`: the consent SDK from a terminal. Runs the bundled demo, checks policies, and lets
//! QA drive and inspect a consent store, at any date (`--now`).

/// `println!` that ignores a closed stdout (`kmer-consent … | head`) instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod backend;
mod demo;
mod output;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use kmer_consent::{
    Category, ConsentManager, ConsentPageLayer, KmerConsentError, ManualClock, OpenOptions, Policy,
    SystemClock, TrackingAuthorization, MAX_ACKNOWLEDGEMENT_BYTES, MAX_POLICY_BYTES,
    MAX_RECEIPT_BYTES,
};

/// The KmerOccase policy, bundled for `demo`.
pub const BUNDLED_POLICY: &str = include_str!("../../policies/kmeroccase.json");

#[derive(Parser)]
#[command(
    name = "kmer-consent",
    version,
    about = "Drive and inspect a KmerConsent store: the SDK's rules, from a terminal.",
    after_help = "Exit codes: 0 success (check: allowed), 1 invalid input or storage error, \
                  2 usage error, 3 check denied."
)]
struct Cli {
    /// The consent database file (created if missing).
    #[arg(long, global = true, value_name = "PATH")]
    db: Option<PathBuf>,
    /// The policy JSON file.
    #[arg(long, global = true, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Pretend it is this time (RFC 3339, e.g. 2027-12-31T10:00:00Z).
    #[arg(long, global = true, value_name = "RFC3339", value_parser = output::parse_time)]
    now: Option<i64>,
    /// The tracking authorization for this run, as iOS ATT would report it.
    #[arg(long, global = true, value_name = "STATUS", default_value = "not_applicable",
          value_parser = parse_att)]
    att: TrackingAuthorization,
    /// The app's back end's Ed25519 public key: 64 hex digits, or a file holding them (`keygen`
    /// writes FILE.pub). Imports, signed acknowledgements and `verify-receipt` of a countersigned
    /// receipt use it.
    #[arg(long, global = true, value_name = "KEY|FILE")]
    backend_key: Option<String>,
    /// Who is logged in for this run (an account id); default: the anonymous device.
    #[arg(long, global = true, value_name = "ACCOUNT")]
    subject: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// Every command: those that need no store, and those that open the one named by --db with --policy.
#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    Alone(AloneCommand),
    #[command(flatten)]
    Store(StoreCommand),
}

/// The commands that open no store (`demo` makes its own; `hold-write-lock` only locks the file).
#[derive(Subcommand)]
enum AloneCommand {
    /// Walk the bundled KmerOccase policy end to end in a temporary store (or --db).
    Demo {
        /// The banner's language.
        #[arg(long, default_value = "fr", value_parser = ["fr", "en"])]
        lang: String,
    },
    /// Validate policies, and compare one with what a store's users decided on.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// IAB TCF tools.
    Tcf {
        #[command(subcommand)]
        command: TcfCommand,
    },
    /// Check a receipt with nothing but its contents (and, with --backend-key, the back end's
    /// signature in it): exit 0 if it holds, 1 saying why not.
    VerifyReceipt {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// The back end's side: make an Ed25519 key pair (FILE: the secret, FILE.pub: the public key).
    Keygen {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// The back end's side: check a receipt and sign it as witnessed now (or at --at); prints the
    /// countersigned receipt (what other devices import); --ack-out writes the acknowledgement the
    /// sending device keeps.
    Countersign {
        /// The secret key file `keygen` wrote.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The back end's time to sign (RFC 3339; default: now).
        #[arg(long, value_name = "RFC3339", value_parser = output::parse_time)]
        at: Option<i64>,
        #[arg(long, value_name = "FILE")]
        ack_out: Option<PathBuf>,
        #[arg(value_name = "RECEIPT_FILE")]
        file: PathBuf,
    },
    /// QA: hold the store's write lock from this process for MS milliseconds (prints "locked"
    /// once held), as another busy process would; the tests use it to make writes fail.
    #[command(hide = true)]
    HoldWriteLock {
        #[arg(long, value_name = "MS")]
        for_ms: u64,
    },
}

/// The commands that open the store named by --db with --policy: each is a read or a write, by its
/// type, and the store is opened for that.
#[derive(Subcommand)]
enum StoreCommand {
    #[command(flatten)]
    Read(ReadCommand),
    #[command(flatten)]
    Write(WriteCommand),
}

/// Store commands that record nothing: at another date (`--now`) they leave no trace in the store.
#[derive(Subcommand)]
enum ReadCommand {
    /// Where consent stands: prompt needed and why, each category, dates.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// May this SDK start? Exit 0 if allowed, 3 if not; the reason on stdout.
    Check {
        #[arg(value_name = "SDK_ID")]
        sdk_id: String,
    },
    /// Every recorded decision, oldest first.
    History {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check the history's hash chain: exit 0 if intact, 1 naming the first broken record.
    Verify,
    /// Print the consent receipt of the decision in force (JSON, ISO/IEC TS 27560-shaped).
    Export,
    /// The receipts waiting for the back end, oldest first, as JSON: [{"id": …, "receipt": {…}}].
    Pending {
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// The banner's texts and categories in a language.
    Banner {
        /// A device language tag (fr-CM, en_US, …); default: the policy's default.
        #[arg(long, value_name = "TAG")]
        lang: Option<String>,
    },
    /// The consent page the apps show in a WebView (one self-contained HTML document), on stdout:
    /// `ui --lang en > consent.html`.
    Ui {
        /// A device language tag (fr-CM, en_US, …); default: the policy's default.
        #[arg(long, value_name = "TAG")]
        lang: Option<String>,
        /// The layer it opens on.
        #[arg(long, value_enum, default_value_t = Layer::Banner)]
        layer: Layer,
    },
}

/// Store commands that record decisions (or a back end's acknowledgement).
#[derive(Subcommand)]
enum WriteCommand {
    /// Record "Accept all".
    AcceptAll,
    /// Record "Reject all".
    RejectAll,
    /// Record a withdrawal of consent.
    Withdraw,
    /// Record the banner being closed ("continue without accepting": a refusal).
    Dismiss,
    /// Record a custom choice, e.g. `set statistics=on marketing=off`; unnamed categories keep their
    /// current state.
    Set {
        #[arg(required = true, value_name = "CATEGORY=on|off")]
        choices: Vec<String>,
    },
    /// QA: record COUNT decisions in a loop, printing each id once the call has returned (the crash
    /// tests kill this process at random moments).
    #[command(hide = true)]
    RecordLoop {
        #[arg(value_name = "COUNT")]
        count: u64,
    },
    /// Keep the back end's signed acknowledgement of a record (a witness object, from
    /// `countersign --ack-out`); needs --backend-key.
    Acknowledge {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Apply another device's decision: a receipt the back end countersigned; needs --backend-key.
    Import {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Apply a message the consent page posted through its bridge (JSON): record the decision it
    /// carries. Exit 1, recording nothing, if the message is malformed or its page token is not this
    /// store's for the policy in force.
    ApplyUiMessage {
        #[arg(value_name = "JSON")]
        message: String,
    },
}

/// `ui --layer`: the layer the consent page opens on.
#[derive(Clone, Copy, ValueEnum)]
enum Layer {
    /// The banner.
    Banner,
    /// The preferences alone ("Cookie management").
    Preferences,
}

impl From<Layer> for ConsentPageLayer {
    fn from(layer: Layer) -> Self {
        match layer {
            Layer::Banner => ConsentPageLayer::Banner,
            Layer::Preferences => ConsentPageLayer::Preferences,
        }
    }
}

#[derive(Subcommand)]
enum TcfCommand {
    /// Decode a TC string: exit 0 and its fields, or 1 if it is malformed.
    Decode {
        #[arg(value_name = "STRING")]
        tc_string: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate a policy file: exit 0 if valid, 1 with the offending field if not. With --against,
    /// also compare it with every text of the same policy the store's users decided on: exit 1 if
    /// it changes one without a new revision, or rolls one back (those users would be asked again).
    Check {
        file: PathBuf,
        #[arg(long, value_name = "DB")]
        against: Option<PathBuf>,
    },
}

fn parse_att(s: &str) -> Result<TrackingAuthorization, String> {
    TrackingAuthorization::parse(s).ok_or_else(|| {
        "expected not_determined, restricted, denied, authorized or not_applicable".to_owned()
    })
}

/// A failure the CLI reports: invalid input or storage (exit 1), or a denied check (exit 3).
pub enum Failure {
    Invalid(String),
    Denied,
    /// `verify` found the history broken (exit 1, the record named on stdout).
    Broken,
}

impl From<KmerConsentError> for Failure {
    fn from(e: KmerConsentError) -> Self {
        Failure::Invalid(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Invalid(message)) => {
            eprintln!("kmer-consent: {message}");
            ExitCode::from(1)
        }
        Err(Failure::Denied) => ExitCode::from(3),
        Err(Failure::Broken) => ExitCode::from(1),
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::Alone(command) => alone(&cli, command),
        Command::Store(StoreCommand::Read(command)) => {
            let manager = open_store(&cli, false)?;
            read(&manager, command)
        }
        Command::Store(StoreCommand::Write(command)) => {
            let manager = open_store(&cli, true)?;
            write(&manager, command)
        }
    }
}

fn alone(cli: &Cli, command: &AloneCommand) -> Result<(), Failure> {
    match command {
        AloneCommand::Demo { lang } => demo::run(cli.db.as_deref(), lang, cli.att),
        AloneCommand::Policy {
            command: PolicyCommand::Check { file, against },
        } => check_policy(file, against.as_deref()),
        AloneCommand::VerifyReceipt { file } => {
            let json = read_bounded(file, MAX_RECEIPT_BYTES)?;
            let key = cli
                .backend_key
                .as_deref()
                .map(backend::public_key)
                .transpose()?;
            let checked = match &key {
                Some(key) => kmer_consent::verify_receipt_with_key(&json, key),
                None => kmer_consent::verify_receipt(&json),
            };
            let check = checked.map_err(|e| {
                Failure::Invalid(format!("{}: receipt does not verify: {e}", file.display()))
            })?;
            let witness = match (check.witnessed_at_ms, check.witness_verified) {
                (Some(at), true) => {
                    format!("; witnessed by the back end at {}", output::format_time(at))
                }
                (Some(_), false) => "; a back end witness, not checked (no --backend-key)".into(),
                (None, _) => "; not witnessed".into(),
            };
            say!(
                "valid: receipt {} ({} at {}){witness}",
                check.receipt_id,
                check.event,
                check.time_utc
            );
            Ok(())
        }
        AloneCommand::Keygen { out } => backend::keygen(out),
        AloneCommand::Countersign {
            key,
            at,
            ack_out,
            file,
        } => backend::countersign(key, *at, ack_out.as_deref(), file),
        AloneCommand::Tcf {
            command: TcfCommand::Decode { tc_string, json },
        } => {
            let model = kmer_consent::tcf::TcModel::decode(tc_string)
                .map_err(|e| Failure::Invalid(format!("not a valid TC string: {e}")))?;
            output::tc_model(&model, *json);
            Ok(())
        }
        AloneCommand::HoldWriteLock { for_ms } => {
            let Some(db) = &cli.db else {
                return Err(Failure::Invalid("hold-write-lock needs --db".into()));
            };
            backend::hold_write_lock(db, *for_ms)
        }
    }
}

fn check_policy(file: &Path, against: Option<&Path>) -> Result<(), Failure> {
    let json = read_policy(file)?;
    let policy =
        Policy::parse(&json).map_err(|e| Failure::Invalid(format!("{}: {e}", file.display())))?;
    say!(
        "{}: valid: policy {:?} revision {}, locales {}, {} SDKs",
        file.display(),
        policy.id,
        policy.revision,
        policy.locales.join(", "),
        policy.sdks.len()
    );
    let Some(db) = against else {
        return Ok(());
    };
    if !db.is_file() {
        return Err(Failure::Invalid(format!(
            "{}: no such database",
            db.display()
        )));
    }
    let stored = kmer_consent::check_policy_against(db, &json).map_err(|e| {
        Failure::Invalid(format!("{}: {}", db.display(), KmerConsentError::from(e)))
    })?;
    if stored.is_empty() {
        say!(
            "{}: no decision was made on any text of this policy yet",
            db.display()
        );
    }
    for text in &stored {
        let verdict = match text.relation {
            "same" => "the same text: decisions made on it stay in force".to_owned(),
            "newer" => format!(
                "revision {} is newer: users who decided on it are asked again (policy_changed) and keep only what they saw",
                policy.revision
            ),
            "edited_in_place" => "PROBLEM: same revision, other content: those users would be asked again (policy_edited_in_place); give the change a new revision".to_owned(),
            _ => format!(
                "PROBLEM: revision {} is older: those users would be asked again (policy_rolled_back)",
                policy.revision
            ),
        };
        say!(
            "stored revision {} ({}…): {verdict}",
            text.revision,
            text.hash.get(..12).unwrap_or(&text.hash)
        );
        for change in &text.changes {
            let mark = if change.widens { "widens" } else { "      " };
            say!("  {mark}  {}", change.what);
        }
    }
    if stored.iter().any(|t| t.is_problem()) {
        return Err(Failure::Broken);
    }
    Ok(())
}

fn read_policy(file: &Path) -> Result<String, Failure> {
    read_bounded(file, MAX_POLICY_BYTES)
}

/// Reads a UTF-8 file of at most `limit` bytes, and not a byte more: `/dev/zero` or a huge file is
/// refused once the limit is passed, never read to the end.
pub fn read_bounded(file: &Path, limit: usize) -> Result<String, Failure> {
    use std::io::Read;
    let cannot =
        |e: std::io::Error| Failure::Invalid(format!("cannot read {}: {e}", file.display()));
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .map_err(cannot)?
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() > limit {
        return Err(Failure::Invalid(format!(
            "{}: larger than the {limit} bytes allowed",
            file.display()
        )));
    }
    String::from_utf8(bytes)
        .map_err(|_| Failure::Invalid(format!("{}: not UTF-8 text", file.display())))
}

/// Recorded as the "app version" of decisions made from the CLI.
fn cli_version() -> String {
    format!("kmer-consent-cli {}", env!("CARGO_PKG_VERSION"))
}

/// Opens the store named by `--db` with `--policy`, at `--now`, with `--att` and `--backend-key`.
/// `writes`: for a `WriteCommand`; a `ReadCommand` at `--now` keeps no time mark of that date.
fn open_store(cli: &Cli, writes: bool) -> Result<Arc<ConsentManager>, Failure> {
    let (Some(db), Some(policy)) = (&cli.db, &cli.policy) else {
        Cli::command()
            .error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "this command needs --db PATH and --policy FILE",
            )
            .exit();
    };
    let json = read_policy(policy)?;
    let backend_public_key = cli
        .backend_key
        .as_deref()
        .map(backend::public_key_hex)
        .transpose()?;
    let options = match cli.now {
        // A look at another date from a read-only command must leave no trace in the store.
        Some(now) => OpenOptions {
            clock: Arc::new(ManualClock::new(now)),
            persist_time_marks: writes,
            app_version: cli_version(),
            max_database_pages: None,
            backend_public_key: backend_public_key.clone(),
            tracking_authorization: cli.att,
        },
        None => OpenOptions {
            clock: Arc::new(SystemClock),
            persist_time_marks: true,
            app_version: cli_version(),
            max_database_pages: None,
            backend_public_key: backend_public_key.clone(),
            tracking_authorization: cli.att,
        },
    };
    // No device locale here: "" negotiates to the policy's default.
    let manager = ConsentManager::open_with(db, &json, "", options)
        .map_err(|e| Failure::from(KmerConsentError::from(e)))?;
    if cli.subject.is_some() {
        manager.set_subject(cli.subject.clone())?;
    }
    if manager.status().store_recovered {
        eprintln!(
            "kmer-consent: warning: {} was unreadable; it was moved aside and a fresh store created",
            db.display()
        );
    }
    Ok(manager)
}

fn read(m: &ConsentManager, command: &ReadCommand) -> Result<(), Failure> {
    match command {
        ReadCommand::Status { json } => output::status(&m.snapshot(), *json),
        ReadCommand::Check { sdk_id } => {
            let verdict = m.check(sdk_id.clone());
            let word = if verdict.allowed { "allowed" } else { "denied" };
            say!("{word}: {}", verdict.reason.as_str());
            if !verdict.allowed {
                return Err(Failure::Denied);
            }
        }
        ReadCommand::History { json } => output::history(&m.history()?, *json),
        ReadCommand::Export => match m.export_proof()? {
            Some(receipt) => {
                let value: serde_json::Value =
                    serde_json::from_str(&receipt).map_err(|e| Failure::Invalid(e.to_string()))?;
                say!("{value:#}");
            }
            None => {
                return Err(Failure::Invalid(
                    "no decision recorded yet: nothing to export".into(),
                ))
            }
        },
        ReadCommand::Verify => {
            let check = m.verify_history()?;
            if check.intact {
                let witnessed = match (check.last_witnessed_record, check.last_witnessed_at_ms) {
                    (Some(id), Some(at)) => format!(
                        "; {} witnessed by the back end, the last record #{id} at {}",
                        check.witnessed_records,
                        output::format_time(at)
                    ),
                    _ => "; none witnessed by the back end".to_owned(),
                };
                say!(
                    "intact: {} records, every link verified{witnessed}",
                    check.records
                );
            } else {
                say!(
                    "broken at record {}: {} ({} records verified before it)",
                    check.first_broken_record.unwrap_or_default(),
                    check.problem.unwrap_or_default(),
                    check.records
                );
                return Err(Failure::Broken);
            }
        }
        ReadCommand::Banner { lang } => {
            let policy = m.policy()?;
            let lang = lang
                .clone()
                .unwrap_or_else(|| policy.default_locale.clone());
            output::banner(&m.banner(lang)?);
        }
        ReadCommand::Ui { lang, layer } => {
            let lang = match lang {
                Some(lang) => lang.clone(),
                None => m.policy()?.default_locale.clone(),
            };
            let page = m.consent_page(lang, (*layer).into())?;
            say!("{}", page.trim_end());
        }
        ReadCommand::Pending { limit } => {
            let pending: Vec<serde_json::Value> = m
                .pending_receipts(*limit)?
                .into_iter()
                .map(|p| {
                    let receipt: serde_json::Value =
                        serde_json::from_str(&p.receipt_json).unwrap_or_default();
                    serde_json::json!({"id": p.id, "receipt": receipt})
                })
                .collect();
            say!("{:#}", serde_json::Value::Array(pending));
        }
    }
    Ok(())
}

fn write(m: &ConsentManager, command: &WriteCommand) -> Result<(), Failure> {
    match command {
        WriteCommand::AcceptAll => recorded(&m.accept_all()?.status)?,
        WriteCommand::RejectAll => recorded(&m.reject_all()?.status)?,
        WriteCommand::Withdraw => recorded(&m.withdraw()?.status)?,
        WriteCommand::Dismiss => recorded(&m.dismiss()?.status)?,
        WriteCommand::Set { choices } => {
            let mut categories: HashMap<Category, bool> = m.status().categories;
            for choice in choices {
                let (category, granted) = parse_choice(choice)?;
                categories.insert(category, granted);
            }
            recorded(&m.save(categories)?.status)?
        }
        WriteCommand::RecordLoop { count } => {
            for i in 0..*count {
                let on = i % 2 == 0;
                m.save([(Category::Statistics, on), (Category::Marketing, !on)].into())?;
                // Printed only after the call returned: the decision is confirmed.
                say!("recorded {}", i + 1);
            }
        }
        WriteCommand::ApplyUiMessage { message } => {
            // "close" records nothing: the core says so by returning no snapshot.
            match m.apply_ui_message(message.clone())? {
                None => say!("Closed: nothing recorded."),
                Some(snapshot) => recorded(&snapshot.status)?,
            }
        }
        WriteCommand::Acknowledge { file } => {
            m.acknowledge_signed(read_bounded(file, MAX_ACKNOWLEDGEMENT_BYTES)?)?;
            say!("Acknowledged: the record is witnessed by the back end.");
        }
        WriteCommand::Import { file } => {
            if let Some(snapshot) = m.import_receipt(read_bounded(file, MAX_RECEIPT_BYTES)?)? {
                output::recorded(&snapshot.status);
            } else {
                say!("Not applied: the decision here is the later one, or it was imported before.");
            }
        }
    }
    Ok(())
}

/// Prints a recorded decision. A refusal the store could not write holds only in memory, for this
/// run, which ends now: the CLI says it was not recorded (exit 1).
fn recorded(status: &kmer_consent::ConsentStatus) -> Result<(), Failure> {
    if status.not_yet_saved {
        return Err(Failure::Invalid(
            "the store refused the write: the refusal held only for this run, which ends now; \
             nothing was recorded"
                .into(),
        ));
    }
    output::recorded(status);
    Ok(())
}

/// `statistics=on` → (Statistics, true).
fn parse_choice(choice: &str) -> Result<(Category, bool), Failure> {
    let invalid = |why: &str| Failure::Invalid(format!("{choice:?}: {why}"));
    let (name, value) = choice
        .split_once('=')
        .ok_or_else(|| invalid("expected CATEGORY=on or CATEGORY=off"))?;
    let category = Category::parse(name).ok_or_else(|| {
        invalid("unknown category: expected essential, statistics, personalization or marketing")
    })?;
    let granted = match value {
        "on" => true,
        "off" => false,
        _ => return Err(invalid("the value must be on or off")),
    };
    Ok((category, granted))
}
