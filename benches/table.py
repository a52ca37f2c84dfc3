"""The summary table of benches/run.sh, from its `row|` lines.

    python3 benches/table.py ROWS_FILE QUICK [--docs docs/performance.md SIZE_REPORT]

Prints Markdown; with --docs, writes the table between the `bench:begin` and `bench:end` markers of
that file instead, and the size report (benches/size.py's output, less its rows) between
`size:begin` and `size:end`.
"""
import datetime
import os
import platform
import subprocess
import sys

rows_file, quick = sys.argv[1], sys.argv[2] == "1"
docs, size_report = (sys.argv[4], sys.argv[5]) if len(sys.argv) > 5 and sys.argv[3] == "--docs" else (None, None)


def met(value, target):
    if not target:
        return "reported"
    op, limit = target[:2], float(target[2:])
    ok = value <= limit if op == "<=" else value >= limit
    return "met" if ok else "**not met**"


def target_text(target, unit):
    if not target:
        return "—"
    return ("≤ " if target.startswith("<=") else "≥ ") + target[2:] + unit


lines = [
    "| What | Figure | Baseline (same run) | Ratio or measure | Target | |",
    "|---|---|---|---|---|---|",
]
for line in open(rows_file, encoding="utf-8"):
    if not line.startswith("row|"):
        continue
    _, what, figure, baseline, value, target, unit = line.rstrip("\n").split("|")
    lines.append(
        f"| {what} | {figure} | {baseline} | {float(value):.2f}{unit} | {target_text(target, unit)} | "
        f"{met(float(value), target)} |"
    )

cpu = "unknown CPU"
try:
    for info in open("/proc/cpuinfo", encoding="utf-8"):
        if info.startswith("model name"):
            cpu = info.split(":", 1)[1].strip()
            break
except OSError:
    pass
# The JDK the Kotlin benchmark ran on (android/test-jvm.sh picks it: 21 or newer), not the default java.
java_bin = os.path.join(os.environ.get("KMER_BENCH_JDK", ""), "bin", "java") if os.environ.get("KMER_BENCH_JDK") else "java"
java = subprocess.run([java_bin, "-version"], capture_output=True, text=True).stderr.splitlines()
machine = (
    f"{platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu}), "
    f"{java[0] if java else 'no java'}; {datetime.date.today().isoformat()}"
)
header = [
    f"Command: `benches/run.sh{' --quick' if quick else ''}` (`make bench`). Machine: {machine}.",
    "",
]
if quick:
    header.insert(0, "Quick mode: fewer rounds, rough figures (this run proves the benchmarks work).\n")
table = "\n".join(header + lines) + "\n"

if docs is None:
    sys.stdout.write(table)
else:
    text = open(docs, encoding="utf-8").read()

    def replace(text, name, content):
        begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
        start, stop = text.index(begin) + len(begin), text.index(end)
        return text[:start] + "\n" + content + text[stop:]

    report = [l for l in open(size_report, encoding="utf-8").read().splitlines() if not l.startswith("row|")]
    text = replace(text, "bench", table)
    text = replace(text, "size", "```\n" + "\n".join(report).strip() + "\n```\n")
    open(docs, "w", encoding="utf-8").write(text)
