// `android/test-jvm.sh bench`: what a gate check costs from Kotlin, as ratios against baselines
// measured in the same run. Not a test: nothing is asserted, the figures are printed; lines starting
// with `row|` are what `benches/run.sh` gathers. KMER_BENCH_QUICK=1 runs fewer rounds.
package com.kmeroccase.consent.bench

import com.kmeroccase.consent.KmerConsent
import com.kmeroccase.consent.ConsentManager
import com.kmeroccase.consent.ConsentOptions
import com.sun.jna.Native
import java.io.File
import java.nio.file.Files

private val SDKS = listOf("kmer_session", "firebase_analytics", "kmer_recommendations", "google_mobile_ads", "meta_audience_network")
private val QUICK = (System.getenv("KMER_BENCH_QUICK") ?: "0") != "0"

/**
 * The floor of any call through the binding: a bare JNA direct-mapped call (as UniFFI's bindings make
 * them) to a C function of the same library that takes nothing and does almost nothing.
 */
private object BareJna {
    init {
        Native.register(BareJna::class.java, "kmer_consent")
    }

    external fun ffi_kmer_consent_uniffi_contract_version(): Int
}

/** Median ns per call over [rounds] rounds of [n] calls (a tenth of [n] in quick mode). */
private inline fun nsPerCall(rounds: Int, n: Int, call: (Int) -> Boolean): Double {
    val calls = if (QUICK) maxOf(1, n / 10) else n
    var sink = 0
    val samples = (1..rounds).map {
        val start = System.nanoTime()
        for (i in 0 until calls) if (call(i)) sink++
        (System.nanoTime() - start).toDouble() / calls
    }.sorted()
    if (sink == -1) println(sink) // keeps the JIT from dropping the calls
    return samples[samples.size / 2]
}

private fun row(what: String, figure: String, baseline: String, value: Double, target: String, unit: String) =
    println("row|$what|$figure|$baseline|${"%.2f".format(value)}|$target|$unit")

fun main() {
    val dir = Files.createTempDirectory("kmer-consent-bench").toFile()
    val policy = File("policies/kmeroccase.json").readText()
    val consent = KmerConsent.open(File(dir, "bench.db"), policy)
    consent.acceptAll()
    val ffi = ConsentManager.open(ConsentOptions(File(dir, "bench.db").path, policy, locale = "fr", appVersion = "bench"))
    val map = HashMap<String, Boolean>().apply { SDKS.forEach { put(it, true) } }

    // Warm-up, so the JIT has compiled every path before it is measured.
    repeat(if (QUICK) 1 else 3) {
        nsPerCall(5, 100_000) { map[SDKS[it % 5]] == true }
        nsPerCall(5, 100_000) { consent.canStart(SDKS[it % 5]) }
        nsPerCall(5, 2_000) { ffi.check(SDKS[it % 5]).allowed }
        nsPerCall(5, 100_000) { BareJna.ffi_kmer_consent_uniffi_contract_version() > 0 }
    }
    val floor = nsPerCall(15, 1_000_000) { map[SDKS[it % 5]] == true }
    val kotlin = nsPerCall(15, 1_000_000) { consent.canStart(SDKS[it % 5]) }
    val check = nsPerCall(15, 5_000) { ffi.check(SDKS[it % 5]).allowed }
    val jna = nsPerCall(15, 200_000) { BareJna.ffi_kmer_consent_uniffi_contract_version() > 0 }
    println("KmerConsent.canStart (snapshot)   %9.1f ns/call".format(kotlin))
    println("  HashMap.get (floor)             %9.1f ns/call   ratio canStart/floor = %.2f".format(floor, kotlin / floor))
    println("ConsentManager.check (FFI)        %9.1f ns/call   ratio check/canStart = %.0f".format(check, check / kotlin))
    println("  bare JNA call (binding floor)   %9.1f ns/call   ratio check/bare JNA = %.1f".format(jna, check / jna))
    row("Kotlin `canStart` on the JVM", "%.1f ns".format(kotlin), "`HashMap.get` %.1f ns".format(floor), kotlin / floor, "<=2", "×")
    row(
        "Kotlin call across the FFI (`ConsentManager.check`)",
        "%.0f ns".format(check),
        "bare JNA call %.0f ns".format(jna),
        check / jna,
        "",
        "×",
    )
    ffi.close()
    consent.close()
    dir.deleteRecursively()
}
