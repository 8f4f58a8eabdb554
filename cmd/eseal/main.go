// Command eseal is the electronic seal appliance: it verifies and inspects seals, seal
// signatures and sealed OFD documents.
//
// Usage:
//
//	eseal serve [--config FILE] [--data DIR] [--listen ADDR]
//	eseal verify [--json] [--trust FILE]... [--maker FILE]... [--crl FILE]... [--data FILE] PATH...
//	eseal inspect [--picture OUT|-] [--force] PATH
//	eseal backup --data DIR --to DIR2
//	eseal restore --from DIR2 --data DIR [--key FILE]...
//	eseal audit verify --data DIR [--key FILE]...
//	eseal audit export --data DIR [--out FILE|-]
//	eseal impressions import --data DIR FILE|-
//	eseal outbox export --data DIR --target police|national [--out FILE|-]
//	eseal outbox ack --data DIR --target police|national [--file FILE|-] [ID]...
//
// --help after a command prints its flags.
//
// Exit status of verify: 0 when every file is TOTAL_PASSED, 1 when any is TOTAL_FAILED,
// 3 otherwise (INDETERMINATE, NO_SIGNATURE), 2 on a usage or I/O error.
package main

import (
	"errors"
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
	case "serve":
		return cmdServe(args[1:], stdout, stderr)
	case "verify":
		return cmdVerify(args[1:], stdout, stderr)
	case "inspect":
		return cmdInspect(args[1:], stdout, stderr)
	case "backup":
		return cmdBackup(args[1:], stdout, stderr)
	case "restore":
		return cmdRestore(args[1:], stdout, stderr)
	case "audit":
		return cmdAudit(args[1:], stdout, stderr)
	case "impressions":
		return cmdImpressions(args[1:], stdout, stderr)
	case "outbox":
		return cmdOutbox(args[1:], stdout, stderr)
	case "sign-ofd":
		return cmdSignOFD(args[1:], stdout, stderr)
	case "bench":
		return cmdBench(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		usage(stdout)
		return exitOK
	}
	fmt.Fprintf(stderr, "eseal: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

// Synopses of the commands.
const (
	verifySynopsis  = "eseal verify [--json] [--trust FILE]... [--maker FILE]... [--crl FILE]... [--data FILE]\n         [--store DIR [--trust-set NAME]] [--fetch-crl [--crl-timeout D]] PATH..."
	inspectSynopsis = "eseal inspect [--picture OUT|-] [--force] PATH"
)

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  `+serveSynopsis+`
      run the appliance: the HTTP API over the configured store, keys and CA
  `+verifySynopsis+`
      verify OFD documents (.ofd), seal signatures (SignedValue.dat) and seals (.esl)
  `+inspectSynopsis+`
      print what a seal, seal signature or OFD document holds
  `+backupSynopsis+`
      write a consistent copy of the store
  `+restoreSynopsis+`
      bring a backup back into an empty DIR after checking its audit chain
  `+auditVerifySynopsis+`
  `+auditExportSynopsis+`
      check the audit log's chain (exit 0 intact, 1 broken) or export it as JSON lines
  `+impressionsImportSynopsis+`
      file the police seal system's impressions by seal code (exit 1 when a line is refused)
  `+outboxExportSynopsis+`
  `+outboxAckSynopsis+`
      export the filing and sync records not yet delivered, then mark them delivered
  `+signOFDSynopsis+`
      sign OFD documents through the appliance, in parallel (exit 1 when any failed)
  `+benchSynopsis+`
      load-test a running appliance against the raw SM2 primitives, or sweep every operation

eseal COMMAND --help lists the flags of a command.
exit status of verify: 0 all TOTAL_PASSED, 1 any TOTAL_FAILED, 3 otherwise, 2 usage or I/O error
`)
}

// parseCommand parses a command's flags and arguments. ok is false when the caller must
// exit with code: 0 after --help (or -h), whose usage goes to stdout; exitUsage after a bad
// flag, named on stderr.
func parseCommand(fs *flag.FlagSet, synopsis string, args []string, stdout, stderr io.Writer) (paths []string, code int, ok bool) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	paths, err := parseInterspersed(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fmt.Fprintf(stdout, "usage: %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
		return nil, exitOK, false
	case err != nil:
		fmt.Fprintf(stderr, "eseal %s: %v\nusage: %s\n", fs.Name(), err, synopsis)
		return nil, exitUsage, false
	}
	return paths, 0, true
}

// command runs one command on its arguments and returns its exit status.
type command func(args []string, stdout, stderr io.Writer) int

// runGroup runs the command of a group (eseal audit, eseal outbox, ...) that args[0] names,
// or prints the group's usage for help; a missing or unknown name is a usage error.
func runGroup(group string, usage func(io.Writer), cmds map[string]command, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	if cmd, ok := cmds[args[0]]; ok {
		return cmd(args[1:], stdout, stderr)
	}
	switch args[0] {
	case "help", "-h", "--help":
		usage(stdout)
		return exitOK
	}
	fmt.Fprintf(stderr, "eseal %s: unknown command %q\n", group, args[0])
	usage(stderr)
	return exitUsage
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
