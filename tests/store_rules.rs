//! What Google Play and the App Store require of the libraries this repository ships, checked on
//! every `cargo test` (docs/app-stores.md says why each rule exists and what it covers):
//!
//! - Google Play, for apps targeting Android 15 and later (from 1 November 2025): every ELF `LOAD`
//!   segment of a native library aligned to 16 KB. `.cargo/config.toml` passes the linker flag for
//!   each Android ABI that `android/build.gradle.kts` builds, and for the Linux host, so the host's
//!   own `libkmer_consent.so` shows here that the flag reaches the linker.
//! - The App Store (uploads from 1 May 2024): a privacy manifest that declares, with one of Apple's
//!   approved reasons, every "required reason" API category the SDK's code uses, and nothing else.
//!
//! Linux only: the checks read an ELF library with binutils (`readelf`, `nm`), as CI does.
#![cfg(target_os = "linux")]

use std::collections::{BTreeMap, BTreeSet};
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

// ---------------------------------------------------------------------------------------------
// The App Store: the privacy manifest.

const MANIFEST: &str = "ios/Sources/KmerConsent/PrivacyInfo.xcprivacy";

/// The property-list values a privacy manifest holds.
#[derive(Debug, PartialEq)]
enum Plist {
    Dict(BTreeMap<String, Plist>),
    Array(Vec<Plist>),
    String(String),
    Bool(bool),
}

/// A reader for the XML property lists of privacy manifests: `dict`, `array`, `string`, `true` and
/// `false` (anything else is an error, never skipped), with the XML declaration, the DOCTYPE,
/// comments and the five predefined entities.
struct PlistReader<'a> {
    rest: &'a str,
}

impl<'a> PlistReader<'a> {
    fn parse(xml: &'a str) -> Result<Plist, String> {
        let mut reader = PlistReader { rest: xml };
        reader.skip_prolog();
        reader.expect_tag("<plist version=\"1.0\">")?;
        let value = reader.value()?;
        reader.expect_tag("</plist>")?;
        reader.skip_space();
        if !reader.rest.is_empty() {
            return Err(format!("text after </plist>: {:.40}", reader.rest));
        }
        Ok(value)
    }

    /// Whitespace and comments.
    fn skip_space(&mut self) {
        loop {
            self.rest = self.rest.trim_start();
            match self
                .rest
                .strip_prefix("<!--")
                .and_then(|r| r.split_once("-->"))
            {
                Some((_, after)) => self.rest = after,
                None => return,
            }
        }
    }

    fn skip_prolog(&mut self) {
        for opening in ["<?xml", "<!DOCTYPE"] {
            self.skip_space();
            if self.rest.starts_with(opening) {
                self.rest = self.rest.split_once('>').map_or("", |(_, after)| after);
            }
        }
    }

    fn expect_tag(&mut self, tag: &str) -> Result<(), String> {
        self.skip_space();
        self.rest = self
            .rest
            .strip_prefix(tag)
            .ok_or_else(|| format!("expected {tag} at {:.40}", self.rest))?;
        Ok(())
    }

