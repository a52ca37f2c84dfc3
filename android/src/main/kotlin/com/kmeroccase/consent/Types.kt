// The core's value types, under the SDK's own package so apps import one package.
package com.kmeroccase.consent

/** A consent category: essential, statistics, personalization, marketing. */
typealias Category = com.kmeroccase.consent.ffi.Category

/**
 * Where consent stands: whether to prompt and why, each category, dates, and whether the decision in
 * force is held in memory because the store refused it (`notYetSaved`, documented there).
 */
typealias ConsentStatus = com.kmeroccase.consent.ffi.ConsentStatus

/** A consistent view of consent at one moment: the status and every SDK's verdict. */
typealias ConsentSnapshot = com.kmeroccase.consent.ffi.ConsentSnapshot

/** The gate's answer for one SDK, with its reason. */
typealias Verdict = com.kmeroccase.consent.ffi.Verdict

/** Why an SDK may or may not start. */
typealias VerdictReason = com.kmeroccase.consent.ffi.VerdictReason

/** Why the app should show the banner. */
typealias PromptReason = com.kmeroccase.consent.ffi.PromptReason

/** How a decision was made. */
typealias DecisionSource = com.kmeroccase.consent.ffi.DecisionSource

/** One entry of the consent history, with when the back end witnessed it (`witnessedAtMs`). */
typealias ConsentRecord = com.kmeroccase.consent.ffi.ConsentRecord

/** The banner's texts, categories and SDKs in one locale. */
typealias Banner = com.kmeroccase.consent.ffi.Banner

/** The OS tracking authorization (iOS ATT); `NOT_APPLICABLE` on Android. */
typealias TrackingAuthorization = com.kmeroccase.consent.ffi.TrackingAuthorization

/** A receipt waiting to be sent to the app's back end. */
typealias PendingReceipt = com.kmeroccase.consent.ffi.PendingReceipt

/** What checking the history's hash chain and the back end's acknowledgements found. */
typealias HistoryCheck = com.kmeroccase.consent.ffi.HistoryCheck

/** Which layer the consent page opens on: the banner, or the preferences alone. */
typealias ConsentPageLayer = com.kmeroccase.consent.ffi.ConsentPageLayer
