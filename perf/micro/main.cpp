// The one entry point of micro_bench: every other perf/micro/*.cpp only registers benchmarks.
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();
