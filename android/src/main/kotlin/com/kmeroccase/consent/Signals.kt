package com.kmeroccase.consent

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
    /** The keys present now (the core picks out the `IABTCF_*` ones). */
    fun keys(): Set<String>

    /** Applies [changes] as one batch: writes `put` with their types, deletes `remove`. */
    fun write(changes: IabTcfChanges)
}
