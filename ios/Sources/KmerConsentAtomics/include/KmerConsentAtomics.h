// One pointer-sized cell read and written atomically, for the Swift gate: `canStart` loads the
// published set of allowed SDK ids with one acquire load instead of taking a lock. Swift 6.0 has
// atomics only in the Synchronization module (iOS 18 / macOS 15); these are the compiler's builtins,
// which every clang and gcc the package builds with provides.
#ifndef KMER_CONSENT_ATOMICS_H
#define KMER_CONSENT_ATOMICS_H

/// The pointer in `cell`, as last stored by `kmer_consent_store_release` (acquire ordering: what
/// was written before that store is visible after this load).
static inline const void *_Nullable kmer_consent_load_acquire(const void *_Nullable const *_Nonnull cell) {
    return __atomic_load_n(cell, __ATOMIC_ACQUIRE);
}

/// Stores `value` into `cell` (release ordering).
static inline void kmer_consent_store_release(const void *_Nullable *_Nonnull cell, const void *_Nullable value) {
    __atomic_store_n(cell, value, __ATOMIC_RELEASE);
}

#endif
