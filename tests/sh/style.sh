#!/bin/sh
# variants: normal
# The code's one style (`make lint` runs the same checks):
#  - every C file of lib/, tools/ and tests/ is as clang-format makes it
#    with the project's .clang-format (clang-format 14, Debian 12's);
#  - no function in lib/ or tools/ is longer than 100 lines unless the
#    comment above it says why after "Long:" (tests/lint/funclen.awk);
#  - every function that ARCHITECTURE.md names (`name()`) is defined in lib/ or tools/.
set -u
cd "$TOP"
rc=0
if ! awk -f tests/lint/funclen.awk lib/*/*.c tools/*.c > "$TMPDIR/long.txt"; then
    echo "functions over 100 lines without a 'Long:' reason above them:" >&2
    sed 's/^/  /' "$TMPDIR/long.txt" >&2
    rc=1
fi
for f in $(grep -o '`[a-z_0-9]*()`' ARCHITECTURE.md | tr -d '`()' | sort -u); do
    grep -Eq "^[a-zA-Z_].*[ *]$f\(" lib/*/*.[ch] tools/*.c || { echo "ARCHITECTURE.md names $f(), defined nowhere in lib/ or tools/" >&2; rc=1; }
done
command -v clang-format > /dev/null || { echo "clang-format not found (make deps installs it)"; exit 77; }
for f in lib/*/*.[ch] tools/*.c tests/unit/*.[ch] tests/helpers/*.c tests/fuzz/*.c; do
    [ -f "$f" ] || continue
    clang-format --style=file "$f" | diff -u "$f" - > "$TMPDIR/fmt.diff" || {
        echo "$f: not as clang-format writes it (clang-format -i $f):" >&2
        head -n 20 "$TMPDIR/fmt.diff" >&2
        rc=1
    }
done
exit $rc
