// Runs the JUnit 4 test classes named on the command line and ends with one line,
// "kotlin: N passed, N failed"; exits 1 on any failure.
package com.kmeroccase.consent.testing

import kotlin.system.exitProcess
import org.junit.runner.Description
import org.junit.runner.JUnitCore
import org.junit.runner.notification.Failure
import org.junit.runner.notification.RunListener

fun main(args: Array<String>) {
    val core = JUnitCore()
    core.addListener(object : RunListener() {
        private var failed = false

        override fun testStarted(description: Description) {
            failed = false
        }

        override fun testFailure(failure: Failure) {
            failed = true
            println("test ${failure.description.className}.${failure.description.methodName} ... FAILED")
            println(failure.trace)
        }

        override fun testFinished(description: Description) {
            if (!failed) println("test ${description.className}.${description.methodName} ... ok")
        }
    })
    val classes = args.map { Class.forName(it) }.toTypedArray()
    val result = core.run(*classes)
    val passed = result.runCount - result.failureCount
    println("kotlin: $passed passed, ${result.failureCount} failed")
    exitProcess(if (result.wasSuccessful() && result.runCount > 0) 0 else 1)
}
