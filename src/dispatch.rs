//! Delivering changes to the app: listeners get every snapshot in order, registered SDKs get `start`
//! and `stop`. Callbacks always run outside every internal lock, so a callback may call back into the
//! manager; such a call's own notifications are queued and delivered after the callback returns.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::snapshot::{ConsentSnapshot, Gate};

/// Told of every consent change. Implemented in Kotlin or Swift (or Rust).
#[uniffi::export(with_foreign)]
pub trait ConsentListener: Send + Sync {
    /// Called with the new snapshot after each change, in order, on the thread that made the change
    /// (or on one that was already delivering). Keep it short; it may call back into the manager.
    fn on_consent_changed(&self, snapshot: ConsentSnapshot);
}

/// An SDK whose start and stop the manager drives from consent.
#[uniffi::export(with_foreign)]
pub trait SdkLifecycle: Send + Sync {
    /// The SDK became allowed: initialise it. Called once per transition, never twice in a row.
    fn start(&self);
    /// The SDK stopped being allowed (refusal, withdrawal, expiry): stop it and delete its data.
    fn stop(&self);
}

/// The platform layer's own copy of the gate (Kotlin's and Swift's cache behind `canStart`). Unlike a
/// [`ConsentListener`], it is called synchronously, under the manager's writer lock, with every
/// snapshot the manager publishes, in order, before the call that caused it returns: so a
/// platform's cache is never behind a call that returned, and nothing needs to compare sequence
/// numbers. It must only store the snapshot and return: never block, never call the manager.
#[uniffi::export(with_foreign)]
pub trait SnapshotMirror: Send + Sync {
    /// The snapshot now in force.
    fn mirror(&self, snapshot: ConsentSnapshot);
}

/// Ends a listener or SDK registration. Dropping it does not: call `cancel`.
#[derive(uniffi::Object)]
pub struct Subscription {
    dispatcher: Weak<Dispatcher>,
    id: u64,
}

#[uniffi::export]
impl Subscription {
    /// Stops the callbacks of this registration. An SDK already started is not stopped. Idempotent.
    pub fn cancel(&self) {
        if let Some(dispatcher) = self.dispatcher.upgrade() {
            dispatcher.remove(self.id);
        }
    }
}

enum Event {
    /// A new snapshot for every listener; registered SDKs follow the latest one.
    Published(Arc<Gate>),
    /// The current snapshot for a listener just added.
    Replay { listener: u64, gate: Arc<Gate> },
    /// An SDK was just registered: start it if it is allowed.
    SyncSdks,
}

enum Call {
    Notify(Arc<dyn ConsentListener>, Arc<Gate>),
    Start(Arc<dyn SdkLifecycle>),
    Stop(Arc<dyn SdkLifecycle>),
}

struct RegisteredSdk {
    id: u64,
    sdk_id: String,
    lifecycle: Arc<dyn SdkLifecycle>,
    started: bool,
}

struct State {
    queue: VecDeque<Event>,
    draining: bool,
    latest: Arc<Gate>,
    listeners: Vec<(u64, Arc<dyn ConsentListener>)>,
    sdks: Vec<RegisteredSdk>,
    next_id: u64,
    /// After [`Dispatcher::close`]: nothing is queued, registered or delivered any more.
    closed: bool,
}

pub struct Dispatcher {
    state: Mutex<State>,
}