    /// The next tag, `<name>`, `<name/>` or `</name>`, without its brackets.
    fn tag(&mut self) -> Result<&'a str, String> {
        self.skip_space();
        let inner = self
            .rest
            .strip_prefix('<')
            .and_then(|r| r.split_once('>'))
            .ok_or_else(|| format!("expected a tag at {:.40}", self.rest))?;
        self.rest = inner.1;
        Ok(inner.0)
    }

    /// The text up to `</name>`, entities decoded.
    fn text(&mut self, name: &str) -> Result<String, String> {
        let close = format!("</{name}>");
        let (raw, after) = self
            .rest
            .split_once(close.as_str())
            .ok_or_else(|| format!("no {close}"))?;
        self.rest = after;
        if raw.contains('<') {
            return Err(format!("markup inside <{name}>: {raw:.40}"));
        }
        let mut text = String::new();
        let mut parts = raw.split('&');
        text.push_str(parts.next().unwrap());
        for part in parts {
            let (entity, tail) = part
                .split_once(';')
                .ok_or_else(|| format!("unterminated entity in {raw:.40}"))?;
            text.push(match entity {
                "lt" => '<',
                "gt" => '>',
                "amp" => '&',
                "quot" => '"',
                "apos" => '\'',
                _ => return Err(format!("entity &{entity}; is not one this reader knows")),
            });
            text.push_str(tail);
        }
        Ok(text)
    }

    fn value(&mut self) -> Result<Plist, String> {
        match self.tag()? {
            "dict/" => Ok(Plist::Dict(BTreeMap::new())),
            "array/" => Ok(Plist::Array(Vec::new())),
            "string/" => Ok(Plist::String(String::new())),
            "true/" => Ok(Plist::Bool(true)),
            "false/" => Ok(Plist::Bool(false)),
            "string" => Ok(Plist::String(self.text("string")?)),
            "array" => {
                let mut items = Vec::new();
                loop {
                    self.skip_space();
                    if let Some(after) = self.rest.strip_prefix("</array>") {
                        self.rest = after;
                        return Ok(Plist::Array(items));
                    }
                    items.push(self.value()?);
                }
            }
            "dict" => {
                let mut entries = BTreeMap::new();
                loop {
                    match self.tag()? {
                        "/dict" => return Ok(Plist::Dict(entries)),
                        "key" => {
                            let key = self.text("key")?;
                            let value = self.value()?;
                            if entries.insert(key.clone(), value).is_some() {
                                return Err(format!("key {key} twice in one dict"));
                            }
                        }
                        other => return Err(format!("<{other}> where a <key> belongs")),
                    }
                }
            }
            other => Err(format!("<{other}> is not a value a privacy manifest holds")),
        }
    }
}

/// One of Apple's required-reason API categories ("Describing use of required reason API", Bundle
/// Resources documentation): its approved reasons, and where each part of the SDK would show a use.
struct Category {
    name: &'static str,
    /// Every reason Apple approves for the category (an app or SDK declares the ones that apply).
    reasons: &'static [&'static str],
    /// Identifiers in the Swift layer (ios/Sources/KmerConsent, comments aside): Apple's list.
    swift: &'static [&'static str],
    /// Functions the native library imports, as `nm -D --undefined-only` shows them for the Linux
    /// host build. A proxy for the Apple build, which cannot be made here: the same Rust std and
    /// SQLite code calls the same functions on Darwin, under their Darwin names (std's `metadata`
    /// is `statx` on glibc and `stat` on Darwin; SQLite's is `stat64`/`fstat64` on glibc). It cannot
    /// see code compiled only for Apple platforms, which `sqlite_apple` covers.
    symbols: &'static [&'static str],
    /// Identifiers in the Rust sources of src/ (comments and `tests.rs` files aside).
    rust: &'static [&'static str],
    /// Functions the bundled SQLite calls in blocks it compiles only on Apple platforms (an `#if`
    /// naming `__APPLE__`), read from the amalgamation cargo compiled.
    sqlite_apple: &'static [&'static str],
}

