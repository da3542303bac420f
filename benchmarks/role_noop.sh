#!/usr/bin/env bash
# Times the first converge of a role in its molecule container against the second (no-op) converge.
# Target: the second run reports changed=0 and takes no more than 20% of the first run's time.
#   ./benchmarks/role_noop.sh                 hdf5 and julia_build
#   ./benchmarks/role_noop.sh hdf5            one role
# Each role gets a fresh container (molecule create + prepare), so the first run is a real first run.
# Times are wall-clock seconds of `ansible-playbook converge.yml` against molecule's inventory (ansible start-up
# and fact gathering included, molecule's own start-up not).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
export PATH="$here/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$here/ansible.cfg"
export MOCHA_CLOUD_SETTINGS=none   # the roles alone, as molecule runs them: not the checkout's settings.yml
export CONTAINERS_CONF="$here/molecule/containers.conf"
# The transport molecule's inventory names (podman with pipelining, see tests/plugins/connection).
export ANSIBLE_CONNECTION_PLUGINS="$here/tests/plugins/connection"
roles=("$@")
[ ${#roles[@]} -eq 0 ] && roles=(hdf5 julia_build)
./scripts/molecule-prereqs >/dev/null || { echo "role_noop: molecule prerequisites missing" >&2; exit 1; }

logs=$(mktemp -d)
now() { date +%s.%N; }
recap_changed() { grep -Eo 'changed=[0-9]+' "$1" | tail -n 1 | cut -d= -f2; }
status=0
printf '%-12s %10s %9s %10s %9s %7s %s\n' role first_s changed noop_s changed ratio verdict
for r in "${roles[@]}"; do
  molecule destroy -s "$r" >/dev/null 2>&1
  if ! molecule create -s "$r" >"$logs/$r.create" 2>&1; then echo "$r: create failed (see $logs/$r.create)"; status=1; continue; fi
  if [ -f "molecule/$r/prepare.yml" ] && ! molecule prepare -s "$r" >"$logs/$r.prepare" 2>&1; then
    echo "$r: prepare failed (see $logs/$r.prepare)"; status=1; molecule destroy -s "$r" >/dev/null 2>&1; continue
  fi
  # The inventory of the scenario just created: the newest (other checkouts leave theirs beside it).
  inv=$(ls -dt "$HOME"/.ansible/tmp/molecule.*."$r"/inventory 2>/dev/null | head -n 1)
  if [ -z "$inv" ]; then echo "$r: no molecule inventory found"; status=1; molecule destroy -s "$r" >/dev/null 2>&1; continue; fi
  # ansible-playbook straight against molecule's inventory: the role's time, not molecule's start-up.
  t0=$(now); ansible-playbook -i "$inv" "molecule/$r/converge.yml" >"$logs/$r.first" 2>&1; rc1=$?; t1=$(now)
  ansible-playbook -i "$inv" "molecule/$r/converge.yml" >"$logs/$r.second" 2>&1; rc2=$?; t2=$(now)
  molecule destroy -s "$r" >/dev/null 2>&1
  first=$(echo "$t1 - $t0" | bc -l); second=$(echo "$t2 - $t1" | bc -l)
  c1=$(recap_changed "$logs/$r.first"); c2=$(recap_changed "$logs/$r.second")
  ratio=$(echo "100 * $second / $first" | bc -l)
  verdict=ok
  if [ "$rc1" != 0 ] || [ "$rc2" != 0 ]; then verdict="FAILED rc=$rc1/$rc2 (logs in $logs)"; status=1
  elif [ "${c2:-x}" != 0 ]; then verdict="NOT IDEMPOTENT (changed=$c2)"; status=1
  elif [ "$(echo "$ratio > 20" | bc -l)" = 1 ]; then verdict="SLOW (> 20%)"; status=1
  fi
  printf '%-12s %10.1f %9s %10.1f %9s %6.1f%% %s\n' "$r" "$first" "changed=$c1" "$second" "changed=$c2" "$ratio" "$verdict"
done
echo "logs: $logs"
exit $status
