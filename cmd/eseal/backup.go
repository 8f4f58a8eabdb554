package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/eseal/eseal/backup"
)

// Synopses of the backup commands.
const (
	backupSynopsis  = "eseal backup --data DIR --to DIR2"
	restoreSynopsis = "eseal restore --from DIR2 --data DIR [--key FILE]..."
)

func cmdBackup(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	data := fs.String("data", "", "the store `DIR`")
	to := fs.String("to", "", "the backup `DIR2`, which must not exist yet")
	rest, code, ok := parseCommand(fs, backupSynopsis, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(rest) != 0 || *data == "" || *to == "" {
		fmt.Fprintf(stderr, "eseal backup: --data and --to are required and it takes no arguments\nusage: %s\n", backupSynopsis)
		return exitUsage
	}
	db, err := openExistingStore(*data)
	if err != nil {
		fmt.Fprintf(stderr, "eseal backup: %v\n", err)
		return exitUsage
	}
	defer db.Close()
	if err := backup.Backup(context.Background(), db, *to); err != nil {
		fmt.Fprintf(stderr, "eseal backup: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "backup of %s written to %s\n", *data, *to)
	return exitOK
}

func cmdRestore(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	from := fs.String("from", "", "the backup `DIR2`")
	data := fs.String("data", "", "the store `DIR` to restore into: absent or empty")
	var keyFiles listFlag
	fs.Var(&keyFiles, "key", "a trusted audit head key: a `FILE` with a public key or certificate, PEM or DER\n(repeatable); without one the heads are checked with the keys kept in the backup")
	rest, code, ok := parseCommand(fs, restoreSynopsis, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(rest) != 0 || *from == "" || *data == "" {
		fmt.Fprintf(stderr, "eseal restore: --from and --data are required and it takes no arguments\nusage: %s\n", restoreSynopsis)
		return exitUsage
	}
	keys, err := loadPublicKeys(keyFiles)
	if err != nil {
		fmt.Fprintf(stderr, "eseal restore: %v\n", err)
		return exitUsage
	}
	rep, err := backup.Restore(context.Background(), *from, *data, backup.RestoreOptions{AuditKeys: keys})
	switch {
	case errors.Is(err, backup.ErrAuditBroken):
		printAuditReport(stdout, &rep)
		fmt.Fprintf(stderr, "eseal restore: refused: %v\n", err)
		return exitFailed
	case err != nil:
		fmt.Fprintf(stderr, "eseal restore: %v\n", err)
		return exitUsage
	}
	printAuditReport(stdout, &rep)
	fmt.Fprintf(stdout, "restored %s into %s\n", *from, *data)
	return exitOK
}
