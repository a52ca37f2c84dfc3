//! `cargo bench --bench gate`: what the gate and start-up cost, as ratios against baselines measured
//! in the same run (absolute times depend on the machine; the ratios are the claims).
//!
//! 1. `can_start` against a bare `HashMap` lookup (the floor) and against reading the latest decision
//!    from SQLite (what a gate without the snapshot would pay).
//! 2. `can_start` while another thread records decisions as fast as it can, against idle.
//! 3. Opening a store with 100,000 decisions against one with 1: start-up must not grow with history.
//! 4. Recording a decision, durable when the call returns: p50 and p99.
//!
//! `KMER_BENCH_QUICK=1` runs fewer rounds (CI proves the benchmark works; it never asserts a time).
//! Lines starting with `row|` are the summary `benches/run.sh` gathers into one table.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "common/mod.rs"]
mod common;
use common::{fill, open, quick, row, SDKS};

/// Median ns per call of `f` over `rounds` rounds of `n` calls (a tenth of `n` in quick mode).
fn ns_per_call(rounds: usize, n: usize, mut f: impl FnMut(usize)) -> f64 {
    let n = if quick() { n.div_ceil(10) } else { n };
    let mut samples: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for i in 0..n {
                f(i);
            }
            start.elapsed().as_nanos() as f64 / n as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");

    // 1. The gate against its baselines.
    let db = dir.path().join("gate.db");
    let manager = open(&db);
    manager.accept_all().expect("record");
    let map: HashMap<String, bool> = SDKS.iter().map(|s| (s.to_string(), true)).collect();
    let ids: Vec<String> = SDKS.iter().map(|s| s.to_string()).collect();
    let conn = rusqlite::Connection::open(&db).expect("sqlite");

    let floor = ns_per_call(15, 200_000, |i| {
        let id = ids[i % 5].clone(); // the FFI hands over an owned String too
        black_box(map.get(&id).copied().unwrap_or(false));
    });
    let gate = ns_per_call(15, 200_000, |i| {
        black_box(manager.can_start(ids[i % 5].clone()));
    });
    let sqlite = ns_per_call(15, 2_000, |_| {
        let row: (i64, bool) = conn
            .query_row(
                "SELECT decided_at_ms, statistics FROM decisions ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("query");
        black_box(row);
    });
    println!("can_start                      {gate:>10.1} ns/call");
    println!(
        "  HashMap lookup (floor)       {floor:>10.1} ns/call   ratio can_start/floor  = {:.2}",
        gate / floor
    );
    println!(
        "  SQLite latest-row read       {sqlite:>10.1} ns/call   ratio sqlite/can_start = {:.0}",
        sqlite / gate
    );
    row(
        "Rust `can_start`, hit",
        &format!("{gate:.1} ns"),
        &format!("`HashMap` lookup {floor:.1} ns"),
        gate / floor,
        "<=3",
        "×",
    );

    // 1b. A miss: an id the policy does not list (denied, unknown_sdk), against a HashMap miss.
    let unknown = "unlisted_tracker".to_string();
    let floor_miss = ns_per_call(15, 200_000, |_| {
        black_box(map.get(&unknown.clone()).copied().unwrap_or(false));
    });
    let gate_miss = ns_per_call(15, 200_000, |_| {
        black_box(manager.can_start(unknown.clone()));
    });
    println!(
        "can_start, unknown id (miss)   {gate_miss:>10.1} ns/call   ratio to HashMap miss  = {:.2}",
        gate_miss / floor_miss
    );
    row(
        "Rust `can_start`, miss (id not in the policy)",
        &format!("{gate_miss:.1} ns"),
        &format!("`HashMap` miss {floor_miss:.1} ns"),
        gate_miss / floor_miss,
        "<=3",
        "×",
    );

    // 2. Under a writer. Each call is timed on its own here, idle first, for the worst case.
    let timed = |worst: &mut Duration| {
        ns_per_call(15, 100_000, |i| {
            let t = Instant::now();
            black_box(manager.can_start(ids[i % 5].clone()));
            *worst = (*worst).max(t.elapsed());
        })
    };
    let mut idle_worst = Duration::ZERO;
    let idle = timed(&mut idle_worst);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let manager = Arc::clone(&manager);
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut writes = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let result = if writes.is_multiple_of(2) {
                    manager.reject_all()
                } else {
                    manager.accept_all()
                };
                result.expect("record");
                writes += 1;
            }
            writes
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    let mut worst = Duration::ZERO;
    let busy = timed(&mut worst);
    let busy_untimed = ns_per_call(15, 200_000, |i| {
        black_box(manager.can_start(ids[i % 5].clone()));
    });
    stop.store(true, Ordering::Relaxed);
    let writes = writer.join().expect("writer");
    println!(
        "can_start, each call timed     {idle:>10.1} ns/call   worst single call {idle_worst:?}"
    );
    println!(
        "  beside a writer              {busy:>10.1} ns/call   ratio busy/idle        = {:.2}   worst single call {worst:?} ({writes} decisions written meanwhile)",
        busy / idle
    );
    row(
        "Rust `can_start` beside a thread recording non-stop",
        &format!("{busy_untimed:.1} ns, worst single call {worst:.1?}"),
        &format!("`HashMap` lookup {floor:.1} ns"),
        busy_untimed / floor,
        "<=4",
        "×",
    );

    // 3. Start-up against history length.
    let time_open = |path: &std::path::Path| {
        let mut samples: Vec<f64> = (0..15)
            .map(|_| {
                let start = Instant::now();
                let m = open(path);
                black_box(m.status());
                let t = start.elapsed().as_secs_f64() * 1e6;
                drop(m);
                t
            })
            .collect();
        samples.sort_by(f64::total_cmp);
        samples[samples.len() / 2]
    };
    let filled = |name: &str, n: usize| {
        let path = dir.path().join(name);
        fill(&path, n);
        path
    };
    let small = filled("small.db", 1);
    let large = filled("large.db", 100_000);
    let (t_small, t_large) = (time_open(&small), time_open(&large));
    println!("open + status, 1 decision      {t_small:>10.1} µs");
    println!(
        "open + status, 100,000         {t_large:>10.1} µs       ratio large/small      = {:.2}",
        t_large / t_small
    );
    row(
        "`open` with 100,000 decisions",
        &format!("{:.2} ms", t_large / 1e3),
        &format!("`open` with 1 decision {:.2} ms", t_small / 1e3),
        t_large / t_small,
        "<=1.5",
        "×",
    );

    // 4. Recording a decision, durable (fsynced) when the call returns.
    let m = open(&dir.path().join("record.db"));
    let writes = if quick() { 100 } else { 500 };
    let mut times: Vec<f64> = (0..writes)
        .map(|i| {
            let started = Instant::now();
            let result = if i % 2 == 0 {
                m.accept_all()
            } else {
                m.reject_all()
            };
            result.expect("record");
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let (p50, p99) = (times[times.len() / 2], times[times.len() * 99 / 100]);
    println!("record a decision ({writes}, fsync)  p50 {p50:.2} ms, p99 {p99:.2} ms");
    row(
        "Recording a decision, durable on return (p99)",
        &format!("p50 {p50:.2} ms, p99 {p99:.2} ms ({writes} writes)"),
        "—",
        p99,
        "<=5",
        " ms",
    );
}
