// Android library: the Kotlin API over the UniFFI bindings, with the Rust core built for each ABI.
// Needs the Android SDK + NDK, and `cargo install cargo-ndk` with the Rust Android targets
// (`rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android`).
plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.1.0"
}

val repoRoot: File = rootDir.parentFile
val rustJniLibs = layout.buildDirectory.dir("rustJniLibs")
val abis = listOf("arm64-v8a", "armeabi-v7a", "x86_64")

android {
    namespace = "com.kmeroccase.consent"
    compileSdk = 35

    defaultConfig {
        minSdk = 21
        consumerProguardFiles("consumer-rules.pro")
    }

    sourceSets["main"].apply {
        java.srcDirs("src/main/kotlin", File(repoRoot, "bindings/generated/kotlin-android"))
        jniLibs.srcDir(rustJniLibs)
    }
    // src/test/kotlin runs on the host JVM through android/test-jvm.sh, against compile-only
    // android.* stubs that would clash with android.jar here.
    sourceSets["test"].java.setSrcDirs(emptyList<String>())
    sourceSets["test"].kotlin.setSrcDirs(emptyList<String>())

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions {
        jvmTarget = "17"
    }
}

dependencies {
    implementation("net.java.dev.jna:jna:5.15.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.9.0")
    // The generated bindings (android = true) use @RequiresApi.
    implementation("androidx.annotation:annotation:1.9.1")
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

tasks.named("preBuild") {
    dependsOn(cargoNdk, generateBindings)
}
