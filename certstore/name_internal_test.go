package certstore

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

func TestFormatName(t *testing.T) {
	utf8 := func(oid asn1.ObjectIdentifier, v string) pkix.AttributeTypeAndValue {
		return pkix.AttributeTypeAndValue{Type: oid, Value: asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(v)}}
	}
	tests := []struct {
		name string
		seq  pkix.RDNSequence
		want string
	}{
		{"KSeF TE subject", pkix.RDNSequence{
			{{Type: oidCountryName, Value: "PL"}},
			{utf8(oidOrganizationIdentifier, "VATPL-5265877635")},
			{{Type: oidOrganizationName, Value: "Beta"}},
			{{Type: oidCommonName, Value: "5265877635"}},
		}, "CN=5265877635,O=Beta,organizationIdentifier=VATPL-5265877635,C=PL"},
		{"escaping", pkix.RDNSequence{
			{utf8(oidCommonName, "#a, b+c \"q\" <x>;y\\ ")},
		}, `CN=\#a\, b\+c \"q\" \<x\>\;y\\\ `},
		{"multi-valued RDN and unknown OID", pkix.RDNSequence{
			{utf8(oidSurname, "Żak"), utf8(oidGivenName, "Ewa")},
			{{Type: asn1.ObjectIdentifier{1, 2, 3}, Value: 5}},
		}, "1.2.3=#020105,GN=Ewa+SN=Żak"}, // DER sorts the SET
		{"empty", pkix.RDNSequence{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := asn1.Marshal(tt.seq)
			if err != nil {
				t.Fatal(err)
			}
			if got := formatName(raw); got != tt.want {
				t.Errorf("formatName() = %q, want %q", got, tt.want)
			}
		})
	}
	if got, want := formatName([]byte{0x30, 0x05}), "#3005"; got != want {
		t.Errorf("formatName(bad DER) = %q, want %q", got, want)
	}
}

func TestValidNIP(t *testing.T) {
	tests := []struct {
		nip  string
		want bool
	}{
		{"5265877635", true},
		{"1111111111", true},
		{"5265877636", false},
		{"526587763", false},
		{"52658776a5", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := validNIP(tt.nip); got != tt.want {
			t.Errorf("validNIP(%q) = %v, want %v", tt.nip, got, tt.want)
		}
	}
}
