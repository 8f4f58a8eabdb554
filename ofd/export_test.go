package ofd

// FinishSize is the size Finish reserves for the package it writes with a signed value
// of n bytes.
func (d *Draft) FinishSize(n int) int64 { return d.finishSize(n) }
