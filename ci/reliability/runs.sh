# shellcheck shell=bash
# shellcheck disable=SC2153,SC2317 # names set by ci/reliability.sh; functions called by name
# Scenarios of ci/reliability.sh (sourced): repetition, concurrent runs,
# leftovers after a full run, after panics and after SIGKILL.

# repeat KIND: N whole runs with cargo test (KIND=test) or nextest.
repeat_runs() {
  local kind=$1 dir="$WORK/repeat-$1" i rc start t pass=0 fail=0 ceil=0
  mkdir -p "$dir"
  : >"$dir/times"
  : >"$dir/failed"
  for i in $(seq 1 "$RUNS"); do
    start=$(now)
    if [ "$kind" = test ]; then
      IPC_RESULTS_DIR="$dir/results-$i" ceiling_run cargo test --no-fail-fast >"$dir/run-$i.log" 2>&1
    else
      IPC_RESULTS_DIR="$dir/results-$i" ceiling_run cargo nextest run --no-fail-fast >"$dir/run-$i.log" 2>&1
    fi
    rc=$?
    t=$(elapsed "$start")
    echo "$t" >>"$dir/times"
    if [ "$rc" = 0 ]; then
      pass=$((pass + 1))
      # The last green run's results are kept (quick mode's load-baseline).
      rm -rf "$dir/kept" && mkdir -p "$dir/kept" && mv "$dir/results-$i" "$dir/kept/results" && echo "$t" >"$dir/kept/seconds"
    else
      fail=$((fail + 1))
      [ "$rc" = 124 ] && ceil=$((ceil + 1))
      failed_tests "$dir/run-$i.log" | sed "s/^/run $i: /" >>"$dir/failed"
    fi
    printf '  %s run %d/%d: exit %d in %ss\n' "$kind" "$i" "$RUNS" "$rc" "$t"
  done
  local times flaky
  times=$(sort -n "$dir/times" | awk '{ v[NR] = $1 } END { printf "min %.1f s, median %.1f s, max %.1f s", v[1], v[int((NR + 1) / 2)], v[NR] }')
  flaky=$(sed 's/^run [0-9]*: //' "$dir/failed" | sort | uniq -c | sort -rn | awk '{ printf "%s%s (%d)", sep, $2, $1; sep = ", " }')
  figure "repeat-$kind" "$RUNS" "$pass" "$fail" "-" "per run: $times$([ "$ceil" != 0 ] && echo "; ceiling hits $ceil")${flaky:+; failing tests: $flaky}"
  [ "$fail" = 0 ]
}

concurrent() {
  local dir="$WORK/concurrent" pairs=3 i ok=0 bad=0 ra rb na nb
  [ "$QUICK" = 1 ] && pairs=1
  mkdir -p "$dir"
  for i in $(seq 1 "$pairs"); do
    IPC_RESULTS_DIR="$dir/a-$i" ceiling_run cargo test --no-fail-fast >"$dir/a-$i.log" 2>&1 &
    local pa=$!
    IPC_RESULTS_DIR="$dir/b-$i" ceiling_run cargo test --no-fail-fast >"$dir/b-$i.log" 2>&1 &
    local pb=$!
    wait "$pa"; ra=$?
    wait "$pb"; rb=$?
    na=$(count_results "$dir/a-$i"); nb=$(count_results "$dir/b-$i")
    printf '  pair %d: exit %d and %d, %d and %d results\n' "$i" "$ra" "$rb" "$na" "$nb"
    if [ "$ra" = 0 ] && [ "$rb" = 0 ] && [ "$na" = "$nb" ] && [ "$na" -gt 0 ]; then
      ok=$((ok + 1))
    else
      bad=$((bad + 1))
      failed_tests "$dir/a-$i.log" | sed "s/^/pair $i a: /" >>"$dir/failed"
      failed_tests "$dir/b-$i.log" | sed "s/^/pair $i b: /" >>"$dir/failed"
    fi
  done
  figure concurrent "$pairs pairs" "$ok" "$bad" "-" "two cargo test runs at once, separate IPC_RESULTS_DIR; each recorded $na results$( [ -s "$dir/failed" ] && printf '; failing: %s' "$(tr '\n' ' ' <"$dir/failed")")"
  [ "$bad" = 0 ]
}

