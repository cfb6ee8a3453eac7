#!/usr/bin/env bash
# Branding host benchmark: 64 keep-alive connections on loopback fetching a 2 KB invitation
# template and a 200 KB image, from Switchboard (release build, files in SQLite behind its cache,
# every request logged) and from nginx (Debian's package) serving the same bytes from disk, in the
# same run. Prints requests/s for both and the ratio. Not part of the test command (too slow).
#
#   bench/branding/run.sh [DURATION_SECONDS]      (default 10)
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION="${1:-10}"
CONNS=64
THREADS=2
SB_PORT=3917
NGINX_PORT=3918

need() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
missing=()
need wrk || missing+=(wrk)
need nginx || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  echo "[bench] installing ${missing[*]} from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

echo "[bench] building switchboard (release)"
cargo build --release -q -p server --bin switchboard
SB=target/release/switchboard

WORK="$(mktemp -d /tmp/sb-bench.XXXXXX)"
# nginx workers run as www-data: they must be able to read the served folder.
chmod 755 "$WORK"
SB_PID=""; NGINX_STARTED=""
cleanup() {
  [ -n "$SB_PID" ] && kill "$SB_PID" 2>/dev/null && wait "$SB_PID" 2>/dev/null || true
  [ -n "$NGINX_STARTED" ] && "$NGINX" -c "$WORK/nginx.conf" -p "$WORK" -s stop 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# The same bytes for both: a 2 KB template and a ~200 KB PNG (noise, so it does not compress).
mkdir -p "$WORK/files/call" "$WORK/nginx-logs"
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
PY
echo "[bench] template $(stat -c %s "$WORK/files/invitation_template.txt") bytes, image $(stat -c %s "$WORK/files/call/background.png") bytes"

cat > "$WORK/switchboard.toml" <<TOML
[server]
addr = "127.0.0.1:$SB_PORT"
data_dir = "$WORK/data"
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
mkdir -p "$WORK/nginx-tmp"
"$NGINX" -c "$WORK/nginx.conf" -p "$WORK" && NGINX_STARTED=1

for port in $SB_PORT $NGINX_PORT; do
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/invites/bench?language=en_US" && break
    sleep 0.1
  done
done
# Same bytes from both, or the comparison means nothing.
for path in "/invites/bench?language=en_US" "/branding/bench/call/background.png"; do
  a=$(curl -fsS "http://127.0.0.1:$SB_PORT$path" | sha256sum); b=$(curl -fsS "http://127.0.0.1:$NGINX_PORT$path" | sha256sum)
  [ "$a" = "$b" ] || { echo "[bench] FAIL: $path differs between the servers" >&2; exit 1; }
done

rps() { wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" "$1" | awk '/Requests\/sec/ {print $2}'; }
declare -A R
for what in template image; do
  case $what in
    template) path="/invites/bench?language=en_US" ;;
    image) path="/branding/bench/call/background.png" ;;
  esac
  R[sb_$what]=$(rps "http://127.0.0.1:$SB_PORT$path")
  R[nginx_$what]=$(rps "http://127.0.0.1:$NGINX_PORT$path")
done

echo
echo "Branding host, $CONNS keep-alive connections, ${DURATION}s each, loopback, $(nproc) cores"
printf "%-26s %14s %14s %8s\n" "file" "switchboard/s" "nginx/s" "ratio"
for what in template image; do
  s=${R[sb_$what]}; n=${R[nginx_$what]}
  ratio=$(awk -v s="$s" -v n="$n" 'BEGIN { if (n > 0) printf "%.0f%%", 100 * s / n; else print "n/a" }')
  label=$([ $what = template ] && echo "2 KB template" || echo "200 KB image")
  printf "%-26s %14s %14s %8s\n" "$label" "$s" "$n" "$ratio"
done
