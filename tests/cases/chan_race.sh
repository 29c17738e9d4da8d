#!/bin/sh
# chan_race: the host channel under requests from several jobs at once, as
# when a background fio_pass asks the host to forget a range while its case
# reads a model counter: every reply is the answer to its own request, and
# next_seed never hands the same seed to two jobs.
. /qlisp/lib.sh
# ask N WANT: N times, disk N's scsi-id through the host; then 20 seeds
ask() {
	_i=0
	while [ $_i -lt 15 ]; do
		_v=$(host_qom_get_path "/machine/peripheral/hd$1" scsi-id) ||
			{ echo "no reply for hd$1 ($_v)" >"/tmp/chan_race.$1"; return 1; }
		[ "$_v" = "$2" ] ||
			{ echo "hd$1's scsi-id read as '$_v', want $2" >"/tmp/chan_race.$1"; return 1; }
		_i=$((_i + 1))
	done
	_i=0
	while [ $_i -lt 20 ]; do
		next_seed >>"/tmp/chan_race.seeds"
		_i=$((_i + 1))
	done
	: >"/tmp/chan_race.$1"
}
rm -f /tmp/chan_race.*
pids=
n=0
for d in $(all_disks); do
	ask "$d" "$(disk_target "$d")" &
	pids="$pids $!"
	n=$((n + 1))
done
[ $n -ge 2 ] || fail "need two disks, have $n"
bad=0
for p in $pids; do wait "$p" || bad=$((bad + 1)); done
for d in $(all_disks); do
	[ ! -s "/tmp/chan_race.$d" ] || fail "$(cat "/tmp/chan_race.$d")"
done
[ $bad -eq 0 ] || fail "$bad jobs failed without saying why"
seeds=$(wc -l </tmp/chan_race.seeds)
uniq=$(sort -u /tmp/chan_race.seeds | wc -l)
[ "$seeds" -eq $((n * 20)) ] || fail "$seeds seeds handed out, want $((n * 20))"
[ "$uniq" -eq "$seeds" ] || fail "$((seeds - uniq)) of $seeds seeds handed out twice"
pass "$((n * 15)) concurrent host requests answered in kind, $seeds distinct seeds"
