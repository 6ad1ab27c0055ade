package ksefsim

import (
	"encoding/xml"
	"strings"
)

// NSUPO is the namespace of UPO v4-3.
const NSUPO = "http://upo.schematy.mf.gov.pl/KSeF/v4-3"

// upo renders the official receipt (UPO v4-3) for invs of session ss. The
// receiving body's name is the fixed value the XSD demands.
func (s *Server) upo(ss *session, invs []*invoice) []byte {
	var b strings.Builder
	esc := func(v string) string {
		var e strings.Builder
		_ = xml.EscapeText(&e, []byte(v))
		return e.String()
	}
	el := func(indent, name, v string) {
		b.WriteString(indent + "<" + name + ">" + esc(v) + "</" + name + ">\n")
	}
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<Potwierdzenie xmlns="` + NSUPO + `">` + "\n")
	el("\t", "NazwaPodmiotuPrzyjmujacego", "Ministerstwo Finansów")
	el("\t", "NumerReferencyjnySesji", ss.Ref)
	b.WriteString("\t<Uwierzytelnienie>\n\t\t<IdKontekstu>\n")
	el("\t\t\t", "Nip", ss.NIP)
	b.WriteString("\t\t</IdKontekstu>\n")
	op := s.st.AuthOps[ss.AuthRef]
	switch {
	case op != nil && op.TokenRef != "":
		el("\t\t", "NumerReferencyjnyTokenaKSeF", op.TokenRef)
	case op != nil && op.DocHash != "":
		el("\t\t", "SkrotDokumentuUwierzytelniajacego", op.DocHash)
	default:
		el("\t\t", "SkrotDokumentuUwierzytelniajacego", b64sha([]byte(ss.AuthRef)))
	}
	b.WriteString("\t</Uwierzytelnienie>\n")
	el("\t", "NazwaStrukturyLogicznej", "Schemat_FA(3)_v1-0E.xsd")
	el("\t", "KodFormularza", "FA (3)")
	const stamp = "2006-01-02T15:04:05.000-07:00"
	for _, inv := range invs {
		mode := "Online"
		if inv.Offline {
			mode = "Offline"
		}
		b.WriteString("\t<Dokument>\n")
		el("\t\t", "NipSprzedawcy", inv.SellerNIP)
		el("\t\t", "NumerKSeFDokumentu", inv.KSeF)
		el("\t\t", "NumerFaktury", inv.Number)
		el("\t\t", "DataWystawieniaFaktury", inv.IssueDate)
		el("\t\t", "DataPrzeslaniaDokumentu", inv.InvoicingDate.In(warsaw).Format(stamp))
		el("\t\t", "DataNadaniaNumeruKSeF", inv.Acquired.In(warsaw).Format(stamp))
		el("\t\t", "SkrotDokumentu", inv.Hash)
		el("\t\t", "TrybWysylki", mode)
		b.WriteString("\t</Dokument>\n")
	}
	b.WriteString("</Potwierdzenie>\n")
	return []byte(b.String())
}
