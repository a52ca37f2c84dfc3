import Foundation

/// Everything the SDK throws. Descriptions are for logs and bug reports, never for end users.
public enum KmerConsentError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// The policy JSON was refused; `path` names the field (`sdks[2].category`), empty for the document.
    case invalidPolicy(path: String, reason: String)
    /// A new policy cannot replace the current one: it has another policy id. (A lower revision is
    /// applied, and asks again.)
    case policyUpdateRefused(reason: String)
    /// The essential category is always granted: a choice refusing it was rejected, nothing recorded.
    case essentialCannotBeRefused
    /// The policy does not list this SDK id.
    case unknownSdk(String)
    /// The consent database could not be opened, read or written. Nothing was recorded. A decision
    /// that grants nothing new (a refusal, a withdrawal, a narrower choice, a first "Reject all") does
    /// not throw this: it takes effect at once and is written later (`ConsentStatus.notYetSaved`). A
    /// choice that grants and refuses at once may throw it after its refusals took effect; what it
    /// grants did not.
    case storage(reason: String)
    /// A receipt to import does not verify, carries no valid signature of the app's back end, or is
    /// not for this user and policy. Nothing was recorded.
    case invalidReceipt(reason: String)
    /// An account id that cannot name a subject (empty, or longer than 512 bytes).
    case invalidSubject(reason: String)
    /// A message from the consent page was refused (malformed, oversized, an unknown action or
    /// category, or a page this store did not render for this user and the policy in force, or
    /// rendered before another decision was recorded: a page answers once). Nothing was recorded;
    /// render the page again.
    case invalidUIMessage(reason: String)
    /// The call needs the app's back end's public key (imports, signed acknowledgements) and none was
    /// given to `open`, or the one given is not an Ed25519 public key (64 hex digits).
    case backendKey(reason: String)
    /// The back end's acknowledgement was refused: malformed, its signature does not verify under the
    /// key given to `open`, or it names no record of this store. Nothing was stored.
    case invalidAcknowledgement(reason: String)
    /// The system's secure random generator failed; no weaker key was made in its place.
    case noSecureRandomness(reason: String)
    /// The SDK instance was closed.
    case closed

    public var description: String {
        switch self {
        case let .invalidPolicy(path, reason):
            return path.isEmpty ? "Invalid policy: \(reason)" : "Invalid policy at \(path): \(reason)"
        case let .policyUpdateRefused(reason):
            return "Policy update refused: \(reason)"
        case .essentialCannotBeRefused:
            return "The essential category cannot be refused"
        case let .unknownSdk(id):
            return "Unknown SDK id \"\(id)\": it is not listed in the policy"
        case let .storage(reason):
            return "Consent storage error: \(reason)"
        case let .invalidReceipt(reason):
            return "Receipt refused: \(reason)"
        case let .invalidSubject(reason):
            return "Invalid subject: \(reason)"
        case let .invalidUIMessage(reason):
            return "Consent page message refused: \(reason)"
        case let .backendKey(reason):
            return "Back end key: \(reason)"
        case let .invalidAcknowledgement(reason):
            return "Acknowledgement refused: \(reason)"
        case let .noSecureRandomness(reason):
            return "No secure random numbers: \(reason)"
        case .closed:
            return "KmerConsent is closed"
        }
    }

    public var errorDescription: String? { description }

    init(_ error: ConsentError) {
        switch error {
        case let .InvalidPolicy(path, reason): self = .invalidPolicy(path: path, reason: reason)
        case let .PolicyUpdateRefused(reason): self = .policyUpdateRefused(reason: reason)
        case .EssentialCannotBeRefused: self = .essentialCannotBeRefused
        case let .UnknownSdk(sdkId): self = .unknownSdk(sdkId)
        case let .Storage(reason): self = .storage(reason: reason)
        case let .InvalidReceipt(reason): self = .invalidReceipt(reason: reason)
        case let .InvalidSubject(reason): self = .invalidSubject(reason: reason)
        case let .InvalidUiMessage(reason): self = .invalidUIMessage(reason: reason)
        case let .BackendKey(reason): self = .backendKey(reason: reason)
        case let .InvalidAcknowledgement(reason): self = .invalidAcknowledgement(reason: reason)
        case let .NoSecureRandomness(reason): self = .noSecureRandomness(reason: reason)
        }
    }
}

/// Runs a call into the core, turning its generated errors into `KmerConsentError`.
func translatingErrors<T>(_ call: () throws -> T) throws -> T {
    do {
        return try call()
    } catch let error as ConsentError {
        throw KmerConsentError(error)
    }
}
