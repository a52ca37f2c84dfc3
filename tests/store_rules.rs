//! What Google Play requires of the libraries this repository ships, checked on every `cargo test`
//! (docs/app-stores.md says why the rule exists and what it covers): for apps targeting Android 15
//! and later (from 1 November 2025), every ELF `LOAD` segment of a native library aligned to 16 KB.
//! `.cargo/config.toml` passes the linker flag for each Android ABI that `android/build.gradle.kts`
//! builds, and for the Linux host, so the host's own `libkmer_consent.so` shows here that the flag
//! reaches the linker.
//!
//! Linux only: the checks read an ELF library with binutils (`readelf`), as CI does.
#![cfg(target_os = "linux")]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// Runs a binutils tool (on CI's machine; `apt-get install binutils` elsewhere) and returns stdout.
fn tool(program: &str, args: &[&str], file: &Path) -> String {
    let out = Command::new(program)
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{program} (binutils) is needed to read {}: {e}",
                file.display()
            )
        });
    assert!(
        out.status.success(),
        "{program} {args:?} {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path).and_then(|m| m.modified()).unwrap()
}

/// Every file under `dir`, sorted.
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The library cargo linked for this run. The crate's `crate-type` includes `cdylib`, so building
/// the library for the integration tests also links `libkmer_consent.so`, in the `deps` directory of
/// this test binary (`<target>/<profile>/deps/store_rules-<hash>`: `target/debug` for `cargo test`,
/// `target/release` for `cargo test --release`, wherever CARGO_TARGET_DIR puts them). Not
/// `<profile>/libkmer_consent.so`: cargo copies a library there only when it is built for itself
/// (`cargo build`), so that one can be older than this run's flags. Cargo relinks the library
/// whenever a source or a flag changes, so it must not be older than any file of src/.
fn host_library() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe
        .parent()
        .expect("the test binary is in <target>/<profile>/deps");
    let lib = deps.join("libkmer_consent.so");
    assert!(
        lib.is_file(),
        "{} is missing: `cargo test` links it (crate-type cdylib)",
        lib.display()
    );
    let mut sources = Vec::new();
    files_under(&root().join("src"), &mut sources);
    let built = modified(&lib);
    for source in sources {
        assert!(
            modified(&source) <= built,
            "{} is older than {}: not the library of these sources",
            lib.display(),
            source.display()
        );
    }
    lib
}

// ---------------------------------------------------------------------------------------------
// Google Play: 16 KB pages.

/// Google Play's rule: segments aligned to at least 16 KB (a 16 KB-page kernel maps nothing finer).
const PAGE_16_KB: u64 = 0x4000;

#[derive(Debug)]
struct Load {
    offset: u64,
    vaddr: u64,
    align: u64,
}

fn hex(field: &str) -> u64 {
    u64::from_str_radix(field.trim_start_matches("0x"), 16)
        .unwrap_or_else(|e| panic!("{field}: {e}"))
}

/// The `LOAD` program headers, as `readelf -lW` prints them:
/// `LOAD Offset VirtAddr PhysAddr FileSiz MemSiz Flg… Align` (the flags may hold spaces: `R E`).
fn load_segments(lib: &Path) -> Vec<Load> {
    tool("readelf", &["-lW"], lib)
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.first() == Some(&"LOAD")).then(|| Load {
                offset: hex(fields[1]),
                vaddr: hex(fields[2]),
                align: hex(fields.last().unwrap()),
            })
        })
        .collect()
}

#[test]
fn the_native_library_loads_on_16_kb_pages() {
    let lib = host_library();
    let segments = load_segments(&lib);
    assert!(!segments.is_empty(), "{}: no LOAD segment", lib.display());
    let bad: Vec<_> = segments
        .iter()
        .filter(|s| {
            s.align < PAGE_16_KB
                || !s.align.is_power_of_two()
                || s.offset % s.align != s.vaddr % s.align
        })
        .collect();
    assert!(
        bad.is_empty(),
        "{}: LOAD segments not aligned to 16 KB (Align >= 0x4000, Offset ≡ VirtAddr mod Align): \
         {bad:x?}; the linker flag -z max-page-size=16384 comes from .cargo/config.toml",
        lib.display()
    );
}

/// The ABIs that android/build.gradle.kts builds (`val abis = listOf(…)`), as Rust targets.
fn android_targets() -> Vec<&'static str> {
    let gradle = read("android/build.gradle.kts");
    let list = gradle
        .lines()
        .find_map(|l| l.trim().strip_prefix("val abis = listOf("))
        .and_then(|l| l.strip_suffix(')'))
        .expect("android/build.gradle.kts lists its ABIs in `val abis = listOf(…)`");
    list.split(',')
        .map(|abi| match abi.trim().trim_matches('"') {
            "arm64-v8a" => "aarch64-linux-android",
            "armeabi-v7a" => "armv7-linux-androideabi",
            "x86_64" => "x86_64-linux-android",
            "x86" => "i686-linux-android",
            other => panic!("android/build.gradle.kts: unknown ABI {other}"),
        })
        .collect()
}

