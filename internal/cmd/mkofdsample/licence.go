package main

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// The licence's parties.
const (
	companyName = "海南省示例科技有限公司"
	companyCode = "91460000MA5T00001F"
	legalRep    = "王小明"
	authority   = "海南省示例市市场监督管理局"
)

// keyword is the text the registration authority's seal is centred on.
const keyword = "盖章处"

// ofdNS is the OFD namespace (GB/T 33190-2016).
const ofdNS = "http://www.ofdspec.org/2016"

// page builds Content.xml: text lines, paths, in millimetres from the top left of an A4 page.
type page struct {
	b  strings.Builder
	id int // last object ID
}

func (p *page) next() int { p.id++; return p.id }

// advance is the width of c at size: CJK characters are square, others half as wide.
func advance(c rune, size float64) float64 {
	if c < 0x2E80 {
		return size / 2
	}
	return size
}

// width is the width of s at size with extra space after every character but the last.
func width(s string, size, spacing float64) float64 {
	w := 0.0
	for _, c := range s {
		w += advance(c, size) + spacing
	}
	return w - spacing
}

// text writes one TextObject at (x, y), the top left of its line box, with every
// character's advance in DeltaX so that every reader lays it out alike.
func (p *page) text(x, y, size float64, s string, color string, weight int, spacing float64) {
	n := utf8.RuneCountInString(s)
	var dx []string
	i := 0
	for _, c := range s {
		if i++; i < n {
			dx = append(dx, num(advance(c, size)+spacing))
		}
	}
	w, h := width(s, size, spacing), size*1.25
	fmt.Fprintf(&p.b, `<ofd:TextObject ID="%d" Boundary="%s %s %s %s" Font="2" Size="%s"`, p.next(), num(x), num(y), num(w), num(h), num(size))
	if weight != 0 {
		fmt.Fprintf(&p.b, ` Weight="%d"`, weight)
	}
	fmt.Fprintf(&p.b, `><ofd:FillColor Value="%s"/><ofd:TextCode X="0" Y="%s"`, color, num(size))
	if len(dx) > 0 {
		fmt.Fprintf(&p.b, ` DeltaX="%s"`, strings.Join(dx, " "))
	}
	p.b.WriteString(">")
	xml.EscapeText(&p.b, []byte(s))
	p.b.WriteString("</ofd:TextCode></ofd:TextObject>")
}

// centred writes a line centred on x.
func (p *page) centred(cx, y, size float64, s, color string, weight int, spacing float64) {
	p.text(cx-width(s, size, spacing)/2, y, size, s, color, weight, spacing)
}

// rect strokes a rectangle whose line is centred on x, y, w, h.
func (p *page) rect(x, y, w, h, lw float64, color string) {
	fmt.Fprintf(&p.b, `<ofd:PathObject ID="%d" Boundary="%s %s %s %s" LineWidth="%s"><ofd:StrokeColor Value="%s"/>`+
		`<ofd:AbbreviatedData>M %s %s L %s %s L %s %s L %s %s C</ofd:AbbreviatedData></ofd:PathObject>`,
		p.next(), num(x-lw), num(y-lw), num(w+2*lw), num(h+2*lw), num(lw), color,
		num(lw), num(lw), num(lw+w), num(lw), num(lw+w), num(lw+h), num(lw), num(lw+h))
}

// line strokes a straight line.
func (p *page) line(x0, y0, x1, y1, lw float64, color string) {
	fmt.Fprintf(&p.b, `<ofd:PathObject ID="%d" Boundary="%s %s %s %s" LineWidth="%s"><ofd:StrokeColor Value="%s"/><ofd:AbbreviatedData>M %s %s L %s %s</ofd:AbbreviatedData></ofd:PathObject>`,
		p.next(), num(min(x0, x1)), num(min(y0, y1)-lw), num(abs(x1-x0)), num(abs(y1-y0)+2*lw), num(lw), color,
		num(x0-min(x0, x1)), num(y0-min(y0, y1)+lw), num(x1-min(x0, x1)), num(y1-min(y0, y1)+lw))
}

func abs(v float64) float64 { return max(v, -v) }

func num(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		return "0"
	}
	return s
}

