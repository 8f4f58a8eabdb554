// Command eseal is the electronic seal appliance: it verifies and inspects seals, seal
// signatures and sealed OFD documents.
//
// Usage:
//
//	eseal verify [--json] [--trust FILE]... [--crl FILE]... [--data FILE] PATH...
//	eseal inspect [--picture OUT] PATH
//
// Exit status of verify: 0 when every file is TOTAL_PASSED, 1 when any is TOTAL_FAILED,
// 3 otherwise (INDETERMINATE, NO_SIGNATURE), 2 on a usage or I/O error.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

// Exit statuses.
const (
	exitOK            = 0
	exitFailed        = 1
	exitUsage         = 2
	exitIndeterminate = 3
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "verify":
		return cmdVerify(args[1:], stdout, stderr)
	case "inspect":
		return cmdInspect(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		usage(stdout)
		return exitOK
	}
	fmt.Fprintf(stderr, "eseal: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  eseal verify [--json] [--trust FILE]... [--crl FILE]... [--data FILE] PATH...
      verify OFD documents (.ofd), seal signatures (SignedValue.dat) and seals (.esl)
  eseal inspect [--picture OUT] PATH
      print what a seal, seal signature or OFD document holds

exit status of verify: 0 all TOTAL_PASSED, 1 any TOTAL_FAILED, 3 otherwise, 2 usage or I/O error
`)
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return fmt.Sprint(*l) }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// parseInterspersed parses flags that may come before, between or after the positional
// arguments ("eseal verify a.ofd --json").
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
