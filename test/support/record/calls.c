/* Makes N getppid calls (N from argv[1], default 0): measures the recorder's cost per call. */
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 0;
  for (long i = 0; i < n; i++) getppid();
  return 0;
}
