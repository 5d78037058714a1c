#!/bin/bash
# Asserts that a compile set up like every dependent of //third_party:torch_pch (its -include, the
# toolchain's flags for this configuration) loads the precompiled header instead of parsing
# <torch/torch.h> again. The listing is GCC's -H output (precompiled_header.bzl's check action):
# "! FILE.gch" for a PCH loaded, "x FILE.gch" for one found and rejected, ". FILE" for a header read.
set -euo pipefail
listing="$1"
[[ -s "$listing" ]] || { echo "FAIL: $listing is missing or empty" >&2; exit 1; }
if ! grep -q '^! .*torch_pch\.h\.gch$' "$listing"; then
  echo "FAIL: the precompiled header was not loaded; GCC read instead:" >&2
  head -20 "$listing" >&2
  exit 1
fi
if grep -q 'torch/torch\.h$' "$listing"; then
  echo "FAIL: <torch/torch.h> was parsed although the precompiled header was loaded:" >&2
  grep -n 'torch/torch\.h$' "$listing" >&2
  exit 1
fi
echo "PASS: $(grep '^! ' "$listing") loaded; $(wc -l < "$listing") line(s) of -H output"
