//! `cargo bench --bench memory`: peak resident memory (the kernel's high-water mark, `VmHWM`) of a
//! process that opens a store holding 100,000 decisions and asks the gate 1,000,000 times, against
//! the same binary doing nothing (the empty process). Each runs as a child of this one, so neither
//! sees the other's memory. Linux only (`/proc/self/status`).

use std::hint::black_box;
use std::path::Path;
use std::process::Command;

#[path = "common/mod.rs"]
mod common;
use common::{fill, open, row, SDKS};

const DECISIONS: usize = 100_000;
const CHECKS: usize = 1_000_000;

/// This process's peak resident memory in KiB.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// Opens the store and asks the gate `CHECKS` times.
fn check(path: &Path) {
    let manager = open(path);
    let mut allowed = 0usize;
    for i in 0..CHECKS {
        if manager.can_start(SDKS[i % SDKS.len()].to_string()) {
            allowed += 1;
        }
    }
    black_box(allowed);
    assert!(allowed > 0, "the filled store grants something");
}

fn child(mode: &str, path: &Path) -> u64 {
    let out = Command::new(std::env::current_exe().expect("own path"))
        .args([mode, path.to_str().expect("utf-8 path")])
        .output()
        .expect("child");
    assert!(
        out.status.success(),
        "{mode}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("peak KiB")
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if let [mode, path] = args.as_slice() {
        let path = Path::new(path);
        match mode.as_str() {
            "empty" => {}
            "fill" => fill(path, DECISIONS),
            "check" => check(path),
            other => panic!("unknown mode {other}"),
        }
        println!("{}", peak_kib());
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("history.db");
    let empty = child("empty", &db);
    child("fill", &db);
    let checked = child("check", &db);
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "empty process                          peak {:.1} MiB",
        mib(empty)
    );
    println!(
        "open {DECISIONS} decisions + {CHECKS} checks peak {:.1} MiB, {:.1} MiB above empty",
        mib(checked),
        mib(checked.saturating_sub(empty))
    );
    row(
        "Peak memory: open 100,000 decisions, 1,000,000 checks",
        &format!("{:.1} MiB", mib(checked)),
        &format!("empty process {:.1} MiB", mib(empty)),
        mib(checked.saturating_sub(empty)),
        "<=10",
        " MiB above",
    );
}
