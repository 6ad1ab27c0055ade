package ksef

import (
	"fmt"
	"time"
)

// PenaltyArticle is the provision that fines an invoice issued offline and not
// sent to KSeF in time: art. 106ni ust. 1 pkt 3 of the VAT Act (ustawa o
// podatku od towarów i usług) covers the invoices of art. 106nda ust. 1
// (offline24), art. 106nf ust. 1 (failure) and art. 106nh ust. 1
// (unavailability). The fine is decided case by case (art. 106nj lists what
// the office weighs); the exposure here is its upper bound.
const PenaltyArticle = "art. 106ni ust. 1 pkt 3 ustawy o VAT"

// PenaltyStart is the first day on which a missed upload deadline can be
// fined: art. 106ni applies from 2027-01-01 (the KSeF amendment deferred it;
// MF and KAS confirmed no fines for 2026, infor.pl 2026-01-28, legalis
// commentary to art. 106ni). A deadline that ended on 2026-12-31 was missed
// in 2026 and is not fined.
var PenaltyStart = Date{2027, time.January, 1}

// PenaltyBasis says which rate of art. 106ni applies to an invoice.
type PenaltyBasis int

// Penalty bases.
const (
	PenaltyNone  PenaltyBasis = iota // no fine: the deadline is before PenaltyStart
	PenaltyVAT                       // up to 100% of the VAT shown on the invoice
	PenaltyGross                     // up to 18.7% of the gross where no VAT is shown
)

// String names the rate: "none", "100% VAT" or "18.7% gross".
func (b PenaltyBasis) String() string {
	switch b {
	case PenaltyNone:
		return "none"
	case PenaltyVAT:
		return "100% VAT"
	case PenaltyGross:
		return "18.7% gross"
	}
	return fmt.Sprintf("PenaltyBasis(%d)", int(b))
}

// Penalty is the most art. 106ni allows for one invoice that missed its
// upload deadline, in PLN.
type Penalty struct {
	Amount Amount // PLN grosze, never negative
	Basis  PenaltyBasis
}

// PenaltyFor returns the exposure of one invoice whose upload deadline was the
// Warsaw day deadline, from its VAT and gross in PLN (Sale.InPLN). Exposure
// is per invoice and never negative: a correction that lowers the VAT does
// not cancel the exposure of its original, each missed its own deadline.
func PenaltyFor(deadline Date, vatPLN, grossPLN Amount) Penalty {
	if deadline.Before(PenaltyStart) {
		return Penalty{}
	}
	b := PenaltyVAT
	if vatPLN == 0 {
		b = PenaltyGross
	}
	return Penalty{Amount: PenaltyExposure(vatPLN, grossPLN), Basis: b}
}

// InPLN returns the VAT and the gross of t, the totals of s, in PLN: for an
// invoice in another currency the VAT is the sum of P_14_xW (art. 106e ust. 11:
// the VAT is shown in PLN) and the gross is P_15 at the invoice's exchange rate,
// rounded half-up to the grosz.
func (s *Sale) InPLN(t Totals) (vat, gross Amount, err error) {
	if s.currency() == "PLN" {
		return t.VAT, t.Gross, nil
	}
	g, err := mulDivRound(int64(t.Gross), int64(s.ExchangeRate), QuantityScale)
	if err != nil {
		return 0, 0, fmt.Errorf("ksef: gross in PLN: %w", err)
	}
	return t.VATPLN, Amount(g), nil
}
