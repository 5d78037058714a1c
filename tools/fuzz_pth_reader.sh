#!/usr/bin/env bash
# Fuzzes the .pth reader (models/pth_reader.cc, pth_zip.cc, pth_unpickler.cc, pth_pickle_opcodes.cc) with libFuzzer under AddressSanitizer and
# UndefinedBehaviorSanitizer, starting from the files in models/testdata/pth_corpus/.
#
#   tools/fuzz_pth_reader.sh [SECONDS]        # default 300
#
# Inputs that crash, leak, read out of bounds or allocate more than 1 GiB at once are written to
# models/testdata/pth_corpus/crash-* (and friends); fix the reader, keep the file: //models:pth_reader_test
# replays every file of that folder. Needs clang-14 and libclang-rt-14-dev (installed here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"

missing=()
for p in clang-14 libclang-rt-14-dev libabsl-dev; do
  [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" == "install ok installed" ]] || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/fuzz_pth_reader.XXXXXX)
trap 'rm -rf "$work"' EXIT
libdir=/usr/lib/$(gcc -print-multiarch)
absl_libs=$(ls "$libdir"/libabsl_*.so | sed -E 's|.*/lib(absl_[^/]*)\.so$|-l\1|' | tr '\n' ' ')

clang++-14 -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I. models/pth_reader.cc models/pth_zip.cc models/pth_unpickler.cc models/pth_pickle_opcodes.cc \
  base/files.cc models/pth_reader_fuzzer.cc \
  -Wl,--as-needed $absl_libs -o "$work/fuzzer"

mkdir -p "$work/corpus"
cp models/testdata/pth_corpus/* "$work/corpus/"
"$work/fuzzer" "$work/corpus" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
  -malloc_limit_mb=1024 -timeout=10 -print_final_stats=1 \
  -artifact_prefix=models/testdata/pth_corpus/
