package registry

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/sealimg"
	"github.com/eseal/eseal/store"
)

// ImpressionStore keeps the impressions that the police seal system files for physical
// seals (articles 10 to 12: same seal, same impression), by seal code. Making an official
// or position seal takes its picture from here through FiledImpression.
//
// Import reads a batch of JSON lines, one impression each:
//
//	{"code":"4601000012345","picture":"<standard base64 of the file>","type":"png"}
//
// Its members:
//
//   - code: the physical seal's code, 1 to 64 ASCII letters, digits or '-'.
//   - picture: the impression file as the police system holds it (PNG, JPEG, GIF or SVG),
//     in standard base64 with padding; it must pass sealimg.CheckImpression (at most
//     ImpressionMaxPicture bytes once decoded).
//   - type: optional, "png", "jpeg", "gif" or "svg"; when given it must be what the
//     picture is.
//
// Other members are ignored, so that the police system's export may carry more. Empty
// lines (and lines of spaces) are skipped. A line is at most ImpressionMaxLine bytes
// without its line end.
//
// Each line stands alone: a bad line is reported with its number in ImportResult.Problems
// and the good lines are stored all the same. Good lines are committed in atomic, synced
// batches of at most ImpressionBatchLines lines (and about 32 MiB), each with the condition that its codes
// are still as they were read. A code is filed once: importing it again with the same
// picture (byte for byte) changes nothing and counts as unchanged; with another picture it
// is refused (errs.Conflict), since a physical seal has one impression. A new physical
// seal gets a new code.
//
// Records live in the store under "reg/imp/" + code, as JSON holding the picture, its
// format and size, its SM3 and the time of import. FiledImpression checks the SM3 before
// handing the picture out.
//
// An ImpressionStore is safe for concurrent use.
type ImpressionStore struct {
	kv  store.KV // the "reg/imp" keyspace
	now func() time.Time
}

// Limits of an import.
const (
	// ImpressionMaxPicture is the largest impression file accepted, decoded.
	ImpressionMaxPicture = 10 << 20
	// ImpressionMaxLine is the longest import line: a largest picture in base64 and room
	// for the other members.
	ImpressionMaxLine = ImpressionMaxPicture/3*4 + 8 + 64<<10
	// ImpressionBatchLines is the most lines committed in one batch.
	ImpressionBatchLines = 64
	// ImpressionMaxProblems is the most bad lines an ImportResult lists; the rest are
	// only counted.
	ImpressionMaxProblems = 1000
	// impressionBatchBytes bounds the encoded records held for one batch.
	impressionBatchBytes = 32 << 20
	// impressionMaxCode is the longest seal code.
	impressionMaxCode = 64
)

// ImpressionOptions configures an ImpressionStore. The zero value is the default.
type ImpressionOptions struct {
	// Now is the clock that stamps imports; nil means time.Now.
	Now func() time.Time
}

// NewImpressionStore returns the impression store kept in kv (the whole store: it uses the
// keys under "reg/imp/").
func NewImpressionStore(kv store.KV, opts ImpressionOptions) *ImpressionStore {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	reg := store.MustSpace(kv, "reg")
	return &ImpressionStore{kv: store.MustSpace(reg, "imp"), now: now}
}

var _ ImpressionSource = (*ImpressionStore)(nil)

// ImportResult says what an import did.
type ImportResult struct {
	// Lines is the number of lines read, empty ones included.
	Lines int
	// Added is the number of impressions stored for the first time.
	Added int
	// Unchanged is the number of lines whose code was filed already with the same
	// picture.
	Unchanged int
	// Bad is the number of lines refused; Problems lists at most ImpressionMaxProblems of
	// them in line order.
	Bad      int
	Problems []ImpressionProblem
}

// ImpressionProblem is a refused import line.
type ImpressionProblem struct {
	Line int    // 1-based line number
	Code string // the seal code, when the line got that far
	Err  error
}

