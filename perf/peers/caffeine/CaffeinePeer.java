// CaffeinePeer: `cuckoocache-perf throughput`'s workload replayed through Caffeine (Java).
//
// A peer harness (perf/peers/README.md): it measures Caffeine exactly the way
// perf/harness/throughput_runner.h measures the engine, so the two rates can be divided.
//   - keys: the per-worker arrays `cuckoocache-perf throughput --export-keys DIR` wrote
//     (DIR/keys-<worker>.u64, little-endian uint64), replayed cyclically;
//   - read or write: a per-worker xoshiro256** (seeded through SplitMix64 with
//     seed * 0x9E3779B97F4A7C15 + worker + 1), read when next() < R * 2^64 (unsigned);
//   - read = getIfPresent(k), write = put(k, k); no fill on a read miss (as the harness);
//   - each cell: a fresh cache of maximumSize(entries) (Caffeine's defaults otherwise: its
//     maintenance runs on ForkJoinPool.commonPool()), filled with keys 0..min(entries, K)-1,
//     then cleanUp(); the workers start together and run `duration` seconds in batches of 64
//     operations, the first of each timed with two System.nanoTime() reads into the harness's
//     log-bucketed histogram; rate = sum over workers of ops / that worker's elapsed time.
// Keys are boxed once before timing (as Caffeine's own JMH benchmarks do), so a get or put
// allocates nothing. The JVM is warmed by `--warmup N` unreported rounds over every cell.
// Output: CSV rows impl,policy,threads,read_ratio,round,ops_per_sec,p50_ns,p99_ns,p999_ns,
// read_hit_pct (round 0, 1, ... are the reported rounds).
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

public final class CaffeinePeer {
  static final int BATCH = 64;

  /** xoshiro256** seeded through SplitMix64: perf/harness/workload.h's Rng. */
  static final class Rng {
    private long s0, s1, s2, s3;

    Rng(long seed) {
      long[] s = new long[4];
      for (int i = 0; i < 4; i++) {
        seed += 0x9E3779B97F4A7C15L;
        long z = seed;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        s[i] = z ^ (z >>> 31);
      }
      s0 = s[0];
      s1 = s[1];
      s2 = s[2];
      s3 = s[3];
    }

    long next() {
      final long result = Long.rotateLeft(s1 * 5, 7) * 9;
      final long t = s1 << 17;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = Long.rotateLeft(s3, 45);
      return result;
    }
  }

  /** throughput_runner.h's LatencyHistogram: exact below 32 ns, 16 buckets per power of 2. */
  static final class Histogram {
    static final int SUB_BITS = 4;
    static final long EXACT = 2L << SUB_BITS;
    static final int BUCKETS = (int) EXACT + (64 - SUB_BITS - 1) * (1 << SUB_BITS);
    final long[] counts = new long[BUCKETS];
    long count;

    static int bucketOf(long ns) {
      if (ns < EXACT) return (int) ns;
      final int e = 63 - Long.numberOfLeadingZeros(ns);
      final long sub = (ns >>> (e - SUB_BITS)) & ((1 << SUB_BITS) - 1);
      return (int) (EXACT + (long) (e - SUB_BITS - 1) * (1 << SUB_BITS) + sub);
    }

    static long lowerBound(int b) {
      if (b < EXACT) return b;
      final int i = b - (int) EXACT;
      final int e = (i >>> SUB_BITS) + SUB_BITS + 1;
      final long sub = i & ((1 << SUB_BITS) - 1);
      return ((1L << SUB_BITS) + sub) << (e - SUB_BITS);
    }

    void record(long ns) {
      counts[bucketOf(ns < 0 ? 0 : ns)]++;
      count++;
    }

    void merge(Histogram o) {
      for (int b = 0; b < BUCKETS; b++) counts[b] += o.counts[b];
      count += o.count;
    }

    long percentile(double q) {
      if (count == 0) return 0;
      long rank = (long) (q * count + 0.5);
      rank = Math.max(1, Math.min(count, rank));
      long seen = 0;
      for (int b = 0; b < BUCKETS; b++) {
        seen += counts[b];
        if (seen >= rank) {
          if (b < EXACT) return b;
          final long lo = lowerBound(b);
          final long hi = b + 1 < BUCKETS ? lowerBound(b + 1) : lo * 2;
          return lo + (hi - lo) / 2;
        }
      }
      return lowerBound(BUCKETS - 1);
    }
  }

  static final class Result {
    Histogram latency = new Histogram();
    long ops, reads, readHits, sink;
    double seconds;
  }

