#!/usr/bin/env bash
# End-to-end test of the docker compose cluster, walking through docs/docker.md:
#
#   build the image (scripts/build-image.sh) -> `trent operator gen-certs` -> chown the node keys
#   to uid 10001 -> `docker-compose up -d` -> wait for every node to be live and for a leader
#   (containers report unhealthy: a sealed node is not ready) -> `trent operator init` ->
#   `trent operator unseal` -> every container healthy -> `aws kms create-key`,
#   `aws kms encrypt` / `aws kms decrypt` of a file -> the admin API with `curl --aws-sigv4` ->
#   stop the leader, keep serving through the other two -> start it again, unseal it, see it
#   catch up -> `docker-compose down -v`.
#
# Run as root (it chowns the node keys to uid 10001, the image's user), with Docker running:
#
#   ./scripts/compose-test.sh
#
# Everything it makes is removed on exit, on failure too: the compose project (containers,
# network, volumes; its name is unique per run, trent-ci-<pid>) and the work directory with the
# certificates. The image stays. On failure it prints the containers' last log lines.
#
# Environment (optional):
#   TRENT_IMAGE        image to build and run             (trent:latest)
#   TRENT_PORT_1/2/3   host ports of the client APIs       (8401, 8402, 8403)
#   CARGO_TARGET_DIR   where build-image.sh builds         (target/static)
#   TRENT_AWS          the aws CLI                         (.venv/bin/aws; made like scripts/test.sh)
#   TRENT_SKIP_BUILD=1 use the image and binaries as they are
#   COMPOSE            compose command, e.g. "docker compose" (default: v2 if present, else
#                      docker-compose)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# ---------------------------------------------------------------------------------------------
# Helpers

