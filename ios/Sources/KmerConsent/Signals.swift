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
    /// The keys present now (only those starting with `IABTCF_` matter).
    func keys() -> Set<String>
    /// Writes `put` with their types and deletes `remove`.
    func write(put: [String: StoredValue], remove: Set<String>)
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

    public func write(put: [String: StoredValue], remove: Set<String>) {
        for key in remove { defaults.removeObject(forKey: key) }
        for (key, value) in put {
            switch value {
            case let .int(value): defaults.set(Int(value), forKey: key)
            case let .text(value): defaults.set(value, forKey: key)
            }
        }
    }
}

extension KmerConsentSDK {
    /// Keeps the IAB TCF keys in `storage` equal to the current snapshot's: written with their types
    /// on every change, and every other `IABTCF_*` key removed (all of them when the policy has no
    /// `tcf` section). Cancel the token to stop.
    @discardableResult
    public func writeIabTcfKeys(
        to storage: IabTcfStorage = UserDefaultsIabTcfStorage(), on queue: DispatchQueue? = nil
    ) throws -> ConsentToken {
        try addListener(on: queue) { snapshot in applyIabTcfKeys(storage, snapshot.iabTcfKeys) }
    }
}

/// Makes `storage` hold exactly `entries` among its `IABTCF_*` keys; other keys are left alone.
func applyIabTcfKeys(_ storage: IabTcfStorage, _ entries: [StoredEntry]) {
    let put = Dictionary(entries.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    let stale = storage.keys().filter { $0.hasPrefix("IABTCF_") && put[$0] == nil }
    storage.write(put: put, remove: stale)
}
