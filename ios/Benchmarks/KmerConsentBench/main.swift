// `ios/test-linux.sh bench`: what a gate check costs from Swift, as ratios against baselines measured
// in the same run. Not a test: nothing is asserted, the figures are printed; lines starting with
// `row|` are what `benches/run.sh` gathers. KMER_BENCH_QUICK=1 runs fewer rounds.
import Foundation
import KmerConsent

let quick = (ProcessInfo.processInfo.environment["KMER_BENCH_QUICK"] ?? "0") != "0"
let sdks = ["kmer_session", "firebase_analytics", "kmer_recommendations", "google_mobile_ads", "meta_audience_network"]

/// Median ns per call over `rounds` rounds of `n` calls (a tenth of `n` in quick mode).
@inline(never)
func nsPerCall(rounds: Int = 15, _ n: Int, _ call: (Int) -> Bool) -> Double {
    let calls = quick ? max(1, n / 10) : n
    var sink = 0
    var samples: [Double] = []
    for _ in 0..<rounds {
        let start = DispatchTime.now().uptimeNanoseconds
        for i in 0..<calls where call(i) { sink &+= 1 }
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / Double(calls))
    }
    if sink == -1 { print(sink) }  // keeps the optimiser from dropping the calls
    samples.sort()
    return samples[samples.count / 2]
}

func row(_ what: String, _ figure: String, _ baseline: String, _ value: Double, _ target: String, _ unit: String) {
    print("row|\(what)|\(figure)|\(baseline)|\(String(format: "%.2f", value))|\(target)|\(unit)")
}

let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../..").standardized
let policy = try String(contentsOf: root.appendingPathComponent("policies/kmeroccase.json"), encoding: .utf8)

// A launch, in a process of its own (`KmerConsentBench launch|bare DB`): from `main` to the first
// `canStart` answered from the store, printed in ns. `launch` is the app's way (openInBackground, then
// awaitReady); `bare` opens the core alone through its FFI, the floor under any wrapper.
if CommandLine.arguments.count == 3 {
    let start = DispatchTime.now().uptimeNanoseconds
    let url = URL(fileURLWithPath: CommandLine.arguments[2])
    switch CommandLine.arguments[1] {
    case "launch":
        let consent = KmerConsentSDK.openInBackground(databaseURL: url, policyJSON: policy, trackingAuthorization: .notApplicable)
        let ready = DispatchSemaphore(value: 0)
        consent.onReady { _ in ready.signal() }
        ready.wait()
        guard consent.canStart("firebase_analytics") else { fatalError("the store's acceptance was not read") }
    default:
        let manager = try ConsentManager.open(
            options: ConsentOptions(databasePath: url.path, policyJson: policy, trackingAuthorization: .notApplicable))
        guard manager.canStart(sdkId: "firebase_analytics") else { fatalError("the store's acceptance was not read") }
    }
    print(DispatchTime.now().uptimeNanoseconds - start)
    exit(0)
}
let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kmer-consent-bench-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: dir) }
let db = dir.appendingPathComponent("bench.sqlite")

let consent = try KmerConsentSDK.open(databaseURL: db, policyJSON: policy, trackingAuthorization: .notApplicable)
try consent.acceptAll()
let ffi = try ConsentManager.open(
    options: ConsentOptions(databasePath: db.path, policyJson: policy, locale: "fr", appVersion: "bench"))
let dictionary = Dictionary(uniqueKeysWithValues: sdks.map { ($0, true) })

for _ in 0..<(quick ? 1 : 3) {  // warm-up
    _ = nsPerCall(rounds: 5, 100_000) { dictionary[sdks[$0 % 5]] == true }
    _ = nsPerCall(rounds: 5, 100_000) { consent.canStart(sdks[$0 % 5]) }
    _ = nsPerCall(rounds: 5, 10_000) { ffi.canStart(sdkId: sdks[$0 % 5]) }
}
let floor = nsPerCall(1_000_000) { dictionary[sdks[$0 % 5]] == true }
let swift = nsPerCall(1_000_000) { consent.canStart(sdks[$0 % 5]) }
let native = nsPerCall(100_000) { ffi.canStart(sdkId: sdks[$0 % 5]) }
print(String(format: "KmerConsentSDK.canStart (snapshot)  %9.1f ns/call", swift))
print(String(format: "  Dictionary lookup (floor)         %9.1f ns/call   ratio canStart/floor = %.2f", floor, swift / floor))
print(String(format: "  one FFI call (manager.canStart)   %9.1f ns/call   ratio ffi/floor      = %.2f", native, native / floor))
row("Swift `canStart`", String(format: "%.1f ns", swift), String(format: "`Dictionary` lookup %.1f ns", floor),
    swift / floor, "<=2", "×")
row("Swift call across the FFI (`ConsentManager.canStart`)", String(format: "%.1f ns", native),
    String(format: "`Dictionary` lookup %.1f ns", floor), native / floor, "", "×")

/// Runs this benchmark again as `mode` in a new process; returns what it printed (ns) and the
/// process's whole life, spawn to exit (ns).
func launched(_ mode: String) throws -> (answer: Double, process: Double) {
    let child = Process()
    child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    child.arguments = [mode, db.path]
    let out = Pipe()
    child.standardOutput = out
    let start = DispatchTime.now().uptimeNanoseconds
    try child.run()
    let printed = out.fileHandleForReading.readDataToEndOfFile()
    child.waitUntilExit()
    let whole = Double(DispatchTime.now().uptimeNanoseconds - start)
    guard child.terminationStatus == 0,
        let ns = Double(String(decoding: printed, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    else { fatalError("KmerConsentBench \(mode) failed") }
    return (ns, whole)
}
// Alternately, so both see the same machine; the store holds an acceptance, as at a usual launch.
var launches: [(answer: Double, process: Double)] = [], bares: [(answer: Double, process: Double)] = []
for _ in 0..<(quick ? 3 : 15) {
    launches.append(try launched("launch"))
    bares.append(try launched("bare"))
}
func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
let launch = median(launches.map(\.answer)), bare = median(bares.map(\.answer))
print(String(format: "Swift launch to first answer: %.2f ms (range %.2f–%.2f), bare core open %.2f ms; processes %.1f ms / %.1f ms",
    launch / 1e6, launches.map(\.answer).min()! / 1e6, launches.map(\.answer).max()! / 1e6, bare / 1e6,
    median(launches.map(\.process)) / 1e6, median(bares.map(\.process)) / 1e6))
row("Swift launch to first answer (`openInBackground`, new process)", String(format: "%.2f ms", launch / 1e6),
    String(format: "the core's open alone %.2f ms", bare / 1e6), launch / 1e6, "<=20", " ms")
consent.close()
