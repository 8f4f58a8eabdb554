package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/store"
)

// Synopses of the registry's filing commands.
const (
	impressionsImportSynopsis = "eseal impressions import --data DIR FILE|-"
	outboxExportSynopsis      = "eseal outbox export --data DIR --target police|national [--out FILE|-]"
	outboxAckSynopsis         = "eseal outbox ack --data DIR --target police|national [--file FILE|-] [ID]..."
)

func impressionsUsage(w io.Writer) {
	fmt.Fprint(w, `usage:
  `+impressionsImportSynopsis+`
      file the police seal system's impressions: JSON lines {"code","picture" (base64),"type"};
      exit 0 when every line was stored or already filed, 1 when a line was refused (each
      named with its number), 2 usage or I/O error
`)
}

func outboxUsage(w io.Writer) {
	fmt.Fprint(w, `usage:
  `+outboxExportSynopsis+`
      write the records not yet delivered to a target as JSON lines (standard output by default)
  `+outboxAckSynopsis+`
      mark records delivered, by id: given as arguments, or read from FILE (one id a line, or
      the export's JSON lines); all or none
`)
}

func cmdImpressions(args []string, stdout, stderr io.Writer) int {
	return runGroup("impressions", impressionsUsage, map[string]command{
		"import": cmdImpressionsImport,
	}, args, stdout, stderr)
}

func cmdOutbox(args []string, stdout, stderr io.Writer) int {
	return runGroup("outbox", outboxUsage, map[string]command{
		"export": cmdOutboxExport,
		"ack":    cmdOutboxAck,
	}, args, stdout, stderr)
}

// openInput opens a named file, or standard input for "-".
func openInput(name string) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(os.Stdin), nil
	}
	return os.Open(name)
}

func cmdImpressionsImport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("impressions import", flag.ContinueOnError)
	data := fs.String("data", "", "the store `DIR` (created when it does not exist)")
	rest, code, ok := parseCommand(fs, impressionsImportSynopsis, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(rest) != 1 || *data == "" {
		fmt.Fprintf(stderr, "eseal impressions import: --data and one FILE are required\nusage: %s\n", impressionsImportSynopsis)
		return exitUsage
	}
	in, err := openInput(rest[0])
	if err != nil {
		fmt.Fprintf(stderr, "eseal impressions import: %v\n", err)
		return exitUsage
	}
	defer in.Close()
	db, err := store.Open(*data, nil)
	if err != nil {
		fmt.Fprintf(stderr, "eseal impressions import: %v\n", err)
		return exitUsage
	}
	defer db.Close()
	res, err := registry.NewImpressionStore(db, registry.ImpressionOptions{}).Import(context.Background(), in)
	fmt.Fprintf(stdout, "%d lines: %d impressions added, %d already filed, %d refused\n", res.Lines, res.Added, res.Unchanged, res.Bad)
	for _, p := range res.Problems {
		fmt.Fprintf(stdout, "  %s\n", p)
	}
	if res.Bad > len(res.Problems) {
		fmt.Fprintf(stdout, "  (%d more refused lines not listed)\n", res.Bad-len(res.Problems))
	}
	if err != nil {
		fmt.Fprintf(stderr, "eseal impressions import: %v (the lines counted above were stored)\n", err)
		return exitUsage
	}
	if res.Bad > 0 {
		return exitFailed
	}
	return exitOK
}

// openOutbox opens the existing store in dir and its outbox.
func openOutbox(dir string) (*store.Pebble, *registry.Outbox, error) {
	db, err := openExistingStore(dir)
	if err != nil {
		return nil, nil, err
	}
	ob, err := registry.NewOutbox(context.Background(), db, registry.OutboxOptions{})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, ob, nil
}

func cmdOutboxExport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("outbox export", flag.ContinueOnError)
	data := fs.String("data", "", "the store `DIR`")
	target := fs.String("target", "", "the receiving system: police or national")
	out := fs.String("out", "-", "write to `FILE` (created with mode 0600, never overwritten), - for standard output")
	rest, code, ok := parseCommand(fs, outboxExportSynopsis, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(rest) != 0 || *data == "" || *target == "" || *out == "" {
		fmt.Fprintf(stderr, "eseal outbox export: --data and --target are required and it takes no arguments\nusage: %s\n", outboxExportSynopsis)
		return exitUsage
	}
	db, ob, err := openOutbox(*data)
	if err != nil {
		fmt.Fprintf(stderr, "eseal outbox export: %v\n", err)
		return exitUsage
	}
	defer db.Close()
	var n int
	err = writeOutput(*out, stdout, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		var err error
		n, err = ob.Export(context.Background(), bw, registry.OutboxTarget(*target))
		if ferr := bw.Flush(); err == nil {
			err = ferr
		}
		return err
	})
	if err != nil {
		fmt.Fprintf(stderr, "eseal outbox export: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "eseal outbox export: %d records for %s\n", n, *target)
	return exitOK
}

func cmdOutboxAck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("outbox ack", flag.ContinueOnError)
	data := fs.String("data", "", "the store `DIR`")
	target := fs.String("target", "", "the receiving system: police or national")
	file := fs.String("file", "", "read the ids from `FILE` (- for standard input): one id a line, or the export's JSON lines")
	ids, code, ok := parseCommand(fs, outboxAckSynopsis, args, stdout, stderr)
	if !ok {
		return code
	}
	if *data == "" || *target == "" || (len(ids) == 0 && *file == "") {
		fmt.Fprintf(stderr, "eseal outbox ack: --data, --target and ids (or --file) are required\nusage: %s\n", outboxAckSynopsis)
		return exitUsage
	}
	if *target != string(registry.OutboxPolice) && *target != string(registry.OutboxNational) {
		fmt.Fprintf(stderr, "eseal outbox ack: --target %q, want police or national\n", *target)
		return exitUsage
	}
	if *file != "" {
		more, err := readAckIDs(*file)
		if err != nil {
			fmt.Fprintf(stderr, "eseal outbox ack: --file: %v\n", err)
			return exitUsage
		}
		ids = append(ids, more...)
	}
	if len(ids) > registry.OutboxMaxAck {
		fmt.Fprintf(stderr, "eseal outbox ack: %d ids, at most %d at once\n", len(ids), registry.OutboxMaxAck)
		return exitUsage
	}
	db, ob, err := openOutbox(*data)
	if err != nil {
		fmt.Fprintf(stderr, "eseal outbox ack: %v\n", err)
		return exitUsage
	}
	defer db.Close()
	ack, err := ob.MarkDelivered(context.Background(), registry.OutboxTarget(*target), ids)
	if err != nil {
		fmt.Fprintf(stderr, "eseal outbox ack: %v (nothing marked)\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "%d records marked delivered to %s, %d delivered before\n", ack.Marked, *target, ack.Already)
	return exitOK
}

// readAckIDs reads ids one a line, or as the "id" of JSON lines.
func readAckIDs(name string) ([]string, error) {
	in, err := openInput(name)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var ids []string
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		switch {
		case len(line) == 0:
			continue
		case line[0] == '{':
			var rec struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(line, &rec); err != nil || rec.ID == "" {
				return nil, fmt.Errorf("line %d: a JSON line without an \"id\"", n)
			}
			ids = append(ids, rec.ID)
		default:
			ids = append(ids, string(line))
		}
		if len(ids) > registry.OutboxMaxAck {
			return nil, fmt.Errorf("more than %d ids", registry.OutboxMaxAck)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return ids, nil
}
