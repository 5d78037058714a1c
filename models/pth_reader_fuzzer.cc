// libFuzzer target for the .pth reader: any bytes must parse or fail cleanly, without reading out
// of bounds, leaking or allocating without limit. Built and run by tools/fuzz_pth_reader.sh with
// clang (-fsanitize=fuzzer,address,undefined); its crashes go to models/testdata/pth_corpus/ where
// //models:pth_reader_test replays them.
#include <cstddef>
#include <cstdint>
#include <string>

#include "models/pth_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  malaria::models::PthLimits limits;
  limits.max_pickle_values = 1 << 16;
  const absl::StatusOr<malaria::models::PthFile> file = malaria::models::ParsePth(
      std::string(reinterpret_cast<const char*>(data), size), "fuzz", limits);
  if (file.ok()) {
    size_t sum = 0;
    for (const auto& t : file->tensors) {
      for (char c : file->StorageBytes(t)) sum += static_cast<unsigned char>(c);
    }
    volatile size_t sink = sum;
    (void)sink;
  }
  return 0;
}
