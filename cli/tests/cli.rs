//! The `kmer-consent` binary, run as a process: every command and its exit code.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

struct Cli {
    dir: tempfile::TempDir,
}

fn policy_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/kmeroccase.json")
}

impl Cli {
    fn new() -> Cli {
        Cli {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("consent.db")
    }

    /// `kmer-consent ARGS` with no store options.
    fn bare(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_kmer-consent"))
            .args(args)
            .output()
            .expect("run kmer-consent")
    }

    /// `kmer-consent --db … --policy … ARGS`.
    fn run(&self, args: &[&str]) -> Output {
        let db = self.db();
        let policy = policy_path();
        let mut all = vec![
            "--db",
            db.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        self.bare(&all)
    }

    /// `history --json` of the store, as a list of records.
    fn history(&self) -> Vec<Value> {
        let out = self.run(&["history", "--json"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        match serde_json::from_slice(&out.stdout).expect("history --json prints JSON") {
            Value::Array(records) => records,
            other => panic!("not a list: {other}"),
        }
    }

    /// The `source` of each recorded decision, oldest first.
    fn sources(&self) -> Vec<Value> {
        self.history().iter().map(|r| r["source"].clone()).collect()
    }

    /// The app's long-lived manager on this store, in this process (the CLI is the other process).
    fn app(&self) -> std::sync::Arc<kmer_consent::ConsentManager> {
        let policy = std::fs::read_to_string(policy_path()).unwrap();
        kmer_consent::ConsentManager::open_with(
            &self.db(),
            &policy,
            "fr",
            kmer_consent::OpenOptions::default(),
        )
        .unwrap()
    }

    /// Deletes the store's `-shm` under the app, then records a withdrawal from this process.
    fn withdraw_elsewhere_after_deleting_the_shm(&self) {
        std::fs::remove_file(format!("{}-shm", self.db().display())).unwrap();
        let out = self.run(&["reject-all"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }

    /// The latest decision on disk is a `reject_all`, and marketing is refused.
    fn assert_the_withdrawal_is_latest(&self) {
        assert_eq!(
            self.sources().last(),
            Some(&Value::from("reject_all")),
            "the withdrawal is still the latest decision"
        );
        let out = self.run(&["check", "google_mobile_ads"]);
        assert_ne!(code(&out), 0, "marketing stays refused: {}", stdout(&out));
    }

    fn status_json(&self, extra: &[&str]) -> Value {
        let mut args = extra.to_vec();
        args.extend_from_slice(&["status", "--json"]);
        let out = self.run(&args);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        serde_json::from_slice(&out.stdout).expect("status --json prints JSON")
    }
}

/// The token a consent page carries (`data-token="…"`).
fn token_in(page: &str) -> String {
    let start = page.find("data-token=\"").unwrap() + "data-token=\"".len();
    page[start..start + page[start..].find('"').unwrap()].to_owned()
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited, not killed")
}
fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}
fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn status_json_on_a_fresh_store() {
    let cli = Cli::new();
    let s = cli.status_json(&[]);
    assert_eq!(s["needs_prompt"], true);
    assert_eq!(s["reason"], "no_decision");
    assert_eq!(
        s["categories"],
        serde_json::json!({"essential": true, "statistics": false, "personalization": false, "marketing": false})
    );
    assert_eq!(s["tracking_authorization"], "not_applicable");
}

#[test]
fn each_recording_command_records_its_source() {
    for (command, source, granted) in [
        ("accept-all", "accept_all", true),
        ("reject-all", "reject_all", false),
        ("withdraw", "withdraw", false),
        ("dismiss", "dismiss", false),
    ] {
        let cli = Cli::new();
        let out = cli.run(&[command]);
        assert_eq!(code(&out), 0, "{command}: {}", stderr(&out));
        assert!(stdout(&out).contains("Recorded."));
        let s = cli.status_json(&[]);
        assert_eq!(s["source"], source);
        assert_eq!(s["reason"], Value::Null, "{command}");
        assert_eq!(s["needs_prompt"], false);
        assert_eq!(s["categories"]["marketing"], granted, "{command}");
    }
}

#[test]
fn set_keeps_the_categories_it_does_not_name() {
    let cli = Cli::new();
    assert_eq!(code(&cli.run(&["set", "statistics=on"])), 0);
    let s = cli.status_json(&[]);
    assert_eq!(s["categories"]["statistics"], true);
    assert_eq!(
        s["categories"]["marketing"], false,
        "off when there was no decision"
    );

    assert_eq!(
        code(&cli.run(&["set", "marketing=on", "personalization=on"])),
        0
    );
    assert_eq!(code(&cli.run(&["set", "personalization=off"])), 0);
    let s = cli.status_json(&[]);
    assert_eq!(s["categories"]["statistics"], true, "kept");
    assert_eq!(s["categories"]["marketing"], true, "kept");
    assert_eq!(s["categories"]["personalization"], false);
    assert_eq!(s["source"], "save");
}

#[test]
fn set_rejects_bad_choices_with_exit_1_and_records_nothing() {
    let cli = Cli::new();
    for bad in [
        "essential=off",
        "statistics",
        "statistics=yes",
        "cookies=on",
    ] {
        let out = cli.run(&["set", bad]);
        assert_eq!(code(&out), 1, "{bad}");
        assert!(!stderr(&out).is_empty());
    }
    assert!(cli.history().is_empty());
}

#[test]
fn check_exits_0_when_allowed_and_3_with_the_reason_when_not() {
    let cli = Cli::new();
    let out = cli.run(&["check", "kmer_session"]);
    assert_eq!((code(&out), stdout(&out).trim()), (0, "allowed: essential"));
    let out = cli.run(&["check", "firebase_analytics"]);
    assert_eq!(
        (code(&out), stdout(&out).trim()),
        (3, "denied: no_decision")
    );
    let out = cli.run(&["check", "no_such_sdk"]);
    assert_eq!(
        (code(&out), stdout(&out).trim()),
        (3, "denied: unknown_sdk")
    );

    cli.run(&["accept-all"]);
    let out = cli.run(&["check", "firebase_analytics"]);
    assert_eq!((code(&out), stdout(&out).trim()), (0, "allowed: granted"));
    let out = cli.run(&["--att", "denied", "check", "meta_audience_network"]);
    assert_eq!(
        (code(&out), stdout(&out).trim()),
        (3, "denied: tracking_not_authorized")
    );
    let out = cli.run(&["--att", "authorized", "check", "meta_audience_network"]);
    assert_eq!(code(&out), 0);
}

#[test]
fn now_travels_in_time_and_a_read_leaves_no_trace() {
    let cli = Cli::new();
    assert_eq!(
        code(&cli.run(&["--now", "2026-01-10T09:00:00Z", "accept-all"])),
        0
    );
    let s = cli.status_json(&["--now", "2026-06-01T00:00:00Z"]);
    assert_eq!(s["needs_prompt"], false);
    assert_eq!(s["decided_at"], "2026-01-10T09:00:00Z");
    assert_eq!(s["expires_at"], "2027-02-04T09:00:00Z");

    // 14 months later the choice has expired.
    let s = cli.status_json(&["--now", "2027-03-10T09:00:00+01:00"]);
    assert_eq!(s["reason"], "expired");
    let out = cli.run(&[
        "--now",
        "2027-03-10T09:00:00Z",
        "check",
        "google_mobile_ads",
    ]);
    assert_eq!((code(&out), stdout(&out).trim()), (3, "denied: expired"));

    // Looking ahead did not move the store's clock: back in 2026 it is still valid.
    let s = cli.status_json(&["--now", "2026-06-02T00:00:00Z"]);
    assert_eq!(s["needs_prompt"], false);
}

#[test]
fn history_lists_every_decision() {
    let cli = Cli::new();
    cli.run(&["--now", "2026-03-01T10:00:00Z", "accept-all"]);
    cli.run(&["--now", "2026-03-02T10:00:00Z", "withdraw"]);
    let list = cli.history();
    assert_eq!(cli.sources(), ["accept_all", "withdraw"]);
    assert_eq!(list[0]["decided_at"], "2026-03-01T10:00:00Z");
    assert_eq!(list[1]["categories"]["statistics"], false);
    assert_eq!(list[0]["sdks_shown"].as_array().unwrap().len(), 5);

    let text = stdout(&cli.run(&["history"]));
    assert!(
        text.contains("#1 2026-03-01T10:00:00Z accept_all"),
        "{text}"
    );
    assert!(text.contains("withdraw"), "{text}");
}

#[test]
fn banner_negotiates_the_language() {
    let cli = Cli::new();
    let en = stdout(&cli.run(&["banner", "--lang", "en-CM"]));
    assert!(en.starts_with("[en] "), "{en}");
    assert!(en.contains("Reject all") && en.contains("Meta Audience Network"));
    let fr = stdout(&cli.run(&["banner", "--lang", "fr_FR"]));
    assert!(fr.contains("Tout refuser"), "{fr}");
    let default = stdout(&cli.run(&["banner"]));
    assert!(default.starts_with("[fr] "));
    let other = stdout(&cli.run(&["banner", "--lang", "de-DE"]));
    assert!(other.starts_with("[fr] "), "falls back to the default");
}

#[test]
fn ui_writes_the_page_and_apply_ui_message_records_what_it_carries() {
    let cli = Cli::new();
    let page = stdout(&cli.run(&["ui", "--lang", "en"]));
    assert!(
        page.starts_with("<!doctype html>\n<html lang=\"en\">"),
        "{page}"
    );
    assert!(page.trim_end().ends_with("</html>"));
    let token = &token_in(&page);
    let message = |action: &str| {
        format!(r#"{{"type":"kmer-consent/ui","version":1,"token":"{token}","action":"{action}"}}"#)
    };
    // Refused messages exit 1 and record nothing.
    for bad in [
        message("grant_all"),
        message("accept_all").replace(token, "1.en.00"),
        "{}".into(),
    ] {
        let out = cli.run(&["apply-ui-message", &bad]);
        assert_eq!(code(&out), 1, "{bad}");
        assert!(
            stderr(&out).contains("consent page message refused"),
            "{}",
            stderr(&out)
        );
    }
    assert!(cli.history().is_empty());
    let out = cli.run(&["apply-ui-message", &message("dismiss")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(cli.sources(), ["banner_dismiss"]);
    assert_eq!(
        cli.history()[0]["locale"],
        "en",
        "the page's language is recorded"
    );
    // A page answers once: the same message again is refused.
    let out = cli.run(&["apply-ui-message", &message("accept_all")]);
    assert_eq!(code(&out), 1, "a replay was accepted");
    assert_eq!(cli.history().len(), 1);
    // The preferences shown alone, closed: nothing recorded, and the CLI says so.
    let prefs = stdout(&cli.run(&["ui", "--layer", "preferences"]));
    assert!(prefs.contains("<html lang=\"fr\">") && prefs.contains("data-layer=\"preferences\""));
    let token = &token_in(&prefs);
    let close =
        format!(r#"{{"type":"kmer-consent/ui","version":1,"token":"{token}","action":"close"}}"#);
    let out = cli.run(&["apply-ui-message", &close]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("Closed: nothing recorded."),
        "{}",
        stdout(&out)
    );
    assert_eq!(cli.history().len(), 1);
}

#[test]
fn ui_layer_is_banner_or_preferences_and_a_typo_is_a_usage_error() {
    let cli = Cli::new();
    for layer in ["banner", "preferences"] {
        let out = cli.run(&["ui", "--layer", layer]);
        assert_eq!(code(&out), 0, "{layer}: {}", stderr(&out));
        let opens_on = format!("data-layer=\"{layer}\"");
        assert!(
            stdout(&out).contains(&opens_on),
            "{layer}: {}",
            stdout(&out)
        );
    }
    // A typo is a usage error naming the values, never a page opened on some other layer.
    let out = cli.run(&["ui", "--layer", "prefs"]);
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("'prefs'") && err.contains("[possible values: banner, preferences]"),
        "{err}"
    );
    assert!(stdout(&out).is_empty(), "no page for a typo");
}

#[test]
fn policy_check_accepts_the_sample_and_names_the_bad_field() {
    let cli = Cli::new();
    let out = cli.bare(&["policy", "check", policy_path().to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("valid"));

    let mut policy: Value =
        serde_json::from_str(&std::fs::read_to_string(policy_path()).unwrap()).unwrap();
    policy["sdks"][2]["category"] = "ads".into();
    let bad = cli.dir.path().join("bad.json");
    std::fs::write(&bad, policy.to_string()).unwrap();
    let out = cli.bare(&["policy", "check", bad.to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("sdks[2].category"),
        "{}",
        stderr(&out)
    );

    std::fs::write(&bad, "{ \"id\": ").unwrap();
    let out = cli.bare(&["policy", "check", bad.to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("line 1"), "{}", stderr(&out));

    let out = cli.bare(&["policy", "check", "/no/such/file.json"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("/no/such/file.json"));
}

#[test]
fn usage_errors_exit_2() {
    let cli = Cli::new();
    for args in [
        vec!["status"],                                    // no --db/--policy
        vec!["frobnicate"],                                // unknown command
        vec![],                                            // no command
        vec!["--db", "x.db", "--policy", "p.json", "set"], // nothing to set
        vec!["--att", "sometimes", "demo"],                // bad --att
        vec!["--now", "yesterday", "demo"],                // bad --now
        vec!["demo", "--lang", "de"],                      // demo speaks fr or en
    ] {
        let out = cli.bare(&args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn storage_errors_exit_1_naming_the_path() {
    let cli = Cli::new();
    let policy = policy_path();
    let out = cli.bare(&[
        "--db",
        "/no/such/dir/consent.db",
        "--policy",
        policy.to_str().unwrap(),
        "status",
    ]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("/no/such/dir/consent.db"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_corrupt_store_is_recovered_with_a_warning() {
    let cli = Cli::new();
    std::fs::write(
        cli.db(),
        b"definitely not a database, just bytes".repeat(64),
    )
    .unwrap();
    let out = cli.run(&["status", "--json"]);
    assert_eq!(code(&out), 0);
    assert!(stderr(&out).contains("moved aside"));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["store_recovered"], true);
    assert_eq!(s["reason"], "no_decision");
}

#[test]
fn the_demo_walks_the_whole_flow() {
    for (lang, reject) in [("fr", "Tout refuser"), ("en", "Reject all")] {
        let cli = Cli::new();
        let db = cli.db();
        let out = cli.bare(&["demo", "--lang", lang, "--db", db.to_str().unwrap()]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains(reject), "the banner in {lang}");
        assert!(text.contains("The app restarts"));
        assert!(
            text.contains("kmer_recommendations     blocked    (refused)"),
            "{text}"
        );
        assert!(
            text.contains("firebase_analytics       may start  (granted)"),
            "{text}"
        );
        // The store given with --db kept the demo's two decisions.
        assert_eq!(cli.sources(), ["save", "withdraw"]);
    }
    // Without --db it runs in a temporary store.
    let out = Cli::new().bare(&["demo"]);
    assert_eq!(code(&out), 0);
}

#[test]
fn status_json_shows_the_signals_and_tcf_decode_reads_them() {
    let cli = Cli::new();
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/kmeroccase-tcf.json");
    let db = cli.db();
    let store = |args: &[&str]| {
        let mut all = vec![
            "--db",
            db.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
            "--now",
            "2026-06-01T10:00:00Z",
        ];
        all.extend_from_slice(args);
        cli.bare(&all)
    };
    assert_eq!(code(&store(&["set", "marketing=on"])), 0);
    let status: Value = serde_json::from_slice(&store(&["status", "--json"]).stdout).unwrap();
    assert_eq!(status["consent_mode"]["ad_storage"], "granted");
    assert_eq!(status["consent_mode"]["analytics_storage"], "denied");
    assert_eq!(
        status["iab_tcf_keys"]["IABTCF_gdprApplies"], 1,
        "an Int key is a number"
    );
    assert_eq!(
        status["iab_tcf_keys"]["IABTCF_PurposeConsents"],
        "11110010000"
    );
    let tc = status["tc_string"]
        .as_str()
        .expect("a TC string")
        .to_owned();

    let out = cli.bare(&["tcf", "decode", &tc, "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let decoded: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        decoded["purpose_consents"],
        serde_json::json!([1, 2, 3, 4, 7])
    );
    assert_eq!(decoded["vendor_consents"], serde_json::json!([755]));
    assert_eq!(decoded["created"], "2026-06-01T10:00:00Z");
    assert_eq!(decoded["cmp_id"], 4095);

    let text = stdout(&cli.bare(&["tcf", "decode", &tc]));
    assert!(
        text.contains("publisher_country_code         \"CM\""),
        "{text}"
    );

    for garbage in ["", "hello world", "BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA"] {
        let out = cli.bare(&["tcf", "decode", garbage]);
        assert_eq!(code(&out), 1, "{garbage:?}");
        assert!(stderr(&out).contains("not a valid TC string"));
    }
}

#[test]
fn verify_exits_0_when_intact_and_1_naming_the_broken_record() {
    let cli = Cli::new();
    for command in ["accept-all", "withdraw", "reject-all"] {
        assert_eq!(code(&cli.run(&[command])), 0);
    }
    let out = cli.run(&["verify"]);
    assert_eq!(
        (code(&out), stdout(&out).trim()),
        (
            0,
            "intact: 3 records, every link verified; none witnessed by the back end"
        )
    );

    // "withdraw" appears only in record 2: the policy text has the other sources as keys.
    assert!(
        edit_file_bytes(&cli.db(), "withdraw", "withdrew"),
        "the record is in the file"
    );
    let out = cli.run(&["verify"]);
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).starts_with("broken at record 2:"),
        "{}",
        stdout(&out)
    );
}

/// Edits the database file's bytes directly, as someone with the file (and no SDK) would: replaces
/// every occurrence of `from` (free pages may hold stale copies). Returns whether it was found.
fn edit_file_bytes(db: &Path, from: &str, to: &str) -> bool {
    let mut bytes = std::fs::read(db).unwrap();
    let (from, to) = (from.as_bytes(), to.as_bytes());
    assert_eq!(from.len(), to.len());
    let mut found = false;
    let mut at = 0;
    while let Some(offset) = bytes[at..].windows(from.len()).position(|w| w == from) {
        let start = at + offset;
        bytes[start..start + from.len()].copy_from_slice(to);
        at = start + from.len();
        found = true;
    }
    std::fs::write(db, bytes).unwrap();
    found
}

#[test]
fn export_prints_a_receipt_that_verify_receipt_accepts_alone() {
    let cli = Cli::new();
    let out = cli.run(&["export"]);
    assert_eq!(code(&out), 1, "nothing to export yet");
    assert_eq!(
        code(&cli.run(&["--now", "2026-03-01T10:00:00Z", "accept-all"])),
        0
    );
    let out = cli.run(&["export"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let receipt: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(receipt["event"]["time_utc"], "2026-03-01T10:00:00.000Z");
    let file = cli.dir.path().join("receipt.json");
    std::fs::write(&file, &out.stdout).unwrap();
    let out = cli.bare(&["verify-receipt", file.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("valid: receipt "),
        "{}",
        stdout(&out)
    );

    let forged = String::from_utf8(std::fs::read(&file).unwrap())
        .unwrap()
        .replace("\"accept_all\"", "\"reject_all\"");
    std::fs::write(&file, forged).unwrap();
    let out = cli.bare(&["verify-receipt", file.to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("does not verify"), "{}", stderr(&out));
}

/// SIGKILL at random moments while a process records decisions: every decision it confirmed is
/// there, nothing half-written is, and the history still verifies. KMER_KILLS sets the count
/// (CI: 40; the documented long run: 200).
#[test]
fn decisions_survive_being_killed_mid_write() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let kills: u32 = std::env::var("KMER_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let cli = Cli::new();
    let db = cli.db();
    let policy = policy_path();
    let mut seed: u64 = 0x5eed_2026;
    let mut stored_before = 0usize;
    let mut confirmed_total = 0usize;
    for kill in 0..kills {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kmer-consent"))
            .args([
                "--db",
                db.to_str().unwrap(),
                "--policy",
                policy.to_str().unwrap(),
                "record-loop",
                "1000000",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pipe = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(pipe)
                .lines()
                .map_while(Result::ok)
                .filter(|l| l.starts_with("recorded "))
                .count()
        });
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(std::time::Duration::from_millis(5 + seed % 60));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let confirmed = reader.join().unwrap();
        confirmed_total += confirmed;

        let out = cli.run(&["verify"]);
        assert_eq!(code(&out), 0, "kill {kill}: {}", stdout(&out));
        let stored = cli.history().len();
        // Every confirmed decision is there; at most one more was committed but not yet printed.
        assert!(
            stored >= stored_before + confirmed && stored <= stored_before + confirmed + 1,
            "kill {kill}: {stored} stored after {stored_before}, {confirmed} confirmed"
        );
        stored_before = stored;
    }
    println!(
        "killed {kills} times; {confirmed_total} decisions confirmed, {stored_before} stored, \
         every confirmed one present, the chain intact after each kill"
    );
}

/// Processes creating and writing the same database at once lose nothing (four of them, starting
/// together on a file that does not exist yet: the race that once failed with "database is locked").
#[test]
fn two_processes_writing_at_once_lose_nothing() {
    let cli = Cli::new();
    let db = cli.db().to_str().unwrap().to_owned();
    let policy = policy_path().to_str().unwrap().to_owned();
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let (db, policy) = (db.clone(), policy.clone());
            std::thread::spawn(move || {
                let out = Command::new(env!("CARGO_BIN_EXE_kmer-consent"))
                    .args(["--db", &db, "--policy", &policy, "record-loop", "75"])
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(cli.history().len(), 300);
    assert_eq!(code(&cli.run(&["verify"])), 0);
}

/// Runs kmer-consent as an unprivileged user (root ignores file modes; CI runs as root).
fn as_unprivileged(args: &[&str]) -> Output {
    let bin = env!("CARGO_BIN_EXE_kmer-consent");
    let root = std::process::Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&root.stdout).trim() == "0" {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(bin)
            .args(args)
            .output()
            .expect("setpriv (util-linux) drops root for this test")
    } else {
        Command::new(bin).args(args).output().unwrap()
    }
}

/// A read-only database file and a read-only directory: a typed storage error naming the path, a
/// gate that says no, nothing changed on disk, never a crash.
#[test]
fn read_only_files_and_directories_are_storage_errors() {
    use std::os::unix::fs::PermissionsExt;
    let cli = Cli::new();
    // Readable by everyone, writable by no one but root.
    let dir = cli.dir.path().join("ro");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(cli.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let policy_copy = cli.dir.path().join("policy.json");
    std::fs::copy(policy_path(), &policy_copy).unwrap();
    std::fs::set_permissions(&policy_copy, std::fs::Permissions::from_mode(0o644)).unwrap();
    let policy = policy_copy.to_str().unwrap().to_owned();

    // A store that exists, with a decision, in a directory the user cannot write to.
    let db = dir.join("consent.db");
    let store = |extra: &[&str]| {
        let mut args = vec!["--db", db.to_str().unwrap(), "--policy", policy.as_str()];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let out = Command::new(env!("CARGO_BIN_EXE_kmer-consent"))
        .args(store(&["accept-all"]))
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let before = std::fs::read(&db).unwrap();

    for command in [
        vec!["check", "google_mobile_ads"],
        vec!["reject-all"],
        vec!["status"],
    ] {
        let args = store(&command);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = as_unprivileged(&args);
        assert_eq!(
            code(&out),
            1,
            "{command:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        assert!(
            stderr(&out).contains(db.to_str().unwrap()),
            "{}",
            stderr(&out)
        );
        assert!(!stdout(&out).contains("allowed"), "the gate never says yes");
    }
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "nothing changed on disk"
    );

    // A new store in a read-only directory.
    let missing = dir.join("new.db");
    let out = as_unprivileged(&[
        "--db",
        missing.to_str().unwrap(),
        "--policy",
        &policy,
        "status",
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("new.db"), "{}", stderr(&out));
    assert!(!missing.exists());
}

/// The trust model from a terminal (issue 13): each way consent was granted without the user, run
/// as the CLI runs it.
mod trust {
    use super::*;

    fn write(cli: &Cli, name: &str, text: &str) -> PathBuf {
        let path = cli.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn policy_edited(cli: &Cli, name: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
        let mut policy: Value =
            serde_json::from_str(&std::fs::read_to_string(policy_path()).unwrap()).unwrap();
        edit(&mut policy);
        write(cli, name, &policy.to_string())
    }

    /// `kmer-consent --db … --policy POLICY ARGS`.
    fn with_policy(cli: &Cli, policy: &Path, args: &[&str]) -> Output {
        let db = cli.db();
        let mut all = vec![
            "--db",
            db.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        cli.bare(&all)
    }

    /// Runs the CLI, killing it if it has not finished in 20 s (a read that never ends).
    fn within_20_s(args: &[&str]) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kmer-consent"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > std::time::Duration::from_secs(20) {
                child.kill().unwrap();
                panic!("kmer-consent {args:?} was still reading after 20 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        child.wait_with_output().unwrap()
    }

    #[test]
    fn endless_and_huge_files_are_refused_at_their_limit() {
        let cli = Cli::new();
        let huge = cli.dir.path().join("huge.json");
        std::fs::File::create(&huge)
            .unwrap()
            .set_len(64 << 20)
            .unwrap();
        let db = cli.db();
        let db = db.to_str().unwrap();
        let policy = policy_path();
        let policy = policy.to_str().unwrap();
        for file in ["/dev/zero", huge.to_str().unwrap()] {
            for args in [
                vec!["--db", db, "--policy", file, "status"],
                vec!["policy", "check", file],
                vec!["verify-receipt", file],
                vec!["--db", db, "--policy", policy, "import", file],
                vec!["--db", db, "--policy", policy, "acknowledge", file],
            ] {
                let out = within_20_s(&args);
                assert_eq!(code(&out), 1, "{args:?}");
                assert!(
                    stderr(&out).contains("larger than"),
                    "{args:?}: {}",
                    stderr(&out)
                );
            }
        }
    }

    #[test]
    fn a_page_rendered_before_a_policy_edit_records_nothing() {
        let cli = Cli::new();
        let page = stdout(&cli.run(&["ui"]));
        let token = &token_in(&page);
        let accept = format!(
            r#"{{"type":"kmer-consent/ui","version":1,"token":"{token}","action":"accept_all"}}"#
        );
        // The same revision, with an SDK added: the page never showed it.
        let added = policy_edited(&cli, "added.json", |p| {
            let mut sdk = p["sdks"][3].clone();
            sdk["id"] = "new_ads".into();
            p["sdks"].as_array_mut().unwrap().push(sdk);
        });
        let out = with_policy(&cli, &added, &["apply-ui-message", &accept]);
        assert_eq!(code(&out), 1, "{}", stdout(&out));
        assert!(
            stderr(&out).contains("not issued by this store for this user, policy and state"),
            "{}",
            stderr(&out)
        );
        assert!(cli.history().is_empty());
        // The same page answered under the text it showed is taken: the refusal was the edit's.
        let out = cli.run(&["apply-ui-message", &accept]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(cli.sources(), ["banner_accept_all"]);
    }

    #[test]
    fn a_policy_moved_at_the_same_revision_grants_nothing_and_policy_check_says_so() {
        let cli = Cli::new();
        assert_eq!(code(&cli.run(&["set", "marketing=on"])), 0);
        let moved = policy_edited(&cli, "moved.json", |p| {
            p["sdks"][1]["category"] = "marketing".into(); // firebase_analytics
        });
        let out = with_policy(&cli, &moved, &["check", "firebase_analytics"]);
        assert_eq!(code(&out), 3);
        assert_eq!(stdout(&out).trim(), "denied: policy_mismatch");
        let out = with_policy(&cli, &moved, &["check", "google_mobile_ads"]);
        assert_eq!(code(&out), 3, "nothing counts on an edited text");

        let db = cli.db();
        let out = cli.bare(&[
            "policy",
            "check",
            moved.to_str().unwrap(),
            "--against",
            db.to_str().unwrap(),
        ]);
        assert_eq!(code(&out), 1, "{}", stdout(&out));
        let report = stdout(&out);
        assert!(report.contains("PROBLEM: same revision"), "{report}");
        assert!(
            report.contains("widens  SDK firebase_analytics moved from statistics to marketing"),
            "{report}"
        );

        // Under a new revision it is fine to ship, and the SDK still counts only as it was seen.
        let next = policy_edited(&cli, "next.json", |p| {
            p["revision"] = 2.into();
            p["sdks"][1]["category"] = "marketing".into();
        });
        let out = cli.bare(&[
            "policy",
            "check",
            next.to_str().unwrap(),
            "--against",
            db.to_str().unwrap(),
        ]);
        assert_eq!(code(&out), 0, "{}", stdout(&out));
        assert!(stdout(&out).contains("is newer"));
        let out = with_policy(&cli, &next, &["check", "firebase_analytics"]);
        assert_eq!(stdout(&out).trim(), "denied: shown_in_another_category");
        let out = with_policy(&cli, &next, &["check", "google_mobile_ads"]);
        assert_eq!(
            code(&out),
            0,
            "shown under marketing, and marketing was granted"
        );
    }

    #[test]
    fn a_clock_a_year_ahead_then_corrected_does_not_date_or_stretch_consent() {
        let cli = Cli::new();
        assert_eq!(
            code(&cli.run(&["--now", "2027-06-01T10:00:00Z", "accept-all"])),
            0
        );
        let status = cli.status_json(&["--now", "2026-06-01T10:00:00Z"]);
        assert_eq!(status["needs_prompt"], true);
        assert_eq!(status["reason"], "decision_in_the_future");
        assert_eq!(
            code(&cli.run(&["--now", "2026-06-01T10:00:00Z", "accept-all"])),
            0
        );
        let status = cli.status_json(&["--now", "2026-06-01T10:00:00Z"]);
        assert_eq!(
            status["decided_at"], "2026-06-01T10:00:00Z",
            "dated by the clock now"
        );
        // 391 days after the real tap it has expired, whatever the earlier clock said.
        let out = cli.run(&[
            "--now",
            "2027-06-27T10:00:00Z",
            "check",
            "google_mobile_ads",
        ]);
        assert_eq!(stdout(&out).trim(), "denied: expired");
    }

    #[test]
    fn a_9999_clock_grants_nothing_and_dates_nothing_later() {
        let cli = Cli::new();
        assert_eq!(
            code(&cli.run(&["--now", "9999-12-31T00:00:00Z", "accept-all"])),
            0
        );
        let out = cli.run(&[
            "--now",
            "9999-12-31T00:00:00Z",
            "check",
            "google_mobile_ads",
        ]);
        assert_eq!(stdout(&out).trim(), "denied: clock_not_trusted");
        assert_eq!(
            code(&cli.run(&["--now", "2026-06-01T10:00:00Z", "accept-all"])),
            0
        );
        let status = cli.status_json(&["--now", "2026-06-01T10:00:00Z"]);
        assert_eq!(status["decided_at"], "2026-06-01T10:00:00Z");
        let out = cli.run(&[
            "--now",
            "2026-06-02T10:00:00Z",
            "check",
            "google_mobile_ads",
        ]);
        assert_eq!(code(&out), 0, "{}", stdout(&out));
    }

    #[test]
    fn a_refusal_the_store_cannot_take_is_not_reported_as_recorded() {
        use std::io::BufRead;
        let cli = Cli::new();
        assert_eq!(code(&cli.run(&["accept-all"])), 0);
        let db = cli.db();
        let mut holder = Command::new(env!("CARGO_BIN_EXE_kmer-consent"))
            .args([
                "--db",
                db.to_str().unwrap(),
                "hold-write-lock",
                "--for-ms",
                "15000",
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(holder.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "locked");
        let out = cli.run(&["withdraw"]);
        holder.kill().unwrap();
        holder.wait().unwrap();
        assert_eq!(code(&out), 1, "{}", stdout(&out));
        assert!(
            stderr(&out).contains("nothing was recorded"),
            "{}",
            stderr(&out)
        );
        assert_eq!(cli.sources(), ["accept_all"]);
    }

    #[test]
    fn receipts_flow_through_the_back_end_and_nothing_else_is_imported() {
        let phone = Cli::new();
        let tablet = Cli::new();
        let key = phone.dir.path().join("backend.key");
        let out = phone.bare(&["keygen", "--out", key.to_str().unwrap()]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let public = stdout(&out).trim().to_owned();
        assert_eq!(public.len(), 64);
        assert_eq!(
            code(&phone.bare(&["keygen", "--out", key.to_str().unwrap()])),
            1,
            "never overwrites a key"
        );
        let public_file = format!("{}.pub", key.display());

        let as_user = |cli: &Cli, args: &[&str]| {
            let mut all = vec![
                "--subject",
                "account-7",
                "--backend-key",
                public_file.as_str(),
            ];
            all.extend_from_slice(args);
            cli.run(&all)
        };
        // The phone has no decision of its own yet: the tablet's, once countersigned, applies.
        assert_eq!(
            code(&as_user(
                &tablet,
                &["--now", "2026-06-01T10:00:00Z", "accept-all"]
            )),
            0
        );

        // The tablet's receipt, as it waits in the outbox.
        let out = as_user(&tablet, &["pending"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let pending: Value = serde_json::from_slice(&out.stdout).unwrap();
        let receipt = pending[0]["receipt"].to_string();
        let unsigned = write(&tablet, "receipt.json", &receipt);
        let out = tablet.bare(&["verify-receipt", unsigned.to_str().unwrap()]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(stdout(&out).contains("not witnessed"));

        // Unsigned: refused, and without a back end key nothing is imported at all.
        let out = as_user(&phone, &["import", unsigned.to_str().unwrap()]);
        assert_eq!(code(&out), 1, "{}", stdout(&out));
        assert!(stderr(&out).contains("no witness"), "{}", stderr(&out));
        let out = phone.run(&[
            "--subject",
            "account-7",
            "import",
            unsigned.to_str().unwrap(),
        ]);
        assert!(stderr(&out).contains("back end key"), "{}", stderr(&out));
        let out = as_user(&phone, &["history", "--json"]);
        assert_eq!(
            stdout(&out).trim(),
            "[]",
            "nothing recorded for the account on the phone"
        );

        // The back end countersigns it; the tablet keeps the acknowledgement, the phone imports.
        let ack = tablet.dir.path().join("ack.json");
        let out = tablet.bare(&[
            "countersign",
            "--key",
            key.to_str().unwrap(),
            "--at",
            "2026-06-01T10:00:05Z",
            "--ack-out",
            ack.to_str().unwrap(),
            unsigned.to_str().unwrap(),
        ]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let signed = write(&tablet, "signed.json", &stdout(&out));
        // Signed, then a readable field edited: refused, by verify-receipt and by import.
        let mut edited: Value = serde_json::from_str(&stdout(&out)).unwrap();
        edited["subject"] = "someone-else".into();
        let edited = write(&tablet, "edited.json", &edited.to_string());
        let out = tablet.bare(&[
            "--backend-key",
            &public,
            "verify-receipt",
            edited.to_str().unwrap(),
        ]);
        assert_eq!(code(&out), 1);
        assert!(
            stderr(&out).contains("subject does not say"),
            "{}",
            stderr(&out)
        );
        let out = as_user(&phone, &["import", edited.to_str().unwrap()]);
        assert_eq!(code(&out), 1, "{}", stdout(&out));
        assert!(
            stderr(&out).contains("subject does not say"),
            "{}",
            stderr(&out)
        );
        let out = as_user(&phone, &["history", "--json"]);
        assert_eq!(
            stdout(&out).trim(),
            "[]",
            "nothing recorded for the account on the phone"
        );
        let out = tablet.bare(&[
            "--backend-key",
            &public,
            "verify-receipt",
            signed.to_str().unwrap(),
        ]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(stdout(&out).contains("witnessed by the back end at 2026-06-01T10:00:05Z"));
        assert_eq!(
            code(&as_user(&tablet, &["acknowledge", ack.to_str().unwrap()])),
            0
        );
        let out = as_user(&tablet, &["verify"]);
        assert!(
            stdout(&out).contains("1 witnessed by the back end"),
            "{}",
            stdout(&out)
        );
        let out = as_user(
            &phone,
            &[
                "--now",
                "2026-06-01T11:00:00Z",
                "import",
                signed.to_str().unwrap(),
            ],
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let out = as_user(
            &phone,
            &[
                "--now",
                "2026-06-01T11:00:00Z",
                "check",
                "google_mobile_ads",
            ],
        );
        assert_eq!(code(&out), 0, "{}", stdout(&out));
        // Another key's signature is not the back end's.
        let other_key = phone.dir.path().join("other.key");
        assert_eq!(
            code(&phone.bare(&["keygen", "--out", other_key.to_str().unwrap()])),
            0
        );
        let out = tablet.bare(&[
            "--backend-key",
            &format!("{}.pub", other_key.display()),
            "verify-receipt",
            signed.to_str().unwrap(),
        ]);
        assert_eq!(code(&out), 1);
    }
}

/// Issue 16: the `-shm` deleted under the app's open store, then another process records a
/// withdrawal. On `main` the app kept using the deleted index: `refresh_if_changed` said nothing
/// had changed, and closing the app normally checkpointed its stale view over the withdrawal, so
/// marketing was allowed again. Now the app sees that its index is not the one at the path, drops
/// its connection without a checkpoint and reopens the store.
#[test]
fn another_process_withdrawal_after_the_shm_is_deleted_is_seen_and_kept() {
    let cli = Cli::new();
    let app = cli.app();
    app.accept_all().unwrap();
    assert!(app.can_start("google_mobile_ads".into()));
    cli.withdraw_elsewhere_after_deleting_the_shm();
    let seen = app.refresh_if_changed().unwrap();
    assert!(seen.is_some(), "the other process's decision is seen");
    assert!(!app.can_start("google_mobile_ads".into()));
    app.shutdown();
    drop(app);

    cli.assert_the_withdrawal_is_latest();
}

/// Review of issue 16: the same as above, but the app shuts down without looking at its files
/// first. SQLite's close checkpointed the stale index over the other process's withdrawal; the
/// store now looks when it is dropped, and closes without that checkpoint.
#[test]
fn another_process_withdrawal_after_the_shm_is_deleted_survives_the_app_closing() {
    let cli = Cli::new();
    let app = cli.app();
    app.accept_all().unwrap();
    cli.withdraw_elsewhere_after_deleting_the_shm();
    app.shutdown();
    drop(app);

    cli.assert_the_withdrawal_is_latest();
}

/// Review of issue 16: the `-shm` deleted, then another process writes past SQLite's 1000-page
/// checkpoint, which copies the WAL into the database and starts the WAL over. The app's copy of
/// its WAL through its stale index (the rescue) then wrote other pages over the database ("Page 12:
/// never used", and the store never opened again). The copy is now made only when the `-wal` and
/// `-shm` are each gone or still the app's, and no other process has the store open.
#[test]
fn a_stale_index_never_copies_another_process_restarted_wal_into_the_database() {
    let cli = Cli::new();
    let app = cli.app();
    for i in 0..150 {
        if i % 2 == 0 {
            app.accept_all().unwrap();
        } else {
            app.reject_all().unwrap();
        }
    }
    std::fs::remove_file(format!("{}-shm", cli.db().display())).unwrap();
    let out = cli.run(&["record-loop", "60"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let _ = app.refresh_if_changed();
    let _ = app.accept_all();
    app.shutdown();
    drop(app);

    let out = cli.run(&["verify"]);
    assert_eq!(
        code(&out),
        0,
        "the store opens and verifies: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let conn = rusqlite::Connection::open(cli.db()).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    assert!(
        cli.history().len() >= 210,
        "the other process's 60 decisions are kept"
    );
}
