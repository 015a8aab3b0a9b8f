# Function lengths of C files in the project's style: a function's body
# opens with '{' in column 0 and closes with '}' in column 0.
# Prints "LINES FILE:LINE NAME" for each function longer than max (default
# 100) lines without a reason: a comment right above it (no blank line
# between) that says why after "Long:". Exits 1 if there is any.
# Usage: awk [-v max=N] [-v all=1] -f tests/lint/funclen.awk FILE...
#   all=1: list every function with its length, and fail on none.
BEGIN { if (max == "") max = 100 }
FNR == 1 { inb = 0; sig = ""; why = 0 }
!inb && /^\{/ {
    inb = 1; start = FNR; excused = why
    next
}
inb && /^\}/ {
    inb = 0; why = 0; n = FNR - start + 1
    name = sig; sub(/\(.*/, "", name); k = split(name, a, /[ *]+/)
    long = n > max && !excused
    if (all || long) print n, FILENAME ":" start, a[k]
    if (long && !all) bad = 1
    next
}
!inb {
    if ($0 ~ /^[ \t]*$/) why = 0
    if ($0 ~ /Long:/) why = 1
    if ($0 ~ /^[a-zA-Z_][^;=]*\(/) sig = $0 # the first line of a signature
}
END { exit bad }
