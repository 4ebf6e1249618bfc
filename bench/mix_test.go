package bench

import (
	"strings"
	"testing"
)

func TestParseMix(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Mix
		wantErr string
	}{
		{name: "default", in: "put=60,patch=30,delete=10", want: Mix{60, 30, 10}},
		{name: "spaces and case", in: " PUT = 1 , Delete=2 ", want: Mix{Put: 1, Delete: 2}},
		{name: "put only", in: "put=100", want: Mix{Put: 100}},
		{name: "zero weights kept", in: "put=5,patch=0", want: Mix{Put: 5}},
		{name: "all zero", in: "put=0,patch=0", wantErr: "every weight is 0"},
		{name: "negative", in: "put=-1", wantErr: "whole number of 0 or more"},
		{name: "not a number", in: "put=lots", wantErr: "whole number of 0 or more"},
		{name: "unknown kind", in: "put=1,insert=2", wantErr: `unknown kind "insert"`},
		{name: "twice", in: "put=1,put=2", wantErr: "put is given twice"},
		{name: "no weight", in: "put", wantErr: "want kind=weight pairs"},
		{name: "empty", in: "", wantErr: "want kind=weight pairs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMix(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseMix(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseMix(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if again, err := ParseMix(got.String()); err != nil || again != got {
				t.Errorf("ParseMix(%q) = %+v, %v; want %+v back", got.String(), again, err, got)
			}
		})
	}
}
