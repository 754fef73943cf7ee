// Clang's thread-safety annotations (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html):
// what guards a member (GUARDED_BY), what a function needs held (REQUIRES)
// or takes and gives back (ACQUIRE, RELEASE). Clang checks them with
// -Wthread-safety (scripts/tidy.sh, run by the test command); other
// compilers see nothing.
#pragma once

#if defined(__clang__)
#define ATELIER_TSA(x) __attribute__((x))
#else
#define ATELIER_TSA(x)
#endif

#define CAPABILITY(x) ATELIER_TSA(capability(x))
#define SCOPED_CAPABILITY ATELIER_TSA(scoped_lockable)
#define GUARDED_BY(x) ATELIER_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) ATELIER_TSA(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) ATELIER_TSA(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) ATELIER_TSA(acquired_after(__VA_ARGS__))
#define REQUIRES(...) ATELIER_TSA(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) ATELIER_TSA(requires_shared_capability(__VA_ARGS__))
#define ACQUIRE(...) ATELIER_TSA(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) ATELIER_TSA(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) ATELIER_TSA(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) ATELIER_TSA(release_shared_capability(__VA_ARGS__))
#define RELEASE_GENERIC(...) ATELIER_TSA(release_generic_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) ATELIER_TSA(try_acquire_capability(__VA_ARGS__))
#define EXCLUDES(...) ATELIER_TSA(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) ATELIER_TSA(assert_capability(x))
#define RETURN_CAPABILITY(x) ATELIER_TSA(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS ATELIER_TSA(no_thread_safety_analysis)