  static Long[] loadKeys(Path path) throws IOException {
    final ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(path)).order(ByteOrder.LITTLE_ENDIAN);
    final Long[] keys = new Long[buf.remaining() / 8];
    for (int i = 0; i < keys.length; i++) keys[i] = buf.getLong();
    if (keys.length == 0) throw new IOException(path + " holds no keys");
    return keys;
  }

  static List<Long> parseLongs(String s) {
    final List<Long> out = new ArrayList<>();
    for (String item : s.split(",")) out.add(Long.parseLong(item));
    return out;
  }

  static String runCell(
      Long[][] keys, int threads, double readRatio, long entries, long keySpace, long seed,
      double duration, int round)
      throws InterruptedException {
    final Cache<Long, Long> cache = Caffeine.newBuilder().maximumSize(entries).build();
    final long warm = Math.min(entries, keySpace);
    for (long k = 0; k < warm; k++) cache.put(k, k);
    cache.cleanUp();

    final double scaled = Math.max(0.0, Math.min(1.0, readRatio)) * 0x1.0p64;
    final boolean alwaysRead = scaled >= 0x1.0p64;
    // (uint64_t)scaled, as the harness computes it: exact, then read as unsigned bits.
    final long threshold = alwaysRead ? 0 : new BigDecimal(scaled).toBigInteger().longValue();

    final AtomicBoolean go = new AtomicBoolean(false);
    final AtomicBoolean done = new AtomicBoolean(false);
    final Result[] results = new Result[threads];
    final Thread[] workers = new Thread[threads];
    for (int t = 0; t < threads; t++) {
      final int worker = t;
      final Result r = new Result();
      results[t] = r;
      workers[t] =
          new Thread(
              () -> {
                final Long[] ks = keys[worker];
                final int n = ks.length;
                final Rng rng = new Rng(seed * 0x9E3779B97F4A7C15L + worker + 1);
                final Histogram latency = new Histogram();
                int pos = 0;
                long ops = 0, reads = 0, hits = 0, sink = 0;
                while (!go.get()) Thread.yield();
                final long start = System.nanoTime();
                do {
                  for (int i = 0; i < BATCH; i++) {
                    final Long key = ks[pos];
                    pos = pos + 1 == n ? 0 : pos + 1;
                    final boolean isRead =
                        alwaysRead || Long.compareUnsigned(rng.next(), threshold) < 0;
                    final long t0 = i == 0 ? System.nanoTime() : 0;
                    if (isRead) {
                      reads++;
                      final Long v = cache.getIfPresent(key);
                      if (v != null) {
                        hits++;
                        sink += v;
                      }
                    } else {
                      cache.put(key, key);
                    }
                    if (i == 0) latency.record(System.nanoTime() - t0);
                  }
                  ops += BATCH;
                } while (!done.get());
                r.seconds = (System.nanoTime() - start) / 1e9;
                r.latency = latency;
                r.ops = ops;
                r.reads = reads;
                r.readHits = hits;
                r.sink = sink;
              });
      workers[t].start();
    }
    go.set(true);
    Thread.sleep((long) (duration * 1000));
    done.set(true);
    for (Thread w : workers) w.join();

    final Histogram merged = new Histogram();
    double opsPerSec = 0;
    long reads = 0, hits = 0;
    for (Result r : results) {
      merged.merge(r.latency);
      reads += r.reads;
      hits += r.readHits;
      if (r.seconds > 0) opsPerSec += r.ops / r.seconds;
    }
    return String.format(
        Locale.ROOT,
        "caffeine,w-tinylfu,%d,%s,%d,%.1f,%d,%d,%d,%.1f",
        threads,
        BigDecimal.valueOf(readRatio).stripTrailingZeros().toPlainString(),
        round,
        opsPerSec,
        merged.percentile(0.50),
        merged.percentile(0.99),
        merged.percentile(0.999),
        reads == 0 ? 0.0 : 100.0 * hits / reads);
  }

  public static void main(String[] args) throws Exception {
    String keysDir = null;
    List<Long> threads = List.of(1L, 2L);
    List<Double> ratios = new ArrayList<>(List.of(1.0, 0.9, 0.5));
    long entries = 100000, keySpace = 200000, seed = 1;
    double duration = 1.0;
    int warmup = 2, rounds = 1;
    for (int i = 0; i < args.length; i += 2) {
      if (i + 1 >= args.length) throw new IllegalArgumentException(args[i] + " needs a value");
      final String v = args[i + 1];
      switch (args[i]) {
        case "--keys-dir" -> keysDir = v;
        case "--threads" -> threads = parseLongs(v);
        case "--read-ratios" -> {
          ratios.clear();
          for (String item : v.split(",")) ratios.add(Double.parseDouble(item));
        }
        case "--entries" -> entries = Long.parseLong(v);
        case "--keys" -> keySpace = Long.parseLong(v);
        case "--seed" -> seed = Long.parseUnsignedLong(v);
        case "--duration" -> duration = Double.parseDouble(v);
        case "--warmup" -> warmup = Integer.parseInt(v);
        case "--rounds" -> rounds = Integer.parseInt(v);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    if (keysDir == null) throw new IllegalArgumentException("--keys-dir DIR is required");
    final int maxThreads = threads.stream().mapToInt(Long::intValue).max().orElse(1);
    final Long[][] keys = new Long[maxThreads][];
    for (int w = 0; w < maxThreads; w++) keys[w] = loadKeys(Path.of(keysDir, "keys-" + w + ".u64"));

    for (int round = -warmup; round < rounds; round++) {
      for (double r : ratios) {
        for (long t : threads) {
          final String row = runCell(keys, (int) t, r, entries, keySpace, seed, duration, round);
          if (round >= 0) System.out.println(row);
        }
      }
      System.out.flush();
    }
  }
}
