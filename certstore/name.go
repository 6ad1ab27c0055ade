package certstore

import (
	"encoding/asn1"
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// attrNames are the short names used when printing a DN; KSeF subjects use
// organizationIdentifier and uniqueIdentifier, which pkix.Name prints only
// as hex.
var attrNames = map[string]string{
	"2.5.4.3":  "CN",
	"2.5.4.4":  "SN",
	"2.5.4.5":  "SERIALNUMBER",
	"2.5.4.6":  "C",
	"2.5.4.7":  "L",
	"2.5.4.8":  "ST",
	"2.5.4.10": "O",
	"2.5.4.11": "OU",
	"2.5.4.42": "GN",
	"2.5.4.45": "uniqueIdentifier",
	"2.5.4.97": "organizationIdentifier",
}

type rawATV struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// rawRDNSET decodes as an ASN.1 SET because its name ends in SET.
type rawRDNSET []rawATV

// formatName prints a DER Name in RFC 4514 order (last RDN first) with the
// string values as they are encoded, whatever their string type. Values
// that are not text are printed as #hex, as RFC 4514 says.
func formatName(raw []byte) string {
	var seq []rawRDNSET
	if rest, err := asn1.Unmarshal(raw, &seq); err != nil || len(rest) != 0 {
		return "#" + hex.EncodeToString(raw)
	}
	var b strings.Builder
	for i := len(seq) - 1; i >= 0; i-- {
		if i != len(seq)-1 {
			b.WriteByte(',')
		}
		for j, a := range seq[i] {
			if j > 0 {
				b.WriteByte('+')
			}
			name, ok := attrNames[a.Type.String()]
			if !ok {
				name = a.Type.String()
			}
			b.WriteString(name)
			b.WriteByte('=')
			switch a.Value.Tag {
			case asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagIA5String, asn1.TagT61String:
				if a.Value.Class == asn1.ClassUniversal && utf8.Valid(a.Value.Bytes) {
					b.WriteString(escapeDNValue(string(a.Value.Bytes)))
					continue
				}
			}
			b.WriteString("#" + hex.EncodeToString(a.Value.FullBytes))
		}
	}
	return b.String()
}

func escapeDNValue(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case strings.ContainsRune(`,+"\<>;`, r),
			i == 0 && (r == '#' || r == ' '),
			i == len(s)-1 && r == ' ':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\` + hex.EncodeToString([]byte{byte(r)}))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
