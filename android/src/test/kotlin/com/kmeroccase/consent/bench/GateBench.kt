// `android/test-jvm.sh bench`: what a gate check costs from Kotlin, as ratios against baselines
// measured in the same run. Not a test: nothing is asserted, the figures are printed.
package com.kmeroccase.consent.bench

import com.kmeroccase.consent.KmerConsent
import com.kmeroccase.consent.ffi.ConsentManager
import java.io.File
import java.nio.file.Files

private val SDKS = listOf("kmer_session", "firebase_analytics", "kmer_recommendations", "google_mobile_ads", "meta_audience_network")

/** Median ns per call over [rounds] rounds of [n] calls. */
private inline fun nsPerCall(rounds: Int, n: Int, call: (Int) -> Boolean): Double {
    var sink = 0
    val samples = (1..rounds).map {
        val start = System.nanoTime()
        for (i in 0 until n) if (call(i)) sink++
        (System.nanoTime() - start).toDouble() / n
    }.sorted()
    if (sink == -1) println(sink) // keeps the JIT from dropping the calls
    return samples[samples.size / 2]
}

fun main() {
    val dir = Files.createTempDirectory("kmer-consent-bench").toFile()
    val policy = File("policies/kmeroccase.json").readText()
    val consent = KmerConsent.open(File(dir, "bench.db"), policy)
    consent.acceptAll()
    val ffi = ConsentManager.open(File(dir, "bench.db").path, policy, "fr", "bench")
    val map = HashMap<String, Boolean>().apply { SDKS.forEach { put(it, true) } }

    // Warm-up, so the JIT has compiled all three paths before they are measured.
    repeat(3) {
        nsPerCall(5, 100_000) { map[SDKS[it % 5]] == true }
        nsPerCall(5, 100_000) { consent.canStart(SDKS[it % 5]) }
        nsPerCall(5, 2_000) { ffi.canStart(SDKS[it % 5]) }
    }
    val floor = nsPerCall(15, 1_000_000) { map[SDKS[it % 5]] == true }
    val kotlin = nsPerCall(15, 1_000_000) { consent.canStart(SDKS[it % 5]) }
    val native = nsPerCall(15, 5_000) { ffi.canStart(SDKS[it % 5]) }
    println("KmerConsent.canStart (snapshot)   %9.1f ns/call".format(kotlin))
    println("  HashMap lookup (floor)          %9.1f ns/call   ratio canStart/floor = %.2f".format(floor, kotlin / floor))
    println("  one FFI call (manager.canStart) %9.1f ns/call   ratio ffi/canStart   = %.0f".format(native, native / kotlin))
    ffi.close()
    consent.close()
    dir.deleteRecursively()
}
