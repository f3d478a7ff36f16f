#!/usr/bin/env bash
# Pull + unpack benchmark: kiln against skopeo copy + umoci unpack, in one run,
# on the same image from the same local registry (Debian's docker-registry on
# 127.0.0.1). Prints the median wall time of each and their ratio.
#
# usage: pull_unpack.sh KILN_BINARY [RUNS] [LAYERS] [MB_PER_LAYER]
#   defaults: 3 runs, 20 layers of 10 MB (200 MB), half random (incompressible)
#   and half text-like data, in files of 256 kB.
# Needs: docker-registry, skopeo, umoci, curl, gzip, tar (scripts/lib/deps.sh).
set -euo pipefail
kiln=${1:?usage: pull_unpack.sh KILN_BINARY [RUNS] [LAYERS] [MB_PER_LAYER]}
runs=${2:-3}
layers=${3:-20}
mb=${4:-10}
here="$(cd "$(dirname "$0")" && pwd)"
shared="${KILN_SHARED_DIR:-$here/../../../shared}"

work=$(mktemp -d /tmp/kiln-bench.XXXXXX)
registry_pid=""
cleanup() {
  [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null || true
  umount -R "$work"/kiln-root-*/snapshots/*/mnt 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$(( 20000 + RANDOM % 20000 ))
registry_pid=$("$shared/tools/start-registry.sh" "$port" "$work/registry")
host="127.0.0.1:$port"
ref="$host/bench/big:1"

# --- the image: an OCI layout with $layers gzip layers --------------------------
layout=$work/layout
mkdir -p "$layout/blobs/sha256"
put() { local d; d=$(sha256sum "$1" | cut -d' ' -f1); mv "$1" "$layout/blobs/sha256/$d"; echo "$d"; }
files=$(( mb * 4 ))
layer_json="" diff_ids="" history=""
for ((l = 0; l < layers; l++)); do
  dir=$work/src/l$l
  mkdir -p "$dir/data/l$l"
  for ((f = 0; f < files; f++)); do
    if (( f % 2 == 0 )); then
      head -c 262144 /dev/urandom > "$dir/data/l$l/f$f.bin"
    else
      { echo "layer $l file $f"; head -c 262100 /dev/zero | tr '\0' 'k'; } > "$dir/data/l$l/f$f.txt"
    fi
  done
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$dir" -cf "$work/layer.tar" .
  diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  gzip -n -1 "$work/layer.tar"
  size=$(stat -c %s "$work/layer.tar.gz")
  digest=$(put "$work/layer.tar.gz")
  rm -rf "$dir"
  layer_json+="${layer_json:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$digest\",\"size\":$size}"
  diff_ids+="${diff_ids:+,}\"sha256:$diff_id\""
  history+="${history:+,}{\"created_by\":\"layer $l\"}"
done
printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[%s]},"history":[%s]}' \
  "$diff_ids" "$history" > "$work/config.json"
cfg_size=$(stat -c %s "$work/config.json"); cfg=$(put "$work/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
  "$cfg" "$cfg_size" "$layer_json" > "$work/manifest.json"
man_size=$(stat -c %s "$work/manifest.json"); man=$(put "$work/manifest.json")
printf '{"imageLayoutVersion":"1.0.0"}' > "$layout/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"1"}}]}' \
  "$man" "$man_size" > "$layout/index.json"
total=$(du -sb "$layout/blobs" | cut -f1)
skopeo copy -q --dest-tls-verify=false "oci:$layout:1" "docker://$ref"

# kiln may talk plain http to this registry only because the config says so.
cat > "$work/kiln.toml" <<TOML
[registry."$host"]
  http = true
TOML

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

kiln_times=() ref_times=()
for ((r = 0; r < runs; r++)); do
  root=$work/kiln-root-$r
  t0=$(now)
  KILN_CONFIG=$work/kiln.toml "$kiln" --root "$root" image pull --unpack --quiet "$ref" >/dev/null
  t1=$(now)
  kiln_times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')")
  rm -rf "$root" 2>/dev/null || { umount -R "$root"/snapshots/*/mnt 2>/dev/null; rm -rf "$root"; }

  oci=$work/skopeo-$r
  t0=$(now)
  skopeo copy -q --src-tls-verify=false "docker://$ref" "oci:$oci:1"
  umoci unpack $([ "$(id -u)" = 0 ] || echo --rootless) --image "$oci:1" "$work/bundle-$r" >/dev/null
  t1=$(now)
  ref_times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')")
  rm -rf "$oci" "$work/bundle-$r"
done

k=$(printf '%s\n' "${kiln_times[@]}" | median)
s=$(printf '%s\n' "${ref_times[@]}" | median)
echo "image: $layers layers, $(( total / 1000000 )) MB compressed, from $host"
echo "kiln pull --unpack          median ${k}s  (runs: ${kiln_times[*]})"
echo "skopeo copy + umoci unpack  median ${s}s  (runs: ${ref_times[*]})"
echo "ratio kiln / (skopeo+umoci) $(awk -v a="$k" -v b="$s" 'BEGIN {printf "%.3f", a / b}')"
