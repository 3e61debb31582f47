#!/usr/bin/env bash
# Whole-process measurements of kgctl on synthetic clusters: builds a Release
# kgctl, generates the dumps with scripts/gen-cluster.py and runs
# `/usr/bin/time -v kgctl --from-file DUMP showconf node X` and `graph` for
# 100, 1,000 and 5,000 nodes, 10 locations and full granularity, 0 and 1,000
# Peers. Prints a table of wall time (best of RUNS), CPU time (user+sys of
# that run) and peak RSS.
#
#   bench/run.sh [BUILD_DIR]      (default <repo>/build-bench)
#
# Env: RUNS (default 3), SIZES (default "100 1000 5000"), DATA_DIR (default a
# temporary directory, removed at exit), SKIP_BUILD=1, BENCH=1 also runs the
# Google Benchmark binary kilo_bench afterwards.
# The 5,000-node full-granularity graph is 12.5M edges (~0.5 GB of DOT): it is
# measured too, as the quadratic output it is.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${1:-$ROOT/build-bench}"
RUNS="${RUNS:-3}"
SIZES="${SIZES:-100 1000 5000}"
NOW=1767225600

if [[ ! -x /usr/bin/time ]]; then
  echo "bench/run.sh: /usr/bin/time not found (apt-get install time)" >&2
  exit 1
fi
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  # kgctl as shipped: statically linked (a missing simdjson source is a configure error
  # that says how to get it).
  bash "$ROOT/scripts/configure.sh" "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DKILO_TESTS=OFF -DKILO_BENCH=ON \
    -DKILO_STATIC_KGCTL=ON -DKILO_STATIC_KG=OFF  # kg is not built here
  targets=(kgctl)
  [[ "${BENCH:-0}" == 1 ]] && targets+=(kilo_bench)
  cmake --build "$BUILD_DIR" -j2 --target "${targets[@]}" >/dev/null
fi
KGCTL="$BUILD_DIR/bin/kgctl"

if [[ -n "${DATA_DIR:-}" ]]; then
  data="$DATA_DIR"
  mkdir -p "$data"
else
  data="$(mktemp -d /tmp/kilo-bench-run.XXXXXX)"
  trap 'rm -rf "$data"' EXIT
fi

# measure LABEL ARGS...: best wall time of $RUNS runs; prints "wall cpu rss".
measure() {
  local best_wall="" best_cpu="" best_rss="" out
  for ((r = 0; r < RUNS; r++)); do
    local wall user sys rss t0 t1
    # /usr/bin/time's own wall clock has 10 ms resolution: time it here too.
    t0=$(date +%s%N)
    /usr/bin/time -v -o "$data/time.txt" "$KGCTL" "$@" >/dev/null 2>/dev/null || true
    t1=$(date +%s%N)
    out=$(cat "$data/time.txt")
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", (b - a) / 1e9}')
    user=$(sed -n 's/.*User time (seconds): //p' <<<"$out")
    sys=$(sed -n 's/.*System time (seconds): //p' <<<"$out")
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' <<<"$out")
    if [[ -z "$best_wall" ]] || awk -v a="$wall" -v b="$best_wall" 'BEGIN{exit !(a < b)}'; then
      best_wall=$wall
      best_cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u + s}')
      best_rss=$rss
    fi
  done
  echo "$best_wall $best_cpu $best_rss"
}

printf '%-8s %-6s %-6s %-9s %-10s %10s %10s %10s %9s\n' nodes locs peers dump_MB command \
  wall_ms cpu_ms rss_MiB "(best of $RUNS)"
for n in $SIZES; do
  for l in 10 0; do
    for p in 0 1000; do
      f="$data/n$n-l$l-p$p.json"
      [[ -f "$f" ]] || python3 "$ROOT/scripts/gen-cluster.py" --nodes "$n" --locations "$l" \
        --peers "$p" --now "$NOW" -o "$f"
      mb=$(awk -v s="$(stat -c %s "$f")" 'BEGIN{printf "%.2f", s / 1e6}')
      # node-00005 leads region-5 (it carries kilo.squat.ai/leader); at full
      # granularity every node is a leader. GRANULARITIES="full cross" measures the
      # 10-location dumps again with --mesh-granularity full and cross (locs "10/cross").
      grans=("")
      if [[ $l == 10 ]]; then for g in ${GRANULARITIES:-}; do grans+=("$g"); done; fi
      for g in "${grans[@]}"; do
        gflag=()
        [[ -n $g ]] && gflag=(--mesh-granularity "$g")
        for cmd in "showconf node node-00005" "graph"; do
          read -r wall cpu rss < <(measure "${gflag[@]}" --from-file "$f" --now "$NOW" $cmd)
          printf '%-8s %-6s %-6s %-9s %-10s %10.1f %10.1f %10.1f\n' "$n" "$l${g:+/$g}" "$p" "$mb" \
            "${cmd%% *}" "$(awk -v w="$wall" 'BEGIN{print w * 1000}')" \
            "$(awk -v c="$cpu" 'BEGIN{print c * 1000}')" "$(awk -v r="$rss" 'BEGIN{print r / 1024}')"
        done
      done
    done
  done
done

if [[ "${BENCH:-0}" == 1 ]]; then
  KILO_BENCH_DIR="$data/kilo_bench" "$BUILD_DIR/bin/kilo_bench" --benchmark_min_time=0.5
fi
