/*
 * A small multi-threaded program for `seccompiler record` tests and the README example.
 * Two workers name themselves "worker-0" and "worker-1" (as Firecracker names fc_vcpu threads)
 * and ask how many bytes wait in a pipe (ioctl FIONREAD); a third thread does the same work
 * without renaming itself, so it stays in the main thread's group. The main thread makes the
 * pipe non-blocking (ioctl FIONBIO) and reads the kernel name (uname). With the argument "extra" it also issues FIOCLEX, an ioctl
 * request a recording without "extra" never saw.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

static int pipe_fds[2];
static int futex_word;

static void *work(void *arg) {
  char name[16] = "worker-0";
  int waiting = 0;
  if (arg != NULL) {
    name[7] = (char)('0' + (long)arg - 1);
    prctl(PR_SET_NAME, name);
  }
  if (ioctl(pipe_fds[0], FIONREAD, &waiting) != 0) return (void *)1;
  sched_yield();
  return NULL;
}

int main(int argc, char **argv) {
  pthread_t threads[3];
  int on = 1;
  struct utsname names;
  if (pipe(pipe_fds) != 0 || ioctl(pipe_fds[0], FIONBIO, &on) != 0) return 1;
  for (long i = 0; i < 3; i++) {
    if (pthread_create(&threads[i], NULL, work, i < 2 ? (void *)(i + 1) : NULL) != 0) return 1;
  }
  /* pthread_join calls futex only when a worker has not ended yet, which the scheduler decides: one futex
   * call in every run, so that a recording of the main group always holds what a later run may need. */
  syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  for (int i = 0; i < 3; i++) pthread_join(threads[i], NULL);
  if (uname(&names) != 0) return 1;
  if (argc > 1 && strcmp(argv[1], "extra") == 0) ioctl(pipe_fds[0], FIOCLEX);
  printf("%s: 3 threads done\n", names.sysname);
  return 0;
}
