import KmerConsent

// README: ios-proof-and-sync
// Proof of consent: the hash chain checked, every decision, the latest one's receipt (JSON).
func proofOfConsent(_ consent: KmerConsentSDK) throws -> String? {
    let check = try consent.verifyHistory()  // intact, firstBrokenRecord, witnessedRecords, …
    for record in try consent.history() {
        print(record.decidedAtMs, record.source, record.categories, record.witnessedAtMs ?? 0)
    }
    return check.intact ? try consent.exportProof() : nil  // nil before any decision
}

// Profiles and sync. `post` is the app's own HTTP call: it sends a receipt to the back end and
// returns the back end's signed acknowledgement (KmerConsentSDK.open(…, backendPublicKey:)).
func logIn(_ consent: KmerConsentSDK, accountID: String) throws {
    try consent.setSubject(accountID)  // setSubject(nil) after logout
}
func sync(_ consent: KmerConsentSDK, post: (String) throws -> String) throws {
    for pending in try consent.pendingReceipts(limit: 100) {
        try consent.acknowledgeSigned(try post(pending.receiptJson))
    }
}
func applyFromAnotherDevice(_ consent: KmerConsentSDK, countersignedReceipt: String) throws -> Bool {
    try consent.importReceipt(countersignedReceipt)  // false: already applied, or older than here
}
func eraseAccount(_ consent: KmerConsentSDK) throws {
    _ = try consent.eraseSubject()  // this user's records, witnesses and pending receipts
}
// END README
