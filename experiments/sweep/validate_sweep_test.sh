#!/usr/bin/env bash
# Test of one sweep config (made by experiments/sweep/sweep.bzl): it must parse, and every trial's
# experiment config must pass validation; the experiment is read from the runfiles.
set -euo pipefail
cd "$TEST_SRCDIR/malaria"
exec "$TEST_SRCDIR/malaria/experiments/sweep/validate_sweep" --workspace "$TEST_SRCDIR/malaria" "$@"
