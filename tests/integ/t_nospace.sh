#!/bin/bash
# Maintenance by the leader's agent, on three DNS hosts whose etcd gets a
# 16 MiB backend quota through etcd_args:
#  - etcd_args refuses a flag zooinit sets itself (exit 2, naming it);
#  - defrag_interval defragments every member once a round, the followers
#    first and the leader last, and none while a member is unhealthy;
#  - compact_retention compacts the history beyond the last 10 revisions;
#  - a database filled until etcd refuses writes ("database space
#    exceeded", a NOSPACE alarm) is compacted, defragmented and disarmed
#    by the leader's agent: the alarm list is empty again, a write
#    succeeds, and a key written before reads back.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

QUOTA=16777216
net_up 3
zone_std 3

rc=0
run_plan 1 --size 3 --etcd-args=--data-dir=/elsewhere || rc=$?
assert_eq "$rc" 2 "etcd_args with --data-dir is a config error"
assert_contains "$WORK/h1/plan.log" \
	"--data-dir is a flag zooinit gives etcd itself, from data_dir"

# The "--flag value" form: etcd gets two arguments.
for i in 1 2 3; do
	run_agent "$i" --size 3 --health-interval 1 \
		--etcd-args "--quota-backend-bytes $QUOTA" \
		--compact-retention 10 --defrag-interval 5
done
wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the cluster did not form"

# The leader's agent is the one that defragments; one round of three.
leader_log() {
	grep -lF "maintenance: defragmented member" "$WORK"/h[123]/agent.log |
		head -1
}
three_defrags() {
	local l
	l=$(leader_log) || return 1
	[ -n "$l" ] && [ "$(grep -c "maintenance: defragmented member" "$l")" -ge 3 ]
}
wait_for "a defrag round of the three members" 30 three_defrags ||
	fail "defrag_interval did not defragment the three members"
LOG=$(leader_log)
say "the leader's agent: ${LOG#"$WORK"/}"
grep -F "maintenance: defragmenting member" "$LOG" | head -3 >"$WORK/round.txt"
cat "$WORK/round.txt"
assert_eq "$(sed -n '1p;2p' "$WORK/round.txt" | grep -c "(a follower)")" 2 \
	"the first two defragmented are followers"
sed -n 3p "$WORK/round.txt" >"$WORK/round3.txt"
assert_contains "$WORK/round3.txt" "(the leader)"
assert_eq "$(sed 's/.*defragmenting member \(h[0-9]\).*/\1/' "$WORK/round.txt" |
	sort -u | wc -l)" 3 "each member once in the round"
leader=$(sed -n '3s/.*defragmenting member \(h[0-9]\).*/\1/p' "$WORK/round.txt")
assert_eq "$LOG" "$WORK/$leader/agent.log" "the leader's own agent acts"

# A follower that stops answering (its etcd frozen) stops the rounds:
# no member is defragmented while one is unhealthy.
follower=$(sed -n '1s/.*defragmenting member h\([0-9]\).*/\1/p' "$WORK/round.txt")
frozen=$(etcd_pids "$follower")
[ -n "$frozen" ] || fail "no etcd in h$follower"
kill -STOP $frozen
wait_for "the defrag round waits for h$follower" 20 \
	grep -qF "not defragmenting: member h$follower is not healthy" "$LOG" ||
	fail "no word that the unhealthy h$follower stops the defrag"
rounds=$(grep -c "maintenance: defragmenting member" "$LOG")
sleep 2
kill -CONT $frozen
assert_eq "$(grep -c "maintenance: defragmenting member" "$LOG")" "$rounds" \
	"nothing defragmented while h$follower was unhealthy"
wait_for "the cluster is healthy again" 30 cluster_healthy 3 ||
	fail "the cluster did not recover from the freeze"

ectl 1 put kept-key "written before the quota" >/dev/null || fail "first put"
for n in $(seq 1 15); do
	ectl 1 put small "$n" >/dev/null || fail "small put $n"
done
wait_for "a compaction keeping 10 revisions" 15 \
	grep -qF "compact_retention 10)" "$LOG" ||
	fail "compact_retention 10 did not compact"

# Overwriting five keys with 750 KB values keeps every old revision until
# a compaction: the file reaches the quota within about 25 writes.
head -c 750000 /dev/urandom >"$WORK/big"
full=0
for n in $(seq 1 80); do
	if ! ectl 1 put "big$((n % 5))" <"$WORK/big" >/dev/null 2>"$WORK/put.err"; then
		full=$n
		break
	fi
done
cat "$WORK/put.err"
[ "$full" -gt 0 ] || fail "80 puts of 750 KB did not fill a 16 MiB quota"
assert_contains "$WORK/put.err" "etcdserver: mvcc: database space exceeded"
say "put $full was refused"

no_alarm() {
	[ -z "$(ectl 1 alarm list)" ]
}
wait_for "the NOSPACE alarm is disarmed" 40 no_alarm ||
	fail "the agent did not clear the NOSPACE alarm"
wait_for "a put succeeds again" 20 ectl 1 put after-key "written after" ||
	fail "writes are still refused"
assert_eq "$(ectl 3 get kept-key --print-value-only)" \
	"written before the quota" "a key written before reads back on h3"

for line in "maintenance: NOSPACE alarm on" \
	"maintenance: compacted the key space at revision" \
	"(NOSPACE)" "maintenance: disarmed the NOSPACE alarm of member" \
	"maintenance: NOSPACE handled: writes are accepted again"; do
	assert_contains "$LOG" "$line"
done
# The NOSPACE round defragmented all three too, the leader last.
sed -n '/maintenance: NOSPACE alarm on/,$p' "$LOG" |
	grep -F "defragmenting member" | grep -F "NOSPACE" | head -3 >"$WORK/ns.txt"
assert_eq "$(wc -l <"$WORK/ns.txt")" 3 "the NOSPACE round defragments 3"
sed -n 3p "$WORK/ns.txt" >"$WORK/ns3.txt"
assert_contains "$WORK/ns3.txt" "(the leader, NOSPACE)"

# Live data alone over the quota: distinct keys, nothing to compact. The
# agent says so and waits before trying again, rather than looping.
for n in $(seq 1 40); do
	ectl 1 put "live$n" <"$WORK/big" >/dev/null 2>&1 || break
done
refuse_again() { # a write raises the alarm again if it was disarmed
	ectl 1 put "live-more" <"$WORK/big" >/dev/null 2>&1
	grep -qE "the NOSPACE alarm is back|still over quota" "$LOG"
}
wait_for "the agent says the data exceeds the quota" 30 refuse_again ||
	fail "no word that the live data exceeds the quota"
grep -E "the NOSPACE alarm is back|still over quota" "$LOG" | head -1
assert_contains "$LOG" "next attempt in 30 s"
tries=$(grep -c "maintenance: NOSPACE alarm on" "$LOG")
sleep 5
assert_eq "$(grep -c "maintenance: NOSPACE alarm on" "$LOG")" "$tries" \
	"no further attempt within the 30 s wait"
