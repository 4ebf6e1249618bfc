package bench

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestScrape(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		status  int
		want    processMetrics
		wantErr bool
	}{
		{
			name: "process collector",
			body: "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n" +
				"# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 12.5\n" +
				"process_resident_memory_bytes 4.194304e+07\nprocess_virtual_memory_bytes 1e+09\n",
			status: http.StatusOK,
			want:   processMetrics{cpuSeconds: 12.5, rssBytes: 41943040},
		},
		{name: "missing", body: "go_goroutines 8\n", status: http.StatusOK, wantErr: true},
		{name: "not a number", body: "process_cpu_seconds_total x\nprocess_resident_memory_bytes 1\n",
			status: http.StatusOK, wantErr: true},
		{name: "not found", status: http.StatusNotFound, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()

			got, err := scrape(t.Context(), srv.Client(), srv.URL)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("scrape = %+v, %v; want %+v, error %t", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
