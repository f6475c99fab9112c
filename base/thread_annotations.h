// Clang's thread-safety annotations (-Wthread-safety), as LevelDB uses them:
// which mutex guards a member, which a function needs held. Empty under gcc.
#pragma once

#if defined(__clang__)
#define TXEND_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define TXEND_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) TXEND_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY TXEND_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) TXEND_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) TXEND_THREAD_ANNOTATION(pt_guarded_by(x))
#define EXCLUSIVE_LOCKS_REQUIRED(...) TXEND_THREAD_ANNOTATION(exclusive_locks_required(__VA_ARGS__))
#define LOCKS_EXCLUDED(...) TXEND_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define EXCLUSIVE_LOCK_FUNCTION(...) TXEND_THREAD_ANNOTATION(exclusive_lock_function(__VA_ARGS__))
#define UNLOCK_FUNCTION(...) TXEND_THREAD_ANNOTATION(unlock_function(__VA_ARGS__))
#define ASSERT_EXCLUSIVE_LOCK(...) TXEND_THREAD_ANNOTATION(assert_exclusive_lock(__VA_ARGS__))
#define LOCK_RETURNED(x) TXEND_THREAD_ANNOTATION(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS TXEND_THREAD_ANNOTATION(no_thread_safety_analysis)