func (p ImpressionProblem) String() string {
	if p.Code != "" {
		return fmt.Sprintf("line %d (code %s): %v", p.Line, p.Code, p.Err)
	}
	return fmt.Sprintf("line %d: %v", p.Line, p.Err)
}

// impressionLine is one import line.
type impressionLine struct {
	Code    *string `json:"code"`
	Picture *string `json:"picture"`
	Type    string  `json:"type"`
}

// impressionRecord is what the store holds under a code.
type impressionRecord struct {
	Version  int       `json:"v"`
	Code     string    `json:"code"`
	Type     string    `json:"type"`
	Width    int       `json:"width"`
	Height   int       `json:"height"`
	Size     int       `json:"size"`
	SM3      string    `json:"sm3"`
	Imported time.Time `json:"imported"`
	Picture  []byte    `json:"picture"`
}

// impressionStaged is a good line waiting for its batch.
type impressionStaged struct {
	line int
	code string
	rec  impressionRecord
	enc  []byte
}

// Import reads JSON lines from r (see ImpressionStore) and stores every good one. It
// returns an error only when reading r or writing the store fails, or ctx ends; what was
// committed before stays (res counts it).
func (s *ImpressionStore) Import(ctx context.Context, r io.Reader) (ImportResult, error) {
	var res ImportResult
	br := bufio.NewReaderSize(r, 64<<10)
	var pending []impressionStaged
	size := 0
	flush := func() error {
		err := s.commit(ctx, pending, &res, true)
		pending, size = pending[:0], 0
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		line, tooLong, err := filingReadLine(br, ImpressionMaxLine)
		if err != nil && !errors.Is(err, io.EOF) {
			return res, fmt.Errorf("registry: impressions import: reading line %d: %w", res.Lines+1, err)
		}
		eof := errors.Is(err, io.EOF)
		if line != nil || tooLong {
			res.Lines++
			n := res.Lines
			switch {
			case tooLong:
				res.problem(n, "", fmt.Errorf("line longer than %d bytes: %w", ImpressionMaxLine, errs.LimitExceeded))
			case len(bytes.TrimSpace(line)) == 0:
			default:
				st, code, perr := s.parseLine(line)
				if perr != nil {
					res.problem(n, code, perr)
					break
				}
				st.line = n
				pending = append(pending, st)
				size += len(st.enc)
				if len(pending) >= ImpressionBatchLines || size >= impressionBatchBytes {
					if err := flush(); err != nil {
						return res, err
					}
				}
			}
		}
		if eof {
			break
		}
	}
	err := flush()
	slices.SortStableFunc(res.Problems, func(a, b ImpressionProblem) int { return a.Line - b.Line })
	return res, err
}

func (res *ImportResult) problem(line int, code string, err error) {
	res.Bad++
	if len(res.Problems) < ImpressionMaxProblems {
		res.Problems = append(res.Problems, ImpressionProblem{Line: line, Code: code, Err: err})
	}
}

