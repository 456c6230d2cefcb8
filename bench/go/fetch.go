// fetch.go: the fetch loop of libgrant's benchmarks, with Go's
// golang.org/x/oauth2/clientcredentials, for comparison.
//
// Usage: fetch TOKEN_URL ITERATIONS
//
// Each iteration asks for a new token (clientcredentials.Config.Token does
// not cache) over one keep-alive connection, with the client secret in a
// Basic header, as libgrant's loop does. Prints one line:
//   go-x-oauth2 <iterations> <mean microseconds per fetch>
//
// SPDX-License-Identifier: LGPL-2.1-or-later

package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: fetch TOKEN_URL ITERATIONS")
		os.Exit(2)
	}
	iterations, err := strconv.Atoi(os.Args[2])
	if err != nil || iterations < 1 {
		fmt.Fprintln(os.Stderr, "fetch: ITERATIONS must be a positive number")
		os.Exit(2)
	}

	config := clientcredentials.Config{
		ClientID:     "test-client",
		ClientSecret: "test-secret",
		TokenURL:     os.Args[1],
		AuthStyle:    oauth2.AuthStyleInHeader,
	}
	// One client, so one keep-alive connection, for every fetch.
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient,
		&http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}})

	fetch := func() {
		token, err := config.Token(ctx)
		if err != nil || token.AccessToken == "" {
			fmt.Fprintln(os.Stderr, "fetch: no token:", err)
			os.Exit(1)
		}
	}

	// Warm up: the connection, the code paths.
	for i := 0; i < iterations/10+1; i++ {
		fetch()
	}

	start := time.Now()
	for i := 0; i < iterations; i++ {
		fetch()
	}
	elapsed := time.Since(start)

	fmt.Printf("go-x-oauth2 %d %.2f\n", iterations,
		float64(elapsed.Microseconds())/float64(iterations))
}