impl Dispatcher {
    pub fn new(initial: Arc<Gate>) -> Arc<Dispatcher> {
        Arc::new(Dispatcher {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                draining: false,
                latest: initial,
                listeners: Vec::new(),
                sdks: Vec::new(),
                next_id: 1,
                closed: false,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking callback never holds this lock; recover the data if one ever did.
        crate::locks::lock(&self.state)
    }

    /// Queues a new snapshot. Call [`Dispatcher::drain`] once no other lock is held.
    pub fn publish(&self, gate: Arc<Gate>) {
        let mut state = self.lock();
        if state.closed {
            return;
        }
        state.latest = Arc::clone(&gate);
        state.queue.push_back(Event::Published(gate));
    }

    pub fn add_listener(self: &Arc<Self>, listener: Arc<dyn ConsentListener>) -> Subscription {
        let mut state = self.lock();
        let id = state.take_id();
        if state.closed {
            return self.subscription(id);
        }
        state.listeners.push((id, listener));
        let gate = Arc::clone(&state.latest);
        state.queue.push_back(Event::Replay { listener: id, gate });
        self.subscription(id)
    }

    pub fn register_sdk(
        self: &Arc<Self>,
        sdk_id: String,
        lifecycle: Arc<dyn SdkLifecycle>,
    ) -> Subscription {
        let mut state = self.lock();
        let id = state.take_id();
        if state.closed {
            return self.subscription(id);
        }
        state.sdks.push(RegisteredSdk {
            id,
            sdk_id,
            lifecycle,
            started: false,
        });
        state.queue.push_back(Event::SyncSdks);
        self.subscription(id)
    }

    fn subscription(self: &Arc<Self>, id: u64) -> Subscription {
        Subscription {
            dispatcher: Arc::downgrade(self),
            id,
        }
    }

    fn remove(&self, id: u64) {
        let mut state = self.lock();
        state.listeners.retain(|(i, _)| *i != id);
        state.sdks.retain(|s| s.id != id);
    }

    /// Ends every registration and drops what is queued: no callback starts after this returns
    /// (one already running on another thread finishes). SDKs already started are not told to stop.
    pub fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.queue.clear();
        state.listeners.clear();
        state.sdks.clear();
    }

    /// Delivers queued events, unless this or another thread is already doing so (then that thread
    /// delivers them, in order).
    pub fn drain(&self) {
        let mut state = self.lock();
        if state.draining {
            return;
        }
        state.draining = true;
        while let Some(event) = state.queue.pop_front() {
            let calls = state.plan(event);
            drop(state);
            for call in calls {
                // After `close` nothing more is delivered, even what was planned before it.
                if self.lock().closed {
                    break;
                }
                // A callback that throws (or panics) must not stop the others nor cross the FFI.
                let _ = catch_unwind(AssertUnwindSafe(|| match call {
                    Call::Notify(listener, gate) => {
                        listener.on_consent_changed(gate.snapshot.clone())
                    }
                    Call::Start(sdk) => sdk.start(),
                    Call::Stop(sdk) => sdk.stop(),
                }));
            }
            state = self.lock();
        }
        state.draining = false;
    }
}

impl State {
    fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn plan(&mut self, event: Event) -> Vec<Call> {
        let mut calls = Vec::new();
        match event {
            Event::Published(gate) => {
                for (_, listener) in &self.listeners {
                    calls.push(Call::Notify(Arc::clone(listener), Arc::clone(&gate)));
                }
                self.sync_sdks(&mut calls);
            }
            Event::Replay { listener, gate } => {
                if let Some((_, l)) = self.listeners.iter().find(|(id, _)| *id == listener) {
                    calls.push(Call::Notify(Arc::clone(l), gate));
                }
            }
            Event::SyncSdks => self.sync_sdks(&mut calls),
        }
        calls
    }

    /// Starts or stops each registered SDK whose verdict in the latest snapshot changed.
    fn sync_sdks(&mut self, calls: &mut Vec<Call>) {
        let latest = &self.latest.snapshot;
        for sdk in &mut self.sdks {
            let allowed = latest.sdks.get(&sdk.sdk_id).is_some_and(|v| v.allowed);
            if allowed != sdk.started {
                sdk.started = allowed;
                let lifecycle = Arc::clone(&sdk.lifecycle);
                calls.push(if allowed {
                    Call::Start(lifecycle)
                } else {
                    Call::Stop(lifecycle)
                });
            }
        }
    }
}
