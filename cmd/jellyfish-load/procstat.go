package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat. It is 100 on every
// Linux architecture Go supports (the kernel ABI fixes it; sysconf(_SC_CLK_TCK) would need cgo).
const clockTicks = 100

// procCPU returns the user+system CPU seconds of process pid ("self" for this process) from
// /proc/<pid>/stat.
func procCPU(pid string) (float64, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may contain spaces: fields after the
	// last ')' start with field 3 (state); utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%s/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%s/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%s/stat: %w", pid, err)
	}
	return float64(utime+stime) / clockTicks, nil
}

// procStatus returns VmRSS (bytes) and Threads from /proc/<pid>/status.
func procStatus(pid string) (rss uint64, threads int, err error) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		switch k {
		case "VmRSS": // "  123456 kB"
			kb, err := strconv.ParseUint(f[0], 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("/proc/%s/status: VmRSS: %w", pid, err)
			}
			rss = kb * 1024
		case "Threads":
			threads, _ = strconv.Atoi(f[0])
		}
	}
	return rss, threads, nil
}

// machineCPU returns the CPU seconds all cores spent busy (user, nice, system, irq, softirq,
// steal) since boot, from the first line of /proc/stat.
func machineCPU() (float64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, errors.New("/proc/stat: no cpu line")
	}
	var busy uint64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system (idle iowait) irq softirq steal
		v, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		busy += v
	}
	return float64(busy) / clockTicks, nil
}

// loadAvg returns the 1-minute load average from /proc/loadavg.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// procSample is one reading of a process's resources. The Has* fields tell which were read.
type procSample struct {
	CPU           float64 // user+system seconds since the process started
	RSS           uint64  // bytes
	Goroutines    float64
	Threads       int
	HasCPU        bool
	HasRSS        bool
	HasGoroutines bool
}

// serverProbe reads the server's resources from /proc (pid) and/or its Prometheus endpoint
// (metricsURL). When both are given, /proc wins for CPU and RSS.
type serverProbe struct {
	pid        string
	metricsURL string
	hc         *http.Client
}

func (p *serverProbe) enabled() bool { return p.pid != "" || p.metricsURL != "" }

// sample reads what it can; the error reports what it could not (the sample is still usable).
func (p *serverProbe) sample(ctx context.Context) (procSample, error) {
	var s procSample
	var errs []error
	if p.pid != "" {
		cpu, err := procCPU(p.pid)
		if err == nil {
			s.CPU, s.HasCPU = cpu, true
		}
		rss, threads, err2 := procStatus(p.pid)
		if err2 == nil {
			s.RSS, s.Threads, s.HasRSS = rss, threads, true
		}
		errs = append(errs, err, err2)
	}
	if p.metricsURL != "" {
		m, err := scrape(ctx, p.hc, p.metricsURL, "process_cpu_seconds_total", "process_resident_memory_bytes", "go_goroutines", "go_threads")
		errs = append(errs, err)
		if v, ok := m["process_cpu_seconds_total"]; ok && !s.HasCPU {
			s.CPU, s.HasCPU = v, true
		}
		if v, ok := m["process_resident_memory_bytes"]; ok && !s.HasRSS {
			s.RSS, s.HasRSS = uint64(v), true
		}
		if v, ok := m["go_threads"]; ok && s.Threads == 0 {
			s.Threads = int(v)
		}
		if v, ok := m["go_goroutines"]; ok {
			s.Goroutines, s.HasGoroutines = v, true
		}
	}
	return s, errors.Join(errs...)
}

// selfSample reads this process's CPU and RSS.
func selfSample() procSample {
	var s procSample
	if cpu, err := procCPU("self"); err == nil {
		s.CPU, s.HasCPU = cpu, true
	}
	if rss, threads, err := procStatus("self"); err == nil {
		s.RSS, s.Threads, s.HasRSS = rss, threads, true
	}
	return s
}

// scrape fetches a Prometheus text exposition and returns the values of the named metrics
// that have no labels.
func scrape(ctx context.Context, hc *http.Client, url string, names ...string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return nil, fmt.Errorf("scrape %s: %s", url, resp.Status)
	}
	return parseMetrics(resp.Body, names...)
}

// parseMetrics reads unlabelled samples ("name value [timestamp]") of the named metrics.
func parseMetrics(r io.Reader, names ...string) (map[string]float64, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || !want[f[0]] {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		out[f[0]] = v
	}
	return out, sc.Err()
}
