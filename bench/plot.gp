# gnuplot -e "data='DIR'; out='docs/bench.svg'" bench/plot.gp
# Left: latency distributions (CDF) from seesaw-bench --cdf-dir; right:
# throughput medians from seesaw-bench-report --plot-dir.
set terminal svg size 1200,480 dynamic enhanced font "sans,11" background rgb "white"
set output out
set multiplot layout 1,2 title "seesaw on this machine (2 shared cores, PostgreSQL 15, synchronous\\_commit = on)"

set title "Latency: enqueue call to handler start"
set xlabel "microseconds (log scale)"
set ylabel "fraction of jobs"
set logscale x
set grid
set key top left reverse Left font ",9"
set yrange [0:1]
plot data.'/floor.dat' using 1:2 with lines lw 2 lc rgb "#888888" title "floor: insert+NOTIFY commit, wake, bare claim", \
     data.'/latency.dat' using 1:2 with lines lw 2 lc rgb "#1f77b4" title "seesaw, idle dispatcher (200 jobs/s)", \
     data.'/steady.dat' using 1:2 with lines lw 2 lc rgb "#2ca02c" title "seesaw, 8 producers flat out", \
     data.'/steady_baseline_notify.dat' using 1:2 with lines lw 2 lc rgb "#d62728" title "same, NOTIFY in every commit"

unset logscale x
set title "Throughput (medians)"
set xlabel "jobs per second"
set ylabel ""
set xrange [0:*]
set yrange [-0.6:*] reverse
set ytics font ",9"
set style fill solid 0.8 border -1
unset key
plot data.'/throughput.dat' using ($2/2):0:($2/2):(0.35):yticlabels(1) with boxxyerror lc rgb "#1f77b4"
unset multiplot
