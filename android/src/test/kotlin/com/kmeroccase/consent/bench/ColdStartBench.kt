// `android/test-jvm.sh bench`, second part: a cold `KmerConsent.openInBackground` to ready against a bare JNA load of the
// same native library, each in fresh JVMs (a cold start happens once per process), side by side:
// every round starts one JVM of each kind, in alternating order, so both see the same machine. Times
// run from the child's `main` to its answer (the JVM's own start is printed apart: the SDK cannot
// change it). Lines starting with `row|` are what `benches/run.sh` gathers. KMER_BENCH_QUICK=1 runs
// fewer rounds. Not a test: nothing is asserted on a time.
package com.kmeroccase.consent.bench

import com.kmeroccase.consent.KmerConsent
import java.io.File
import java.nio.file.Files
import java.util.concurrent.TimeUnit

private val COLD_QUICK = (System.getenv("KMER_BENCH_QUICK") ?: "0") != "0"

/** One child's marks, in ms after its `main` started; "launch" is the parent's start of the process. */
private typealias Marks = Map<String, Double>

/**
 * The classpath an app would have: this build's classes, Kotlin's standard library, JNA and
 * coroutines, not the test tools (JUnit, Robolectric) the benchmark itself was started with, whose
 * jars the class loader would otherwise search.
 */
private fun appClasspath(): String {
    val wanted = Regex("""(jna|kotlin-stdlib|kotlinx-coroutines-core-jvm)(-[0-9.]+)?\.jar""")
    val entries = System.getProperty("java.class.path").split(File.pathSeparator)
        .filter { File(it).isDirectory || wanted.matches(File(it).name) }
    for (jar in listOf("jna", "kotlin-stdlib", "kotlinx-coroutines-core-jvm")) {
        check(entries.any { File(it).name.startsWith(jar) }) { "no $jar jar on the classpath" }
    }
    return entries.joinToString(File.pathSeparator)
}

private fun runChild(main: String, vararg args: String): Marks {
    val java = File(System.getProperty("java.home"), "bin/java").path
    val command = listOf(
        java,
        "--enable-native-access=ALL-UNNAMED",
        "-Djna.library.path=${System.getProperty("jna.library.path") ?: ""}",
        "-cp",
        appClasspath(),
        main,
    ) + args
    val launch = System.nanoTime()
    val process = ProcessBuilder(command).redirectErrorStream(true).start()
    val output = process.inputStream.bufferedReader().readLines()
    check(process.waitFor(60, TimeUnit.SECONDS) && process.exitValue() == 0) {
        "$main failed:\n${output.joinToString("\n")}"
    }
    val at = output.filter { it.startsWith("cold|") }.associate { line ->
        val (_, name, nanos) = line.split("|")
        name to nanos.toLong()
    }
    val start = at["main"] ?: error("$main printed no start mark:\n${output.joinToString("\n")}")
    return at.mapValues { (_, t) -> (t - start) / 1e6 } + ("launch" to (launch - start) / 1e6)
}

private fun median(values: List<Double>): Double {
    val sorted = values.sorted()
    val mid = sorted.size / 2
    return if (sorted.size % 2 == 1) sorted[mid] else (sorted[mid - 1] + sorted[mid]) / 2
}

private fun summary(values: List<Double>) =
    "median %6.1f ms, range %6.1f-%6.1f".format(median(values), values.minOrNull() ?: 0.0, values.maxOrNull() ?: 0.0)

fun main() {
    val dir = Files.createTempDirectory("kmer-consent-cold").toFile()
    val policyFile = File("policies/kmeroccase.json").absoluteFile
    val db = File(dir, "cold.db")
    // The store an app finds at every launch but its first: one decision, which allows the gated SDK.
    KmerConsent.open(db, policyFile.readText()).use { it.acceptAll() }

    val rounds = if (COLD_QUICK) 3 else 11
    val bare = mutableListOf<Marks>()
    val open = mutableListOf<Marks>()
    val phases = mutableListOf<Marks>()
    val first = mutableListOf<Marks>()
    var fresh = 0
    val children = listOf<() -> Unit>(
        { bare += runChild(ColdBareJna::class.java.name) },
        { open += runChild(ColdOpen::class.java.name, policyFile.path, db.path, "decided") },
        { phases += runChild(ColdPhases::class.java.name, policyFile.path, db.path) },
        { first += runChild(ColdOpen::class.java.name, policyFile.path, File(dir, "first-${fresh++}.db").path, "new") },
    )
    // One round unmeasured (the JDK's and the jars' files into the page cache), then the order
    // alternates round by round.
    children.forEach { it() }
    bare.clear(); open.clear(); phases.clear(); first.clear()
    repeat(rounds) { round -> (if (round % 2 == 0) children else children.reversed()).forEach { it() } }

    fun of(samples: List<Marks>, mark: String) = samples.map { it.getValue(mark) }
    fun between(samples: List<Marks>, from: String, to: String) = samples.map { it.getValue(to) - it.getValue(from) }
    val bareReady = of(bare, "ready")
    val openReady = of(open, "ready")
    val ratios = bareReady.zip(openReady) { b, o -> o / b }

    println("Cold start, fresh JVMs ($rounds of each, alternating; ms from the child's main):")
    println("  bare JNA load of libkmer_consent (to the first call's return)  ${summary(bareReady)}")
    println("  openInBackground to ready and canStart answering               ${summary(openReady)}")
    println("    of which the calling thread waited (openInBackground returned) ${summary(between(open, "policy", "returned"))}")
    println("    of which the app reading its policy file                     ${summary(of(open, "policy"))}")
    println("  the same on an app's first launch (no store yet: it is created) ${summary(of(first, "ready"))}")
    println("  ratio within each round                                        median %.2f×, range %.2f-%.2f×"
        .format(median(ratios), ratios.minOrNull() ?: 0.0, ratios.maxOrNull() ?: 0.0))
    println("  JVM start before main (not in the figures; the SDK cannot change it) bare ${summary(of(bare, "launch").map { -it })}, open ${summary(of(open, "launch").map { -it })}")
    println("Phases of one cold open (separate JVMs, each step forced in turn):")
    println("  JNA: its classes and libjnidispatch                            ${summary(between(phases, "policy", "jna"))}")
    println("  our library loaded (dlopen)                                    ${summary(between(phases, "jna", "library"))}")
    println("  UniFFI init (functions registered, callback tables)            ${summary(between(phases, "library", "uniffi"))}")
    println("  store open and wrapper (openInBackground to ready, first call's marshalling, to canStart) ${summary(between(phases, "uniffi", "ready"))}")
    println("  total, main to canStart                                        ${summary(of(phases, "ready"))}")

    val x = median(openReady)
    val y = median(bareReady)
    println(
        "row|JVM cold open to ready (fresh JVM)|%.1f ms|bare JNA load of the same library %.1f ms|%.2f|<=2|×"
            .format(x, y, x / y),
    )
    val waited = median(between(open, "policy", "returned"))
    println(
        "row|JVM `openInBackground`: the calling thread's wait (fresh JVM)|%.1f ms|open to ready %.1f ms|%.2f||×"
            .format(waited, x, waited / x),
    )
    dir.deleteRecursively()
}
