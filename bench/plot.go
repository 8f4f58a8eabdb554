package bench

import (
	"fmt"
	"io"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// WritePlot draws the sweep as a PNG: throughput (signatures made or verified a second,
// documents for ofd-sign) and p99 latency against concurrency, one line per operation,
// both axes logarithmic. Points with nothing measured (no request answered) are left out.
func (s *Sweep) WritePlot(w io.Writer) error {
	through := plot.New()
	through.Title.Text = "Throughput"
	through.X.Label.Text = "concurrency (connections)"
	through.Y.Label.Text = "items/s (signatures; ofd: documents)"
	p99 := plot.New()
	p99.Title.Text = "p99 latency"
	p99.X.Label.Text = "concurrency (connections)"
	p99.Y.Label.Text = "ms"
	for _, p := range []*plot.Plot{through, p99} {
		p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
		p.Legend.Top = true
		p.Legend.Left = true
		p.Add(plotter.NewGrid())
	}
	var ops []string
	for _, r := range s.Results {
		if !slices.Contains(ops, r.Op) {
			ops = append(ops, r.Op)
		}
	}
	drawn := 0
	for i, op := range ops {
		var tp, lat plotter.XYs
		for _, r := range s.Results {
			if r.Op != op || r.Ops == 0 {
				continue
			}
			tp = append(tp, plotter.XY{X: float64(r.Concurrency), Y: r.ItemsPerSec()})
			lat = append(lat, plotter.XY{X: float64(r.Concurrency), Y: max(ms(r.Latency.Percentile(99)), 0.001)})
		}
		if len(tp) == 0 {
			continue
		}
		drawn++
		for _, pl := range []struct {
			p   *plot.Plot
			xys plotter.XYs
		}{{through, tp}, {p99, lat}} {
			line, points, err := plotter.NewLinePoints(pl.xys)
			if err != nil {
				return fmt.Errorf("bench: plot %s: %w", op, err)
			}
			line.Color, points.Color = plotutil.Color(i), plotutil.Color(i)
			line.Dashes = plotutil.Dashes(i)
			points.Shape = plotutil.Shape(i)
			pl.p.Add(line, points)
			pl.p.Legend.Add(op, line, points)
		}
	}
	// A decade of room above the highest point, for the legend.
	for _, p := range []*plot.Plot{through, p99} {
		p.Y.Max *= 10
	}
	if drawn == 0 {
		return fmt.Errorf("bench: plot: no point of the sweep answered a request")
	}
	const width, height = 12 * vg.Inch, 5 * vg.Inch
	img := vgimg.New(width, height)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 8, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 4, PadBottom: vg.Millimeter * 4, PadLeft: vg.Millimeter * 4, PadRight: vg.Millimeter * 4}
	plots := [][]*plot.Plot{{through, p99}}
	canvases := plot.Align(plots, tiles, dc)
	through.Draw(canvases[0][0])
	p99.Draw(canvases[0][1])
	png := vgimg.PngCanvas{Canvas: img}
	if _, err := png.WriteTo(w); err != nil {
		return fmt.Errorf("bench: write the plot: %w", err)
	}
	return nil
}

// WriteMarkdown writes the sweep's report: the machine in the header, then a row per
// point, then the server's memory.
func (s *Sweep) WriteMarkdown(w io.Writer) error {
	var b []byte
	b = fmt.Appendf(b, "# eseal bench sweep\n\n")
	b = fmt.Appendf(b, "- date: %s\n- CPU: %s\n- cores: %d\n- Go: %s\n- each point: %v measured (after a warm-up), closed loop, load generator on the same machine\n\n",
		s.Date.Format("2006-01-02 15:04 MST"), s.CPU, s.Cores, s.GoVersion, s.Duration)
	b = fmt.Appendf(b, "Throughput counts signatures made or verified a second (an OFD document's signatures each; ofd-sign: documents signed). The ratio divides it by the raw gmsm primitive measured in the same run on every core (sign ops: `sm2.SignASN1`; verify ops: `sm2.VerifyASN1WithSM2`, default ID, over a message the size of the operation's TBS_Sign; ofd-sign: the in-process floor, inflate and SM3 of every protected file plus one raw signature).\n\n")
	b = fmt.Appendf(b, "| operation | concurrency | batch | requests/s | items/s | p50 ms | p90 ms | p99 ms | p99.9 ms | errors | ratio | server RSS MiB |\n")
	b = fmt.Appendf(b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|\n")
	for i, r := range s.Results {
		ratio, rss := "", ""
		if r.Baseline != nil {
			ratio = fmt.Sprintf("%.3f", r.Ratio())
		}
		if i < len(s.RSS) && s.RSS[i] > 0 {
			rss = fmt.Sprintf("%.0f", float64(s.RSS[i])/(1<<20))
		}
		b = fmt.Appendf(b, "| %s | %d | %d | %.1f | %.1f | %.2f | %.2f | %.2f | %.2f | %s | %s | %s |\n",
			r.Op, r.Concurrency, r.Batch, r.OpsPerSec(), r.ItemsPerSec(),
			ms(r.Latency.Percentile(50)), ms(r.Latency.Percentile(90)), ms(r.Latency.Percentile(99)), ms(r.Latency.Percentile(99.9)),
			r.errorsText(), ratio, rss)
	}
	var seen []*Baseline
	for _, r := range s.Results {
		if r.Baseline == nil || slices.Contains(seen, r.Baseline) {
			continue
		}
		if len(seen) == 0 {
			b = fmt.Appendf(b, "\n## The raw primitives, per operation\n\n| operation | TBS_Sign bytes | raw sign/s | raw verify/s | ofd-sign floor docs/s | peak ratio |\n|---|---:|---:|---:|---:|---:|\n")
		}
		seen = append(seen, r.Baseline)
		best := 0.0
		for _, o := range s.Results {
			if o.Baseline == r.Baseline {
				best = max(best, o.Ratio())
			}
		}
		floor := ""
		if r.Baseline.FloorPerSec > 0 {
			floor = fmt.Sprintf("%.1f", r.Baseline.FloorPerSec)
		}
		b = fmt.Appendf(b, "| %s | %d | %.1f | %.1f | %s | %.3f |\n", r.Op, r.Baseline.MessageLen,
			r.Baseline.SignPerSec, r.Baseline.VerifyPerSec, floor, best)
	}
	if r := s.HalfPeak; r != nil {
		b = fmt.Appendf(b, "\nverify at half its peak rate: a fixed arrival rate of %.0f requests/s over %d connections, latency counted from each request's intended start: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms; %d answered, errors: %s.\n",
			r.Rate, r.Concurrency, ms(r.Latency.Percentile(50)), ms(r.Latency.Percentile(90)), ms(r.Latency.Percentile(99)), ms(r.Latency.Percentile(99.9)), r.Ops, r.errorsText())
	}
	if s.PeakRSS > 0 {
		b = fmt.Appendf(b, "\nThe server's resident memory: %.0f MiB at its peak over the whole sweep (VmHWM)", float64(s.PeakRSS)/(1<<20))
		for i, r := range s.Results {
			if r.Concurrency == 256 && i < len(s.RSS) && s.RSS[i] > 0 {
				b = fmt.Appendf(b, "; %.0f MiB after %s at 256 connections", float64(s.RSS[i])/(1<<20), r.Op)
			}
		}
		b = append(b, ".\n"...)
	}
	_, err := w.Write(b)
	return err
}
