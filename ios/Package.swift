// swift-tools-version:6.0
// KmerConsent for iOS (and any Swift platform): the Swift API over the Rust core.
//
// Generated sources come from `bindings/generate.sh swift` and are not committed:
//   Sources/KmerConsentFFI/{KmerConsentFFI.h, module.modulemap}   the C interface of the core
//   Sources/KmerConsent/Generated/KmerConsent.swift                  the UniFFI Swift bindings
// On Apple platforms the native library ships as KmerConsentFFI.xcframework (ios/build-xcframework.sh);
// elsewhere (Linux CI) the package links the host build in ../target/debug.
import Foundation
import PackageDescription

let packageDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
let xcframework = packageDir.appendingPathComponent("KmerConsentFFI.xcframework")
let useXCFramework = FileManager.default.fileExists(atPath: xcframework.path)
let hostLibDir = ProcessInfo.processInfo.environment["KMER_CONSENT_LIB_DIR"]
    ?? packageDir.appendingPathComponent("../target/debug").standardized.path

let ffiTarget: Target = useXCFramework
    ? .binaryTarget(name: "KmerConsentFFI", path: "KmerConsentFFI.xcframework")
    : .systemLibrary(name: "KmerConsentFFI", path: "Sources/KmerConsentFFI")

let package = Package(
    name: "KmerConsent",
    platforms: [.iOS(.v13), .macOS(.v10_15)],
    products: [
        .library(name: "KmerConsent", targets: ["KmerConsent"]),
    ],
    targets: [
        ffiTarget,
        .target(
            name: "KmerConsent",
            dependencies: ["KmerConsentFFI"],
            linkerSettings: useXCFramework ? [
                // Only used when the XCFramework was built with KMER_CONSENT_SYSTEM_SQLITE=1.
                .linkedLibrary("sqlite3"),
            ] : [
                .linkedLibrary("kmer_consent"),
                .unsafeFlags(["-L", hostLibDir, "-Xlinker", "-rpath", "-Xlinker", hostLibDir]),
            ]
        ),
        .testTarget(name: "KmerConsentTests", dependencies: ["KmerConsent"]),
        // `ios/test-linux.sh bench` (or `swift run -c release KmerConsentBench`): the gate's cost.
        .executableTarget(
            name: "KmerConsentBench", dependencies: ["KmerConsent"], path: "Benchmarks/KmerConsentBench"),
    ],
    swiftLanguageModes: [.v6]
)
