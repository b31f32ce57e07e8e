#!/usr/bin/env bash
# Every README code block marked <!-- snippet: FILE REGION --> must equal the
# lines between "// [REGION]" and "// [REGION end]" in FILE (indentation
# removed), so the README's examples are code that compiles.
set -euo pipefail
root=$1
readme=$root/README.md
status=0
checked=0
while IFS= read -r marker; do
  file=$(sed -E 's/<!-- snippet: ([^ ]+) (.*) -->/\1/' <<<"$marker")
  region=$(sed -E 's/<!-- snippet: ([^ ]+) (.*) -->/\2/' <<<"$marker")
  expected=$(awk -v start="// [$region]" -v stop="// [$region end]" '
      { line = $0; sub(/^[ \t]+/, "", line) }
      line == stop { inside = 0 }
      inside { print }
      line == start { inside = 1 }' "$root/$file")
  # Remove the common indentation.
  indent=$(awk 'NF { match($0, /^ */); if (min == "" || RLENGTH < min) min = RLENGTH } END { print min + 0 }' <<<"$expected")
  expected=$(sed -E "s/^ {0,$indent}//" <<<"$expected")
  actual=$(awk -v marker="$marker" '
      $0 == marker { found = 1; next }
      found && /^```/ { if (inside) exit; inside = 1; next }
      inside { print }' "$readme")
  if [ -z "$expected" ]; then
    echo "README snippet '$region': no region '// [$region]' in $file"; status=1
  elif [ "$expected" != "$actual" ]; then
    echo "README snippet '$region' differs from $file:"; diff <(echo "$expected") <(echo "$actual") || true; status=1
  fi
  checked=$((checked + 1))
done < <(grep -E '^<!-- snippet: ' "$readme")
[ "$checked" -gt 0 ] || { echo "no snippets found in README.md"; exit 1; }
[ $status -eq 0 ] && echo "$checked README snippet(s) match their sources"
exit $status
