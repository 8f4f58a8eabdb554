package verifier

import (
	"context"
	"reflect"
	"testing"
)

// A batch verified through VerifyBatchUsing is judged by the verifier given, on the pool's
// workers: a pool whose own verifier trusts nothing passes the good signatures of the batch
// only under the trusting one.
func TestVerifyBatchUsing(t *testing.T) {
	trusting, items := batchFixture(t, 9)
	pool := NewPool(New(Options{}), PoolOptions{Workers: 2, Queue: 16})
	defer pool.Close()
	own, err := pool.VerifyBatch(context.Background(), items)
	if err != nil {
		t.Fatal(err)
	}
	using, err := pool.VerifyBatchUsing(context.Background(), trusting, items)
	if err != nil {
		t.Fatal(err)
	}
	for i := range items {
		if want := trusting.VerifySignature(items[i].Signature, items[i].Data); !reflect.DeepEqual(using[i], want) {
			t.Errorf("report %d is not that of the verifier given:\n got %+v\nwant %+v", i, using[i], want)
		}
		if i%3 == 0 {
			if using[i].Indication != TotalPassed {
				t.Errorf("report %d under the trusting verifier: %s/%s", i, using[i].Indication, using[i].SubIndication)
			}
			if own[i].Indication == TotalPassed {
				t.Errorf("report %d under the pool's own verifier, which trusts nothing, passed", i)
			}
		}
	}
	if nilV, err := pool.VerifyBatchUsing(context.Background(), nil, items[:1]); err != nil || !reflect.DeepEqual(nilV[0], own[0]) {
		t.Errorf("a nil verifier is not the pool's own: %v %+v", err, nilV)
	}
}
