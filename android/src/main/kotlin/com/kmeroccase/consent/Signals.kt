package com.kmeroccase.consent

import com.kmeroccase.consent.ffi.StoredValue

/** Google Consent Mode v2 signals for the categories in force (part of every snapshot). */
typealias ConsentModeSignals = com.kmeroccase.consent.ffi.ConsentModeSignals

/**
 * The signals in the form `FirebaseAnalytics.setConsent` takes, without this library depending on
 * Firebase:
 * ```
 * analytics.setConsent(snapshot.consentMode.toConsentMap(ConsentType::valueOf, GRANTED, DENIED))
 * ```
 * [type] receives `ANALYTICS_STORAGE`, `AD_STORAGE`, `AD_USER_DATA`, `AD_PERSONALIZATION`.
 */
fun <T, S> ConsentModeSignals.toConsentMap(type: (String) -> T, granted: S, denied: S): Map<T, S> =
    linkedMapOf(
        type("ANALYTICS_STORAGE") to if (analyticsStorage) granted else denied,
        type("AD_STORAGE") to if (adStorage) granted else denied,
        type("AD_USER_DATA") to if (adUserData) granted else denied,
        type("AD_PERSONALIZATION") to if (adPersonalization) granted else denied,
    )

/**
 * Where ad SDKs read the IAB TCF keys: on Android the default SharedPreferences
 * (`KmerConsentAndroid` connects it). Implement it over any key-value store for tests.
 */
interface IabTcfStorage {
    /** The keys present now (only those starting with `IABTCF_` matter). */
    fun keys(): Set<String>

    /** Writes [put] with their types and deletes [remove], as one batch. */
    fun write(put: Map<String, StoredValue>, remove: Set<String>)
}

/** Makes [storage] hold exactly [entries] among its `IABTCF_*` keys; other keys are left alone. */
internal fun applyIabTcfKeys(storage: IabTcfStorage, entries: List<com.kmeroccase.consent.ffi.StoredEntry>) {
    val put = entries.associate { it.key to it.value }
    val stale = storage.keys().filter { it.startsWith(IAB_TCF_PREFIX) && it !in put }.toSet()
    storage.write(put, stale)
}

internal const val IAB_TCF_PREFIX = "IABTCF_"
