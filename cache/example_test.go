package cache_test

import (
	"context"
	"fmt"

	"github.com/eseal/eseal/cache"
)

// A cache of chain results per trust set: a change to the set drops its results at once.
func Example() {
	chains, err := cache.New[string](cache.Config{MaxBytes: 16 << 20})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer chains.Close()

	cert := []byte("certificate DER")
	k := cache.KeyOf(cert)
	build := func() (string, int64, error) {
		fmt.Println("building chain")
		return "chains to province root", 64, nil
	}

	ctx := context.Background()
	v, _ := chains.GetOrLoadIn(ctx, "province", k, build)
	fmt.Println(v)
	v, _ = chains.GetOrLoadIn(ctx, "province", k, build) // cached: no build
	fmt.Println(v)

	chains.Invalidate("province") // the trust set changed
	_, ok := chains.GetIn("province", k)
	fmt.Println("cached after invalidation:", ok)
	// Output:
	// building chain
	// chains to province root
	// chains to province root
	// cached after invalidation: false
}
