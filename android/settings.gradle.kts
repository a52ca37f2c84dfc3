// The KmerConsent Android library (AAR). Not buildable on the project's CI machine (no Android SDK
// or Maven repository there); see README "What is verified here".
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "kmer-consent-android"
