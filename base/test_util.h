// Small helpers the tests share (testonly).
//
//   const std::string dir = TestDir("runs");   // $TEST_TMPDIR/runs, new and empty
//   std::FILE* out = std::tmpfile(); ...; EXPECT_NE(ReadAll(out).find("epoch"), npos);
#ifndef MALARIA_BASE_TEST_UTIL_H_
#define MALARIA_BASE_TEST_UTIL_H_

#include <cstdio>
#include <string>

namespace malaria::base {

// TestDir returns $TEST_TMPDIR/<name>, removed if it existed and created empty.
std::string TestDir(const std::string& name);

// ReadAll flushes `f`, rewinds it and returns everything in it (for output written to a tmpfile).
std::string ReadAll(std::FILE* f);

}  // namespace malaria::base

#endif  // MALARIA_BASE_TEST_UTIL_H_
