#!/usr/bin/env bash
# Test of one experiment config (made by experiments/experiment.bzl): it must parse (no unknown
# fields) and pass semantic validation.
set -euo pipefail
exec "$TEST_SRCDIR/malaria/experiments/validate_config" "$@"
