// Command cms-daq-simple-app is the workshop's web app: it answers "Hello CMS DAQ Group!".
//
// It is written to run as PID 1 in an empty (scratch) image, so it:
//   - uses only the standard library (no go.sum, nothing to download);
//   - reads its port from PORT (default 8080);
//   - shuts down cleanly on SIGTERM/SIGINT, so `docker stop` returns at once instead of
//     waiting 10 s and killing it (PID 1 gets no default signal handlers from the kernel).
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Greeting is what GET / answers, as in the workshop.
const Greeting = "Hello CMS DAQ Group!"

// newHandler returns the app's routes: / for the greeting, /healthz for probes.
func newHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, Greeting)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "ok")
	})
	return mux
}

// listenAddr turns the PORT environment value into a listen address.
func listenAddr(port string) string {
	if port == "" {
		port = "8080"
	}
	return ":" + port
}

// newServer returns an HTTP server with timeouts, so a slow client cannot hold a connection forever.
func newServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           newHandler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	srv := newServer(listenAddr(os.Getenv("PORT")))
	errc := make(chan error, 1)
	go func() {
		log.Printf("listening on %s", srv.Addr)
		errc <- srv.ListenAndServe()
	}()

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			log.Fatalf("server failed: %v", err)
		}
	case <-ctx.Done():
		log.Print("signal received, shutting down")
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			log.Fatalf("shutdown: %v", err)
		}
	}
}
