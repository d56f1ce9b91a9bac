#!/usr/bin/env bash
# The structure figures issue 18 asks for, before and after a change (docs/architecture.md):
# public types in the core, lines per module, `duplicates` pairs in Sources, and the places each
# job transition is written. Reads the tree as text; builds nothing (the core's build time is
# measured separately, see docs/architecture.md).
#
#   scripts/structure-figures.sh            # this checkout
#   scripts/structure-figures.sh DIR        # another checkout (for example a clone at an older commit)
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root/Sources"
swift_files() { find "$1" -name '*.swift' -print0; }
count() { swift_files "$1" | xargs -0 grep -hcE "$2" 2>/dev/null | paste -sd+ | bc; }

echo "public types in the core (struct, enum, class, actor, protocol, typealias; nested included):"
echo "  $(count Surety '^\s*public (final )?(struct|enum|class|actor|protocol|typealias) ')"
echo "package-access types in the core: $(count Surety '^\s*package (final )?(struct|enum|class|actor|protocol|typealias) ')"
echo
echo "lines per module (files):"
for module in */; do
    module=${module%/}
    lines=$(swift_files "$module" | xargs -0 cat | wc -l)
    files=$(swift_files "$module" | tr -cd '\0' | wc -c)
    printf '  %-22s %6d (%d)\n' "$module" "$lines" "$files"
done
echo
echo "places each transition is written (SQL statements and Swift functions that set the state):"
echo "  claim   (SET state = 'running' / .state = .running): $(count . "SET state = 'running'|\\.state = \\.running")"
echo "  finish  (switch over NextState to pick the new state): $(count . 'switch (finish|self|outcome)?\.?next \{|switch finish\.next')"
echo "  rescue  (expired-lease selection):                     $(count . "lease_until <= |leaseUntil <= |leaseUntil! <= ")"
echo "  finish  (UPDATE … finished_at in a store's finish SQL): $(count . "finished_at = CASE|finished_at = f\\.|finished_at = \\\$")"
echo "  UPDATE surety_jobs statements: SQLite $(count SuretySQLite 'UPDATE surety_jobs'), PostgreSQL $(count SuretyPostgres 'UPDATE surety_jobs')"
echo "  claimed row decoders (memberwise ClaimedJob( constructions): $(count . 'ClaimedJob\(\s*$|ClaimedJob\(id:'), plus calls of the core's ClaimedJob(record:): $(count . 'ClaimedJob\(record:')"
echo
if command -v duplicates >/dev/null; then
    echo "duplicates in Sources: $(duplicates --repo . --seconds 120 | head -1)"
fi
