// The README's proof and sync calls, run by ReadmeSamplesTest.
package com.kmeroccase.consent.readme

// README: kotlin-proof-and-sync
import com.kmeroccase.consent.KmerConsent

// Proof of consent: the hash chain checked, every decision, the latest one's receipt (JSON).
fun proofOfConsent(consent: KmerConsent): String? {
    val check = consent.verifyHistory() // intact, firstBrokenRecord, witnessedRecords, …
    for (record in consent.history()) {
        println("${record.decidedAtMs} ${record.source} ${record.categories} ${record.witnessedAtMs}")
    }
    return if (check.intact) consent.exportProof() else null // null before any decision
}

// Profiles and sync. `post` is the app's own HTTP call: it sends a receipt to the back end and
// returns the back end's signed acknowledgement (KmerConsent…open(…, backendPublicKey = …)).
fun logIn(consent: KmerConsent, accountId: String) {
    consent.setSubject(accountId) // setSubject(null) after logout
}
fun sync(consent: KmerConsent, post: (String) -> String) {
    for (pending in consent.pendingReceipts(limit = 100)) {
        consent.acknowledgeSigned(post(pending.receiptJson))
    }
}
fun applyFromAnotherDevice(consent: KmerConsent, countersignedReceipt: String): Boolean =
    consent.importReceipt(countersignedReceipt) // false: already applied, or older than here
fun eraseAccount(consent: KmerConsent) {
    consent.eraseSubject() // this user's records, witnesses and pending receipts
}
// END README
