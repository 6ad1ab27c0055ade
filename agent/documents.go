package agent

import (
	"context"
	"fmt"
)

// Document is one stored file of an invoice, byte for byte: its FA(3) XML
// (the bytes hashed into KOD I and uploaded) or the UPO KSeF sent for it.
type Document struct {
	ID     string
	Number string
	Data   []byte
}

// InvoiceXML returns the stored XML of invoice id, archived ones included.
// The store checks the bytes against the recorded SHA-256 on every read.
func (a *Agent) InvoiceXML(ctx context.Context, id string) (*Document, error) {
	inv, err := a.store.Get(ctx, id)
	if err != nil {
		return nil, storeErr("invoice XML", err)
	}
	return &Document{ID: inv.ID, Number: inv.Number, Data: inv.XML}, nil
}

// InvoiceUPO returns the UPO (Urzędowe Poświadczenie Odbioru) of invoice
// id as KSeF sent it, or ErrNoUPO while there is none: not accepted yet, or
// accepted and its UPO not downloaded yet.
func (a *Agent) InvoiceUPO(ctx context.Context, id string) (*Document, error) {
	inv, err := a.store.Get(ctx, id)
	if err != nil {
		return nil, storeErr("invoice UPO", err)
	}
	if len(inv.UPO) == 0 {
		return nil, fmt.Errorf("agent: invoice %s (upload %s): %w", inv.Number, inv.Upload, ErrNoUPO)
	}
	return &Document{ID: inv.ID, Number: inv.Number, Data: inv.UPO}, nil
}
