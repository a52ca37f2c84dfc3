// The KmerConsent Android library (AAR). Versions: gradle/libs.versions.toml (Gradle's default
// version catalog, `libs`). Not buildable on the project's CI machine (no Android SDK, and the
// Android Gradle plugin is on Google's repository only); see README "On a machine with the Android SDK".
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "kmer-consent-android"
