// Package receipt lays out an invoice as a till receipt: a pure function from a
// preformatted Doc and an escpos.Profile to ESC/POS bytes, for 58 mm (32 columns,
// 384 dots) and 80 mm (42–48 columns, 512–576 dots) paper.
//
// # Concepts
//
// Doc holds strings only: amounts, dates and labels arrive formatted by the agent,
// which maps an invoice onto it, so this package never does arithmetic on money.
// Render prints, in order: the marks of a print that is not the first original
// (DUPLIKAT with its date; PONOWNY WYDRUK with the time of the first attempt,
// for a print repeated after a crash), first so that even a receipt cut short
// shows them; the seller (name, address, NIP); the title, number, date
// and place; the mode line; the buyer; the lines, the VAT summary per rate, the
// totals and the payment; KOD I with its label (OFFLINE, or the KSeF number once
// known); KOD II labelled CERTYFIKAT when present (offline invoices only), or,
// for an invoice without codes (total failure), the NoCodes line instead; the
// footer; then a cut.
//
// QR codes print natively (GS ( k) or as rasters (GS v 0, scaled 2×2 to quarter the
// bytes). Each symbol goes through the escpos fit check, which picks the largest
// module size that fits the paper, up to 8 dots for a native symbol (its bytes do
// not depend on size) and 4 for a raster (escpos.DefaultMaxRasterModule: every
// dot is sent); if a symbol does not fit at error correction M, it is retried at
// L. A KOD II signed with RSA (about 480 characters) fits 58 mm at 4 dots per
// module. The fit check costs no encoding, so the retry is free; a raster receipt
// encodes each code once, both at the same time on two goroutines.
//
// Command bytes are few, since at 9600 baud each one is a millisecond: one ESC !
// per change of style (bold, double height), justification switched only between
// blocks, one centred block from the first code to the cut, plain code labels.
// The emphasis a reader needs stays: seller, title and number, the buyer heading,
// the total, and the duplicate marker.
//
// RenderConfirmation lays out a Confirmation, the "POTWIERDZENIE TRANSAKCJI"
// a domestic business buyer is handed while its offline invoice waits for
// KSeF: first the same marks as a receipt (DUPLIKAT, PONOWNY WYDRUK), then
// the seller, the title and "Dokument nie jest fakturą", the invoice's
// number and date, the buyer with its NIP, the lines (without rates), the
// totals and the payment, the notice saying where the invoice will be and
// the footer. It carries no invoice title and no QR code, so it is all
// text, in the invoice layout's styles.
//
// RenderParts splits a receipt where the printer can start: the head (all text
// up to the first code) is ready at once; the tail encodes the raster codes, so
// a printer calls it while the head is on the wire.
//
// # Caveats
//
// Render does not append the GS r 1 job-end marker: the printer package adds it when
// the printer can answer, and waits for the reply.
package receipt
