// swift-tools-version:6.0
// Package.swift of an app (or of the app's own local package in Xcode), beside a clone of this
// repository in ../KmerConsent: `git clone <this repository> KmerConsent`.
import PackageDescription

let package = Package(
    name: "ReadmeApp",
    platforms: [.iOS(.v13), .macOS(.v10_15)],
    dependencies: [
        .package(path: "../KmerConsent"),
    ],
    targets: [
        .target(name: "ReadmeApp", dependencies: [.product(name: "KmerConsent", package: "KmerConsent")]),
        .testTarget(name: "ReadmeAppTests", dependencies: ["ReadmeApp"]),
    ],
    swiftLanguageModes: [.v6]
)