const CATEGORIES: &[Category] = &[
    Category {
        name: "NSPrivacyAccessedAPICategoryFileTimestamp",
        reasons: &["DDA9.1", "C617.1", "3B52.1", "0A2A.1"],
        swift: &[
            "creationDate",
            "modificationDate",
            "fileModificationDate",
            "contentModificationDateKey",
            "creationDateKey",
            "NSFileCreationDate",
            "NSFileModificationDate",
            "NSURLContentModificationDateKey",
            "NSURLCreationDateKey",
            "attributesOfItem",
            "getattrlist",
            "getattrlistbulk",
            "fgetattrlist",
            "getattrlistat",
            "stat",
            "fstat",
            "fstatat",
            "lstat",
        ],
        symbols: &[
            "stat",
            "fstat",
            "lstat",
            "fstatat",
            "stat64",
            "fstat64",
            "lstat64",
            "fstatat64",
            "statx",
            "__xstat",
            "__fxstat",
            "__lxstat",
            "__fxstatat",
            "__xstat64",
            "__fxstat64",
            "__lxstat64",
            "__fxstatat64",
            "getattrlist",
            "getattrlistbulk",
            "fgetattrlist",
            "getattrlistat",
        ],
        // std::fs::metadata / symlink_metadata / File::metadata: stat, lstat, fstat on Darwin.
        rust: &["metadata", "symlink_metadata"],
        sqlite_apple: &[],
    },
    Category {
        name: "NSPrivacyAccessedAPICategorySystemBootTime",
        reasons: &["35F9.1", "8FFB.1", "3D61.1"],
        swift: &["systemUptime", "mach_absolute_time"],
        symbols: &["mach_absolute_time"],
        // std::time::Instant reads clock_gettime(CLOCK_UPTIME_RAW) on Darwin: the clock whose value
        // mach_absolute_time() returns (Apple lists mach_absolute_time and systemUptime).
        rust: &["Instant"],
        sqlite_apple: &["mach_absolute_time"],
    },
    Category {
        name: "NSPrivacyAccessedAPICategoryDiskSpace",
        reasons: &["85F4.1", "E174.1", "7D9E.1", "B728.1"],
        swift: &[
            "volumeAvailableCapacityKey",
            "volumeAvailableCapacityForImportantUsageKey",
            "volumeAvailableCapacityForOpportunisticUsageKey",
            "volumeTotalCapacityKey",
            "NSURLVolumeAvailableCapacityKey",
            "NSURLVolumeAvailableCapacityForImportantUsageKey",
            "NSURLVolumeAvailableCapacityForOpportunisticUsageKey",
            "NSURLVolumeTotalCapacityKey",
            "systemFreeSize",
            "systemSize",
            "NSFileSystemFreeSize",
            "NSFileSystemSize",
            "statfs",
            "statvfs",
            "fstatfs",
            "fstatvfs",
        ],
        symbols: &[
            "statfs",
            "fstatfs",
            "statvfs",
            "fstatvfs",
            "statfs64",
            "fstatfs64",
            "statvfs64",
            "fstatvfs64",
        ],
        rust: &["statfs", "fstatfs", "statvfs", "fstatvfs"],
        sqlite_apple: &["statfs", "fstatfs", "statvfs", "fstatvfs"],
    },
    Category {
        name: "NSPrivacyAccessedAPICategoryActiveKeyboards",
        reasons: &["3EC4.1", "54BD.1"],
        swift: &["activeInputModes", "UITextInputMode"],
        symbols: &[],
        rust: &[],
        sqlite_apple: &[],
    },
    Category {
        name: "NSPrivacyAccessedAPICategoryUserDefaults",
        reasons: &["CA92.1", "1C8F.1", "C56D.1", "AC6B.1"],
        swift: &["UserDefaults", "NSUserDefaults"],
        symbols: &[],
        rust: &[],
        sqlite_apple: &[],
    },
];

/// Source text without its comments (`//` to the end of the line, `/* … */`, nested), string and
/// character literals kept whole: what the compiler sees.
fn without_comments(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        let next = chars.get(i + 1).copied();
        match chars[i] {
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('*') => {
                let mut depth = 0;
                while i < chars.len() {
                    if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                        depth += 1;
                        i += 2;
                    } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        if chars[i] == '\n' {
                            out.push('\n'); // line numbers stay right
                        }
                        i += 1;
                    }
                }
                out.push(' ');
            }
            // A Rust raw string, r"…" or r#"…"#: no escapes, and quotes inside when it has hashes.
            'r' if (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'))
                && chars[i + 1..].iter().find(|c| **c != '#') == Some(&'"') =>
            {
                let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
                let open = i + 1 + hashes;
                let close = (open + 1..chars.len())
                    .find(|&j| {
                        chars[j] == '"'
                            && chars[j + 1..]
                                .iter()
                                .take(hashes)
                                .filter(|c| **c == '#')
                                .count()
                                == hashes
                    })
                    .unwrap_or(chars.len() - 1);
                let end = (close + hashes).min(chars.len() - 1);
                out.extend(&chars[i..=end]);
                i = end + 1;
            }
            '"' => {
                out.push('"');
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        out.push(chars[i]);
                        i += 1;
                    }
                    if let Some(&c) = chars.get(i) {
                        out.push(c);
                    }
                    i += 1;
                }
                out.push('"');
                i += 1;
            }
            // A character literal ('"', '\'', '\u{2f}', '/'), not a Rust lifetime ('a).
            '\'' if next == Some('\\') || chars.get(i + 2) == Some(&'\'') => {
                let end = if next == Some('\\') {
                    (i + 3..chars.len())
                        .find(|&j| chars[j] == '\'')
                        .unwrap_or(chars.len() - 1)
                } else {
                    i + 2
                };
                out.extend(&chars[i..=end]);
                i = end + 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// The identifiers of a source text, comments aside.
fn identifiers(source: &str) -> BTreeSet<String> {
    without_comments(source)
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `(file, identifiers)` for the sources of one part of the SDK.
fn sources(
    dir: &str,
    extension: &str,
    skip: impl Fn(&Path) -> bool,
) -> Vec<(String, BTreeSet<String>)> {
    let mut files = Vec::new();
    files_under(&root().join(dir), &mut files);
    files
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == extension) && !skip(f))
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            (
                f.strip_prefix(root()).unwrap().display().to_string(),
                identifiers(&text),
            )
        })
        .collect()
}