started_ms=$(date +%s%3N)
passed=0
now_ms() { date +%s%3N; }
elapsed() { awk -v ms=$(($(now_ms) - started_ms)) 'BEGIN { printf "%6.1f", ms / 1000 }'; }
step() { echo; echo "==> [$(elapsed)s] $*"; }
ok() { passed=$((passed + 1)); echo "    ok: $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
seconds_since() { awk -v ms=$(($(now_ms) - $1)) 'BEGIN { printf "%.1f", ms / 1000 }'; }

# wait_for SECONDS WHAT COMMAND...: runs COMMAND every half second until it succeeds.
wait_for() {
  local timeout=$1 what=$2
  shift 2
  local deadline=$(($(now_ms) + timeout * 1000))
  until "$@"; do
    if [ "$(now_ms)" -ge "$deadline" ]; then
      fail "timed out after ${timeout}s waiting for: $what"
    fi
    sleep 0.5
  done
}

# json PATH: prints the value at PATH (dot-separated keys and list indices) of the JSON on stdin;
# null prints as the empty string, booleans as true/false.
json() {
  python3 -c '
import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split(".") if sys.argv[1] else []:
    value = value[int(key)] if isinstance(value, list) else value[key]
print("" if value is None else json.dumps(value) if isinstance(value, (bool, list, dict)) else value)
' "$1"
}

# ---------------------------------------------------------------------------------------------
# Settings

image=${TRENT_IMAGE:-trent:latest}
export TRENT_IMAGE=$image
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/static}
case "$CARGO_TARGET_DIR" in
  /*) trent="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/trent" ;;
  *) trent="$root/$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/trent" ;;
esac
export TRENT_PORT_1=${TRENT_PORT_1:-8401} TRENT_PORT_2=${TRENT_PORT_2:-8402} TRENT_PORT_3=${TRENT_PORT_3:-8403}
ports=([1]=$TRENT_PORT_1 [2]=$TRENT_PORT_2 [3]=$TRENT_PORT_3)
export TRENT_BIND_ADDR=127.0.0.1

if [ -n "${COMPOSE:-}" ]; then
  read -r -a compose_cmd <<<"$COMPOSE"
elif docker compose version >/dev/null 2>&1; then
  compose_cmd=(docker compose)
elif command -v docker-compose >/dev/null; then
  compose_cmd=(docker-compose)
else
  fail "neither 'docker compose' nor docker-compose is installed"
fi
project="trent-ci-$$"
compose() { timeout 180 "${compose_cmd[@]}" --project-name "$project" --file "$root/docker-compose.yml" "$@"; }

for tool in docker curl python3 timeout; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done
timeout 30 docker info >/dev/null 2>&1 || fail "the Docker daemon does not answer (docker info)"
[ "$(id -u)" = 0 ] || fail "run as root: the node keys are chowned to uid 10001 (see docs/docker.md)"

# The certificates, the aws CLI's throwaway config and the test files live here.
work=$(mktemp -d "${TMPDIR:-/tmp}/trent-compose.XXXXXX")
certs="$work/certs"
export TRENT_CERTS_DIR=$certs
export TRENT_CA_CERT="$certs/ca.pem"
export TRENT_ENDPOINTS="https://localhost:${ports[1]},https://localhost:${ports[2]},https://localhost:${ports[3]}"

compose_started=false
cleanup() {
  local status=$?
  set +e
  if [ "$status" != 0 ] && $compose_started; then
    echo
    echo "==> failed: containers and their last log lines"
    compose ps
    compose logs --no-color --tail 50
  fi
  if $compose_started; then
    step "tear down: ${compose_cmd[*]} down -v"
    local down_ms
    down_ms=$(now_ms)
    compose down --volumes --remove-orphans --timeout 30
    echo "    down took $(seconds_since "$down_ms")s"
  fi
  rm -rf "$work"
  echo
  if [ "$status" = 0 ]; then
    echo "compose-test: $passed passed, 0 failed"
  else
    echo "compose-test: $passed passed, 1 failed"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "compose: ${compose_cmd[*]} (project $project), image $image, work dir $work"

# ---------------------------------------------------------------------------------------------
step "build the image: scripts/build-image.sh"
build_ms=$(now_ms)
if [ "${TRENT_SKIP_BUILD:-0}" = 1 ]; then
  docker image inspect "$image" >/dev/null || fail "TRENT_SKIP_BUILD=1 but there is no image $image"
else
  ./scripts/build-image.sh
fi
build_s=$(seconds_since "$build_ms")
[ -x "$trent" ] || fail "no trent binary at $trent"
docker run --rm "$image" --version
ok "image $image runs (build step took ${build_s}s)"

# The aws CLI: the repository's .venv, made as scripts/test.sh makes it.
aws=${TRENT_AWS:-$root/.venv/bin/aws}
if [ ! -x "$aws" ] && [ -z "${TRENT_AWS:-}" ]; then
  step "make .venv with the aws CLI (tests/wire/requirements.txt)"
  [ -x .venv/bin/python ] || "${TRENT_PYTHON:-python3}" -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r tests/wire/requirements.txt
fi
[ -x "$aws" ] || fail "no aws CLI at $aws"
# Nothing from the host's AWS setup may leak in.
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_CA_BUNDLE
: >"$work/aws-config"
: >"$work/aws-credentials"
export AWS_CONFIG_FILE="$work/aws-config" AWS_SHARED_CREDENTIALS_FILE="$work/aws-credentials"
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=3

# kms N ARGS...: `aws kms ARGS` against node N's published port.
kms() {
  local node=$1
  shift
  timeout 60 "$aws" kms "$@" --endpoint-url "https://localhost:${ports[$node]}" --ca-bundle "$certs/ca.pem" \
    --cli-connect-timeout 5 --cli-read-timeout 20
}
# health N: node N's /v1/sys/health (no authentication needed); the body whatever the status
# (503 until the node is ready: sealed, uninitialised or out of touch).
health() { curl -s --max-time 5 --cacert "$certs/ca.pem" "https://localhost:${ports[$1]}/v1/sys/health"; }
# live N: node N's /v1/sys/health/live answers 200 (its process serves and its Raft runs).
live() { curl -sf -o /dev/null --max-time 5 --cacert "$certs/ca.pem" "https://localhost:${ports[$1]}/v1/sys/health/live"; }

# ---------------------------------------------------------------------------------------------
step "generate certificates: trent operator gen-certs"
"$trent" operator gen-certs --out-dir "$certs" \
  --node trent1 --node trent2 --node trent3 --san localhost --san 127.0.0.1
for file in ca.pem ca.key trent1.pem trent1.key trent2.pem trent2.key trent3.pem trent3.key; do
  [ -s "$certs/$file" ] || fail "gen-certs did not write $file"
done
[ "$(stat -c %a "$certs/trent1.key")" = 600 ] || fail "trent1.key is not mode 0600"
# The nodes run as uid 10001: they must read their own key (the CA key stays root's) and
# traverse the directory.
chown 10001:10001 "$certs"/trent*.key
chmod 0755 "$certs"
ok "certificates in $certs, node keys 0600 owned by 10001"

# ---------------------------------------------------------------------------------------------
step "start the cluster: ${compose_cmd[*]} up -d"
compose config --quiet
compose_started=true
up_ms=$(now_ms)
compose up -d
up_s=$(seconds_since "$up_ms")
declare -A container
for n in 1 2 3; do
  container[$n]=$(compose ps -q "trent$n")
  [ -n "${container[$n]}" ] || fail "no container for trent$n"
done
ok "three containers created in ${up_s}s"

step "wait for every node to be live (/v1/sys/health/live) and for a leader"
# healthy N: container trentN is running and its healthcheck (trentd healthcheck: ready) passes;
# gives up at once if it exited.
healthy() {
  local n=$1 state
  state=$(docker inspect --format '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "${container[$n]}")
  case "$state" in
    "running healthy") return 0 ;;
    exited* | dead*) fail "trent$n is $state" ;;
  esac
  return 1
}
# running_live N: container trentN runs and its node is live.
running_live() {
  case "$(docker inspect --format '{{.State.Status}}' "${container[$1]}")" in
    running) live "$1" ;;
    *) fail "trent$1 is not running" ;;
  esac
}
all_live() { running_live 1 && running_live 2 && running_live 3; }
wait_for 120 "all three nodes live" all_live
live_s=$(seconds_since "$up_ms")
ok "all three live ${live_s}s after up"
# Sealed and uninitialised, no node is ready: the healthcheck says so.
answer=$(health 1)
[ "$(json ready <<<"$answer")" = false ] || fail "a sealed node claims to be ready: $answer"
ok "not ready before init, as it should be: $(json problems <<<"$answer")"

# one_leader NODES...: every listed node answers health and names the same leader, which is
# one of them and says it leads.
one_leader() {
  local leader="" n answer id
  for n in "$@"; do
    answer=$(health "$n") || return 1
    id=$(json leader_id <<<"$answer")
    [ -n "$id" ] || return 1
    if [ -z "$leader" ]; then leader=$id; elif [ "$leader" != "$id" ]; then return 1; fi
  done
  [[ " $* " == *" $leader "* ]] || return 1
  [ "$(health "$leader" | json role 2>/dev/null)" = leader ] || return 1
  echo "$leader" >"$work/leader"
}
wait_for 60 "a leader all three agree on" one_leader 1 2 3
ok "node $(cat "$work/leader") leads, $(seconds_since "$up_ms")s after up (service names resolve inside the containers)"

# ---------------------------------------------------------------------------------------------
step "initialise: trent operator init --json"
timeout 60 "$trent" operator init --json --shares 3 --threshold 2 >"$work/init.json"
mapfile -t shares < <(python3 -c 'import json, sys; print("\n".join(json.load(sys.stdin)["shares"]))' <"$work/init.json")
[ "${#shares[@]}" = 3 ] || fail "init gave ${#shares[@]} shares, not 3"
AWS_ACCESS_KEY_ID=$(json access_key_id <"$work/init.json")
AWS_SECRET_ACCESS_KEY=$(json secret_access_key <"$work/init.json")
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
ok "3 shares (threshold 2) and access key $AWS_ACCESS_KEY_ID"

# unsealed NODES...: `trent operator status` says every listed node is unsealed.
unsealed() {
  local n answer
  for n in "$@"; do
    answer=$(timeout 30 "$trent" --endpoints "https://localhost:${ports[$n]}" operator status --json) || return 1
    [ "$(json 0.sealed <<<"$answer")" = false ] || return 1
  done
}
# unseal NODES...: sends two shares to every listed node until all of them are unsealed (a
# follower that has not caught up with the init entry yet refuses, so this may take a round).
unseal() {
  local endpoints="" n
  for n in "$@"; do endpoints+="${endpoints:+,}https://localhost:${ports[$n]}"; done
  timeout 60 "$trent" --endpoints "$endpoints" operator unseal "${shares[0]}" "${shares[2]}" || true
  unsealed "$@"
}

step "unseal: trent operator unseal <share> <share> (each share goes to every node)"
wait_for 60 "every node unsealed" unseal 1 2 3
timeout 30 "$trent" operator status
ok "all three nodes unsealed"

step "wait for every container to be healthy (trentd healthcheck: ready)"
all_healthy() { healthy 1 && healthy 2 && healthy 3; }
wait_for 60 "all three containers healthy" all_healthy
healthy_s=$(seconds_since "$up_ms")
ok "all three healthy ${healthy_s}s after up"

# ---------------------------------------------------------------------------------------------
step "aws kms create-key / encrypt / decrypt over TLS"
key1=$(kms 1 create-key --description "compose test" --query KeyMetadata.KeyId --output text)
[ -n "$key1" ] || fail "create-key gave no key id"
ok "created key $key1 through trent1"
head -c 4096 /dev/urandom >"$work/plain.bin"
kms 1 encrypt --key-id "$key1" --plaintext "fileb://$work/plain.bin" --encryption-context purpose=compose-test \
  --query CiphertextBlob --output text | base64 -d >"$work/cipher1.bin"
for n in 1 2 3; do
  kms "$n" decrypt --ciphertext-blob "fileb://$work/cipher1.bin" --encryption-context purpose=compose-test \
    --query Plaintext --output text | base64 -d >"$work/decrypted.bin"
  cmp -s "$work/plain.bin" "$work/decrypted.bin" || fail "decrypt through trent$n gave different bytes"
done
ok "4 KiB encrypted through trent1, decrypted byte-identical through trent1, trent2 and trent3"

step "admin API with curl --aws-sigv4: GET /v1/sys/cluster"
curl -sf --max-time 10 --cacert "$certs/ca.pem" --aws-sigv4 "aws:amz:us-east-1:kms" \
  --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "https://localhost:${ports[1]}/v1/sys/cluster" >"$work/cluster.json"
python3 - "$work/cluster.json" <<'EOF'
import json, sys
view = json.load(open(sys.argv[1]))
members = {m["node_id"]: m for m in view["members"]}
assert sorted(members) == [1, 2, 3], f"members: {sorted(members)}"
assert all(m["voter"] for m in members.values()), "a member is not a voter"
for n, m in members.items():
    assert m["api_addr"] == f"trent{n}:8400" and m["peer_addr"] == f"trent{n}:8500", m
assert view["leader_id"] in members, view
print(f"    leader {view['leader_id']}, term {view['term']}, commit index {view['commit_index']}")
EOF
leader=$(json leader_id <"$work/cluster.json")
ok "three voters trent1..3 by service name, leader $leader"

# ---------------------------------------------------------------------------------------------
others=()
for n in 1 2 3; do [ "$n" = "$leader" ] || others+=("$n"); done
step "stop the leader: ${compose_cmd[*]} stop trent$leader"
stop_ms=$(now_ms)
compose stop "trent$leader"
stop_s=$(seconds_since "$stop_ms")
exit_code=$(docker inspect --format '{{.State.ExitCode}}' "${container[$leader]}")
[ "$exit_code" = 0 ] || fail "trent$leader exited with $exit_code on SIGTERM, not 0"
ok "trent$leader stopped in ${stop_s}s, exit code 0"
wait_for 30 "a new leader among trent${others[0]} and trent${others[1]}" one_leader "${others[@]}"
ok "node $(cat "$work/leader") leads now"

step "keep serving through trent${others[0]} and trent${others[1]}"
key2=$(kms "${others[0]}" create-key --description "made while trent$leader was down" \
  --query KeyMetadata.KeyId --output text)
[ -n "$key2" ] || fail "create-key gave no key id"
kms "${others[1]}" encrypt --key-id "$key2" --plaintext "fileb://$work/plain.bin" \
  --query CiphertextBlob --output text | base64 -d >"$work/cipher2.bin"
for n in "${others[@]}"; do
  for blob in cipher1 cipher2; do
    context=()
    [ "$blob" = cipher1 ] && context=(--encryption-context purpose=compose-test)
    kms "$n" decrypt --ciphertext-blob "fileb://$work/$blob.bin" "${context[@]}" \
      --query Plaintext --output text | base64 -d >"$work/decrypted.bin"
    cmp -s "$work/plain.bin" "$work/decrypted.bin" || fail "decrypt of $blob through trent$n gave different bytes"
  done
done
ok "created $key2 through trent${others[0]}, encrypted through trent${others[1]}, both ciphertexts decrypt through both"

# ---------------------------------------------------------------------------------------------
step "start it again: ${compose_cmd[*]} start trent$leader"
start_ms=$(now_ms)
compose start "trent$leader"
wait_for 90 "trent$leader live again" running_live "$leader"
answer=$(health "$leader")
[ "$(json sealed <<<"$answer")" = true ] || fail "trent$leader came back unsealed: $answer"
[ "$(json initialized <<<"$answer")" = true ] || fail "trent$leader does not know it is initialised: $answer"
[ "$(json ready <<<"$answer")" = false ] || fail "trent$leader claims to be ready while sealed: $answer"
ok "trent$leader live $(seconds_since "$start_ms")s after start, sealed (not ready) as it should be"

step "unseal trent$leader: trent --endpoints https://localhost:${ports[$leader]} operator unseal ..."
wait_for 60 "trent$leader unsealed" unseal "$leader"
wait_for 60 "trent$leader healthy" healthy "$leader"
ok "trent$leader unsealed and healthy"

# caught_up N INDEX: node N has applied at least INDEX.
caught_up() {
  local applied
  applied=$(health "$1" | json last_applied_index 2>/dev/null) || return 1
  [ -n "$applied" ] && [ "$applied" -ge "$2" ]
}
target=$(health "$(cat "$work/leader")" | json last_log_index)
wait_for 60 "trent$leader to apply up to index $target" caught_up "$leader" "$target"
kms "$leader" describe-key --key-id "$key2" --query KeyMetadata.KeyState --output text | grep -qx Enabled \
  || fail "trent$leader does not know the key made while it was down"
kms "$leader" decrypt --ciphertext-blob "fileb://$work/cipher2.bin" --query Plaintext --output text \
  | base64 -d >"$work/decrypted.bin"
cmp -s "$work/plain.bin" "$work/decrypted.bin" || fail "decrypt through the restarted trent$leader gave different bytes"
key3=$(kms "$leader" create-key --description "made through the restarted node" --query KeyMetadata.KeyId --output text)
[ -n "$key3" ] || fail "create-key through trent$leader gave no key id"
wait_for 30 "a leader all three agree on" one_leader 1 2 3
timeout 30 "$trent" operator status
ok "trent$leader rejoined: applied index $target, serves the key made while it was down, created $key3"

echo
echo "timings: build ${build_s}s, up -d ${up_s}s, all live ${live_s}s and all healthy ${healthy_s}s after up, stop of the leader ${stop_s}s"
