"""What the library weighs and what it is made of; used by benches/run.sh.

    python3 benches/size.py UNSTRIPPED.so BUNDLED_STRIPPED.so SYSTEM_STRIPPED.so
        [SIZE_UNSTRIPPED.so SIZE_BUNDLED_STRIPPED.so SIZE_SYSTEM_STRIPPED.so]

Prints the stripped sizes as summary rows (`row|…`), the sections of the bundled library, and its
machine code grouped by origin; with the second three, the same for the release build for size
(benches/size-build.sh), its rows beside the normal build's. The grouping reads symbol names (`nm --size-sort -C` on the release
build, which keeps its symbol table): SQLite's C functions have plain names, Rust ones a crate path.
It is approximate: generic code is named after the crate that defines it, not the one that uses it.
"""
import collections
import os
import re
import subprocess
import sys

if len(sys.argv) not in (4, 7):
    sys.exit(__doc__)
unstripped, bundled, system = sys.argv[1:4]
sized = sys.argv[4:7]
MB = 1_000_000


def row(what, figure, baseline, value, target, unit):
    print(f"row|{what}|{figure}|{baseline}|{value:.2f}|{target}|{unit}")


peers = "peers ship 1.8 MB (Android) and 2.8 MB (iOS)"
size_b, size_s = os.path.getsize(bundled), os.path.getsize(system)
row("Library, bundled SQLite (stripped x86_64 cdylib)", f"{size_b / MB:.2f} MB", peers, size_b / MB, "<=1.2", " MB")
row("Library, system SQLite (the iOS case)", f"{size_s / MB:.2f} MB", peers, size_s / MB, "<=0.6", " MB")
if sized:
    sized_b, sized_s = os.path.getsize(sized[1]), os.path.getsize(sized[2])
    for what, figure, normal, target in (("bundled SQLite", sized_b, size_b, "<=1.2"),
                                         ("system SQLite", sized_s, size_s, "<=0.6")):
        row(f"Library built for size, {what} (`make size-build`)", f"{figure / MB:.2f} MB",
            f"normal build {normal / MB:.2f} MB", figure / MB, target, " MB")


def report(title, unstripped, stripped):
    print(f"\nSections of the bundled library, {title} (bytes):")
    sections = subprocess.run(["size", "-A", stripped], capture_output=True, text=True, check=True).stdout
    listed = [line.split() for line in sections.splitlines()[2:] if line.strip() and not line.startswith("Total")]
    for name, size, *_ in sorted(listed, key=lambda s: -int(s[1]))[:8]:
        print(f"  {name:<20} {int(size):>9}")

    print(f"\nMachine code by origin, {title} (bytes of function symbols, approximate):")
    nm = subprocess.run(["nm", "--size-sort", "-S", "-C", unstripped], capture_output=True, text=True, check=True)
    origins = collections.Counter()
    RUST_STD = {"core", "alloc", "std", "hashbrown"}
    for line in nm.stdout.splitlines():
        parts = line.split(" ", 3)
        if len(parts) < 4 or parts[2] not in "tTwW":
            continue
        size, name = int(parts[1], 16), parts[3]
        if any(k in name for k in ("gimli", "addr2line", "miniz_oxide", "rustc_demangle", "backtrace", "object::")):
            origin = "Rust std: printing panic backtraces"
        elif name.startswith(("uniffi_", "ffi_kmer")):
            origin = "UniFFI scaffolding (exported functions)"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name) and "::" not in name:
            origin = "SQLite (and any other C-named symbol)"
        else:
            crate = re.match(r"[<&*\s]*(?:dyn |impl |mut |const )*([A-Za-z_][A-Za-z0-9_]*)", name)
            crate = crate.group(1) if crate else "?"
            if crate in RUST_STD:
                origin = "Rust core, alloc, std (incl. generics for our types)"
            elif crate == "kmer_consent":
                origin = "kmer_consent (our code)"
            elif crate.startswith(("serde", "zmij", "itoa", "ryu")):
                origin = "serde, serde_json, serde_path_to_error"
            elif crate.startswith("uniffi"):
                origin = "UniFFI runtime"
            elif crate in ("rusqlite", "libsqlite3_sys", "hashlink"):
                origin = "rusqlite"
            else:
                origin = "other crates (sha2, arc_swap, thiserror, …)"
        origins[origin] += size
    total = sum(origins.values())
    for origin, size in origins.most_common():
        print(f"  {origin:<54} {size:>9}  {100 * size / total:4.1f}%")


report("normal build", unstripped, bundled)
if sized:
    report("built for size", sized[0], sized[1])
