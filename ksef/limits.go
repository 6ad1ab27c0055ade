package ksef

import "fmt"

// KSeF's size limits per invoice for a context whose limits were not
// changed: 1 MB without attachments and 3 MB with (limity/limity.md, as
// shared/reference/ksef-api.md §6 gives it: 1 000 000 and 3 000 000 bytes;
// the official OpenAPI has them per session kind as maxInvoiceSizeInMB and
// maxInvoiceWithAttachmentSizeInMB of OnlineSessionEffectiveContextLimits
// and BatchSessionEffectiveContextLimits). They apply to the file as sent,
// before encryption. The agent, the KSeF client and the simulator all use
// these constants.
const (
	MaxInvoiceSize                = 1_000_000
	MaxInvoiceWithAttachmentsSize = 3_000_000
)

// SizeError reports an invoice whose XML is over Limit bytes: KSeF would
// refuse it whatever its content.
type SizeError struct {
	Size  int // bytes of the XML
	Limit int // bytes KSeF accepts
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("ksef: the invoice XML is %d bytes, over KSeF's limit of %d bytes", e.Size, e.Limit)
}

// Unwrap makes errors.Is(err, ErrInvoiceTooLarge) hold.
func (e *SizeError) Unwrap() error { return ErrInvoiceTooLarge }

// CheckSize returns a *SizeError when xml, the exact bytes to be sent, is
// over the limit KSeF applies to an invoice without attachments; FA(3)
// invoices issued here never carry any (no Zalacznik).
func CheckSize(xml []byte) error {
	if len(xml) > MaxInvoiceSize {
		return &SizeError{Size: len(xml), Limit: MaxInvoiceSize}
	}
	return nil
}
