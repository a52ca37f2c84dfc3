// The programs ColdStartBench runs, each in a JVM of its own: one cold start per process. Each prints
// `cold|<mark>|<System.nanoTime()>` lines (the parent reads them; on Linux the clock is the system's
// monotonic clock, the same in every process) and nothing is timed before `main` starts. They load
// nothing the measured path does not: no file-level state here, so starting one of these objects
// loads only itself.
package com.kmeroccase.consent.bench

import com.kmeroccase.consent.KmerConsent
import com.kmeroccase.consent.UniffiLib
import com.sun.jna.Native
import com.sun.jna.NativeLibrary
import java.io.File
import java.util.concurrent.CountDownLatch

/** The SDK the stored decision allows: `canStart` answering true shows the store was read. */
internal const val COLD_GATED_SDK = "firebase_analytics"

/**
 * The measured part of a cold start: from the SDK's classes not yet loaded to a `canStart` answer from
 * the opened store (returned with the instance): `openInBackground`, its ready callback, `canStart`.
 */
internal fun coldOpenToReady(databaseFile: File, policyJson: String, returnedAt: LongArray): Pair<KmerConsent, Boolean> {
    // The app's way: returns at once, loads and opens on its own thread, then says it is ready (the
    // callback form, as an Application.onCreate would use it; no coroutine machinery to load).
    val consent = KmerConsent.openInBackground(databaseFile, policyJson)
    returnedAt[0] = System.nanoTime() // what the calling thread (an app's main thread) waited; printed later
    val ready = CountDownLatch(1)
    consent.onReady({ it.run() }) { error -> check(error == null) { "the open failed: $error" }; ready.countDown() }
    ready.await()
    return consent to consent.canStart(COLD_GATED_SDK)
}

private fun mark(name: String, at: Long = System.nanoTime()) = println("cold|$name|$at")

/** The library as bare JNA sees it: one function of it, direct-mapped as UniFFI's bindings map them. */
private object BareLibrary {
    init {
        Native.register(BareLibrary::class.java, "kmer_consent")
    }

    external fun ffi_kmer_consent_uniffi_contract_version(): Int
}

/** (a) The baseline: JNA loads the same library and a registered function's first call returns. */
object ColdBareJna {
    @JvmStatic
    fun main(args: Array<String>) {
        val start = System.nanoTime()
        val version = BareLibrary.ffi_kmer_consent_uniffi_contract_version()
        val ready = System.nanoTime()
        mark("main", start)
        mark("ready", ready)
        if (version <= 0) error("contract version $version")
    }
}

/**
 * (b) What an app does at launch: read its policy, open the store, ask the gate. Arguments: the
 * policy file, the store, and "decided" (a store whose decision allows the SDK) or "new" (no file
 * yet: an app's first launch, the store created).
 */
object ColdOpen {
    @JvmStatic
    fun main(args: Array<String>) {
        val start = System.nanoTime()
        val policy = File(args[0]).readText()
        val policyRead = System.nanoTime()
        val returned = LongArray(1)
        val (consent, allowed) = coldOpenToReady(File(args[1]), policy, returned)
        val ready = System.nanoTime()
        mark("main", start)
        mark("returned", returned[0])
        mark("policy", policyRead)
        mark("ready", ready)
        consent.close()
        check(allowed == (args[2] == "decided")) { "canStart($COLD_GATED_SDK) answered $allowed on a ${args[2]} store" }
    }
}

/**
 * (c) The same start, phase by phase: each step forces what the next would otherwise load on its way,
 * so the marks split one cold start into JNA, UniFFI's own start and the SDK's open. A separate kind
 * of sample (forcing a class first changes nothing in what is loaded, only where it is timed).
 */
object ColdPhases {
    @JvmStatic
    fun main(args: Array<String>) {
        val start = System.nanoTime()
        mark("main", start)
        val policy = File(args[0]).readText()
        mark("policy")
        // JNA: its classes, its own native part (libjnidispatch), then our library through dlopen.
        Class.forName("com.sun.jna.Native")
        mark("jna")
        NativeLibrary.getInstance("kmer_consent")
        mark("library")
        // UniFFI's start: every function registered at load, the callback tables handed to the core.
        UniffiLib.ensureInitialized()
        mark("uniffi")
        // The open itself: the options lowered, the core opening SQLite, the first snapshot lifted,
        // the wrapper's StateFlow, mirror and listener; then the gate.
        val (consent, allowed) = coldOpenToReady(File(args[1]), policy, LongArray(1))
        mark("ready")
        consent.close()
        check(allowed) { "the stored decision allows $COLD_GATED_SDK: was the store read?" }
    }
}
