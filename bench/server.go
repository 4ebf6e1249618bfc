package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is what the run cost the server process, from its /metrics.
type Server struct {
	CPUSeconds     float64 `json:"cpu_seconds"`
	CPUMicrosPerOp float64 `json:"cpu_us_per_op"`
	PeakRSSMiB     float64 `json:"peak_rss_mib"`
	RSSSamples     int     `json:"rss_samples"`
}

// processMetrics are the process collector's readings at one moment.
type processMetrics struct {
	cpuSeconds float64
	rssBytes   float64
}

// scrape reads the server's process metrics from /metrics.
func scrape(ctx context.Context, client *http.Client, base string) (processMetrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return processMetrics{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return processMetrics{}, fmt.Errorf("reading /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return processMetrics{}, fmt.Errorf("reading /metrics: status %d", resp.StatusCode)
	}

	var m processMetrics
	found := 0
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(nil, 1<<20)
	for lines.Scan() {
		name, value, ok := strings.Cut(lines.Text(), " ")
		var dst *float64
		switch {
		case !ok:
			continue
		case name == "process_cpu_seconds_total":
			dst = &m.cpuSeconds
		case name == "process_resident_memory_bytes":
			dst = &m.rssBytes
		default:
			continue
		}
		if *dst, err = strconv.ParseFloat(strings.TrimSpace(value), 64); err != nil {
			return processMetrics{}, fmt.Errorf("reading /metrics: %s is not a number", name)
		}
		found++
	}
	if err := lines.Err(); err != nil {
		return processMetrics{}, fmt.Errorf("reading /metrics: %w", err)
	}
	if found < 2 {
		return processMetrics{}, fmt.Errorf("reading /metrics: no process_cpu_seconds_total and process_resident_memory_bytes")
	}
	return m, nil
}

// sampler reads the server's resident memory every so often while a phase
// runs, and keeps the peak.
type sampler struct {
	mu      sync.Mutex
	peak    float64
	samples int

	stop chan struct{}
	done chan struct{}
}

func startSampler(ctx context.Context, client *http.Client, base string, every time.Duration) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if m, err := scrape(ctx, client, base); err == nil {
				s.record(m)
			}
		}
	}()
	return s
}

func (s *sampler) record(m processMetrics) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peak = max(s.peak, m.rssBytes)
	s.samples++
}

// finish stops the sampler and returns the peak and the number of samples.
func (s *sampler) finish() (peak float64, samples int) {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak, s.samples
}
