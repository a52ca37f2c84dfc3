//! The README's code is code that CI compiles.
//!
//! The rule (`every_fenced_block_of_the_readme_is_a_compiled_sample`): the line before each fenced
//! block of README.md (blank lines aside) is one of
//!
//! - `<!-- sample: NAME -->`: the block is exactly the region that a sample file marks with a line
//!   `// README: NAME` and ends with a line `// END README` (less the indentation of the marker).
//!   Sample files are the `.kt`, `.java`, `.swift` and `.rs` files under `android/src/test`,
//!   `ios/ReadmeApp` and `tests`, which the test builds compile: `android/test-jvm.sh` (Kotlin and
//!   Java, the `android.*` stubs included), `ios/test-linux.sh` (the README app `ios/ReadmeApp`,
//!   built as an app consumes the package) and `cargo test` (this file);
//! - `<!-- sample: PATH -->`, PATH a file of the repository: the block is exactly that whole file
//!   (a file that cannot hold markers, such as a `Package.swift`, whose first line is fixed);
//! - `<!-- untested: REASON -->`, only for a block of shell commands or plain text (```` ```sh ````,
//!   ```` ```text ````): what it shows is run, not compiled.
//!
//! And every marked region is shown in the README, so a sample cannot outlive its text.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const SAMPLE_DIRS: [&str; 3] = ["android/src/test", "ios/ReadmeApp", "tests"];
const SAMPLE_EXTENSIONS: [&str; 4] = ["kt", "java", "swift", "rs"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn sample_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sample_files(&path, out);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| SAMPLE_EXTENSIONS.contains(&e))
        {
            out.push(path);
        }
    }
}

/// Every `// README: NAME` … `// END README` region, by name, with where it is.
fn regions() -> BTreeMap<String, (String, String)> {
    let mut files = Vec::new();
    for dir in SAMPLE_DIRS {
        sample_files(&root().join(dir), &mut files);
    }
    let mut regions = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let place = file.strip_prefix(root()).unwrap().display().to_string();
        let mut open: Option<(String, usize, Vec<String>)> = None;
        for (number, line) in text.lines().enumerate() {
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            if let Some(name) = trimmed.strip_prefix("// README: ") {
                assert!(
                    open.is_none(),
                    "{place}:{}: a region inside a region",
                    number + 1
                );
                open = Some((name.trim().to_owned(), indent, Vec::new()));
            } else if trimmed == "// END README" {
                let (name, _, lines) = open
                    .take()
                    .unwrap_or_else(|| panic!("{place}:{}: END without README", number + 1));
                let at = format!("{place}:{}", number + 1);
                if let Some((_, before)) = regions.insert(name.clone(), (lines.join("\n"), at)) {
                    panic!("region {name} is marked twice ({before} and {place})");
                }
            } else if let Some((name, indent, lines)) = open.as_mut() {
                let kept = line.get(*indent..).unwrap_or("");
                assert!(
                    line.trim().is_empty() || line[..*indent].trim().is_empty(),
                    "{place}:{}: a line of region {name} is less indented than its marker",
                    number + 1
                );
                lines.push(kept.trim_end().to_owned());
            }
        }
        if let Some((name, ..)) = open {
            panic!("{place}: region {name} has no // END README");
        }
    }
    regions
}

/// Each fenced block of the README: the marker line before it, its info string, its text, its line.
fn fenced_blocks(readme: &str) -> Vec<(String, String, String, usize)> {
    let mut blocks = Vec::new();
    let mut lines = readme.lines().enumerate();
    let mut previous = String::new();
    while let Some((number, line)) = lines.next() {
        if let Some(info) = line.strip_prefix("```") {
            let mut body = Vec::new();
            loop {
                let (_, inner) = lines
                    .next()
                    .unwrap_or_else(|| panic!("README.md:{}: unclosed block", number + 1));
                if inner == "```" {
                    break;
                }
                body.push(inner);
            }
            blocks.push((
                previous.clone(),
                info.trim().to_owned(),
                body.join("\n"),
                number + 1,
            ));
            previous.clear();
        } else if !line.trim().is_empty() {
            previous = line.trim().to_owned();
        }
    }
    blocks
}

