// A small app that uses the SDK the way an app does, shrunk and obfuscated by ProGuard with only the
// SDK's consumer rules (android/consumer-rules.pro) and its own entry point kept, then run against the
// native library by android/checks/run.sh. JNA finds the bindings' structures, callbacks and native
// methods by reflection: a keep rule that is missing breaks this app, not a test's own classes.
package com.example.shrunk

import com.kmeroccase.consent.Category
import com.kmeroccase.consent.ConsentPageLayer
import com.kmeroccase.consent.KmerConsent
import com.kmeroccase.consent.KmerConsentException
import com.kmeroccase.consent.TrackingAuthorization
import java.io.File
import java.util.Locale
import java.util.concurrent.Executor
import kotlin.system.exitProcess
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking

private fun expect(condition: Boolean, what: String) {
    if (!condition) {
        System.err.println("shrunk app: $what")
        exitProcess(1)
    }
}

fun main(args: Array<String>) {
    val dir = File(args[0])
    val direct = Executor { it.run() }
    KmerConsent.open(
        databaseFile = File(dir, "kmer-consent.db"),
        policyJson = File(args[1]).readText(),
        locale = Locale.FRENCH,
        trackingAuthorization = TrackingAuthorization.NOT_APPLICABLE,
        callbackExecutor = direct,
    ).use { consent ->
        expect(!consent.canStart("firebase_analytics"), "nothing runs before a decision")
        // Callback interfaces, called from native code.
        var started = 0
        consent.whenAllowed("firebase_analytics") { started++ }
        val heard = mutableListOf<Boolean>()
        consent.addListener { heard += it.status.categories[Category.STATISTICS] == true }
        // Records, enums, maps and optionals across the boundary, both ways.
        consent.save(mapOf(Category.STATISTICS to true, Category.PERSONALIZATION to false, Category.MARKETING to false))
        expect(consent.canStart("firebase_analytics"), "the decision opens the gate")
        expect(!consent.canStart("google_mobile_ads"), "and only what was chosen")
        expect(started == 1, "whenAllowed ran once: $started")
        expect(heard.lastOrNull() == true, "the listener heard the decision: $heard")
        expect(consent.history().single().categories[Category.STATISTICS] == true, "history reads back")
        expect(consent.verifyHistory().intact, "the chain verifies")
        expect(consent.consentPage(ConsentPageLayer.BANNER, Locale.ENGLISH).startsWith("<!doctype html>"), "page")
        // An error from the core, as its typed exception.
        val refused = runCatching { consent.applyUiMessage("{}") }.exceptionOrNull()
        expect(refused is KmerConsentException.InvalidUiMessage, "a bad message is InvalidUiMessage: $refused")
        // The coroutine flow.
        val snapshot = runBlocking { consent.snapshots.first { it.status.categories[Category.STATISTICS] == true } }
        expect(snapshot.sdks.getValue("firebase_analytics").allowed, "the flow carries the decision")
        consent.withdraw()
        expect(!consent.canStart("firebase_analytics"), "withdrawal closes it")
    }
    println("shrunk app: ok")
}