/// The functions the host library imports (`nm -D --undefined-only`), versions stripped.
fn imported_functions(lib: &Path) -> BTreeSet<String> {
    tool("nm", &["-D", "--undefined-only"], lib)
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .map(|s| s.split('@').next().unwrap().to_owned())
        .collect()
}

/// The SQLite amalgamation cargo compiled into the library: libsqlite3-sys at the version of
/// Cargo.lock, found through the dep-info files cargo wrote beside this test binary.
fn sqlite_amalgamation() -> PathBuf {
    let lock: toml::Table = read("Cargo.lock").parse().unwrap();
    let version = lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"].as_str() == Some("libsqlite3-sys"))
        .and_then(|p| p["version"].as_str())
        .expect("Cargo.lock has libsqlite3-sys")
        .to_owned();
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let marker = format!("libsqlite3-sys-{version}/src/lib.rs");
    let mut entries: Vec<_> = std::fs::read_dir(&deps)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    entries
        .iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libsqlite3_sys-") && n.ends_with(".d"))
        })
        .filter_map(|d| std::fs::read_to_string(d).ok())
        .find_map(|text| {
            text.split_whitespace()
                .find(|w| w.ends_with(&marker))
                .map(|w| {
                    Path::new(w)
                        .parent()
                        .unwrap()
                        .parent()
                        .unwrap()
                        .join("sqlite3/sqlite3.c")
                })
        })
        .filter(|c| c.is_file())
        .unwrap_or_else(|| panic!("no {marker} in the dep-info files of {}", deps.display()))
}

/// The functions the C source calls (`name(`) inside blocks whose innermost `#if`/`#elif` names
/// `__APPLE__` (on its true side), with the line of each call.
fn apple_only_calls(c_source: &str, names: &[&str]) -> Vec<String> {
    let code = without_comments(c_source);
    // The innermost conditional of each open block: its condition and whether we are past #else.
    let mut open: Vec<(String, bool)> = Vec::new();
    let mut found = Vec::new();
    for (number, line) in code.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(directive) = trimmed.strip_prefix('#') {
            let directive = directive.trim_start();
            let word = directive
                .split(|c: char| !c.is_alphanumeric())
                .next()
                .unwrap_or("");
            match word {
                "if" | "ifdef" | "ifndef" => open.push((directive.to_owned(), false)),
                "elif" => {
                    if let Some(top) = open.last_mut() {
                        *top = (directive.to_owned(), false);
                    }
                }
                "else" => {
                    if let Some(top) = open.last_mut() {
                        top.1 = true;
                    }
                }
                "endif" => {
                    open.pop();
                }
                _ => {}
            }
            continue;
        }
        let apple = open.last().is_some_and(|(condition, in_else)| {
            !in_else
                && condition.contains("__APPLE__")
                && !condition.starts_with("ifndef")
                && !condition.contains("!defined(__APPLE__)")
        });
        if !apple {
            continue;
        }
        for name in names {
            let called = line
                .match_indices(&format!("{name}("))
                .any(|(at, _)| !line[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_'));
            if called {
                found.push(format!("{name} (sqlite3.c:{})", number + 1));
            }
        }
    }
    found
}

/// Where each category is used: category → the places that show it.
fn uses() -> BTreeMap<&'static str, Vec<String>> {
    let swift = sources("ios/Sources/KmerConsent", "swift", |_| false);
    let rust = sources("src", "rs", |f| {
        f.file_name().is_some_and(|n| n == "tests.rs")
    });
    let imported = imported_functions(&host_library());
    let sqlite = std::fs::read_to_string(sqlite_amalgamation()).unwrap();
    let mut uses = BTreeMap::new();
    for category in CATEGORIES {
        let mut places = Vec::new();
        for (file, words) in &swift {
            for api in category.swift.iter().filter(|api| words.contains(**api)) {
                places.push(format!("{api} in {file}"));
            }
        }
        for (file, words) in &rust {
            for api in category.rust.iter().filter(|api| words.contains(**api)) {
                places.push(format!("{api} in {file}"));
            }
        }
        for symbol in category.symbols.iter().filter(|s| imported.contains(**s)) {
            places.push(format!("{symbol} imported by libkmer_consent.so"));
        }
        for call in apple_only_calls(&sqlite, category.sqlite_apple) {
            places.push(format!("{call}, compiled on Apple platforms"));
        }
        uses.insert(category.name, places);
    }
    uses
}