// licence builds the unsigned licence: one A4 page with a border, the title, the fields of a
// business licence and the keyword where the authority's seal goes. It returns the package
// and where the legal representative's seal goes: right of the name, in millimetres from the
// page's top left.
func licence(issued time.Time) (data []byte, repX, repY float64, err error) {
	const (
		black = "0 0 0"
		dark  = "40 40 40"
		gold  = "184 134 11"
		red   = "200 30 30"
	)
	p := &page{id: 3}
	p.rect(12, 12, 186, 273, 1.6, gold)
	p.rect(16, 16, 178, 265, 0.4, gold)
	p.centred(105, 30, 16, "营业执照", red, 700, 8)
	p.centred(105, 52, 5, "（副　本）", black, 0, 0)
	p.line(30, 63, 180, 63, 0.3, gold)
	p.text(30, 70, 4.2, "统一社会信用代码", dark, 0, 0)
	p.text(30, 76, 4.8, companyCode, black, 0, 0.4)

	fields := []struct{ label, value string }{
		{"名　　称", companyName},
		{"类　　型", "有限责任公司（自然人投资或控股）"},
		{"法定代表人", legalRep},
		{"经营范围", "电子签章技术服务；软件开发；信息系统集成服务"},
		{"注册资本", "壹佰万元整"},
		{"成立日期", issued.Format("2006年01月02日")},
		{"营业期限", issued.Format("2006年01月02日") + "至长期"},
		{"住　　所", "海南省海口市示例区示例路1号"},
	}
	y := 95.0
	const size = 4.6
	for _, f := range fields {
		p.text(32, y, size, f.label, dark, 700, 0)
		p.text(62, y, size, f.value, black, 0, 0)
		if f.label == "法定代表人" {
			repX, repY = 62+width(f.value, size, 0)+16, y+size*0.6
		}
		y += 12
	}
	p.line(30, 196, 180, 196, 0.3, gold)
	p.text(118, 203, 5, "登记机关", black, 700, 2)
	p.text(122, 234, 5, keyword, "150 150 150", 0, 2)
	p.text(113, 256, 4.6, issued.Format("2006年01月02日"), black, 0, 0)
	p.text(30, 268, 3.2, "国家企业信用信息公示系统网址：http://www.gsxt.gov.cn", dark, 0, 0)

	content := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<ofd:Page xmlns:ofd="` + ofdNS + `"><ofd:Area><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:Area>` +
		`<ofd:Content><ofd:Layer ID="3">` + p.b.String() + `</ofd:Layer></ofd:Content></ofd:Page>` + "\n"
	ofdXML := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<ofd:OFD xmlns:ofd="` + ofdNS + `" Version="1.1" DocType="OFD"><ofd:DocBody><ofd:DocInfo>` +
		`<ofd:DocID>4f2c1a7e9b3d4e5f8a6b7c8d9e0f1a2b</ofd:DocID><ofd:Title>营业执照（示例）</ofd:Title>` +
		`<ofd:CreationDate>` + issued.Format("2006-01-02") + `</ofd:CreationDate><ofd:Creator>eseal mkofdsample</ofd:Creator>` +
		`</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>` + "\n"
	docXML := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<ofd:Document xmlns:ofd="` + ofdNS + `"><ofd:CommonData><ofd:MaxUnitID>` + fmt.Sprint(p.id) + `</ofd:MaxUnitID>` +
		`<ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea><ofd:PublicRes>PublicRes.xml</ofd:PublicRes>` +
		`</ofd:CommonData><ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>` + "\n"
	resXML := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<ofd:Res xmlns:ofd="` + ofdNS + `" BaseLoc="Res"><ofd:Fonts><ofd:Font ID="2" FontName="宋体" FamilyName="宋体"/></ofd:Fonts></ofd:Res>` + "\n"

	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, f := range []struct{ name, data string }{
		{"OFD.xml", ofdXML},
		{"Doc_0/Document.xml", docXML},
		{"Doc_0/PublicRes.xml", resXML},
		{"Doc_0/Pages/Page_0/Content.xml", content},
	} {
		fw, err := w.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: issued})
		if err != nil {
			return nil, 0, 0, err
		}
		if _, err := fw.Write([]byte(f.data)); err != nil {
			return nil, 0, 0, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, 0, 0, err
	}
	return buf.Bytes(), repX, repY, nil
}
