#!/usr/bin/env bash
# Runs every fuzz target of the module for a short time each (FUZZTIME, default 10s).
# Go fuzzes one target of one package at a time, so the targets are found and run in turn.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
found=0
while IFS= read -r file; do
	pkg=./$(dirname "$file")
	for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
		found=$((found + 1))
		echo "fuzz $pkg $target for $fuzztime"
		# go test -fuzz can end with "context deadline exceeded" and no failing input when
		# an execution is still running at the deadline on a loaded machine; that run found
		# nothing, so it is run once more. A real failure writes its input and fails.
		if ! out=$(go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" 2>&1); then
			printf '%s\n' "$out"
			if grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out"; then
				echo "fuzz $pkg $target: deadline hit during an execution, no failing input; once more"
				go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime"
			else
				exit 1
			fi
		else
			printf '%s\n' "$out" | tail -n 3
		fi
	done
done < <(git ls-files '*_test.go' | xargs grep -l '^func Fuzz')
if [ "$found" -eq 0 ]; then
	echo "no fuzz targets found" >&2
	exit 1
fi
echo "ran $found fuzz targets"
