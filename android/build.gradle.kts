// Android library: the Kotlin API over the UniFFI bindings, with the Rust core built for each ABI.
// Every version is in gradle/libs.versions.toml, the version catalog that android/test-jvm.sh and
// android/checks/run.sh read too. Needs the Android SDK + NDK, and `cargo install cargo-ndk` with the
// Rust Android targets (`rustup target add aarch64-linux-android armv7-linux-androideabi
// x86_64-linux-android`). Not buildable on the project's CI machine (no Android SDK, no Google Maven):
// README "On a machine with the Android SDK" gives the commands, and what CI checks instead.
group = "com.kmeroccase"
version = "0.1.0"

plugins {
    alias(libs.plugins.android.library)
    alias(libs.plugins.kotlin.android)
}

kotlin {
    compilerOptions {
        jvmTarget.set(org.jetbrains.kotlin.gradle.dsl.JvmTarget.JVM_17)
    }
}

// This module is android/ of the KmerConsent repository, whichever build includes it.
val repoRoot: File = projectDir.parentFile
val rustJniLibs = layout.buildDirectory.dir("rustJniLibs")
val abis = listOf("arm64-v8a", "armeabi-v7a", "x86_64")

android {
    namespace = "com.kmeroccase.consent"
    compileSdk = libs.versions.compileSdk.get().toInt()

    defaultConfig {
        minSdk = libs.versions.minSdk.get().toInt()
        consumerProguardFiles("consumer-rules.pro")
    }
    // A library has no targetSdk of its own; the tests and lint run at the level apps target.
    testOptions.targetSdk = libs.versions.targetSdk.get().toInt()
    lint.targetSdk = libs.versions.targetSdk.get().toInt()

    sourceSets["main"].apply {
        java.srcDirs("src/main/kotlin", File(repoRoot, "bindings/generated/kotlin-android"))
        jniLibs.srcDir(rustJniLibs)
    }
    // The unit tests run on the JVM (and the Android entry point's on Robolectric) against the host
    // build of the core in target/debug, from the repository root, as android/test-jvm.sh runs them.
    sourceSets["test"].java.srcDirs("src/test/kotlin", "src/test/java")
    testOptions.unitTests {
        isReturnDefaultValues = true
        all {
            // One JVM per test class: Robolectric's sandbox loads its own copy of the bindings, and
            // UniFFI registers its callbacks with the native library once per process.
            it.forkEvery = 1
            it.workingDir = repoRoot
            it.systemProperty("jna.library.path", File(repoRoot, "target/debug").path)
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

dependencies {
    // JNA's Android build (the .aar carries libjnidispatch.so for each ABI).
    implementation(libs.jna) { artifact { type = "aar" } }
    // StateFlow is in the public API.
    api(libs.kotlinx.coroutines.core)
    // The generated bindings (android = true) use @RequiresApi.
    implementation(libs.androidx.annotation)
    // On the host JVM the jar, which carries JNA's native part for desktop systems.
    testImplementation(libs.jna)
    testImplementation(libs.junit)
    testImplementation(libs.robolectric)
}

// The core for every ABI, release profile, into build/rustJniLibs/<abi>/libkmer_consent.so.
// cargo-ndk runs cargo with `--target <triple>` from the repository root, so .cargo/config.toml
// applies to each ABI: the size flags and `-z max-page-size=16384`, the 16 KB ELF alignment Google
// Play requires (whatever the NDK's default). A new ABI in `abis` is checked by tests/store_rules.rs.
val cargoNdk by tasks.registering(Exec::class) {
    workingDir = repoRoot
    commandLine(
        listOf("cargo", "ndk") + abis.flatMap { listOf("-t", it) } +
            listOf("-o", rustJniLibs.get().asFile.path, "build", "--release", "-p", "kmer-consent", "--lib"),
    )
}

// The Kotlin bindings, generated from the host build of the same library (UniFFI library mode).
val generateBindings by tasks.registering(Exec::class) {
    workingDir = repoRoot
    commandLine("bash", "bindings/generate.sh", "kotlin-android")
}

// The host library and the CLI, which the unit tests load and run.
val cargoHost by tasks.registering(Exec::class) {
    workingDir = repoRoot
    commandLine("cargo", "build", "-p", "kmer-consent", "-p", "kmer-consent-cli")
}

tasks.named("preBuild") {
    dependsOn(cargoNdk, generateBindings)
}
tasks.withType<Test>().configureEach {
    dependsOn(cargoHost)
}
