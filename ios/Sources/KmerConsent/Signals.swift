import Foundation

extension ConsentModeSignals {
    /// The signals in the form `Analytics.setConsent` takes, without depending on Firebase:
    /// `Analytics.setConsent(snapshot.consentMode.consentMap(type: ConsentType.init(rawValue:), granted: .granted, denied: .denied))`.
    /// `type` receives `analytics_storage`, `ad_storage`, `ad_user_data`, `ad_personalization`.
    public func consentMap<T: Hashable, S>(type: (String) -> T, granted: S, denied: S) -> [T: S] {
        [
            type("analytics_storage"): analyticsStorage ? granted : denied,
            type("ad_storage"): adStorage ? granted : denied,
            type("ad_user_data"): adUserData ? granted : denied,
            type("ad_personalization"): adPersonalization ? granted : denied,
        ]
    }
}

/// Where ad SDKs read the IAB TCF keys: the standard `UserDefaults` on iOS. Implement it over any
/// key-value store for tests.
public protocol IabTcfStorage: Sendable {
    /// The keys present now (the core picks out the `IABTCF_*` ones).
    func keys() -> Set<String>
    /// Applies `changes` as one batch: writes `put` with their types, deletes `remove`.
    func write(_ changes: IabTcfChanges)
}

/// The IAB TCF keys in a `UserDefaults` domain: Int keys as `Int`, String keys as `String`.
public struct UserDefaultsIabTcfStorage: IabTcfStorage, @unchecked Sendable {
    // UserDefaults is documented as thread-safe.
    private let defaults: UserDefaults

    public init(_ defaults: UserDefaults = .standard) {
        self.defaults = defaults
    }

    public func keys() -> Set<String> {
        Set(defaults.dictionaryRepresentation().keys)
    }

    public func write(_ changes: IabTcfChanges) {
        for key in changes.remove { defaults.removeObject(forKey: key) }
        for entry in changes.put {
            switch entry.value {
            case let .int(value): defaults.set(Int(value), forKey: entry.key)
            case let .text(value): defaults.set(value, forKey: entry.key)
            }
        }
    }
}

extension KmerConsentSDK {
    /// Keeps the IAB TCF keys in `storage` equal to the current snapshot's: written with their types
    /// on every change, and every other `IABTCF_*` key removed (all of them when the policy has no
    /// `tcf` section); the core computes what changes. Cancel the token to stop.
    @discardableResult
    public func writeIabTcfKeys(
        to storage: IabTcfStorage = UserDefaultsIabTcfStorage(), on queue: DispatchQueue? = nil
    ) throws -> ConsentToken {
        try addListener(on: queue) { snapshot in
            storage.write(iabTcfChanges(entries: snapshot.iabTcfKeys, presentKeys: Array(storage.keys())))
        }
    }
}