/// The manifest's `NSPrivacyAccessedAPITypes`, category → reasons, after checking its shape.
fn declared(manifest: &Plist) -> BTreeMap<String, Vec<String>> {
    let Plist::Dict(top) = manifest else {
        panic!("{MANIFEST}: the top level is not a dict");
    };
    let keys: BTreeSet<&str> = top.keys().map(String::as_str).collect();
    let expected = BTreeSet::from([
        "NSPrivacyTracking",
        "NSPrivacyTrackingDomains",
        "NSPrivacyCollectedDataTypes",
        "NSPrivacyAccessedAPITypes",
    ]);
    // App Store Connect refuses manifests with unexpected keys.
    assert_eq!(keys, expected, "{MANIFEST}: its top-level keys");
    assert_eq!(
        top["NSPrivacyTracking"],
        Plist::Bool(false),
        "{MANIFEST}: the SDK does not track (NSPrivacyTracking false)"
    );
    assert_eq!(
        top["NSPrivacyTrackingDomains"],
        Plist::Array(Vec::new()),
        "{MANIFEST}: the SDK connects to no domain at all"
    );
    // The SDK sends nothing off the device; the app sends what it syncs (docs/app-stores.md).
    assert_eq!(
        top["NSPrivacyCollectedDataTypes"],
        Plist::Array(Vec::new()),
        "{MANIFEST}: the SDK collects no data"
    );
    let Plist::Array(entries) = &top["NSPrivacyAccessedAPITypes"] else {
        panic!("{MANIFEST}: NSPrivacyAccessedAPITypes is not an array");
    };
    let mut declared = BTreeMap::new();
    for entry in entries {
        let Plist::Dict(entry) = entry else {
            panic!("{MANIFEST}: an NSPrivacyAccessedAPITypes entry is not a dict");
        };
        let keys: BTreeSet<&str> = entry.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from([
                "NSPrivacyAccessedAPIType",
                "NSPrivacyAccessedAPITypeReasons"
            ]),
            "{MANIFEST}: the keys of an accessed-API entry"
        );
        let Plist::String(category) = &entry["NSPrivacyAccessedAPIType"] else {
            panic!("{MANIFEST}: NSPrivacyAccessedAPIType is not a string");
        };
        let Plist::Array(reasons) = &entry["NSPrivacyAccessedAPITypeReasons"] else {
            panic!("{MANIFEST}: the reasons of {category} are not an array");
        };
        let reasons: Vec<String> = reasons
            .iter()
            .map(|r| match r {
                Plist::String(r) => r.clone(),
                other => panic!("{MANIFEST}: a reason of {category} is {other:?}"),
            })
            .collect();
        assert!(!reasons.is_empty(), "{MANIFEST}: {category} has no reason");
        assert!(
            declared.insert(category.clone(), reasons).is_none(),
            "{MANIFEST}: {category} is declared twice"
        );
    }
    declared
}

