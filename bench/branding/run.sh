#!/usr/bin/env bash
# Branding host benchmark: 64 keep-alive connections on loopback fetching a 2 KB invitation
# template, a 200 KB PNG and a 361 KB JPEG, from Switchboard (`switchboard serve`, release build,
# files in SQLite behind its cache, every request through the whole middleware stack and the
# request log) and from nginx (Debian's package, sendfile) serving the same bytes from disk, in
# the same run. Before timing, every URL must answer 200 with exactly the bytes of the file, on
# both sides (a fast 404 is no win); after, wrk must have seen no errors and no non-2xx answers.
# Prints requests/s for both and the ratio.
#
#   bench/branding/run.sh [DURATION_SECONDS]      (default 10)
#   bench/branding/run.sh --smoke                 (the test command: 1 s each, no release build;
#                                                  BENCH_SWITCHBOARD_BIN picks the binary, default the
#                                                  debug one, built if missing)
#   BENCH_PERF_DIR=/tmp/prof bench/branding/run.sh (also samples Switchboard with `perf record`
#                                                  while it is loaded: one profile per file there,
#                                                  read with `perf report -i F --no-children`)
set -euo pipefail
cd "$(dirname "$0")/../.."
SMOKE=0
DURATION=10
case "${1:-}" in
  --smoke) SMOKE=1; DURATION=1 ;;
  "") ;;
  *) DURATION="$1" ;;
esac
CONNS=64
THREADS=2
SB_PORT="${BENCH_SB_PORT:-3917}"
NGINX_PORT="${BENCH_NGINX_PORT:-3918}"
TARGET="${CARGO_TARGET_DIR:-target}"

need() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
missing=()
need wrk || missing+=(wrk)
need nginx || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  echo "[bench] installing ${missing[*]} from Debian's packages"
  as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

if [ -n "${BENCH_SWITCHBOARD_BIN:-}" ]; then
  SB="$BENCH_SWITCHBOARD_BIN"
elif [ $SMOKE -eq 1 ]; then
  SB="$TARGET/debug/switchboard"
  [ -x "$SB" ] || cargo build -q -p server --bin switchboard
else
  echo "[bench] building switchboard (release)"
  cargo build --release -q -p server --bin switchboard
  SB="$TARGET/release/switchboard"
fi
[ -x "$SB" ] || { echo "[bench] FAIL: no switchboard binary at $SB" >&2; exit 1; }

WORK="$(mktemp -d /tmp/sb-bench.XXXXXX)"
# nginx workers run as www-data: they must be able to read the served folder.
chmod 755 "$WORK"
SB_PID=""; NGINX_STARTED=""
cleanup() {
  if [ -n "$SB_PID" ]; then kill "$SB_PID" 2>/dev/null || true; wait "$SB_PID" 2>/dev/null || true; fi
  if [ -n "$NGINX_STARTED" ]; then "$NGINX" -c "$WORK/nginx.conf" -p "$WORK" -s stop 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "[bench] FAIL: $*" >&2; exit 1; }

# The same bytes for both: a 2 KB template, a ~200 KB PNG and a 361 KB JPEG (noise, so they do
# not compress; the JPEG is a valid header and frame with noise where the scan data would be).
mkdir -p "$WORK/files/call" "$WORK/nginx-logs" "$WORK/nginx-tmp"
python3 - "$WORK/files" <<'PY'
import os, random, struct, sys, zlib
root = sys.argv[1]
line = "#if uri\nFrom a video system call %uri% or join from a browser at %web_bridge_addresses.0.address%\n#endif\n"
text = "Subject: {% if name %}Invitation: %name%{% else %}Invitation{% endif %}\n"
while len(text) + len(line) <= 2048:
    text += line
text += "x" * (2048 - len(text))
open(os.path.join(root, "invitation_template.txt"), "w").write(text)
random.seed(7)
w, h = 256, 260
raw = b"".join(b"\x00" + bytes(random.getrandbits(8) for _ in range(w * 3)) for _ in range(h))
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) \
    + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
open(os.path.join(root, "call", "background.png"), "wb").write(png)
head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" \
    + b"\xff\xc0\x00\x11\x08" + struct.pack(">HH", 1080, 1920) + b"\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
size = 361 * 1024
noise = bytes(random.randrange(0, 255) for _ in range(size - len(head) - 2))  # no 0xFF: no markers
open(os.path.join(root, "call", "background.jpg"), "wb").write(head + noise + b"\xff\xd9")
PY
echo "[bench] template $(stat -c %s "$WORK/files/invitation_template.txt") bytes, PNG $(stat -c %s "$WORK/files/call/background.png") bytes, JPEG $(stat -c %s "$WORK/files/call/background.jpg") bytes"

# A production configuration as `serve` accepts it: CDRs only from loopback (the benchmark
# posts none), so the receiver is guarded.
cat > "$WORK/switchboard.toml" <<TOML
[server]
addr = "127.0.0.1:$SB_PORT"
data_dir = "$WORK/data"
[cdr]
allowed_sources = ["127.0.0.1"]
TOML
"$SB" branding import "$WORK/files" --tenant bench --config "$WORK/switchboard.toml" >/dev/null
SWITCHBOARD_LOG=warn "$SB" serve --config "$WORK/switchboard.toml" >"$WORK/switchboard.log" 2>&1 &
SB_PID=$!

