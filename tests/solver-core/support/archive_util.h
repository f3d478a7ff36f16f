// libarchive-based helpers for tests that build their own archive bytes:
// a write callback collecting output in a std::string, and raw gzip/zstd
// compression. Header-only: include it only in tests linking LibArchive.
#ifndef KILN_TESTS_SOLVER_CORE_SUPPORT_ARCHIVE_UTIL_H_
#define KILN_TESTS_SOLVER_CORE_SUPPORT_ARCHIVE_UTIL_H_

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <string>

namespace kiln::solver::testing {

// An archive_write_open() callback appending to the std::string `out`.
inline la_ssize_t AppendToString(struct archive*, void* out, const void* buf,
                                 size_t n) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

// `data` compressed as a single stream with `filter` ("gzip" or "zstd").
inline std::string Compress(const std::string& data,
                            const std::string& filter) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_raw(a);
  if (filter == "gzip") archive_write_add_filter_gzip(a);
  if (filter == "zstd") archive_write_add_filter_zstd(a);
  archive_write_set_bytes_per_block(a, 0);
  EXPECT_EQ(archive_write_open(a, &out, nullptr, AppendToString, nullptr),
            ARCHIVE_OK);
  struct archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, "data");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
  EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
  EXPECT_EQ(archive_write_data(a, data.data(), data.size()),
            static_cast<la_ssize_t>(data.size()));
  archive_entry_free(e);
  EXPECT_EQ(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  return out;
}

}  // namespace kiln::solver::testing

#endif  // KILN_TESTS_SOLVER_CORE_SUPPORT_ARCHIVE_UTIL_H_