full() {
  local dir="$WORK/full" rc n
  mkdir -p "$dir"
  IPC_RESULTS_DIR="$dir/results" ceiling_run cargo test --no-fail-fast >"$dir/run.log" 2>&1
  rc=$?
  count_leftovers >"$dir/leftovers"
  n=$(wc -l <"$dir/leftovers")
  printf '  exit %d, %d results, %d leftovers\n' "$rc" "$(count_results "$dir/results")" "$n"
  count_results "$dir/results" >"$WORK/expected-results"
  figure full 1 "$([ "$rc" = 0 ] && echo 1 || echo 0)" "$([ "$rc" = 0 ] && echo 0 || echo 1)" "$n" "$(count_results "$dir/results") results$( [ "$n" != 0 ] && printf '; left: %s' "$(tr '\n' ' ' <"$dir/leftovers")")"
  [ "$rc" = 0 ] && [ "$n" = 0 ]
}

panic_run() {
  local dir="$WORK/panic" rc n injected total
  mkdir -p "$dir"
  IPCCONF_INJECT_PANIC=all IPC_RESULTS_DIR="$dir/results" ceiling_run cargo test --no-fail-fast >"$dir/run.log" 2>&1
  rc=$?
  count_leftovers >"$dir/leftovers"
  n=$(wc -l <"$dir/leftovers")
  injected=$(grep -l 'injected panic' "$dir"/results/results/*.json 2>/dev/null | wc -l | tr -d ' ')
  total=$(count_results "$dir/results")
  printf '  exit %d (failures expected), %d of %d checks panicked mid-check, %d leftovers\n' "$rc" "$injected" "$total" "$n"
  figure panic 1 "-" "-" "$n" "IPCCONF_INJECT_PANIC=all: $injected of $total checks panicked at their second step (tests fail by design; ceiling hit: $([ "$rc" = 124 ] && echo yes || echo no))$( [ "$n" != 0 ] && printf '; left: %s' "$(tr '\n' ' ' <"$dir/leftovers")")"
  [ "$n" = 0 ] && [ "$rc" != 124 ] && [ "$injected" -gt 0 ]
}

sigkill() {
  local dir="$WORK/sigkill" fracs="25 50 75" expected f pid n before strays after swept ok=1 i=0
  [ "$QUICK" = 1 ] && fracs="50"
  mkdir -p "$dir"
  expected=$(cat "$WORK/expected-results" 2>/dev/null || echo 180)
  local notes=""
  for f in $fracs; do
    i=$((i + 1))
    rm -rf "$dir/results-$f"
    IPC_RESULTS_DIR="$dir/results-$f" setsid cargo test --no-fail-fast >"$dir/run-$f.log" 2>&1 &
    pid=$!
    local start
    start=$(now)
    # Part way: once the run recorded f% of a full run's results, at the
    # first moment an object of the suite exists (for at most 5 s more).
    while kill -0 "$pid" 2>/dev/null; do
      n=$(count_results "$dir/results-$f")
      [ "$n" -ge $((expected * f / 100)) ] && break
      if awk -v s="$(elapsed "$start")" -v c="$CEILING" 'BEGIN { exit !(s > c) }'; then break; fi
      sleep 0.02
    done
    local until=$(($(date +%s) + 5))
    while kill -0 "$pid" 2>/dev/null && ! objects_alive && [ "$(date +%s)" -lt "$until" ]; do
      sleep 0.005
    done
    kill -KILL -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    n=$(count_results "$dir/results-$f")
    count_leftovers >"$dir/before-$f"
    before=$(grep -vc '^process' "$dir/before-$f")
    # Peers end on their own when their controller is gone (their stdin closes);
    # give them the watchdog's bound before counting them as strays.
    sleep 3
    count_leftovers | grep '^process' >"$dir/strays-$f"
    strays=$(wc -l <"$dir/strays-$f")
    cargo ipc-sweep >"$dir/sweep-$f.log" 2>&1
    swept=$(grep -c '^removed' "$dir/sweep-$f.log")
    count_leftovers >"$dir/after-$f"
    after=$(wc -l <"$dir/after-$f")
    printf '  killed at %d/%d results: %d leftovers (%s), %d stray processes after 3 s; sweep removed %d; %d left after\n' \
      "$n" "$expected" "$before" "$(awk '{ print $1 }' "$dir/before-$f" | sort | uniq -c | awk '{ printf "%s%s %s", s, $1, $2; s = ", " }')" "$strays" "$swept" "$after"
    sed 's/^/    sweep: /' "$dir/sweep-$f.log"
    notes="$notes${notes:+; }killed at $n/$expected results: $before left, sweep removed $swept, $after after, $strays stray processes"
    [ "$after" = 0 ] && [ "$strays" = 0 ] || ok=0
  done
  figure sigkill "$i" "-" "-" "$(cat "$dir"/after-* | wc -l | tr -d ' ') after sweep" "$notes"
  [ "$ok" = 1 ]
}
