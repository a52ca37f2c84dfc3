import Foundation

extension TrackingAuthorization {
    /// The status for a raw `ATTrackingManager.AuthorizationStatus` value (0 not determined,
    /// 1 restricted, 2 denied, 3 authorized). An unknown value is `.notDetermined`: tracking stays off.
    public init(attStatusRawValue: UInt) {
        switch attStatusRawValue {
        case 1: self = .restricted
        case 2: self = .denied
        case 3: self = .authorized
        default: self = .notDetermined
        }
    }
}

/// The tracking status to report at launch: ATT's where it exists, `.notApplicable` elsewhere.
func systemTrackingAuthorization() -> TrackingAuthorization {
    #if canImport(AppTrackingTransparency)
    if #available(iOS 14, macOS 11, tvOS 14, *) {
        return TrackingAuthorization(attStatusRawValue: ATTrackingManager.trackingAuthorizationStatus.rawValue)
    }
    return .notApplicable
    #else
    return .notApplicable
    #endif
}

#if canImport(AppTrackingTransparency)
import AppTrackingTransparency

extension KmerConsentSDK {
    /// Re-reads ATT's status and reports it (the user can change it in Settings at any time; `open`
    /// already reads it once per launch).
    public func reportSystemTrackingAuthorization() throws {
        try setTrackingAuthorization(systemTrackingAuthorization())
    }

    /// Shows the system ATT prompt when the core says it may be shown (the user granted marketing,
    /// and ATT has not been answered yet), and reports the resulting status. ATT is not consent: it
    /// never replaces the banner, and SDKs that need it stay off unless marketing is granted too.
    @available(iOS 14, macOS 11, tvOS 14, *)
    @MainActor
    public func requestTrackingAuthorizationIfConsented() async throws -> TrackingAuthorization {
        let current = systemTrackingAuthorization()
        guard try manager.mayRequestTrackingAuthorization(systemStatus: current) else {
            try setTrackingAuthorization(current)
            return current
        }
        let answer = await ATTrackingManager.requestTrackingAuthorization()
        let status = TrackingAuthorization(attStatusRawValue: answer.rawValue)
        try setTrackingAuthorization(status)
        return status
    }
}
#endif

#if canImport(Combine)
import Combine

extension KmerConsentSDK {
    /// The current snapshot, then one after every change, as a Combine publisher. Each subscriber
    /// starts from the newest snapshot, even one published before it subscribed.
    public var snapshotPublisher: AnyPublisher<ConsentSnapshot, Never> {
        let stream = snapshots
        let subject = CurrentValueSubject<ConsentSnapshot?, Never>(nil)
        let box = UncheckedBox(subject)
        let task = Task {
            for await snapshot in stream { box.value.send(snapshot) }
        }
        return subject
            .compactMap { $0 }
            .removeDuplicates()
            .handleEvents(receiveCancel: { task.cancel() })
            .eraseToAnyPublisher()
    }
}

/// Carries a Combine subject (not `Sendable`) into the task that feeds it; only that task sends.
private final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
#endif
