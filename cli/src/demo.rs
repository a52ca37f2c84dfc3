//! `kmer-consent demo`: the bundled KmerOccase policy, end to end, in a temporary store.

use std::collections::HashMap;
use std::path::Path;

use kmer_consent::{Category, ConsentManager, ConsentOptions, TrackingAuthorization};

use crate::{output, Failure, BUNDLED_POLICY};

pub fn run(db: Option<&Path>, lang: &str, att: TrackingAuthorization) -> Result<(), Failure> {
    let temp = tempfile::tempdir()
        .map_err(|e| Failure::Invalid(format!("cannot create a temporary directory: {e}")))?;
    let path = match db {
        Some(db) => db.to_path_buf(),
        None => temp.path().join("kmer-consent-demo.db"),
    };
    let open = || -> Result<_, Failure> {
        let m = ConsentManager::open(ConsentOptions {
            database_path: path.display().to_string(),
            policy_json: BUNDLED_POLICY.to_owned(),
            locale: lang.to_owned(),
            app_version: crate::cli_version(),
            tracking_authorization: Some(att),
            backend_public_key: None,
            account_id: None,
        })?;
        Ok(m)
    };

    step(&format!(
        "1. Opening the consent store at {}",
        path.display()
    ));
    let m = open()?;
    output::print_status(&m.status());

    step(&format!("2. The banner, as the app shows it ({lang})"));
    output::banner(&m.banner(lang.to_owned())?);

    step("3. The user customises: statistics on, personalization off, marketing on");
    let choices = HashMap::from([
        (Category::Statistics, true),
        (Category::Personalization, false),
        (Category::Marketing, true),
    ]);
    output::recorded(&m.save(choices)?.status);
    verdicts(&m);

    step("4. The app restarts: the choice was saved");
    drop(m);
    let m = open()?;
    output::print_status(&m.status());
    verdicts(&m);

    step("5. The user withdraws consent from \"Gestion des cookies\" / \"Cookie management\"");
    output::recorded(&m.withdraw()?.status);
    verdicts(&m);

    step("6. The consent history");
    output::history(&m.history()?, false);
    if db.is_none() {
        say!("\n(The demo store was temporary; pass --db PATH to keep it.)");
    }
    Ok(())
}

fn step(title: &str) {
    say!("\n== {title}");
}

fn verdicts(m: &ConsentManager) {
    let mut sdks: Vec<_> = m.snapshot().sdks.into_keys().collect();
    sdks.sort();
    say!("Gate:");
    for id in sdks {
        let v = m.check(id.clone());
        let word = if v.allowed { "may start" } else { "blocked" };
        say!("  {id:<24} {word:<10} ({})", v.reason.as_str());
    }
}
