package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRoutes(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantBody   string
	}{
		{"greeting", http.MethodGet, "/", http.StatusOK, "Hello CMS DAQ Group!"}, // the workshop's words, pinned
		{"health", http.MethodGet, "/healthz", http.StatusOK, "ok"},
		{"unknown path", http.MethodGet, "/nope", http.StatusNotFound, "404 page not found\n"},
		{"wrong method", http.MethodPost, "/", http.StatusMethodNotAllowed, "method not allowed\n"},
		{"head", http.MethodHead, "/", http.StatusOK, ""},
	}
	h := newHandler()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			body, _ := io.ReadAll(rec.Result().Body)
			if rec.Code != tc.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tc.wantStatus)
			}
			if tc.method != http.MethodHead && string(body) != tc.wantBody {
				t.Errorf("body = %q, want %q", body, tc.wantBody)
			}
		})
	}
}

func TestListenAddr(t *testing.T) {
	tests := []struct{ port, want string }{
		{"", ":8080"},
		{"9090", ":9090"},
	}
	for _, tc := range tests {
		if got := listenAddr(tc.port); got != tc.want {
			t.Errorf("listenAddr(%q) = %q, want %q", tc.port, got, tc.want)
		}
	}
}

func TestServerHasTimeouts(t *testing.T) {
	srv := newServer(":0")
	if srv.ReadHeaderTimeout == 0 || srv.ReadTimeout == 0 || srv.WriteTimeout == 0 || srv.IdleTimeout == 0 {
		t.Fatalf("server timeouts must all be set: %+v", srv)
	}
}
