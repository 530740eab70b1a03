#!/usr/bin/env bash
# The Docker image's runtime stage installs docker/runtime-packages.txt and nothing else: this
# checks that the list holds every Debian package of the shared libraries the binary loads, and no
# package that is not one of those unless its line says why ("# not a library: ...").
#   runtime_packages.sh BINARY LIST   exit 0 when it does; exit 1 naming each package missing or extra
# The build host is Debian bookworm, as the image is, so its dpkg database answers for the image.
set -euo pipefail
binary=${1:?usage: runtime_packages.sh BINARY LIST}
list=${2:?usage: runtime_packages.sh BINARY LIST}
[ -r "$list" ] || { echo "runtime_packages: cannot read $list" >&2; exit 1; }

out=$(ldd "$binary") || { echo "runtime_packages: ldd $binary failed" >&2; exit 1; }
if grep -q 'not found' <<<"$out"; then
  echo "runtime_packages: $binary has unresolved libraries:" >&2; grep 'not found' <<<"$out" >&2; exit 1
fi
# "name => /path (address)" and the loader's "/path (address)"; the vDSO has no file.
mapfile -t libraries < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$out")
[ ${#libraries[@]} -gt 0 ] || { echo "runtime_packages: ldd found no library in $binary" >&2; exit 1; }

# dpkg knows a file by the path its package ships it at. With merged /usr the loader may name it
# under /lib or /usr/lib, and by the soname link or the file it points to: ask for every spelling
# at once (one dpkg -S, which is slow to start), then take the first one dpkg knows.
spellings() {
  local real
  real=$(readlink -f "$1")
  printf '%s\n' "$1" "/usr$1" "${1#/usr}" "$real" "/usr$real" "${real#/usr}" | awk '!seen[$0]++'
}
declare -A owner
while IFS= read -r line; do
  path=${line#*: }
  package=${line%%: *}
  owner[$path]=${package%%:*}   # "libpq5:amd64" is libpq5
done < <(for lib in "${libraries[@]}"; do spellings "$lib"; done | xargs dpkg -S 2>/dev/null | grep -v '^diversion' || true)

needed=()
for lib in "${libraries[@]}"; do
  package=""
  while IFS= read -r spelling; do
    if [ -n "${owner[$spelling]:-}" ]; then package=${owner[$spelling]}; break; fi
  done < <(spellings "$lib")
  [ -n "$package" ] || { echo "runtime_packages: no Debian package ships $lib" >&2; exit 1; }
  needed+=("$package")
done
needed_sorted=$(printf '%s\n' "${needed[@]}" | sort -u)

# Package names one a line; a comment starts with #. A line whose comment begins "not a library:"
# names a package the image needs for another reason, which ldd cannot see.
listed=$(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$list" | sed '/^$/d' | sort -u)
excused=$(grep -E '#[[:space:]]*not a library:' "$list" | sed -e 's/#.*//' -e 's/[[:space:]]//g' | sort -u)

status=0
for p in $(comm -23 <(echo "$needed_sorted") <(echo "$listed")); do
  echo "runtime_packages: $p is missing from $list: $binary loads a library of it (ldd)" >&2; status=1
done
for p in $(comm -13 <(echo "$needed_sorted") <(echo "$listed") | comm -23 - <(echo "$excused")); do
  echo "runtime_packages: $p is in $list but $binary loads no library of it; remove it, or say why with '# not a library: ...'" >&2
  status=1
done
[ $status -ne 0 ] || echo "runtime_packages: $list holds the $(wc -l <<<"$needed_sorted") packages of the libraries $binary loads"
exit $status
