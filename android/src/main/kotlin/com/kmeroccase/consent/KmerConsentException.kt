package com.kmeroccase.consent

import com.kmeroccase.consent.ffi.ConsentException
import com.kmeroccase.consent.ffi.InternalException

/**
 * Everything the SDK throws. Messages are for logs and bug reports, never for end users.
 */
sealed class KmerConsentException(message: String, cause: Throwable?) : Exception(message, cause) {
    /** The policy JSON was refused; [path] names the field (`sdks[2].category`), empty for the whole document. */
    class InvalidPolicy(val path: String, val reason: String, cause: Throwable? = null) :
        KmerConsentException(if (path.isEmpty()) "Invalid policy: $reason" else "Invalid policy at $path: $reason", cause)

    /**
     * A new policy cannot replace the current one: it has another policy id. (A lower revision is
     * applied, and asks again.)
     */
    class PolicyUpdateRefused(val reason: String, cause: Throwable? = null) :
        KmerConsentException("Policy update refused: $reason", cause)

    /** The essential category is always granted: a choice refusing it was rejected and nothing recorded. */
    class EssentialCannotBeRefused(cause: Throwable? = null) :
        KmerConsentException("The essential category cannot be refused", cause)

    /** The policy does not list this SDK id. */
    class UnknownSdk(val sdkId: String, cause: Throwable? = null) :
        KmerConsentException("Unknown SDK id \"$sdkId\": it is not listed in the policy", cause)

    /**
     * A receipt to import does not verify, carries no valid signature of the app's back end, or is
     * not for this user and policy. Nothing was recorded.
     */
    class InvalidReceipt(val reason: String, cause: Throwable? = null) :
        KmerConsentException("Receipt refused: $reason", cause)

    /** An account id that cannot name a subject (empty, or longer than 512 bytes). */
    class InvalidSubject(val reason: String, cause: Throwable? = null) :
        KmerConsentException("Invalid subject: $reason", cause)

    /**
     * A message from the consent page was refused (malformed, oversized, an unknown action or
     * category, or a page this store did not render for this user and the policy in force, or
     * rendered before another decision was recorded: a page answers once). Nothing was recorded;
     * render the page again.
     */
    class InvalidUiMessage(val reason: String, cause: Throwable? = null) :
        KmerConsentException("Consent page message refused: $reason", cause)

    /**
     * The consent database could not be opened, read or written. Nothing was recorded. A decision
     * that grants nothing new (a refusal, a withdrawal, a narrower choice, a first "Reject all") does
     * not throw this: it takes effect at once and is written later ([ConsentStatus.notYetSaved]). A
     * choice that grants and refuses at once may throw it after its refusals took effect; what it
     * grants did not.
     */
    class Storage(val reason: String, cause: Throwable? = null) :
        KmerConsentException("Consent storage error: $reason", cause)

    /**
     * The call needs the app's back end's public key (imports, signed acknowledgements) and none was
     * given to `open`, or the one given is not an Ed25519 public key (64 hex digits).
     */
    class BackendKey(val reason: String, cause: Throwable? = null) :
        KmerConsentException("Back end key: $reason", cause)

    /**
     * The back end's acknowledgement was refused: malformed, its signature does not verify under the
     * key given to `open`, or it names no record of this store. Nothing was stored.
     */
    class InvalidAcknowledgement(val reason: String, cause: Throwable? = null) :
        KmerConsentException("Acknowledgement refused: $reason", cause)

    /** The system's secure random generator failed; no weaker key was made in its place. */
    class NoSecureRandomness(val reason: String, cause: Throwable? = null) :
        KmerConsentException("No secure random numbers: $reason", cause)

    /** A bug in the SDK's native core (it never panics by design). Please report it. */
    class Internal(reason: String, cause: Throwable? = null) :
        KmerConsentException("Internal error in the consent core: $reason", cause)
}

/** Runs a call into the core, turning its generated exceptions into [KmerConsentException]. */
internal inline fun <T> translatingErrors(call: () -> T): T =
    try {
        call()
    } catch (e: ConsentException) {
        throw when (e) {
            is ConsentException.InvalidPolicy -> KmerConsentException.InvalidPolicy(e.path, e.reason, e)
            is ConsentException.PolicyUpdateRefused -> KmerConsentException.PolicyUpdateRefused(e.reason, e)
            is ConsentException.EssentialCannotBeRefused -> KmerConsentException.EssentialCannotBeRefused(e)
            is ConsentException.UnknownSdk -> KmerConsentException.UnknownSdk(e.sdkId, e)
            is ConsentException.Storage -> KmerConsentException.Storage(e.reason, e)
            is ConsentException.InvalidReceipt -> KmerConsentException.InvalidReceipt(e.reason, e)
            is ConsentException.InvalidSubject -> KmerConsentException.InvalidSubject(e.reason, e)
            is ConsentException.InvalidUiMessage -> KmerConsentException.InvalidUiMessage(e.reason, e)
            is ConsentException.BackendKey -> KmerConsentException.BackendKey(e.reason, e)
            is ConsentException.InvalidAcknowledgement -> KmerConsentException.InvalidAcknowledgement(e.reason, e)
            is ConsentException.NoSecureRandomness -> KmerConsentException.NoSecureRandomness(e.reason, e)
        }
    } catch (e: InternalException) {
        throw KmerConsentException.Internal(e.message ?: "unknown", e)
    }