#[test]
fn the_privacy_manifest_declares_exactly_the_required_reason_apis_the_sdk_uses() {
    let manifest =
        PlistReader::parse(&read(MANIFEST)).unwrap_or_else(|e| panic!("{MANIFEST}: {e}"));
    let declared = declared(&manifest);
    let uses = uses();
    // What docs/app-stores.md explains, for a reviewer: `cargo test --test store_rules -- --nocapture`.
    for (category, places) in &uses {
        println!("{category}: {places:?}");
    }
    let mut problems = Vec::new();
    for (category, reasons) in &declared {
        let Some(known) = CATEGORIES.iter().find(|c| c.name == category) else {
            problems.push(format!(
                "{category} is not one of Apple's required-reason categories"
            ));
            continue;
        };
        for reason in reasons
            .iter()
            .filter(|r| !known.reasons.contains(&r.as_str()))
        {
            problems.push(format!(
                "{reason} is not one of Apple's reasons for {category} ({:?})",
                known.reasons
            ));
        }
        if uses[category.as_str()].is_empty() {
            problems.push(format!(
                "{category} is declared but nothing uses it: a stale entry"
            ));
        }
    }
    for (category, places) in &uses {
        if !places.is_empty() && !declared.contains_key(*category) {
            problems.push(format!("{category} is used but not declared: {places:?}"));
        }
    }
    assert!(problems.is_empty(), "{MANIFEST}:\n{}", problems.join("\n"));
}

#[test]
fn the_manifest_ships_with_the_swift_package_and_the_xcframework() {
    // The `KmerConsent` target's resource: SwiftPM copies it into the target's resource bundle,
    // which an app built with the package carries (the native core links statically into the same
    // app, so this one manifest speaks for both).
    let package = read("Package.swift");
    assert!(
        package.contains("resources: [.copy(\"PrivacyInfo.xcprivacy\")]"),
        "Package.swift: the KmerConsent target has no resources: [.copy(\"PrivacyInfo.xcprivacy\")]"
    );
    // And beside the static library of each slice of the XCFramework.
    let script = read("ios/build-xcframework.sh");
    assert!(
        script.contains(MANIFEST),
        "ios/build-xcframework.sh does not copy {MANIFEST}"
    );
}

#[test]
fn the_plist_reader_refuses_what_it_does_not_read() {
    let wrap = |body: &str| format!("<?xml version=\"1.0\"?><plist version=\"1.0\">{body}</plist>");
    assert_eq!(
        PlistReader::parse(&wrap(
            "<dict><key>a&amp;b</key><array><true/><string>x</string></array></dict>"
        )),
        Ok(Plist::Dict(BTreeMap::from([(
            "a&b".to_owned(),
            Plist::Array(vec![Plist::Bool(true), Plist::String("x".into())])
        )])))
    );
    for bad in [
        "<dict><key>a</key><integer>1</integer></dict>",
        "<dict><key>a</key><true/><key>a</key><false/></dict>",
        "<dict><string>a</string></dict>",
        "<string>a&nbsp;b</string>",
        "<array><true/>",
    ] {
        assert!(PlistReader::parse(&wrap(bad)).is_err(), "{bad}");
    }
}

#[test]
fn comments_are_left_out_and_code_and_strings_kept() {
    let source = concat!(
        "let a = \"https://x\"; // UserDefaults\n",
        "/* statfs /* nested */ fstatfs */ let b = '\"'; let c = '\\'';\n",
        "let d = r#\"a \"// quoted\" b\"#; Instant::now() // Instant\n",
        "fn f<'a>(x: &'a str) {} #if defined(__APPLE__)\n",
    );
    let words = identifiers(source);
    for kept in ["https", "x", "Instant", "now", "quoted", "__APPLE__"] {
        assert!(words.contains(kept), "{kept} lost: {words:?}");
    }
    for dropped in ["UserDefaults", "statfs", "nested", "fstatfs"] {
        assert!(!words.contains(dropped), "{dropped} kept: {words:?}");
    }
    assert_eq!(
        without_comments(source).lines().count(),
        4,
        "lines keep their numbers"
    );
}
