/*
 * Ends the process while other threads are stopped in system calls waiting for the recorder:
 * eight threads call getppid in a loop, the main thread calls _exit(7) after 20 ms.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <unistd.h>

static void *spin(void *arg) {
  (void)arg;
  for (;;) getppid();
  return NULL;
}

int main(void) {
  pthread_t thread;
  for (int i = 0; i < 8; i++) pthread_create(&thread, NULL, spin, NULL);
  usleep(20000);
  _exit(7);
}
