// ristretto-peer: `cuckoocache-perf throughput`'s workload replayed through Ristretto (Go).
//
// A peer harness (perf/peers/README.md): it measures Ristretto exactly the way
// perf/harness/throughput_runner.h measures the engine, so the two rates can be divided.
//   - keys: the per-worker arrays `cuckoocache-perf throughput --export-keys DIR` wrote
//     (DIR/keys-<worker>.u64, little-endian uint64), replayed cyclically;
//   - read or write: a per-worker xoshiro256** (seeded through SplitMix64 with
//     seed*0x9E3779B97F4A7C15 + worker + 1), read when next() < R * 2^64;
//   - read = Get(k), write = Set(k, k, 1); no fill on a read miss (as the harness);
//   - each cell: a fresh cache with MaxCost = entries (cost 1 per entry), NumCounters =
//     10 * entries and BufferItems = 64 (Ristretto's README settings), Metrics off, filled with
//     keys 0..min(entries, K)-1 (a dropped Set is retried), then 200 ms for its policy
//     goroutine to apply the fill; the workers (goroutines, GOMAXPROCS left alone) start
//     together and run `duration` seconds in batches of 64 operations, the first of each timed
//     with two time.Now() reads into the harness's log-bucketed histogram; rate = sum over
//     workers of ops / that worker's elapsed time.
//
// Ristretto's Set is asynchronous and may drop an insert under contention; a dropped Set still
// counts as an operation (that is how the library behaves for its users). Keys are converted
// to interface{} once before timing, so a Get or Set allocates no key box.
// Output: CSV rows impl,policy,threads,read_ratio,round,ops_per_sec,p50_ns,p99_ns,p999_ns,
// read_hit_pct (rounds 0, 1, ... are the reported ones; --warmup N rounds run first, unreported).
//
// Built offline in GOPATH mode against Debian's golang-github-dgraph-io-ristretto-dev (0.0.3)
// under /usr/share/gocode: see perf/peers/run.sh.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto"
)

const batch = 64

// rng is xoshiro256** seeded through SplitMix64: perf/harness/workload.h's Rng.
type rng struct{ s [4]uint64 }

func newRng(seed uint64) *rng {
	r := &rng{}
	for i := range r.s {
		seed += 0x9E3779B97F4A7C15
		z := seed
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
		z = (z ^ (z >> 27)) * 0x94D049BB133111EB
		r.s[i] = z ^ (z >> 31)
	}
	return r
}

func (r *rng) next() uint64 {
	s := &r.s
	result := bits.RotateLeft64(s[1]*5, 7) * 9
	t := s[1] << 17
	s[2] ^= s[0]
	s[3] ^= s[1]
	s[1] ^= s[2]
	s[0] ^= s[3]
	s[2] ^= t
	s[3] = bits.RotateLeft64(s[3], 45)
	return result
}

// histogram is throughput_runner.h's LatencyHistogram: exact below 32 ns, then 16 buckets per
// power of two.
const (
	subBits = 4
	exact   = uint64(2) << subBits
	buckets = int(exact) + (64-subBits-1)*(1<<subBits)
)

type histogram struct {
	counts [buckets]uint64
	count  uint64
}

func bucketOf(ns uint64) int {
	if ns < exact {
		return int(ns)
	}
	e := 63 - bits.LeadingZeros64(ns)
	sub := (ns >> (e - subBits)) & ((1 << subBits) - 1)
	return int(exact) + (e-subBits-1)*(1<<subBits) + int(sub)
}

func lowerBound(b int) uint64 {
	if uint64(b) < exact {
		return uint64(b)
	}
	i := b - int(exact)
	e := (i >> subBits) + subBits + 1
	sub := uint64(i & ((1 << subBits) - 1))
	return ((1 << subBits) + sub) << (e - subBits)
}

func (h *histogram) record(ns int64) {
	if ns < 0 {
		ns = 0
	}
	h.counts[bucketOf(uint64(ns))]++
	h.count++
}

func (h *histogram) merge(o *histogram) {
	for b := range h.counts {
		h.counts[b] += o.counts[b]
	}
	h.count += o.count
}

func (h *histogram) percentile(q float64) uint64 {
	if h.count == 0 {
		return 0
	}
	rank := uint64(q*float64(h.count) + 0.5)
	if rank < 1 {
		rank = 1
	}
	if rank > h.count {
		rank = h.count
	}
	var seen uint64
	for b := 0; b < buckets; b++ {
		seen += h.counts[b]
		if seen >= rank {
			if uint64(b) < exact {
				return uint64(b)
			}
			lo := lowerBound(b)
			hi := lo * 2
			if b+1 < buckets {
				hi = lowerBound(b + 1)
			}
			return lo + (hi-lo)/2
		}
	}
	return lowerBound(buckets - 1)
}

type result struct {
	latency                histogram
	ops, reads, hits, sink uint64
	seconds                float64
	_                      [64]byte // keeps workers' results off one cache line
}

func loadKeys(path string) ([]interface{}, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	n := len(data) / 8
	if n == 0 {
		return nil, fmt.Errorf("%s holds no keys", path)
	}
	keys := make([]interface{}, n)
	for i := range keys {
		keys[i] = binary.LittleEndian.Uint64(data[i*8:])
	}
	return keys, nil
}

