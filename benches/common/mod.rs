//! What every benchmark shares: quick mode and the summary line `benches/run.sh` reads.
#![allow(dead_code)] // each bench binary uses its own part of this module

/// `KMER_BENCH_QUICK=1`: fewer rounds, to prove a benchmark runs (CI), not to measure.
pub fn quick() -> bool {
    std::env::var_os("KMER_BENCH_QUICK").is_some_and(|v| v != "0")
}

/// One line of the summary table: `row|what|figure|baseline|value|target|unit`. `value` is the
/// number the target applies to (a ratio or a measure); `target` is `<=N`, `>=N` or empty (reported).
pub fn row(what: &str, figure: &str, baseline: &str, value: f64, target: &str, unit: &str) {
    println!("row|{what}|{figure}|{baseline}|{value:.2}|{target}|{unit}");
}
