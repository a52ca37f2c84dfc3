package com.kmeroccase.consent

import java.io.File
import java.util.Locale
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder

/** A key-value store that remembers each value's type, like SharedPreferences. */
class MemoryStorage : IabTcfStorage {
    val values = java.util.concurrent.ConcurrentHashMap<String, Any>()
    override fun keys(): Set<String> = values.keys.toSet()
    override fun write(changes: IabTcfChanges) {
        changes.remove.forEach { values.remove(it) }
        for (entry in changes.put) {
            values[entry.key] = when (val value = entry.value) {
                is StoredValue.Int -> value.value
                is StoredValue.Text -> value.value
            }
        }
    }
}

val TCF_POLICY: String = File("policies/kmeroccase-tcf.json").readText()

class SignalsTest {
    @get:Rule
    val tmp = TemporaryFolder()

    private fun open(policy: String = TCF_POLICY) =
        KmerConsent.open(File(tmp.root, "consent.db"), policy, Locale.forLanguageTag("fr-CM"), callbackExecutor = DIRECT)

    @Test
    fun `consent mode signals go straight into a setConsent map`() = open().use { consent ->
        val denied = consent.snapshots.value.consentMode.toConsentMap({ it }, "GRANTED", "DENIED")
        assertEquals(
            mapOf("ANALYTICS_STORAGE" to "DENIED", "AD_STORAGE" to "DENIED", "AD_USER_DATA" to "DENIED", "AD_PERSONALIZATION" to "DENIED"),
            denied,
        )
        consent.save(statistics = true)
        val map = consent.snapshots.value.consentMode.toConsentMap({ it }, true, false)
        assertEquals(mapOf("ANALYTICS_STORAGE" to true, "AD_STORAGE" to false, "AD_USER_DATA" to false, "AD_PERSONALIZATION" to false), map)
    }

    @Test
    fun `IAB keys are written with their types and follow every change`() = open().use { consent ->
        val storage = MemoryStorage()
        storage.values["unrelated_app_setting"] = "kept"
        storage.values["IABTCF_PublisherRestrictions2"] = "stale from an old CMP"
        consent.writeIabTcfKeys(storage, DIRECT)
        // Before a decision: the CMP keys only.
        assertEquals(1, storage.values["IABTCF_gdprApplies"])
        assertEquals(4, storage.values["IABTCF_PolicyVersion"])
        assertEquals("CM", storage.values["IABTCF_PublisherCC"])
        assertNull(storage.values["IABTCF_TCString"])
        assertFalse(storage.values.containsKey("IABTCF_PublisherRestrictions2"), "a stale IAB key is removed")
        assertEquals("kept", storage.values["unrelated_app_setting"])

        consent.acceptAll()
        val tc = storage.values["IABTCF_TCString"] as String
        assertEquals(consent.snapshots.value.tcString, tc)
        assertEquals("11111111111", storage.values["IABTCF_PurposeConsents"])
        assertTrue(storage.values["IABTCF_CmpSdkID"] is Int)
        assertTrue(storage.values["IABTCF_VendorConsents"] is String)
        assertEquals("2~89~dv.", storage.values["IABTCF_AddtlConsent"])

        consent.rejectAll()
        assertEquals("00000000000", storage.values["IABTCF_PurposeConsents"])
        assertEquals("2~~dv.89", storage.values["IABTCF_AddtlConsent"])
        assertTrue(storage.values["IABTCF_TCString"] != tc)
    }

    @Test
    fun `every IAB key is removed when TCF is no longer configured`() {
        val storage = MemoryStorage()
        open().use { consent ->
            consent.writeIabTcfKeys(storage, DIRECT)
            consent.acceptAll()
            assertNotNull(storage.values["IABTCF_TCString"])
        }
        // The policy without its TCF section, published as a new revision (the same revision with
        // other content would be a text edited in place: it grants nothing).
        open(policyWith("\"revision\": 1", "\"revision\": 2")).use { consent ->
            consent.writeIabTcfKeys(storage, DIRECT)
            assertEquals(emptyList(), storage.keys().filter { it.startsWith("IABTCF_") })
            assertTrue(consent.snapshots.value.consentMode.adStorage, "Consent Mode still works")
        }
    }
}