type config struct {
	entries, keySpace, seed uint64
	duration                time.Duration
}

func runCell(keys [][]interface{}, threads int, readRatio float64, cfg config, round int) string {
	cache, err := ristretto.NewCache(&ristretto.Config{
		NumCounters: int64(10 * cfg.entries),
		MaxCost:     int64(cfg.entries),
		BufferItems: 64,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "ristretto-peer:", err)
		os.Exit(1)
	}
	defer cache.Close()
	warm := cfg.entries
	if cfg.keySpace < warm {
		warm = cfg.keySpace
	}
	for k := uint64(0); k < warm; k++ {
		for !cache.Set(k, k, 1) {
			time.Sleep(time.Microsecond)
		}
	}
	time.Sleep(200 * time.Millisecond)

	scaled := math.Max(0, math.Min(1, readRatio)) * 0x1p64
	alwaysRead := scaled >= 0x1p64
	var threshold uint64
	if !alwaysRead {
		threshold = uint64(scaled)
	}

	var start sync.WaitGroup
	var done int32
	var wg sync.WaitGroup
	results := make([]result, threads)
	start.Add(1)
	for t := 0; t < threads; t++ {
		wg.Add(1)
		go func(worker int) {
			defer wg.Done()
			ks := keys[worker]
			n := len(ks)
			r := newRng(cfg.seed*0x9E3779B97F4A7C15 + uint64(worker) + 1)
			res := &results[worker]
			pos := 0
			var ops, reads, hits, sink uint64
			start.Wait()
			t0 := time.Now()
			for {
				for i := 0; i < batch; i++ {
					key := ks[pos]
					pos++
					if pos == n {
						pos = 0
					}
					isRead := alwaysRead || r.next() < threshold
					var s time.Time
					if i == 0 {
						s = time.Now()
					}
					if isRead {
						reads++
						if v, ok := cache.Get(key); ok {
							hits++
							sink += v.(uint64)
						}
					} else {
						cache.Set(key, key, 1)
					}
					if i == 0 {
						res.latency.record(int64(time.Since(s)))
					}
				}
				ops += batch
				if atomic.LoadInt32(&done) != 0 {
					break
				}
			}
			res.seconds = time.Since(t0).Seconds()
			res.ops, res.reads, res.hits, res.sink = ops, reads, hits, sink
		}(t)
	}
	start.Done()
	time.Sleep(cfg.duration)
	atomic.StoreInt32(&done, 1)
	wg.Wait()

	var merged histogram
	var opsPerSec float64
	var reads, hits uint64
	for i := range results {
		r := &results[i]
		merged.merge(&r.latency)
		reads += r.reads
		hits += r.hits
		if r.seconds > 0 {
			opsPerSec += float64(r.ops) / r.seconds
		}
	}
	hitPct := 0.0
	if reads > 0 {
		hitPct = 100 * float64(hits) / float64(reads)
	}
	return fmt.Sprintf("ristretto,tinylfu,%d,%s,%d,%.1f,%d,%d,%d,%.1f", threads,
		strconv.FormatFloat(readRatio, 'g', -1, 64), round, opsPerSec, merged.percentile(0.50),
		merged.percentile(0.99), merged.percentile(0.999), hitPct)
}

func parseList(s string) ([]float64, error) {
	var out []float64
	for _, item := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(item, 64)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func main() {
	keysDir := flag.String("keys-dir", "", "directory of keys-<worker>.u64 (required)")
	threadsFlag := flag.String("threads", "1,2", "thread counts")
	ratiosFlag := flag.String("read-ratios", "1,0.9,0.5", "read ratios")
	entries := flag.Uint64("entries", 100000, "cache capacity and warm-up fill")
	keySpace := flag.Uint64("keys", 200000, "key space (for the warm-up fill)")
	seed := flag.Uint64("seed", 1, "generator seed")
	duration := flag.Float64("duration", 1, "seconds per cell")
	warmup := flag.Int("warmup", 1, "unreported rounds first")
	rounds := flag.Int("rounds", 1, "reported rounds")
	flag.Parse()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "ristretto-peer:", err)
		os.Exit(2)
	}
	if *keysDir == "" {
		fail(fmt.Errorf("--keys-dir DIR is required"))
	}
	threads, err := parseList(*threadsFlag)
	if err != nil {
		fail(err)
	}
	ratios, err := parseList(*ratiosFlag)
	if err != nil {
		fail(err)
	}
	maxThreads := 1
	for _, t := range threads {
		if int(t) > maxThreads {
			maxThreads = int(t)
		}
	}
	keys := make([][]interface{}, maxThreads)
	for w := range keys {
		if keys[w], err = loadKeys(filepath.Join(*keysDir, fmt.Sprintf("keys-%d.u64", w))); err != nil {
			fail(err)
		}
	}
	cfg := config{*entries, *keySpace, *seed, time.Duration(*duration * float64(time.Second))}
	for round := -*warmup; round < *rounds; round++ {
		for _, r := range ratios {
			for _, t := range threads {
				row := runCell(keys, int(t), r, cfg, round)
				if round >= 0 {
					fmt.Println(row)
				}
			}
		}
	}
}
