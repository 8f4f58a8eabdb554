package registry

import "github.com/eseal/eseal/sealimg"

// Kind is a kind of seal (art. 3 of the measures).
type Kind string

// Official seals (电子公章).
const (
	LegalName  Kind = "legal-name" // 单位法定名称章
	Department Kind = "department" // 内设机构章
	Branch     Kind = "branch"     // 分支机构章
	Contract   Kind = "contract"   // 合同专用章
	Finance    Kind = "finance"    // 财务专用章
	Invoice    Kind = "invoice"    // 发票专用章
	Audit      Kind = "audit"      // 审计专用章
	Customs    Kind = "customs"    // 报关专用章
)

// Position seals (电子职务章).
const (
	LegalRepresentative      Kind = "legal-representative"      // 法定代表人章
	Manager                  Kind = "manager"                   // 负责人章
	Principal                Kind = "principal"                 // 主要负责人章
	FinanceHead              Kind = "finance-head"              // 财务负责人章
	AuthorisedRepresentative Kind = "authorised-representative" // 授权代表人章
)

// Personal is the personal seal (电子私章).
const Personal Kind = "personal"

// Kinds lists every seal kind.
var Kinds = []Kind{LegalName, Department, Branch, Contract, Finance, Invoice, Audit, Customs,
	LegalRepresentative, Manager, Principal, FinanceHead, AuthorisedRepresentative, Personal}

// Class is the group a kind belongs to, which decides who applies, which picture it takes and
// who may use it.
type Class string

// The classes.
const (
	ClassOfficial Class = "official"
	ClassPosition Class = "position"
	ClassPersonal Class = "personal"
)

type kindInfo struct {
	class   Class
	purpose string       // text under the star of a round seal, or after a position holder's name
	picture sealimg.Kind // the generated picture's kind
}

var kindTable = map[Kind]kindInfo{
	LegalName:                {ClassOfficial, "", sealimg.Official},
	Department:               {ClassOfficial, "", sealimg.Special}, // purpose: the department's name
	Branch:                   {ClassOfficial, "", sealimg.Official},
	Contract:                 {ClassOfficial, "合同专用章", sealimg.Contract},
	Finance:                  {ClassOfficial, "财务专用章", sealimg.Finance},
	Invoice:                  {ClassOfficial, "发票专用章", sealimg.Invoice},
	Audit:                    {ClassOfficial, "审计专用章", sealimg.Special},
	Customs:                  {ClassOfficial, "报关专用章", sealimg.Special},
	LegalRepresentative:      {ClassPosition, "法定代表人", sealimg.Personal},
	Manager:                  {ClassPosition, "负责人", sealimg.Personal},
	Principal:                {ClassPosition, "主要负责人", sealimg.Personal},
	FinanceHead:              {ClassPosition, "财务负责人", sealimg.Personal},
	AuthorisedRepresentative: {ClassPosition, "授权代表人", sealimg.Personal},
	Personal:                 {ClassPersonal, "", sealimg.Personal},
}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { _, ok := kindTable[k]; return ok }

// Class is the kind's class; empty for an unknown kind.
func (k Kind) Class() Class { return kindTable[k].class }

// sesType is the seal type written into the SESeal: 1 for an organisation's seal, 2 for a
// person's (position and personal seals).
func (k Kind) sesType() int {
	if k.Class() == ClassOfficial {
		return 1
	}
	return 2
}