// filingReadLine reads one line without its end ("\n" or "\r\n"). A line longer than max is
// skipped to its end and reported with tooLong, without being held in memory. At the end
// of r it returns io.EOF with the last line, if any (nil when there is none).
func filingReadLine(br *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	var buf []byte
	read := false
	for {
		chunk, err := br.ReadSlice('\n')
		read = read || len(chunk) > 0
		if !tooLong {
			if len(buf)+len(chunk) > max+2 { // room for "\r\n"
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && !read:
			return nil, false, io.EOF
		case err != nil && !errors.Is(err, io.EOF):
			return nil, false, err
		}
		if !tooLong {
			buf = bytes.TrimSuffix(buf, []byte("\n"))
			buf = bytes.TrimSuffix(buf, []byte("\r"))
			if len(buf) > max {
				tooLong, buf = true, nil
			} else if buf == nil {
				buf = []byte{}
			}
		}
		return buf, tooLong, err
	}
}

// parseLine decodes and checks one non-empty line.
func (s *ImpressionStore) parseLine(line []byte) (impressionStaged, string, error) {
	var in impressionLine
	if err := json.Unmarshal(line, &in); err != nil {
		return impressionStaged{}, "", fmt.Errorf("not a JSON object with string members (%v): %w", err, errs.Malformed)
	}
	if in.Code == nil {
		return impressionStaged{}, "", fmt.Errorf("no \"code\": %w", errs.InvalidInput)
	}
	code := *in.Code
	if err := filingCheckCode(code); err != nil {
		return impressionStaged{}, "", err
	}
	if in.Picture == nil || *in.Picture == "" {
		return impressionStaged{}, code, fmt.Errorf("no \"picture\": %w", errs.InvalidInput)
	}
	if base64.StdEncoding.DecodedLen(len(*in.Picture)) > ImpressionMaxPicture+2 {
		return impressionStaged{}, code, fmt.Errorf("picture larger than %d bytes: %w", ImpressionMaxPicture, errs.LimitExceeded)
	}
	pic, err := base64.StdEncoding.DecodeString(*in.Picture)
	if err != nil {
		return impressionStaged{}, code, fmt.Errorf("picture is not standard base64 (%v): %w", err, errs.Malformed)
	}
	if len(pic) > ImpressionMaxPicture {
		return impressionStaged{}, code, fmt.Errorf("picture of %d bytes, at most %d: %w", len(pic), ImpressionMaxPicture, errs.LimitExceeded)
	}
	im, err := sealimg.CheckImpression(pic)
	if err != nil {
		return impressionStaged{}, code, err
	}
	switch in.Type {
	case "", im.Format:
	case "png", "jpeg", "gif", "svg":
		return impressionStaged{}, code, fmt.Errorf("type %q given, but the picture is %s: %w", in.Type, im.Format, errs.InvalidInput)
	default:
		return impressionStaged{}, code, fmt.Errorf("type %q, want png, jpeg, gif or svg: %w", filingClip(in.Type), errs.InvalidInput)
	}
	sum := sm3.Sum(pic)
	rec := impressionRecord{Version: 1, Code: code, Type: im.Format, Width: im.Width, Height: im.Height,
		Size: len(pic), SM3: hex.EncodeToString(sum[:]), Imported: s.now().UTC(), Picture: pic}
	enc, err := json.Marshal(rec)
	if err != nil {
		return impressionStaged{}, code, fmt.Errorf("encoding the record: %w", err)
	}
	return impressionStaged{code: code, rec: rec, enc: enc}, code, nil
}

// commit stores the staged lines: those whose code is new in one conditional batch, the
// others compared with what is filed. When the batch loses to a concurrent writer and
// retry is set, the lines are taken again one by one; a single line that loses again is
// refused with errs.Conflict.
func (s *ImpressionStore) commit(ctx context.Context, lines []impressionStaged, res *ImportResult, retry bool) error {
	if len(lines) == 0 {
		return nil
	}
	b := s.kv.NewBatch()
	defer b.Close()
	var added []impressionStaged
	inBatch := map[string]string{} // code → SM3 of what this batch files
	for _, st := range lines {
		if sum, ok := inBatch[st.code]; ok {
			if sum == st.rec.SM3 {
				res.Unchanged++
			} else {
				res.problem(st.line, st.code, impressionConflict(st.code))
			}
			continue
		}
		old, err := s.kv.Get(ctx, []byte(st.code))
		switch {
		case errors.Is(err, errs.NotFound):
		case err != nil:
			return fmt.Errorf("registry: impressions import: line %d: %w", st.line, err)
		default:
			rec, derr := impressionDecode(st.code, old)
			switch {
			case derr != nil:
				res.problem(st.line, st.code, derr)
			case rec.SM3 == st.rec.SM3 && bytes.Equal(rec.Picture, st.rec.Picture):
				res.Unchanged++
			default:
				res.problem(st.line, st.code, impressionConflict(st.code))
			}
			continue
		}
		if err := b.Expect([]byte(st.code), nil); err != nil {
			return fmt.Errorf("registry: impressions import: %w", err)
		}
		if err := b.Set([]byte(st.code), st.enc); err != nil {
			return fmt.Errorf("registry: impressions import: %w", err)
		}
		inBatch[st.code] = st.rec.SM3
		added = append(added, st)
	}
	if len(added) == 0 {
		return nil
	}
	err := b.Commit(ctx)
	switch {
	case err == nil:
		res.Added += len(added)
		return nil
	case !errors.Is(err, errs.Conflict):
		return fmt.Errorf("registry: impressions import: lines %d to %d: %w", added[0].line, added[len(added)-1].line, err)
	}
	if !retry {
		for _, st := range added {
			res.problem(st.line, st.code, fmt.Errorf("seal code %s was changed by another writer during the import: %w", st.code, errs.Conflict))
		}
		return nil
	}
	// Someone filed one of these codes meanwhile: take the lines one at a time.
	for _, st := range added {
		if err := s.commit(ctx, []impressionStaged{st}, res, false); err != nil {
			return err
		}
	}
	return nil
}

func impressionConflict(code string) error {
	return fmt.Errorf("seal code %s is filed already with another impression (same seal, same impression): %w", code, errs.Conflict)
}

// FiledImpression returns the impression filed for the physical seal code and its format
// ("png", "jpeg", "gif" or "svg"). It fails with errs.NotFound when none is filed, and
// errs.Corrupt when the stored picture is not the one filed.
func (s *ImpressionStore) FiledImpression(ctx context.Context, sealCode string) ([]byte, string, error) {
	if err := filingCheckCode(sealCode); err != nil {
		return nil, "", fmt.Errorf("registry: filed impression: %w", err)
	}
	v, err := s.kv.Get(ctx, []byte(sealCode))
	if errors.Is(err, errs.NotFound) {
		return nil, "", fmt.Errorf("registry: no impression filed for seal code %s: %w", sealCode, errs.NotFound)
	}
	if err != nil {
		return nil, "", fmt.Errorf("registry: filed impression of %s: %w", sealCode, err)
	}
	rec, err := impressionDecode(sealCode, v)
	if err != nil {
		return nil, "", fmt.Errorf("registry: filed impression: %w", err)
	}
	return rec.Picture, rec.Type, nil
}

// impressionDecode reads a stored record and checks it against its code and SM3.
func impressionDecode(code string, v []byte) (impressionRecord, error) {
	var rec impressionRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return rec, fmt.Errorf("stored impression of %s unreadable (%v): %w", code, err, errs.Corrupt)
	}
	sum := sm3.Sum(rec.Picture)
	if rec.Version != 1 || rec.Code != code || rec.SM3 != hex.EncodeToString(sum[:]) || rec.Size != len(rec.Picture) {
		return rec, fmt.Errorf("stored impression of %s fails its check (version, code, size or SM3): %w", code, errs.Corrupt)
	}
	return rec, nil
}

// filingCheckCode checks a seal code: 1 to 64 ASCII letters, digits or '-'.
func filingCheckCode(code string) error {
	if code == "" {
		return fmt.Errorf("empty seal code: %w", errs.InvalidInput)
	}
	if len(code) > impressionMaxCode {
		return fmt.Errorf("seal code of %d bytes, at most %d: %w", len(code), impressionMaxCode, errs.InvalidInput)
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '-') {
			return fmt.Errorf("seal code %q: character %d is not an ASCII letter, digit or '-': %w", filingClip(code), i+1, errs.InvalidInput)
		}
	}
	return nil
}

// filingClip shortens outside text quoted in an error.
func filingClip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
