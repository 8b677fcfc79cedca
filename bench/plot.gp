# bench/plot.gp — draws BENCH_OUT/bootstrap.png from BENCH_OUT/raw.tsv
# (written by bench/run.sh, which calls this). By hand:
#
#   gnuplot -e "datafile='build/bench/raw.tsv'; outfile='build/bench/bootstrap.png'" bench/plot.gp
#
# Left: one box per path and cluster size, the seconds from launch to a
# healthy cluster (box = quartiles, line = median, whiskers = 1.5 IQR),
# every run as a dot (jittered sideways), a ring when etcd's own startup
# check stalled in that run (raw.tsv "stall=" of 0.5 s or more; see
# run.sh). Middle: seconds from kill -9 of one member's etcd until it
# answers health again, zooinit restarting it, for a first crash and for a
# second crash in a row. Right (when the scale case ran): seconds from the
# launch until each host of the scale case first served a read.
# raw.tsv columns: kind path n run seconds status detail.

if (!exists("datafile")) datafile = "build/bench/raw.tsv"
if (!exists("outfile")) outfile = "build/bench/bootstrap.png"
if (!exists("sizes")) sizes = "3 5 7"
if (!exists("paths")) paths = "static zooinit-dns etcd-v2-discovery zooinit-token"

set datafile separator "\t"
np = words(paths)
ns = words(sizes)
bw = 0.8 / (np > 0 ? np : 1)
color(p) = p eq "static" ? "#4c72b0" : p eq "zooinit-dns" ? "#dd8452" : \
	p eq "etcd-v2-discovery" ? "#55a868" : p eq "zooinit-token" ? "#c44e52" : "#8172b3"
# case e = 1..np*ns is path pj(e) at size sk(e)
pj(e) = int((e - 1) / ns) + 1
sk(e) = int(e - 1) % ns + 1
xpos(e) = sk(e) + (pj(e) - (np + 1) / 2.0) * bw
# the seconds of an ok bootstrap row of case e, else undefined
pick(e) = (strcol(1) eq "bootstrap" && strcol(6) eq "ok" && \
	strcol(2) eq word(paths, pj(e)) && $3 == word(sizes, sk(e)) + 0) ? $5 : 1/0
# etcd's startup stall of the run (raw.tsv detail "stall=S"), 0 if none
stallv(d) = (si = strstrt(d, "stall="), si > 0 ? real(d[si + 6:]) : 0)
# pick, split into runs without (want 0) and with (want 1) a stall >= 0.5 s
picks(e, want) = (want == (stallv(strcol(7)) >= 0.5 ? 1 : 0)) ? pick(e) : 1/0
rec(k, x) = (strcol(1) eq k && strcol(6) eq "ok") ? x : 1/0
sc(role, x) = (strcol(1) eq "scalehost" && strcol(7) eq role) ? x : 1/0
jit(x, w) = x + (rand(0) - 0.5) * w

# A boxplot of no points is an error, so plot only the cases with data
# (stats warns "No valid data points" for the others; that is expected).
cases = ""
do for [e = 1:np * ns] {
	undefine STATS_*
	stats datafile using (pick(e)) nooutput
	if (exists("STATS_records") && STATS_records > 0) { cases = cases . sprintf(" %d", e) }
}
nrec = 0
undefine STATS_*
stats datafile using (rec("crash1", $5)) nooutput
if (exists("STATS_records")) { nrec = STATS_records }
nrec2 = 0
undefine STATS_*
stats datafile using (rec("crash2", $5)) nooutput
if (exists("STATS_records")) { nrec2 = STATS_records }
nsc = 0
undefine STATS_*
stats datafile using (rec("scalehost", $5)) nooutput
if (exists("STATS_records")) { nsc = STATS_records }
# the widths of the panels: bootstrap 4 parts, crashes 1, scale 1
parts = (np > 0 ? 4 : 0) + (nrec > 0 ? 1 : 0) + (nsc > 0 ? 1 : 0)
if (parts == 0) { parts = 1 }
wb = np > 0 ? 4.0 / parts : 0
wr = nrec > 0 ? 1.0 / parts : 0
ws = nsc > 0 ? 1.0 / parts : 0

