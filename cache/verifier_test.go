package cache_test

import (
	"github.com/eseal/eseal/cache"
	"github.com/eseal/eseal/verifier"
)

// A Cache[any] is what the verifier takes as its cache.
var _ verifier.Cache = (*cache.Cache[any])(nil)
