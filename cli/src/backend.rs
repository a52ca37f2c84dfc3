//! The app's back end's side of the trust model, for reference and tests: an Ed25519 key pair, and
//! the countersignature it puts on a receipt it received (`docs/receipts.md` is the format). A real
//! back end does the same in its own language, with its key in its own secret store.

use std::path::Path;

use ed25519_dalek::{Signer, SigningKey};
use kmer_consent::{BackendKey, Witness, MAX_RECEIPT_BYTES};
use serde_json::Value;

use crate::{read_bounded, Failure};

/// The public key given to `--backend-key`: 64 hex digits, or a file holding them.
pub fn public_key_hex(arg: &str) -> Result<String, Failure> {
    let text = if Path::new(arg).is_file() {
        read_bounded(Path::new(arg), 256)?
    } else {
        arg.to_owned()
    };
    let text = text.trim().to_owned();
    BackendKey::parse(&text).map_err(|e| Failure::Invalid(format!("--backend-key: {e}")))?;
    Ok(text)
}

pub fn public_key(arg: &str) -> Result<BackendKey, Failure> {
    BackendKey::parse(&public_key_hex(arg)?)
        .map_err(|e| Failure::Invalid(format!("--backend-key: {e}")))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn secret(file: &Path) -> Result<SigningKey, Failure> {
    let text = read_bounded(file, 256)?;
    let text = text.trim();
    let bad = || {
        Failure::Invalid(format!(
            "{}: not a secret key (64 hex digits)",
            file.display()
        ))
    };
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let mut seed = [0u8; 32];
    for (i, byte) in seed.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(SigningKey::from_bytes(&seed))
}

/// `keygen --out FILE`: the secret seed in FILE (readable by its owner only), the public key in
/// FILE.pub and on stdout.
pub fn keygen(out: &Path) -> Result<(), Failure> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| Failure::Invalid(format!("no secure random numbers: {e}")))?;
    let key = SigningKey::from_bytes(&seed);
    let public = hex(key.verifying_key().as_bytes());
    let write = |path: &Path, text: &str, private: bool| -> Result<(), Failure> {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let _ = private;
        options
            .open(path)
            .and_then(|mut f| f.write_all(format!("{text}\n").as_bytes()))
            .map_err(|e| Failure::Invalid(format!("cannot write {}: {e}", path.display())))
    };
    write(out, &hex(&seed), true)?;
    let public_file = std::path::PathBuf::from(format!("{}.pub", out.display()));
    write(&public_file, &public, false)?;
    say!("{public}");
    Ok(())
}

/// `countersign`: checks the receipt as a back end must, signs its record hash with the back end's
/// time, prints the countersigned receipt and writes the acknowledgement.
pub fn countersign(
    key_file: &Path,
    at: Option<i64>,
    ack_out: Option<&Path>,
    receipt_file: &Path,
) -> Result<(), Failure> {
    let key = secret(key_file)?;
    let json = read_bounded(receipt_file, MAX_RECEIPT_BYTES)?;
    let check = kmer_consent::verify_receipt(&json).map_err(|e| {
        Failure::Invalid(format!(
            "{}: receipt does not verify: {e}",
            receipt_file.display()
        ))
    })?;
    // What a back end must check besides (docs/receipts.md): a record for an account, made on the
    // device that sent it. The account itself is the caller's to check against its session.
    if check.subject.is_empty() {
        return Err(Failure::Invalid(
            "the record is the anonymous device's: only an account's decisions are synced".into(),
        ));
    }
    if matches!(check.event.as_str(), "import" | "subject_link") {
        return Err(Failure::Invalid(format!(
            "a {} record is not a choice made on the device that sent it",
            check.event
        )));
    }
    let at = at.unwrap_or_else(|| {
        use kmer_consent::Clock;
        kmer_consent::SystemClock.now_ms()
    });
    let signature = key.sign(&Witness::message(&check.receipt_id, at));
    let witness = Witness {
        record_hash: check.receipt_id,
        backend_time_ms: at,
        signature: signature.to_bytes(),
    }
    .to_value();
    let mut receipt: Value =
        serde_json::from_str(&json).map_err(|e| Failure::Invalid(e.to_string()))?;
    receipt["witness"] = witness.clone();
    if let Some(path) = ack_out {
        std::fs::write(path, witness.to_string())
            .map_err(|e| Failure::Invalid(format!("cannot write {}: {e}", path.display())))?;
    }
    say!("{receipt:#}");
    Ok(())
}

/// `hold-write-lock`: takes SQLite's write lock on the store and keeps it for `ms`.
pub fn hold_write_lock(db: &Path, ms: u64) -> Result<(), Failure> {
    let conn = rusqlite::Connection::open(db)
        .map_err(|e| Failure::Invalid(format!("cannot open {}: {e}", db.display())))?;
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| Failure::Invalid(format!("cannot lock {}: {e}", db.display())))?;
    say!("locked");
    std::thread::sleep(std::time::Duration::from_millis(ms));
    let _ = conn.execute_batch("ROLLBACK");
    Ok(())
}