/// `rustc --print cfg --target TRIPLE`: the `cfg` values cargo matches `[target.'cfg(…)']` against
/// (rustc knows every built-in target without its standard library being installed).
fn target_cfg(triple: &str) -> BTreeSet<(String, Option<String>)> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(&rustc)
        .args(["--print", "cfg", "--target", triple])
        .output()
        .unwrap_or_else(|e| panic!("{rustc}: {e}"));
    assert!(
        out.status.success(),
        "{rustc} --print cfg --target {triple}"
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| match line.split_once('=') {
            Some((k, v)) => (k.to_owned(), Some(v.trim_matches('"').to_owned())),
            None => (line.to_owned(), None),
        })
        .collect()
}

/// A `cfg(…)` expression, evaluated against a target's values: `all`, `any`, `not`, `name` and
/// `name = "value"`, which is cargo's grammar for `[target.'cfg(…)']` keys.
struct CfgExpr<'a> {
    rest: &'a str,
}

impl<'a> CfgExpr<'a> {
    fn token(&mut self) -> &'a str {
        self.rest = self.rest.trim_start();
        let end = match self.rest.chars().next() {
            Some('(' | ')' | ',' | '=') => 1,
            Some('"') => self.rest[1..].find('"').expect("unclosed string") + 2,
            Some(_) => self
                .rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(self.rest.len()),
            None => 0,
        };
        let (token, rest) = self.rest.split_at(end);
        self.rest = rest;
        token
    }

    fn peek(&mut self) -> &'a str {
        let saved = self.rest;
        let token = self.token();
        self.rest = saved;
        token
    }

    fn eval(&mut self, cfg: &BTreeSet<(String, Option<String>)>) -> bool {
        let name = self.token();
        match self.peek() {
            "(" => {
                self.token();
                let mut values = Vec::new();
                while self.peek() != ")" {
                    values.push(self.eval(cfg));
                    if self.peek() == "," {
                        self.token();
                    }
                }
                self.token();
                match name {
                    "all" => values.iter().all(|v| *v),
                    "any" => values.iter().any(|v| *v),
                    "not" if values.len() == 1 => !values[0],
                    _ => panic!("cfg: {name}(…) is not all, any or not(one)"),
                }
            }
            "=" => {
                self.token();
                let value = self.token().trim_matches('"');
                cfg.contains(&(name.to_owned(), Some(value.to_owned())))
            }
            _ => cfg.contains(&(name.to_owned(), None)),
        }
    }
}

fn config_matches(key: &str, triple: &str, cfg: &BTreeSet<(String, Option<String>)>) -> bool {
    match key.strip_prefix("cfg(").and_then(|k| k.strip_suffix(')')) {
        Some(expr) => {
            let mut parser = CfgExpr { rest: expr };
            let value = parser.eval(cfg);
            assert!(parser.token().is_empty(), "cfg({expr}): unexpected text");
            value
        }
        None => key == triple,
    }
}

/// The rustflags cargo passes for `triple` (with no RUSTFLAGS or CARGO_ENCODED_RUSTFLAGS in the
/// environment): all matching `[target.<triple>]` and `[target.'cfg(…)']` lists joined, or else
/// `[build] rustflags`, never both (cargo's documented order: "build.rustflags" in The Cargo Book).
fn rustflags(config: &toml::Table, triple: &str) -> Vec<String> {
    let cfg = target_cfg(triple);
    let strings = |value: &toml::Value| -> Vec<String> {
        value
            .as_array()
            .expect("rustflags is a list (a string would be split on spaces)")
            .iter()
            .map(|f| f.as_str().unwrap().to_owned())
            .collect()
    };
    let from_targets: Vec<String> = config
        .get("target")
        .and_then(|t| t.as_table())
        .into_iter()
        .flatten()
        .filter(|(key, _)| config_matches(key, triple, &cfg))
        .filter_map(|(_, table)| table.get("rustflags"))
        .flat_map(strings)
        .collect();
    if !from_targets.is_empty() {
        return from_targets;
    }
    config
        .get("build")
        .and_then(|b| b.get("rustflags"))
        .map(strings)
        .unwrap_or_default()
}

/// The `--cfg X` pairs of a flag list.
fn cfg_flags(flags: &[String]) -> BTreeSet<String> {
    flags
        .iter()
        .zip(flags.iter().skip(1))
        .filter(|(flag, _)| *flag == "--cfg")
        .map(|(_, value)| value.clone())
        .collect()
}

#[test]
fn every_android_abi_gets_16_kb_pages_and_the_same_size_flags_as_the_host() {
    let config: toml::Table = read(".cargo/config.toml").parse().unwrap();
    // The host's flags are the ones the tests, the benchmarks and the size figures are built with.
    let host = "x86_64-unknown-linux-gnu";
    let host_flags = rustflags(&config, host);
    let host_cfgs = cfg_flags(&host_flags);
    assert!(
        host_cfgs.contains("curve25519_dalek_backend=\"serial\""),
        "the host build lost the size flags: {host_flags:?}"
    );
    let page_flag = "link-arg=-Wl,-z,max-page-size=16384";
    let mut targets = android_targets();
    assert!(targets.len() >= 3, "{targets:?}");
    targets.push(host);
    for triple in targets {
        let flags = rustflags(&config, triple);
        assert!(
            flags.windows(2).any(|w| w[0] == "-C" && w[1] == page_flag),
            "{triple}: no `-C {page_flag}` in {flags:?}"
        );
        assert_eq!(
            cfg_flags(&flags),
            host_cfgs,
            "{triple}: not the host's --cfg flags (a [target] table replaces [build] rustflags)"
        );
    }
}
