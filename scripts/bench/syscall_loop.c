/*
 * The timed part of the kernel benchmark, compiled at run time by Bun's
 * built-in TinyCC (bun:ffi `cc`) and called once the filter is installed.
 *
 * Why C: while JavaScript runs, the runtime itself makes system calls on the
 * thread (it starts JIT and GC threads with clone3, commits memory with
 * madvise, reads /proc/self/statm), and the Firecracker policies trap them.
 * Inside this function the runtime cannot run, so the thread makes only the
 * timed calls, clock_gettime (the vDSO answers it), write and exit_group.
 *
 * No headers: TinyCC in Bun has no libc headers, so the few declarations are
 * spelled out (x86_64 / LP64 types).
 */
struct timespec_ {
  long tv_sec;
  long tv_nsec;
};
extern int clock_gettime(int clock, struct timespec_ *ts);
extern long syscall(long nr, ...);
extern long write(int fd, const void *buf, unsigned long count);
extern int *__errno_location(void);
extern void _exit(int status);

#define CLOCK_MONOTONIC 1

static long long now_ns(void) {
  struct timespec_ t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static double time_loop(const long *call, int iterations) {
  long nr = call[0], a = call[1], b = call[2], c = call[3];
  long long start = now_ns();
  for (int i = 0; i < iterations; i++) syscall(nr, a, b, c);
  return (double)(now_ns() - start) / iterations;
}

/*
 * calls: ncalls x {nr, arg0, arg1, arg2}. out: room for ncalls * reps + 2 * ncalls
 * doubles: first the ns/call samples (rep-major: all calls of rep 0, then rep 1...),
 * then for each call the value its first call returned and errno (0 unless it
 * returned -1). Writes out to stdout and ends the process; never returns.
 */
void run_and_exit(const long *calls, int ncalls, int iterations, int reps, double *out) {
  double *returned = out + (long)ncalls * reps;
  for (int i = 0; i < ncalls; i++) {
    const long *call = calls + 4 * i;
    long value = syscall(call[0], call[1], call[2], call[3]);
    returned[2 * i] = (double)value;
    returned[2 * i + 1] = value == -1 ? (double)*__errno_location() : 0.0;
    time_loop(call, iterations / 10 + 1); /* warm the kernel path and the caches */
  }
  for (int rep = 0; rep < reps; rep++)
    for (int i = 0; i < ncalls; i++) out[(long)rep * ncalls + i] = time_loop(calls + 4 * i, iterations);
  const char *bytes = (const char *)out;
  unsigned long left = ((unsigned long)ncalls * reps + 2UL * ncalls) * sizeof(double);
  while (left > 0) {
    long n = write(1, bytes, left);
    if (n <= 0) _exit(3);
    bytes += n;
    left -= (unsigned long)n;
  }
  _exit(0);
}
