# bench/plot.gp — draws BENCH_OUT/bootstrap.png from BENCH_OUT/raw.tsv
# (written by bench/run.sh, which calls this). By hand:
#
#   gnuplot -e "datafile='build/bench/raw.tsv'; outfile='build/bench/bootstrap.png'" bench/plot.gp
#
# Left: one box per path and cluster size, the seconds from launch to a
# healthy cluster (box = quartiles, line = median, whiskers = 1.5 IQR),
# every run as a dot (jittered sideways), a ring when etcd's own startup
# check stalled in that run (raw.tsv "stall=" of 0.5 s or more; see run.sh). Right: seconds from kill -9 of
# one member's etcd until it answers health again, zooinit restarting it.
# raw.tsv columns: kind path n run seconds status detail.

if (!exists("datafile")) datafile = "build/bench/raw.tsv"
if (!exists("outfile")) outfile = "build/bench/bootstrap.png"
if (!exists("sizes")) sizes = "3 5 7"
if (!exists("paths")) paths = "static zooinit-dns etcd-v2-discovery zooinit-token"

set datafile separator "\t"
np = words(paths)
ns = words(sizes)
bw = 0.8 / np
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
rec(x) = (strcol(1) eq "recover" && strcol(6) eq "ok") ? x : 1/0
jit(x, w) = x + (rand(0) - 0.5) * w

# A boxplot of no points is an error, so plot only the cases with data
# (stats warns "No valid data points" for the others; that is expected).
cases = ""
do for [e = 1:np * ns] {
	stats datafile using (pick(e)) nooutput
	if (exists("STATS_records") && STATS_records > 0) { cases = cases . sprintf(" %d", e) }
}
stats datafile using (rec($5)) nooutput
nrec = exists("STATS_records") ? STATS_records : 0

set terminal pngcairo size 1400,700 font "DejaVu Sans,12" noenhanced
set output outfile
set style boxplot nooutliers
set style fill solid 0.5 border -1
set pointsize 0.45
set grid ytics
set yrange [0:*]
set key tmargin center horizontal samplen 2 maxcols 3 width -2

set multiplot
set origin 0, 0
set size (nrec > 0 ? 0.8 : 1), 1
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

if (nrec > 0) {
	set origin 0.8, 0
	set size 0.2, 1
	set title "kill -9 etcd: until healthy"
	set xlabel "zooinit-dns, N=3"
	set ylabel ""
	set xrange [0.5:1.5]
	set xtics ("recover" 1)
	set boxwidth 0.5
	unset key
	plot datafile using (1):(rec($5)) with boxplot lc rgb "#dd8452" notitle, \
		datafile using (jit(1, 0.3)):(rec($5)) \
		with points pointtype 7 lc rgb "#303030" notitle
}
unset multiplot
