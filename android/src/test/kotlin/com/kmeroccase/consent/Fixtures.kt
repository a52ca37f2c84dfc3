package com.kmeroccase.consent

import java.io.File
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executor
import java.util.concurrent.TimeUnit
import kotlin.test.fail

/** The sample policy; the test runner starts in the repository root. */
val POLICY: String = File("policies/kmeroccase.json").readText()

/** Runs callbacks on the thread that delivers them. */
val DIRECT = Executor { it.run() }

fun policyWith(from: String, to: String): String {
    check(POLICY.contains(from)) { "the sample policy has no $from" }
    return POLICY.replaceFirst(from, to)
}

fun openIn(dir: File, executor: Executor? = DIRECT, name: String = "consent.db"): KmerConsent =
    KmerConsent.open(
        databaseFile = File(dir, name),
        policyJson = POLICY,
        locale = java.util.Locale.forLanguageTag("fr-CM"),
        callbackExecutor = executor,
        appVersion = "5.2.0",
    )

/** Runs [block] on another thread; fails the test if it has not finished in [seconds] (a deadlock). */
fun <T> finishesWithin(seconds: Long, block: () -> T): T {
    var result: Result<T>? = null
    val done = CountDownLatch(1)
    Thread {
        result = runCatching(block)
        done.countDown()
    }.apply { isDaemon = true }.start()
    if (!done.await(seconds, TimeUnit.SECONDS)) fail("did not finish in $seconds s: deadlock?")
    return result!!.getOrThrow()
}

/** Runs the `kmer-consent` CLI built by `cargo build` (to record decisions at a chosen time). */
fun cli(vararg args: String) {
    val binary = File("target/debug/kmer-consent")
    check(binary.canExecute()) { "build the CLI first: cargo build -p kmer-consent-cli" }
    val process = ProcessBuilder(binary.path, *args).redirectErrorStream(true).start()
    val output = process.inputStream.bufferedReader().readText()
    check(process.waitFor() == 0) { "kmer-consent ${args.joinToString(" ")} failed: $output" }
}
