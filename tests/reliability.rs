//! Reliability: a full disk, and readers beside a writer at scale. Figures are printed with
//! `cargo test --test reliability -- --nocapture` and kept in docs/reliability.md.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Fixture;
use kmer_consent::{Category, ConsentManager, KmerConsentError, OpenOptions};

#[test]
fn a_full_disk_refuses_the_write_and_memory_does_not_claim_it() {
    let f = Fixture::new();
    let capped = |pages| OpenOptions {
        max_database_pages: Some(pages),
        ..f.options()
    };
    let policy = common::sample_policy_json();
    let m = ConsentManager::open_with(&f.db(), &policy, "fr", capped(12)).unwrap();
    let mut recorded = 0;
    // Grants only: a refusal that cannot be written still takes effect (tests/trust.rs).
    let error = loop {
        f.clock.advance_ms(1000);
        match m.accept_all() {
            Ok(status) => {
                assert!(!status.status.not_yet_saved);
                recorded += 1;
            }
            Err(e) => break e,
        }
        assert!(recorded < 10_000, "the cap was never reached");
    };
    assert!(
        matches!(error, KmerConsentError::Storage { .. }),
        "{error:?}"
    );
    assert!(recorded > 0, "some decisions fit before the disk filled");
    let before = m.snapshot();
    // Every further write fails the same way and changes nothing.
    assert!(m.accept_all().is_err());
    assert_eq!(m.snapshot(), before);
    assert_eq!(m.history().unwrap().len(), recorded);
    assert!(m.verify_history().unwrap().intact);
    drop(m);

    // Space comes back: the next write succeeds, and the failed ones never appear.
    let m = ConsentManager::open_with(&f.db(), &policy, "fr", capped(10_000)).unwrap();
    assert_eq!(m.history().unwrap().len(), recorded);
    m.accept_all().unwrap();
    assert_eq!(m.history().unwrap().len(), recorded + 1);
    assert!(m.verify_history().unwrap().intact);
    println!("disk full: {recorded} decisions fit in 12 pages; the next write failed cleanly");
}

#[test]
fn eight_readers_never_see_half_a_decision() {
    const READS: u64 = 1_000_000;
    const WRITES: usize = 10_000;
    let f = Fixture::new();
    let m = f.open();
    let done = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let (m, done, reads) = (m.clone(), done.clone(), reads.clone());
            std::thread::spawn(move || {
                let mut worst = Duration::ZERO;
                let mut torn = 0u64;
                let mut i = 0u64;
                while reads.fetch_add(1, Ordering::Relaxed) < READS || !done.load(Ordering::Relaxed)
                {
                    let started = Instant::now();
                    let _ = m.can_start(
                        if i.is_multiple_of(2) {
                            "firebase_analytics"
                        } else {
                            "kmer_recommendations"
                        }
                        .into(),
                    );
                    worst = worst.max(started.elapsed());
                    if i.is_multiple_of(1000) {
                        // One snapshot: the two categories the writer changes together.
                        let s = m.snapshot();
                        if s.sdks["firebase_analytics"] != s.sdks["kmer_recommendations"] {
                            torn += 1;
                        }
                    }
                    i += 1;
                    if i.is_multiple_of(100) {
                        // Nine busy threads on a small machine: let the writer run.
                        std::thread::yield_now();
                    }
                }
                (worst, torn, i)
            })
        })
        .collect();
    let started = Instant::now();
    for w in 0..WRITES {
        let on = w % 2 == 0;
        m.save([(Category::Statistics, on), (Category::Personalization, on)].into())
            .unwrap();
    }
    let writing = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let mut worst = Duration::ZERO;
    let mut calls = 0;
    for r in readers {
        let (w, torn, n) = r.join().expect("no reader panicked");
        assert_eq!(
            torn, 0,
            "a reader saw one category changed without the other"
        );
        worst = worst.max(w);
        calls += n;
    }
    assert!(calls >= READS);
    assert_eq!(m.history().unwrap().len(), WRITES);
    println!(
        "threads: {calls} can_start calls on 8 threads beside {WRITES} decisions written in {writing:?}; \
         worst single read {worst:?} (on 2 cores that is the scheduler: the read path takes no lock)"
    );
}
