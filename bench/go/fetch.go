// fetch.go: libgrant's benchmarks with Go's golang.org/x/oauth2, for
// comparison; bench/run-benchmarks.sh runs it against the same
// grant-local-endpoint as libgrant, in the same run.
//
// Usage: fetch MODE TOKEN_URL N
//
// Modes, each printing one line "go-x-oauth2 MODE N FIGURES...":
//
//	fetch       N fresh fetches over one keep-alive connection
//	            (clientcredentials.Config.Token does not cache), the
//	            secret in a Basic header, as libgrant's loop does;
//	            figures: wall and CPU microseconds per fetch
//	cached      N calls of Token() on a ReuseTokenSource holding a valid
//	            token, oauth2's cache; figure: nanoseconds per call
//	threads     8 goroutines let go at once, each making N calls of Token()
//	            on one ReuseTokenSource holding a valid token; figures:
//	            nanoseconds per call as each goroutine sees it, and calls
//	            per microsecond in all
//	concurrent  N goroutines let go at once, each calling Token() on one
//	            new ReuseTokenSource; figures: token requests made, wall
//	            microseconds from the first goroutine's start until all
//	            have a token, and of one fetch
//
// SPDX-License-Identifier: LGPL-2.1-or-later

package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// countingTransport counts the token requests that go out.
type countingTransport struct {
	base     http.RoundTripper
	requests atomic.Int64
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.requests.Add(1)
	return t.base.RoundTrip(r)
}

func cpuTime() time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		fail("getrusage:", err)
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

func fail(what ...any) {
	fmt.Fprintln(os.Stderr, append([]any{"fetch:"}, what...)...)
	os.Exit(1)
}

func check(token *oauth2.Token, err error) {
	if err != nil || token.AccessToken == "" {
		fail("no token:", err)
	}
}

func median(values []float64) float64 {
	sort.Float64s(values)
	return values[len(values)/2]
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: fetch fetch|cached|threads|concurrent TOKEN_URL N")
		os.Exit(2)
	}
	mode, url := os.Args[1], os.Args[2]
	n, err := strconv.Atoi(os.Args[3])
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "fetch: N must be a positive number")
		os.Exit(2)
	}

	config := clientcredentials.Config{
		ClientID:     "test-client",
		ClientSecret: "test-secret",
		TokenURL:     url,
		AuthStyle:    oauth2.AuthStyleInHeader,
	}
	// One client, so one keep-alive connection, for every fetch.
	transport := &countingTransport{base: &http.Transport{MaxIdleConnsPerHost: 1}}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient,
		&http.Client{Transport: transport})

	// Warm up: the connection, the code paths.
	for i := 0; i < n/10+1 && i < 200; i++ {
		check(config.Token(ctx))
	}

	switch mode {
	case "fetch":
		wall, cpu := time.Now(), cpuTime()
		for i := 0; i < n; i++ {
			check(config.Token(ctx))
		}
		fmt.Printf("go-x-oauth2 fetch %d %.2f %.2f\n", n,
			float64(time.Since(wall).Nanoseconds())/1e3/float64(n),
			float64((cpuTime()-cpu).Nanoseconds())/1e3/float64(n))

	case "cached":
		source := config.TokenSource(ctx)
		check(source.Token())
		rounds := make([]float64, 7)
		for r := range rounds {
			start := time.Now()
			for i := 0; i < n; i++ {
				check(source.Token())
			}
			rounds[r] = float64(time.Since(start).Nanoseconds()) / float64(n)
		}
		fmt.Printf("go-x-oauth2 cached %d %.1f\n", n, median(rounds))

	case "threads":
		const goroutines = 8
		source := config.TokenSource(ctx)
		check(source.Token())
		rounds := make([]float64, 5)
		for r := range rounds {
			gate := make(chan struct{})
			var wg sync.WaitGroup
			for g := 0; g < goroutines; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-gate
					for i := 0; i < n; i++ {
						check(source.Token())
					}
				}()
			}
			time.Sleep(20 * time.Millisecond)
			start := time.Now()
			close(gate)
			wg.Wait()
			rounds[r] = float64(time.Since(start).Nanoseconds()) / float64(n)
		}
		perCall := median(rounds)
		fmt.Printf("go-x-oauth2 threads %d %d %.1f %.2f\n", n, goroutines, perCall, goroutines*1000/perCall)

	case "concurrent":
		// Medians of five rounds, each on a new token source (a cold
		// cache) and the warm connection, as libgrant's figure is.
		var most int64
		single, many := make([]float64, 5), make([]float64, 5)
		for r := range single {
			start := time.Now()
			check(config.TokenSource(ctx).Token())
			single[r] = float64(time.Since(start).Nanoseconds()) / 1e3

			// Every goroutine waits at the gate, then all call at once.
			source := config.TokenSource(ctx)
			before := transport.requests.Load()
			gate := make(chan struct{})
			var wg sync.WaitGroup
			start = time.Now()
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-gate
					check(source.Token())
				}()
			}
			close(gate)
			wg.Wait()
			many[r] = float64(time.Since(start).Nanoseconds()) / 1e3
			if made := transport.requests.Load() - before; made > most {
				most = made
			}
		}
		fmt.Printf("go-x-oauth2 concurrent %d %d %.0f %.0f\n", n, most, median(many), median(single))

	default:
		fmt.Fprintln(os.Stderr, "fetch: unknown mode", mode)
		os.Exit(2)
	}
}
