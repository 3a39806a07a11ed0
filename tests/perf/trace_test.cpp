// Tests for perf/trace.h: format detection, parsing of every format from small files written to
// a temporary directory (plain and gzip), error messages, and, when the shared traces are
// present, request and key counts of the real traces against their README.
#include "perf/trace.h"

#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <unordered_set>
#include <vector>

namespace {

namespace fs = std::filesystem;
using cuckoocache::perf::detect_trace_format;
using cuckoocache::perf::load_trace;
using cuckoocache::perf::parse_trace;
using cuckoocache::perf::parse_trace_format;
using cuckoocache::perf::TraceError;
using cuckoocache::perf::TraceFormat;
using cuckoocache::perf::traces_dir;
using Keys = std::vector<std::uint64_t>;

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() / ("cuckoocache_trace_test_" + std::to_string(::getpid()) +
                                         "_" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string write(const std::string& name, const std::string& text) const {
    const fs::path p = path_ / name;
    std::ofstream out(p, std::ios::binary);
    out << text;
    BOOST_REQUIRE(out.good());
    return p.string();
  }

  std::string write_gz(const std::string& name, const std::string& text) const {
    const fs::path p = path_ / name;
    gzFile f = gzopen(p.c_str(), "wb");
    BOOST_REQUIRE(f != nullptr);
    BOOST_REQUIRE_EQUAL(gzwrite(f, text.data(), static_cast<unsigned>(text.size())),
                        static_cast<int>(text.size()));
    BOOST_REQUIRE_EQUAL(gzclose(f), Z_OK);
    return p.string();
  }

  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// The message of the TraceError thrown by `fn`, or "" (and a failed check) if none is thrown.
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const TraceError& e) {
    return e.what();
  }
  BOOST_ERROR("expected a TraceError");
  return {};
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(perf_trace)

BOOST_AUTO_TEST_CASE(format_names_round_trip) {
  BOOST_TEST((parse_trace_format("auto") == TraceFormat::kAuto));
  BOOST_TEST((parse_trace_format("keys") == TraceFormat::kKeys));
  BOOST_TEST((parse_trace_format("lirs") == TraceFormat::kLirs));
  BOOST_TEST((parse_trace_format("arc") == TraceFormat::kArc));
  for (TraceFormat f :
       {TraceFormat::kAuto, TraceFormat::kKeys, TraceFormat::kLirs, TraceFormat::kArc}) {
    BOOST_TEST((parse_trace_format(to_string(f)) == f));
  }
}

BOOST_AUTO_TEST_CASE(unknown_format_is_a_clear_error) {
  const std::string msg = error_of([] { (void)parse_trace_format("lru"); });
  BOOST_TEST(contains(msg, "\"lru\""), msg);
  BOOST_TEST(contains(msg, "auto, keys, lirs, arc"), msg);
  BOOST_CHECK_THROW((void)parse_trace_format("ARC"), TraceError);
  BOOST_CHECK_THROW((void)parse_trace_format(""), TraceError);
}

BOOST_AUTO_TEST_CASE(format_detected_from_file_name) {
  BOOST_TEST((detect_trace_format("a/oltp.lis.gz") == TraceFormat::kArc));
  BOOST_TEST((detect_trace_format("oltp.lis") == TraceFormat::kArc));
  BOOST_TEST((detect_trace_format("gli.lirs.gz") == TraceFormat::kLirs));
  BOOST_TEST((detect_trace_format("gli.lirs") == TraceFormat::kLirs));
  BOOST_TEST((detect_trace_format("web07.keys.gz") == TraceFormat::kKeys));
  BOOST_TEST((detect_trace_format("trace.txt") == TraceFormat::kKeys));
  BOOST_TEST((detect_trace_format("trace.gz") == TraceFormat::kKeys));
  BOOST_TEST((detect_trace_format("lis.gz.txt") == TraceFormat::kKeys));
}

BOOST_AUTO_TEST_CASE(keys_plain) {
  TempDir dir;
  const auto path = dir.write("a.keys", "1\n2\n  3 \t\n\n18446744073709551615\n0\n");
  BOOST_TEST(load_trace(path) == (Keys{1, 2, 3, UINT64_MAX, 0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(crlf_and_missing_final_newline) {
  TempDir dir;
  const auto path = dir.write("b.keys", "7\r\n8\r\n\r\n9");
  BOOST_TEST(load_trace(path) == (Keys{7, 8, 9}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(empty_file_is_an_empty_trace) {
  TempDir dir;
  BOOST_TEST(load_trace(dir.write("e.lirs", "")).empty());
  BOOST_TEST(load_trace(dir.write("e.lis", "\n\n")).empty());
}

BOOST_AUTO_TEST_CASE(lirs_skips_star_and_empty_lines) {
  TempDir dir;
  const auto path = dir.write("c.lirs", "5\n*\n6\n\n*\n5\n");
  BOOST_TEST(load_trace(path) == (Keys{5, 6, 5}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(arc_expands_ranges) {
  TempDir dir;
  const auto path = dir.write("d.lis", "10 3 0 0\n5 1 0 0\n7 0 0 0\n100\t2\n");
  BOOST_TEST(load_trace(path) == (Keys{10, 11, 12, 5, 100, 101}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(explicit_format_overrides_file_name) {
  TempDir dir;
  const auto path = dir.write("e.keys", "3 2 0 0\n");
  BOOST_TEST(load_trace(path, TraceFormat::kArc) == (Keys{3, 4}), boost::test_tools::per_element());
  BOOST_CHECK_THROW((void)load_trace(path), TraceError);  // Keys format: one integer per line.
}

BOOST_AUTO_TEST_CASE(gzip_files) {
  TempDir dir;
  const auto arc = dir.write_gz("f.lis.gz", "1 2 0 0\n*\n");
  BOOST_CHECK_THROW((void)load_trace(arc), TraceError);  // `*` is not valid in arc.
  const auto arc_ok = dir.write_gz("g.lis.gz", "1 2 0 0\n9 1 0 0\n");
  BOOST_TEST(load_trace(arc_ok) == (Keys{1, 2, 9}), boost::test_tools::per_element());
  const auto lirs = dir.write_gz("h.lirs.gz", "4\n*\n4\n");
  BOOST_TEST(load_trace(lirs) == (Keys{4, 4}), boost::test_tools::per_element());

  // Large enough to span several read chunks.
  std::string big;
  Keys expected;
  for (std::uint64_t k = 0; k < 300000; ++k) {
    big += std::to_string(k * 7919 % 100003) + "\n";
    expected.push_back(k * 7919 % 100003);
  }
  const auto keys = dir.write_gz("i.keys.gz", big);
  BOOST_TEST((load_trace(keys) == expected));
}

BOOST_AUTO_TEST_CASE(truncated_gzip_is_an_error) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 20000; ++i) text += std::to_string(i * 31337) + "\n";
  const auto path = dir.write_gz("t.keys.gz", text);
  fs::resize_file(path, fs::file_size(path) / 2);
  const std::string msg = error_of([&] { (void)load_trace(path); });
  BOOST_TEST(contains(msg, path + ": "), msg);
}

BOOST_AUTO_TEST_CASE(malformed_keys_line_is_reported_with_its_number) {
  TempDir dir;
  const auto path = dir.write("bad.keys", "1\n2\nabc\n4\n");
  const std::string msg = error_of([&] { (void)load_trace(path); });
  BOOST_TEST(contains(msg, path + ":3: "), msg);
  BOOST_TEST(contains(msg, "\"abc\""), msg);
  BOOST_TEST(!contains(msg, "\n"), msg);

  // Line numbers count skipped lines too.
  const auto lirs = dir.write("bad.lirs", "*\n\n1\n-5\n");
  BOOST_TEST(contains(error_of([&] { (void)load_trace(lirs); }), lirs + ":4: "));
  const auto two = dir.write("two.keys", "1 2\n");
  BOOST_TEST(contains(error_of([&] { (void)load_trace(two); }), two + ":1: "));
  const auto overflow = dir.write("big.keys", "18446744073709551616\n");
  BOOST_TEST(contains(error_of([&] { (void)load_trace(overflow); }), overflow + ":1: "));
  const auto junk = dir.write("junk.keys", "12x\n");
  BOOST_TEST(contains(error_of([&] { (void)load_trace(junk); }), junk + ":1: "));
}

BOOST_AUTO_TEST_CASE(malformed_arc_line_is_reported_with_its_number) {
  TempDir dir;
  const auto path = dir.write_gz("oltp.lis.gz", "1 1 0 0\n2 1 0 0\nabc\n");
  const std::string msg = error_of([&] { (void)load_trace(path); });
  BOOST_TEST(msg == path + ":3: expected 'start count ...', got \"abc\"");

  const auto one = dir.write("one.lis", "1 1 0 0\n5\n");
  BOOST_TEST(contains(error_of([&] { (void)load_trace(one); }), one + ":2: "));
  const auto bad_count = dir.write("count.lis", "5 x 0 0\n");
  BOOST_TEST(contains(error_of([&] { (void)load_trace(bad_count); }), bad_count + ":1: "));
  const auto wraps = dir.write("wrap.lis", "18446744073709551615 2 0 0\n");
  BOOST_TEST(contains(error_of([&] { (void)load_trace(wraps); }), "overflows"));
}

BOOST_AUTO_TEST_CASE(control_bytes_are_escaped_in_messages) {
  const std::string msg = error_of(
      [] { (void)parse_trace(std::string_view("1\n\x01z\n", 5), TraceFormat::kKeys, "m"); });
  BOOST_TEST(msg == "m:2: expected one unsigned integer key, got \"\\x01z\"");
}

BOOST_AUTO_TEST_CASE(missing_file_is_a_clear_error) {
  TempDir dir;
  const std::string path = (dir.path() / "nope.lirs.gz").string();
  const std::string msg = error_of([&] { (void)load_trace(path); });
  BOOST_TEST(contains(msg, path), msg);
  BOOST_TEST(contains(msg, "No such file or directory"), msg);
  const std::string dir_msg = error_of([&] { (void)load_trace(dir.path().string()); });
  BOOST_TEST(contains(dir_msg, "directory"), dir_msg);
}

BOOST_AUTO_TEST_CASE(traces_dir_honours_environment) {
  TempDir dir;
  const char* old = std::getenv("CUCKOOCACHE_TRACES");
  const std::string saved = old != nullptr ? old : "";
  ::setenv("CUCKOOCACHE_TRACES", dir.path().c_str(), 1);
  BOOST_TEST(fs::equivalent(traces_dir(), dir.path()));
  const std::string missing = (dir.path() / "missing").string();
  ::setenv("CUCKOOCACHE_TRACES", missing.c_str(), 1);
  BOOST_TEST(traces_dir() != missing);  // Falls back to the default locations.
  if (old != nullptr) {
    ::setenv("CUCKOOCACHE_TRACES", saved.c_str(), 1);
  } else {
    ::unsetenv("CUCKOOCACHE_TRACES");
  }
}

namespace {

struct TraceCounts {
  const char* file;
  std::size_t requests;
  std::size_t unique;
};
std::ostream& operator<<(std::ostream& os, const TraceCounts& c) {
  return os << c.file;
}

// From /work/shared/traces/README.md.
const TraceCounts kTraceCounts[] = {
    {"oltp.lis.gz", 914145, 186880}, {"gli.lirs.gz", 6015, 2529},
    {"multi1.lirs.gz", 15858, 2606}, {"multi2.lirs.gz", 26311, 5684},
    {"multi3.lirs.gz", 30241, 7454}, {"sprite.lirs.gz", 133996, 7075},
    {"loop.lirs.gz", 505500, 1011},  {"2_pools.lirs.gz", 100000, 9939},
    {"cpp.lirs.gz", 9047, 1223},     {"cs.lirs.gz", 6781, 1409},
    {"ps.lirs.gz", 10448, 3083},     {"scan.lirs.gz", 50025, 2001},
    {"zigzag.lirs.gz", 52001, 2001}, {"web07.keys.gz", 76118, 20484},
    {"web12.keys.gz", 95607, 13756},
};

// Precondition of the real-trace tests: they are skipped, with this message, without traces.
boost::test_tools::assertion_result traces_available(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result ok(!cuckoocache::perf::traces_dir().empty());
  if (!ok) ok.message() << "no traces directory (set CUCKOOCACHE_TRACES); skipped";
  return ok;
}

}  // namespace

BOOST_TEST_DECORATOR(*boost::unit_test::precondition(traces_available))
BOOST_DATA_TEST_CASE(real_trace_counts_match_readme, boost::unit_test::data::make(kTraceCounts),
                     counts) {
  const std::string dir = traces_dir();
  const Keys keys = load_trace(dir + "/" + counts.file);
  BOOST_TEST(keys.size() == counts.requests);
  BOOST_TEST(std::unordered_set<std::uint64_t>(keys.begin(), keys.end()).size() == counts.unique);
}

BOOST_AUTO_TEST_SUITE_END()
