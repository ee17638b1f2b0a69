#!/usr/bin/env bash
# Install the Debian/Ubuntu packages loa needs, only those that are missing.
#   scripts/install-debian-deps.sh            # what the station and the tests need
#   scripts/install-debian-deps.sh --bench    # plus what the benchmarks compare against
# libportaudio2: sounddevice's PortAudio; libasound2-plugins: the ALSA "pulse" device
# (PortAudio -> PulseAudio/PipeWire); pulseaudio + pulseaudio-utils: the virtual station sink
# the tests play into and capture from; espeak-ng: Vietnamese speech for `loa output test`
# and the demo library; postgresql: the central database the aggregation tests use;
# python3-venv: the virtualenv `make` creates; icecast2: the local live stream the relay tests
# (tiếp sóng) play from; mpg123: the mp3 decoder of the playout (3 MB, where ffmpeg takes 33);
# libpq5: the libpq of the daemon's one central connection (3 MB less than psycopg's own).
set -euo pipefail
pkgs=(python3-venv libportaudio2 libasound2-plugins pulseaudio pulseaudio-utils espeak-ng postgresql libpq5 icecast2 mpg123)
[[ "${1:-}" == "--bench" ]] && pkgs+=(liquidsoap)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]})) || exit 0
echo "loa: installing Debian packages: ${missing[*]}" >&2
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