cat > "$WORK/nginx.conf" <<CONF
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx-logs/error.log warn;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  access_log $WORK/nginx-logs/access.log;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  etag on;
  client_body_temp_path $WORK/nginx-tmp;
  proxy_temp_path $WORK/nginx-tmp; fastcgi_temp_path $WORK/nginx-tmp; uwsgi_temp_path $WORK/nginx-tmp; scgi_temp_path $WORK/nginx-tmp;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/files;
    location = /invites/bench { default_type "text/plain; charset=utf-8"; try_files /invitation_template.txt =404; }
    location /branding/bench/call/ { alias $WORK/files/call/; }
  }
}
CONF
"$NGINX" -c "$WORK/nginx.conf" -p "$WORK" && NGINX_STARTED=1

# Both up within 20 s, or say why not (a server that refuses its configuration exits at once).
for port in $SB_PORT $NGINX_PORT; do
  up=""
  for _ in $(seq 1 200); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/invites/bench?language=en_US" 2>/dev/null; then up=1; break; fi
    if [ "$port" = "$SB_PORT" ] && ! kill -0 "$SB_PID" 2>/dev/null; then
      cat "$WORK/switchboard.log" >&2
      SB_PID=""
      fail "switchboard serve exited before answering (its log is above)"
    fi
    sleep 0.1
  done
  if [ -z "$up" ]; then
    [ "$port" = "$SB_PORT" ] && cat "$WORK/switchboard.log" >&2
    fail "nothing answers on 127.0.0.1:$port"
  fi
done

PATHS=("/invites/bench?language=en_US" "/branding/bench/call/background.png" "/branding/bench/call/background.jpg")
FILES=("invitation_template.txt" "call/background.png" "call/background.jpg")
LABELS=("2 KB template" "200 KB PNG" "361 KB JPEG")
# Each side answers 200 with exactly the file's bytes, or the comparison means nothing.
for i in "${!PATHS[@]}"; do
  want=$(sha256sum <"$WORK/files/${FILES[$i]}")
  for port in $SB_PORT $NGINX_PORT; do
    status=$(curl -sS -o "$WORK/got" -w '%{http_code}' "http://127.0.0.1:$port${PATHS[$i]}")
    [ "$status" = 200 ] || fail "${PATHS[$i]} answered $status on port $port"
    [ "$(sha256sum <"$WORK/got")" = "$want" ] || fail "${PATHS[$i]} on port $port is not the bytes of ${FILES[$i]}"
  done
done

# Requests/s from wrk; refuses a run with socket errors or non-2xx answers.
rps() {
  local out
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" "$1")
  if grep -Eq 'Non-2xx|Socket errors' <<<"$out"; then
    echo "$out" >&2
    fail "wrk saw errors fetching $1"
  fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}
declare -A R
for i in "${!PATHS[@]}"; do
  PERF_PID=""
  if [ -n "${BENCH_PERF_DIR:-}" ]; then
    mkdir -p "$BENCH_PERF_DIR"
    # cpu-clock: virtual machines often have no hardware counters. The sampling starts a
    # moment into the run and stops before its end, so it sees only the loaded server.
    ( sleep 1; exec perf record -q -e cpu-clock -F 1999 -p "$SB_PID" -o "$BENCH_PERF_DIR/$(basename "${FILES[$i]}").data" \
        -- sleep "$((DURATION > 3 ? DURATION - 2 : 1))" ) >/dev/null 2>&1 &
    PERF_PID=$!
  fi
  R[sb_$i]=$(rps "http://127.0.0.1:$SB_PORT${PATHS[$i]}")
  if [ -n "$PERF_PID" ]; then wait "$PERF_PID" || echo "[bench] perf record failed" >&2; fi
  R[nginx_$i]=$(rps "http://127.0.0.1:$NGINX_PORT${PATHS[$i]}")
done
kill -0 "$SB_PID" 2>/dev/null || fail "switchboard exited during the run"

echo
[ $SMOKE -eq 1 ] && echo "(smoke mode: $SB, ${DURATION}s each; the figures only show that it runs)"
echo "Branding host, $CONNS keep-alive connections, ${DURATION}s each, loopback, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-26s %14s %14s %8s\n" "file" "switchboard/s" "nginx/s" "ratio"
for i in "${!PATHS[@]}"; do
  s=${R[sb_$i]}; n=${R[nginx_$i]}
  [ -n "$s" ] && [ -n "$n" ] || fail "no figure for ${LABELS[$i]}"
  ratio=$(awk -v s="$s" -v n="$n" 'BEGIN { if (n > 0) printf "%.2fx", s / n; else print "n/a" }')
  printf "%-26s %14s %14s %8s\n" "${LABELS[$i]}" "$s" "$n" "$ratio"
done