#[test]
fn every_fenced_block_of_the_readme_is_a_compiled_sample() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let regions = regions();
    let mut shown = Vec::new();
    let mut problems = Vec::new();
    for (marker, info, body, line) in fenced_blocks(&readme) {
        let marker = marker
            .strip_prefix("<!--")
            .and_then(|m| m.strip_suffix("-->"))
            .map(str::trim);
        if let Some(name) = marker
            .and_then(|m| m.strip_prefix("sample:"))
            .map(str::trim)
        {
            let (expected, place) = if let Some((text, place)) = regions.get(name) {
                shown.push(name.to_owned());
                (text.clone(), place.clone())
            } else if root().join(name).is_file() {
                let text = std::fs::read_to_string(root().join(name)).unwrap();
                (text.trim_end().to_owned(), name.to_owned())
            } else {
                problems.push(format!("README.md:{line}: no region or file named {name}"));
                continue;
            };
            if body != expected {
                let differs = body
                    .lines()
                    .zip(expected.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(body.lines().count().min(expected.lines().count()));
                problems.push(format!(
                    "README.md:{line}: the block is not the text of {name} ({place}); first \
                     difference at its line {}:\n  README: {:?}\n  sample: {:?}",
                    differs + 1,
                    body.lines().nth(differs).unwrap_or("<end>"),
                    expected.lines().nth(differs).unwrap_or("<end>"),
                ));
            }
        } else if let Some(reason) = marker.and_then(|m| m.strip_prefix("untested:")) {
            if reason.trim().is_empty() {
                problems.push(format!("README.md:{line}: untested, but no reason given"));
            }
            if !matches!(info.as_str(), "sh" | "text") {
                problems.push(format!(
                    "README.md:{line}: only sh and text blocks may be untested, not {info:?}"
                ));
            }
        } else {
            problems.push(format!(
                "README.md:{line}: a fenced block needs <!-- sample: NAME --> or \
                 <!-- untested: REASON --> on the line before it"
            ));
        }
    }
    for name in regions.keys() {
        if !shown.contains(name) {
            problems.push(format!(
                "region {name} ({}) is not shown in README.md",
                regions[name].1
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// The Rust quick start, run in a directory of its own (it opens `consent.db` and reads
/// `policies/kmeroccase.json`, relative to where it runs).
#[test]
fn the_rust_quick_start_runs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    std::fs::copy(
        root().join("policies/kmeroccase.json"),
        dir.path().join("policies/kmeroccase.json"),
    )
    .unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    rust_quick_start().unwrap();
    assert!(dir.path().join("consent.db").is_file());
}

fn rust_quick_start() -> Result<(), Box<dyn std::error::Error>> {
    // README: rust-quick-start
    use kmer_consent::{
        Category, ConsentManager, ConsentOptions, TrackingAuthorization, VerdictReason,
    };

    let policy = std::fs::read_to_string("policies/kmeroccase.json")?;
    let consent = ConsentManager::open(ConsentOptions {
        locale: "fr-CM".into(),      // the device locale
        app_version: "5.2.0".into(), // recorded with each decision
        tracking_authorization: Some(TrackingAuthorization::NotApplicable), // Android
        ..ConsentOptions::new("consent.db", policy)  // created if missing; the policy JSON
    })?; // Err(KmerConsentError::InvalidPolicy { path, reason }), Storage, …

    if consent.status().needs_prompt {
        let banner = consent.banner("fr-CM".into())?; // texts, categories, SDKs in French
        println!("{}", banner.title);
        // … show it; then record exactly what the user did:
        consent.save([(Category::Statistics, true)].into())?; // or accept_all / reject_all / dismiss
    }
    if consent.can_start("firebase_analytics".into()) { /* start Firebase Analytics */ }
    // Why not: { allowed: false, reason: Refused }
    let verdict = consent.check("google_mobile_ads".into());
    assert_eq!(verdict.reason, VerdictReason::Refused);
    // END README
    Ok(())
}
