#!/usr/bin/env bash
# Builds the DocC documentation of every module that has a catalog (Sources/<Module>/<Module>.docc)
# with warnings as errors: a broken symbol link, an unknown parameter in a `///` comment or a
# snippet path that does not exist fails it. The articles' code lives in Snippets/, which
# `swift build` compiles (scripts/test runs this after the build, so a snippet that stops compiling
# fails CI there). Archives: .build/plugins/Swift-DocC/outputs/<Module>.doccarchive.
# A snippet's file name becomes a module name: never name one like a module the package or its
# tests import (a snippet called `Testing` shadowed swift-testing and broke every test target).
#
#   scripts/docs.sh              every catalogued module
#   scripts/docs.sh Surety ...   only these modules
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }

modules=("$@")
if [ ${#modules[@]} = 0 ]; then
  for catalog in Sources/*/*.docc; do modules+=("$(basename "$(dirname "$catalog")")"); done
fi
targets=()
for module in "${modules[@]}"; do targets+=(--target "$module"); done

mkdir -p artifacts
log=artifacts/docs.log
say "building documentation for ${modules[*]}"
# One plugin run for every module: the package is built once (a warm build only extracts symbols).
if ! swift package --disable-sandbox generate-documentation "${targets[@]}" --warnings-as-errors >"$log" 2>&1; then
  grep -E "error|warning:" "$log" | grep -v "^warning: '" | head -60 || true
  say "documentation failed (whole log: $log)"
  exit 1
fi
# --warnings-as-errors turns DocC's warnings into errors; this catches any that still got through.
doc_warnings=$(grep -E "warning:" "$log" | grep -v "^warning: '" || true)
if [ -n "$doc_warnings" ]; then
  echo "$doc_warnings"
  say "documentation warnings are errors here"
  exit 1
fi
say "documentation built for ${#modules[@]} modules"