set terminal pngcairo size 1600,700 font "DejaVu Sans,12" noenhanced
set output outfile
set style boxplot nooutliers
set style fill solid 0.5 border -1
set pointsize 0.45
set grid ytics
set yrange [0:*]
set key tmargin center horizontal samplen 2 maxcols 3 width -2

set multiplot
if (np > 0) {
	set origin 0, 0
	set size wb, 1
	set title "bootstrap: launch until every member is healthy (N started voting members, one leader)"
	set xlabel "cluster size N"
	set ylabel "seconds"
	set xrange [0.5:ns + 0.5]
	set xtics ()
	do for [k = 1:ns] { set xtics add (sprintf("N=%s", word(sizes, k)) k) }
	set boxwidth bw * 0.85
	if (strlen(cases) == 0) {
		set label 1 "no successful runs" at graph 0.5, 0.5 center
		plot NaN notitle
	} else {
		plot for [j = 1:np] NaN with boxes lc rgb color(word(paths, j)) title word(paths, j), \
			for [w in cases] datafile using (xpos(w + 0)):(pick(w + 0)) \
			with boxplot lc rgb color(word(paths, pj(w + 0))) notitle, \
			NaN with points pointtype 7 lc rgb "#303030" title "run", \
			NaN with points pointtype 6 pointsize 0.8 lc rgb "#303030" \
			title "run, etcd startup stall >= 0.5 s", \
			for [w in cases] datafile using (jit(xpos(w + 0), bw * 0.5)):(picks(w + 0, 0)) \
			with points pointtype 7 lc rgb "#303030" notitle, \
			for [w in cases] datafile using (jit(xpos(w + 0), bw * 0.5)):(picks(w + 0, 1)) \
			with points pointtype 6 pointsize 0.8 lc rgb "#303030" notitle
	}
}

if (nrec > 0) {
	set origin wb, 0
	set size wr, 1
	set title "kill -9 etcd: until healthy"
	set xlabel "zooinit-dns, N=3"
	set ylabel ""
	set xrange [0.5:2.5]
	set xtics ("first" 1, "second" 2)
	set boxwidth 0.5
	unset key
	if (nrec2 > 0) {
		plot datafile using (1):(rec("crash1", $5)) with boxplot lc rgb "#dd8452" notitle, \
			datafile using (2):(rec("crash2", $5)) with boxplot lc rgb "#c44e52" notitle, \
			datafile using (jit(1, 0.3)):(rec("crash1", $5)) with points pointtype 7 lc rgb "#303030" notitle, \
			datafile using (jit(2, 0.3)):(rec("crash2", $5)) with points pointtype 7 lc rgb "#303030" notitle
	} else {
		plot datafile using (1):(rec("crash1", $5)) with boxplot lc rgb "#dd8452" notitle, \
			datafile using (jit(1, 0.3)):(rec("crash1", $5)) with points pointtype 7 lc rgb "#303030" notitle
	}
}

if (nsc > 0) {
	set origin 1 - ws, 0
	set size ws, 1
	set title "scale: first read per host"
	set xlabel "zooinit-token"
	set ylabel ""
	set xrange [0.5:2.5]
	set xtics ("voters" 1, "extras" 2)
	set boxwidth 0.5
	unset key
	plot datafile using (1):(sc("voter", $5)) with boxplot lc rgb "#c44e52" notitle, \
		datafile using (2):(sc("extra", $5)) with boxplot lc rgb "#8172b3" notitle, \
		datafile using (jit(1, 0.3)):(sc("voter", $5)) with points pointtype 7 lc rgb "#303030" notitle, \
		datafile using (jit(2, 0.3)):(sc("extra", $5)) with points pointtype 7 pointsize 0.3 lc rgb "#303030" notitle
}
unset multiplot
