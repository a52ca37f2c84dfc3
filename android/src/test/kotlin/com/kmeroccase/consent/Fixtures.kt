package com.kmeroccase.consent

import java.io.File
import java.time.Instant
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

fun openIn(
    dir: File,
    executor: Executor? = DIRECT,
    name: String = "consent.db",
    backendPublicKey: String? = null,
): KmerConsent =
    KmerConsent.open(
        databaseFile = File(dir, name),
        policyJson = POLICY,
        locale = java.util.Locale.forLanguageTag("fr-CM"),
        callbackExecutor = executor,
        appVersion = "5.2.0",
        backendPublicKey = backendPublicKey,
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

/**
 * Runs the `kmer-consent` CLI built by `cargo build` (to record decisions at a chosen time, or to play
 * the app's back end) and returns its standard output.
 */
fun cli(vararg args: String): String {
    val errors = File.createTempFile("kmer-consent", ".stderr")
    try {
        val process = cliProcess(*args).redirectError(errors).start()
        val output = process.inputStream.bufferedReader().readText()
        check(process.waitFor() == 0) { "kmer-consent ${args.joinToString(" ")} failed: ${errors.readText()}" }
        return output
    } finally {
        errors.delete()
    }
}

/** The CLI's command line, for a process the test drives itself. */
fun cliProcess(vararg args: String): ProcessBuilder {
    val binary = File("target/debug/kmer-consent")
    check(binary.canExecute()) { "build the CLI first: cargo build -p kmer-consent-cli" }
    return ProcessBuilder(binary.path, *args)
}

/** The app's back end, as the CLI plays it: a key pair (made in [dir]), and countersignatures. */
internal class Backend(private val dir: File) {
    private val key = File(dir, "backend.key")
    val publicKey: String = cli("keygen", "--out", key.path).trim()

    /** [receipt] countersigned as seen at [at]; the acknowledgement is written to [ackOut] if given. */
    fun countersign(receipt: String, at: Instant = Instant.now(), ackOut: File? = null): String {
        val file = File.createTempFile("receipt", ".json", dir).apply { writeText(receipt) }
        val ack = ackOut?.let { arrayOf("--ack-out", it.path) } ?: emptyArray()
        return cli("countersign", "--key", key.path, "--at", at.toString(), *ack, file.path)
    }
}

/**
 * Runs [block] while another process (the CLI) holds the write lock of the store at [db]: the SDK's
 * writes wait out their busy timeout (5 s), then fail as a full disk would.
 */
fun <T> whileStoreLocked(db: File, block: () -> T): T {
    val locker = cliProcess("--db", db.path, "hold-write-lock", "--for-ms", "15000").redirectErrorStream(true).start()
    try {
        check(finishesWithin(10) { locker.inputStream.bufferedReader().readLine() } == "locked") { "the lock was not taken" }
        return block()
    } finally {
        locker.destroyForcibly().waitFor()
    }
}
