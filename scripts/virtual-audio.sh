#!/usr/bin/env bash
# A private PulseAudio with one clocked null sink that stands in for the station's sound card.
# Used by the real-audio tests and bench/bench_playout.py; works as root, without a sound card,
# D-Bus or systemd. Everything lives under $VA_DIR (default: $TMPDIR/loa-audio), so separate
# directories give separate, non-interfering servers.
#
#   eval "$(scripts/virtual-audio.sh)"        # start if needed, print the env to use it
#   scripts/virtual-audio.sh --env            # only print the env
#   scripts/virtual-audio.sh --stop
#
# Needs (Debian): pulseaudio pulseaudio-utils libasound2-plugins (the ALSA "pulse" PCM through
# which PortAudio reaches PulseAudio). Exit status 3 if one is missing.
# Clients reach it through PULSE_SERVER: libpulse programs (parec, liquidsoap) directly, ALSA
# programs (PortAudio/sounddevice) through the ALSA "default"/"pulse" PCM.
set -euo pipefail
VA_DIR="${VA_DIR:-${TMPDIR:-/tmp}/loa-audio}"
SINK="${VA_SINK:-station}"
RATE="${VA_RATE:-48000}"
SOCK="$VA_DIR/run/native"

env_lines() {
  cat <<EOT
export PULSE_SERVER=unix:$SOCK
export PULSE_RUNTIME_PATH=$VA_DIR/run
export PULSE_STATE_PATH=$VA_DIR/state
export PULSE_COOKIE=$VA_DIR/cookie
export PULSE_CLIENTCONFIG=$VA_DIR/client.conf
export PULSE_SINK=$SINK
export PULSE_SOURCE=$SINK.monitor
EOT
}
[[ "${1:-}" == "--env" ]] && { env_lines; exit 0; }
eval "$(env_lines)"

# pid file -> true if that process is alive (not a zombie) and its command line contains $2
alive() {
  local pid; [[ -f "$1" ]] || return 1
  pid=$(cat "$1"); [[ -r /proc/$pid/stat ]] || return 1
  [[ "$(awk '{print $3}' "/proc/$pid/stat")" != Z ]] || return 1
  grep -qa "$2" "/proc/$pid/cmdline"
}

if [[ "${1:-}" == "--stop" ]]; then
  if alive "$VA_DIR/run/keepalive.pid" parec; then kill "$(cat "$VA_DIR/run/keepalive.pid")"; fi
  if alive "$VA_DIR/run/pid" pulseaudio; then kill "$(cat "$VA_DIR/run/pid")"; fi
  rm -f "$VA_DIR/run/keepalive.pid"
  exit 0
fi

missing=()
command -v pulseaudio >/dev/null || missing+=(pulseaudio)
command -v parec >/dev/null || missing+=(pulseaudio-utils)
ls /usr/lib/*/alsa-lib/libasound_module_pcm_pulse.so >/dev/null 2>&1 || missing+=(libasound2-plugins)
if ((${#missing[@]})); then
  echo "virtual audio needs: apt-get install ${missing[*]}" >&2
  exit 3
fi

sink_ok() { pactl list short sinks 2>/dev/null | grep -q "[[:space:]]$SINK[[:space:]]"; }

if ! sink_ok; then
  mkdir -p "$VA_DIR/run" "$VA_DIR/state" "$VA_DIR/home"
  chmod 700 "$VA_DIR/run"
  printf 'autospawn = no\n' > "$VA_DIR/client.conf"
  cat > "$VA_DIR/station.pa" <<EOT
load-module module-native-protocol-unix auth-anonymous=1 socket=$SOCK
load-module module-null-sink sink_name=$SINK rate=$RATE channels=2 sink_properties=device.description=Station_Output
set-default-sink $SINK
set-default-source $SINK.monitor
EOT
  # -n: no default.pa (no hardware probing); --system=no: a per-user daemon even as root
  # (it only warns); HOME keeps its cookie and state out of the real home.
  HOME="$VA_DIR/home" XDG_CONFIG_HOME="$VA_DIR/home/.config" \
  pulseaudio --daemonize=yes --system=no -n --file="$VA_DIR/station.pa" \
    --exit-idle-time=-1 --disallow-exit=yes --use-pid-file=yes \
    --realtime="${VA_REALTIME:-no}" --high-priority="${VA_REALTIME:-no}" \
    --log-target=file:"$VA_DIR/pulse.log" --log-level=notice
  for _ in $(seq 1 100); do sink_ok && break; sleep 0.05; done
  sink_ok || { echo "virtual audio failed to start" >&2; cat "$VA_DIR/pulse.log" >&2; exit 1; }
fi

# An idle null sink renders up to 2 s ahead, so a new monitor reader could wait 2 s for its
# first byte. A permanent 5 ms reader pins the sink's block to 5 ms (setsid -f: detached).
if ! alive "$VA_DIR/run/keepalive.pid" parec; then
  setsid -f sh -c 'echo $$ > "$1"; exec parec --device="$2" --latency-msec=5 --raw >/dev/null 2>&1 </dev/null' \
    sh "$VA_DIR/run/keepalive.pid" "$SINK.monitor"
fi
# The sink keeps what it already rendered; suspending and resuming it once the keep-alive is
# connected drops that backlog.
lat() { pactl list sinks | sed -n 's/.*Latency: \([0-9]*\) usec.*/\1/p' | head -1; }
kicked=0
l=""
for _ in $(seq 1 150); do
  l=$(lat); [[ -n "$l" && "$l" -le 20000 ]] && break
  if (( kicked == 0 )) && [[ -n "$(pactl list short source-outputs)" ]]; then
    kicked=1; pactl suspend-sink "$SINK" 1; pactl suspend-sink "$SINK" 0
  fi
  sleep 0.02
done
[[ -n "$l" && "$l" -le 20000 ]] || echo "warning: sink latency still ${l:-?} usec" >&2
env_lines
