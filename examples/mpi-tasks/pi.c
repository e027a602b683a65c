/* Estimates pi by integrating 4/(1+x^2) over [0,1] with `intervals` slices split across the MPI
 * ranks; rank 0 prints the estimate, the rank count and the wall time as one JSON line. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  int rank, size;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  long intervals = argc > 1 ? atol(argv[1]) : 10000000L;
  double started = MPI_Wtime();
  double width = 1.0 / (double)intervals, local = 0.0;
  for (long i = rank; i < intervals; i += size) {
    double x = (i + 0.5) * width;
    local += 4.0 / (1.0 + x * x);
  }
  double total = 0.0;
  MPI_Reduce(&local, &total, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    printf("{\"pi\": %.12f, \"ranks\": %d, \"intervals\": %ld, \"seconds\": %.6f}\n", total * width, size, intervals, MPI_Wtime() - started);
  }
  MPI_Finalize();
  return 0;
}
