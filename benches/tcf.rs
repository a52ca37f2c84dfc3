//! `cargo bench --bench tcf -- STRINGS_FILE`: our TC string codec on the strings in the file (one per
//! line), the same strings `benches/tcf.cjs` times IAB Tech Lab's `@iabtechlabtcf/core` on, in the
//! same `benches/run.sh` run, which prints the ratio. Decoding each string, then encoding each decoded
//! model; median ns per string over several rounds.

use std::hint::black_box;
use std::time::Instant;

use kmer_consent::tcf::TcModel;

#[path = "common/mod.rs"]
mod common;
use common::quick;

/// Median over `rounds` of the ns per item of one pass of `f` over `items`.
fn ns_per_item<T>(rounds: usize, items: &[T], mut f: impl FnMut(&T)) -> f64 {
    let mut samples: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for item in items {
                f(item);
            }
            start.elapsed().as_nanos() as f64 / items.len() as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    // cargo passes `--bench`; the file is the first other argument.
    let Some(file) = std::env::args().skip(1).find(|a| !a.starts_with("--")) else {
        println!("benches/tcf: give a file of TC strings (benches/run.sh makes one with benches/tcf.cjs)");
        return;
    };
    let text = std::fs::read_to_string(&file).expect("the strings file");
    let strings: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    let models: Vec<TcModel> = strings
        .iter()
        .map(|s| {
            let mut model =
                TcModel::decode(s).expect("a string the reference library wrote decodes");
            model.allowed_vendors = None; // deprecated segment: neither side writes it
            model
        })
        .collect();
    let rounds = if quick() { 3 } else { 25 };
    let decode = ns_per_item(rounds, &strings, |s| {
        black_box(TcModel::decode(black_box(s)).ok());
    });
    let encode = ns_per_item(rounds, &models, |m| {
        black_box(black_box(m).encode());
    });
    println!("strings {}", strings.len());
    println!("rust_decode_ns {decode:.1}");
    println!("rust_encode_ns {encode:.1}");
}
